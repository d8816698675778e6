import Foundation
import GRDB
import Testing
@testable import YuqingCore
@testable import YuqingReplica
import YuqingTestSupport

/// A replica file written by the first layout opens in the current one with nothing lost.
@Suite struct MigrationTests {
    /// A version-1 node file: two own changes (one pushed), one pulled from the hub, and one
    /// change waiting for a value it supersedes.
    func makeVersion1Node(_ path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try ReplicaSchema.migrator.migrate(queue, upTo: "v1: replica")
        try queue.write { db in
            for (k, v) in [("replica_id", "node1"), ("role", "node"), ("unit", "Township A")] {
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: [k, v])
            }
            for (k, v) in [("counter", 2), ("push_cursor", 1), ("pull_cursor", 7), ("clock_offset", 0)] {
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: [k, v])
            }
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('hlc', ?)", arguments: [Int64(HLC(wallMillis: 5000).packed)])
            let rows: [(Int64, String, Int64, Int64, String, String?, String, Int64)] = [
                (1, "node1", 1, 1000, "title", "", "Township A", 0),
                (2, "hub1", 4, 2000, "summary", "", "operator", 1),
                (3, "node1", 2, 3000, "title", "node1:1", "Township A", 0),
            ]
            for (seq, replica, counter, wall, field, context, author, fromHub) in rows {
                try db.execute(sql: """
                    INSERT INTO change_log (seq, replica, counter, hlc, kind, record, field, elem, value, context, author, from_hub)
                    VALUES (?, ?, ?, ?, 'case', 'YQ-1', ?, '', ?, ?, ?, ?)
                    """, arguments: [seq, replica, counter, Int64(HLC(wallMillis: UInt64(wall)).packed), field,
                                     "\(field) \(seq)", context ?? "", author, fromHub])
                try db.execute(sql: "INSERT INTO seen_dot VALUES (?, ?)", arguments: [replica, counter])
                try db.execute(sql: """
                    INSERT INTO version_vector VALUES (?, ?) ON CONFLICT (replica) DO UPDATE SET counter = max(counter, excluded.counter)
                    """, arguments: [replica, counter])
            }
            for (replica, counter, wall, field, author) in [("hub1", Int64(4), Int64(2000), "summary", "operator"), ("node1", 2, 3000, "title", "Township A")] {
                try db.execute(sql: """
                    INSERT INTO sibling VALUES ('case', 'YQ-1', ?, '', ?, ?, ?, ?, ?)
                    """, arguments: [field, replica, counter, Int64(HLC(wallMillis: UInt64(wall)).packed),
                                     field == "title" ? "title 3" : "summary 2", author])
            }
            try db.execute(sql: """
                INSERT INTO pending_change VALUES ('node9', 1, ?, 'case', 'YQ-1', 'level', '', 'II', 'node8:3', 'Township C', 1)
                """, arguments: [Int64(HLC(wallMillis: 4000).packed)])
        }
    }

    @Test func aVersion1NodeOpensWithNothingLost() throws {
        let dir = try TempDir()
        let path = dir.path("v1.sqlite")
        try makeVersion1Node(path)
        let r = try Replica.open(at: path, schema: .sample)
        #expect(try r.view(.case("YQ-1"))?.value("title") == .text("title 3"))
        #expect(try r.view(.case("YQ-1"))?.value("summary") == .text("summary 2"))
        // What it still had to push is still to push, with its context; what it pulled is not logged.
        let pending = try r.pendingPush(limit: 10)
        #expect(pending.map(\.seq) == [3])
        #expect(pending.first?.change.context == [Dot(replica: ReplicaID("node1"), counter: 1)])
        #expect(try r.logCount() == 2)
        #expect(try r.appliedCount() == 3)
        #expect(try r.waitingCount() == 1)
        #expect(try r.versionVector() == VersionVector([ReplicaID("node1"): 2, ReplicaID("hub1"): 4]))
        let info = try r.info()
        #expect(info.counter == 2 && info.pushCursor == 1 && info.pullCursor == 7)
        // The next own change continues the counter, the clock and the log positions.
        let next = try r.write([.init(.case("YQ-1"), FieldKey("title"), .text("after"))])[0]
        #expect(next.dot.counter == 3)
        #expect(next.hlc > HLC(wallMillis: 5000))
        #expect(next.context == [Dot(replica: ReplicaID("node1"), counter: 2)])
        #expect(try r.pendingPush(limit: 10).map(\.seq) == [3, 4])
        // The waiting change is applied once the value it supersedes arrives.
        let awaited = Change(dot: Dot(replica: ReplicaID("node8"), counter: 3), hlc: HLC(wallMillis: 3500), record: .case("YQ-1"),
                             field: FieldKey("level"), value: .text("IV"), context: [], author: "Township C")
        #expect(try r.apply([awaited], origin: .hub) == ApplyResult(applied: 2, duplicates: 0, pending: 0))
        #expect(try r.view(.case("YQ-1"))?.value("level") == .text("II"))
    }

    /// A hub's log from before records were numbered (version 5: indexed by the record's text) is
    /// numbered when the hub next opens: every record's history reads the same, in log order, and
    /// new changes are numbered after the old ones.
    @Test func aVersion5HubsLogIsNumberedWithNothingLost() throws {
        let dir = try TempDir()
        let path = dir.path("hub.sqlite")
        var node = ReplicaState(id: ReplicaID("n1"), schema: .sample)
        var changes: [Change] = []
        for i in 0..<30 {  // three records written in turns, so each one's entries interleave
            changes.append(node.write(.case("YQ-\(i % 3)"), FieldKey("summary"), .text("摘要 \(i)"), author: "A", physicalMillis: UInt64(i + 1)))
        }
        do {
            let hub = try Replica.create(at: path, role: .hub, unit: "hub", schema: .sample)
            try hub.apply(changes, origin: .local)
        }
        // Back to the version-5 layout, as a hub of that version left it.
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "DROP INDEX log_rec")
            try db.execute(sql: "ALTER TABLE log DROP COLUMN rec")
            try db.execute(sql: "DROP TABLE record_number")
            try db.execute(sql: "CREATE INDEX log_record ON log (record)")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v6: record numbers'")
        }
        try queue.close()

        let hub = try Replica.open(at: path, schema: .sample)
        for r in 0..<3 {
            let record = RecordRef.case("YQ-\(r)")
            #expect(try hub.history(of: record) == changes.filter { $0.record == record })
        }
        let later = node.write(.case("YQ-1"), FieldKey("title"), .text("新"), author: "A", physicalMillis: 100)
        let fresh = node.write(.case("YQ-9"), FieldKey("title"), .text("新案"), author: "A", physicalMillis: 101)
        try hub.apply([later, fresh], origin: .local)
        #expect(try hub.history(of: .case("YQ-1")) == changes.filter { $0.record == .case("YQ-1") } + [later])
        #expect(try hub.history(of: .case("YQ-9")) == [fresh])
        let numbers = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT rec, record FROM record_number ORDER BY rec").map { "\($0["rec"] as Int64) \($0["record"] as String)" }
        }
        #expect(numbers == ["1 YQ-0", "2 YQ-1", "3 YQ-2", "4 YQ-9"], "numbered in the order first logged")
    }
}
