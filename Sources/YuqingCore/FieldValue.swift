/// A value held by one field.
public enum FieldValue: Hashable, Sendable, Codable, CustomStringConvertible {
    case text(String)
    case integer(Int64)

    public var description: String {
        switch self {
        case .text(let s): s
        case .integer(let n): String(n)
        }
    }

    /// Whether this is a text value (rather than an integer).
    public var isText: Bool {
        if case .text = self { return true }
        return false
    }

    /// Canonical form for digests: a type tag and the value.
    var canonical: String {
        switch self {
        case .text(let s): "t" + s
        case .integer(let n): "i" + String(n)
        }
    }

    // JSON: a string is text, a number is an integer.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int64.self) { self = .integer(n) } else { self = .text(try c.decode(String.self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .text(let s): try c.encode(s)
        case .integer(let n): try c.encode(n)
        }
    }
}
