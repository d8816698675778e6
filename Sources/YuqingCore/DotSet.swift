/// The exact set of dots a replica has applied.
///
/// Stored per replica as a contiguous prefix `1...base` plus the dots seen beyond it, so it stays
/// small when delivery is in order and stays exact when it is not (partial replication, reordered
/// or re-sent change sets).
public struct DotSet: Hashable, Sendable {
    struct Entry: Hashable, Sendable {
        var base: UInt64 = 0
        var extra: Set<UInt64> = []
    }

    var entries: [ReplicaID: Entry] = [:]

    public init() {}

    public func contains(_ dot: Dot) -> Bool {
        guard let e = entries[dot.replica] else { return false }
        return dot.counter <= e.base || e.extra.contains(dot.counter)
    }

    /// Inserts `dot`; returns false when it was already there.
    @discardableResult
    public mutating func insert(_ dot: Dot) -> Bool {
        // In place: one lookup, and the entry's set is never copied.
        Self.insert(dot.counter, into: &entries[dot.replica, default: Entry()])
    }

    private static func insert(_ counter: UInt64, into e: inout Entry) -> Bool {
        if counter <= e.base || e.extra.contains(counter) { return false }
        if counter == e.base + 1 {
            e.base += 1
            while !e.extra.isEmpty, e.extra.remove(e.base + 1) != nil { e.base += 1 }
        } else {
            e.extra.insert(counter)
        }
        return true
    }

    /// The highest counter seen per replica.
    public var versionVector: VersionVector {
        VersionVector(entries.mapValues { max($0.base, $0.extra.max() ?? 0) })
    }

    /// How many dots are held beyond the contiguous prefixes (0 when delivery was in order).
    public var gapCount: Int { entries.values.reduce(0) { $0 + $1.extra.count } }
}
