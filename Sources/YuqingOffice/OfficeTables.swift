import Foundation
import YuqingCases
import YuqingCore

/// The office's listings as tables, in either language: the same table is printed, written as
/// CSV and as a sheet of an XLSX workbook.
public enum OfficeTables {
    /// The statistics: one row per unit and the total; then the clocks' on-time rates; then each
    /// required unit's monthly reports.
    public static func statistics(_ s: Statistics, org: Organisation, language l: Language) -> [Table] {
        let scheme = org.settings.levelScheme
        let levels = scheme.levels
        func unitName(_ row: Statistics.Row) -> String { row.unit.map { org.units[$0]?.name ?? $0 } ?? l(.total) }
        var header = [l(.unit), l(.cases)]
        header += levels.map { "\(l(.level)) \(l.level($0, scheme: scheme))" }
        header += Category.allCases.map { "\(l(.category)) \($0.rawValue)" }
        header += Platform.allCases.map { l.platform($0.rawValue) }
        header += CaseStatus.allCases.map { l.status($0) }
        header += [l(.onTimeRate), l(.overdue), l(.urged), l(.noticed), l(.repliesPublished), l(.lateReports), l(.missedReports),
                   l(.concealedReports), l(.dailyFiled), l(.zeroCompliance)]
        var rows: [[Cell]] = []
        for row in s.units + [s.total] {
            var r: [Cell] = [.text(unitName(row)), .integer(Int64(row.cases))]
            r += levels.map { .integer(Int64(row.byLevel[$0] ?? 0)) }
            r += Category.allCases.map { .integer(Int64(row.byCategory[String($0.rawValue)] ?? 0)) }
            r += Platform.allCases.map { .integer(Int64(row.byPlatform[$0.rawValue] ?? 0)) }
            r += CaseStatus.allCases.map { .integer(Int64(row.byStatus[$0.rawValue] ?? 0)) }
            r += [.text(l.percent(row.allClocks.rate)), .integer(Int64(row.overdue)), .integer(Int64(row.urged)), .integer(Int64(row.noticed)),
                  .integer(Int64(row.repliesPublished)), .integer(Int64(row.lateReports)), .integer(Int64(row.missedReports)),
                  .integer(Int64(row.concealedReports)), .integer(Int64(row.dailyFiled)), .text(l.percent(row.monthly.rate))]
            rows.append(r)
        }
        let main = Table(name: "\(l(.statistics)) \(s.period.label)", header: header, rows: rows)

        var clockRows: [[Cell]] = []
        for row in s.units + [s.total] {
            for name in Statistics.clockNames {
                guard let t = row.clocks[name], t.decided + t.open > 0 else { continue }
                clockRows.append([.text(unitName(row)), .text(l.clock(name)), .integer(Int64(t.onTime)), .integer(Int64(t.late)),
                                  .integer(Int64(t.missed)), .integer(Int64(t.open)), .text(l.percent(t.rate))])
            }
        }
        let clocks = Table(name: l(.onTimeRate), header: [l(.unit), l(.clock), l(.onTime), l(.late), l(.missed), l(.open), l(.onTimeRate)], rows: clockRows)
        return [main, clocks, monthly(s, org: org, language: l)]
    }

    /// Each required unit's monthly report for each month of the statistics' period.
    public static func monthly(_ s: Statistics, org: Organisation, language l: Language) -> Table {
        let cal = org.settings.calendar
        let rows: [[Cell]] = s.monthly.map { m in
            [.text(org.units[m.unit]?.name ?? m.unit), .text(m.month), .text(cal.show(m.deadline)), .text(m.filedAt.map(cal.show) ?? ""),
             .text(m.zero.map { $0 ? l(.yes) : l(.no) } ?? ""), .text(l.standing(m.standing))]
        }
        return Table(name: l(.monthlyReport), header: [l(.unit), l(.month), l(.deadline), l(.filedAt), l(.zeroReport), l(.standing)], rows: rows)
    }

    /// Cases, one per row.
    public static func cases(_ cases: [CaseSummary], org: Organisation, language l: Language, now: Int64, name: String) -> Table {
        let cal = org.settings.calendar
        let scheme = org.settings.levelScheme
        let rows: [[Cell]] = cases.map { c in
            let overdue = c.clocks.filter { $0.met == nil && now > $0.due }.count
            return [.text(c.id), .text(c.title), .text(org.units[c.unit]?.name ?? c.unit), .text(c.lead.map { org.units[$0]?.name ?? $0 } ?? ""),
                    .text(l.level(c.level, scheme: scheme)), .text(l.category(c.category)), .text(l.platform(c.platform)),
                    .text(l.status(c.status)), .text(cal.show(c.discoveredAt)), .integer(Int64(overdue)),
                    .integer(Int64(c.events.filter { $0.kind == StepKind.publish.rawValue }.count)), .text(c.keywords.joined(separator: "、"))]
        }
        return Table(name: name, header: [l(.caseID), l(.title), l(.unit), l(.leadUnit), l(.level), l(.category), l(.platform), l(.status),
                                          l(.discovered), l(.overdue), l(.repliesPublished), l(.keywords)], rows: rows)
    }

    /// Routine reports, one per row.
    public static func reports(_ reports: [ReportSummary], org: Organisation, language l: Language, name: String) -> Table {
        let cal = org.settings.calendar
        let rows: [[Cell]] = reports.map { r in
            let deadline = r.deadline(cal)
            let late = deadline.map { r.filedAt > $0 } ?? false
            return [.text(org.units[r.unit]?.name ?? r.unit), .text(l.form(r.form)), .text(r.period), .text(cal.show(r.filedAt)),
                    .text(deadline.map(cal.show) ?? ""), .text(late ? l(.late) : l(.onTime)), .text(r.zero ? l(.yes) : l(.no)),
                    r.latest.cases.map { .integer($0) } ?? .empty, r.latest.rounds.map { .integer($0) } ?? .empty,
                    .text(r.latest.by), .text(r.latest.text ?? "")]
        }
        return Table(name: name, header: [l(.unit), l(.form), l(.period), l(.filedAt), l(.deadline), l(.standing), l(.zeroReport),
                                          l(.casesFound), l(.rounds), l(.filedBy), l(.text)], rows: rows)
    }

    /// Search results.
    public static func hits(_ hits: [SearchHit], org: Organisation, language l: Language) -> Table {
        let cal = org.settings.calendar
        let kindName: [String: Term] = ["case": Term("案件", "case"), "reply": .reply, "report": .report]
        func title(_ h: SearchHit) -> String {
            // A report's title is its form and period, in the reader's language.
            let parts = h.record.split(separator: ":", maxSplits: 2).map(String.init)
            guard h.kind == "report", parts.count == 3, let form = ReportForm(rawValue: parts[0]) else { return h.title }
            return "\(l.form(form)) \(parts[1])"
        }
        let rows: [[Cell]] = hits.map { h in
            [.text(kindName[h.kind].map { l($0) } ?? h.kind), .text(h.kind == "reply" ? "\(h.record)/\(h.element)" : h.record), .text(title(h)),
             .text(h.status.map { l.status($0) } ?? ""), .text(l.level(h.level, scheme: org.settings.levelScheme)),
             .text(org.units[h.unit]?.name ?? h.unit), .text(cal.show(h.at)), .text(h.snippet)]
        }
        return Table(name: l(Term("搜索结果", "search")), header: [l(.kind), l(.caseID), l(.title), l(.status), l(.level), l(.unit), l(.at), l(.excerpt)], rows: rows)
    }
}
