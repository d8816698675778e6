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

    /// A hub file of layout v5: the log with AUTOINCREMENT, three entries of one node.
    func makeVersion5Hub(_ path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try ReplicaSchema.migrator.migrate(queue, upTo: "v5: scopes")
        try queue.write { db in
            for (k, v) in [("replica_id", "hub1"), ("role", "hub"), ("unit", "hub")] {
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: [k, v])
            }
            for k in ["hlc", "push_cursor", "pull_cursor", "clock_offset", "open_conflicts"] {
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, 0)", arguments: [k])
            }
            try db.execute(sql: "INSERT INTO replica_name (rid, name) VALUES (1, 'node1')")
            try db.execute(sql: "INSERT INTO seen_range (rid, lo, hi) VALUES (1, 1, 3)")
            for counter in 1...3 {
                let hlc = Int64(HLC(wallMillis: UInt64(1000 * counter)).packed)
                try db.execute(sql: """
                    INSERT INTO log (rid, counter, hlc, kind, record, field, elem, value, context, author)
                    VALUES (1, ?, ?, 'case', 'YQ-1', 'title', '', ?, NULL, 'Township A')
                    """, arguments: [counter, hlc, "title \(counter)"])
                try db.execute(sql: "DELETE FROM field_value")
                try db.execute(sql: """
                    INSERT INTO field_value VALUES ('case', 'YQ-1', 'title', '', 1, ?, ?, ?, 'Township A')
                    """, arguments: [counter, hlc, "title \(counter)"])
            }
        }
    }

    /// The log is rebuilt without AUTOINCREMENT (which cost every insert a read and a write of
    /// `sqlite_sequence`): a hub keeps its positions and gives the next one to its next entry, so
    /// a node that pulled up to the last one skips nothing.
    @Test func aHubsLogPositionsContinueAcrossTheRebuild() throws {
        let dir = try TempDir()
        let path = dir.path("v5.sqlite")
        try makeVersion5Hub(path)
        let hub = try Replica.open(at: path, schema: .sample)
        let table = try hub.pool.read { db in try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'log'") }
        #expect(table?.contains("AUTOINCREMENT") == false)
        let indexes = try hub.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'log' ORDER BY name")
        }
        #expect(indexes == ["log_dot", "log_record"])
        #expect(try hub.changes(after: 0, limit: 10).entries.map(\.seq) == [1, 2, 3])
        #expect(try hub.view(.case("YQ-1"))?.value("title") == .text("title 3"))
        var node = ReplicaState(id: ReplicaID("node2"), schema: .sample)
        try hub.apply([node.write(.case("YQ-2"), FieldKey("title"), .text("t"), author: "B", physicalMillis: 5000)], origin: .local)
        let after = try hub.changes(after: 3, limit: 10).entries
        #expect(after.map(\.seq) == [4])
        #expect(after.first?.change.record == .case("YQ-2"))
        // A change it holds is still a duplicate.
        let again = try hub.changes(after: 0, limit: 1).entries[0].change
        #expect(try hub.apply([again], origin: .local).duplicates == 1)
    }

    /// A hub whose sequence ran ahead of its log (positions handed out, then gone) keeps its
    /// table with AUTOINCREMENT: its next entry still takes a position above every one before.
    @Test func aHubWhoseSequenceRanAheadKeepsItsPositions() throws {
        let dir = try TempDir()
        let path = dir.path("v5.sqlite")
        try makeVersion5Hub(path)
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "UPDATE sqlite_sequence SET seq = 9 WHERE name = 'log'") }
        try queue.close()
        let hub = try Replica.open(at: path, schema: .sample)
        let table = try hub.pool.read { db in try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'log'") }
        #expect(table?.contains("AUTOINCREMENT") == true)
        var node = ReplicaState(id: ReplicaID("node2"), schema: .sample)
        try hub.apply([node.write(.case("YQ-2"), FieldKey("title"), .text("t"), author: "B", physicalMillis: 5000)], origin: .local)
        #expect(try hub.changes(after: 3, limit: 10).entries.map(\.seq) == [10])
    }

    /// A node's log holds only what it made: when its newest positions were entries it pulled
    /// (left out of its log by layout v2), its push cursor stood past its largest position.
    /// After the rebuild its next change takes the largest position plus one, so the cursor is
    /// brought down to that largest position: what it writes next is still pushed.
    @Test func aNodesPushCursorIsBroughtDownToItsLog() throws {
        let dir = try TempDir()
        let path = dir.path("v1.sqlite")
        try makeVersion1Node(path)
        // Everything up to position 3 pushed; position 3 was the node's own, 2 a pulled entry.
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "UPDATE meta SET value = 9 WHERE key = 'push_cursor'")
            // Its newest entries were pulled ones (positions 4 to 9 of its old log).
            try db.execute(sql: "UPDATE sqlite_sequence SET seq = 9 WHERE name = 'change_log'")
        }
        try queue.close()
        let r = try Replica.open(at: path, schema: .sample)
        #expect(try r.info().pushCursor == 3)
        #expect(try r.pendingPush(limit: 10).isEmpty)
        let next = try r.write([.init(.case("YQ-1"), FieldKey("title"), .text("after"))])[0]
        #expect(try r.pendingPush(limit: 10).map(\.change.dot) == [next.dot])
    }

    /// A device the hub revoked removes everything it held; what it writes afterwards (once it
    /// is enrolled again) starts the log again at position 1 and is pushed.
    @Test func aPurgedNodeStillPushesWhatItWritesNext() throws {
        let dir = try TempDir()
        let r = try Replica.create(at: dir.path("n.sqlite"), role: .node, unit: "Township A", hubURL: "http://127.0.0.1:1", schema: .sample)
        let made = try r.write([.init(.case("YQ-1"), FieldKey("title"), .text("a")), .init(.case("YQ-1"), FieldKey("summary"), .text("b"))])
        try r.markPushed(upTo: 2)
        _ = try r.purgeEverything()
        #expect(try r.info().pushCursor == 0)
        let next = try r.write([.init(.case("YQ-2"), FieldKey("title"), .text("c"))])[0]
        #expect(next.dot.counter == made.last!.dot.counter + 1)
        #expect(try r.pendingPush(limit: 10).map(\.change.dot) == [next.dot])
    }
}
