import Foundation
import YuqingTestSupport
import Testing

/// Every command speaks both languages: Chinese where the locale is `zh_*` or with `--lang zh`,
/// English with `--lang en` or another locale. The commands that came before the office's work
/// (case, org, node, sync, hub, conflicts) and the parser's own errors and help included.
@Suite struct LanguageCLITests {
    static func hasChinese(_ s: String) -> Bool { s.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) } }

    /// A refusal (arguments after the replica's `--db`), its English and its Chinese.
    @Test(arguments: [
        (["case", "set", "YQ-NONE", "title=x"], "no case YQ-NONE", "本节点没有案件 YQ-NONE"),
        (["case", "new", "--title", "t", "--level", "V"], "not a level", "不是四级分级方案"),
        (["case", "new", "--title", ""], "needs a title", "标题"),
        (["case", "assess", "@CASE", "--category", "1", "--level", "III", "--opinion", "x"], "is for office", "只能由舆情工作办公室"),
        (["org", "settings", "--monthly-report-days", "0"], "is 1 to 28", "须在1到28之间"),
        (["sync"], "refused the connection", "拒绝了连接"),
        (["conflicts", "list"], "refused the connection", "拒绝了连接"),
        (["case", "list", "--bogus"], "Unknown option '--bogus'", "未知选项 '--bogus'"),
        (["case", "assess"], "Missing expected argument", "缺少必需的参数"),
    ])
    func refusalsAreGivenInTheUsersLanguage(args: [String], english: String, chinese: String) throws {
        let dir = try TempDir()
        let db = dir.path("n.sqlite")
        try CLI.initNode(db, hub: "http://127.0.0.1:\(CLI.freePort())", unit: "town-a", roles: ["monitor"])
        let id = try CLI.run(["case", "new", "--db", db, "--title", "t"]).lastWord
        let args = args.map { $0 == "@CASE" ? id : $0 } + ["--db", db]

        let en = try CLI.run(args, env: ["LANG": "zh_CN.UTF-8"].merging(["LC_ALL": "en_GB.UTF-8"]) { $1 })
        #expect(en.status != 0 && en.stderr.contains(english), "\(en.stderr)")
        #expect(!en.stderr.contains(chinese), "\(en.stderr)")

        let zh = try CLI.run(args, env: ["LANG": "zh_CN.UTF-8"])
        #expect(zh.status == en.status, "the same exit status in both languages")
        #expect(zh.stderr.contains(chinese), "\(zh.stderr)")
        #expect(!zh.stderr.contains(english), "\(zh.stderr)")

        let flag = try CLI.run(args + ["--lang", "zh"])
        #expect(flag.stderr == zh.stderr, "--lang zh is the zh_* locale")
        let back = try CLI.run(["--lang=en"] + args, env: ["LANG": "zh_CN.UTF-8"])
        #expect(back.stderr == en.stderr, "--lang en overrides the locale")
    }

    @Test func helpAndMessagesOfEveryCommandGroupAreInChinese() throws {
        let dir = try TempDir()
        let zh = ["LANG": "zh_CN.UTF-8"]
        for group in ["case", "org", "node", "sync", "hub", "conflicts", "reply", "report", "keyword", "stats", "search", "export"] {
            let help = try CLI.run([group, "--help"], env: zh)
            #expect(help.status == 0 && Self.hasChinese(help.stdout), "\(group): \(help.stdout)")
            #expect(!help.stdout.contains("OVERVIEW:") && !help.stdout.contains("Show help information"), "\(group): \(help.stdout)")
            let english = try CLI.run([group, "--help", "--lang", "en"], env: zh)
            #expect(english.status == 0 && english.stdout.hasPrefix("OVERVIEW: ") && english.stdout.contains("Show help information"),
                    "\(group) --lang en: \(english.stdout)")
        }
        // A node made, a case registered and a hub's database inspected, in Chinese.
        let db = dir.path("n.sqlite")
        let made = try CLI.run(["node", "init", "--db", db, "--hub", "http://127.0.0.1:9", "--unit", "town-a", "--user", "li", "--role", "monitor"], env: zh)
        #expect(made.status == 0 && made.stdout.contains("已创建节点"), "\(made.stdout)")
        let registered = try CLI.run(["case", "new", "--db", db, "--title", "t"], env: zh)
        #expect(registered.status == 0 && registered.stdout.contains("已登记案件"), "\(registered.stdout)")
        let bad = try CLI.run(["case", "list", "--lang", "fr", "--db", db])
        #expect(bad.status == 2 && bad.stderr.contains("'fr' is not a language"))
    }
}
