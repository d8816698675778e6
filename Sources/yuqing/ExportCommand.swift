import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingOffice
import YuqingReplica

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: L("Exports people open in Excel (CSV with a BOM, XLSX) and printable forms (HTML for A4).",
                                           zh: "导出可用Excel打开的文件（带BOM的CSV、XLSX）和可打印的表单（A4版式的HTML）。"),
        subcommands: [Cases.self, Reports.self, HandlingRecord.self, MonthlyReport.self])

    struct Cases: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("The cases discovered in a period (default: this month).", zh: "某一期间（默认为本月）发现的案件。"))
        @OptionGroup var options: ReplicaOptions
        @OptionGroup var period: PeriodOptions
        @Option(help: ArgumentHelp(L("Only the cases that concern this unit.", zh: "只导出涉及此单位的案件。"))) var unit: String?
        @OptionGroup var files: ExportFiles
        func run() async throws {
            guard files.any else { throw CLIError("say where: --csv FILE or --xlsx FILE (or both)", zh: "请指明写到哪里：--csv FILE 或 --xlsx FILE（或两者）") }
            let ctx = try OfficeContext.open(options)
            let p = try period.period(ctx.calendar, now: ctx.now)
            let cases = try ctx.index.cases(discovered: ctx.calendar.times(p), unit: unit)
            let l = ctx.language
            try files.write([OfficeTables.cases(cases, org: ctx.org, language: l, now: ctx.now, name: "\(l(Term("案件", "cases"))) \(p.label)")], language: ctx.language)
        }
    }

    struct Reports: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("The routine reports of a period, and every unit's monthly report standing.",
                                                                    zh: "某一期间的日常报告，以及各单位月报告的报送情况。"))
        @OptionGroup var options: ReplicaOptions
        @OptionGroup var period: PeriodOptions
        @OptionGroup var files: ExportFiles
        func run() async throws {
            guard files.any else { throw CLIError("say where: --csv FILE or --xlsx FILE (or both)", zh: "请指明写到哪里：--csv FILE 或 --xlsx FILE（或两者）") }
            let ctx = try OfficeContext.open(options)
            let p = try period.period(ctx.calendar, now: ctx.now)
            let l = ctx.language
            let stats = try ctx.statistics(p)
            try files.write([OfficeTables.reports(try ctx.index.reports(for: p), org: ctx.org, language: l, name: "\(l(.report)) \(p.label)"),
                             OfficeTables.monthly(stats, org: ctx.org, language: l)], language: l)
        }
    }

    struct HandlingRecord: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "handling-record", abstract: L("A case's handling record (处置情况登记表), printable.", zh: "案件的处置情况登记表（可打印）。"))
        @OptionGroup var options: ReplicaOptions
        @Argument(help: ArgumentHelp(L("The case id.", zh: "案件编号。"))) var id: String
        @Option(help: ArgumentHelp(L("The HTML file to write.", zh: "要写入的HTML文件。"), valueName: "file")) var out: String
        func run() async throws {
            let l = processLanguage
            let replica = try options.openForReading()
            let file = try CaseLookup.file(id, in: replica)
            let org = Organisation(try replica.views(kinds: Organisation.kinds))
            let html = PrintableForms.handlingRecord(file, org: org, language: l, now: Int64(Date().timeIntervalSince1970 * 1000))
            try ExportFiles.save(Data(html.utf8), to: out, language: l)
        }
    }

    struct MonthlyReport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "monthly-report", abstract: L("A unit's monthly report (月报告) on a month (default: last month), printable.",
                                                       zh: "某单位某月（默认为上月）的月报告（可打印）。"))
        @OptionGroup var options: ReplicaOptions
        @Option(help: ArgumentHelp(L("The unit (default: this node's).", zh: "单位（默认为本节点的单位）。"))) var unit: String?
        @OptionGroup var month: ReportMonth
        @Option(help: ArgumentHelp(L("The HTML file to write.", zh: "要写入的HTML文件。"), valueName: "file")) var out: String
        func run() async throws {
            let ctx = try OfficeContext.open(options)
            let m = try month.month(ctx.calendar, now: ctx.now)
            let u: String
            if let unit { u = unit } else {
                guard ctx.replica.role == .node else { throw CLIError("at the hub, say which unit: --unit UNIT", zh: "在中心须指明单位：--unit UNIT") }
                u = try ctx.replica.info().unit
            }
            let stats = try ctx.statistics(.month(m))
            let report = try ctx.index.reports(for: .month(m)).first { $0.form == .monthly && $0.unit == u && $0.period == m.description }
            let html = PrintableForms.monthlyReport(unit: u, month: m, report: report, statistics: stats, org: ctx.org, language: ctx.language, now: ctx.now)
            try ExportFiles.save(Data(html.utf8), to: out, language: ctx.language)
        }
    }
}
