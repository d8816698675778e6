import Foundation
import YuqingCases

extension Language {
    /// `en` or `zh` by the language.
    func t(_ en: String, _ zh: String) -> String { self == .zh ? zh : en }
    /// The `lang` attribute of a page.
    var htmlTag: String { self == .zh ? "zh-Hans" : "en" }
}

/// Times as a form takes them (shown through ``YuqingCases/OfficeCalendar/show(_:)``).
enum ConsoleTime {

    /// Reads the value of an `<input type="datetime-local">` (office time), or nil.
    static func parseLocal(_ text: String, utcOffsetMinutes: Int64) -> Int64? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(secondsFromGMT: Int(utcOffsetMinutes) * 60)
        for format in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm"] {
            f.dateFormat = format
            if let d = f.date(from: text.trimmingCharacters(in: .whitespaces)) { return Int64(d.timeIntervalSince1970 * 1000) }
        }
        return nil
    }

    /// The `datetime-local` form of a time.
    static func local(_ millis: Int64, calendar: OfficeCalendar) -> String {
        calendar.show(millis).replacingOccurrences(of: " ", with: "T")
    }
}
