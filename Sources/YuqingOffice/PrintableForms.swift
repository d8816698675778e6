import Foundation
import YuqingCases
import YuqingCore

/// The printable forms (`domain.md` §5): the handling record (处置情况登记表) of a case and a
/// unit's monthly report (月报告), as self-contained HTML pages laid out for A4 paper, with no
/// asset from anywhere: open in a browser and print.
public enum PrintableForms {
    /// The handling record of a case: what was found, how it was assessed and assigned, every
    /// step with who took it and when, the replies and the deadlines.
    public static func handlingRecord(_ file: CaseFile, org: Organisation, language l: Language, now: Int64) -> String {
        let cal = org.settings.calendar
        let scheme = org.settings.levelScheme
        func unit(_ id: String?) -> String { id.map { org.units[$0]?.name ?? $0 } ?? "" }
        let title = l == .zh ? "网络舆情处置情况登记表" : "Handling record of an online public-opinion case"
        var rows: [(String, String)] = [
            (l(.caseID), file.id), (l(.title), file.title), (l(.summary), file.text(CaseSchema.Field.summary) ?? ""),
            (l(.excerpt), file.text(CaseSchema.Field.excerpt) ?? ""), (l(.platform), l.platform(file.text(CaseSchema.Field.platform))),
            (l(.site), file.text(CaseSchema.Field.site) ?? ""), (l(.url), file.text(CaseSchema.Field.url) ?? ""),
            (l(.poster), file.text(CaseSchema.Field.poster) ?? ""),
            (l(.discovered), file.discoveredAt.map(cal.show) ?? ""),
            (l == .zh ? "发现人" : "found by", file.text(CaseSchema.Field.discoveredBy) ?? ""),
            (l(.unit), unit(file.unit)), (l(.category), l.category(file.category?.rawValue)), (l(.level), l.level(file.level, scheme: scheme)),
            (l(.leadUnit), unit(file.leadUnit)), (l == .zh ? "协办单位" : "co-units", file.coUnits.map(unit).joined(separator: "、")),
            (l(.keywords), file.keywords.joined(separator: "、")), (l(.status), l.status(file.state.status)),
        ]
        rows = rows.filter { !$0.1.isEmpty }
        var html = head(title, l)
        html += "<h1>\(esc(title))</h1>\n<table class=\"fields\">\n"
        for (k, v) in rows { html += "<tr><th>\(esc(k))</th><td>\(esc(v))</td></tr>\n" }
        html += "</table>\n<h2>\(esc(l == .zh ? "办理过程" : "Steps"))</h2>\n<table class=\"list\">\n"
        html += "<tr><th>\(esc(l(.at)))</th><th>\(esc(l(.step)))</th><th>\(esc(l(.by)))</th><th>\(esc(l(.text)))</th></tr>\n"
        for e in file.entries {
            let s = e.step
            var text = s.text ?? ""
            if let lead = s.lead { text = "\(l(.leadUnit)): \(unit(lead)) " + text }
            if let link = s.link { text += " \(link)" }
            let name = l == .zh ? s.kind.chinese : s.kind.rawValue
            html += "<tr><td>\(esc(cal.show(s.at)))</td><td>\(esc(name))</td><td>\(esc("\(s.by) (\(unit(s.unit)))"))</td><td>\(esc(text))</td></tr>\n"
        }
        html += "</table>\n"
        let items = Deadlines.items(file, now: now)
        if !items.isEmpty {
            html += "<h2>\(esc(l == .zh ? "时限" : "Deadlines"))</h2>\n<table class=\"list\">\n"
            html += "<tr><th>\(esc(l(.clock)))</th><th>\(esc(l(.unit)))</th><th>\(esc(l(.deadline)))</th><th>\(esc(l(.standing)))</th></tr>\n"
            for i in items {
                let standing: Term = switch i.standing {
                case .metOnTime: .onTime
                case .metLate: .late
                case .overdue: .overdue
                case .open: .open
                }
                html += "<tr><td>\(esc(l.clock(i.clock)))</td><td>\(esc(unit(i.unit)))</td><td>\(esc(cal.show(i.due)))</td><td>\(esc(l(standing)))</td></tr>\n"
            }
            html += "</table>\n"
        }
        if !file.state.replies.isEmpty {
            html += "<h2>\(esc(l(.reply)))</h2>\n"
            for r in file.state.replies {
                html += "<div class=\"reply\"><p class=\"meta\">\(esc("\(unit(r.unit)) · \(r.stage.rawValue)" + (r.link.map { " · \($0)" } ?? "")))</p><p>\(esc(r.text))</p></div>\n"
            }
        }
        html += signatures(l)
        html += "<p class=\"foot\">\(esc(l(.generated))): \(esc(cal.show(now)))</p>\n</body>\n</html>\n"
        return html
    }

