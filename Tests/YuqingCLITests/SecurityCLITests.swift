import Foundation
import Testing
import YuqingTestSupport

/// Enrolment, revocation and sealed changes through the real `yuqing` processes and a real hub.
@Suite struct SecurityCLITests {
    /// Runs SQL on a replica file behind the hub's back, as someone with the hub's disk could.
    static func sql(_ db: String, _ statement: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", db, statement]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CLITestError("sql failed: \(statement)") }
    }

    @Test func aHistoryAlteredAtTheHubIsDetectedOnTheNodes() throws {
        let dir = try TempDir()
        let hub = HubProcess(db: dir.path("hub.sqlite"))
        try hub.start()
        try hub.enrol(unit: "a")
        try hub.enrol(unit: "b")
        let a = dir.path("a.sqlite"), b = dir.path("b.sqlite"), c = dir.path("c.sqlite")
        #expect(try CLI.initNode(a, hub: hub.url, unit: "a").status == 0)
        let made = try CLI.run(["case", "new", "--db", a, "--title", "卫生院收费"])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(try CLI.run(["sync", "--db", a]).status == 0)

        // Whoever runs the hub rewrites the title a's device wrote, in the log the nodes pull from.
        try Self.sql(hub.db, "UPDATE log SET value = '谣言' WHERE kind = 'case' AND field = 'title'")
        #expect(try CLI.initNode(b, hub: hub.url, unit: "b").status == 0)
        let pulled = try CLI.run(["sync", "--db", b])
        #expect(pulled.status == 5, "\(pulled.stdout) \(pulled.stderr)")
        #expect(pulled.stderr.contains("not what device") && pulled.stderr.contains("altered or forged"), "\(pulled.stderr)")
        #expect(!(try CLI.run(["case", "list", "--db", b]).stdout.contains("谣言")), "the altered change was applied")

        // Put back, the history verifies again and the node catches up.
        try Self.sql(hub.db, "UPDATE log SET value = '卫生院收费' WHERE kind = 'case' AND field = 'title'")
        #expect(try CLI.run(["sync", "--db", b]).status == 0)
        #expect(try CLI.run(["case", "list", "--db", b]).stdout.contains("卫生院收费"))

        // The case's history on b: every entry by a's device, under a seal b checked; on a, its own.
        let id = made.lastWord
        let history = try CLI.run(["case", "history", "--db", b, id, "--json", "--csv", dir.path("history.csv")])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]], "\(history.stderr)")
        let aID = try #require(entries.first?["device"] as? String)
        #expect(!entries.isEmpty && entries.allSatisfy { $0["device"] as? String == aID && $0["seal"] as? String == "verified" })
        #expect(entries.contains { $0["field"] as? String == "steps" && ($0["author"] as? String) == "u-a@a" })
        #expect(entries.allSatisfy { ($0["sealed_run"] as? [String: Any])?["signature"] is String && $0["device_key"] is String })
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.path("history.csv")))
        let csv = String(decoding: bytes.dropFirst(3), as: UTF8.self)
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF], "a UTF-8 BOM, for Excel")
        #expect(csv.hasPrefix("time,author,device") && csv.components(separatedBy: "\r\n").count == entries.count + 2)
        let mine = try JSONSerialization.jsonObject(with: Data(try CLI.run(["case", "history", "--db", a, id, "--json"]).stdout.utf8)) as? [[String: Any]]
        #expect(mine?.count == entries.count && mine?.allSatisfy { $0["seal"] as? String == "own" } == true)

        // A change forged under a's device id, which a never made: no seal covers it.
        try Self.sql(hub.db, """
            INSERT INTO log (rid, counter, hlc, kind, record, field, elem, value, context, author)
            SELECT rid, counter + 1000, hlc, kind, record, 'summary', '', '伪造的摘要', NULL, author FROM log
            WHERE kind = 'case' AND field = 'title'
            """)
        try hub.enrol(unit: "c")
        #expect(try CLI.initNode(c, hub: hub.url, unit: "c").status == 0)
        let forged = try CLI.run(["sync", "--db", c])
        #expect(forged.status == 5 && forged.stderr.contains("without the seal"), "\(forged.stderr)")
    }

    @Test func aRevokedDeviceIsToldInOneLineAndRemovesWhatItHeld() throws {
        let dir = try TempDir()
        let hub = HubProcess(db: dir.path("hub.sqlite"))
        try hub.start()
        try hub.enrol(unit: "a")
        let a = dir.path("a.sqlite")
        #expect(try CLI.initNode(a, hub: hub.url, unit: "a").status == 0)
        #expect(try CLI.run(["sync", "--db", a]).status == 0)
        let devices = try CLI.run(["hub", "devices", "--db", hub.db, "--json"])
        let list = try #require(try JSONSerialization.jsonObject(with: Data(devices.stdout.utf8)) as? [[String: Any]])
        let id = try #require(list.first?["device"] as? String)
        #expect(list.count == 1 && list.first?["user"] as? String == "u-a")

        #expect(try CLI.run(["hub", "revoke", "--db", hub.db, id]).status == 0)
        #expect(try CLI.run(["case", "new", "--db", a, "--title", "离线写的"]).status == 0)
        #expect(try CLI.run(["case", "list", "--db", a]).stdout.contains("离线写的"))
        let refused = try CLI.run(["sync", "--db", a])
        #expect(refused.status == 5, "\(refused.stderr)")
        let lines = refused.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("revoked") && lines[0].contains("removed what it held") && lines[0].contains("unsynced changes"),
                "\(refused.stderr)")
        let left = try CLI.run(["case", "list", "--db", a])
        #expect(!left.stdout.contains("离线写的") && !left.stdout.contains("YQ-"), "a revoked device keeps no case: \(left.stdout)")
        let again = try CLI.run(["sync", "--db", a])
        #expect(again.status == 5 && again.stderr.contains("revoked"), "\(again.stderr)")

        // A node never enrolled is told how to enrol; an operator command without the key, to give it.
        let b = dir.path("b.sqlite")
        #expect(try CLI.initNode(b, hub: hub.url, unit: "b").status == 0)
        let unknown = try CLI.run(["sync", "--db", b])
        #expect(unknown.status == 5 && unknown.stderr.contains("yuqing node enrol"), "\(unknown.stderr)")
        let noKey = try CLI.run(["conflicts", "list", "--hub", hub.url], env: ["YUQING_OPERATOR_KEY": ""])
        #expect(noKey.status != 0 && noKey.stderr.contains("--operator-key"), "\(noKey.stderr)")
        let withKey = try CLI.run(["conflicts", "list", "--hub", hub.url, "--operator-key", hub.operatorKey])
        #expect(withKey.status == 0, "\(withKey.stderr)")
    }
}
