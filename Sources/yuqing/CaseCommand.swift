import ArgumentParser
import Foundation
import YuqingCore
import YuqingReplica

struct CaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case", abstract: "Register, edit and read cases on this node (works offline).",
        subcommands: [New.self, Set.self, Note.self, Show.self, List.self])

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a new case; prints its id as the last word.")
        @OptionGroup var options: ReplicaOptions
        @Option(help: "The case's title.") var title: String
        @Option(help: "A summary of what was found.") var summary: String?
        @Option(help: "Severity: I (especially major), II, III or IV (minor).") var level: String?

        func run() async throws {
            let replica = try options.openNode()
            let id = CaseID.make()
            let record = RecordRef.case(id)
            var writes = [Replica.Write(record, FieldKey("title"), .text(title)),
                          Replica.Write(record, FieldKey("status"), .text("registered")),
                          Replica.Write(record, FieldKey("unit"), .text(try replica.info().unit))]
            if let summary { writes.append(Replica.Write(record, FieldKey("summary"), .text(summary))) }
            if let level { writes.append(Replica.Write(record, FieldKey("level"), .text(level.uppercased()))) }
            try replica.write(writes)
            print("registered case \(id)")
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change fields of a case.",
            discussion: """
                Assignments: title=T, summary=S, level=I|II|III|IV, status=STATUS,
                co-units+=UNIT (add a co-unit), co-units-=UNIT (remove one). All are written together.
                Statuses: \(Schema.statuses.joined(separator: ", ")).
                """)
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "FIELD=VALUE, co-units+=UNIT or co-units-=UNIT.") var assignments: [String]

        func validate() throws {
            if assignments.isEmpty { throw ValidationError("give at least one FIELD=VALUE") }
        }

        func run() async throws {
            let replica = try options.openNode()
            let view = try CaseID.require(id, in: replica)
            var writes: [Replica.Write] = []
            for a in assignments {
                let w = try Assignment.parse(a, record: view.record)
                if w.field.name == "co_units", w.value == nil, view.fields[w.field] == nil {
                    throw CLIError("'\(w.field.element)' is not a co-unit of case \(id); co-units are: \(view.elements("co_units").joined(separator: ", "))")
                }
                writes.append(w)
            }
            let changes = try replica.write(writes)
            print("updated case \(id): \(changes.map { "\($0.field)" }.joined(separator: ", "))")
        }
    }

    struct Note: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a progress note (immutable) to a case.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The note's text.") var text: String

        func run() async throws {
            let replica = try options.openNode()
            let view = try CaseID.require(id, in: replica)
            let noteID = CaseID.noteID()
            try replica.write([Replica.Write(view.record, FieldKey("notes", element: noteID), .text(text))])
            print("added note \(noteID) to case \(id)")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one case.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let view = try CaseID.require(id, in: try options.openForReading())
            if json { try printJSON(CaseJSON.object(view)) } else { print(CaseText.render(view)) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the cases on this node.")
        @OptionGroup var options: ReplicaOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let replica = try options.openForReading()
            let views = try replica.recordIDs(kind: "case").compactMap { try replica.view(.case($0)) }
            if json { return try printJSON(views.map(CaseJSON.object)) }
            if views.isEmpty { return print("no cases on this node; register one with `yuqing case new --title T`") }
            for v in views {
                let flag = v.conflicts.isEmpty ? "" : "  [\(v.conflicts.count) conflict(s)]"
                let cells = [v.value("level")?.description ?? "-", v.value("status")?.description ?? "-", v.value("title")?.description ?? ""]
                print("\(v.record.id.terminalSafe)  " + cells.map(\.terminalSafe).joined(separator: "\t") + flag)
            }
        }
    }
}

enum CaseID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    /// `YQ-` and 10 random Crockford base-32 characters (50 bits).
    static func make() -> String {
        var rng = SystemRandomNumberGenerator()
        return "YQ-" + String((0..<10).map { _ in alphabet[Int(rng.next() as UInt64 % 32)] })
    }

    static func noteID() -> String {
        var rng = SystemRandomNumberGenerator()
        return "N" + String((0..<12).map { _ in alphabet[Int(rng.next() as UInt64 % 32)] })
    }

    static func require(_ id: String, in replica: Replica) throws -> RecordView {
        guard let view = try replica.view(.case(id)) else {
            throw CLIError("no case \(id) on this node; `yuqing case list` shows the cases here (sync to receive others')")
        }
        return view
    }
}

/// Parses `field=value`, `co-units+=unit` and `co-units-=unit`.
enum Assignment {
    static func parse(_ text: String, record: RecordRef) throws -> Replica.Write {
        func field(_ name: Substring) -> String { name.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "-", with: "_") }
        guard let eq = text.firstIndex(of: "=") else {
            throw CLIError("'\(text)' is not an assignment; write FIELD=VALUE (fields: title, summary, level, status) or co-units+=UNIT")
        }
        // `+=` / `-=` only where the first `=` is: a value may contain them freely.
        if eq > text.startIndex, case let op = text[text.index(before: eq)], op == "+" || op == "-" {
            let name = field(text[..<text.index(before: eq)])
            let unit = String(text[text.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
            guard name == "co_units" else { throw CLIError("'+=' and '-=' work on co-units only (got '\(text)')") }
            guard !unit.isEmpty else { throw CLIError("name the co-unit: co-units+=UNIT") }
            return Replica.Write(record, FieldKey("co_units", element: unit), op == "+" ? .integer(1) : nil)
        }
        let name = field(text[..<eq])
        var value = String(text[text.index(after: eq)...])
        if name == "level" { value = value.uppercased() }
        if name == "co_units" { throw CLIError("use co-units+=UNIT or co-units-=UNIT to change co-units") }
        if let spec = Schema.standard.records["case"]?.field(name), !spec.editable {
            throw CLIError("'\(name)' is set when the case is registered and cannot be changed")
        }
        return Replica.Write(record, FieldKey(name), .text(value))
    }
}
