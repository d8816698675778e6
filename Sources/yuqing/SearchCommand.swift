import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingOffice
import YuqingReplica

struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: L("Search cases, replies and reports: any words, Chinese substrings of any length, with filters.",
                                           zh: "搜索案件、回复和报告：可用任意词语或任意长度的中文片段，并可加筛选条件。"),
        discussion: L("""
            Every word must appear (words are separated by spaces); a word of one or two characters
            is found as well as a longer one. Newest first. On a node it searches what the node
            holds; with the hub's database, everything.
            """, zh: """
            每个词都须出现（词之间用空格分隔）；一两个字的词和较长的词同样能搜到。结果按时间从新到旧排列。
            在节点上搜索该节点保存的内容；指定中心数据库时搜索全部内容。
            """))
    @OptionGroup var options: ReplicaOptions
    @Argument(help: ArgumentHelp(L("What to look for.", zh: "要搜索的内容。"))) var words: [String]
    @Option(help: ArgumentHelp(L("Only cases of this level (I … IV).", zh: "只搜索此级别的案件（I … IV）。"))) var level: String?
    @Option(help: ArgumentHelp(L("Only cases of this category (1–4).", zh: "只搜索此分类的案件（1–4）。"))) var category: Int?
    @Option(help: ArgumentHelp(L("Only cases with this status: \(CaseStatus.allCases.map(\.rawValue).joined(separator: ", ")).",
                                 zh: "只搜索此状态的案件：\(CaseStatus.allCases.map(\.rawValue).joined(separator: ", "))。"))) var status: String?
    @Option(help: ArgumentHelp(L("Only what concerns this unit.", zh: "只搜索涉及此单位的内容。"))) var unit: String?
    @OptionGroup var period: PeriodOptions
    @Flag(help: ArgumentHelp(L("Only cases with an overdue deadline.", zh: "只搜索有逾期时限的案件。"))) var overdue = false
    @Option(help: ArgumentHelp(L("Only case, reply or report (repeat for more).", zh: "只搜索case（案件）、reply（回复）或report（报告）（可重复给出）。"))) var kind: [String] = []
    @Option(help: ArgumentHelp(L("At most this many results (default 50).", zh: "最多显示的结果数（默认50）。"))) var limit: Int = 50
    @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以JSON格式输出。"))) var json = false
    @OptionGroup var files: ExportFiles

    func run() async throws {
        let ctx = try OfficeContext.open(options)
        var q = SearchQuery(text: words.joined(separator: " "))
        if let level {
            guard let v = ctx.org.settings.levelScheme.parse(level) else {
                let levels = ctx.org.settings.levelScheme.levels.joined(separator: ", ")
                throw CLIError("'\(level)' is not a level; use \(levels)", zh: "“\(level)”不是级别；请用\(levels)")
            }
            q.level = v
        }
        if let category { q.category = try CaseCommand.category(category).rawValue }
        if let status {
            guard let s = CaseStatus(rawValue: status) else {
                let statuses = CaseStatus.allCases.map(\.rawValue).joined(separator: ", ")
                throw CLIError("'\(status)' is not a status; use one of: \(statuses)", zh: "“\(status)”不是案件状态；请用以下之一：\(statuses)")
            }
            q.status = s
        }
        for k in kind where !["case", "reply", "report"].contains(k) {
            throw CLIError("'\(k)' is not a kind; use case, reply or report", zh: "“\(k)”不是可搜索的类型；请用case、reply或report")
        }
        q.kinds = Set(kind)
        q.unit = unit
        q.overdue = overdue
        guard (1...10_000).contains(limit) else { throw CLIError("--limit is 1 to 10000", zh: "--limit 须在1到10000之间") }
        q.limit = limit
        let anyPeriod = [period.day, period.week, period.month, period.quarter, period.from, period.to].contains { $0 != nil }
        if anyPeriod {
            let p = try period.period(ctx.calendar, now: ctx.now)
            let t = ctx.calendar.times(p)
            (q.from, q.to) = (t.lowerBound, t.upperBound)
        }
        let hits: [SearchHit]
        do { hits = try ctx.index.search(q, now: ctx.now) } catch let e as OfficeError { throw CLIError(e) }
        if json {
            return try printJSON(hits.map { h in
                ["kind": h.kind, "record": h.record, "element": h.element, "title": h.title, "snippet": h.snippet, "at": h.at,
                 "unit": h.unit, "status": h.status?.rawValue as Any, "level": h.level as Any] as [String: Any]
            })
        }
        let table = OfficeTables.hits(hits, org: ctx.org, language: ctx.language)
        if files.any { return try files.write([table], language: ctx.language) }
        if hits.isEmpty { return print(ctx.language(.noResults)) }
        print(TextTable.render(table))
        print("\(hits.count) \(ctx.language(.hits))" + (hits.count == limit ? (ctx.language == .zh ? "（可能还有更多：--limit）" : " (there may be more: --limit)") : ""))
    }
}

