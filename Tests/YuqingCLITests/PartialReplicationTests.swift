import Foundation
import Testing
import YuqingTestSupport

/// Partial replication through real processes, on the SQLite hub and on the PostgreSQL hub: each unit's node receives only the cases its unit
/// may see, a case assigned to it arrives with its whole history, a case assigned away is removed
/// at the next sync, and each node's digest equals the hub's digest of what its unit may see.
@Suite struct PartialReplicationTests {
    static func digests(_ db: String) throws -> (node: String, hub: String, text: String) {
        let r = try CLI.run(["digest", "--db", db, "--with-hub"])
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        guard r.status == 0, lines.count >= 2, lines[0].count >= 2, lines[1].count >= 2 else { throw CLITestError("digest: \(r.stdout) \(r.stderr)") }
        return (String(lines[0][1]), String(lines[1][1]), r.stdout)
    }

    @Test(.serialized, arguments: PostgresForCLI.stores)
    func eachUnitSeesItsCasesAndLosesTheOnesAssignedAway(store: String) async throws {
        let dir = try TempDir()
        let hub = HubProcess(db: dir.path("hub.sqlite"), postgres: try await PostgresForCLI.database(for: store))
        try hub.start()
        let units = ["a", "b", "c"]
        for u in units { try hub.enrol(unit: u, roles: ["monitor", "commentator"]) }
        try hub.enrol(unit: "office", roles: ["office", "leader"])
        func db(_ u: String) -> String { dir.path("\(u).sqlite") }
        for u in units { #expect(try CLI.initNode(db(u), hub: hub.url, unit: u, roles: ["monitor", "commentator"]).status == 0) }
        #expect(try CLI.initNode(db("office"), hub: hub.url, unit: "office", roles: ["office", "leader"]).status == 0)

        // Each unit registers its own case, with a piece of evidence on a's.
        var ids: [String: String] = [:]
        let evidence = dir.path("post.txt")
        try Data("帖子截图的内容".utf8).write(to: URL(fileURLWithPath: evidence))
        for u in units {
            let r = try CLI.run(["case", "new", "--db", db(u), "--title", "\(u) 单位的舆情"])
            #expect(r.status == 0, "\(r.stderr)")
            ids[u] = r.lastWord
        }
        #expect(try CLI.run(["case", "evidence", "--db", db("a"), ids["a"]!, evidence]).status == 0)
        for u in units + ["office"] {
            let r = try CLI.run(["sync", "--db", db(u)])
            #expect(r.status == 0 && !r.stdout.contains("now visible"), "a unit's own new case is not received back: \(u): \(r.stdout) \(r.stderr)")
        }
        func sees(_ u: String) throws -> String { try CLI.run(["case", "list", "--db", db(u)]).stdout }
        /// Syncs `u`, which must succeed, then its digest must be the hub's of what its unit may see.
        func holdsItsView(_ u: String, _ when: String) throws {
            let synced = try CLI.run(["sync", "--db", db(u)])
            #expect(synced.status == 0, "\(u) \(when): \(synced.stderr)")
            let d = try Self.digests(db(u))
            #expect(d.node == d.hub, "\(u) \(when): \(d.text)")
        }
        let seenByA = try sees("a"), seenByB = try sees("b")
        #expect(seenByA.contains("a 单位") && !seenByA.contains("b 单位") && !seenByA.contains("c 单位"), "\(seenByA)")
        #expect(seenByB.contains("b 单位") && !seenByB.contains("a 单位"), "\(seenByB)")
        let office = try sees("office")
        #expect(units.allSatisfy { office.contains("\($0) 单位") }, "the office sees every case")

        // The office assesses a's case and assigns it to b: b receives it, whole, at its next sync.
        let x = ids["a"]!
        #expect(try CLI.run(["case", "assess", "--db", db("office"), x, "--category", "2", "--level", "III", "--opinion", "由 b 牵头"]).status == 0)
        let assigned = try CLI.run(["case", "assign", "--db", db("office"), x, "--lead", "b", "--deadline", "+3d"])
        #expect(assigned.status == 0, "\(assigned.stderr)")
        #expect(try CLI.run(["sync", "--db", db("office")]).status == 0)
        let received = try CLI.run(["sync", "--db", db("b")])
        #expect(received.status == 0 && received.stdout.contains("now visible"), "\(received.stdout) \(received.stderr)")
        #expect(try sees("b").contains("a 单位"))
        let history = try CLI.run(["case", "history", "--db", db("b"), x, "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]], "\(history.stderr)")
        #expect(entries.contains { $0["field"] as? String == "title" } && entries.allSatisfy { $0["seal"] as? String == "verified" },
                "b holds the case's history from its registration, every entry checked against its seal")
        #expect(try CLI.run(["sync", "--db", db("b")]).status == 0)
        let bBlobs = dir.path("b.sqlite.blobs")
        func files() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: bBlobs)) ?? []).filter { $0.count == 64 } }
        #expect(files().count == 1, "b fetched the case's evidence")

        // Every node holds exactly what its unit may see.
        for u in units + ["office"] { try holdsItsView(u, "") }
        let aView = try Self.digests(db("a")), bView = try Self.digests(db("b"))
        #expect(aView.hub != bView.hub, "units that see different cases have different digests")

        // Reassigned to c, the case leaves b at b's next sync (values and evidence), and c gets it.
        #expect(try CLI.run(["case", "assign", "--db", db("office"), x, "--lead", "c", "--deadline", "+3d"]).status == 0)
        #expect(try CLI.run(["sync", "--db", db("office")]).status == 0)
        let purged = try CLI.run(["sync", "--db", db("b")])
        #expect(purged.status == 0 && purged.stdout.contains("removed 1 cases this unit may no longer see"), "\(purged.stdout) \(purged.stderr)")
        let afterPurge = try sees("b")
        #expect(!afterPurge.contains("a 单位") && afterPurge.contains("b 单位"), "\(afterPurge)")
        #expect(files().isEmpty, "the evidence file left b too")
        #expect(try CLI.run(["sync", "--db", db("c")]).stdout.contains("now visible"))
        #expect(try sees("c").contains("a 单位"))
        // a registered it: a keeps it throughout.
        #expect(try CLI.run(["sync", "--db", db("a")]).status == 0)
        #expect(try sees("a").contains("a 单位"))

        // Assigned back to b, b rebuilds it from its whole history, though it removed it before.
        #expect(try CLI.run(["case", "assign", "--db", db("office"), x, "--lead", "b", "--deadline", "+3d"]).status == 0)
        #expect(try CLI.run(["sync", "--db", db("office")]).status == 0)
        #expect(try CLI.run(["sync", "--db", db("b")]).stdout.contains("now visible"))
        for u in units + ["office"] { try holdsItsView(u, "after the reassignments") }

        // b reports and syncs; the case goes to c and back to b before b pulls again: rebuilt from
        // its whole history, it keeps b's own report, and b's report written meanwhile, unsynced.
        #expect(try CLI.run(["case", "report", "--db", db("b"), x, "b 单位已核实"]).status == 0)
        #expect(try CLI.run(["sync", "--db", db("b")]).status == 0)
        for lead in ["c", "b"] {
            #expect(try CLI.run(["case", "assign", "--db", db("office"), x, "--lead", lead, "--deadline", "+3d"]).status == 0)
            #expect(try CLI.run(["sync", "--db", db("office")]).status == 0)
        }
        #expect(try CLI.run(["case", "report", "--db", db("b"), x, "b 单位第二次报告"]).status == 0)
        let rebuilt = try CLI.run(["sync", "--db", db("b")])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        let shown = try CLI.run(["case", "show", "--db", db("b"), x]).stdout
        #expect(shown.contains("b 单位已核实") && shown.contains("b 单位第二次报告"), "\(shown)")
        for u in ["b", "office"] { try holdsItsView(u, "after the round trip") }

        // The hub's history of the case keeps every lead unit it had, each under its device's
        // seal; a node shows the value it holds now.
        let csv = dir.path("x.csv")
        let full = try CLI.run(["hub", "history"] + hub.storeArguments() + [x, "--json", "--csv", csv])
        let hubEntries = try #require(try JSONSerialization.jsonObject(with: Data(full.stdout.utf8)) as? [[String: Any]], "\(full.stderr)")
        let leads = hubEntries.filter { $0["field"] as? String == "lead_unit" }.compactMap { $0["value"] as? String }
        #expect(leads == ["b", "c", "b", "c", "b"], "\(leads)")
        #expect(hubEntries.allSatisfy { $0["seal"] as? String == "verified" && $0["sealed_run"] != nil })
        let onNode = try JSONSerialization.jsonObject(with: Data(try CLI.run(["case", "history", "--db", db("b"), x, "--json"]).stdout.utf8)) as? [[String: Any]]
        #expect(onNode?.filter { $0["field"] as? String == "lead_unit" }.count == 1)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: csv))
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        #expect(String(decoding: bytes.dropFirst(3), as: UTF8.self).components(separatedBy: "\r\n").count == hubEntries.count + 2)
        let unknown = try CLI.run(["hub", "history"] + hub.storeArguments() + ["YQ-NOSUCHCASE"])
        #expect(unknown.status != 0 && unknown.stderr.contains("holds no case"), "\(unknown.stderr)")
    }
}
