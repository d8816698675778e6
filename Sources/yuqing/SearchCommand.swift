import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingOffice
import YuqingReplica

struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Search cases, replies and reports: any words, Chinese substrings of any length, with filters.",
        discussion: """
            Every word must appear (words are separated by spaces); a word of one or two characters
            is found as well as a longer one. Newest first. On a node it searches what the node
            holds; with the hub's database, everything.
            """)
    @OptionGroup var options: ReplicaOptions
    @Argument(help: "What to look for.") var words: [String]
    @Option(help: "Only cases of this level (I … IV).") var level: String?
    @Option(help: "Only cases of this category (1–4).") var category: Int?
    @Option(help: "Only cases with this status: \(CaseStatus.allCases.map(\.rawValue).joined(separator: ", ")).") var status: String?
    @Option(help: "Only what concerns this unit.") var unit: String?
    @OptionGroup var period: PeriodOptions
    @Flag(help: "Only cases with an overdue deadline.") var overdue = false
    @Option(help: "Only case, reply or report (repeat for more).") var kind: [String] = []
    @Option(help: "At most this many results (default 50).") var limit: Int = 50
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var files: ExportFiles
    @OptionGroup var lang: LanguageOption

    func run() async throws {
        let ctx = try OfficeContext.open(options, lang)
        var q = SearchQuery(text: words.joined(separator: " "))
        if let level {
            guard let v = ctx.org.settings.levelScheme.parse(level) else { throw CLIError("'\(level)' is not a level; use \(ctx.org.settings.levelScheme.levels.joined(separator: ", "))") }
            q.level = v
        }
        if let category { q.category = try CaseCommand.category(category).rawValue }
        if let status {
            guard let s = CaseStatus(rawValue: status) else { throw CLIError("'\(status)' is not a status; use one of: \(CaseStatus.allCases.map(\.rawValue).joined(separator: ", "))") }
            q.status = s
        }
        for k in kind where !["case", "reply", "report"].contains(k) { throw CLIError("'\(k)' is not a kind; use case, reply or report") }
        q.kinds = Set(kind)
        q.unit = unit
        q.overdue = overdue
        guard (1...10_000).contains(limit) else { throw CLIError("--limit is 1 to 10000") }
        q.limit = limit
        let anyPeriod = [period.day, period.week, period.month, period.quarter, period.from, period.to].contains { $0 != nil }
        if anyPeriod {
            let p = try period.period(ctx.calendar, now: ctx.now)
            let t = ctx.calendar.times(p)
            (q.from, q.to) = (t.lowerBound, t.upperBound)
        }
        let hits: [SearchHit]
        do { hits = try ctx.index.search(q, now: ctx.now) } catch let e as OfficeError { throw CLIError(e.description) }
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
        commandName: "keyword", abstract: "Keywords and topics to watch (关键词、专题): the office's for everyone, each unit's own.",
        discussion: """
            A case registered on a node records which of the office's and its unit's keywords its
            title, summary or excerpt holds. At the hub (--db the hub's database) keywords are the
            office's unless --unit is given; on a node they are the unit's own unless --everyone
            (office roles only).
            """,
        subcommands: [Add.self, Retire.self, List.self])

    struct Scope: ParsableArguments {
        @Flag(help: "An office-wide keyword (office roles, or at the hub).") var everyone = false
        @Option(help: "The unit it belongs to (at the hub).") var unit: String?
    }

    /// Who writes, and for which owner (nil: everyone).
    static func writer(_ options: ReplicaOptions, _ scope: Scope) throws -> (Replica, String, String?) {
        let replica = try Replica.open(at: try options.path(), schema: CaseSchema.schema)
        if replica.role == .hub {
            if scope.everyone, scope.unit != nil { throw CLIError("give --everyone or --unit, not both") }
            return (replica, Actor(user: "operator", unit: "hub").author, scope.unit)
        }
        let ctx = try NodeContext.open(options)
        if let u = scope.unit, u != ctx.actor.unit { throw CLIError("a node keeps its own unit's keywords (\(ctx.actor.unit)); \(u)'s are kept by \(u) or at the hub") }
        if scope.everyone, !Role.isOfficeLevel(ctx.roles) { throw CLIError("office-wide keywords are the office's; leave out --everyone to add one for \(ctx.actor.unit)") }
        return (replica, ctx.actor.author, scope.everyone ? nil : ctx.actor.unit)
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a keyword (or change its topic).")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The keyword.") var word: String
        @Option(help: "The topic (专题) it belongs to.") var topic: String?
        @OptionGroup var scope: Scope
        @OptionGroup var lang: LanguageOption
        func run() async throws {
            let l = try lang.resolve()
            let (replica, author, owner) = try KeywordCommand.writer(options, scope)
            let w: [FieldWrite]
            do { w = try Keyword.writes(Keyword(word: word, unit: owner, topic: topic)) } catch { throw CLIError(error.message) }
            try replica.write(w.map { Replica.Write($0.record, $0.field, $0.value) }, author: author)
            print(l == .zh ? "关键词\(word)已保存（\(owner ?? l(.everyone))）" + (topic.map { "，专题：\($0)" } ?? "")
                  : "keyword \(word) saved for \(owner ?? "everyone")" + (topic.map { " (topic \($0))" } ?? ""))
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop watching a keyword (it stays on the cases that matched it).")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The keyword.") var word: String
        @OptionGroup var scope: Scope
        @OptionGroup var lang: LanguageOption
        func run() async throws {
            let l = try lang.resolve()
            let (replica, author, owner) = try KeywordCommand.writer(options, scope)
            let id = Keyword.id(word: word, unit: owner)
            guard let view = try replica.view(RecordRef(kind: CaseSchema.Kind.keyword, id: id)), let k = Keyword(view) else {
                throw CLIError("no keyword \(word) for \(owner ?? "everyone"); `yuqing keyword list` shows them")
            }
            var retired = k
            retired.active = false
            let w: [FieldWrite]
            do { w = try Keyword.writes(retired) } catch { throw CLIError(error.message) }
            try replica.write(w.map { Replica.Write($0.record, $0.field, $0.value) }, author: author)
            print(l == .zh ? "关键词\(word)已停用（\(owner ?? l(.everyone))）" : "keyword \(word) retired for \(owner ?? "everyone")")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keywords this replica holds.")
        @OptionGroup var options: ReplicaOptions
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var lang: LanguageOption
        func run() async throws {
            let l = try lang.resolve()
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
