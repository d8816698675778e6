import Foundation
import GRDB
import YuqingCases
import YuqingCore

/// A search: text (any length, Chinese or not; words separated by spaces must all appear) and
/// filters. Filters on a case's level, category, status or deadlines leave reports out.
public struct SearchQuery: Sendable, Hashable {
    public var text: String
    public var level: String?
    public var category: Int?
    public var status: CaseStatus?
    /// Cases that concern this unit (any role in them), and its reports.
    public var unit: String?
    /// Discovered (cases, replies) or filed (reports) within, inclusive.
    public var from: Int64?
    public var to: Int64?
    /// Only cases with a deadline unmet and past.
    public var overdue = false
    /// `case`, `reply`, `report`; empty for all.
    public var kinds: Set<String> = []
    public var limit = 50

    public init(text: String) { self.text = text }

    var filtersCases: Bool { level != nil || category != nil || status != nil || overdue }
}

/// One thing found.
public struct SearchHit: Sendable, Hashable {
    /// `case`, `reply` or `report`.
    public var kind: String
    public var record: String
    /// The reply's draft id.
    public var element: String
    public var title: String
    /// The matched text around the first term found.
    public var snippet: String
    public var at: Int64
    public var unit: String
    public var status: CaseStatus?
    public var level: String?
}

extension OfficeIndex {
    /// Searches the index (bring it up to date with ``refresh()`` first). Newest first.
    public func search(_ q: SearchQuery, now: Int64) throws -> [SearchHit] {
        let terms = try Self.terms(q.text)
        guard !terms.isEmpty else { throw OfficeError(.input, "give something to search for", zh: "请输入要搜索的内容") }
        var args: [any DatabaseValueConvertible] = []
        // The outer loop reads one FTS table newest document first; the other terms narrow it.
        let from = Self.matching(terms, &args)
        var conditions: [String] = []
        if !q.kinds.isEmpty {
            conditions.append("d.kind IN (\(q.kinds.map { _ in "?" }.joined(separator: ", ")))")
            args += q.kinds.sorted().map { $0 as any DatabaseValueConvertible }
        }
        if q.filtersCases { conditions.append("d.kind IN ('case', 'reply')") }
        if let level = q.level { conditions.append("c.level = ?"); args.append(level) }
        if let category = q.category { conditions.append("c.category = ?"); args.append(category) }
        if let status = q.status { conditions.append("c.status = ?"); args.append(status.rawValue) }
        if q.overdue { conditions.append("c.next_due < ?"); args.append(now) }
        if let unit = q.unit {
            conditions.append("((d.kind = 'report' AND d.unit = ?) OR (d.kind <> 'report' AND EXISTS (SELECT 1 FROM office_case_scope s WHERE s.unit = ? AND s.record = d.record)))")
            args += [unit, unit]
        }
        if let f = q.from { conditions.append("d.at >= ?"); args.append(f) }
        if let t = q.to { conditions.append("d.at <= ?"); args.append(t) }
        args.append(max(1, min(q.limit, 10_000)))
        let sql = """
            SELECT d.kind, d.record, d.elem, d.title, d.body, d.at, d.unit, c.status, c.level
            FROM (\(from) ORDER BY rowid DESC) m
            JOIN office_doc d ON d.id = m.id
            LEFT JOIN office_case c ON c.record = d.record AND d.kind <> 'report'
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            LIMIT ?
            """
        do {
            return try db.read { db in
                try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map { row in
                    let body: String = row["body"], title: String = row["title"]
                    return SearchHit(kind: row["kind"], record: row["record"], element: row["elem"], title: title,
                                     snippet: Self.snippet(body.isEmpty ? title : body, terms: terms), at: row["at"], unit: row["unit"],
                                     status: (row["status"] as String?).flatMap(CaseStatus.init), level: row["level"])
                }
            }
        } catch {
            throw OfficeError(.storage, "the search could not be run; `yuqing index rebuild` builds the index again",
                              zh: "无法执行搜索；可运行 `yuqing index rebuild` 重建索引", cause: error)
        }
    }

