import Foundation
import YuqingTestSupport
import Testing

/// The command line as a user meets it: outputs, errors and exit codes.
@Suite struct CLITests {
    @Test func registerEditAndReportOffline() throws {
        let dir = try TempDir()
        let db = dir.path("n.sqlite")
        #expect(try CLI.initNode(db, hub: "http://127.0.0.1:9", unit: "乡镇A").status == 0)
        let env = ["YUQING_DB": db]
        let created = try CLI.run(["case", "new", "--title", "网帖", "--summary", "s", "--level", "ii"], env: env)
        #expect(created.status == 0)
        let id = created.lastWord
        #expect(id.hasPrefix("YQ-"))
        #expect(try CLI.run(["case", "set", id, "units+=Bureau B", "title=new title", "platform=weibo"], env: env).status == 0)
        #expect(try CLI.run(["case", "note", id, "first follow-up"], env: env).status == 0)
        let show = try CLI.run(["case", "show", id, "--json"], env: env)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        #expect(json["level"] as? String == "II")
        #expect(json["title"] as? String == "new title")
        #expect(json["platform"] as? String == "weibo")
        #expect(json["status"] as? String == "registered")
        #expect(json["unit"] as? String == "乡镇A")
        #expect(json["discovered_by"] as? String == "u-乡镇A@乡镇A")
        #expect(json["units"] as? [String] == ["Bureau B", "乡镇A"])
        let steps = try #require(json["steps"] as? [[String: Any]])
        #expect(steps.map { $0["kind"] as? String } == ["register", "report"])
        #expect(steps.last?["text"] as? String == "first follow-up")
        #expect((json["conflicts"] as? [Any])?.isEmpty == true)
        let removal = try CLI.run(["case", "set", id, "units-=Bureau B"], env: env)
        #expect(removal.status != 0 && removal.stderr.contains("never removed"), "a case's scope only grows")
        let list = try CLI.run(["case", "list", "--json"], env: env)
        let cases = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(cases.count == 1 && cases[0]["units"] as? [String] == ["Bureau B", "乡镇A"])
        let digest = try CLI.run(["digest"], env: env).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(digest.count == 64)
    }

    @Test(arguments: [
        (["case", "set", "YQ-NONE", "title=x"], "no case YQ-NONE"),
        (["case", "new", "--title", "t", "--level", "V"], "not a level"),
        (["case", "new", "--title", ""], "needs a title"),
        (["case", "new", "--title", "t", "--category", "7"], "category 7 does not exist"),
        (["case", "new", "--title", "t", "--platform", "fax"], "not a platform"),
    ])
    func userErrorsAreOneLineAndNonZero(args: [String], message: String) throws {
        let dir = try TempDir()
        let db = dir.path("n.sqlite")
        try CLI.initNode(db, hub: "http://127.0.0.1:9", unit: "u")
        let r = try CLI.run(args + ["--db", db])
        #expect(r.status != 0)
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        let list = try CLI.run(["case", "list", "--json", "--db", db])
        #expect((try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [Any])?.isEmpty == true)
    }

    @Test func badAssignmentsAndMissingReplicaSayWhatToDo() throws {
        let dir = try TempDir()
        let db = dir.path("n.sqlite")
        let missing = try CLI.run(["case", "list", "--db", db])
        #expect(missing.status != 0 && missing.stderr.contains("yuqing node init"))
        #expect(!FileManager.default.fileExists(atPath: db))
        let noDB = try CLI.run(["case", "list"], env: ["YUQING_DB": ""])
        #expect(noDB.status != 0 && noDB.stderr.contains("--db"))
        try CLI.initNode(db, hub: "http://127.0.0.1:9", unit: "u")
        let again = try CLI.initNode(db, hub: "http://127.0.0.1:9", unit: "u")
        #expect(again.status != 0 && again.stderr.contains("already exists"))
        let id = try CLI.run(["case", "new", "--db", db, "--title", "t"]).lastWord
        for (arg, hint) in [("colour=red", "editable fields"), ("title", "FIELD=VALUE"), ("units-=Nobody", "never removed"), ("keywords-=Nobody", "not among"),
                            ("unit=x", "cannot be edited"), ("status=done", "follows from the workflow"), ("co-units+=B", "case assign"),
                            ("level=I", "case level")] {
            let r = try CLI.run(["case", "set", "--db", db, id, arg])
            #expect(r.status != 0, "\(arg)")
            #expect(r.stderr.contains(hint), "\(arg): \(r.stderr)")
        }
        let badHub = try CLI.initNode(dir.path("x.sqlite"), hub: "nowhere", unit: "u")
        #expect(badHub.status != 0 && badHub.stderr.contains("hub URL"))
        let badUnit = try CLI.initNode(dir.path("y.sqlite"), hub: "http://127.0.0.1:9", unit: "a@b")
        #expect(badUnit.status != 0 && badUnit.stderr.contains("may not hold"))
    }

