import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingOffice
import YuqingReplica

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Routine reports: the daily form and the monthly report with the zero-report rule.",
        discussion: """
            Every unit files its monthly report on last month within the first 3 days of the month
            (moved past the holidays the office sets with `yuqing org settings --holiday`), also
            when there was nothing to report: `yuqing report file --zero`. A report not filed by
            then counts as missing, one filed after as late. Filing works offline; the time that
            counts is the filing's replicated timestamp.
            """,
        subcommands: [File.self, List.self, Status.self])

    struct File: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "File this unit's report (monthly by default, on last month).")
        @OptionGroup var options: ReplicaOptions
        @Option(help: "monthly (月报告) or daily (网络舆情日报告表).") var form: String = "monthly"
        @Option(help: "The month (2026-10) or day (2026-10-03) reported on (default: last month, or today).") var period: String?
        @Flag(help: "A zero report: nothing was found (零报告).") var zero = false
        @Option(help: "Cases found in the period.") var cases: Int64?
        @Option(help: "Replies published in the period.") var replies: Int64?
        @Option(help: "Daily form: how many times the sites were watched (at least 3).") var rounds: Int64?
        @Option(help: "What the unit reports.") var text: String?
        @OptionGroup var lang: LanguageOption

        func run() async throws {
            let l = try lang.resolve()
            guard let form = ReportForm(rawValue: form) else { throw CLIError("'\(form)' is not a report form; use \(ReportForm.names)") }
            let ctx = try NodeContext.open(options)
            let cal = ctx.org.settings.calendar
            let today = cal.date(ctx.now)
            let period = self.period ?? (form == .monthly ? today.monthOfYear.previous.description : today.description)
            switch form {
            case .monthly:
                guard let m = Month(period) else { throw CLIError("'\(period)' is not a month; write it as 2026-10") }
                guard m < today.monthOfYear else { throw CLIError("the month \(period) has not ended; its report is filed in the first days of the next month") }
            case .daily:
                guard let d = CivilDate(period) else { throw CLIError("'\(period)' is not a day; write it as 2026-10-03") }
                guard d <= today else { throw CLIError("\(period) is in the future (today is \(today))") }
            }
            if form == .daily, let rounds, rounds < 3, !zero {
                warn("the sites are watched at least 3 times a day; this form says \(rounds)")
            }
            let filing = Filing(at: ctx.now, by: ctx.actor, zero: zero, cases: cases, replies: replies, rounds: rounds, text: text)
            let id = RoutineReport.id(form, period: period, unit: ctx.actor.unit)
            let earlier = try ctx.replica.view(RecordRef(kind: CaseSchema.Kind.report, id: id)).flatMap(RoutineReport.init)
            let writes: [FieldWrite]
            do { writes = try ReportWrites.file(form, period: period, filing: filing, entryID: IDs.make("F-"), again: earlier != nil) } catch { throw CLIError(error.message) }
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
        static let configuration = CommandConfiguration(abstract: "List the routine reports of a period (default: this month) on this replica.")
        @OptionGroup var options: ReplicaOptions
        @OptionGroup var period: PeriodOptions
        @Option(help: "Only this unit's.") var unit: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var files: ExportFiles
        @OptionGroup var lang: LanguageOption

        func run() async throws {
            let ctx = try OfficeContext.open(options, lang)
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
            abstract: "Zero-report compliance: every unit's monthly report on a month (default: last month), on time, late or missing.")
        @OptionGroup var options: ReplicaOptions
        @OptionGroup var month: ReportMonth
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var files: ExportFiles
        @OptionGroup var lang: LanguageOption

        func run() async throws {
            let ctx = try OfficeContext.open(options, lang)
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
