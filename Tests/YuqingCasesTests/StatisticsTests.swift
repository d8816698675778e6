import Testing
import YuqingCore
@testable import YuqingCases

/// Every statistic on a data set small enough to check by hand (the expected numbers are worked
/// out in the comments, from `domain.md` §4–5 and the definitions in `Statistics`).
@Suite struct StatisticsTests {
    static let holidays = Set((1...7).map { CivilDate("2026-10-0\($0)")! })
    static let cal = OfficeCalendar(utcOffsetMinutes: 480, holidays: holidays)

    /// A time in office time: `2026-09-10 10:00`.
    static func t(_ s: String) -> Int64 {
        let parts = s.split(separator: " ")
        let hm = parts[1].split(separator: ":").map { Int64($0)! }
        return cal.start(CivilDate(String(parts[0]))!) + hm[0] * 3_600_000 + hm[1] * 60_000
    }

    /// Takes `action` as `user` at office time `at`.
    static func take(_ desk: inout Desk, _ user: String, _ at: String, _ action: CaseAction) throws {
        desk.now = t(at) - 60_000
        try desk.take(user, action)
    }

    static func register(_ desk: inout Desk, _ user: String, _ at: String, title: String, category: Category, level: String,
                         platform: Platform, concerns: [String] = []) throws {
        var r = Registration(title: title)
        (r.category, r.level, r.platform, r.units, r.discoveredAt) = (category, level, platform, concerns, t(at))
        try take(&desk, user, at, .register(r))
    }

    static func report(_ form: ReportForm, _ period: String, _ user: String, at: String, zero: Bool) -> ReportSummary {
        var state = ReplicaState(id: ReplicaID("r-\(user)"), schema: CaseSchema.schema)
        let actor = Fixture.actor(user)
        let writes = try! ReportWrites.file(form, period: period, filing: Filing(at: t(at), by: actor, zero: zero), entryID: "F-\(user)-\(period)")
        for w in writes { state.write(w.record, w.field, w.value, author: actor.author, physicalMillis: UInt64(t(at))) }
        return RoutineReport(state.view(writes[0].record))!.summary
    }

