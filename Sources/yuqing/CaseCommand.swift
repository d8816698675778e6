import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingReplica

struct CaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case", abstract: "Register cases and take the workflow's steps on this node (works offline).",
        discussion: """
            The workflow (办理流程); the roles that may take each step are in brackets:

              register [monitor, commentator, office]    → quick-report (30 min)
              assess, level [office, leader]             category 1–4 and level; raising a level escalates
              assign [office, leader]                    one lead unit, co-units, deadline, instruction (批示)
              report [units]                             progress (续报), written (2 h, I–II), special (4 h),
                                                         handling record (24 h, III–IV), opinion (inquiries)
              urge, notice [office]                      an overdue assignment (催办), a unit named (通报)
              reply draft → reply sign [unit head] → reply approve | reply return [office; leader for I–II]
                          → reply publish [office, commentator]
              statement [spokesperson]                   wide impact, 12 h
              reopen [office, monitor]                   new doubts after a reply: a new round
              archive [office]                           read-only afterwards
              review, library [office, leader]           总结评估, 案例库

            The status follows from the steps; `yuqing case due` lists what is due and overdue.
            """,
        subcommands: [Register.self, New.self, Show.self, History.self, List.self, Due.self, Next.self, Set.self, QuickReport.self, Assess.self,
                      LevelStep.self, Assign.self, Instruct.self, Report.self, Note.self, Heat.self, Urge.self, Notice.self,
                      Statement.self, Reopen.self, Archive.self, Review.self, Library.self, Link.self, AddEvidence.self])

    struct RegistrationOptions: ParsableArguments {
        @Option(help: "The case's title.") var title: String
        @Option(help: "A summary of what was found (摘要).") var summary: String?
        @Option(help: "An excerpt of the original content.") var excerpt: String?
        @Option(help: "Where it appeared: \(Platform.names).") var platform: String?
        @Option(help: "The post's URL.") var url: String?
        @Option(help: "Who posted it.") var poster: String?
        @Option(help: "The site's name.") var site: String?
        @Option(name: .customLong("published-at"), help: "When it was published (2026-11-22T08:30, office time).") var publishedAt: String?
        @Option(name: .customLong("discovered-at"), help: "When it was found (default: now).") var discoveredAt: String?
        @Option(help: "Category: \(Category.names).") var category: Int?
        @Option(help: "Proposed level: I (especially major) … IV (minor).") var level: String?
        @Option(name: .customLong("keyword"), help: "A keyword or topic it matched (repeat for more).") var keywords: [String] = []
        @Option(name: .customLong("concerns"), help: "Another unit concerned (repeat for more).") var units: [String] = []

        func registration(_ ctx: NodeContext) throws -> Registration {
            var r = Registration(title: title)
            (r.summary, r.excerpt, r.url, r.poster, r.site) = (summary, excerpt, url, poster, site)
            if let platform {
                guard let p = Platform(rawValue: platform.lowercased()) else { throw CLIError("'\(platform)' is not a platform; use one of: \(Platform.names)") }
                r.platform = p
            }
            let offset = ctx.org.settings.utcOffsetMinutes
            r.publishedAt = try publishedAt.map { try TimeInput.parse($0, now: ctx.now, utcOffsetMinutes: offset) }
            r.discoveredAt = try discoveredAt.map { try TimeInput.parse($0, now: ctx.now, utcOffsetMinutes: offset) }
            r.category = try category.map(CaseCommand.category)
            r.level = level
            // The keywords it was given, and those of the office's and the unit's watch lists its text holds.
            let watched = try ctx.replica.views(kinds: [CaseSchema.Kind.keyword]).compactMap(Keyword.init)
            let text = [title, summary ?? "", excerpt ?? ""].joined(separator: "\n")
            r.keywords = keywords + Keyword.matches(text, keywords: watched, unit: ctx.actor.unit).filter { !keywords.contains($0) }
            r.units = units
            return r
        }
    }

    static func category(_ n: Int) throws -> Category {
        guard let c = Category(rawValue: n) else { throw CLIError("category \(n) does not exist; use \(Category.names)") }
        return c
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a report as a new case (受理登记); prints its id last.")
        @OptionGroup var options: ReplicaOptions
        @OptionGroup var registration: RegistrationOptions

        func run() async throws {
            let ctx = try NodeContext.open(options)
            let id = try ctx.perform(.register(try registration.registration(ctx)), on: nil)
            print("registered case \(id)")
        }
    }

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The same as `case register` (kept for scripts).", shouldDisplay: false)
        @OptionGroup var options: ReplicaOptions
        @OptionGroup var registration: RegistrationOptions

        func run() async throws {
            let ctx = try NodeContext.open(options)
            print("registered case \(try ctx.perform(.register(try registration.registration(ctx)), on: nil))")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one case: fields, deadlines, replies, evidence and its timeline.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let replica = try options.openForReading()
            let file = try CaseLookup.file(id, in: replica)
            let org = Organisation(try replica.views(kinds: Organisation.kinds))
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            if json { try printJSON(CaseJSON.object(file, now: now)) } else { print(CaseText.render(file, org: org, now: now)) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the cases on this node.")
        @OptionGroup var options: ReplicaOptions
        @Option(help: "Only cases with this status: \(CaseStatus.allCases.map(\.rawValue).joined(separator: ", ")).") var status: String?
        @Flag(help: "Only cases with an overdue deadline.") var overdue = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let replica = try options.openForReading()
            if let status, CaseStatus(rawValue: status) == nil {
                throw CLIError("'\(status)' is not a status; use one of: \(CaseStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let files = try CaseLookup.all(in: replica).filter { f in
                (status == nil || f.state.status.rawValue == status) && (!overdue || Deadlines.items(f, now: now).contains { $0.standing == .overdue })
            }
            if json { return try printJSON(files.map { CaseJSON.object($0, now: now) }) }
            if files.isEmpty { return print("no cases here; register one with `yuqing case register --title T`") }
            for f in files {
                let flag = f.conflicts.isEmpty ? "" : "  [\(f.conflicts.count) conflict(s)]"
                let late = Deadlines.items(f, now: now).filter { $0.standing == .overdue }.count
                let cells = [f.level ?? "-", f.state.status.rawValue, f.leadUnit ?? f.unit ?? "-", f.title]
                print("\(f.id.terminalSafe)  " + cells.map(\.terminalSafe).joined(separator: "\t") + flag + (late > 0 ? "  [\(late) overdue]" : ""))
            }
        }
    }

    struct Due: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What is due and overdue on this node (works offline), and late counts per unit.")
        @OptionGroup var options: ReplicaOptions
        @Flag(help: "Include clocks already met.") var all = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let replica = try options.openForReading()
            let org = Organisation(try replica.views(kinds: Organisation.kinds))
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let files = try CaseLookup.all(in: replica).filter { !$0.state.isArchived || all }
            let items = files.flatMap { Deadlines.items($0, now: now) }.filter { all || $0.standing == .open || $0.standing == .overdue }
            let tally = Deadlines.tally(try CaseLookup.all(in: replica), now: now)
            if json {
                return try printJSON([
                    "items": items.map { CaseJSON.item($0) },
                    "units": tally.keys.sorted().map { ["unit": $0, "on_time": tally[$0]!.onTime, "late": tally[$0]!.late, "missed": tally[$0]!.missed] },
                ] as [String: Any])
            }
            let offset = org.settings.utcOffsetMinutes
            if items.isEmpty { print("nothing due") }
            for i in items.sorted(by: { $0.due < $1.due }) {
                print("\(i.caseID)  \(i.clock)\t\(i.unit.terminalSafe)\tdue \(TimeInput.show(i.due, utcOffsetMinutes: offset))\t\(i.standing.rawValue)")
            }
            for unit in tally.keys.sorted() where tally[unit]!.late + tally[unit]!.missed > 0 {
                print("unit \(unit.terminalSafe): \(tally[unit]!.late) late, \(tally[unit]!.missed) missed, \(tally[unit]!.onTime) on time")
            }
        }
    }

    struct Next: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The steps this node's user may take on a case now.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let ctx = try NodeContext.open(options)
            let file = try ctx.file(id)
            let steps = Workflow.available(roles: ctx.roles, unit: ctx.actor.unit, on: file)
            if json { return try printJSON(["case": id, "status": file.state.status.rawValue, "steps": steps.map(\.rawValue)] as [String: Any]) }
            print("case \(id) is \(file.state.status.rawValue) (\(file.state.status.chinese)); \(ctx.actor.user) (\(ctx.roles.sorted().map(\.rawValue).joined(separator: ", "))) may:")
            if steps.isEmpty { print("  nothing now") }
            for s in steps { print("  \(s.rawValue.replacingOccurrences(of: "_", with: "-"))  \(s.chinese)") }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Edit a case's descriptive fields.",
            discussion: """
                Assignments: title=T, summary=S, excerpt=E, platform=P, url=U, poster=P, site=S,
                published_at=TIME; keywords+=K, keywords-=K, units+=UNIT, units-=UNIT (units concerned).
                The level, the lead unit and co-units, and the status change through the workflow's
                steps (`case level`, `case assign`; see `yuqing case --help`).
                """)
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "FIELD=VALUE, keywords+=K, units+=UNIT …") var assignments: [String]

        func validate() throws {
            if assignments.isEmpty { throw ValidationError("give at least one FIELD=VALUE") }
        }

        func run() async throws {
            let ctx = try NodeContext.open(options)
            var fields: [String: FieldValue] = [:]
            var sets: [String: (add: [String], remove: [String])] = [:]
            for a in assignments {
                guard let eq = a.firstIndex(of: "=") else { throw CLIError("'\(a)' is not an assignment; write FIELD=VALUE") }
                let lhs = a[..<eq].trimmingCharacters(in: .whitespaces)
                let op = lhs.last.flatMap { $0 == "+" || $0 == "-" ? $0 : nil }
                let name = (op == nil ? lhs : String(lhs.dropLast())).replacingOccurrences(of: "-", with: "_")
                let value = String(a[a.index(after: eq)...])
                if let op {
                    guard name == "keywords" || name == "units" else {
                        throw CLIError(name == "co_units" ? "co-units are given by an assignment: `yuqing case assign ID --lead U --co-unit U`" : "'+=' and '-=' work on keywords and units only")
                    }
                    if op == "+" { sets[name, default: ([], [])].add.append(value) } else { sets[name, default: ([], [])].remove.append(value) }
                    continue
                }
                switch name {
                case "status": throw CLIError("the status follows from the workflow's steps and is not set by hand; take a step instead (`yuqing case --help` shows them)")
                case "level": throw CLIError("change a level with `yuqing case level ID LEVEL --reason …`: raising it escalates")
                case "co_units", "lead_unit": throw CLIError("units are assigned with `yuqing case assign ID --lead U --co-unit U --deadline …`")
                case "published_at": fields[name] = .integer(try TimeInput.parse(value, now: ctx.now, utcOffsetMinutes: ctx.org.settings.utcOffsetMinutes))
                case "platform":
                    guard let p = Platform(rawValue: value.lowercased()) else { throw CLIError("'\(value)' is not a platform; use one of: \(Platform.names)") }
                    fields[name] = .text(p.rawValue)
                default: fields[name] = .text(value)
                }
            }
            if !fields.isEmpty { try ctx.perform(.edit(fields), on: id) }
            if let k = sets["keywords"] { try ctx.perform(.keywords(add: k.add, remove: k.remove), on: id) }
            if let u = sets["units"] { try ctx.perform(.units(add: u.add, remove: u.remove), on: id) }
            print("updated case \(id)")
        }
    }
}

