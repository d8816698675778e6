import Foundation

/// Tables as CSV that Excel opens right: UTF-8 with a byte order mark (without it, Excel reads
/// Chinese as the system's legacy code page), CRLF line ends, RFC 4180 quoting.
public enum CSV {
    /// `table` as CSV: the header, then each row, every line ending in CRLF.
    ///
    /// Fields holding a quote, a comma, CR or LF are quoted, their quotes doubled. Text that
    /// starts like a formula (`=`, `+`, `-`, `@`, tab or CR) gets a leading apostrophe, so a
    /// spreadsheet shows it instead of evaluating it. Numbers are written plainly (see
    /// ``Cell/text``).
    public static func data(_ table: Table) -> Data {
        var out = "\u{FEFF}"
        line(table.header.map { field(guarded($0)) }, into: &out)
        for row in table.rows {
            line(row.map(field), into: &out)
        }
        return Data(out.utf8)
    }

    private static func line(_ fields: [String], into out: inout String) {
        out += fields.joined(separator: ",")
        out += "\r\n"
    }

    private static func field(_ cell: Cell) -> String {
        if case .text(let text) = cell { return field(guarded(text)) }
        return field(cell.text)
    }

    /// `text` quoted when RFC 4180 asks for it.
    static func field(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 == "\"" || $0 == "," || $0 == "\r" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `text` with an apostrophe in front when a spreadsheet would take it for a formula.
    static func guarded(_ text: String) -> String {
        guard let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return text }
        return "'" + text
    }
}