    @Test func valuesMayContainOperatorsAndUnitNamesAreNormalised() throws {
        let dir = try TempDir()
        let db = dir.path("n.sqlite")
        try CLI.initNode(db, hub: "http://127.0.0.1:9", unit: "u")
        let id = try CLI.run(["case", "new", "--db", db, "--title", "t"]).lastWord
        let composed = "Caf\u{E9}", decomposed = "Cafe\u{301}"
        #expect(try CLI.run(["case", "set", "--db", db, id, "summary=x+=1 and y-=2", "units+=\(composed)"]).status == 0)
        #expect(try CLI.run(["case", "set", "--db", db, id, "units+=\(decomposed)"]).status == 0)
        var json = try JSONSerialization.jsonObject(with: Data(try CLI.run(["case", "show", "--db", db, id, "--json"]).stdout.utf8)) as? [String: Any]
        #expect(json?["summary"] as? String == "x+=1 and y-=2")
        #expect((json?["units"] as? [String])?.count == 2)
        #expect(try CLI.run(["case", "set", "--db", db, id, "keywords+=\(composed)"]).status == 0)
        #expect(try CLI.run(["case", "set", "--db", db, id, "keywords-=\(decomposed)"]).status == 0)
        json = try JSONSerialization.jsonObject(with: Data(try CLI.run(["case", "show", "--db", db, id, "--json"]).stdout.utf8)) as? [String: Any]
        #expect((json?["keywords"] as? [String])?.isEmpty == true)
    }

    @Test func nodeCommandsRefuseTheHubsDatabase() throws {
        let dir = try TempDir()
        let hub = HubProcess(db: dir.path("hub.sqlite"))
        try hub.start()
        let r = try CLI.run(["case", "new", "--db", hub.db, "--title", "t"])
        #expect(r.status == 2 && r.stderr.contains("hub's database"))
        #expect(try CLI.run(["digest", "--db", hub.db]).status == 0)
    }

    @Test func aNodeRestoredFromABackupIsRefusedInsteadOfLosingWork() throws {
        let dir = try TempDir()
        let hub = HubProcess(db: dir.path("hub.sqlite"))
        try hub.start()
        let db = dir.path("a.sqlite"), backup = dir.path("backup.sqlite")
        try hub.enrol(unit: "a")
        try CLI.initNode(db, hub: hub.url, unit: "a")
        let id = try CLI.run(["case", "new", "--db", db, "--title", "t"]).lastWord
        #expect(try CLI.run(["sync", "--db", db]).status == 0)
        try FileManager.default.copyItem(atPath: db, toPath: backup)
        try CLI.run(["case", "note", "--db", db, id, "after the backup"])
        #expect(try CLI.run(["sync", "--db", db]).status == 0)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        try FileManager.default.copyItem(atPath: backup, toPath: db)
        try CLI.run(["case", "note", "--db", db, id, "important, after the restore"])
        let r = try CLI.run(["sync", "--db", db])
        #expect(r.status == 4)
        #expect(r.stderr.contains("restored from a backup"), "\(r.stderr)")
        let show = try CLI.run(["case", "show", "--db", db, id])
        #expect(show.stdout.contains("important, after the restore"))
    }

    @Test func syncWithTheHubDownSaysTheWorkIsSaved() throws {
        let dir = try TempDir()
        let db = dir.path("n.sqlite")
        try CLI.initNode(db, hub: "http://127.0.0.1:\(CLI.freePort())", unit: "u")
        try CLI.run(["case", "new", "--db", db, "--title", "t"])
        let r = try CLI.run(["sync", "--db", db])
        #expect(r.status == 3)
        #expect(r.stderr.contains("saved locally (7 changes waiting)"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test(arguments: [("Examples/offline-conflict/run.sh", 4), ("Examples/case-lifecycle/run.sh", 5)])
    func exampleScenariosConverge(script path: String, replicas: Int) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent(path).path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script]
        p.environment = ProcessInfo.processInfo.environment.merging(["YUQING_BIN": CLI.binary]) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let last = text.split(separator: "\n").last.map(String.init) ?? ""
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(last.hasPrefix("converged: \(replicas) replicas, digest "), "\(text)")
    }
}
