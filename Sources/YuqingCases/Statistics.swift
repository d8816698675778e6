/// What the statistics read of a case: flat, calendar-free, derived from its ``CaseFile`` (a node
/// or the hub keeps these in its search index, so a month's statistics never decode steps).
public struct CaseSummary: Codable, Hashable, Sendable {
    /// A deadline clock of the case: `quick_report`, …, or `assignment:UNIT`.
    public struct Clock: Codable, Hashable, Sendable {
        public var clock: String
        public var unit: String
        public var due: Int64
        public var met: Int64?
    }

    /// A step the statistics count: `urge` and `notice` (the unit named), `publish` (the reply's unit).
    public struct Event: Codable, Hashable, Sendable {
        public var kind: String
        public var unit: String
        public var at: Int64
    }

    public var id: String
    public var title: String
    /// The registering unit.
    public var unit: String
    public var lead: String?
    /// Every unit the case concerns (``CaseFile/scope``), sorted.
    public var scope: [String]
    /// The units concerned (涉事单位) as registered or added.
    public var concerned: [String]
    public var level: String?
    public var category: Int?
    public var platform: String?
    public var status: CaseStatus
    public var discoveredAt: Int64
    public var clocks: [Clock]
    public var events: [Event]
    public var keywords: [String]
    /// The case this report was merged into.
    public var linkedTo: String?

    /// The unit that answers for the case in the statistics: its lead unit once assigned, else
    /// the unit that registered it.
    public var responsible: String { lead ?? unit }

    public init(_ file: CaseFile) {
        id = file.id
        title = file.title
        unit = file.unit ?? ""
        lead = file.leadUnit
        scope = file.scope.sorted()
        concerned = file.unitsConcerned.sorted()
        level = file.level
        category = file.category?.rawValue
        platform = file.text(CaseSchema.Field.platform)
        status = file.state.status
        discoveredAt = file.discoveredAt ?? 0
        clocks = Deadlines.items(file, now: 0).map { Clock(clock: $0.clock, unit: $0.unit, due: $0.due, met: $0.metAt) }
        var events: [Event] = []
        for e in file.entries where e.effective {
            switch e.step.kind {
            case .urge, .notice: events.append(Event(kind: e.step.kind.rawValue, unit: e.step.target ?? "", at: e.step.at))
            case .publish:
                let unit = e.step.target.flatMap { file.state.reply($0)?.unit } ?? e.step.unit
                events.append(Event(kind: StepKind.publish.rawValue, unit: unit, at: e.step.at))
            default: break
            }
        }
        self.events = events
        keywords = file.keywords.sorted()
        linkedTo = file.text(CaseSchema.Field.linkedTo)
    }

    /// The clocks' standing at `now`.
    public func standing(_ clock: Clock, now: Int64) -> Deadlines.Item.Standing {
        if let met = clock.met { return met <= clock.due ? .metOnTime : .metLate }
        return now > clock.due ? .overdue : .open
    }

    /// The first unmet due time, for "overdue" filters (nil when every clock is met).
    public var nextDue: Int64? { clocks.filter { $0.met == nil }.map(\.due).min() }
}

/// The office's statistics (`domain.md` §5) for a period, per unit and overall. Pure: computed
/// from case summaries and routine reports, the same on a node (its scope) and at the hub (all).
///
/// What each number counts (`Protocol/office.md` has the same list):
/// - **cases**, by level, category, platform and status: cases *discovered* in the period, under
///   their responsible unit (lead unit once assigned, else the registering unit); reports merged
///   into another case (`linked_to`) are not counted again;
/// - **clocks**: deadline clocks *due* in the period, under the unit that answers for each:
///   met on time, met late, missed (unmet and past due), open; the on-time rate is on time over
///   (on time + late + missed);
/// - **overdue**: clocks due in the period, unmet and past due at `now` (assignment deadlines and
///   reporting clocks alike);
/// - **urged**, **noticed**: 催办 and 通报 steps taken in the period, under the unit named;
/// - **replies published**: publish steps in the period, under the reply's unit;
/// - **late reports** (迟报): reporting clocks met late, and routine reports (monthly or daily) filed
///   after their deadline; **missed reports** (漏报): reporting clocks never met and past due, and
///   monthly reports not filed by their deadline (a missing monthly report is a late report);
///   **concealed reports** (瞒报): cases discovered in a month for which the unit filed a zero
///   report, among whose units concerned it is, and which it did not register itself;
/// - **zero-report compliance**: for every month of the period and every required unit, whether
///   its monthly report came on time, late, or not at all (still pending before the deadline).
public struct Statistics: Sendable, Hashable {
    public struct ClockTally: Codable, Hashable, Sendable {
        public var onTime = 0, late = 0, missed = 0, open = 0
        public var decided: Int { onTime + late + missed }
        /// On time over decided, nil when nothing was decided.
        public var rate: Double? { decided == 0 ? nil : Double(onTime) / Double(decided) }
    }

    public struct MonthlyTally: Codable, Hashable, Sendable {
        public var onTime = 0, late = 0, missing = 0, pending = 0
        /// Of them, zero reports (零报告).
        public var zero = 0
        public var due: Int { onTime + late + missing }
        public var rate: Double? { due == 0 ? nil : Double(onTime) / Double(due) }
    }

    public struct Row: Codable, Hashable, Sendable {
        /// The unit, or nil for the whole.
        public var unit: String?
        public var cases = 0
        public var byLevel: [String: Int] = [:]
        public var byCategory: [String: Int] = [:]
        public var byPlatform: [String: Int] = [:]
        public var byStatus: [String: Int] = [:]
        public var clocks: [String: ClockTally] = [:]
        public var overdue = 0
        public var urged = 0
        public var noticed = 0
        public var repliesPublished = 0
        public var lateReports = 0
        public var missedReports = 0
        public var concealedReports = 0
        public var dailyFiled = 0
        public var monthly = MonthlyTally()

