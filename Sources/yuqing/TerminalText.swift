import Foundation
import YuqingOffice

/// Text from replicas made safe for a terminal: a title or a note is whatever some node wrote,
/// so its control characters must not move the cursor, fake a line of output, retitle the
/// window or reorder text. Each is shown as a visible escape instead (`\n`, `\t`, `\u{1B}`).
/// JSON output stays exact; only human-readable output goes through this.
enum TerminalText {
    static func safe(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for c in text.unicodeScalars {
            switch c.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x00...0x1F, 0x7F...0x9F,  // C0, DEL and C1 controls (ESC, CSI, OSC among them)
                 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069,  // bidirectional controls
                 0x2028, 0x2029:  // line and paragraph separators
                out += "\\u{" + String(c.value, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

extension String {
    /// This text made safe for a terminal (``TerminalText/safe(_:)``).
    var terminalSafe: String { TerminalText.safe(self) }
}

/// Tables printed on a terminal: columns aligned, Chinese characters counted two columns wide.
enum TextTable {
    static func render(_ table: Table, maxColumn: Int = 40) -> String {
        let cells = [table.header] + table.rows.map { $0.map { clip($0.text, maxColumn) } }
        let widths = (0..<table.header.count).map { i in cells.map { i < $0.count ? width($0[i]) : 0 }.max() ?? 0 }
        return cells.map { row in
            row.enumerated().map { i, c in c + String(repeating: " ", count: max(0, widths[i] - width(c))) }
                .joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }

    /// Display width: East Asian wide characters count two.
    static func width(_ s: String) -> Int {
        s.unicodeScalars.reduce(0) { n, u in
            let v = u.value
            let wide = (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
                || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v) || (0xFFE0...0xFFE6).contains(v)
                || (0x20000...0x3FFFD).contains(v)
            return n + (u.properties.generalCategory == .nonspacingMark ? 0 : wide ? 2 : 1)
        }
    }

    static func clip(_ s: String, _ max: Int) -> String {
        // Line breaks become spaces; every other control is made visible (``TerminalText``).
        let flat = s.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ").terminalSafe
        guard width(flat) > max else { return flat }
        var out = ""
        for ch in flat {
            if width(out + String(ch)) > max - 1 { break }
            out.append(ch)
        }
        return out + "…"
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
