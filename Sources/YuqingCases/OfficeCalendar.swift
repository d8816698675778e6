import Foundation

/// A day of the office's calendar (`2026-10-01`). Pure arithmetic on the proleptic Gregorian
/// calendar: no time zone database, the same on every replica.
public struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), (1...Self.days(inMonth: month, year: year)).contains(day) else { return nil }
        (self.year, self.month, self.day) = (year, month, day)
    }

    /// Reads `2026-10-01`; nil for anything else (including `2026-02-30`).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// The first and last days there are: 0001-01-01 and 9999-12-31.
    public static let dayRange: ClosedRange<Int64> = -719_162...2_932_896

    /// The date `days` days after 1970-01-01 (clamped to years 1–9999).
    public init(daysSince1970 days: Int64) {
        // Howard Hinnant's civil_from_days.
        let z = min(max(days, Self.dayRange.lowerBound), Self.dayRange.upperBound) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        (year, month, day) = (Int(y), Int(m), Int(d))
    }

    /// Days since 1970-01-01 (negative before).
    public var daysSince1970: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public func adding(days n: Int) -> CivilDate { CivilDate(daysSince1970: daysSince1970 + Int64(n)) }

    /// 1 for Monday … 7 for Sunday.
    public var weekday: Int { Int(((daysSince1970 % 7) + 7 + 3) % 7) + 1 }

    public var monthOfYear: Month { Month(year: year, month: month)! }

    public var description: String { "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))" }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// A calendar month (`2026-10`).
public struct Month: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var year: Int
    public var month: Int

    public init?(year: Int, month: Int) {
        guard (1...9999).contains(year), (1...12).contains(month) else { return nil }
        (self.year, self.month) = (year, month)
    }

    /// Reads `2026-10`.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let y = Int(parts[0]), let m = Int(parts[1]) else { return nil }
        self.init(year: y, month: m)
    }

    public var first: CivilDate { CivilDate(year: year, month: month, day: 1)! }
    public var last: CivilDate { CivilDate(year: year, month: month, day: CivilDate.days(inMonth: month, year: year))! }
    public var next: Month { month == 12 ? Month(year: year + 1, month: 1)! : Month(year: year, month: month + 1)! }
    public var previous: Month { month == 1 ? Month(year: year - 1, month: 12)! : Month(year: year, month: month - 1)! }
    public var quarter: Int { (month - 1) / 3 + 1 }
    public var description: String { "\(pad(year, 4))-\(pad(month, 2))" }
    public static func < (a: Month, b: Month) -> Bool { (a.year, a.month) < (b.year, b.month) }
}

/// A span of the office's calendar, as days (inclusive) and as times (half-open, UTC ms).
public struct Period: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable { case day, week, month, quarter, range }

    public var kind: Kind
    public var first: CivilDate
    public var last: CivilDate

    public init(kind: Kind, first: CivilDate, last: CivilDate) {
        (self.kind, self.first, self.last) = (kind, first, last)
    }

    public static func day(_ d: CivilDate) -> Period { Period(kind: .day, first: d, last: d) }
    /// The week (Monday to Sunday) that holds `d`.
    public static func week(_ d: CivilDate) -> Period {
        let monday = d.adding(days: 1 - d.weekday)
        return Period(kind: .week, first: monday, last: monday.adding(days: 6))
    }
    public static func month(_ m: Month) -> Period { Period(kind: .month, first: m.first, last: m.last) }
    public static func quarter(year: Int, _ q: Int) -> Period? {
        guard (1...4).contains(q), let a = Month(year: year, month: 3 * q - 2), let b = Month(year: year, month: 3 * q) else { return nil }
        return Period(kind: .quarter, first: a.first, last: b.last)
    }

    /// Reads `2026Q4` or `2026-Q4`.
    public static func quarter(_ text: String) -> Period? {
        let t = String(text.uppercased().filter { $0 != "-" })
        guard t.count == 6, t.dropFirst(4).first == "Q", let y = Int(t.prefix(4)), let q = Int(t.suffix(1)) else { return nil }
        return quarter(year: y, q)
    }

    /// Every month the period touches.
    public var months: [Month] {
        var out: [Month] = []
        var m = first.monthOfYear
        while m <= last.monthOfYear { out.append(m); m = m.next }
        return out
    }

    public var days: Int { Int(last.daysSince1970 - first.daysSince1970) + 1 }

    /// How people name it: `2026-10-01`, `2026-09-28 … 2026-10-04`, `2026-10`, `2026Q4`.
    public var label: String {
        switch kind {
        case .day: first.description
        case .month: first.monthOfYear.description
        case .quarter: "\(first.year)Q\(first.monthOfYear.quarter)"
        case .week, .range: "\(first) … \(last)"
        }
    }
}

