import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingOffice
import YuqingReplica

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Exports people open in Excel (CSV with a BOM, XLSX) and printable forms (HTML for A4).",
        subcommands: [Cases.self, Reports.self, HandlingRecord.self, MonthlyReport.self])

    struct Cases: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The cases discovered in a period (default: this month).")
        @OptionGroup var options: ReplicaOptions
        @OptionGroup var period: PeriodOptions
        @Option(help: "Only the cases that concern this unit.") var unit: String?
        @OptionGroup var files: ExportFiles
        @OptionGroup var lang: LanguageOption
        func run() async throws {
            guard files.any else { throw CLIError("say where: --csv FILE or --xlsx FILE (or both)") }
            let ctx = try OfficeContext.open(options, lang)
            let p = try period.period(ctx.calendar, now: ctx.now)
            let cases = try ctx.index.cases(discovered: ctx.calendar.times(p), unit: unit)
            let l = ctx.language
            try files.write([OfficeTables.cases(cases, org: ctx.org, language: l, now: ctx.now, name: "\(l(Term("案件", "cases"))) \(p.label)")], language: ctx.language)
        }
    }

    struct Reports: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The routine reports of a period, and every unit's monthly report standing.")
        @OptionGroup var options: ReplicaOptions
        @OptionGroup var period: PeriodOptions
        @OptionGroup var files: ExportFiles
        @OptionGroup var lang: LanguageOption
        func run() async throws {
            guard files.any else { throw CLIError("say where: --csv FILE or --xlsx FILE (or both)") }
            let ctx = try OfficeContext.open(options, lang)
            let p = try period.period(ctx.calendar, now: ctx.now)
            let l = ctx.language
            let stats = try ctx.statistics(p)
            try files.write([OfficeTables.reports(try ctx.index.reports(for: p), org: ctx.org, language: l, name: "\(l(.report)) \(p.label)"),
                             OfficeTables.monthly(stats, org: ctx.org, language: l)], language: l)
        }
    }

    struct HandlingRecord: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "handling-record", abstract: "A case's handling record (处置情况登记表), printable.")
        @OptionGroup var options: ReplicaOptions
        @Argument(help: "The case id.") var id: String
        @Option(help: ArgumentHelp("The HTML file to write.", valueName: "file")) var out: String
        @OptionGroup var lang: LanguageOption
        func run() async throws {
            let l = try lang.resolve()
            let replica = try options.openForReading()
            let file = try CaseLookup.file(id, in: replica)
            let org = Organisation(try replica.views(kinds: Organisation.kinds))
            let html = PrintableForms.handlingRecord(file, org: org, language: l, now: Int64(Date().timeIntervalSince1970 * 1000))
            try ExportFiles.save(Data(html.utf8), to: out, language: l)
        }
    }

    struct MonthlyReport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "monthly-report", abstract: "A unit's monthly report (月报告) on a month (default: last month), printable.")
        @OptionGroup var options: ReplicaOptions
        @Option(help: "The unit (default: this node's).") var unit: String?
        @OptionGroup var month: ReportMonth
        @Option(help: ArgumentHelp("The HTML file to write.", valueName: "file")) var out: String
        @OptionGroup var lang: LanguageOption
        func run() async throws {
            let ctx = try OfficeContext.open(options, lang)
            let m = try month.month(ctx.calendar, now: ctx.now)
            let u: String
            if let unit { u = unit } else {
                guard ctx.replica.role == .node else { throw CLIError("at the hub, say which unit: --unit UNIT") }
                u = try ctx.replica.info().unit
            }
            let stats = try ctx.statistics(.month(m))
            let report = try ctx.index.reports(for: .month(m)).first { $0.form == .monthly && $0.unit == u && $0.period == m.description }
            let html = PrintableForms.monthlyReport(unit: u, month: m, report: report, statistics: stats, org: ctx.org, language: ctx.language, now: ctx.now)
            try ExportFiles.save(Data(html.utf8), to: out, language: ctx.language)
        }
    }
}
