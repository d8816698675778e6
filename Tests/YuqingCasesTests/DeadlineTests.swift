import Testing
@testable import YuqingCases
import YuqingCore

/// The deadline clocks of domain §4: started by their events, stored as absolute times, met by
/// their reports, overdue when not.
@Suite struct DeadlineTests {
    static let minute: Int64 = 60_000

    @Test func registrationStartsTheQuickReportAndAnInquiryTheSameDayOpinion() throws {
        var d = Desk()
        var r = Registration(title: "t")
        r.category = .inquiry
        r.level = "IV"
        r.discoveredAt = d.now
        try d.take("li", .register(r), minutes: 0)
        let due = try #require(d.file?.dueTimes)
        #expect(due["quick_report"] == d.now + 30 * Self.minute)
        #expect(due["opinion"] == Deadlines.endOfDay(d.now, utcOffsetMinutes: 480))
        #expect(due["special"] == nil && due["statement"] == nil, "level IV has no special report or statement")
    }

    @Test func theEndOfTheOfficesDay() {
        // 2026-11-21 23:30 in Beijing is 15:30 UTC; the day ends at 15:59:59.999 UTC.
        let t: Int64 = 1_795_793_400_000  // 2026-11-21T15:30:00Z
        #expect(Deadlines.endOfDay(t, utcOffsetMinutes: 480) == 1_795_795_199_999)
        // Half an hour later it is the next day in Beijing.
        #expect(Deadlines.endOfDay(t + 30 * 60_000, utcOffsetMinutes: 480) == 1_795_795_199_999 + 86_400_000)
        #expect(Deadlines.endOfDay(0, utcOffsetMinutes: 0) == 86_399_999)
    }

    @Test func majorLevelsAndAssignmentStartTheirClocks() throws {
        var d = Desk()
        var r = Registration(title: "t")
        r.level = "III"
        r.discoveredAt = d.now
        let discovered = d.now
        try d.take("li", .register(r), minutes: 0)
        try d.take("chen", .setLevel("II", reason: nil), minutes: 10)
        var due = try #require(d.file?.dueTimes)
        #expect(due["special"] == discovered + 240 * Self.minute)
        #expect(due["statement"] == discovered + 720 * Self.minute)
        let deadline = d.now + 3 * 86_400_000
        try d.take("chen", .assign(lead: "town-a", coUnits: ["bureau-b"], deadline: deadline, instruction: "核实"), minutes: 5)
        let assigned = d.now
        due = try #require(d.file?.dueTimes)
        #expect(due["written"] == assigned + 120 * Self.minute)
        #expect(due["assignment:town-a"] == deadline && due["assignment:bureau-b"] == deadline)
        #expect(due["handling"] == nil)
        // A reassignment does not restart a running clock.
        try d.take("chen", .assign(lead: "bureau-b", coUnits: [], deadline: deadline, instruction: nil), minutes: 60)
        #expect(d.file?.dueTimes["written"] == assigned + 120 * Self.minute)
    }

    @Test func clocksAreMetOnTimeLateOrMissedAndCountedPerUnit() throws {
        var d = Desk()
        var r = Registration(title: "t")
        r.level = "III"
        r.discoveredAt = d.now
        try d.take("li", .register(r), minutes: 0)
        try d.take("li", .quickReport("快报"), minutes: 45)  // 15 minutes late
        try d.take("chen", .assign(lead: "town-a", coUnits: ["bureau-b"], deadline: d.now + 60 * Self.minute, instruction: nil))
        try d.take("li", .report(.handling, "处置情况"), minutes: 30)  // handling record on time; town-a's assignment met
        let file = try #require(d.file)
        let later = d.now + 2 * 86_400_000
        let items = Dictionary(uniqueKeysWithValues: Deadlines.items(file, now: later).map { ($0.clock, $0.standing) })
        #expect(items["quick_report"] == .metLate)
        #expect(items["handling"] == .metOnTime)
        #expect(items["assignment:town-a"] == .metOnTime)
        #expect(items["assignment:bureau-b"] == .overdue)
        #expect(Deadlines.items(file, now: file.dueTimes["assignment:bureau-b"]! - 1).first { $0.clock == "assignment:bureau-b" }?.standing == .open)
        let tally = Deadlines.tally([file], now: later)
        #expect(tally["town-a"]?.late == 1 && tally["town-a"]?.onTime == 2)
        #expect(tally["bureau-b"]?.missed == 1)
    }

    @Test func theTableIsConfigurable() throws {
        var org = Fixture.org
        org.settings.deadlines = DeadlineTable(minutes: [.quickReport: 10])
        let p = Planner(actor: Fixture.actor("li"), roles: [.monitor], org: org, now: 1_000_000, newID: { $0 + "1" })
        var r = Registration(title: "t")
        r.discoveredAt = 1_000_000
        let writes = try p.plan(.register(r), on: nil).writes
        #expect(writes.contains { $0.field == FieldKey("due", element: "quick_report") && $0.value == .integer(1_000_000 + 10 * Self.minute) })
    }

    @Test func urgesAndNoticesAreRecordedSteps() throws {
        var d = Desk()
        try d.take("li", .register(Registration(title: "t")))
        try d.take("chen", .assign(lead: "town-a", coUnits: [], deadline: d.now + 5 * Self.minute, instruction: nil))
        try d.take("chen", .urge(unit: "town-a", note: "请尽快报送"), minutes: 10)
        try d.take("chen", .notice(unit: "town-a", note: "逾期未报"), minutes: 10)
        #expect(d.file?.state.urged.count == 1 && d.file?.state.noticed.count == 1)
        do { try d.take("chen", .urge(unit: "bureau-b", note: nil)); Issue.record("urged a unit not assigned") } catch { #expect(error.code == .notInState) }
    }
}