/// A command that takes one workflow step on one case.
protocol StepCommand: AsyncParsableCommand {
    var options: ReplicaOptions { get }
    var id: String { get }
    func action(_ ctx: NodeContext) throws -> CaseAction
}

extension StepCommand {
    func run() async throws {
        let ctx = try NodeContext.open(options)
        let action = try action(ctx)
        try ctx.perform(action, on: id)
        print("case \(id): \(action.stepKind?.rawValue ?? "updated")")
    }
}

extension CaseCommand {
    struct QuickReport: StepCommand {
        static let configuration = CommandConfiguration(commandName: "quick-report", abstract: "The quick report to the office (快报, within 30 minutes).")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The facts, briefly.") var text: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .quickReport(text) }
    }

    struct Assess: StepCommand {
        static let configuration = CommandConfiguration(abstract: "Assess a case (研判): category, level and a handling opinion.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Option(help: "Category: \(Category.names).") var category: Int?
        @Option(help: "Level: I … IV (or I … III in the three-level scheme).") var level: String?
        @Option(help: "The handling opinion.") var opinion: String
        func action(_ ctx: NodeContext) throws -> CaseAction {
            .assess(category: try category.map(CaseCommand.category), level: level, opinion: opinion)
        }
    }

    struct LevelStep: StepCommand {
        static let configuration = CommandConfiguration(commandName: "level", abstract: "Raise or lower a case's level; raising it escalates (逐级上报).")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The new level.") var level: String
        @Option(help: "Why.") var reason: String?
        func action(_ ctx: NodeContext) throws -> CaseAction { .setLevel(level, reason: reason) }
    }