    /// The documents (`id` rows) that hold every term: terms of three characters or more through
    /// the trigram index, shorter ones as phrases of single characters; the arguments go to `args`.
    static func matching(_ terms: [String], _ args: inout [any DatabaseValueConvertible]) -> String {
        let long = terms.filter { $0.unicodeScalars.count >= 3 }
        let short = terms.filter { $0.unicodeScalars.count < 3 }
        func phrase(_ t: String) -> String { "\"" + t.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        func shortMatch() -> String { short.map { phrase(SearchText.spaced($0).trimmingCharacters(in: .whitespaces)) }.joined(separator: " AND ") }
        if !long.isEmpty {
            var from = "SELECT rowid AS id FROM office_fts WHERE office_fts MATCH ?"
            args.append(long.map(phrase).joined(separator: " AND "))
            if !short.isEmpty {
                from += " AND rowid IN (SELECT rowid FROM office_fts1 WHERE office_fts1 MATCH ?)"
                args.append(shortMatch())
            }
            return from
        }
        args.append(shortMatch())
        return "SELECT rowid AS id FROM office_fts1 WHERE office_fts1 MATCH ?"
    }

    /// Search terms as ``search(_:now:)`` reads them, or an error for an over-long one.
    static func terms(_ text: String) throws -> [String] {
        // Control characters (a NUL ends an FTS query early) are no part of any text searched.
        let text = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.properties.generalCategory != .control }))
        let terms = text.split(whereSeparator: { $0.isWhitespace }).map { String($0).lowercased() }
        guard terms.allSatisfy({ $0.unicodeScalars.count <= 200 }) else {
            throw OfficeError(.input, "a search term is at most 200 characters", zh: "每个搜索词最多 200 个字符")
        }
        return terms
    }

    /// Up to 60 characters of `text` around the first term it holds, on one line.
    static func snippet(_ text: String, terms: [String]) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        let lower = flat.lowercased()
        let chars = Array(flat)
        var at = 0
        for t in terms {
            if let r = lower.range(of: t) { at = lower.distance(from: lower.startIndex, to: r.lowerBound); break }
        }
        // Lowercasing can change lengths outside Chinese and ASCII; clamp.
        at = min(at, chars.count)
        let start = max(0, at - 20), end = min(chars.count, start + 60)
        return (start > 0 ? "…" : "") + String(chars[start..<end]) + (end < chars.count ? "…" : "")
    }

    /// The cases whose statistics may fall in `times`: discovered, due or acted on in it.
    public func caseSummaries(touching times: ClosedRange<Int64>) throws -> [CaseSummary] {
        try db.read { db in
            let rows = try Data.fetchAll(db, sql: """
                SELECT summary FROM office_case WHERE record IN (SELECT record FROM office_event WHERE at BETWEEN ? AND ?)
                """, arguments: [times.lowerBound, times.upperBound])
            let decoder = JSONDecoder()
            return try rows.map { try decoder.decode(CaseSummary.self, from: $0) }
        }
    }

    /// The cases discovered in `times` (all when nil), oldest first; filtered by unit concerned.
    public func cases(discovered times: ClosedRange<Int64>?, unit: String? = nil) throws -> [CaseSummary] {
        try db.read { db in
            var sql = "SELECT summary FROM office_case c"
            var conditions: [String] = []
            var args: [any DatabaseValueConvertible] = []
            if let times { conditions.append("c.discovered_at BETWEEN ? AND ?"); args += [times.lowerBound, times.upperBound] }
            if let unit { conditions.append("EXISTS (SELECT 1 FROM office_case_scope s WHERE s.unit = ? AND s.record = c.record)"); args.append(unit) }
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            sql += " ORDER BY c.discovered_at, c.record"
            let decoder = JSONDecoder()
            return try Data.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map { try decoder.decode(CaseSummary.self, from: $0) }
        }
    }

    /// The routine reports on the days and months of `period` (monthly reports of each month it
    /// touches, daily forms of each day in it).
    public func reports(for period: Period) throws -> [ReportSummary] {
        try db.read { db in
            let months = period.months.map(\.description)
            let rows = try Data.fetchAll(db, sql: """
                SELECT summary FROM office_report
                WHERE (form = 'monthly' AND period IN (\(months.map { _ in "?" }.joined(separator: ", "))))
                   OR (form = 'daily' AND period BETWEEN ? AND ?)
                ORDER BY period, unit, form
                """, arguments: StatementArguments(months + [period.first.description, period.last.description]))
            let decoder = JSONDecoder()
            return try rows.map { try decoder.decode(ReportSummary.self, from: $0) }
        }
    }

    /// The statistics of `period` for everything this replica holds (a node: its scope; the hub:
    /// everyone). Bring the index up to date first.
    /// `requiredUnits` are the units whose monthly reports are counted: a field unit's node
    /// holds only its own (default: every unit below the top of the tree).
    public func statistics(_ period: Period, org: Organisation, now: Int64, requiredUnits: [String]? = nil) throws -> Statistics {
        let calendar = org.settings.calendar
        let cases = try caseSummaries(touching: calendar.times(period))
        let reports = try reports(for: period)
        return Statistics.compute(cases: cases, reports: reports, requiredUnits: requiredUnits ?? Statistics.requiredUnits(org), period: period,
                                  calendar: calendar, now: now)
    }
}