    /// A unit's monthly report on `month`: what it filed (or that it filed nothing) and its
    /// month's figures from the statistics.
    public static func monthlyReport(unit: String, month: Month, report: ReportSummary?, statistics s: Statistics,
                                     org: Organisation, language l: Language, now: Int64) -> String {
        let cal = org.settings.calendar
        let name = org.units[unit]?.name ?? unit
        let title = l == .zh ? "网络舆情工作月报告" : "Monthly report on online public opinion"
        let row = s.units.first { $0.unit == unit } ?? Statistics.Row(unit: unit)
        let deadline = cal.monthlyReportDeadline(month)
        var rows: [(String, String)] = [
            (l(.unit), name), (l(.month), month.description), (l(.deadline), cal.show(deadline)),
            (l(.filedAt), report.map { cal.show($0.filedAt) } ?? (l == .zh ? "未报送" : "not filed")),
            (l(.zeroReport), report.map { $0.zero ? l(.yes) : l(.no) } ?? ""),
            (l(.filedBy), report?.latest.by ?? ""),
            (l(.casesFound), report?.latest.cases.map(String.init) ?? (report?.zero == true ? "0" : "")),
            (l(.text), report?.latest.text ?? ""),
        ]
        rows = rows.filter { !$0.1.isEmpty }
        var html = head(title, l)
        html += "<h1>\(esc(title))</h1>\n<table class=\"fields\">\n"
        for (k, v) in rows { html += "<tr><th>\(esc(k))</th><td>\(esc(v))</td></tr>\n" }
        html += "</table>\n<h2>\(esc(l == .zh ? "本月统计" : "The month's figures"))</h2>\n<table class=\"fields\">\n"
        let figures: [(Term, String)] = [
            (.cases, String(row.cases)), (.onTimeRate, l.percent(row.allClocks.rate)), (.overdue, String(row.overdue)),
            (.urged, String(row.urged)), (.noticed, String(row.noticed)), (.repliesPublished, String(row.repliesPublished)),
            (.lateReports, String(row.lateReports)), (.missedReports, String(row.missedReports)), (.concealedReports, String(row.concealedReports)),
            (.dailyFiled, String(row.dailyFiled)),
        ]
        for (k, v) in figures { html += "<tr><th>\(esc(l(k)))</th><td>\(esc(v))</td></tr>\n" }
        html += "</table>\n"
        html += signatures(l)
        html += "<p class=\"foot\">\(esc(l(.generated))): \(esc(cal.show(now)))</p>\n</body>\n</html>\n"
        return html
    }

    static func signatures(_ l: Language) -> String {
        let who = l == .zh ? ["填报人", "单位负责人（签字）", "日期"] : ["Filled in by", "Unit head (signature)", "Date"]
        return "<table class=\"sign\"><tr>" + who.map { "<td>\(esc($0))：</td>" }.joined() + "</tr></table>\n"
    }

    static func head(_ title: String, _ l: Language) -> String {
        """
        <!DOCTYPE html>
        <html lang="\(l == .zh ? "zh-Hans" : "en")">
        <head>
        <meta charset="utf-8">
        <title>\(esc(title))</title>
        <style>
        @page { size: A4; margin: 18mm 15mm; }
        body { font-family: "Noto Serif CJK SC", "Source Han Serif SC", SimSun, serif; font-size: 11pt; color: #000; max-width: 180mm; margin: auto; }
        h1 { text-align: center; font-size: 18pt; letter-spacing: 0.1em; }
        h2 { font-size: 13pt; margin-top: 1.2em; }
        table { width: 100%; border-collapse: collapse; }
        th, td { border: 1px solid #000; padding: 4px 6px; vertical-align: top; text-align: left; white-space: pre-wrap; }
        table.fields th { width: 28%; background: #f2f2f2; }
        table.list th { background: #f2f2f2; }
        table.sign td { border: none; padding-top: 2em; width: 33%; }
        .reply { border: 1px solid #000; padding: 4px 8px; margin: 6px 0; page-break-inside: avoid; }
        .meta { color: #333; font-size: 9pt; margin: 0; }
        .foot { font-size: 8pt; color: #555; text-align: right; }
        tr { page-break-inside: avoid; }
        </style>
        </head>
        <body>

        """
    }

    /// Escapes text for HTML: the workbook's XML escaping (``XLSX/escaped(_:)``), which also
    /// drops the characters a document may not hold. Attributes here are quoted with `"`.
    public static func esc(_ s: String) -> String { XLSX.escaped(s) }
}
