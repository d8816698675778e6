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
}
