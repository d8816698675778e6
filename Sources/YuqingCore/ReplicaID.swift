/// The stable identity of one replica: a node or the hub.
///
/// Chosen once when a replica is created and never changed; every change the replica makes
/// carries it inside its ``Dot``.
public struct ReplicaID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// A new random identity: 16 lowercase hex digits (64 random bits).
    public static func random() -> ReplicaID {
        var rng = SystemRandomNumberGenerator()
        return ReplicaID(Hex.encode(rng.next() as UInt64, digits: 16))
    }

    public static func < (lhs: ReplicaID, rhs: ReplicaID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// Lowercase hexadecimal helpers shared by identities and digests.
package enum Hex {
    static let digits = Array("0123456789abcdef".utf8)

    package static func encode(_ value: UInt64, digits count: Int) -> String {
        var out = [UInt8](repeating: 0, count: count)
        var v = value
        for i in stride(from: count - 1, through: 0, by: -1) {
            out[i] = digits[Int(v & 0xF)]
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }

    package static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
