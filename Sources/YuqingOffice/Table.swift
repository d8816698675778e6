/// A table to export: a header row, then rows of cells. One table makes one CSV file, or one
/// worksheet of an XLSX workbook (named after ``name``).
public struct Table: Sendable, Hashable {
    /// The worksheet's name. ``XLSX`` adapts it to Excel's rules; CSV does not use it.
    public var name: String
    /// The column titles, written first (bold in XLSX).
    public var header: [String]
    /// The rows under the header. They need not all have as many cells as the header.
    public var rows: [[Cell]]

    public init(name: String, header: [String], rows: [[Cell]]) {
        self.name = name
        self.header = header
        self.rows = rows
    }
}

/// One cell of a ``Table``.
public enum Cell: Sendable, Hashable {
    /// Text, never read as a formula (CSV guards it, XLSX stores it as a string).
    case text(String)
    /// A whole number, numeric in both formats.
    case integer(Int64)
    /// A number with a fraction, numeric in both formats (written without an exponent for
    /// ordinary magnitudes).
    case number(Double)
    /// Nothing: an empty CSV field, no XLSX cell.
    case empty

    /// The cell as CSV shows it before quoting: the text itself, numbers in plain decimal
    /// (`2.5`, `3`, `0.000001`), nothing for ``empty``. Numbers that are not finite read `NaN`,
    /// `Infinity` and `-Infinity`.
    public var text: String {
        switch self {
        case .text(let string): string
        case .integer(let value): String(value)
        case .number(let value): Self.plain(value)
        case .empty: ""
        }
    }

    /// `value` in decimal, from its shortest round-trip digits: without an exponent from 1e-15
    /// up to 1e21, `1.5E+300`-style beyond.
    static func plain(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : value < 0 ? "-Infinity" : "Infinity" }
        if value == 0 { return "0" }
        let shortest = value.description  // "2.5", "1e-07", "1.2345e+16", "-3.0"
        let negative = shortest.hasPrefix("-")
        let unsigned = negative ? shortest.dropFirst() : Substring(shortest)
        let parts = unsigned.split(separator: "e", maxSplits: 1)
        let mantissa = parts[0]
        let integerPart = mantissa.prefix { $0 != "." }
        var digits = String(integerPart) + mantissa.dropFirst(integerPart.count + 1)
        // The value is 0.<digits> × 10^point.
        var point = integerPart.count + (parts.count == 2 ? Int(parts[1])! : 0)
        while digits.count > 1, digits.hasSuffix("0") { digits.removeLast() }
        while digits.count > 1, digits.hasPrefix("0") { digits.removeFirst(); point -= 1 }

        let body: String
        if point > 21 || point < -14 {
            let rest = digits.dropFirst(), exponent = point - 1
            body = digits.prefix(1) + (rest.isEmpty ? "" : "." + rest) + (exponent < 0 ? "E-" : "E+") + String(abs(exponent))
        } else if point <= 0 {
            body = "0." + String(repeating: "0", count: -point) + digits
        } else if point >= digits.count {
            body = digits + String(repeating: "0", count: point - digits.count)
        } else {
            body = digits.prefix(point) + "." + digits.dropFirst(point)
        }
        return negative ? "-" + body : body
    }
}

extension Cell: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
}
