import Foundation
import YuqingCore

/// The routine reports of `domain.md` §5: the daily report form (网络舆情日报告表) and the monthly
/// report with the zero-report rule (零报告制度). One record per unit and period
/// (`report/monthly:2026-10:town-a`); each filing is an immutable entry of its `filings` log, so
/// two devices of a unit filing at once make two entries, never a conflict. The first filing
/// counts for the deadline.
public enum ReportForm: String, CaseIterable, Codable, Hashable, Sendable {
    /// 网络舆情日报告表: one per unit and day, due by the end of the day.
    case daily
    /// 月报告: one per unit and month, due within the first days of the next month, also when
    /// there was nothing to report.
    case monthly

    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// One filing of a routine report, stored as JSON in the report's `filings` log.
public struct Filing: Codable, Hashable, Sendable, StoredJSON {
    /// When it was filed, by the filing device's clock (the replicated timestamp is what counts).
    public var at: Int64
    public var by: String
    public var unit: String
    /// A zero report: nothing found in the period (零报告).
    public var zero: Bool
    /// Cases the unit found in the period, as it counts them.
    public var cases: Int64?
    /// Replies it published in the period.
    public var replies: Int64?
    /// Daily form: how many times the unit's monitors watched the sites (at least 3 a day).
    public var rounds: Int64?
    /// What the unit reports, in its words.
    public var text: String?

    public init(at: Int64, by actor: Actor, zero: Bool, cases: Int64? = nil, replies: Int64? = nil, rounds: Int64? = nil, text: String? = nil) {
        self.at = at
        self.by = actor.user
        self.unit = actor.unit
        self.zero = zero
        self.cases = cases
        self.replies = replies
        self.rounds = rounds
        self.text = text
    }
}

/// A routine report as read from its record.
public struct RoutineReport: Hashable, Sendable {
    public var id: String
    public var form: ReportForm
    public var unit: String
    /// `2026-10` for a monthly report, `2026-10-03` for a daily one.
    public var period: String
    /// Every filing, first first; `filedAt` is each one's replicated timestamp (HLC wall time),
    /// which no device clock can move before what it had already seen.
    public var filings: [(id: String, filing: Filing, filedAt: Int64)]

    public static func == (a: RoutineReport, b: RoutineReport) -> Bool {
        a.id == b.id && a.filings.map(\.id) == b.filings.map(\.id)
    }
    public func hash(into h: inout Hasher) { h.combine(id); h.combine(filings.map(\.id)) }

    /// The record id of a unit's report for a period.
    public static func id(_ form: ReportForm, period: String, unit: String) -> String { "\(form.rawValue):\(period):\(unit)" }

    /// Reads a report record; nil when it is not one (or holds no filing yet).
    public init?(_ view: RecordView) {
        guard view.record.kind == CaseSchema.Kind.report,
              let form = view.value(ReportField.form).flatMap({ ReportForm(rawValue: $0.description) }),
              let unit = view.value(ReportField.unit)?.description, let period = view.value(ReportField.period)?.description else { return nil }
        self.id = view.record.id
        self.form = form
        self.unit = unit
        self.period = period
        self.filings = view.entries(ReportField.filings).compactMap { key, sibling in
            guard case .text(let t) = sibling.value, let f = Filing.decode(t) else { return nil }
            return (key.element, f, Int64(clamping: sibling.hlc.wallMillis))
        }.sorted { ($0.filedAt, $0.id) < ($1.filedAt, $1.id) }
        if filings.isEmpty { return nil }
    }

    /// The filing that counts: the first.
    public var first: (id: String, filing: Filing, filedAt: Int64) { filings[0] }
    /// The latest filing: what the unit reports now (a later filing corrects an earlier one).
    public var latest: Filing { filings[filings.count - 1].filing }

    /// What the statistics and listings read of it.
    public var summary: ReportSummary {
        ReportSummary(id: id, form: form, unit: unit, period: period, filedAt: first.filedAt, filings: filings.count, latest: latest)
    }
}

/// A routine report as the statistics read it: when it was first filed, and what it says now.
public struct ReportSummary: Codable, Hashable, Sendable {
    public var id: String
    public var form: ReportForm
    public var unit: String
    public var period: String
    /// The first filing's replicated time: what counts for the deadline.
    public var filedAt: Int64
    public var filings: Int
    /// The latest filing.
    public var latest: Filing

    public var zero: Bool { latest.zero }

