/// The unique name of one change: the replica that made it and that replica's counter at the time.
///
/// Counters start at 1 and grow by one with every change a replica makes, so `(replica, counter)`
/// never repeats. Dots order first by replica, then by counter; that order is only used to make
/// iteration deterministic, never to decide which write wins.
public struct Dot: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var replica: ReplicaID
    public var counter: UInt64

    public init(replica: ReplicaID, counter: UInt64) {
        self.replica = replica
        self.counter = counter
    }

    public static func < (lhs: Dot, rhs: Dot) -> Bool {
        (lhs.replica, lhs.counter) < (rhs.replica, rhs.counter)
    }

    /// `replica:counter`, the form used on the wire and in messages.
    public var description: String { "\(replica.rawValue):\(counter)" }

    /// Parses the `replica:counter` form, in its one spelling: the counter in decimal digits
    /// without a sign or leading zeros (`m1:52`, never `m1:+52` or `m1:052`).
    public init?(_ text: some StringProtocol) {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex else { return nil }
        let digits = text.utf8[text.utf8.index(after: colon)...]
        guard let first = digits.first, first != UInt8(ascii: "0"),
              digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let n = UInt64(text[text.index(after: colon)...])
        else { return nil }
        self.init(replica: ReplicaID(String(text[..<colon])), counter: n)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let dot = Dot(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a dot 'replica:counter', got '\(text)'")
        }
        self = dot
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
