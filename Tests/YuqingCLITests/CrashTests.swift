import Foundation
import YuqingTestSupport
import Testing
import YuqingCases
import YuqingCore
import YuqingReplica

/// Real processes killed for real: a node SIGKILLed in the middle of a sync, restarted, loses
/// nothing and duplicates nothing once it syncs again. So does a hub killed mid-sync.
@Suite(.serialized, .processHeavy) struct CrashTests {
    static let total = 600

    /// The changes a registration with a title makes: unit, discovered at and by, title, the unit
    /// among the units concerned, the quick-report clock and the register step.
    static let registration = 7

    /// A node with `total` units concerned on one case, all unsynced (one command, one transaction).
    static func nodeWithWork(_ dir: TempDir, _ hub: HubProcess, name: String) throws -> (db: String, caseID: String) {
        let db = dir.path("\(name).sqlite")
        try hub.enrol(unit: name)
        try CLI.initNode(db, hub: hub.url, unit: name)
        let id = try CLI.run(["case", "new", "--db", db, "--title", "crash test"]).lastWord
        let units = (0..<total).map { "units+=unit \($0)" }
        let set = try CLI.run(["case", "set", "--db", db, id] + units)
        #expect(set.status == 0, "\(set.stderr)")
        return (db, id)
    }

    /// Starts `yuqing args`, with its stderr kept for the report if it ends on its own.
    static func launch(_ args: [String]) throws -> (Process, Pipe) {
        let p = try CLI.start(args)
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return (p, err)
    }

    /// Waits until `condition` holds (polling), then SIGKILLs `process`.
    static func kill(_ launched: (Process, Pipe), when condition: () throws -> Bool) throws {
        let (process, err) = launched
        let deadline = Date().addingTimeInterval(120)
        while try !condition() {
            guard process.isRunning, Date() < deadline else {
                process.waitUntilExit()
                let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                throw CLITestError("the sync ended (status \(process.terminationStatus)) before it could be interrupted: \(stderr)")
            }
            usleep(1_000)
        }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    @Test func nodeKilledMidPushAndMidPullLosesAndDuplicatesNothing() throws {
        let dir = try TempDir()
        let hub = HubProcess(db: dir.path("hub.sqlite"))
        try hub.start()
        try hub.enrol(unit: "b")
        let (a, caseID) = try Self.nodeWithWork(dir, hub, name: "a")
        let org = try hub.status()["head"] as? Int ?? 0  // the organisation's records, written at the hub
        let changes = Self.total + Self.registration + org

        // Push in batches of 2, killed once the hub holds part of it.
        let push = try Self.launch(["sync", "--db", a, "--batch-size", "2"])
        try Self.kill(push) { (try hub.status()["head"] as? Int ?? 0) > 20 }
        let headAtKill = try hub.status()["head"] as? Int ?? 0
        #expect(headAtKill < changes, "the push was not interrupted mid-way")

        let resumed = try CLI.run(["sync", "--db", a, "--batch-size", "50"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try hub.status()["head"] as? Int == changes)
        let hubReplica = try Replica.open(at: hub.db, schema: CaseSchema.schema)
        #expect(try hubReplica.logCount() == changes)

        // Another node pulls in batches of 2 and is killed once it has applied part of it.
        let b = dir.path("b.sqlite")
        try CLI.initNode(b, hub: hub.url, unit: "b")
        let bReplica = try Replica.open(at: b, schema: CaseSchema.schema)
        let pull = try Self.launch(["sync", "--db", b, "--batch-size", "2"])
        try Self.kill(pull) { try bReplica.info().pullCursor > 20 }
        let cursorAtKill = try bReplica.info().pullCursor
        #expect(cursorAtKill < Int64(changes), "the pull was not interrupted mid-way")
        #expect(try bReplica.appliedCount() == Int(cursorAtKill))

        let finished = try CLI.run(["sync", "--db", b])
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(try bReplica.appliedCount() == changes + 4, "and b's own device record, written at the hub when b enrolled")
        let show = try CLI.run(["case", "show", "--db", b, caseID, "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any]
        #expect((json?["units"] as? [String])?.count == Self.total + 1)

        let last = try CLI.run(["sync", "--db", a])
        #expect(last.stdout.hasPrefix("pushed 0 changes, pulled 4"),
                "b's device record; the sync ended \(last.status): \(last.stdout) \(last.stderr)")
        let digests = try [a, b, hub.db].map { try CLI.run(["digest", "--db", $0]).stdout }
        #expect(Set(digests).count == 1, "a, b and the hub: \(digests)")
    }

    @Test func hubKilledMidSyncAndRestartedLosesNothing() throws {
        let dir = try TempDir()
        let hub = HubProcess(db: dir.path("hub.sqlite"))
        try hub.start()
        let (a, _) = try Self.nodeWithWork(dir, hub, name: "a")
        let org = try hub.status()["head"] as? Int ?? 0
        let push = try CLI.start(["sync", "--db", a, "--batch-size", "4"])
        push.standardError = FileHandle.nullDevice
        try push.run()
        while (try? hub.status()["head"] as? Int ?? 0) ?? 0 < 40 { usleep(2_000) }
        hub.kill()
        push.waitUntilExit()
        #expect(push.terminationStatus == 3, "an interrupted sync reports the hub unreachable")

        let offline = try CLI.run(["sync", "--db", a])
        #expect(offline.status == 3)
        #expect(offline.stderr.contains("saved locally"))

        try hub.start()
        let resumed = try CLI.run(["sync", "--db", a])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Replica.open(at: hub.db, schema: CaseSchema.schema).logCount() == Self.total + Self.registration + org)
        #expect(try CLI.run(["digest", "--db", a]).stdout == CLI.run(["digest", "--db", hub.db]).stdout)
    }
}