    struct Assign: StepCommand {
        static let configuration = CommandConfiguration(abstract: "Assign a case (交办) to a lead unit and co-units with a deadline; again to reassign.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Option(help: "The lead unit (牵头单位).") var lead: String
        @Option(name: .customLong("co-unit"), help: "A co-unit (协办单位); repeat for more.") var coUnits: [String] = []
        @Option(help: "The deadline: 2026-11-22T18:00 (office time), or +2h, +3d.") var deadline: String
        @Option(help: "The leader's instruction (批示).") var instruction: String?
        func action(_ ctx: NodeContext) throws -> CaseAction {
            .assign(lead: lead, coUnits: coUnits, deadline: try TimeInput.parse(deadline, now: ctx.now, utcOffsetMinutes: ctx.org.settings.utcOffsetMinutes),
                    instruction: instruction)
        }
    }

    struct Instruct: StepCommand {
        static let configuration = CommandConfiguration(abstract: "A leader's instruction on a case (批示).")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The instruction.") var text: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .instruct(text) }
    }

    struct Report: StepCommand {
        static let configuration = CommandConfiguration(abstract: "A unit's report on a case: progress (续报) or one of the clocked reports.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The report.") var text: String
        @Option(help: "progress, written (I–II, 2 h), special (4 h), handling (III–IV, 24 h) or opinion (inquiries, same day).") var kind = "progress"
        func action(_ ctx: NodeContext) throws -> CaseAction {
            guard let k = ReportKind(rawValue: kind) else { throw CLIError("'\(kind)' is not a report kind; use progress, written, special, handling or opinion") }
            return .report(k, text)
        }
    }

