import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingReplica

struct CaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case", abstract: L("Register cases and take the workflow's steps on this node (works offline).",
                                         zh: "在本节点登记案件并办理各流程步骤（可离线使用）。"),
        discussion: L("""
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
            """, zh: """
            办理流程（括号内为可办理该步骤的角色）：

              register（监测员、网评员、办公室）
                  受理登记，随后 quick-report 快报（30 分钟内）
              assess、level（办公室、领导）
                  研判：确定分类 1–4 和级别；提高级别即逐级上报
              assign（办公室、领导）
                  交办：一个牵头单位、若干协办单位、时限和批示
              report（各单位）
                  续报；书面报告（I–II 级，2 小时）；特报（4 小时）；
                  处置情况登记表（III–IV 级，24 小时）；处置意见（询问类）
              urge、notice（办公室）
                  对逾期的交办事项催办；对单位通报
              reply draft → reply sign（单位负责人）→ reply approve | reply return（办公室；I–II 级由领导）
                  → reply publish（办公室、网评员）
                  审定回复：起草、负责人签字、审定通过或退回、发布
              statement（新闻发言人）
                  影响较大的，12 小时内发布声明
              reopen（办公室、监测员）
                  回复后出现新的质疑：重新办理一轮
              archive（办公室）
                  立卷归档，归档后只读
              review、library（办公室、领导）
                  总结评估，收入案例库

            案件状态由已办理的步骤决定；`yuqing case due` 列出即将到期和已逾期的事项。
            """),
        subcommands: [Register.self, New.self, Show.self, History.self, List.self, Due.self, Next.self, Set.self, QuickReport.self, Assess.self,
                      LevelStep.self, Assign.self, Instruct.self, Report.self, Note.self, Heat.self, Urge.self, Notice.self,
                      Statement.self, Reopen.self, Archive.self, Review.self, Library.self, Link.self, AddEvidence.self])

    struct RegistrationOptions: ParsableArguments {
        @Option(help: ArgumentHelp(L("The case's title.", zh: "案件标题。"))) var title: String
        @Option(help: ArgumentHelp(L("A summary of what was found (摘要).", zh: "所发现舆情的摘要。"))) var summary: String?
        @Option(help: ArgumentHelp(L("An excerpt of the original content.", zh: "原文摘录。"))) var excerpt: String?
        @Option(help: ArgumentHelp(L("Where it appeared: \(Platform.names).", zh: "来源平台：\(CaseCommand.platformNamesZH)。"))) var platform: String?
        @Option(help: ArgumentHelp(L("The post's URL.", zh: "帖文链接。"))) var url: String?
        @Option(help: ArgumentHelp(L("Who posted it.", zh: "发帖人。"))) var poster: String?
        @Option(help: ArgumentHelp(L("The site's name.", zh: "网站名称。"))) var site: String?
        @Option(name: .customLong("published-at"), help: ArgumentHelp(L("When it was published (2026-11-22T08:30, office time).",
                                                                         zh: "发布时间（如 2026-11-22T08:30，按办公室所在时区）。"))) var publishedAt: String?
        @Option(name: .customLong("discovered-at"), help: ArgumentHelp(L("When it was found (default: now).", zh: "发现时间（默认：当前时间）。"))) var discoveredAt: String?
        @Option(help: ArgumentHelp(L("Category: \(Category.names).", zh: "分类：\(CaseCommand.categoryNamesZH)。"))) var category: Int?
        @Option(help: ArgumentHelp(L("Proposed level: I (especially major) … IV (minor).", zh: "建议级别：I（特别重大）… IV（影响较小）。"))) var level: String?
        @Option(name: .customLong("keyword"), help: ArgumentHelp(L("A keyword or topic it matched (repeat for more).", zh: "匹配的关键词或专题（可重复指定多个）。")))
        var keywords: [String] = []
        @Option(name: .customLong("concerns"), help: ArgumentHelp(L("Another unit concerned (repeat for more).", zh: "其他涉事单位（可重复指定多个）。")))
        var units: [String] = []

        func registration(_ ctx: NodeContext) throws -> Registration {
            var r = Registration(title: title)
            (r.summary, r.excerpt, r.url, r.poster, r.site) = (summary, excerpt, url, poster, site)
            if let platform {
                guard let p = Platform(rawValue: platform.lowercased()) else {
                    throw CLIError("'\(platform)' is not a platform; use one of: \(Platform.names)",
                                   zh: "“\(platform)”不是有效的来源平台；可选：\(CaseCommand.platformNamesZH)")
                }
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
        guard let c = Category(rawValue: n) else {
            throw CLIError("category \(n) does not exist; use \(Category.names)", zh: "分类 \(n) 不存在；可选：\(categoryNamesZH)")
        }
        return c
    }

    /// `news（新闻网站）、forum（论坛/BBS）…` for Chinese help and error text.
    static var platformNamesZH: String { Platform.allCases.map { "\($0.rawValue)（\($0.chinese)）" }.joined(separator: "、") }

    /// `1（建议类）；2（询问、质疑、诉求类）…` for Chinese help and error text.
    static var categoryNamesZH: String { Category.allCases.map { "\($0.rawValue)（\($0.chinese)）" }.joined(separator: "；") }

    /// `registered（已受理）、assessed（已研判）…` for Chinese help and error text.
    static var statusNamesZH: String { CaseStatus.allCases.map { "\($0.rawValue)（\($0.chinese)）" }.joined(separator: "、") }

    /// A help text given only in Chinese: the English help stays as it was (none).
    static func zhOnly(_ chinese: String) -> ArgumentHelp? { processLanguage == .zh ? ArgumentHelp(chinese) : nil }

    /// How a deadline stands, for people.
    static func standing(_ s: Deadlines.Item.Standing) -> String {
        guard processLanguage == .zh else { return s.rawValue }
        switch s {
        case .open: return "未到期"
        case .overdue: return "已逾期"
        case .metOnTime: return "按时完成"
        case .metLate: return "超时完成"
        }
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("Register a report as a new case (受理登记); prints its id last.",
                                                                    zh: "将舆情信息登记为新案件（受理登记）；最后输出案件编号。"))
        @OptionGroup var options: ReplicaOptions
        @OptionGroup var registration: RegistrationOptions

        func run() async throws {
            let ctx = try NodeContext.open(options)
            let id = try ctx.perform(.register(try registration.registration(ctx)), on: nil)
            print(L("registered case \(id)", zh: "已登记案件 \(id)"))
        }
    }

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("The same as `case register` (kept for scripts).", zh: "同 `case register`（为兼容脚本保留）。"),
                                                        shouldDisplay: false)
        @OptionGroup var options: ReplicaOptions
        @OptionGroup var registration: RegistrationOptions

        func run() async throws {
            let ctx = try NodeContext.open(options)
            let id = try ctx.perform(.register(try registration.registration(ctx)), on: nil)
            print(L("registered case \(id)", zh: "已登记案件 \(id)"))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("Show one case: fields, deadlines, replies, evidence and its timeline.",
                                                                    zh: "查看一个案件：各项信息、时限、回复、证据和办理过程。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以 JSON 格式输出。"))) var json = false

        func run() async throws {
            let replica = try options.openForReading()
            let file = try CaseLookup.file(id, in: replica)
            let org = Organisation(try replica.views(kinds: Organisation.kinds))
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            if json { try printJSON(CaseJSON.object(file, now: now)) } else { print(CaseText.render(file, org: org, now: now)) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("List the cases on this node.", zh: "列出本节点的案件。"))
        @OptionGroup var options: ReplicaOptions
        @Option(help: ArgumentHelp(L("Only cases with this status: \(CaseStatus.allCases.map(\.rawValue).joined(separator: ", ")).",
                                     zh: "仅列出该状态的案件：\(CaseCommand.statusNamesZH)。"))) var status: String?
        @Flag(help: ArgumentHelp(L("Only cases with an overdue deadline.", zh: "仅列出有逾期时限的案件。"))) var overdue = false
        @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以 JSON 格式输出。"))) var json = false

        func run() async throws {
            let replica = try options.openForReading()
            if let status, CaseStatus(rawValue: status) == nil {
                throw CLIError("'\(status)' is not a status; use one of: \(CaseStatus.allCases.map(\.rawValue).joined(separator: ", "))",
                               zh: "“\(status)”不是有效的状态；可选：\(CaseCommand.statusNamesZH)")
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let files = try CaseLookup.all(in: replica).filter { f in
                (status == nil || f.state.status.rawValue == status) && (!overdue || Deadlines.items(f, now: now).contains { $0.standing == .overdue })
            }
            if json { return try printJSON(files.map { CaseJSON.object($0, now: now) }) }
            if files.isEmpty {
                return print(L("no cases here; register one with `yuqing case register --title T`",
                               zh: "本节点暂无案件；可用 `yuqing case register --title T` 登记"))
            }
            let lang = processLanguage
            var scheme = LevelScheme.four
            if lang == .zh { scheme = Organisation(try replica.views(kinds: Organisation.kinds)).settings.levelScheme }
            for f in files {
                let flag = f.conflicts.isEmpty ? "" : L("  [\(f.conflicts.count) conflict(s)]", zh: "  【\(f.conflicts.count) 处冲突】")
                let late = Deadlines.items(f, now: now).filter { $0.standing == .overdue }.count
                let cells = lang == .zh
                    ? [lang.level(f.level, scheme: scheme), lang.status(f.state.status), f.leadUnit ?? f.unit ?? "-", f.title]
                    : [f.level ?? "-", f.state.status.rawValue, f.leadUnit ?? f.unit ?? "-", f.title]
                print("\(f.id.terminalSafe)  " + cells.map(\.terminalSafe).joined(separator: "\t") + flag
                      + (late > 0 ? L("  [\(late) overdue]", zh: "  【\(late) 项逾期】") : ""))
            }
        }
    }

    struct Due: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("What is due and overdue on this node (works offline), and late counts per unit.",
                                                                    zh: "本节点即将到期和已逾期的事项（可离线使用），以及各单位超时情况。"))
        @OptionGroup var options: ReplicaOptions
        @Flag(help: ArgumentHelp(L("Include clocks already met.", zh: "同时列出已完成的时限。"))) var all = false
        @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以 JSON 格式输出。"))) var json = false

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
            if items.isEmpty { print(L("nothing due", zh: "暂无到期事项")) }
            for i in items.sorted(by: { $0.due < $1.due }) {
                let due = TimeInput.show(i.due, utcOffsetMinutes: offset)
                print(L("\(i.caseID)  \(i.clock)\t\(i.unit.terminalSafe)\tdue \(due)\t\(i.standing.rawValue)",
                        zh: "\(i.caseID)  \(processLanguage.clock(i.clock).terminalSafe)\t\(i.unit.terminalSafe)\t时限 \(due)\t\(CaseCommand.standing(i.standing))"))
            }
            for unit in tally.keys.sorted() where tally[unit]!.late + tally[unit]!.missed > 0 {
                let t = tally[unit]!
                print(L("unit \(unit.terminalSafe): \(t.late) late, \(t.missed) missed, \(t.onTime) on time",
                        zh: "单位 \(unit.terminalSafe)：超时 \(t.late) 项，未完成 \(t.missed) 项，按时 \(t.onTime) 项"))
            }
        }
    }

    struct Next: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("The steps this node's user may take on a case now.",
                                                                    zh: "本节点用户当前可对案件办理的步骤。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以 JSON 格式输出。"))) var json = false

        func run() async throws {
            let ctx = try NodeContext.open(options)
            let file = try ctx.file(id)
            let steps = Workflow.available(roles: ctx.roles, unit: ctx.actor.unit, on: file)
            if json { return try printJSON(["case": id, "status": file.state.status.rawValue, "steps": steps.map(\.rawValue)] as [String: Any]) }
            let roles = ctx.roles.sorted()
            print(L("case \(id) is \(file.state.status.rawValue) (\(file.state.status.chinese)); \(ctx.actor.user) (\(roles.map(\.rawValue).joined(separator: ", "))) may:",
                    zh: "案件 \(id) 当前状态：\(file.state.status.chinese)（\(file.state.status.rawValue)）；\(ctx.actor.user)（\(roles.map(\.chinese).joined(separator: "、"))）可办理："))
            if steps.isEmpty { print(L("  nothing now", zh: "  当前无可办理的步骤")) }
            for s in steps { print("  \(s.rawValue.replacingOccurrences(of: "_", with: "-"))  \(s.chinese)") }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: L("Edit a case's descriptive fields.", zh: "修改案件的描述性信息。"),
            discussion: L("""
                Assignments: title=T, summary=S, excerpt=E, platform=P, url=U, poster=P, site=S,
                published_at=TIME; keywords+=K, keywords-=K, units+=UNIT, units-=UNIT (units concerned).
                The level, the lead unit and co-units, and the status change through the workflow's
                steps (`case level`, `case assign`; see `yuqing case --help`).
                """, zh: """
                赋值写法：title=T、summary=S、excerpt=E、platform=P、url=U、poster=P、site=S、
                published_at=TIME；keywords+=K、keywords-=K、units+=UNIT、units-=UNIT（涉事单位）。
                级别、牵头单位、协办单位和状态通过办理步骤变更
                （`case level`、`case assign`；参见 `yuqing case --help`）。
                """))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("FIELD=VALUE, keywords+=K, units+=UNIT …", zh: "FIELD=VALUE、keywords+=K、units+=UNIT …"))) var assignments: [String]

        func validate() throws {
            if assignments.isEmpty { throw ValidationError(L("give at least one FIELD=VALUE", zh: "请至少给出一项 FIELD=VALUE")) }
        }

        func run() async throws {
            let ctx = try NodeContext.open(options)
            var fields: [String: FieldValue] = [:]
            var sets: [String: (add: [String], remove: [String])] = [:]
            for a in assignments {
                guard let eq = a.firstIndex(of: "=") else {
                    throw CLIError("'\(a)' is not an assignment; write FIELD=VALUE", zh: "“\(a)”不是有效的赋值；请写成 FIELD=VALUE")
                }
                let lhs = a[..<eq].trimmingCharacters(in: .whitespaces)
                let op = lhs.last.flatMap { $0 == "+" || $0 == "-" ? $0 : nil }
                let name = (op == nil ? lhs : String(lhs.dropLast())).replacingOccurrences(of: "-", with: "_")
                let value = String(a[a.index(after: eq)...])
                if let op {
                    guard name == "keywords" || name == "units" else {
                        throw name == "co_units"
                            ? CLIError("co-units are given by an assignment: `yuqing case assign ID --lead U --co-unit U`",
                                       zh: "协办单位通过交办指定：`yuqing case assign ID --lead U --co-unit U`")
                            : CLIError("'+=' and '-=' work on keywords and units only", zh: "“+=”和“-=”仅适用于 keywords 和 units")
                    }
                    if op == "+" { sets[name, default: ([], [])].add.append(value) } else { sets[name, default: ([], [])].remove.append(value) }
                    continue
                }
                switch name {
                case "status":
                    throw CLIError("the status follows from the workflow's steps and is not set by hand; take a step instead (`yuqing case --help` shows them)",
                                   zh: "状态由办理步骤决定，不能手动设置；请办理相应步骤（见 `yuqing case --help`）")
                case "level":
                    throw CLIError("change a level with `yuqing case level ID LEVEL --reason …`: raising it escalates",
                                   zh: "调整级别请用 `yuqing case level ID LEVEL --reason …`；提高级别即逐级上报")
                case "co_units", "lead_unit":
                    throw CLIError("units are assigned with `yuqing case assign ID --lead U --co-unit U --deadline …`",
                                   zh: "牵头单位和协办单位通过交办指定：`yuqing case assign ID --lead U --co-unit U --deadline …`")
                case "published_at": fields[name] = .integer(try TimeInput.parse(value, now: ctx.now, utcOffsetMinutes: ctx.org.settings.utcOffsetMinutes))
                case "platform":
                    guard let p = Platform(rawValue: value.lowercased()) else {
                        throw CLIError("'\(value)' is not a platform; use one of: \(Platform.names)",
                                       zh: "“\(value)”不是有效的来源平台；可选：\(CaseCommand.platformNamesZH)")
                    }
                    fields[name] = .text(p.rawValue)
                default: fields[name] = .text(value)
                }
            }
            if !fields.isEmpty { try ctx.perform(.edit(fields), on: id) }
            if let k = sets["keywords"] { try ctx.perform(.keywords(add: k.add, remove: k.remove), on: id) }
            if let u = sets["units"] { try ctx.perform(.units(add: u.add, remove: u.remove), on: id) }
            print(L("updated case \(id)", zh: "已更新案件 \(id)"))
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
        print(L("case \(id): \(action.stepKind?.rawValue ?? "updated")",
                zh: action.stepKind.map { "案件 \(id)：已办理“\($0.chinese)”" } ?? "案件 \(id)：已更新"))
    }
}

