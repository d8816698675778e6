import Testing
import YuqingCore
@testable import YuqingCases

@Suite struct OfficeCalendarTests {
    let china = OfficeCalendar(utcOffsetMinutes: 480)

    func day(_ s: String) -> CivilDate { CivilDate(s)! }

    @Test func daysAndDatesRoundTrip() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let n = Int64.random(in: CivilDate.dayRange, using: &rng)
            let d = CivilDate(daysSince1970: n)
            #expect(d.daysSince1970 == n)
            #expect(d.adding(days: 1) > d)
            #expect(CivilDate(d.description) == d)
        }
        #expect(CivilDate(daysSince1970: 0).description == "1970-01-01")
        #expect(CivilDate(daysSince1970: CivilDate.dayRange.lowerBound).description == "0001-01-01")
        #expect(CivilDate(daysSince1970: CivilDate.dayRange.upperBound).description == "9999-12-31")
        #expect(CivilDate(daysSince1970: .max).description == "9999-12-31")
        #expect(OfficeCalendar(utcOffsetMinutes: 480).date(.min).description == "0001-01-01")
        #expect(day("2028-02-28").adding(days: 1).description == "2028-02-29")
        #expect(day("2026-02-28").adding(days: 1).description == "2026-03-01")
        #expect(day("2026-12-31").adding(days: 1).description == "2027-01-01")
        #expect(CivilDate("2026-02-29") == nil)
        #expect(CivilDate("2026-13-01") == nil)
        #expect(CivilDate("2026-1-01") == nil)
        #expect(day("2026-11-22").weekday == 7)   // a Sunday
        #expect(day("2026-11-16").weekday == 1)
    }

    @Test func theOfficeDayFollowsItsTimeZone() {
        for offset: Int64 in [-720, -300, 0, 480, 840] {
            let cal = OfficeCalendar(utcOffsetMinutes: offset)
            for d in [day("1969-12-31"), day("2026-09-30"), day("2026-10-01"), day("2028-02-29")] {
                #expect(cal.date(cal.start(d)) == d)
                #expect(cal.date(cal.end(d)) == d)
                #expect(cal.date(cal.end(d) + 1) == d.adding(days: 1))
                #expect(cal.date(cal.start(d) - 1) == d.adding(days: -1))
            }
        }
        // 2026-10-08 00:00 in Beijing is 2026-10-07 16:00 UTC.
        #expect(china.start(day("2026-10-08")) == 1_791_417_600_000 - 8 * 3_600_000)
        #expect(china.show(china.start(day("2026-10-08")) + 9 * 3_600_000 + 30 * 60_000) == "2026-10-08 09:30")
    }

    @Test func theMonthlyReportIsDueOnTheThirdDayMovedPastHolidays() {
        // No holidays: the 3rd of the next month, across a year end and a leap February.
        #expect(china.monthlyReportDueDay(Month("2026-11")!) == day("2026-12-03"))
        #expect(china.monthlyReportDueDay(Month("2026-12")!) == day("2027-01-03"))
        #expect(china.monthlyReportDueDay(Month("2028-01")!) == day("2028-02-03"))
        #expect(china.monthlyReportDueDay(Month("2028-02")!) == day("2028-03-03"))
        // National Day (1–7 October): the report on September moves to the 8th.
        let holidays = Set((1...7).map { day("2026-10-0\($0)") })
        let withHolidays = OfficeCalendar(utcOffsetMinutes: 480, holidays: holidays)
        #expect(withHolidays.monthlyReportDueDay(Month("2026-09")!) == day("2026-10-08"))
        // A holiday before the due day does not move it; one on it does, past every holiday in a row.
        let newYear = OfficeCalendar(utcOffsetMinutes: 480, holidays: [day("2027-01-01"), day("2027-01-03"), day("2027-01-04")])
        #expect(newYear.monthlyReportDueDay(Month("2026-12")!) == day("2027-01-05"))
        let early = OfficeCalendar(utcOffsetMinutes: 480, holidays: [day("2026-12-01")])
        #expect(early.monthlyReportDueDay(Month("2026-11")!) == day("2026-12-03"))
        // The window is the office's to set.
        #expect(OfficeCalendar(utcOffsetMinutes: 480, monthlyReportDays: 5).monthlyReportDueDay(Month("2026-11")!) == day("2026-12-05"))
        // The deadline is the last millisecond of the due day, office time.
        #expect(withHolidays.monthlyReportDeadline(Month("2026-09")!) == withHolidays.start(day("2026-10-09")) - 1)
    }

    @Test func aReportCountsOnTimeUpToTheLastMillisecondOfItsDueDay() {
        let holidays = Set((1...7).map { day("2026-10-0\($0)") })
        let cal = OfficeCalendar(utcOffsetMinutes: 480, holidays: holidays)
        let deadline = cal.monthlyReportDeadline(Month("2026-09")!)
        func standing(filedAt: Int64?, now: Int64) -> Statistics.MonthlyStanding.Standing {
            let reports = filedAt.map { [ReportSummary(id: RoutineReport.id(.monthly, period: "2026-09", unit: "town-a"), form: .monthly, unit: "town-a",
                                                       period: "2026-09", filedAt: $0, filings: 1,
                                                       latest: Filing(at: $0, by: Actor(user: "li", unit: "town-a"), zero: true))] } ?? []
            return Statistics.compute(cases: [], reports: reports, requiredUnits: ["town-a"], period: .month(Month("2026-09")!),
                                      calendar: cal, now: now).monthly[0].standing
        }
        #expect(standing(filedAt: deadline, now: deadline + 10) == .onTime)
        #expect(standing(filedAt: deadline + 1, now: deadline + 10) == .late)
        #expect(standing(filedAt: cal.start(day("2026-10-02")), now: deadline + 10) == .onTime)  // during the holidays
        #expect(standing(filedAt: nil, now: deadline) == .pending)
        #expect(standing(filedAt: nil, now: deadline + 1) == .missing)
    }

    @Test func periods() {
        #expect(Period.week(day("2026-11-22")).first == day("2026-11-16"))
        #expect(Period.week(day("2026-11-22")).last == day("2026-11-22"))
        #expect(Period.week(day("2026-12-31")).last == day("2027-01-03"))
        let q = Period.quarter("2026Q4")!
        #expect(q.first == day("2026-10-01") && q.last == day("2026-12-31") && q.months.count == 3 && q.label == "2026Q4")
        #expect(Period.quarter("2026-q1")?.last == day("2026-03-31"))
        #expect(Period.quarter("2026Q5") == nil)
        #expect(Period.month(Month("2028-02")!).days == 29)
        let span = china.times(.month(Month("2026-09")!))
        #expect(china.date(span.lowerBound) == day("2026-09-01") && china.date(span.upperBound) == day("2026-09-30"))
        #expect(!span.contains(china.start(day("2026-10-01"))))
    }
}