    static func dataSet() throws -> (cases: [CaseSummary], reports: [ReportSummary]) {
        // A: town-a's inquiry (category 2, level III), found 10 Sep 10:00. Quick report on time
        // (10:10 ≤ 10:30); the opinion the same day (20:00 ≤ 23:59); assigned at 12:00 to town-a,
        // deadline 12 Sep 18:00 (met by the 20:00 report); handling record due 11 Sep 12:00, sent at
        // 14:00: late. A reply published on 11 Sep.
        var a = Desk("a")
        try register(&a, "li", "2026-09-10 10:00", title: "城关镇菜市场违规收费", category: .inquiry, level: "III", platform: .weibo)
        try take(&a, "li", "2026-09-10 10:10", .quickReport("快报"))
        try take(&a, "chen", "2026-09-10 11:00", .assess(category: .inquiry, level: "III", opinion: "属实核查"))
        try take(&a, "chen", "2026-09-10 12:00", .assign(lead: "town-a", coUnits: [], deadline: t("2026-09-12 18:00"), instruction: nil))
        try take(&a, "li", "2026-09-10 20:00", .report(.opinion, "处置意见"))
        try take(&a, "li", "2026-09-11 14:00", .report(.handling, "处置情况"))
        try take(&a, "li", "2026-09-11 15:00", .draft(text: "经核实……", revises: nil))
        try take(&a, "wang", "2026-09-11 15:30", .sign(draft: a.draft()))
        try take(&a, "chen", "2026-09-11 16:00", .approve(draft: a.draft(), note: nil))
        try take(&a, "li", "2026-09-11 16:30", .publish(draft: a.draft(), link: "https://example.cn/r/1"))

        // B: bureau-b's suggestion (category 1, level IV), found 20 Sep 09:00; no quick report
        // (missed); assigned at 10:00 with a deadline of 22 Sep 18:00: neither the handling record
        // (due 21 Sep 10:00) nor anything else came (missed, overdue). Urged on 23 Sep, noticed on 25 Sep.
        var b = Desk("b")
        try register(&b, "sun", "2026-09-20 09:00", title: "县卫健局便民建议", category: .suggestion, level: "IV", platform: .forum)
        try take(&b, "chen", "2026-09-20 10:00", .assign(lead: "bureau-b", coUnits: [], deadline: t("2026-09-22 18:00"), instruction: nil))
        try take(&b, "chen", "2026-09-23 09:00", .urge(unit: "bureau-b", note: nil))
        try take(&b, "chen", "2026-09-25 09:00", .notice(unit: "bureau-b", note: nil))

        // C: found by the office on 25 Sep 09:00 about town-a (category 4, level II): quick report on
        // time; the special report (4 h) and the statement (12 h) never came. Not assigned: it counts
        // under the office. town-a files a zero report on September: C was concealed.
        var c = Desk("c")
        try register(&c, "chen", "2026-09-25 09:00", title: "网传城关镇谣言", category: .unlawful, level: "II", platform: .video, concerns: ["town-a"])
        try take(&c, "chen", "2026-09-25 09:20", .quickReport("快报"))

        // D: found on 30 August: outside the period, and so are its clocks.
        var d = Desk("d")
        try register(&d, "li", "2026-08-30 10:00", title: "八月旧帖", category: .hype, level: "IV", platform: .news)

        let reports = [
            // On time only because 1–7 October are holidays (due 8 October).
            report(.monthly, "2026-09", "li", at: "2026-10-08 12:00", zero: true),
            // A daily form filed the next morning: late. bureau-b's on time. None from bureau-b monthly: missing.
            report(.daily, "2026-09-10", "li", at: "2026-09-11 09:00", zero: false),
            report(.daily, "2026-09-20", "sun", at: "2026-09-20 18:00", zero: false),
            // Outside the period: not counted.
            report(.daily, "2026-08-30", "sun", at: "2026-09-02 18:00", zero: false),
        ]
        return ([a, b, c, d].map { CaseSummary($0.file!) }, reports)
    }