        public init(unit: String?) { self.unit = unit }

        /// Every clock's tally together.
        public var allClocks: ClockTally {
            clocks.values.reduce(into: ClockTally()) { t, c in t.onTime += c.onTime; t.late += c.late; t.missed += c.missed; t.open += c.open }
        }
    }

    /// One unit's monthly report for one month, as it stands.
    public struct MonthlyStanding: Codable, Hashable, Sendable {
        public enum Standing: String, Codable, Hashable, Sendable { case onTime = "on_time", late, missing, pending }
        public var unit: String
        public var month: String
        public var deadline: Int64
        public var filedAt: Int64?
        public var zero: Bool?
        public var standing: Standing
    }

    public var period: Period
    public var now: Int64
    /// One row per unit that appears (required units always do), sorted by unit id.
    public var units: [Row]
    public var total: Row
    /// Every required unit's monthly report for every month of the period.
    public var monthly: [MonthlyStanding]

    /// The clock names a tally is kept for: every ``DeadlineClock`` and `assignment`.
    public static let clockNames = DeadlineClock.allCases.map(\.rawValue) + ["assignment"]

    static func clockName(_ clock: String) -> String { clock.hasPrefix("assignment:") ? "assignment" : clock }

    public static func compute(cases: [CaseSummary], reports: [ReportSummary], requiredUnits: [String], period: Period,
                               calendar: OfficeCalendar, now: Int64) -> Statistics {
        let span = calendar.times(period)
        var rows: [String: Row] = [:]
        for u in requiredUnits { rows[u] = Row(unit: u) }
        var total = Row(unit: nil)
        func update(_ unit: String, _ body: (inout Row) -> Void) {
            body(&rows[unit, default: Row(unit: unit)])
            body(&total)
        }
        // Monthly reports first: concealment reads them.
        var monthly: [MonthlyStanding] = []
        var byKey: [String: ReportSummary] = [:]
        for r in reports { byKey[r.id] = r }
        for m in period.months {
            let deadline = calendar.monthlyReportDeadline(m)
            for u in requiredUnits.sorted() {
                let r = byKey[RoutineReport.id(.monthly, period: m.description, unit: u)]
                let standing: MonthlyStanding.Standing
                if let r { standing = r.filedAt <= deadline ? .onTime : .late } else { standing = now > deadline ? .missing : .pending }
                monthly.append(MonthlyStanding(unit: u, month: m.description, deadline: deadline, filedAt: r?.filedAt,
                                               zero: r?.zero, standing: standing))
                update(u) { row in
                    switch standing {
                    case .onTime: row.monthly.onTime += 1
                    case .late: row.monthly.late += 1; row.lateReports += 1
                    case .missing: row.monthly.missing += 1; row.missedReports += 1
                    case .pending: row.monthly.pending += 1
                    }
                    if r?.zero == true { row.monthly.zero += 1 }
                }
            }
        }
        for r in reports where r.form == .daily {
            guard let day = CivilDate(r.period), day >= period.first, day <= period.last else { continue }
            update(r.unit) { row in
                row.dailyFiled += 1
                if r.filedAt > calendar.dailyReportDeadline(day) { row.lateReports += 1 }
            }
        }
        let zeroMonths: Set<String> = Set(monthly.filter { $0.zero == true }.map { "\($0.month)\u{1f}\($0.unit)" })
        for c in cases {
            if span.contains(c.discoveredAt), c.linkedTo == nil {
                update(c.responsible) { row in
                    row.cases += 1
                    row.byLevel[c.level ?? "-", default: 0] += 1
                    row.byCategory[c.category.map(String.init) ?? "-", default: 0] += 1
                    row.byPlatform[c.platform ?? "-", default: 0] += 1
                    row.byStatus[c.status.rawValue, default: 0] += 1
                }
                let month = calendar.date(c.discoveredAt).monthOfYear.description
                for u in Set(c.concerned) where u != c.unit && zeroMonths.contains("\(month)\u{1f}\(u)") {
                    update(u) { $0.concealedReports += 1 }
                }
            }
            for clock in c.clocks where span.contains(clock.due) {
                let name = clockName(clock.clock)
                let standing = c.standing(clock, now: now)
                let reporting = name != "assignment"
                update(clock.unit) { row in
                    switch standing {
                    case .metOnTime: row.clocks[name, default: ClockTally()].onTime += 1
                    case .metLate:
                        row.clocks[name, default: ClockTally()].late += 1
                        if reporting { row.lateReports += 1 }
                    case .overdue:
                        row.clocks[name, default: ClockTally()].missed += 1
                        row.overdue += 1
                        if reporting { row.missedReports += 1 }
                    case .open: row.clocks[name, default: ClockTally()].open += 1
                    }
                }
            }
            for e in c.events where span.contains(e.at) {
                update(e.unit) { row in
                    switch e.kind {
                    case StepKind.urge.rawValue: row.urged += 1
                    case StepKind.notice.rawValue: row.noticed += 1
                    case StepKind.publish.rawValue: row.repliesPublished += 1
                    default: break
                    }
                }
            }
        }
        return Statistics(period: period, now: now, units: rows.values.sorted { ($0.unit ?? "") < ($1.unit ?? "") }, total: total, monthly: monthly)
    }

    /// The units that must file monthly reports: every unit below the top of the unit tree.
    public static func requiredUnits(_ org: Organisation) -> [String] {
        org.units.values.filter { $0.parent != nil }.map(\.id).sorted()
    }
}
