/// The deadline clocks of `domain.md` §4.
public enum DeadlineClock: String, CaseIterable, Codable, Hashable, Sendable {
    /// Quick report to the office: 30 minutes from discovery.
    case quickReport = "quick_report"
    /// The unit's written report, levels I–II: 2 hours from assignment.
    case written
    /// Special report, major or sudden: 4 hours from discovery.
    case special
    /// Official statement, wide impact: 12 hours from discovery.
    case statement
    /// Handling record, levels III–IV: 24 hours from assignment.
    case handling
    /// Inquiry: a handling opinion by the end of the day it was found (office time).
    case opinion

    /// The clock a report satisfies.
    init?(report: ReportKind) {
        switch report {
        case .progress: return nil
        case .written: self = .written
        case .special: self = .special
        case .handling: self = .handling
        case .opinion: self = .opinion
        }
    }

    public var chinese: String {
        switch self {
        case .quickReport: "快报"
        case .written: "书面报告"
        case .special: "特报"
        case .statement: "发言人声明"
        case .handling: "处置情况登记表"
        case .opinion: "处置意见"
        }
    }
}

/// The deadline table the office distributes (minutes per clock); defaults from `domain.md` §4.
public struct DeadlineTable: Hashable, Sendable {
    public var minutes: [DeadlineClock: Int64]

    public static let defaults: [DeadlineClock: Int64] = [
        .quickReport: 30, .written: 120, .special: 240, .statement: 720, .handling: 1440,
    ]

    public init(minutes: [DeadlineClock: Int64] = [:]) {
        self.minutes = Self.defaults.merging(minutes) { _, new in new }
    }

    /// `start` plus the clock's minutes; saturates rather than overflowing on hostile times.
    func after(_ clock: DeadlineClock, _ start: Int64) -> Int64 {
        let (span, o1) = (minutes[clock] ?? 0).multipliedReportingOverflow(by: 60_000)
        let (sum, o2) = start.addingReportingOverflow(span)
        return o1 || o2 ? Int64.max : sum
    }
}

/// Computes deadline clocks when their triggering event happens, and what is due or late.
public enum Deadlines {
    /// The clocks a case gains now, given what it holds: each is stored with the case as an
    /// absolute time. A clock already set is kept (a reassignment does not restart it).
    ///
    /// - discovery starts the quick report, and for an inquiry the end-of-day opinion;
    /// - a major level (I–II) starts the special report and the statement, from discovery;
    /// - an assignment starts the written report (I–II) or the handling record (III–IV).
    public static func clocks(discoveredAt: Int64, level: String?, category: Category?, assignedAt: Int64?,
                              existing: [String: Int64], table: DeadlineTable, utcOffsetMinutes: Int64) -> [String: Int64] {
        var add: [String: Int64] = [:]
        func set(_ clock: DeadlineClock, _ at: Int64) { if existing[clock.rawValue] == nil { add[clock.rawValue] = at } }
        set(.quickReport, table.after(.quickReport, discoveredAt))
        if category == .inquiry { set(.opinion, endOfDay(discoveredAt, utcOffsetMinutes: utcOffsetMinutes)) }
        if Level.isMajor(level) {
            set(.special, table.after(.special, discoveredAt))
            set(.statement, table.after(.statement, discoveredAt))
        }
        if let assignedAt {
            if Level.isMajor(level) { set(.written, table.after(.written, assignedAt)) } else { set(.handling, table.after(.handling, assignedAt)) }
        }
        return add
    }

    /// The last millisecond of the office's calendar day that holds `millis`.
    public static func endOfDay(_ millis: Int64, utcOffsetMinutes: Int64) -> Int64 {
        let day: Int64 = 86_400_000
        // Times are bounded by the schema; clamp anyway, so no input traps.
        let offset = max(-1440, min(1440, utcOffsetMinutes)) * 60_000
        let local = max(Int64.min / 2, min(Int64.max / 2, millis)) + offset
        let start = local - ((local % day) + day) % day
        return start + day - 1 - offset
    }

    /// One clock of one case and how it stands.
    public struct Item: Hashable, Sendable {
        public enum Standing: String, Hashable, Sendable {
            /// Not met, not yet due.
            case open
            /// Not met and past due.
            case overdue
            case metOnTime = "met"
            case metLate = "late"
        }

        public var caseID: String
        /// A clock's name, or `assignment:UNIT`.
        public var clock: String
        /// The unit that answers for it.
        public var unit: String
        public var due: Int64
        public var metAt: Int64?
        public var standing: Standing
    }

    /// Every clock of a case at time `now`. An archived case's unmet clocks stay overdue (missed).
    public static func items(_ file: CaseFile, now: Int64) -> [Item] {
        file.dueTimes.sorted { $0.key < $1.key }.map { clock, due in
            let unit: String
            if clock.hasPrefix("assignment:") { unit = String(clock.dropFirst("assignment:".count)) }
            else if clock == DeadlineClock.written.rawValue || clock == DeadlineClock.handling.rawValue { unit = file.leadUnit ?? file.unit ?? "" }
            else if clock == DeadlineClock.statement.rawValue { unit = "office" }
            else { unit = file.unit ?? "" }
            let met = file.state.met.filter { $0.clock == clock }.map(\.at).min()
            let standing: Item.Standing = if let met { met <= due ? .metOnTime : .metLate } else { now > due ? .overdue : .open }
            return Item(caseID: file.id, clock: clock, unit: unit, due: due, metAt: met, standing: standing)
        }
    }

    /// Late (met after the deadline) and missed (overdue, not met) counts per unit.
    public static func tally(_ files: [CaseFile], now: Int64) -> [String: (onTime: Int, late: Int, missed: Int)] {
        var out: [String: (onTime: Int, late: Int, missed: Int)] = [:]
        for item in files.flatMap({ items($0, now: now) }) {
            var t = out[item.unit] ?? (0, 0, 0)
            switch item.standing {
            case .metOnTime: t.onTime += 1
            case .metLate: t.late += 1
            case .overdue: t.missed += 1
            case .open: break
            }
            out[item.unit] = t
        }
        return out
    }
}
