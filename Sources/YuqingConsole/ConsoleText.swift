import Foundation
import YuqingCases

/// A text in both languages, picked by the page's language.
struct Text: Sendable {
    let en: String, zh: String
    init(_ en: String, zh: String) { (self.en, self.zh) = (en, zh) }
    func callAsFunction(_ l: Language) -> String { l == .zh ? zh : en }
}

extension Language {
    /// `en` or `zh` by the language.
    func t(_ en: String, _ zh: String) -> String { self == .zh ? zh : en }
    /// The `lang` attribute of a page.
    var htmlTag: String { self == .zh ? "zh-Hans" : "en" }
}

/// Times shown in the office's zone, to the minute.
enum ConsoleTime {
    static func show(_ millis: Int64?, utcOffsetMinutes: Int64) -> String {
        guard let millis else { return "-" }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(secondsFromGMT: Int(utcOffsetMinutes) * 60)
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

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
    static func local(_ millis: Int64, utcOffsetMinutes: Int64) -> String {
        show(millis, utcOffsetMinutes: utcOffsetMinutes).replacingOccurrences(of: " ", with: "T")
    }
}