/// The office's calendar: its time zone and the holidays it distributes with the configuration.
/// Times are stored in UTC milliseconds; days are the office's.
public struct OfficeCalendar: Hashable, Sendable {
    /// Minutes east of UTC (China: +480).
    public var utcOffsetMinutes: Int64
    public var holidays: Set<CivilDate>
    /// The monthly report is due within this many first days of the month (零报告制度: 3).
    public var monthlyReportDays: Int

    public init(utcOffsetMinutes: Int64 = 480, holidays: Set<CivilDate> = [], monthlyReportDays: Int = 3) {
        self.utcOffsetMinutes = max(-1440, min(1440, utcOffsetMinutes))
        self.holidays = holidays
        self.monthlyReportDays = max(1, min(28, monthlyReportDays))
    }

    static let dayMillis: Int64 = 86_400_000

    /// The office's day that holds `millis`.
    public func date(_ millis: Int64) -> CivilDate {
        let local = max(-200_000_000_000_000, min(200_000_000_000_000, millis)) + utcOffsetMinutes * 60_000
        return CivilDate(daysSince1970: local >= 0 ? local / Self.dayMillis : (local - Self.dayMillis + 1) / Self.dayMillis)
    }

    /// The first millisecond of the office's day `d`.
    public func start(_ d: CivilDate) -> Int64 { d.daysSince1970 * Self.dayMillis - utcOffsetMinutes * 60_000 }

    /// The last millisecond of the office's day `d`.
    public func end(_ d: CivilDate) -> Int64 { start(d) + Self.dayMillis - 1 }

    /// The times of `period`: from its first day's start to its last day's end, inclusive.
    public func times(_ period: Period) -> ClosedRange<Int64> { start(period.first)...end(period.last) }

    public func isHoliday(_ d: CivilDate) -> Bool { holidays.contains(d) }

    /// The day the monthly report on `month` is due: the `monthlyReportDays`-th day of the next
    /// month; when that day is a holiday, the first day after it that is not (节假日顺延).
    public func monthlyReportDueDay(_ month: Month) -> CivilDate {
        var d = month.next.first.adding(days: monthlyReportDays - 1)
        var guardDays = 0
        while isHoliday(d), guardDays < 366 { d = d.adding(days: 1); guardDays += 1 }
        return d
    }

    /// The last millisecond at which the monthly report on `month` is on time.
    public func monthlyReportDeadline(_ month: Month) -> Int64 { end(monthlyReportDueDay(month)) }

    /// The daily report form on `day` is due by the end of that day.
    public func dailyReportDeadline(_ day: CivilDate) -> Int64 { end(day) }

    /// A time shown in the office's zone: `2026-10-03 09:30`.
    public func show(_ millis: Int64) -> String {
        let d = date(millis)
        let minuteOfDay = (millis - start(d)) / 60_000
        return "\(d) \(pad(Int(minuteOfDay / 60), 2)):\(pad(Int(minuteOfDay % 60), 2))"
    }
}

func pad(_ n: Int, _ width: Int) -> String {
    let s = String(n)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

extension CivilDate {
    /// The days `2026-10-01` or `2026-10-01..2026-10-07` names (a span of at most a year), or nil.
    public static func days(_ text: String) -> [CivilDate]? {
        let parts = text.components(separatedBy: "..")
        guard (1...2).contains(parts.count), let a = CivilDate(parts[0].trimmingCharacters(in: .whitespaces)),
              let b = CivilDate(parts.last!.trimmingCharacters(in: .whitespaces)), a <= b, b.daysSince1970 - a.daysSince1970 < 366 else { return nil }
        return (0...Int(b.daysSince1970 - a.daysSince1970)).map { a.adding(days: $0) }
    }
}
