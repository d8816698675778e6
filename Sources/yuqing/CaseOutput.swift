import Foundation
import YuqingCore

/// Human and JSON renderings of cases and conflicts.
enum CaseJSON {
    static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func time(_ hlc: HLC) -> String {
        timeStyle.format(Date(timeIntervalSince1970: Double(hlc.wallMillis) / 1000))
    }

    static func value(_ v: FieldValue?) -> Any {
        switch v {
        case nil: NSNull()
        case .text(let s)?: s
        case .integer(let n)?: n
        }
    }

    static func object(_ view: RecordView) -> [String: Any] {
        var o: [String: Any] = ["id": view.record.id]
        for name in ["title", "summary", "level", "status", "unit"] { o[name] = value(view.value(name)) }
        o["co_units"] = view.elements("co_units")
        o["notes"] = view.entries("notes").map { entry -> [String: Any] in
            ["id": entry.key.element, "text": entry.sibling.value.description, "author": entry.sibling.author,
             "at": time(entry.sibling.hlc), "dot": entry.sibling.dot.description]
        }
        o["conflicts"] = view.conflicts.map(conflict)
        return o
    }

    static func conflict(_ c: Conflict) -> [String: Any] {
        conflict(id: c.id, record: c.record, field: c.field, provisional: c.provisional, candidates: c.candidates)
    }

    static func conflict(id: String, record: RecordRef, field: FieldKey, provisional: FieldValue,
                         candidates: [Sibling]) -> [String: Any] {
        [
            "id": id, "kind": record.kind, "case": record.id, "field": field.name, "element": field.element,
            "provisional": value(provisional),
            "candidates": candidates.map { s -> [String: Any] in
                ["value": value(s.value), "author": s.author, "at": time(s.hlc), "dot": s.dot.description]
            },
        ]
    }
}

enum CaseText {
    static func render(_ view: RecordView) -> String {
        var lines = ["case \(view.record.id.terminalSafe)"]
        let conflicted = Dictionary(uniqueKeysWithValues: view.conflicts.map { ($0.field, $0) })
        for name in ["title", "summary", "level", "status", "unit"] {
            var line = "  " + (name + ":").padding(toLength: 10, withPad: " ", startingAt: 0) + (view.value(name)?.description.terminalSafe ?? "-")
            if let c = conflicted[FieldKey(name)] {
                line += "   (conflict \(c.id): \(c.candidates.count) values; provisional until the hub operator resolves it)"
            }
            lines.append(line)
        }
        let co = view.elements("co_units")
        lines.append("  co-units: " + (co.isEmpty ? "-" : co.map(\.terminalSafe).joined(separator: ", ")))
        let notes = view.entries("notes")
        lines.append("  notes:    " + (notes.isEmpty ? "-" : ""))
        for n in notes { lines.append("    \(CaseJSON.time(n.sibling.hlc)) \(n.sibling.author.terminalSafe): \(n.sibling.value.description.terminalSafe)") }
        for c in view.conflicts {
            lines.append("  conflict \(c.id) on \(c.field):")
            for s in c.candidates { lines.append("    - \"\(s.value.description.terminalSafe)\" by \(s.author.terminalSafe) at \(CaseJSON.time(s.hlc))") }
        }
        return lines.joined(separator: "\n")
    }
}
