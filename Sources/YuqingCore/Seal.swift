/// A device's signature over a run of its own changes: counters `first...last` of `replica`,
/// every one of them, in counter order (`Protocol/security.md` §3). Made and checked by
/// `YuqingSecurity`; carried and stored as it is here.
///
/// On the wire a seal is only the range and the signature: a reader that holds the changes
/// recomputes their digest, so a seal costs its 64-byte signature and a few bytes more per push,
/// not per change.
public struct Seal: Codable, Hashable, Sendable {
    public var replica: ReplicaID
    public var first: UInt64
    public var last: UInt64
    /// Ed25519, base64 (64 bytes).
    public var signature: String

    public init(replica: ReplicaID, first: UInt64, last: UInt64, signature: String) {
        self.replica = replica
        self.first = first
        self.last = last
        self.signature = signature
    }

    public var count: UInt64 { last &- first &+ 1 }

    /// Whether one of `counters` (sorted ascending) falls in this seal's run: the first counter at
    /// or after its start, found by bisection, must not be past its end.
    public func coversAny(of counters: [UInt64]) -> Bool {
        var lo = 0, hi = counters.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if counters[mid] < first { lo = mid + 1 } else { hi = mid }
        }
        return lo < counters.count && counters[lo] <= last
    }

    public func covers(_ dot: Dot) -> Bool { dot.replica == replica && first <= dot.counter && dot.counter <= last }
}

/// What a reader needs to check a seal whose run it receives only in part (a page of a pull, or
/// the changes of the cases its unit may see): the hashes of the largest subtrees of the run's
/// Merkle tree without a change it receives, left to right (`Protocol/security.md` §3.4).
public struct SealProof: Codable, Hashable, Sendable {
    public var replica: ReplicaID
    public var first: UInt64
    public var last: UInt64
    /// SHA-256 values (32 bytes each).
    public var hashes: [[UInt8]]

    public init(replica: ReplicaID, first: UInt64, last: UInt64, hashes: [[UInt8]]) {
        self.replica = replica
        self.first = first
        self.last = last
        self.hashes = hashes
    }

    public func proves(_ seal: Seal) -> Bool { seal.replica == replica && seal.first == first && seal.last == last }

    enum CodingKeys: String, CodingKey { case replica, first, last, hashes }

    /// In JSON each hash is 64 lowercase hex digits.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        replica = try c.decode(ReplicaID.self, forKey: .replica)
        first = try c.decode(UInt64.self, forKey: .first)
        last = try c.decode(UInt64.self, forKey: .last)
        hashes = try c.decode([String].self, forKey: .hashes).map { text in
            guard let bytes = Self.bytes(hex: text), bytes.count == 32 else {
                throw DecodingError.dataCorruptedError(forKey: .hashes, in: c, debugDescription: "a proof hash is 64 hex digits")
            }
            return bytes
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(replica, forKey: .replica)
        try c.encode(first, forKey: .first)
        try c.encode(last, forKey: .last)
        try c.encode(hashes.map(Self.hex), forKey: .hashes)
    }

    static let digits = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func bytes(hex: String) -> [UInt8]? {
        let u = Array(hex.utf8)
        guard u.count % 2 == 0 else { return nil }
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let h = v(u[i]), let l = v(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}
