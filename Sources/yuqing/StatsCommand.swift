import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingOffice
import YuqingReplica

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: L("The office's statistics for a period (default: this month), per unit and overall.",
                                          zh: "舆情办某一期间（默认为本月）的统计，分单位和合计。"),
        discussion: L("""
            On a node: for the cases and reports this node holds (its unit's scope). With --db the
            hub's database: for everyone. Cases count in the period they were discovered, deadlines
            in the period they fall due, steps (urged, noticed, published) when they were taken.
            `--xlsx` writes every table (per unit, clocks, monthly reports); `--csv` the first.
            """, zh: """
            在节点上：统计本节点保存的案件和报告（本单位的范围）。--db 指向中心数据库时：统计全体单位。
            案件按发现时间计入期间，时限按到期时间计入，催办、通报、发布等步骤按办理时间计入。
            `--xlsx` 写入全部表格（分单位、时限、月报告）；`--csv` 只写第一张表。
            """))
    @OptionGroup var options: ReplicaOptions
    @OptionGroup var period: PeriodOptions
    @Option(help: ArgumentHelp(L("Only this unit's row (and the total).", zh: "只显示此单位的一行（及合计）。"))) var unit: String?
    @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以JSON格式输出。"))) var json = false
    @OptionGroup var files: ExportFiles

    func run() async throws {
        let ctx = try OfficeContext.open(options)
        let p = try period.period(ctx.calendar, now: ctx.now)
        var stats = try ctx.statistics(p)
        if let unit {
            guard let row = stats.units.first(where: { $0.unit == unit }) else {
                throw CLIError("\(unit) has nothing in \(p.label) on this replica; `yuqing org show` lists the units",
                               zh: "本副本中\(unit)在\(p.label)没有数据；`yuqing org show` 可列出各单位")
            }
            stats.units = []
            stats.total = row
            stats.monthly = stats.monthly.filter { $0.unit == unit }
        }
        if json {
            struct Out: Encodable {
                var period: String, first: String, last: String, units: [Statistics.Row], total: Statistics.Row, monthly: [Statistics.MonthlyStanding]
            }
            return try printEncoded(Out(period: p.label, first: p.first.description, last: p.last.description,
                                        units: stats.units, total: stats.total, monthly: stats.monthly))
        }
        let tables = OfficeTables.statistics(stats, org: ctx.org, language: ctx.language)
        if files.any { return try files.write(tables, language: ctx.language) }
        print(Self.text(stats, org: ctx.org, language: ctx.language))
    }

    /// A terminal's view: the main figures per unit, then the whole by level, category, platform, status.
    static func text(_ s: Statistics, org: Organisation, language l: Language) -> String {
        func name(_ r: Statistics.Row) -> String { r.unit.map { org.units[$0]?.name ?? $0 } ?? l(.total) }
        let main = Table(name: "", header: [l(.unit), l(.cases), l(.onTimeRate), l(.overdue), l(.urged), l(.noticed), l(.repliesPublished),
                                            l(.lateReports), l(.missedReports), l(.concealedReports), l(.zeroCompliance)],
                         rows: (s.units + [s.total]).map { r in
                             [.text(name(r)), .integer(Int64(r.cases)), .text(l.percent(r.allClocks.rate)), .integer(Int64(r.overdue)),
                              .integer(Int64(r.urged)), .integer(Int64(r.noticed)), .integer(Int64(r.repliesPublished)), .integer(Int64(r.lateReports)),
                              .integer(Int64(r.missedReports)), .integer(Int64(r.concealedReports)), .text(l.percent(r.monthly.rate))]
                         })
        let t = s.total
        let scheme = org.settings.levelScheme
        func line(_ term: Term, _ pairs: [(String, Int)]) -> String {
            "\(l(term)): " + pairs.map { "\($0.0) \($0.1)" }.joined(separator: l == .zh ? "，" : ", ")
        }
        var out = ["\(l(.statistics)) \(s.period.label) (\(s.period.first) … \(s.period.last))", "", TextTable.render(main), ""]
        out.append(line(.byLevel, scheme.levels.map { (l.level($0, scheme: scheme), t.byLevel[$0] ?? 0) }))
        out.append(line(.byCategory, Category.allCases.map { (l.category($0.rawValue), t.byCategory[String($0.rawValue)] ?? 0) }))
        out.append(line(.byPlatform, Platform.allCases.map { (l.platform($0.rawValue), t.byPlatform[$0.rawValue] ?? 0) }.filter { $0.1 > 0 }))
        out.append(line(.byStatus, CaseStatus.allCases.map { (l.status($0), t.byStatus[$0.rawValue] ?? 0) }))
        out.append(line(.onTimeRate, Statistics.clockNames.compactMap { n in t.clocks[n].flatMap { $0.decided > 0 ? (l.clock(n), $0) : nil } }
            .map { ("\($0.0) \(l.percent($0.1.rate))", $0.1.decided) }))
        return out.joined(separator: "\n")
    }
}

struct NoticeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notice", abstract: L("Draft the notice (通报) of a period from its statistics (default: this quarter).",
                                           zh: "根据某一期间（默认为本季度）的统计起草通报。"))
    @OptionGroup var options: ReplicaOptions
    @OptionGroup var period: PeriodOptions
    @Option(help: ArgumentHelp(L("Write the draft to this file instead of printing it.", zh: "将草稿写入此文件，不在屏幕上显示。"), valueName: "file")) var out: String?

    func run() async throws {
        let ctx = try OfficeContext.open(options)
        let month = ctx.calendar.date(ctx.now).monthOfYear
        let p = try period.period(ctx.calendar, now: ctx.now, fallback: Period.quarter(year: month.year, month.quarter))
        let stats = try ctx.statistics(p)
        let text = NoticeDraft.render(stats, org: ctx.org, language: ctx.language, generatedAt: ctx.now)
        if let out { try ExportFiles.save(Data((text + "\n").utf8), to: out, language: ctx.language) } else { print(text) }
    }
}

struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index", abstract: L("The office's search and statistics index in a replica's file (kept current by every command that reads it).",
                                          zh: "副本文件中供舆情办搜索和统计使用的索引（每条读取索引的命令都会使其保持最新）。"),
        subcommands: [Rebuild.self])

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("Drop the index and build it again from the replica.", zh: "删除索引，并根据副本重新建立。"))
        @OptionGroup var options: ReplicaOptions
        func run() async throws {
            let replica = try Replica.open(at: try options.path(), schema: CaseSchema.schema)
            let index = OfficeIndex(replica)
            try index.drop()
            let started = Date()
            let r = try index.refresh { done, total in say(L("indexing: \(done) of \(total) records", zh: "正在建立索引：\(done)/\(total)")) }
            let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
            say(L("indexed \(r.records) records in \(seconds) s", zh: "已为\(r.records)条记录建立索引，用时\(seconds)秒"))
        }
    }
}
