import Foundation
import Logging
import PostgresNIO
import Testing
import YuqingCases
import YuqingCore
import YuqingReplica
import YuqingPostgres
import YuqingTestSupport

/// Two hub processes over one PostgreSQL database serve nodes as one hub; one of them, SIGKILLed
/// while a push's merge holds the log lock (its transaction open), loses nothing: the push rolls
/// back whole, the node sends it again to the other instance, and everything converges.
@Suite(.serialized, .processHeavy) struct PostgresInstancesCLITests {
    /// The log lock's key (`Protocol/postgres.md` §3), as `pg_locks` shows an advisory lock
    /// taken with a bigint: the low half in `objid`, `objsubid` 1.
    static let logLock: Int64 = 0x5971_6E67

    static func count(_ db: PostgresClient, _ query: PostgresQuery) async throws -> Int {
        for try await n in try await db.query(query).decode(Int64.self) { return Int(n) }
        return 0
    }

    @Test(.enabled(if: PostgresForCLI.url != nil, "needs YUQING_POSTGRES_URL (scripts/test.sh starts a PostgreSQL server)"))
    func anInstanceKilledMidPushLosesNothingAndTheOtherServesOn() async throws {
        let dir = try TempDir()
        let url = try #require(try await PostgresForCLI.database(for: "postgres"))
        let files = dir.path("hub")
        let a = HubProcess(db: files, postgres: url), b = HubProcess(db: files, postgres: url)
        try a.start()
        try b.start()
        let db = PostgresClient(configuration: try PostgresURL.configuration(url))
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await db.run() }
            defer { group.cancelAll() }

            // Node x works through instance a: one case with 600 units concerned, unsynced. The
            // office's node works through instance b.
            let (x, caseID) = try CrashTests.nodeWithWork(dir, a, name: "x")
            let xID = try Replica.open(at: x, schema: CaseSchema.schema).id.rawValue
            let mine = CrashTests.total + CrashTests.registration
            try b.enrol(unit: "office", roles: ["office", "leader"])
            let office = dir.path("office.sqlite")
            #expect(try CLI.initNode(office, hub: b.url, unit: "office", roles: ["office", "leader"]).status == 0)

            // x pushes in batches of 20 to a; a is killed while one of its merges holds the lock.
            let push = try CrashTests.launch(["sync", "--db", x, "--batch-size", "20"])
            var killedMidMerge = false
            let deadline = Date().addingTimeInterval(120)
            while push.0.isRunning, Date() < deadline {
                let held = try await Self.count(db, """
                    SELECT count(*)::int8 FROM pg_locks WHERE locktype = 'advisory' AND objid = \(Self.logLock) AND objsubid = 1 AND granted
                    """)
                if held > 0 {
                    a.kill()
                    killedMidMerge = true
                    break
                }
            }
            #expect(killedMidMerge, "instance a was not caught inside a merge")
            push.0.waitUntilExit()
            #expect(push.0.terminationStatus == 3, "an interrupted sync reports the hub unreachable")
            // The killed instance's session ends and its transaction rolls back: then no one holds the lock.
            while try await Self.count(db, "SELECT count(*)::int8 FROM pg_locks WHERE locktype = 'advisory' AND objid = \(Self.logLock) AND granted") > 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            // What x's pushes committed is whole pushes: counters 1...n without a gap, n a multiple of 20.
            let held = try await Self.count(db, "SELECT count(*)::int8 FROM log WHERE rid = \(xID)")
            let top = try await Self.count(db, "SELECT coalesce(max(counter), 0)::int8 FROM log WHERE rid = \(xID)")
            print("instance a killed mid-merge; the log then held \(held) of x's \(mine) changes")
            #expect(held == top && held % 20 == 0 && held < mine, "x's changes in the log after the kill: \(held), up to counter \(top)")
            #expect(try await Self.count(db, "SELECT count(*)::int8 FROM waiting_change") == 0)

            // x sends everything again, to instance b: each change is stored once.
            let resumed = try CLI.run(["sync", "--db", x, "--hub", b.url])
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(try await Self.count(db, "SELECT count(*)::int8 FROM log WHERE rid = \(xID)") == mine)

            // The office's node, on b, receives all of it; a, restarted, serves the same hub.
            #expect(try CLI.run(["sync", "--db", office]).status == 0)
            let show = try CLI.run(["case", "show", "--db", office, caseID, "--json"])
            let json = try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any]
            #expect((json?["units"] as? [String])?.count == CrashTests.total + 1, "\(show.stderr)")
            try a.start()
            let again = try CLI.run(["sync", "--db", x])
            #expect(again.status == 0 && again.stdout.hasPrefix("pushed 0 changes"), "\(again.stdout) \(again.stderr)")
            for node in [x, office] {
                let d = try CLI.run(["digest", "--db", node, "--with-hub"])
                #expect(d.status == 0 && d.stdout.contains("equal:"), "\(node): \(d.stdout) \(d.stderr)")
            }
        }
    }
}