struct KeywordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyword", abstract: L("Keywords and topics to watch (关键词、专题): the office's for everyone, each unit's own.",
                                            zh: "监测的关键词和专题：舆情办设定的适用于全体单位，各单位也可设定本单位的。"),
        discussion: L("""
            A case registered on a node records which of the office's and its unit's keywords its
            title, summary or excerpt holds. At the hub (--db the hub's database) keywords are the
            office's unless --unit is given; on a node they are the unit's own unless --everyone
            (office roles only).
            """, zh: """
            在节点上登记案件时，会记录其标题、摘要或摘录中含有舆情办和本单位的哪些关键词。
            在中心（--db 指向中心数据库），除非给出 --unit，关键词均属舆情办；在节点上，
            除非给出 --everyone（仅限舆情办层级的角色），关键词均属本单位。
            """),
        subcommands: [Add.self, Retire.self, List.self])

    struct Scope: ParsableArguments {
        @Flag(help: ArgumentHelp(L("An office-wide keyword (office roles, or at the hub).", zh: "适用于全体单位的关键词（限舆情办层级的角色，或在中心设定）。"))) var everyone = false
        @Option(help: ArgumentHelp(L("The unit it belongs to (at the hub).", zh: "关键词所属的单位（在中心设定时）。"))) var unit: String?
    }

    /// Who writes, and for which owner (nil: everyone).
    static func writer(_ options: ReplicaOptions, _ scope: Scope) throws -> (Replica, String, String?) {
        let replica = try Replica.open(at: try options.path(), schema: CaseSchema.schema)
        if replica.role == .hub {
            if scope.everyone, scope.unit != nil { throw CLIError("give --everyone or --unit, not both", zh: "--everyone 和 --unit 只能给出其一") }
            return (replica, Actor(user: "operator", unit: "hub").author, scope.unit)
        }
        let ctx = try NodeContext.open(options)
        if let u = scope.unit, u != ctx.actor.unit {
            throw CLIError("a node keeps its own unit's keywords (\(ctx.actor.unit)); \(u)'s are kept by \(u) or at the hub",
                           zh: "节点只维护本单位（\(ctx.actor.unit)）的关键词；\(u)的关键词由\(u)或在中心维护")
        }
        if scope.everyone, !Role.isOfficeLevel(ctx.roles) {
            throw CLIError("office-wide keywords are the office's; leave out --everyone to add one for \(ctx.actor.unit)",
                           zh: "适用于全体单位的关键词由舆情办设定；去掉 --everyone 即可为\(ctx.actor.unit)添加关键词")
        }
        return (replica, ctx.actor.author, scope.everyone ? nil : ctx.actor.unit)
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("Add a keyword (or change its topic).", zh: "添加关键词（或更改其所属专题）。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The keyword.", zh: "关键词。"))) var word: String
        @Option(help: ArgumentHelp(L("The topic (专题) it belongs to.", zh: "关键词所属的专题。"))) var topic: String?
        @OptionGroup var scope: Scope
        func run() async throws {
            let l = processLanguage
            let (replica, author, owner) = try KeywordCommand.writer(options, scope)
            let w: [FieldWrite]
            let held = try replica.view(RecordRef(kind: CaseSchema.Kind.keyword, id: Keyword.id(word: word.trimmingCharacters(in: .whitespacesAndNewlines), unit: owner)))
            do { w = try Keyword.writes(Keyword(word: word, unit: owner, topic: topic), over: held.flatMap(Keyword.init)) } catch { throw CLIError(error) }
            try replica.write(w.map { Replica.Write($0.record, $0.field, $0.value) }, author: author)
            print(l == .zh ? "关键词\(word)已保存（\(owner ?? l(.everyone))）" + (topic.map { "，专题：\($0)" } ?? "")
                  : "keyword \(word) saved for \(owner ?? "everyone")" + (topic.map { " (topic \($0))" } ?? ""))
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("Stop watching a keyword (it stays on the cases that matched it).",
                                                                    zh: "停用关键词（已匹配的案件上仍保留该关键词）。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The keyword.", zh: "关键词。"))) var word: String
        @OptionGroup var scope: Scope
        func run() async throws {
            let l = processLanguage
            let (replica, author, owner) = try KeywordCommand.writer(options, scope)
            let id = Keyword.id(word: word, unit: owner)
            guard let view = try replica.view(RecordRef(kind: CaseSchema.Kind.keyword, id: id)), let k = Keyword(view) else {
                throw CLIError("no keyword \(word) for \(owner ?? "everyone"); `yuqing keyword list` shows them",
                               zh: "\(owner ?? l(.everyone))没有关键词\(word)；`yuqing keyword list` 可列出全部关键词")
            }
            var retired = k
            retired.active = false
            let w: [FieldWrite]
            do { w = try Keyword.writes(retired, over: k) } catch { throw CLIError(error) }
            try replica.write(w.map { Replica.Write($0.record, $0.field, $0.value) }, author: author)
            print(l == .zh ? "关键词\(word)已停用（\(owner ?? l(.everyone))）" : "keyword \(word) retired for \(owner ?? "everyone")")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("List the keywords this replica holds.", zh: "列出本副本中的关键词。"))
        @OptionGroup var options: ReplicaOptions
        @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以JSON格式输出。"))) var json = false
        func run() async throws {
            let l = processLanguage
            let keywords = try options.openForReading().views(kinds: [CaseSchema.Kind.keyword]).compactMap(Keyword.init)
                .sorted { ($0.unit ?? "", $0.word) < ($1.unit ?? "", $1.word) }
            if json {
                return try printJSON(keywords.map { ["word": $0.word, "unit": $0.unit as Any, "topic": $0.topic as Any, "active": $0.active] as [String: Any] })
            }
            let table = Table(name: "", header: [l(.word), l(.topic), l(.owner), l(.active)], rows: keywords.map {
                [.text($0.word), .text($0.topic ?? ""), .text($0.unit ?? l(.everyone)), .text($0.active ? l(.yes) : l(.no))]
            })
            print(keywords.isEmpty ? l(.noResults) : TextTable.render(table))
        }
    }
}