    @Test func everyStatisticOfAHandCheckedMonth() throws {
        let (cases, reports) = try Self.dataSet()
        let s = Statistics.compute(cases: cases, reports: reports, requiredUnits: Statistics.requiredUnits(Fixture.org),
                                   period: .month(Month("2026-09")!), calendar: Self.cal, now: Self.t("2026-10-12 09:00"))
        let rows = Dictionary(uniqueKeysWithValues: s.units.map { ($0.unit!, $0) })
        #expect(Set(rows.keys) == ["town-a", "bureau-b", "office"])

        let a = rows["town-a"]!
        #expect(a.cases == 1 && a.byLevel == ["III": 1] && a.byCategory == ["2": 1] && a.byPlatform == ["weibo": 1] && a.byStatus == ["replied": 1])
        #expect(a.clocks["quick_report"] == .init(onTime: 1))
        #expect(a.clocks["opinion"] == .init(onTime: 1))
        #expect(a.clocks["handling"] == .init(late: 1))
        #expect(a.clocks["assignment"] == .init(onTime: 1))
        #expect(a.allClocks.rate == 0.75)
        #expect(a.overdue == 0 && a.urged == 0 && a.noticed == 0 && a.repliesPublished == 1)
        #expect(a.lateReports == 2)          // the handling record, the daily form
        #expect(a.missedReports == 0 && a.concealedReports == 1 && a.dailyFiled == 1)
        #expect(a.monthly == .init(onTime: 1, zero: 1))

        let b = rows["bureau-b"]!
        #expect(b.cases == 1 && b.byLevel == ["IV": 1] && b.byCategory == ["1": 1] && b.byPlatform == ["forum": 1] && b.byStatus == ["assigned": 1])
        #expect(b.clocks["quick_report"] == .init(missed: 1))
        #expect(b.clocks["handling"] == .init(missed: 1))
        #expect(b.clocks["assignment"] == .init(missed: 1))
        #expect(b.allClocks.rate == 0)
        #expect(b.overdue == 3 && b.urged == 1 && b.noticed == 1 && b.repliesPublished == 0)
        #expect(b.lateReports == 0)
        #expect(b.missedReports == 3)        // quick report, handling record, the monthly report
        #expect(b.concealedReports == 0 && b.dailyFiled == 1)
        #expect(b.monthly == .init(missing: 1))

        let o = rows["office"]!
        #expect(o.cases == 1 && o.byLevel == ["II": 1] && o.byCategory == ["4": 1] && o.byPlatform == ["video": 1] && o.byStatus == ["registered": 1])
        #expect(o.clocks["quick_report"] == .init(onTime: 1))
        #expect(o.clocks["special"] == .init(missed: 1))
        #expect(o.clocks["statement"] == .init(missed: 1))
        #expect(o.overdue == 2 && o.missedReports == 2 && o.lateReports == 0)
        #expect(o.monthly == .init())        // the top of the tree files no monthly report

        let t = s.total
        #expect(t.cases == 3 && t.byLevel == ["II": 1, "III": 1, "IV": 1])
        #expect(t.allClocks == .init(onTime: 4, late: 1, missed: 5))
        #expect(t.allClocks.rate == 0.4)
        #expect(t.overdue == 5 && t.urged == 1 && t.noticed == 1 && t.repliesPublished == 1)
        #expect(t.lateReports == 2 && t.missedReports == 5 && t.concealedReports == 1 && t.dailyFiled == 2)
        #expect(t.monthly == .init(onTime: 1, missing: 1, zero: 1) && t.monthly.rate == 0.5)
        #expect(s.monthly.map { "\($0.unit) \($0.standing.rawValue)" } == ["bureau-b missing", "town-a on_time"])

        // The notice draft names the units and commends none (town-a was late once).
        let notice = NoticeDraft.render(s, org: Fixture.org, language: .zh, generatedAt: Self.t("2026-10-12 09:00"))
        #expect(notice.contains("共发现网络舆情3件"))
        #expect(notice.contains("bureau-b未报送2026-09月报告"))
        #expect(notice.contains("town-a：迟报2次，漏报0次，瞒报1次"))
        #expect(notice.contains("三、表扬\n本期无。"))
        let english = NoticeDraft.render(s, org: Fixture.org, language: .en, generatedAt: Self.t("2026-10-12 09:00"))
        #expect(english.contains("3 cases were found") && english.contains("bureau-b did not file its monthly report for 2026-09"))
    }

    @Test func beforeTheDeadlineNothingIsMissingYet() throws {
        let (cases, reports) = try Self.dataSet()
        // On 5 October (before the deadline moved to 8 October, and before town-a filed) the
        // monthly reports are pending, not missing, and no zero report conceals anything yet.
        let now = Self.t("2026-10-05 09:00")
        let s = Statistics.compute(cases: cases, reports: reports.filter { $0.filedAt <= now }, requiredUnits: ["town-a", "bureau-b"],
                                   period: .month(Month("2026-09")!), calendar: Self.cal, now: now)
        #expect(s.total.monthly == .init(pending: 2))
        #expect(s.monthly.allSatisfy { $0.standing == .pending })
        #expect(s.total.concealedReports == 0)
    }

    @Test func aQuarterCountsEachOfItsMonthsReports() throws {
        let (cases, reports) = try Self.dataSet()
        let s = Statistics.compute(cases: cases, reports: reports, requiredUnits: ["town-a", "bureau-b"],
                                   period: Period.quarter("2026Q3")!, calendar: Self.cal, now: Self.t("2026-10-12 09:00"))
        // July, August, September for two units: one on time (town-a, September), five missing.
        #expect(s.monthly.count == 6)
        #expect(s.total.monthly == .init(onTime: 1, missing: 5, zero: 1))
        // D (30 August) is in the quarter now, with its missed quick report.
        #expect(s.total.cases == 4)
        #expect(s.total.dailyFiled == 3)
    }
}
