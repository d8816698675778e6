import ArgumentParser
import Foundation

/// The command-line parser's own words (its errors, usage lines and help headings) in Chinese,
/// for a run whose language is Chinese. Our help texts are given in both languages where they are
/// declared; these are the parser's fixed phrases around them.
enum ParserText {
    /// Pattern and Chinese template, applied in order (templates use `$1`, `$2` for the groups).
    static let rules: [(NSRegularExpression, String)] = [
        (#"Missing expected argument '(.+?)'"#, "缺少必需的参数 '$1'"),
        (#"Missing one of: (.+)"#, "缺少以下参数之一：$1"),
        (#"Unexpected argument '(.+?)'"#, "多余的参数 '$1'"),
        (#"(\d+) unexpected arguments: (.+)"#, "$1 个多余的参数：$2"),
        (#"Unknown option '([^']+)'\. Did you mean '([^']+)'\?"#, "未知选项 '$1'；是否要用 '$2'？"),
        (#"Unknown option '([^']+)'"#, "未知选项 '$1'"),
        (#"Missing value for '(.+?)'"#, "'$1' 缺少值"),
        (#"The value '(.*?)' is invalid for '(.+?)'"#, "'$2' 的值 '$1' 无效"),
        (#"\. Please provide one of the following:"#, "；请使用以下之一："),
        (#"\. Please provide one of (.+)\."#, "；请使用以下之一：$1。"),
        (#"The option '(.+?)' does not take any value, but '(.*)' was specified\."#, "选项 '$1' 不带值，但给出了 '$2'。"),
        (#"Missing required subcommand\."#, "缺少子命令。"),
        (#"Invalid option: "#, "无效选项："),
        (#"(?m)^Error: "#, "错误："),
        (#"(?m)^Help: +"#, "说明："),
        (#"(?m)^Usage: "#, "用法："),
        (#"See '(.+?) <subcommand>' for detailed help\."#, "各子命令的详细说明见 '$1 <subcommand>'。"),
        (#"See '(.+?)' for more information\."#, "详见 '$1'。"),
        (#"(?m)^OVERVIEW: "#, "概述："),
        (#"(?m)^USAGE: "#, "用法："),
        (#"(?m)^ARGUMENTS:"#, "参数："),
        (#"(?m)^OPTIONS:"#, "选项："),
        (#"(?m)^SUBCOMMANDS:"#, "子命令："),
        (#"Show help information\."#, "显示帮助信息。"),
        (#"Show the version\."#, "显示版本。"),
        (#"\(default: (.*?)\)"#, "（默认：$1）"),
    ].map { (try! NSRegularExpression(pattern: $0.0), $0.1) }

    /// The parser's text in Chinese.
    static func chinese(_ text: String) -> String {
        rules.reduce(text) { text, rule in
            rule.0.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: rule.1)
        }
    }

    /// Ends the run the way the parser would (help on standard output with status 0, an error on
    /// standard error), in the language of the run.
    static func exit(for error: any Error) -> Never {
        let code = Yuqing.exitCode(for: error)
        var text = Yuqing.fullMessage(for: error)
        if processLanguage == .zh { text = chinese(text) }
        if !text.isEmpty {
            let handle = code == .success ? FileHandle.standardOutput : FileHandle.standardError
            handle.write(Data((text + "\n").utf8))
        }
        Foundation.exit(code.rawValue)
    }
}
