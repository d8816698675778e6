import Foundation
import YuqingCases
import YuqingCore

/// The language a run speaks, and the command line without the `--lang` that chose it.
///
/// `--lang zh|en` (or `--lang=zh`) is accepted before or after any command; without it the locale
/// decides (`LC_ALL`, then `LC_MESSAGES`, then `LANG`: Chinese for `zh_*`, English otherwise).
struct LanguageChoice: Sendable {
    var language: Language
    /// The arguments for the command parser, `--lang` and its value taken out.
    var arguments: [String]
    /// A `--lang` value that names no language; the run refuses it.
    var unknown: String?

    init(arguments all: [String], environment: [String: String]) {
        var language = Language.from(environment: environment)
        var rest: [String] = []
        var unknown: String?
        var i = 0
        while i < all.count {
            let a = all[i]
            if a == "--" { rest += all[i...]; break }
            var value: String?
            if a == "--lang" {
                value = i + 1 < all.count ? all[i + 1] : ""
                i += 2
            } else if a.hasPrefix("--lang=") {
                value = String(a.dropFirst("--lang=".count))
                i += 1
            } else {
                rest.append(a)
                i += 1
                continue
            }
            if let v = value {
                if let l = Language(name: v) { language = l } else { unknown = v }
            }
        }
        self.language = language
        self.arguments = rest
        self.unknown = unknown
    }

    /// This process's choice.
    static let current = LanguageChoice(arguments: Array(CommandLine.arguments.dropFirst()),
                                        environment: ProcessInfo.processInfo.environment)
}

/// The language of this run.
var processLanguage: Language { LanguageChoice.current.language }

/// A text for the user in the language of this run.
func L(_ english: String, zh chinese: String) -> String {
    processLanguage == .zh ? chinese : english
}

/// An error's message in the language of this run.
func localized(_ error: some BilingualError) -> String {
    processLanguage == .zh ? error.chinese : error.message
}
