import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingOffice
import YuqingReplica

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: L("Routine reports: the daily form and the monthly report with the zero-report rule.",
                                           zh: "日常报告：网络舆情日报告表，以及实行零报告制度的月报告。"),
        discussion: L("""
            Every unit files its monthly report on last month within the first 3 days of the month
            (moved past the holidays the office sets with `yuqing org settings --holiday`), also
            when there was nothing to report: `yuqing report file --zero`. A report not filed by
            then counts as missing, one filed after as late. Filing works offline; the time that
            counts is the filing's replicated timestamp.
            """, zh: """
            各单位须在每月前3天内报送上月的月报告（遇舆情办用 `yuqing org settings --holiday`
            设定的节假日顺延），没有需要报告的内容时也须报送：`yuqing report file --zero`。
            到期未报送的计为未报，逾期报送的计为迟报。离线也可报送，以报送记录同步的时间戳为准。
            """),
        subcommands: [File.self, List.self, Status.self])

    struct File: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("File this unit's report (monthly by default, on last month).",
                                                                    zh: "报送本单位的报告（默认为上月的月报告）。"))
        @OptionGroup var options: ReplicaOptions
        @Option(help: ArgumentHelp(L("monthly (月报告) or daily (网络舆情日报告表).", zh: "monthly（月报告）或daily（网络舆情日报告表）。"))) var form: String = "monthly"
        @Option(help: ArgumentHelp(L("The month (2026-10) or day (2026-10-03) reported on (default: last month, or today).",
                                     zh: "报告所属的月份（如2026-10）或日期（如2026-10-03）（默认为上月或今天）。"))) var period: String?
        @Flag(help: ArgumentHelp(L("A zero report: nothing was found (零报告).", zh: "零报告：未发现舆情。"))) var zero = false
        @Option(help: ArgumentHelp(L("Cases found in the period.", zh: "期间内发现的案件数。"))) var cases: Int64?
        @Option(help: ArgumentHelp(L("Replies published in the period.", zh: "期间内发布的回复数。"))) var replies: Int64?
        @Option(help: ArgumentHelp(L("Daily form: how many times the sites were watched (at least 3).", zh: "日报告表：当日巡查网站的次数（至少3次）。"))) var rounds: Int64?
        @Option(help: ArgumentHelp(L("What the unit reports.", zh: "本单位报告的内容。"))) var text: String?

        func run() async throws {
            let l = processLanguage
            guard let form = ReportForm(rawValue: form) else {
                throw CLIError("'\(form)' is not a report form; use \(ReportForm.names)", zh: "“\(form)”不是报告类型；请用\(ReportForm.names)")
            }
            let ctx = try NodeContext.open(options)
            let cal = ctx.org.settings.calendar
            let today = cal.date(ctx.now)
            let period = self.period ?? (form == .monthly ? today.monthOfYear.previous.description : today.description)
            switch form {
            case .monthly:
                guard let m = Month(period) else { throw CLIError("'\(period)' is not a month; write it as 2026-10", zh: "“\(period)”不是月份；请写成2026-10的形式") }
                guard m < today.monthOfYear else {
                    throw CLIError("the month \(period) has not ended; its report is filed in the first days of the next month",
                                   zh: "月份\(period)尚未结束；该月的月报告在下月初报送")
                }
            case .daily:
                guard let d = CivilDate(period) else { throw CLIError("'\(period)' is not a day; write it as 2026-10-03", zh: "“\(period)”不是日期；请写成2026-10-03的形式") }
                guard d <= today else { throw CLIError("\(period) is in the future (today is \(today))", zh: "\(period)是将来的日期（今天是\(today)）") }
            }
            if form == .daily, let rounds, rounds < 3, !zero {
                warn(L("the sites are watched at least 3 times a day; this form says \(rounds)", zh: "网站每天应至少巡查3次；本表填报为\(rounds)次"))
            }
            let filing = Filing(at: ctx.now, by: ctx.actor, zero: zero, cases: cases, replies: replies, rounds: rounds, text: text)
            let id = RoutineReport.id(form, period: period, unit: ctx.actor.unit)
            let earlier = try ctx.replica.view(RecordRef(kind: CaseSchema.Kind.report, id: id)).flatMap(RoutineReport.init)
            let writes: [FieldWrite]
            do { writes = try ReportWrites.file(form, period: period, filing: filing, entryID: RecordIDs.make("F-"), again: earlier != nil) } catch { throw CLIError(error) }
            let changes = try ctx.replica.write(writes.map { Replica.Write($0.record, $0.field, $0.value) }, author: ctx.actor.author)
            let filedAt = Int64(clamping: changes.last?.hlc.wallMillis ?? UInt64(ctx.now))
            let deadline = form == .monthly ? cal.monthlyReportDeadline(Month(period)!) : cal.dailyReportDeadline(CivilDate(period)!)
            let counted = earlier?.first.filedAt ?? filedAt
            let onTime = counted <= deadline
            if l == .zh {
                print("已报送\(ctx.actor.unit)\(period)\(l.form(form))\(zero ? "（零报告）" : "")：" + (onTime ? "按时" : "迟报") + "（截止\(cal.show(deadline))）"
                      + (earlier != nil ? "；此前已报送，以首次报送时间\(cal.show(counted))计" : ""))
            } else {
                print("filed \(l.form(form)) \(period) for \(ctx.actor.unit)\(zero ? " (zero report)" : ""): " + (onTime ? "on time" : "late")
                      + " (due \(cal.show(deadline)))" + (earlier != nil ? "; filed before, the first filing (\(cal.show(counted))) counts" : ""))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("List the routine reports of a period (default: this month) on this replica.",
                                                                    zh: "列出本副本中某一期间（默认为本月）的日常报告。"))
        @OptionGroup var options: ReplicaOptions
        @OptionGroup var period: PeriodOptions
        @Option(help: ArgumentHelp(L("Only this unit's.", zh: "只列出此单位的报告。"))) var unit: String?
        @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以JSON格式输出。"))) var json = false
        @OptionGroup var files: ExportFiles

        func run() async throws {
            let ctx = try OfficeContext.open(options)
            let p = try period.period(ctx.calendar, now: ctx.now)
            let reports = try ctx.index.reports(for: p).filter { unit == nil || $0.unit == unit }
            let table = OfficeTables.reports(reports, org: ctx.org, language: ctx.language, name: "\(ctx.language(.report)) \(p.label)")
            if json { return try printEncoded(reports) }
            if files.any { return try files.write([table], language: ctx.language) }
            print(reports.isEmpty ? ctx.language(.noResults) : TextTable.render(table))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: L("Zero-report compliance: every unit's monthly report on a month (default: last month), on time, late or missing.",
                        zh: "零报告执行情况：各单位某月（默认为上月）的月报告是按时、迟报还是未报。"))
        @OptionGroup var options: ReplicaOptions
        @OptionGroup var month: ReportMonth
        @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以JSON格式输出。"))) var json = false
        @OptionGroup var files: ExportFiles

        func run() async throws {
            let ctx = try OfficeContext.open(options)
            let m = try month.month(ctx.calendar, now: ctx.now)
            let stats = try ctx.statistics(.month(m))
            if json { return try printEncoded(stats.monthly) }
            let table = OfficeTables.monthly(stats, org: ctx.org, language: ctx.language)
            if files.any { return try files.write([table], language: ctx.language) }
            if stats.monthly.isEmpty {
                print(ctx.language == .zh ? "组织中没有需要报送月报告的单位（单位树顶层以下的单位）。" : "No unit must file monthly reports (units below the top of the unit tree do).")
                return
            }
            print(TextTable.render(table))
            let t = stats.total.monthly
            print(ctx.language == .zh
                  ? "\(m)：按时\(t.onTime)，迟报\(t.late)，未报\(t.missing)，未到期\(t.pending)；零报告按时率\(ctx.language.percent(t.rate))"
                  : "\(m): \(t.onTime) on time, \(t.late) late, \(t.missing) missing, \(t.pending) not yet due; compliance \(ctx.language.percent(t.rate))")
        }
    }
}

/// Prints a value as JSON (sorted keys).
func printEncoded<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
