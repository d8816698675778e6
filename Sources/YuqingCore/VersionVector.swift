/// The highest counter seen from each replica.
///
/// A summary, exchanged in sync messages so each side can tell how far the other has come. It is
/// never used alone to decide whether a change is new or superseded: with partial replication a
/// replica may hold counter 9 of some replica without holding counter 8. That exact knowledge lives
/// in ``DotSet``; supersession lives in each change's per-field context.
public struct VersionVector: Hashable, Sendable, Codable, CustomStringConvertible {
    public private(set) var entries: [ReplicaID: UInt64]

    public init(_ entries: [ReplicaID: UInt64] = [:]) {
        self.entries = entries.filter { $0.value > 0 }
    }

    public subscript(replica: ReplicaID) -> UInt64 { entries[replica] ?? 0 }

    /// Records that `dot` has been seen.
    public mutating func add(_ dot: Dot) {
        if dot.counter > self[dot.replica] { entries[dot.replica] = dot.counter }
    }

    /// The pointwise maximum.
    public mutating func merge(_ other: VersionVector) {
        for (r, n) in other.entries where n > self[r] { entries[r] = n }
    }

    /// True when every entry of `other` is at or below this vector's.
    public func dominates(_ other: VersionVector) -> Bool {
        other.entries.allSatisfy { self[$0.key] >= $0.value }
    }

    /// The causal relation of two vectors.
    public func compare(_ other: VersionVector) -> CausalOrder {
        let ge = dominates(other), le = other.dominates(self)
        switch (ge, le) {
        case (true, true): return .equal
        case (true, false): return .after
        case (false, true): return .before
        case (false, false): return .concurrent
        }
    }

    public var description: String {
        "[" + entries.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ", ") + "]"
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode([String: UInt64].self)
        self.init(Dictionary(uniqueKeysWithValues: raw.map { (ReplicaID($0.key), $0.value) }))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Dictionary(uniqueKeysWithValues: entries.map { ($0.key.rawValue, $0.value) }))
    }
}

/// How two causal histories relate.
public enum CausalOrder: Sendable, Hashable {
    case before, equal, after, concurrent
}
