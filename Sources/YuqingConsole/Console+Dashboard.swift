import Foundation
import Hummingbird
import YuqingCases
import YuqingCore
import YuqingOffice

extension Console {
    /// The office's index, brought up to date with what the hub merged since it last looked.
    func freshIndex() async throws -> OfficeIndex {
        let index = self.index
        _ = try await replica.offload { _ in try index.refresh() }
        return index
    }

    func dashboard(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let v = try await viewer(request, context)
        let l = v.language, now = v.now
        let index = try await freshIndex()
        let scope: String? = v.seesAll ? nil : v.user.unit
        let soon = now + 24 * 3_600_000
        let (byLevel, due) = try await replica.offload { _ in
            (try index.openCasesByLevel(unit: scope), try index.casesDue(before: soon, unit: scope, limit: 40))
        }
        let scheme = v.org.settings.levelScheme
        let levels = byLevel.sorted { ($0.key.isEmpty ? "~" : $0.key) < ($1.key.isEmpty ? "~" : $1.key) }.map { key, n -> [String: Any] in
            ["level": key.isEmpty ? l.t("not graded", "未定级") : l.level(key, scheme: scheme), "count": n,
             "href": "/console/cases?open=1&level=\(key.isEmpty ? "none" : key)"]
        }
        let rows = due.map { caseRow($0, v) }
        var data: [String: Any] = [
            "levels": levels, "open_total": byLevel.values.reduce(0, +),
            "overdue": rows.filter { ($0["overdue"] as? Bool) == true }, "due_soon": rows.filter { ($0["overdue"] as? Bool) != true },
        ]
        if v.seesAll {
            let conflicts = try await hub.openConflictCount()
            data["conflicts"] = ["count": conflicts, "link": v.isOperator, "warn": conflicts > 0]
            data["stale"] = try await staleUnits(v)
            data["stale_hours"] = Int(configuration.staleAfter.components.seconds / 3600)
            data["compliance"] = try await compliance(v, index)
        }
        return page(v, language: l, title: l.t("Dashboard", "工作台"), template: "dashboard", data: data, path: "/console/dashboard")
    }

    /// A row of a case table.
    func caseRow(_ row: CaseListRow, _ v: Viewer) -> [String: Any] {
        let l = v.language, s = row.summary
        let scheme = v.org.settings.levelScheme
        return ["id": s.id, "title": s.title, "href": "/console/cases/\(s.id)", "unit": v.unitName(s.unit),
                "lead": s.lead.map(v.unitName) ?? "-", "level": l.level(s.level, scheme: scheme), "category": l.category(s.category),
                "status": l.status(s.status), "discovered": v.time(s.discoveredAt), "due": v.time(row.nextDue),
                "overdue": row.nextDue.map { $0 < v.now } ?? false]
    }

    /// Units none of whose devices reached the hub within `staleAfter` (or never).
    func staleUnits(_ v: Viewer) async throws -> [[String: Any]] {
        let seen = try await accounts.lastSeen()
        let devices = try await replica.offload { r in try r.views(kinds: [CaseSchema.Kind.device]).compactMap(Device.init) }
        var last: [String: Int64] = [:]
        var enrolled: Set<String> = []
        for d in devices where !d.isRevoked {
            enrolled.insert(d.unit)
            if let t = seen[d.id] { last[d.unit] = max(last[d.unit] ?? 0, t) }
        }
        let limit = v.now - Int64(configuration.staleAfter.components.seconds) * 1000
        return Statistics.requiredUnits(v.org).filter { (last[$0] ?? 0) < limit }.map { unit -> [String: Any] in
            ["unit": v.unitName(unit), "last": last[unit].map(v.time) ?? (enrolled.contains(unit)
                ? v.language.t("never since the console started counting", "自控制台开始记录以来从未同步")
                : v.language.t("no device enrolled", "尚无已注册的设备"))]
        }
    }

    /// This month's zero-report compliance: the monthly reports on last month, due now.
    func compliance(_ v: Viewer, _ index: OfficeIndex) async throws -> [String: Any] {
        let calendar = v.org.settings.calendar
        let month = calendar.date(v.now).monthOfYear.previous
        let org = v.org, now = v.now
        let stats = try await replica.offload { _ in
            Statistics.compute(cases: [], reports: try index.reports(for: .month(month)), requiredUnits: Statistics.requiredUnits(org),
                               period: .month(month), calendar: calendar, now: now)
        }
        let l = v.language
        func standing(_ s: Statistics.MonthlyStanding.Standing) -> String {
            switch s {
            case .onTime: l.t("on time", "按时")
            case .late: l.t("late", "迟报")
            case .missing: l.t("missing", "漏报")
            case .pending: l.t("not yet filed", "尚未报送")
            }
        }
        let rows = stats.monthly.map { m -> [String: Any] in
            ["unit": v.unitName(m.unit), "standing": standing(m.standing), "filed": v.time(m.filedAt), "deadline": v.time(m.deadline),
             "zero": m.zero == true ? l.t("zero report", "零报告") : "", "bad": m.standing == .late || m.standing == .missing]
        }
        let filed = stats.monthly.filter { $0.standing == .onTime || $0.standing == .late }.count
        return ["month": month.description, "rows": rows, "filed": filed, "required": stats.monthly.count]
    }
}
