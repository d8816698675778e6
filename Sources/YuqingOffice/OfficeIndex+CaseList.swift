import Foundation
import GRDB
import YuqingCases
import YuqingCore

/// A page of the case list: filters as ``SearchQuery`` has them, newest discovered first.
public struct CaseListQuery: Sendable, Hashable {
    /// Words that must all appear in the case or its replies (empty: every case).
    public var text = ""
    public var level: String?
    public var category: Int?
    public var status: CaseStatus?
    /// Cases this unit may see (any role in them).
    public var unit: String?
    /// Only cases with a deadline unmet and past.
    public var overdue = false
    /// Cases not archived (the dashboard's open cases).
    public var openOnly = false
    public var offset = 0
    public var limit = 50

    public init() {}
}

/// One row of the case list.
public struct CaseListRow: Sendable, Hashable {
    public var summary: CaseSummary
    /// The earliest deadline not met, if any.
    public var nextDue: Int64?
}

extension OfficeIndex {
    /// One page of cases and how many match in all. Bring the index up to date first.
    public func caseList(_ q: CaseListQuery, now: Int64) throws -> (rows: [CaseListRow], total: Int) {
        var args: [any DatabaseValueConvertible] = []
        var conditions = ["c.linked = 0"]
        let terms = try Self.terms(q.text)
        if !terms.isEmpty {
            conditions.append("c.record IN (SELECT d.record FROM office_doc d WHERE d.kind IN ('case', 'reply') AND d.id IN (\(Self.matching(terms, &args))))")
        }
        if let level = q.level { conditions.append("c.level = ?"); args.append(level) }
        if let category = q.category { conditions.append("c.category = ?"); args.append(category) }
        if let status = q.status { conditions.append("c.status = ?"); args.append(status.rawValue) }
        if q.openOnly { conditions.append("c.status <> 'archived'") }
        if q.overdue { conditions.append("c.next_due < ?"); args.append(now) }
        var from = "office_case c"
        if let unit = q.unit {
            // Driven from the unit's scope: a unit sees a small part of the hub's cases.
            from = "office_case_scope s JOIN office_case c ON c.record = s.record"
            conditions.append("s.unit = ?")
            args.append(unit)
        }
        let whereClause = "WHERE " + conditions.joined(separator: " AND ")
        do {
            return try db.read { db in
                let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(from) \(whereClause)", arguments: StatementArguments(args)) ?? 0
                let page = args + [max(1, min(q.limit, 1000)), max(0, q.offset)]
                let decoder = JSONDecoder()
                let rows = try Row.fetchAll(db, sql: """
                    SELECT c.summary, c.next_due FROM \(from) \(whereClause)
                    ORDER BY c.discovered_at DESC, c.record LIMIT ? OFFSET ?
                    """, arguments: StatementArguments(page)).map { row in
                    CaseListRow(summary: try decoder.decode(CaseSummary.self, from: row["summary"] as Data), nextDue: row["next_due"])
                }
                return (rows, total)
            }
        } catch let e as OfficeError { throw e } catch {
            throw OfficeError(.storage, "the case list could not be read; `yuqing index rebuild` builds the index again",
                              zh: "无法读取案件列表；可运行 `yuqing index rebuild` 重建索引", cause: error)
        }
    }

    /// Open (not archived) cases by level, for what `unit` may see (nil: all).
    public func openCasesByLevel(unit: String?) throws -> [String: Int] {
        var sql = "SELECT coalesce(c.level, '') AS level, count(*) AS n FROM office_case c WHERE c.linked = 0 AND c.status <> 'archived'"
        var args: [any DatabaseValueConvertible] = []
        if let unit {
            sql = "SELECT coalesce(c.level, '') AS level, count(*) AS n FROM office_case_scope s JOIN office_case c ON c.record = s.record WHERE s.unit = ? AND c.linked = 0 AND c.status <> 'archived'"
            args.append(unit)
        }
        sql += " GROUP BY 1"
        return try db.read { db in
            Dictionary(try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map { ($0["level"], $0["n"]) }, uniquingKeysWith: +)
        }
    }

    /// Cases whose earliest unmet deadline is before `before`, soonest first (overdue ones first).
    public func casesDue(before: Int64, unit: String?, limit: Int) throws -> [CaseListRow] {
        var sql = "SELECT c.summary, c.next_due FROM office_case c WHERE c.linked = 0 AND c.next_due IS NOT NULL AND c.next_due < ?"
        var args: [any DatabaseValueConvertible] = [before]
        if let unit {
            sql = "SELECT c.summary, c.next_due FROM office_case_scope s JOIN office_case c ON c.record = s.record WHERE s.unit = ? AND c.linked = 0 AND c.next_due IS NOT NULL AND c.next_due < ?"
            args = [unit, before]
        }
        sql += " ORDER BY c.next_due LIMIT ?"
        args.append(limit)
        let decoder = JSONDecoder()
        return try db.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map { row in
                CaseListRow(summary: try decoder.decode(CaseSummary.self, from: row["summary"] as Data), nextDue: row["next_due"])
            }
        }
    }
}
