import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingOffice
import YuqingReplica

/// The period of a listing: one of a day, a week, a month, a quarter or a range of days.
struct PeriodOptions: ParsableArguments {
    @Option(help: ArgumentHelp(L("A day: 2026-10-03.", zh: "某一天，如2026-10-03。"), valueName: "day")) var day: String?
    @Option(help: ArgumentHelp(L("The week (Monday to Sunday) holding this day.", zh: "该日所在的一周（周一至周日）。"), valueName: "day")) var week: String?
    @Option(help: ArgumentHelp(L("A month: 2026-10.", zh: "某月，如2026-10。"), valueName: "month")) var month: String?
    @Option(help: ArgumentHelp(L("A quarter: 2026Q4.", zh: "某季度，如2026Q4。"), valueName: "quarter")) var quarter: String?
    @Option(help: ArgumentHelp(L("The first day of a range (with --to).", zh: "日期范围的第一天（与 --to 一起使用）。"), valueName: "day")) var from: String?
    @Option(help: ArgumentHelp(L("The last day of a range (with --from).", zh: "日期范围的最后一天（与 --from 一起使用）。"), valueName: "day")) var to: String?

    /// The period asked for; `fallback` (this month by default) when none is given.
    func period(_ calendar: OfficeCalendar, now: Int64, fallback: Period? = nil) throws -> Period {
        let given = [day, week, month, quarter, from ?? to].compactMap { $0 }
        if given.count > 1 {
            throw CLIError("give one period: --day, --week, --month, --quarter, or --from with --to",
                           zh: "只能给出一个期间：--day、--week、--month、--quarter，或 --from 与 --to")
        }
        func date(_ s: String, _ what: String) throws -> CivilDate {
            guard let d = CivilDate(s) else { throw CLIError("\(what) '\(s)' is not a day; write it as 2026-10-03", zh: "\(what) “\(s)”不是日期；请写成2026-10-03的形式") }
            return d
        }
        if let day { return .day(try date(day, "--day")) }
        if let week { return .week(try date(week, "--week")) }
        if let month {
            guard let m = Month(month) else { throw CLIError("--month '\(month)' is not a month; write it as 2026-10", zh: "--month “\(month)”不是月份；请写成2026-10的形式") }
            return .month(m)
        }
        if let quarter {
            guard let q = Period.quarter(quarter) else { throw CLIError("--quarter '\(quarter)' is not a quarter; write it as 2026Q4", zh: "--quarter “\(quarter)”不是季度；请写成2026Q4的形式") }
            return q
        }
        if from != nil || to != nil {
            guard let from, let to else {
                throw CLIError("a range needs both --from and --to (2026-10-01, 2026-12-31)", zh: "日期范围须同时给出 --from 和 --to（如2026-10-01、2026-12-31）")
            }
            let a = try date(from, "--from"), b = try date(to, "--to")
            guard a <= b else { throw CLIError("--from \(from) is after --to \(to)", zh: "--from \(from) 晚于 --to \(to)") }
            guard b.daysSince1970 - a.daysSince1970 < 3660 else { throw CLIError("a range is at most ten years", zh: "日期范围最长为十年") }
            return Period(kind: .range, first: a, last: b)
        }
        return fallback ?? .month(calendar.date(now).monthOfYear)
    }
}

/// `--month 2026-10`, last month (office time) when not given: the month a monthly report is on.
struct ReportMonth: ParsableArguments {
    @Option(help: ArgumentHelp(L("The month reported on (2026-10; default: last month).", zh: "报告所属月份（如2026-10；默认为上月）。"))) var month: String?

    func month(_ calendar: OfficeCalendar, now: Int64) throws -> Month {
        guard let month else { return calendar.date(now).monthOfYear.previous }
        guard let m = Month(month) else { throw CLIError("'\(month)' is not a month; write it as 2026-10", zh: "“\(month)”不是月份；请写成2026-10的形式") }
        return m
    }
}

/// A replica opened for the office's work (a node's, or the hub's file): its organisation, and
/// its office index brought up to date.
struct OfficeContext {
    let replica: Replica
    let org: Organisation
    let index: OfficeIndex
    let language: Language
    let now: Int64

