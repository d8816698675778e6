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