    /// The deadline of this report under `calendar`.
    public func deadline(_ calendar: OfficeCalendar) -> Int64? {
        switch form {
        case .monthly: Month(period).map(calendar.monthlyReportDeadline)
        case .daily: CivilDate(period).map(calendar.dailyReportDeadline)
        }
    }
}

/// Field names of a routine report.
public enum ReportField {
    public static let form = "form", unit = "unit", period = "period", filings = "filings"
}

/// The writes that file a routine report.
public enum ReportWrites {
    /// Files `filing` as `form` for `period` (a `Month` or a `CivilDate` in text). A report filed
    /// before (`again`) gains only the new filing: its identity fields are written once.
    public static func file(_ form: ReportForm, period: String, filing: Filing, entryID: String, again: Bool = false) throws(WorkflowError) -> [FieldWrite] {
        switch form {
        case .monthly:
            guard Month(period) != nil else {
                throw WorkflowError(.input, "'\(period)' is not a month; write it as 2026-10", zh: "“\(period)”不是月份；请按 2026-10 的格式填写")
            }
        case .daily:
            guard CivilDate(period) != nil else {
                throw WorkflowError(.input, "'\(period)' is not a day; write it as 2026-10-03", zh: "“\(period)”不是日期；请按 2026-10-03 的格式填写")
            }
        }
        if let error = Identifier.error(filing.unit, what: "unit") { throw error }
        for n in [filing.cases, filing.replies, filing.rounds] where (n ?? 0) < 0 {
            throw WorkflowError(.input, "counts in a report cannot be negative", zh: "报告中的数量不能为负数")
        }
        if filing.zero, (filing.cases ?? 0) > 0 {
            throw WorkflowError(.input, "a zero report says nothing was found: leave out --cases, or file it without --zero",
                                zh: "零报告表示未发现舆情：请去掉 --cases，或不加 --zero 报送")
        }
        let r = RecordRef(kind: CaseSchema.Kind.report, id: RoutineReport.id(form, period: period, unit: filing.unit))
        let entry = FieldWrite(r, FieldKey(ReportField.filings, element: entryID), .text(filing.encoded()))
        if again { return [entry] }
        return [
            FieldWrite(r, FieldKey(ReportField.form), .text(form.rawValue)),
            FieldWrite(r, FieldKey(ReportField.unit), .text(filing.unit)),
            FieldWrite(r, FieldKey(ReportField.period), .text(period)),
            entry,
        ]
    }
}

/// A keyword or topic to watch (关键词、专题监测, `domain.md` §6): office-wide (owner `*`) or a
/// unit's own. Record id `OWNER/WORD`.
public struct Keyword: Hashable, Sendable {
    public var word: String
    /// The unit that watches it, or nil for the whole organisation.
    public var unit: String?
    /// The topic (专题) it belongs to.
    public var topic: String?
    public var active: Bool

    public init(word: String, unit: String?, topic: String?, active: Bool = true) {
        (self.word, self.unit, self.topic, self.active) = (word, unit, topic, active)
    }

    /// The owner written for office-wide keywords.
    public static let everyone = "*"

    public static func id(word: String, unit: String?) -> String { "\(unit ?? everyone)/\(word)" }

    /// The owner a keyword record id names (`*` or a unit), nil when the id is not `OWNER/WORD`.
    public static func owner(ofID id: String) -> String? {
        guard let slash = id.firstIndex(of: "/"), slash != id.startIndex else { return nil }
        return String(id[..<slash])
    }

    public init?(_ view: RecordView) {
        guard view.record.kind == CaseSchema.Kind.keyword, let word = view.value(KeywordField.word)?.description,
              let owner = view.value(KeywordField.owner)?.description else { return nil }
        self.word = word
        self.unit = owner == Self.everyone ? nil : owner
        self.topic = view.value(KeywordField.topic)?.description
        if case .integer(let n)? = view.value(KeywordField.active) { active = n != 0 } else { active = true }
    }

    /// The words of `keywords` (office-wide, and `unit`'s own) that `text` holds, case-insensitively;
    /// a topic's name counts as matched with its words.
    public static func matches(_ text: String, keywords: [Keyword], unit: String) -> [String] {
        let t = text.lowercased()
        var out: [String] = []
        for k in keywords where k.active && (k.unit == nil || k.unit == unit) && !k.word.isEmpty {
            if t.contains(k.word.lowercased()) {
                out.append(k.word)
                if let topic = k.topic, !topic.isEmpty { out.append(topic) }
            }
        }
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }

    /// The writes that add a keyword, or change one already held (`existing`): its word and
    /// owner are written once, with the record; later only its topic and whether it is watched.
    public static func writes(_ k: Keyword, over existing: Keyword? = nil) throws(WorkflowError) -> [FieldWrite] {
        let word = k.word.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !word.isEmpty, word.utf8.count <= 100, !word.contains("/") else {
            throw WorkflowError(.input, "a keyword is 1 to 100 bytes of text without '/'", zh: "关键词须为 1 至 100 字节的文本，且不含“/”")
        }
        if let u = k.unit, let error = Identifier.error(u, what: "unit") { throw error }
        let r = RecordRef(kind: CaseSchema.Kind.keyword, id: id(word: word, unit: k.unit))
        var w: [FieldWrite] = []
        if existing == nil {
            w += [FieldWrite(r, FieldKey(KeywordField.word), .text(word)), FieldWrite(r, FieldKey(KeywordField.owner), .text(k.unit ?? everyone))]
        }
        if existing?.active != k.active { w.append(FieldWrite(r, FieldKey(KeywordField.active), .integer(k.active ? 1 : 0))) }
        if let topic = k.topic, topic != existing?.topic { w.append(FieldWrite(r, FieldKey(KeywordField.topic), .text(topic))) }
        return w
    }
}

/// Field names of a keyword.
public enum KeywordField {
    public static let word = "word", owner = "owner", topic = "topic", active = "active"
}