    var calendar: OfficeCalendar { org.settings.calendar }

    /// The units whose monthly reports this replica can judge: all at the hub and on an
    /// office-level node, only its own on a field unit's node (it holds no other unit's reports).
    var requiredUnits: [String] {
        guard replica.role == .node, let info = try? replica.info(), let user = try? replica.attribute("user"),
              !(org.users[user].map { Role.isOfficeLevel($0.roles) } ?? false) else { return Statistics.requiredUnits(org) }
        return Statistics.requiredUnits(org).filter { $0 == info.unit }
    }

    func statistics(_ period: Period) throws -> Statistics {
        try index.statistics(period, org: org, now: now, requiredUnits: requiredUnits)
    }

    static func open(_ options: ReplicaOptions) throws -> OfficeContext {
        let language = processLanguage
        let path = try options.path()
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError("no replica at \(path); create a node with `yuqing node init`, or give the hub's database",
                           zh: "\(path)处没有副本；请用 `yuqing node init` 创建节点，或给出中心数据库")
        }
        guard ReplicaFile.isWritable(path) else {
            throw CLIError("\(path) cannot be written by this user; the office's index is kept in the replica's file: run as its owner",
                           zh: "当前用户不能写入\(path)；舆情办的索引保存在副本文件中：请以该文件所有者的身份运行")
        }
        let replica = try Replica.open(at: path, schema: CaseSchema.schema)
        let org = Organisation(try replica.views(kinds: Organisation.kinds))
        let index = OfficeIndex(replica)
        let started = Date()
        let result = try index.refresh { done, total in
            if total >= 20_000 { warn(language == .zh ? "正在建立索引：\(done)/\(total)" : "indexing: \(done) of \(total) records") }
        }
        if result.rebuilt, result.records > 0, Date().timeIntervalSince(started) > 2 {
            let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
            warn(language == .zh ? "已为\(result.records)条记录建立索引，用时\(seconds)秒（仅此一次，之后只读取变化）"
                 : "indexed \(result.records) records in \(seconds) s (once; later runs read only what changed)")
        }
        return OfficeContext(replica: replica, org: org, index: index, language: language, now: Int64(Date().timeIntervalSince1970 * 1000))
    }
}

/// `--csv FILE` and `--xlsx FILE`.
struct ExportFiles: ParsableArguments {
    @Option(help: ArgumentHelp(L("Write a CSV file (UTF-8 with a BOM, opens in Excel).", zh: "写入CSV文件（带BOM的UTF-8，可用Excel打开）。"), valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp(L("Write an Excel workbook (.xlsx).", zh: "写入Excel工作簿（.xlsx）。"), valueName: "file")) var xlsx: String?

    var any: Bool { csv != nil || xlsx != nil }

    /// Writes the first table as CSV, all of them as XLSX sheets; says where.
    func write(_ tables: [Table], language: Language) throws {
        if let csv, let first = tables.first { try Self.save(CSV.data(first), to: csv, rows: first.rows.count, language: language) }
        if let xlsx {
            let data: Data
            do { data = try XLSX.data(tables) } catch { throw CLIError("the workbook could not be made: \(error)", zh: "无法生成工作簿：\(error)") }
            try Self.save(data, to: xlsx, rows: tables.reduce(0) { $0 + $1.rows.count }, language: language)
        }
    }

    /// Writes `data` through a temporary file renamed into place, so a failed write leaves no half file.
    static func save(_ data: Data, to path: String, rows: Int? = nil, language l: Language) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: dir.isEmpty ? "." : dir) else {
            throw CLIError("the folder \(dir) does not exist; create it or write elsewhere", zh: "文件夹\(dir)不存在；请先创建，或写到其他位置")
        }
        do { try data.write(to: url, options: .atomic) } catch {
            throw CLIError("\(path) could not be written (\(error.localizedDescription)); check the folder's permissions and free space",
                           zh: "无法写入\(path)（\(error.localizedDescription)）；请检查文件夹权限和剩余空间")
        }
        say(l == .zh ? "已写入\(path)" + (rows.map { "（\($0)行）" } ?? "") : "wrote \(path)" + (rows.map { " (\($0) rows)" } ?? ""))
    }
}