extension CaseCommand {
    struct QuickReport: StepCommand {
        static let configuration = CommandConfiguration(commandName: "quick-report",
                                                        abstract: L("The quick report to the office (快报, within 30 minutes).", zh: "向办公室快报（30 分钟内）。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("The facts, briefly.", zh: "简要事实。"))) var text: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .quickReport(text) }
    }

    struct Assess: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("Assess a case (研判): category, level and a handling opinion.", zh: "研判案件：确定分类、级别并提出处置意见。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Option(help: ArgumentHelp(L("Category: \(Category.names).", zh: "分类：\(CaseCommand.categoryNamesZH)。"))) var category: Int?
        @Option(help: ArgumentHelp(L("Level: I … IV (or I … III in the three-level scheme).", zh: "级别：I … IV（三级制为 I … III）。"))) var level: String?
        @Option(help: ArgumentHelp(L("The handling opinion.", zh: "处置意见。"))) var opinion: String
        func action(_ ctx: NodeContext) throws -> CaseAction {
            .assess(category: try category.map(CaseCommand.category), level: level, opinion: opinion)
        }
    }

    struct LevelStep: StepCommand {
        static let configuration = CommandConfiguration(commandName: "level",
                                                        abstract: L("Raise or lower a case's level; raising it escalates (逐级上报).",
                                                                    zh: "提高或降低案件级别；提高级别即逐级上报。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("The new level.", zh: "新的级别。"))) var level: String
        @Option(help: ArgumentHelp(L("Why.", zh: "调整理由。"))) var reason: String?
        func action(_ ctx: NodeContext) throws -> CaseAction { .setLevel(level, reason: reason) }
    }

    struct Assign: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("Assign a case (交办) to a lead unit and co-units with a deadline; again to reassign.",
                                                                    zh: "将案件交办给牵头单位和协办单位并设定时限；再次交办即为重新交办。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Option(help: ArgumentHelp(L("The lead unit (牵头单位).", zh: "牵头单位。"))) var lead: String
        @Option(name: .customLong("co-unit"), help: ArgumentHelp(L("A co-unit (协办单位); repeat for more.", zh: "协办单位；可重复指定多个。"))) var coUnits: [String] = []
        @Option(help: ArgumentHelp(L("The deadline: 2026-11-22T18:00 (office time), or +2h, +3d.",
                                     zh: "办理时限：如 2026-11-22T18:00（按办公室所在时区），或 +2h、+3d。"))) var deadline: String
        @Option(help: ArgumentHelp(L("The leader's instruction (批示).", zh: "领导批示。"))) var instruction: String?
        func action(_ ctx: NodeContext) throws -> CaseAction {
            .assign(lead: lead, coUnits: coUnits, deadline: try TimeInput.parse(deadline, now: ctx.now, utcOffsetMinutes: ctx.org.settings.utcOffsetMinutes),
                    instruction: instruction)
        }
    }

    struct Instruct: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("A leader's instruction on a case (批示).", zh: "领导对案件作出批示。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("The instruction.", zh: "批示内容。"))) var text: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .instruct(text) }
    }

    struct Report: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("A unit's report on a case: progress (续报) or one of the clocked reports.",
                                                                    zh: "单位就案件报送情况：续报，或有时限要求的各类报告。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("The report.", zh: "报告内容。"))) var text: String
        @Option(help: ArgumentHelp(L("progress, written (I–II, 2 h), special (4 h), handling (III–IV, 24 h) or opinion (inquiries, same day).",
                                     zh: "progress（续报）、written（书面报告，I–II 级，2 小时）、special（特报，4 小时）、"
                                         + "handling（处置情况登记表，III–IV 级，24 小时）或 opinion（处置意见，询问类，当日）。")))
        var kind = "progress"
        func action(_ ctx: NodeContext) throws -> CaseAction {
            guard let k = ReportKind(rawValue: kind) else {
                throw CLIError("'\(kind)' is not a report kind; use progress, written, special, handling or opinion",
                               zh: "“\(kind)”不是有效的报告类型；可选：progress、written、special、handling、opinion")
            }
            return .report(k, text)
        }
    }

    struct Note: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("A progress report (the same as `case report`).", zh: "续报（同 `case report`）。"),
                                                        shouldDisplay: false)
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("The report.", zh: "报告内容。"))) var text: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .report(.progress, text) }
    }

    struct Heat: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("Record the heat observed at a follow-up: views, comments, reposts.",
                                                                    zh: "记录跟踪时观察到的热度：浏览、评论、转发数。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Option(help: CaseCommand.zhOnly("浏览数。")) var views: Int64 = 0
        @Option(help: CaseCommand.zhOnly("评论数。")) var comments: Int64 = 0
        @Option(help: CaseCommand.zhOnly("转发数。")) var reposts: Int64 = 0
        func action(_ ctx: NodeContext) throws -> CaseAction { .heat(views: views, comments: comments, reposts: reposts) }
    }

    struct Urge: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("Urge a unit on an overdue assignment (催办).", zh: "就逾期的交办事项向单位催办。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Option(help: ArgumentHelp(L("The unit urged.", zh: "被催办的单位。"))) var unit: String
        @Option(help: CaseCommand.zhOnly("备注。")) var note: String?
        func action(_ ctx: NodeContext) throws -> CaseAction { .urge(unit: unit, note: note) }
    }

    struct Notice: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("Name a unit that neither answered nor explained (通报).", zh: "通报既未答复也未说明情况的单位。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Option(help: ArgumentHelp(L("The unit named.", zh: "被通报的单位。"))) var unit: String
        @Option(help: CaseCommand.zhOnly("备注。")) var note: String?
        func action(_ ctx: NodeContext) throws -> CaseAction { .notice(unit: unit, note: note) }
    }

    struct Statement: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("The spokesperson's statement (wide impact, 12 h).", zh: "新闻发言人声明（影响较大的，12 小时内）。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("The statement.", zh: "声明内容。"))) var text: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .statement(text) }
    }

    struct Reopen: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("Reopen a replied case on new doubts: a new round of handling.",
                                                                    zh: "已回复的案件出现新的质疑时重新办理，开始新一轮办理。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Option(help: ArgumentHelp(L("The new doubts.", zh: "新的质疑。"))) var reason: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .reopen(reason: reason) }
    }

    struct Archive: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("Archive a replied case (立卷归档); it becomes read-only.", zh: "将已回复的案件立卷归档；归档后只读。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Option(help: CaseCommand.zhOnly("备注。")) var note: String?
        func action(_ ctx: NodeContext) throws -> CaseAction { .archive(note: note) }
    }

    struct Review: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("The written review of a case (总结评估).", zh: "案件的书面总结评估。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("The review.", zh: "总结评估内容。"))) var text: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .review(text) }
    }

    struct Library: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("Put a reviewed case into the case library (案例库).", zh: "将已总结评估的案件收入案例库。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("Why it is a good case, for the units who consult the library.", zh: "入库理由，供各单位查阅案例库时参考。"))) var text: String
        func action(_ ctx: NodeContext) throws -> CaseAction { .library(text) }
    }

    struct Link: StepCommand {
        static let configuration = CommandConfiguration(abstract: L("Merge this report into another case of the same incident.", zh: "将本条舆情信息并入同一事件的另一案件。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id of the report.", zh: "本条舆情信息的案件编号。"))) var id: String
        @Option(help: ArgumentHelp(L("The case it belongs to.", zh: "所并入的案件编号。"))) var into: String
        func action(_ ctx: NodeContext) throws -> CaseAction {
            _ = try ctx.file(into)
            return .link(to: into)
        }
    }

    struct AddEvidence: StepCommand {
        static let configuration = CommandConfiguration(
            commandName: "evidence",
            abstract: L("Attach evidence (取证): a screenshot or saved page, kept by its SHA-256.",
                        zh: "添加证据（取证）：截图或保存的网页，以其 SHA-256 标识保存。"),
            discussion: L("The file's bytes are kept beside the replica (PATH.blobs/) and go to the hub, and from there to the other nodes, at the next sync, after the changes; the case records the digest, name and size.",
                          zh: "文件内容保存在副本旁（PATH.blobs/），下次同步时随变更之后传到中心，再由中心传到其他节点；案件记录其摘要值、文件名和大小。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Argument(help: ArgumentHelp(L("The file.", zh: "证据文件。"))) var file: String
        @Option(help: ArgumentHelp(L("Its media type (default: from the file name).", zh: "媒体类型（默认：按文件名判断）。"))) var type: String?

        func action(_ ctx: NodeContext) throws -> CaseAction {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)", zh: "无法读取 \(file)") }
            guard Int64(data.count) <= ctx.org.settings.evidenceMaxBytes else {
                throw CLIError("\(file) is \(data.count) bytes; the office accepts evidence of at most \(ctx.org.settings.evidenceMaxBytes) bytes",
                               zh: "\(file) 大小为 \(data.count) 字节；办公室接受的证据文件最大为 \(ctx.org.settings.evidenceMaxBytes) 字节")
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
