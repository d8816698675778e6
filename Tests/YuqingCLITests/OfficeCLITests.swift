import Foundation
import YuqingTestSupport
import Testing

/// The office's commands on a node, offline, as a user meets them: routine reports, keywords,
/// search, statistics and exports, in both languages, and the errors of bad input.
@Suite struct OfficeCLITests {
    @Test func aUnitsOfficeWorkOffline() throws {
        let dir = try TempDir()
        let db = dir.path("n.sqlite")
        #expect(try CLI.initNode(db, hub: "http://127.0.0.1:9", unit: "town-a").status == 0)
        let en = ["YUQING_DB": db, "LANG": "en_GB.UTF-8"], zh = ["YUQING_DB": db, "LANG": "zh_CN.UTF-8"]

        // A unit's own keyword is recorded on the case whose text holds it.
        #expect(try CLI.run(["keyword", "add", "摊位费", "--topic", "市场监管"], env: en).stdout.contains("saved for town-a"))
        #expect(try CLI.run(["keyword", "add", "收费"], env: zh).stdout.contains("关键词收费已保存"))
        let id = try CLI.run(["case", "register", "--title", "菜市场重复收取摊位费", "--summary", "网民反映", "--level", "III"], env: en).lastWord
        let show = try JSONSerialization.jsonObject(with: Data(try CLI.run(["case", "show", id, "--json"], env: en).stdout.utf8)) as? [String: Any]
        #expect(Set(show?["keywords"] as? [String] ?? []) == ["摊位费", "市场监管"])
        // Retired, then watched again under another topic: the word and its owner are written once.
        #expect(try CLI.run(["keyword", "retire", "收费"], env: en).stdout.contains("retired"))
        #expect(try CLI.run(["keyword", "add", "收费", "--topic", "价格"], env: en).stdout.contains("topic 价格"))
        #expect(try CLI.run(["keyword", "list"], env: en).stdout.contains("价格"))

        // A monthly report on a month that has ended: filed, and said on time or late, in the locale's language.
        let calendarMonth = String(ISO8601DateFormatter().string(from: Date().addingTimeInterval(-40 * 86_400)).prefix(7))
        let filed = try CLI.run(["report", "file", "--period", calendarMonth, "--zero"], env: zh)
        #expect(filed.status == 0 && filed.stdout.contains("已报送town-a\(calendarMonth)月报告（零报告）"), "\(filed.stdout)\(filed.stderr)")
        let again = try CLI.run(["report", "file", "--period", calendarMonth, "--cases", "0", "--text", "更正", "--lang", "en"], env: zh)
        #expect(again.stdout.contains("filed before, the first filing"), "\(again.stdout)")
        let list = try CLI.run(["report", "list", "--month", calendarMonth, "--json"], env: en)
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(reports.count == 1 && reports[0]["filings"] as? Int == 2 && reports[0]["unit"] as? String == "town-a")

        // Search: one, two and more characters; nothing for what is not there.
        for term in ["摊", "摊位", "重复收取", "菜市场 费"] {
            let r = try CLI.run(["search", term, "--json"], env: en)
            let hits = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]], "\(r.stderr)")
            #expect(hits.map { $0["record"] as? String } == [id], "\(term)")
        }
        #expect(try CLI.run(["search", "医院"], env: zh).stdout.contains("没有找到匹配的内容"))
        #expect(try CLI.run(["search", "医院"], env: en).stdout.contains("Nothing matches"))

        // Statistics of this month on the node: its case.
        let stats = try CLI.run(["stats", "--json"], env: en)
        let s = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any], "\(stats.stderr)")
        #expect((s["total"] as? [String: Any])?["cases"] as? Int == 1)
        #expect(try CLI.run(["stats"], env: zh).stdout.contains("舆情统计"))

        // Exports: a CSV with a BOM and the locale's headers; a workbook; a printable form.
        let csv = dir.path("cases.csv"), xlsx = dir.path("cases.xlsx"), form = dir.path("record.html")
        let exported = try CLI.run(["export", "cases", "--csv", csv, "--xlsx", xlsx], env: zh)
        #expect(exported.status == 0 && exported.stdout.contains("已写入"), "\(exported.stderr)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: csv))
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let text = String(decoding: bytes.dropFirst(3), as: UTF8.self)
        #expect(text.hasPrefix("编号,标题,单位") && text.contains(id) && text.contains("\r\n"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: xlsx)).prefix(2) == Data("PK".utf8))
        #expect(try CLI.run(["export", "handling-record", id, "--out", form, "--lang", "en"], env: zh).status == 0)
        let html = try String(contentsOfFile: form, encoding: .utf8)
        #expect(html.contains("<html lang=\"en\">") && html.contains("菜市场重复收取摊位费"))
    }

    @Test(arguments: [
        (["report", "file", "--period", "2999-01"], "has not ended"),
        (["report", "file", "--form", "weekly"], "not a report form"),
        (["report", "file", "--period", "2026-9"], "not a month"),
        (["report", "file", "--period", "2020-01", "--zero", "--cases", "3"], "zero report says nothing was found"),
        (["stats", "--month", "2026-13"], "not a month"),
        (["stats", "--month", "2026-09", "--quarter", "2026Q3"], "give one period"),
        (["stats", "--from", "2026-09-01"], "needs both --from and --to"),
        (["stats", "--lang", "fr"], "not a language"),
        (["search", "  "], "give something to search for"),
        (["search", "x", "--status", "open"], "not a status"),
        (["export", "cases"], "--csv FILE or --xlsx FILE"),
        (["export", "cases", "--csv", "/nonexistent/dir/x.csv"], "does not exist"),
        (["keyword", "add", "a/b"], "without '/'"),
        (["keyword", "add", "x", "--everyone"], "office-wide keywords are the office's"),
    ])
    func badInputIsRefusedInOneLine(args: [String], message: String) throws {
        let dir = try TempDir()
        let db = dir.path("n.sqlite")
        try CLI.initNode(db, hub: "http://127.0.0.1:9", unit: "town-a", roles: ["monitor"])
        let r = try CLI.run(args + ["--db", db])
        #expect(r.status != 0)
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }
}
