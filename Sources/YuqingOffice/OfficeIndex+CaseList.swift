import Foundation
import GRDB
import YuqingCases
import YuqingCore

/// A page of the case list: filters as ``SearchQuery`` has them, newest discovered first.
public struct CaseListQuery: Sendable, Hashable {
    /// Words that must all appear in the case or its replies (empty: every case).
    public var text = ""
    public var level: String?
    /// Only cases not graded yet (no level).
    public var ungraded = false
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

/// A page of the case list, and how many cases match (counted up to a bound).
public struct CaseListPage: Sendable, Hashable {
    public var rows: [CaseListRow]
    /// How many match; at least this many when ``capped``.
    public var total: Int
    /// More match than were counted (the count stops at ``OfficeIndex/listCountCap``, or
    /// ``OfficeIndex/searchCountCap`` for a search).
    public var capped: Bool

    public init(rows: [CaseListRow], total: Int, capped: Bool) {
        (self.rows, self.total, self.capped) = (rows, total, capped)
    }
}

extension OfficeIndex {
    /// Matches are counted up to this many: enough to page through, bounded in cost.
    public static let listCountCap = 10_000
    public static let searchCountCap = 1_000

    /// One page of cases, newest discovered first (with `overdue`, most overdue first; a search,
    /// most recently written first), and how many match. Bring the index up to date first.
    ///
    /// The cost follows the page, not the hub: rows are found through indexes that hold the
    /// filters and the order, the page's rows are read by row id after, and the count stops at
    /// a bound.
    public func caseList(_ q: CaseListQuery, now: Int64) throws -> CaseListPage {
        let terms = try Self.terms(q.text)
        do {
            return try db.read { db in terms.isEmpty ? try listed(db, q, now: now) : try searched(db, q, terms, now: now) }
        } catch let e as OfficeError { throw e } catch {
            throw OfficeError(.storage, "the case list could not be read; `yuqing index rebuild` builds the index again",
                              zh: "无法读取案件列表；可运行 `yuqing index rebuild` 重建索引", cause: error)
        }
    }

    /// The filters other than text, as SQL on `c` (office_case) and, for a unit, `s` (its scope).
    /// `scoped`: the rows are driven from the unit's scope (a list); otherwise the unit is a
    /// condition on each case (a search, driven from the matches).
    static func listFilters(_ q: CaseListQuery, now: Int64, scoped: Bool = true, _ args: inout [any DatabaseValueConvertible]) -> (from: String, conditions: [String]) {
        var conditions: [String] = []
        var from = "office_case c"
        if let unit = q.unit, !scoped {
            conditions.append("EXISTS (SELECT 1 FROM office_case_scope s WHERE s.unit = ? AND s.record = c.record)")
            args.append(unit)
        } else if let unit = q.unit {
            // Driven from the unit's scope: a unit sees a small part of the hub's cases.
            from = "office_case_scope s JOIN office_case c ON c.record = s.record"
            conditions.append("s.unit = ?")
            args.append(unit)
        }
        if let level = q.level { conditions.append("c.level = ?"); args.append(level) }
        if q.ungraded { conditions.append("c.level IS NULL") }
        if let status = q.status { conditions.append("c.status = ?"); args.append(status.rawValue) }
        conditions.append("c.linked = 0")
        if let category = q.category { conditions.append("c.category = ?"); args.append(category) }
        if q.openOnly { conditions.append("c.status <> 'archived'") }
        if q.overdue { conditions.append("c.next_due < ?"); args.append(now) }
        return (from, conditions)
    }

    /// Without `counting`, the page alone (its `total` is then its own length).
    func listed(_ db: Database, _ q: CaseListQuery, now: Int64, counting: Bool = true) throws -> CaseListPage {
        var args: [any DatabaseValueConvertible] = []
        let (from, conditions) = Self.listFilters(q, now: now, &args)
        let whereClause = "WHERE " + conditions.joined(separator: " AND ")
        let order = q.overdue ? "c.next_due, c.rowid" : "c.discovered_at DESC, c.rowid DESC"
        let counted = counting ? try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT 1 FROM \(from) \(whereClause) LIMIT ?)",
                                                  arguments: StatementArguments(args + [Self.listCountCap + 1])) ?? 0 : 0
        let page = args + [max(1, min(q.limit, 1000)), max(0, q.offset)]
        let decoder = JSONDecoder()
        let rows = try Row.fetchAll(db, sql: """
            SELECT c.summary, c.next_due FROM office_case c WHERE c.rowid IN (SELECT c.rowid FROM \(from) \(whereClause) ORDER BY \(order) LIMIT ? OFFSET ?)
            ORDER BY \(order)
            """, arguments: StatementArguments(page)).map { row in
            CaseListRow(summary: try decoder.decode(CaseSummary.self, from: row["summary"] as Data), nextDue: row["next_due"])
        }
        guard counting else { return CaseListPage(rows: rows, total: rows.count, capped: false) }
        return CaseListPage(rows: rows, total: min(counted, Self.listCountCap), capped: counted > Self.listCountCap)
    }

    /// Words to find: the documents that hold them are read newest first, each case once, until
    /// the page is full and the count reaches its bound.
    func searched(_ db: Database, _ q: CaseListQuery, _ terms: [String], now: Int64) throws -> CaseListPage {
        var args: [any DatabaseValueConvertible] = []
        let match = Self.matching(terms, &args)
        let (_, conditions) = Self.listFilters(q, now: now, scoped: false, &args)
        let sql = """
            SELECT c.record, c.summary, c.next_due FROM (\(match) ORDER BY rowid DESC) m
            JOIN office_doc d ON d.id = m.id
            JOIN office_case c ON c.record = d.record
            WHERE d.kind IN ('case', 'reply') AND \(conditions.joined(separator: " AND "))
            ORDER BY m.id DESC
            """
        var seen = Set<String>(), rows: [CaseListRow] = []
        let first = max(0, q.offset), limit = max(1, min(q.limit, 1000))
        let decoder = JSONDecoder()
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
        while let row = try cursor.next() {
            let record: String = row["record"]
            guard seen.insert(record).inserted else { continue }
            if seen.count > first, rows.count < limit {
                rows.append(CaseListRow(summary: try decoder.decode(CaseSummary.self, from: row["summary"] as Data), nextDue: row["next_due"]))
            }
            if seen.count > Self.searchCountCap, rows.count == limit || seen.count > first + limit { break }
        }
        return CaseListPage(rows: rows, total: min(seen.count, Self.searchCountCap), capped: seen.count > Self.searchCountCap)
    }

    /// Open (not archived) cases by level, for what `unit` may see (nil: all).
    public func openCasesByLevel(unit: String?) throws -> [String: Int] {
        var q = CaseListQuery()
        (q.unit, q.openOnly) = (unit, true)
        var args: [any DatabaseValueConvertible] = []
        let (from, conditions) = Self.listFilters(q, now: 0, &args)
        let sql = "SELECT coalesce(c.level, '') AS level, count(*) AS n FROM \(from) WHERE \(conditions.joined(separator: " AND ")) GROUP BY 1"
        return try db.read { db in
            Dictionary(try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map { ($0["level"], $0["n"]) }, uniquingKeysWith: +)
        }
    }

    /// Cases whose earliest unmet deadline is before `before`, soonest first (overdue ones first):
    /// the overdue list, as of `before`.
    public func casesDue(before: Int64, unit: String?, limit: Int) throws -> [CaseListRow] {
        var q = CaseListQuery()
        (q.unit, q.overdue, q.limit) = (unit, true, limit)
        return try db.read { db in try listed(db, q, now: before, counting: false).rows }
    }
}
