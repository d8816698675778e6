import Foundation
import GRDB
import Testing
import YuqingCases
import YuqingCore
import YuqingReplica
import YuqingSecurity
import YuqingSync
import YuqingTestSupport

/// A new node of the office starting from the hub's snapshot (`Protocol/sync.md` §5.11, §6.5),
/// through real processes: it ends as a node that replayed the log would, it pulls on and works
/// as any node, a unit's node still replays its own cases, and a snapshot altered anywhere its
/// seals cover is refused with nothing installed.
@Suite(.serialized) struct SnapshotTests {
    /// A hub that makes a snapshot once its log has grown by 20 changes, with units a and b and
    /// the office, whose nodes registered and worked on cases: values superseded (runs the
    /// snapshot holds in part), a case assigned (changes with contexts).
    static func workedHub(_ dir: TempDir) throws -> (hub: HubProcess, snapshot: String, office: String) {
        // The work is done with snapshots off; the hub then restarts making one as it starts,
        // so that exactly one is made (the pushes of the tests stay below 20 changes).
        let hub = HubProcess(db: dir.path("hub.sqlite"))
        hub.serveArguments = ["--snapshot-every", "0"]
        try hub.start()
        for u in ["a", "b"] { try hub.enrol(unit: u, roles: ["monitor", "commentator"]) }
        try hub.enrol(unit: "office", roles: ["office", "leader"])
        func db(_ u: String) -> String { dir.path("\(u).sqlite") }
        for u in ["a", "b"] { #expect(try CLI.initNode(db(u), hub: hub.url, unit: u, roles: ["monitor", "commentator"]).status == 0) }
        #expect(try CLI.initNode(db("office"), hub: hub.url, unit: "office", roles: ["office", "leader"]).status == 0)
        var cases: [String] = []
        for u in ["a", "b"] {
            for n in 1...3 {
                let r = try CLI.run(["case", "new", "--db", db(u), "--title", "\(u) 单位的第\(n)条舆情", "--summary", "网帖反映\(u)的问题之\(n)"])
                #expect(r.status == 0, "\(r.stderr)")
                cases.append(r.lastWord)
            }
            #expect(try CLI.run(["case", "set", "--db", db(u), cases.last!, "title=\(u) 单位改过的标题"]).status == 0)
            #expect(try CLI.run(["sync", "--db", db(u)]).status == 0)
        }
        #expect(try CLI.run(["sync", "--db", db("office")]).status == 0)
        #expect(try CLI.run(["case", "assess", "--db", db("office"), cases[0], "--category", "2", "--level", "III", "--opinion", "由 b 牵头"]).status == 0)
        #expect(try CLI.run(["case", "assign", "--db", db("office"), cases[0], "--lead", "b", "--deadline", "+3d"]).status == 0)
        #expect(try CLI.run(["case", "set", "--db", db("office"), cases[1], "title=办公室改过的标题"]).status == 0)
        #expect(try CLI.run(["sync", "--db", db("office")]).status == 0)
        hub.kill(signal: SIGTERM)
        hub.serveArguments = ["--snapshot-every", "20"]
        try hub.start()
        // The hub makes it in the background once it has started.
        let prefix = "hub.sqlite.snapshot-"
        for _ in 0..<200 {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.url.path)) ?? []
            // The finished file only (`…-POSITION`), not the one being written or its journal.
            if let name = names.first(where: { $0.hasPrefix(prefix) && $0.dropFirst(prefix.count).allSatisfy(\.isNumber) }) {
                return (hub, dir.path(name), db("office"))
            }
            usleep(50_000)
        }
        throw CLITestError("the hub made no snapshot")
    }

    static func digests(_ db: String) throws -> (node: String, hub: String) {
        let d = try PartialReplicationTests.digests(db)
        return (d.node, d.hub)
    }

    @Test func aNewNodeOfTheOfficeStartsFromTheSnapshotAndEndsAsAReplayWould() async throws {
        let dir = try TempDir()
        let (hub, _, office) = try Self.workedHub(dir)
        defer { hub.kill() }
        // A change after the snapshot: the new node pulls it after installing the snapshot.
        #expect(try CLI.run(["case", "new", "--db", dir.path("a.sqlite"), "--title", "快照之后的舆情"]).status == 0)
        #expect(try CLI.run(["sync", "--db", dir.path("a.sqlite")]).status == 0)

        try hub.enrol(unit: "office", user: "u-office2", roles: ["office", "leader"])
        let fresh = dir.path("office2.sqlite")
        #expect(try CLI.initNode(fresh, hub: hub.url, unit: "office", user: "u-office2", roles: ["office", "leader"]).status == 0)
        let synced = try CLI.run(["sync", "--db", fresh])
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(synced.stdout.contains("started from the hub's snapshot"), "\(synced.stdout)")
        #expect(!FileManager.default.fileExists(atPath: fresh + ".snapshot"), "the downloaded file became the replica")
        let d = try Self.digests(fresh)
        #expect(d.node == d.hub, "the node holds what the hub holds")
        let list = try CLI.run(["case", "list", "--db", fresh]).stdout
        #expect(list.contains("快照之后的舆情") && list.contains("办公室改过的标题") && list.contains("a 单位改过的标题"), "\(list)")
        // Its history shows every value checked against its seal.
        let replica = try Replica.open(at: fresh, mode: .readOnly, schema: CaseSchema.schema)
        let unverified = try await replica.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM seal WHERE verified = 0") ?? -1 }
        #expect(unverified == 0)

        // It works as any node: a case it registers reaches the other office node.
        let made = try CLI.run(["case", "new", "--db", fresh, "--title", "新节点登记的舆情"])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(try CLI.run(["sync", "--db", fresh]).status == 0)
        #expect(try CLI.run(["sync", "--db", office]).status == 0)
        #expect(try CLI.run(["case", "list", "--db", office]).stdout.contains("新节点登记的舆情"))
        let again = try Self.digests(office), mine = try Self.digests(fresh)
        #expect(again.node == again.hub && mine.node == mine.hub && mine.node == again.node)
        // It has seen every change the hub holds, the hub's own writes included.
        func seen(_ path: String) throws -> VersionVector { try Replica.open(at: path, mode: .readOnly, schema: CaseSchema.schema).versionVector() }
        let hubSeen = try Replica.open(at: hub.db, mode: .readOnly, schema: CaseSchema.schema).versionVector()
        #expect(try seen(fresh) == hubSeen && (try seen(office)) == hubSeen)

        // `--no-snapshot` replays the log, to the same state.
        try hub.enrol(unit: "office", user: "u-office3", roles: ["office", "leader"])
        let replayed = dir.path("office3.sqlite")
        #expect(try CLI.initNode(replayed, hub: hub.url, unit: "office", user: "u-office3", roles: ["office", "leader"]).status == 0)
        let replay = try CLI.run(["sync", "--db", replayed, "--no-snapshot"])
        #expect(replay.status == 0 && !replay.stdout.contains("snapshot"), "\(replay.stdout) \(replay.stderr)")
        #expect(try CLI.run(["sync", "--db", fresh]).status == 0)
        let byReplay = try Self.digests(replayed), bySnapshot = try Self.digests(fresh)
        #expect(byReplay.node == byReplay.hub && bySnapshot.node == byReplay.node, "the same state either way")
        #expect(try seen(replayed) == (try seen(fresh)))

        // A unit's node sees only its unit's cases: no snapshot, it replays them.
        try hub.enrol(unit: "a", user: "u-a2", roles: ["monitor", "commentator"])
        let unit = dir.path("a2.sqlite")
        #expect(try CLI.initNode(unit, hub: hub.url, unit: "a", user: "u-a2", roles: ["monitor", "commentator"]).status == 0)
        let unitSync = try CLI.run(["sync", "--db", unit])
        #expect(unitSync.status == 0 && !unitSync.stdout.contains("snapshot"), "\(unitSync.stdout) \(unitSync.stderr)")
        let u = try Self.digests(unit)
        #expect(u.node == u.hub && u.node != mine.node)

        // A node that holds something already never takes a snapshot.
        let second = try CLI.run(["sync", "--db", fresh])
        #expect(second.status == 0 && !second.stdout.contains("snapshot"))
    }

    /// The hub's key and a node's view of it, for checking a snapshot file directly.
    static func security(_ hubDB: String) throws -> NodeSecurity {
        let hubKey = try SigningKey.load(from: hubDB + ".hub.key").publicKey
        return NodeSecurity(key: SigningKey(), hubKey: hubKey, keys: KeyLocation(kind: CaseSchema.Kind.device, field: CaseSchema.DeviceField.publicKey))
    }

    @Test func aSnapshotAlteredAnywhereItsSealsCoverIsRefused() async throws {
        let dir = try TempDir()
        let (hub, snapshot, _) = try Self.workedHub(dir)
        hub.kill()
        let security = try Self.security(hub.db)
        let hubID = try #require(try Replica.open(at: hub.db, mode: .readOnly, schema: CaseSchema.schema).id as ReplicaID?)

        /// A copy of the hub's snapshot with `sql` run on it, checked as a node checks it.
        func check(_ name: String, altering sql: String?) throws -> Int {
            let copy = dir.path(name)
            try FileManager.default.copyItem(atPath: snapshot, toPath: copy)
            if let sql {
                let q = try DatabaseQueue(path: copy)
                try q.writeWithoutTransaction { db in try db.execute(sql: sql) }
                try q.close()
            }
            let file = try SnapshotFile(path: copy, hub: hubID)
            return try SnapshotBootstrap.check(file, security: security, schema: CaseSchema.schema).seals
        }
        // As the hub made it, every seal checks (so the refusals below are the alterations').
        let seals = try check("intact", altering: nil)
        #expect(seals > 0)
        let proofs = try await DatabaseQueue(path: snapshot).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM snapshot_proof") ?? 0 }
        #expect(proofs > 0, "some runs are held in part (values superseded since), checked with proofs")

        func refused(_ name: String, _ sql: String, saying words: String) {
            do {
                _ = try check(name, altering: sql)
                Issue.record("\(name): the altered snapshot was accepted")
            } catch let error as ReplicaError {
                #expect(error.message.contains(words), "\(name): \(error.message)")
            } catch {
                Issue.record("\(name): \(error)")
            }
        }
        refused("value", """
            UPDATE field_value SET value = '篡改的标题'
            WHERE (kind, record, field, elem, rid, counter) = (SELECT kind, record, field, elem, rid, counter FROM field_value WHERE field = 'title' LIMIT 1)
            """,
                saying: "altered or forged")
        refused("author", "UPDATE field_value SET author = 'u-b@b' WHERE kind = 'case' AND author = 'u-a@a' AND field = 'title'", saying: "altered or forged")
        refused("forged", """
            INSERT INTO field_value (kind, record, field, elem, rid, counter, hlc, value, author)
            SELECT kind, record, 'summary', '', rid, 999999, hlc, '伪造的摘要', author FROM field_value WHERE field = 'title' LIMIT 1
            """, saying: "does not count as seen")
        refused("forged and seen", """
            INSERT INTO field_value (kind, record, field, elem, rid, counter, hlc, value, author)
            SELECT kind, record, 'summary', '', rid, 999999, hlc, '伪造的摘要', author FROM field_value WHERE field = 'title' LIMIT 1;
            INSERT INTO seen_range (rid, lo, hi) SELECT rid, 999999, 999999 FROM field_value WHERE counter = 999999;
            """, saying: "no seal")
        refused("unsealed", "DELETE FROM seal WHERE replica <> (SELECT value FROM meta WHERE key = 'hub_id')", saying: "no seal")
        refused("proof", "UPDATE snapshot_proof SET hashes = zeroblob(length(hashes))", saying: "altered or forged")
        refused("context", "DELETE FROM snapshot_context", saying: "altered or forged")
        refused("trigger", "CREATE TRIGGER t AFTER INSERT ON meta BEGIN DELETE FROM field_value; END", saying: "laid out")
        refused("hub", "UPDATE meta SET value = 'another' WHERE key = 'hub_id'", saying: "does not come from hub")
        // Tables a snapshot never fills: a change to push would be sealed by the new node itself.
        refused("log", """
            INSERT INTO log (rid, counter, hlc, kind, record, field, elem, value, context, author)
            SELECT rid, counter + 1000, hlc, kind, record, field, elem, '伪造', NULL, author FROM field_value LIMIT 1
            """, saying: "never holds")
        refused("waiting", """
            INSERT INTO waiting_change (rid, counter, hlc, kind, record, field, elem, value, context, author, logged)
            SELECT rid, counter + 1000, hlc, kind, record, field, elem, '伪造', NULL, author, 0 FROM field_value LIMIT 1
            """, saying: "never holds")
        // A seen set past what the devices signed would have the node drop their next changes.
        refused("seen", "UPDATE seen_range SET hi = hi + 1000 WHERE rid <> (SELECT rid FROM replica_name WHERE name = (SELECT value FROM meta WHERE key = 'hub_id'))",
                saying: "no seal it holds covers")
        // A superseded value put back beside the one that superseded it, exactly as its device
        // signed it (so only the supersession tells it apart).
        refused("superseded", """
            ATTACH DATABASE '\(hub.db)' AS h;
            INSERT INTO field_value (kind, record, field, elem, rid, counter, hlc, value, author)
            SELECT kind, record, field, elem, rid, counter, hlc, value, author FROM h.log l
            WHERE field = 'title' AND NOT EXISTS (SELECT 1 FROM h.field_value f WHERE f.rid = l.rid AND f.counter = l.counter) LIMIT 1;
            DETACH DATABASE h;
            """, saying: "superseded it")
    }

    @Test func aSnapshotDamagedOnTheWayIsNotInstalled() async throws {
        let dir = try TempDir()
        let (hub, snapshot, _) = try Self.workedHub(dir)
        defer { hub.kill() }
        // The served file changes under the hub after it took its digest: what arrives does not match.
        let handle = try #require(FileHandle(forUpdatingAtPath: snapshot))
        try handle.seek(toOffset: 8192)
        try handle.write(contentsOf: Data(repeating: 0x5A, count: 64))
        try handle.close()
        try hub.enrol(unit: "office", user: "u-office2", roles: ["office", "leader"])
        let fresh = dir.path("office2.sqlite")
        #expect(try CLI.initNode(fresh, hub: hub.url, unit: "office", user: "u-office2", roles: ["office", "leader"]).status == 0)
        let r = try CLI.run(["sync", "--db", fresh])
        #expect(r.status != 0 && r.stderr.contains("arrived damaged"), "\(r.stdout) \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fresh + ".snapshot"), "the damaged download was removed")
        // Nothing of the node changed: it is still new, and replays the log when asked to.
        let replay = try CLI.run(["sync", "--db", fresh, "--no-snapshot"])
        #expect(replay.status == 0, "\(replay.stderr)")
        let d = try Self.digests(fresh)
        #expect(d.node == d.hub)
    }
}