    struct Note: StepCommand {
        static let configuration = CommandConfiguration(abstract: "A progress report (the same as `case report`).", shouldDisplay: false)
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The report.") var text: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .report(.progress, text) }
    }

    struct Heat: StepCommand {
        static let configuration = CommandConfiguration(abstract: "Record the heat observed at a follow-up: views, comments, reposts.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Option var views: Int64 = 0
        @Option var comments: Int64 = 0
        @Option var reposts: Int64 = 0
        func action(_ ctx: NodeContext) throws -> CaseAction { .heat(views: views, comments: comments, reposts: reposts) }
    }

    struct Urge: StepCommand {
        static let configuration = CommandConfiguration(abstract: "Urge a unit on an overdue assignment (催办).")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Option(help: "The unit urged.") var unit: String
        @Option var note: String?
        func action(_ ctx: NodeContext) throws -> CaseAction { .urge(unit: unit, note: note) }
    }

    struct Notice: StepCommand {
        static let configuration = CommandConfiguration(abstract: "Name a unit that neither answered nor explained (通报).")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Option(help: "The unit named.") var unit: String
        @Option var note: String?
        func action(_ ctx: NodeContext) throws -> CaseAction { .notice(unit: unit, note: note) }
    }

    struct Statement: StepCommand {
        static let configuration = CommandConfiguration(abstract: "The spokesperson's statement (wide impact, 12 h).")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The statement.") var text: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .statement(text) }
    }

    struct Reopen: StepCommand {
        static let configuration = CommandConfiguration(abstract: "Reopen a replied case on new doubts: a new round of handling.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Option(help: "The new doubts.") var reason: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .reopen(reason: reason) }
    }

    struct Archive: StepCommand {
        static let configuration = CommandConfiguration(abstract: "Archive a replied case (立卷归档); it becomes read-only.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Option var note: String?
        func action(_ ctx: NodeContext) throws -> CaseAction { .archive(note: note) }
    }

    struct Review: StepCommand {
        static let configuration = CommandConfiguration(abstract: "The written review of a case (总结评估).")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The review.") var text: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .review(text) }
    }

    struct Library: StepCommand {
        static let configuration = CommandConfiguration(abstract: "Put a reviewed case into the case library (案例库).")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "Why it is a good case, for the units who consult the library.") var text: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .library(text) }
    }

    struct Link: StepCommand {
        static let configuration = CommandConfiguration(abstract: "Merge this report into another case of the same incident.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id of the report.") var id: String
        @Option(help: "The case it belongs to.") var into: String
        func action(_ ctx: NodeContext) throws -> CaseAction {
            _ = try ctx.file(into)
            return .link(to: into)
        }
    }

    struct AddEvidence: StepCommand {
        static let configuration = CommandConfiguration(
            commandName: "evidence", abstract: "Attach evidence (取证): a screenshot or saved page, kept by its SHA-256.",
            discussion: "The file's bytes are kept beside the replica (PATH.blobs/) and go to the hub, and from there to the other nodes, at the next sync, after the changes; the case records the digest, name and size.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The file.") var file: String
        @Option(help: "Its media type (default: from the file name).") var type: String?

        func action(_ ctx: NodeContext) throws -> CaseAction {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
            guard Int64(data.count) <= ctx.org.settings.evidenceMaxBytes else {
                throw CLIError("\(file) is \(data.count) bytes; the office accepts evidence of at most \(ctx.org.settings.evidenceMaxBytes) bytes")
            }
            let digest = try BlobStore(replicaPath: ctx.replica.path).put(data)
            let name = (file as NSString).lastPathComponent
            let media = type ?? Self.mediaType(name)
            return .evidence(digest: digest, Evidence(name: name, bytes: Int64(data.count), mediaType: media, at: ctx.now, by: ctx.actor))
        }

        static func mediaType(_ name: String) -> String {
            switch (name as NSString).pathExtension.lowercased() {
            case "png": "image/png"
            case "jpg", "jpeg": "image/jpeg"
            case "html", "htm": "text/html"
            case "pdf": "application/pdf"
            case "mhtml", "mht": "multipart/related"
            default: "application/octet-stream"
            }
        }
    }
}
