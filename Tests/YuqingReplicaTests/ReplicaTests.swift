import Foundation
import GRDB
import GRDBSQLite
import Synchronization
import Testing
@testable import YuqingCore
@testable import YuqingReplica
import YuqingTestSupport

@Suite struct ReplicaTests {
    let c = RecordRef.case("YQ-1")

    @Test func writesPersistInOneWALFileWithTheirLogEntries() throws {
        let dir = try TempDir()
        let path = dir.path("node.sqlite")
        do {
            let r = try Replica.create(at: path, role: .node, unit: "Township A", hubURL: "http://127.0.0.1:1", schema: .sample)
            let changes = try r.write([.init(c, FieldKey("title"), .text("t")), .init(c, FieldKey("level"), .text("III"))])
            #expect(changes.map(\.dot.counter) == [1, 2])
            #expect(changes.allSatisfy { $0.author == "Township A" })
        }
        let r = try Replica.open(at: path, schema: .sample)
        // Every commit syncs the WAL (synchronous = FULL = 2), on the connection that writes.
        #expect(try r.pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
        #expect(try r.view(c)?.value("title") == .text("t"))
        #expect(try r.logCount() == 2)
        #expect(try r.pendingCount() == 2)
        #expect(try r.info().counter == 2)
        let mode = try r.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        // The next write continues the counter: dots never repeat across restarts.
        #expect(try r.write([.init(c, FieldKey("title"), .text("u"))])[0].dot.counter == 3)
    }

    @Test func invalidWriteIsRejectedAndNothingIsWritten() throws {
        let dir = try TempDir()
        let r = try Replica.create(at: dir.path("n.sqlite"), role: .node, unit: "u", schema: .sample)
        #expect(throws: ReplicaError.self) {
            try r.write([.init(c, FieldKey("title"), .text("ok")), .init(c, FieldKey("level"), .text("V"))])
        }
        #expect(try r.logCount() == 0)
        #expect(try r.view(c) == nil)
    }

    @Test func immutableFieldsAreWrittenOnce() throws {
        let dir = try TempDir()
        let r = try Replica.create(at: dir.path("n.sqlite"), role: .node, unit: "u", schema: .sample)
        let note = FieldKey("notes", element: "n1")
        try r.write([.init(c, note, .text("first")), .init(c, FieldKey("unit"), .text("u"))])
        #expect(throws: ReplicaError.self) { try r.write([.init(c, note, .text("rewritten"))]) }
        #expect(throws: ReplicaError.self) { try r.write([.init(c, note, nil)]) }
        #expect(throws: ReplicaError.self) { try r.write([.init(c, FieldKey("unit"), .text("other"))]) }
        #expect(try r.view(c)?.entries("notes").map(\.sibling.value) == [.text("first")])
        #expect(try r.logCount() == 2)
    }

    @Test func setElementsAreOneWhateverTheirUnicodeSpelling() throws {
        let dir = try TempDir()
        let r = try Replica.create(at: dir.path("n.sqlite"), role: .node, unit: "u", schema: .sample)
        try r.write([.init(c, FieldKey("co_units", element: "Caf\u{E9}"), .integer(1))])
        try r.write([.init(c, FieldKey("co_units", element: "Cafe\u{301}"), .integer(1))])
        #expect(try r.view(c)?.siblings.count == 1)
        try r.write([.init(c, FieldKey("co_units", element: "Cafe\u{301}"), nil)])
        #expect(try r.view(c) == nil)
    }

    @Test func openingAMissingFileSaysHowToCreateOne() throws {
        let dir = try TempDir()
        do {
            _ = try Replica.open(at: dir.path("none.sqlite"), schema: .sample)
            Issue.record("opened a missing replica")
        } catch let e as ReplicaError {
            #expect(e.code == .notInitialised)
            #expect(e.message.contains("yuqing node init"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path("none.sqlite")))
        _ = try Replica.create(at: dir.path("a.sqlite"), role: .node, unit: "u", schema: .sample)
        #expect(throws: ReplicaError.self) { try Replica.create(at: dir.path("a.sqlite"), role: .node, unit: "u", schema: .sample) }
    }

    @Test func duplicatesAreNoOpsAndEarlyChangesWaitForTheirContext() throws {
        let dir = try TempDir()
        var source = ReplicaState(id: ReplicaID("src"), schema: .sample)
        let a = source.write(c, FieldKey("summary"), .text("a"), author: "x", physicalMillis: 1)
        let b = source.write(c, FieldKey("summary"), .text("b"), author: "x", physicalMillis: 2)
        let r = try Replica.create(at: dir.path("n.sqlite"), role: .node, unit: "u", schema: .sample)
        let first = try r.apply([b], origin: .hub, pullCursor: 7)
        #expect(first == ApplyResult(applied: 0, duplicates: 0, pending: 1))
        #expect(try r.view(c) == nil)
        let second = try r.apply([b, a, a], origin: .hub, pullCursor: 9)
        #expect(second.applied == 2 && second.duplicates == 2 && second.pending == 0)
        #expect(try r.view(c)?.value("summary") == .text("b"))
        #expect(try r.info().pullCursor == 9)
        // Pulled changes are not pushed back.
        #expect(try r.pendingCount() == 0)
        #expect(try r.digest() == source.digest)
    }

    @Test func pushCursorOnlyMovesForward() throws {
        let dir = try TempDir()
        let r = try Replica.create(at: dir.path("n.sqlite"), role: .node, unit: "u", schema: .sample)
        for i in 0..<5 { try r.write([.init(c, FieldKey("title"), .text("t\(i)"))]) }
        let batch = try r.pendingPush(limit: 3)
        #expect(batch.map(\.seq) == [1, 2, 3])
        try r.markPushed(upTo: 3)
        try r.markPushed(upTo: 2)
        #expect(try r.pendingPush(limit: 10).map(\.seq) == [4, 5])
    }

    @Test func resolvingAConflictSupersedesEveryCandidate() throws {
        let dir = try TempDir()
        var a = ReplicaState(id: ReplicaID("a"), schema: .sample), b = ReplicaState(id: ReplicaID("b"), schema: .sample)
        let ca = a.write(c, FieldKey("summary"), .text("from a"), author: "A", physicalMillis: 1)
        let cb = b.write(c, FieldKey("summary"), .text("from b"), author: "B", physicalMillis: 2)
        let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: .sample)
        try hub.apply([ca, cb], origin: .local)
        let conflict = try #require(try hub.conflicts().first)
        #expect(conflict.candidates.count == 2)
        #expect(throws: ReplicaError.self) { try hub.resolve(conflictID: "nope", value: .text("x"), author: "op") }
        let (change, seq) = try hub.resolve(conflictID: conflict.id, value: .text("agreed"), author: "op")
        #expect(change.context == [ca.dot, cb.dot])
        #expect(seq == 3)
        #expect(try hub.conflicts().isEmpty)
        #expect(try hub.view(c)?.value("summary") == .text("agreed"))
        // Resolving the same id again says it is gone.
        #expect(throws: ReplicaError.self) { try hub.resolve(conflictID: conflict.id, value: .text("y"), author: "op") }
    }

    /// A snapshot's split keys are those of the values an eighth, two eighths, … seven eighths
    /// through the table in key order (read in one pass).
    @Test func aSnapshotsSplitsAreEvenlyThroughItsValues() throws {
        let dir = try TempDir()
        var node = ReplicaState(id: ReplicaID("n"), schema: .sample)
        let changes = (0..<500).flatMap { i in
            [node.write(.case("YQ-\(1000 + i * 7 % 500)"), FieldKey("title"), .text("标题 \(i)"), author: "A", physicalMillis: 1),
             node.write(.case("YQ-\(1000 + i * 7 % 500)"), FieldKey("level"), .text("III"), author: "A", physicalMillis: 1)]
        }
        let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: .sample)
        try hub.apply(changes, origin: .local)
        let path = dir.path("snapshot.sqlite")
        let manifest = try #require(try hub.writeSnapshot(to: path) { _, _, _ in [] })
        let file = try SnapshotFile(path: path, hub: hub.id)
        #expect(file.splits.count == Replica.snapshotParts - 1)
        let expected = try DatabaseQueue(path: path).read { db in
            try (1..<Replica.snapshotParts).map { k in
                let row = try #require(try Row.fetchOne(db, sql: "SELECT kind, record FROM field_value ORDER BY kind, record, field, elem, rid, counter LIMIT 1 OFFSET ?",
                                                        arguments: [manifest.values * k / Replica.snapshotParts]))
                return [row["kind"] as String, row["record"] as String]
            }
        }
        #expect(file.splits.map { [$0.kind, $0.record] } == expected)
    }

    /// A hub keeps the records of kinds everyone sees by their last log position: every local
    /// write, merge and resolution is seen by the next read, and reads in between are equal.
    @Test func aHubsKeptViewsFollowEveryChange() throws {
        let dir = try TempDir()
        let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: .sample)
        func titles() throws -> [String: FieldValue?] {
            Dictionary(uniqueKeysWithValues: try hub.views(kinds: ["case"]).map { ($0.record.id, $0.value("title")) })
        }
        #expect(try titles().isEmpty)
        try hub.write([.init(.case("a"), FieldKey("title"), .text("one"))])
        #expect(try titles() == ["a": .text("one")])
        #expect(hub.kindViews.version(of: ["case"]) == nil)  // no index yet: read each time
        try hub.buildScopesIfNeeded()  // what a hub does when it starts
        #expect(try titles() == ["a": .text("one")])
        #expect(hub.kindViews.version(of: ["case"]) == 1)
        #expect(try titles() == ["a": .text("one")])  // kept, and still right
        var node = ReplicaState(id: ReplicaID("n"), schema: .sample)
        let b = node.write(.case("b"), FieldKey("title"), .text("two"), author: "N", physicalMillis: 1)
        try hub.apply([b], origin: .local)
        #expect(try titles() == ["a": .text("one"), "b": .text("two")])
        try hub.write([.init(.case("a"), FieldKey("title"), .text("three"))])
        #expect(try titles() == ["a": .text("three"), "b": .text("two")])
        var other = ReplicaState(id: ReplicaID("m"), schema: .sample)
        try hub.apply([node.write(.case("b"), FieldKey("summary"), .text("x"), author: "N", physicalMillis: 2),
                       other.write(.case("b"), FieldKey("summary"), .text("y"), author: "M", physicalMillis: 3)], origin: .local)
        let conflict = try #require(try hub.conflicts().first)
        #expect(try hub.views(kinds: ["case"]).first { $0.record.id == "b" }?.siblings[FieldKey("summary")]?.count == 2)
        _ = try hub.resolve(conflictID: conflict.id, value: .text("agreed"), author: "op")
        #expect(try hub.views(kinds: ["case"]).first { $0.record.id == "b" }?.value("summary") == .text("agreed"))
        #expect(hub.kindViews.version(of: ["case"]) == 6)
    }

    /// The partial index of the kinds everyone sees is spelt so that an insert into the log
    /// evaluates its condition directly: SQLite builds an `IN (…)` list of more than two into a
    /// temporary table at every insert (a fifth of the log's insert cost at the hub, whose schema
    /// has five such kinds). A hub whose file has the index of the earlier form drops it when it
    /// opens, and pulls use the new one.
    @Test func theLogsPartialIndexBuildsNoTemporaryTableAtEveryInsert() throws {
        let dir = try TempDir()
        let schema = Schema([
            RecordSchema(kind: "case", fields: [FieldSpec("title", rule: .lastWriterWins, summary: "a title"),
                                                FieldSpec("unit", rule: .immutable, summary: "the unit")], visibleTo: ["unit"]),
            RecordSchema(kind: "unit", fields: [FieldSpec("name", rule: .lastWriterWins, summary: "a name")]),
            RecordSchema(kind: "user", fields: [FieldSpec("name", rule: .lastWriterWins, summary: "a name")]),
            RecordSchema(kind: "zone", fields: [FieldSpec("name", rule: .lastWriterWins, summary: "a name")]),
        ])
        let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: schema)
        #expect(schema.unscopedKinds == ["unit", "user", "zone"])
        // The index an earlier version made, by its name and condition.
        try hub.pool.write { db in
            try db.execute(sql: "CREATE INDEX log_everyone_unit_user_zone ON log (seq) WHERE kind IN ('unit', 'user', 'zone')")
        }
        // The program of an insert, as the writer (the connection that inserts) compiles it.
        let before = try hub.pool.write { db in
            try Row.fetchAll(db, sql: "EXPLAIN INSERT INTO log (rid, counter, hlc, kind, record, field, elem, value, context, author) VALUES (1, 1, 1, 'case', 'a', 'title', '', 'x', NULL, 'n')")
                .map { $0["opcode"] as String }
        }
        #expect(before.contains("OpenEphemeral"))  // what the earlier form cost every insert
        try hub.buildScopesIfNeeded()
        let indexes = try hub.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'log' AND name LIKE 'log_everyone%'")
        }
        #expect(!indexes.contains("log_everyone_unit_user_zone"))
        #expect(indexes == [hub.everyoneIndex])
        let opcodes = try hub.pool.write { db in
            try Row.fetchAll(db, sql: """
                EXPLAIN INSERT INTO log (rid, counter, hlc, kind, record, field, elem, value, context, author)
                VALUES (1, 1, 1, 'case', 'a', 'title', '', 'x', NULL, 'n')
                """).map { $0["opcode"] as String }
        }
        #expect(opcodes.contains("IdxInsert"))  // the program does write the indexes
        #expect(!opcodes.contains("OpenEphemeral"))
        // A unit's pull reads the kinds everyone sees through the index (INDEXED BY: an index it
        // cannot use is an error).
        var node = ReplicaState(id: ReplicaID("n"), schema: schema)
        try hub.apply([node.write(RecordRef(kind: "unit", id: "town-a"), FieldKey("name"), .text("城关镇"), author: "op", physicalMillis: 1),
                       node.write(.case("YQ-1"), FieldKey("title"), .text("t"), author: "op", physicalMillis: 2),
                       node.write(.case("YQ-1"), FieldKey("unit"), .text("town-b"), author: "op", physicalMillis: 3)], origin: .local)
        let page = try hub.scopedChanges(after: 0, unit: "town-a", limit: 10)
        #expect(page.entries.map(\.change.record.kind) == ["unit"])
    }

    /// Pushes applied as one group: the one that reuses a dot is rolled back alone (its new
    /// sender's number too), the others are stored as if applied one by one, and the hub's
    /// bookkeeping stays right for what comes next.
    @Test func aGroupOfPushesRefusesOneAlone() throws {
        let dir = try TempDir()
        let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: .sample)
        let alone = try Replica.create(at: dir.path("alone.sqlite"), role: .hub, unit: "hub", schema: .sample)
        var a = ReplicaState(id: ReplicaID("a"), schema: .sample), b = ReplicaState(id: ReplicaID("b"), schema: .sample)
        let first = a.write(.case("c1"), FieldKey("title"), .text("甲"), author: "A", physicalMillis: 1)
        try hub.apply([first], origin: .local, sender: ReplicaID("a"))
        try alone.apply([first], origin: .local, sender: ReplicaID("a"))
        var copy = ReplicaState(id: ReplicaID("a"), schema: .sample)
        let reused = copy.write(.case("c9"), FieldKey("title"), .text("复制"), author: "A", physicalMillis: 2)
        var c = ReplicaState(id: ReplicaID("c"), schema: .sample)
        let fromB = [b.write(.case("c2"), FieldKey("title"), .text("乙"), author: "B", physicalMillis: 3)]
        let fromNew = [c.write(.case("c9"), FieldKey("title"), .text("new"), author: "C", physicalMillis: 3)]
        let results = hub.applyGroup([Replica.Push(changes: fromB, sender: ReplicaID("b"), waitingLimits: WaitingLimits(), seals: []),
                                      Replica.Push(changes: [reused, fromNew[0]], sender: ReplicaID("a"), waitingLimits: WaitingLimits(), seals: []),
                                      Replica.Push(changes: fromNew, sender: ReplicaID("c"), waitingLimits: WaitingLimits(), seals: [])])
        #expect(try results[0].get().applied == 1)
        #expect(throws: ReplicaError.self) { try results[1].get() }
        #expect(try results[2].get().applied == 1)
        try alone.apply(fromB, origin: .local, sender: ReplicaID("b"))
        try alone.apply(fromNew, origin: .local, sender: ReplicaID("c"))
        #expect(try hub.digest() == alone.digest())
        // What follows is merged on the bookkeeping the group left.
        let next = [a.write(.case("c1"), FieldKey("title"), .text("甲二"), author: "A", physicalMillis: 4)]
        try hub.apply(next, origin: .local, sender: ReplicaID("a"))
        try alone.apply(next, origin: .local, sender: ReplicaID("a"))
        #expect(try hub.digest() == alone.digest() && hub.versionVector() == alone.versionVector())
        #expect(try hub.head() == 4)
    }

    /// After a push, the hub names the position after which nothing up to its head is for the
    /// pusher to pull (`Protocol/sync.md` §6.2) only when that is so: the push's entries end at
    /// the head, all are the pusher's own, and no record was granted to its unit or revoked from
    /// it among them. A change of another replica that the push released from waiting, a grant or
    /// a revocation for the unit, or a later push, each leaves it unnamed.
    @Test func aPushIsQuietForItsSenderOnlyWhenNothingAfterItsStartIsForIt() throws {
        let schema = Schema([
            RecordSchema(kind: "case", fields: [FieldSpec("title", rule: .lastWriterWins, summary: "a title"),
                                                FieldSpec("unit", rule: .immutable, summary: "the unit"),
                                                FieldSpec("co_units", shape: .set, rule: .addWins, summary: "co-units")],
                         visibleTo: ["unit", "co_units"]),
        ])
        let dir = try TempDir()
        let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: schema)
        try hub.buildScopesIfNeeded()
        var a = ReplicaState(id: ReplicaID("a"), schema: schema), b = ReplicaState(id: ReplicaID("b"), schema: schema)
        func push(_ changes: [Change], from sender: String) throws -> ApplyResult {
            try hub.applyGroup([Replica.Push(changes: changes, sender: ReplicaID(sender), waitingLimits: WaitingLimits(), seals: [])])[0].get()
        }
        /// The head and the quiet position after `result`, as `unit` would be told.
        func told(_ result: ApplyResult, _ unit: String?) throws -> [Int64?] {
            let (head, quiet) = try hub.headAfterPush(result, unit: unit)
            return [head, quiet]
        }
        // Registered for town-a: granted to it among the push's entries.
        var result = try push([a.write(.case("YQ-1"), FieldKey("unit"), .text("town-a"), author: "A", physicalMillis: 1),
                               a.write(.case("YQ-1"), FieldKey("title"), .text("甲"), author: "A", physicalMillis: 2)], from: "a")
        #expect(result.logged == ApplyResult.LoggedSpan(first: 1, last: 2, onlySender: true))
        #expect(try told(result, "town-a") == [2, nil])
        #expect(try told(result, "town-b") == [2, 0])
        #expect(try told(result, nil) == [2, 0])
        // Shared with town-b, then no longer: a grant, then a revocation, for town-b alone.
        result = try push([a.write(.case("YQ-1"), FieldKey("co_units", element: "town-b"), .integer(1), author: "A", physicalMillis: 3)], from: "a")
        #expect(try told(result, "town-b") == [3, nil])
        #expect(try told(result, "town-a") == [3, 2])
        result = try push([a.write(.case("YQ-1"), FieldKey("co_units", element: "town-b"), nil, author: "A", physicalMillis: 4)], from: "a")
        #expect(try told(result, "town-b") == [4, nil])
        #expect(try told(result, "town-a") == [4, 3])
        // A later push moves the head past the span: nothing is said of what lies after it.
        let titled = try push([a.write(.case("YQ-1"), FieldKey("title"), .text("甲二"), author: "A", physicalMillis: 5)], from: "a")
        _ = try push([b.write(.case("YQ-2"), FieldKey("unit"), .text("town-c"), author: "B", physicalMillis: 5)], from: "b")
        #expect(try told(titled, "town-a") == [6, nil])
        // b's change waits for one of a's; a's push releases it, and it is logged among a's.
        let first = a.write(.case("YQ-3"), FieldKey("title"), .text("丙"), author: "A", physicalMillis: 6)
        _ = b.apply(first)
        let over = b.write(.case("YQ-3"), FieldKey("title"), .text("丁"), author: "B", physicalMillis: 7)
        #expect(try push([over], from: "b").pending == 1)
        result = try push([first], from: "a")
        #expect(result.logged == ApplyResult.LoggedSpan(first: 7, last: 8, onlySender: false))
        #expect(try told(result, nil) == [8, nil])
        // Re-sent changes add nothing to the log, and name no span.
        result = try push([first], from: "a")
        #expect(result.logged == nil && result.duplicates == 1)
        #expect(try told(result, nil) == [8, nil])
    }

    /// A group's grants are brought up to date push by push, in the group's transaction: the
    /// grants, and each unit's pull, of a hub that merged the pushes as one group are those of a
    /// hub that merged them one at a time, whether the group kept every push or undid one. (Brought
    /// up to date once for the group, a co-unit added by one push and removed by the next was never
    /// granted, and the case's unit was granted only from the last push on.)
    @Test func aGroupsGrantsAreThoseOfItsPushesOneByOne() throws {
        struct Refused: Error {}
        let schema = Schema([
            RecordSchema(kind: "case", fields: [FieldSpec("title", rule: .lastWriterWins, summary: "a title"),
                                                FieldSpec("unit", rule: .immutable, summary: "the unit"),
                                                FieldSpec("co_units", shape: .set, rule: .addWins, summary: "co-units")],
                         visibleTo: ["unit", "co_units"]),
        ])
        for refuseMiddle in [false, true] {
            let dir = try TempDir()
            let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: schema)
            let alone = try Replica.create(at: dir.path("alone.sqlite"), role: .hub, unit: "hub", schema: schema)
            try hub.buildScopesIfNeeded()
            try alone.buildScopesIfNeeded()
            var a = ReplicaState(id: ReplicaID("a"), schema: schema), b = ReplicaState(id: ReplicaID("b"), schema: schema)
            let registered = [a.write(.case("YQ-1"), FieldKey("unit"), .text("town-a"), author: "A", physicalMillis: 1),
                              a.write(.case("YQ-1"), FieldKey("title"), .text("甲"), author: "A", physicalMillis: 2)]
            let shared = [a.write(.case("YQ-1"), FieldKey("co_units", element: "town-b"), .integer(1), author: "A", physicalMillis: 3)]
            let unshared = [a.write(.case("YQ-1"), FieldKey("co_units", element: "town-b"), nil, author: "A", physicalMillis: 4),
                            b.write(.case("YQ-2"), FieldKey("unit"), .text("town-b"), author: "B", physicalMillis: 4)]
            let results = hub.applyGroup([
                Replica.Push(changes: registered, sender: ReplicaID("a"), waitingLimits: WaitingLimits(), seals: []),
                Replica.Push(changes: shared, sender: ReplicaID("a"), waitingLimits: WaitingLimits(), seals: [],
                             verdict: { if refuseMiddle { throw Refused() } }),
                Replica.Push(changes: refuseMiddle ? [unshared[1]] : unshared, sender: ReplicaID(refuseMiddle ? "b" : "a"),
                             waitingLimits: WaitingLimits(), seals: []),
            ])
            #expect(results.map { (try? $0.get()) != nil } == [true, !refuseMiddle, true])
            try alone.apply(registered, origin: .local, sender: ReplicaID("a"))
            if !refuseMiddle {
                try alone.apply(shared, origin: .local, sender: ReplicaID("a"))
                try alone.apply([unshared[0]], origin: .local, sender: ReplicaID("a"))
            }
            try alone.apply([unshared[1]], origin: .local, sender: ReplicaID("b"))
            for unit in ["town-a", "town-b", "town-c"] {
                let grouped = try hub.scopedChanges(after: 0, unit: unit, limit: 100).entries.map(\.change)
                let oneByOne = try alone.scopedChanges(after: 0, unit: unit, limit: 100).entries.map(\.change)
                #expect(grouped == oneByOne, "\(unit), refused: \(refuseMiddle)")
            }
            // The grants themselves: since which position, and until which, each unit sees each case.
            func grants(_ r: Replica) throws -> [String] {
                try r.pool.read { db in
                    try Row.fetchAll(db, sql: "SELECT unit, record, granted, revoked FROM scope_grant ORDER BY unit, kind, record").map { "\($0)" }
                }
            }
            #expect(try grants(hub) == grants(alone), "refused: \(refuseMiddle)")
            #expect(try grants(hub).count == (refuseMiddle ? 2 : 3))
            #expect(try hub.scopedChanges(after: 0, unit: "town-a", limit: 100).entries.count == (refuseMiddle ? 2 : 4))
            #expect(try hub.digest(unit: "town-b") == alone.digest(unit: "town-b"))
        }
    }

    /// The grants a hub keeps push by push (a co-unit written again only adds its unit; a single
    /// field written over, or a value removed, makes the record's units be read again) are, after
    /// every push, the units that the record's stored values name: random writes, overwrites and
    /// removals of a lead unit and of co-units by three writers that see each other's changes
    /// only now and then, so some of them are concurrent.
    @Test(arguments: 0..<8) func grantsAreTheUnitsTheValuesNameAfterEveryPush(seed: UInt64) throws {
        let schema = Schema([
            RecordSchema(kind: "case", fields: [FieldSpec("lead", rule: .lastWriterWins, summary: "the lead unit"),
                                                FieldSpec("co_units", shape: .set, rule: .addWins, summary: "co-units")],
                         visibleTo: ["lead", "co_units"]),
        ])
        let dir = try TempDir()
        let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: schema)
        try hub.buildScopesIfNeeded()
        var rng = SeededRandom(seed: seed)
        var writers = ["a", "b", "c"].map { ReplicaState(id: ReplicaID($0), schema: schema) }
        var logged: [Change] = []
        let units = ["u1", "u2", "u3", "u4"]
        for step in 0..<60 {
            let k = Int.random(in: 0..<writers.count, using: &rng)
            // Now and then a writer catches up with what the others wrote.
            if Int.random(in: 0..<3, using: &rng) == 0 { for c in logged { _ = writers[k].apply(c) } }
            var push: [Change] = []
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let record = RecordRef.case("YQ-\(Int.random(in: 0..<3, using: &rng))")
                let unit = units.randomElement(using: &rng)!
                let at = UInt64(step * 10 + push.count + 1)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: push.append(writers[k].write(record, FieldKey("lead"), .text(unit), author: "w", physicalMillis: at))
                case 1: push.append(writers[k].write(record, FieldKey("lead"), nil, author: "w", physicalMillis: at))
                case 2: push.append(writers[k].write(record, FieldKey("co_units", element: unit), .integer(1), author: "w", physicalMillis: at))
                default: push.append(writers[k].write(record, FieldKey("co_units", element: unit), nil, author: "w", physicalMillis: at))
                }
            }
            let results = hub.applyGroup([Replica.Push(changes: push, sender: writers[k].id, waitingLimits: WaitingLimits(), seals: [])])
            _ = try results[0].get()
            logged += push
            let (granted, named) = try hub.pool.read { db -> ([String: Set<String>], [String: Set<String>]) in
                var granted: [String: Set<String>] = [:], named: [String: Set<String>] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT unit, record FROM scope_grant WHERE revoked IS NULL") {
                    granted[row["record"], default: []].insert(row["unit"])
                }
                for row in try Row.fetchAll(db, sql: "SELECT record, field, elem, value FROM field_value WHERE kind = 'case'") {
                    let field: String = row["field"], elem: String = row["elem"], record: String = row["record"]
                    named[record, default: []].insert(field == "lead" ? row["value"] as String : elem)
                }
                return (granted, named)
            }
            #expect(granted == named, "seed \(seed), step \(step)")
        }
    }

    /// A push whose verdict (the hub's rule check, run while the group merges) refuses it is
    /// undone alone, with the verdict's error, even when the merge would have refused it too; a
    /// verdict that passes keeps the push, and the others of the group are kept as if the refused
    /// one had never come.
    @Test func aPushWhoseVerdictRefusesItIsUndoneAlone() throws {
        struct Refused: Error {}
        let dir = try TempDir()
        let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: .sample)
        let alone = try Replica.create(at: dir.path("alone.sqlite"), role: .hub, unit: "hub", schema: .sample)
        var a = ReplicaState(id: ReplicaID("a"), schema: .sample), b = ReplicaState(id: ReplicaID("b"), schema: .sample)
        var c = ReplicaState(id: ReplicaID("c"), schema: .sample)
        let first = a.write(.case("c1"), FieldKey("title"), .text("甲"), author: "A", physicalMillis: 1)
        try hub.apply([first], origin: .local, sender: ReplicaID("a"))
        try alone.apply([first], origin: .local, sender: ReplicaID("a"))
        var copy = ReplicaState(id: ReplicaID("a"), schema: .sample)
        let reused = copy.write(.case("c9"), FieldKey("title"), .text("复制"), author: "A", physicalMillis: 2)
        let fromB = [b.write(.case("c2"), FieldKey("title"), .text("乙"), author: "B", physicalMillis: 3)]
        let fromC = [c.write(.case("c3"), FieldKey("title"), .text("丙"), author: "C", physicalMillis: 3)]
        let refusedB = [b.write(.case("c4"), FieldKey("title"), .text("驳回"), author: "B", physicalMillis: 4)]
        // The group is merged first without a savepoint per push, then again with one once a
        // push is refused: each verdict is still asked once (the hub's waits for its check once).
        let asked = Mutex([0, 0, 0])
        let results = hub.applyGroup([
            Replica.Push(changes: fromB, sender: ReplicaID("b"), waitingLimits: WaitingLimits(), seals: [], verdict: { asked.withLock { $0[0] += 1 } }),
            Replica.Push(changes: refusedB, sender: ReplicaID("b"), waitingLimits: WaitingLimits(), seals: [], verdict: {
                asked.withLock { $0[1] += 1 }
                throw Refused()
            }),
            Replica.Push(changes: [reused], sender: ReplicaID("a"), waitingLimits: WaitingLimits(), seals: [], verdict: {
                asked.withLock { $0[2] += 1 }
                throw Refused()
            }),
            Replica.Push(changes: fromC, sender: ReplicaID("c"), waitingLimits: WaitingLimits(), seals: []),
        ])
        #expect(asked.withLock { $0 } == [1, 1, 1])
        #expect(try results[0].get().applied == 1)
        #expect(throws: Refused.self) { try results[1].get() }
        #expect(throws: Refused.self) { try results[2].get() }
        #expect(try results[3].get().applied == 1)
        try alone.apply(fromB, origin: .local, sender: ReplicaID("b"))
        try alone.apply(fromC, origin: .local, sender: ReplicaID("c"))
        #expect(try hub.digest() == alone.digest() && hub.versionVector() == alone.versionVector())
        #expect(try hub.head() == 3)
        // The refused push, sent again and passed, is merged on the bookkeeping the group left.
        let again = hub.applyGroup([Replica.Push(changes: refusedB, sender: ReplicaID("b"), waitingLimits: WaitingLimits(), seals: [], verdict: {})])
        #expect(try again[0].get().applied == 1)
        try alone.apply(refusedB, origin: .local, sender: ReplicaID("b"))
        #expect(try hub.digest() == alone.digest() && hub.versionVector() == alone.versionVector())
    }

    /// A node's own dots stay out of `seen_range`, so the counter comes from its log: two seeks of
    /// `log_dot`, not a step through every change it ever made (read twice at each sync).
    @Test func aNodesCounterIsTwoSeeksHoweverLongItsHistory() throws {
        let dir = try TempDir()
        let r = try Replica.create(at: dir.path("node.sqlite"), role: .node, unit: "Township A", hubURL: "http://127.0.0.1:1", schema: .sample)
        for batch in 0..<4 {
            _ = try r.write((0..<500).map { i in .init(.case("YQ-\(batch)-\(i)"), FieldKey("title"), .text("标题 \(batch)-\(i)")) })
        }
        #expect(try r.info().counter == 2000)
        let (range, steps) = try r.pool.read { db in
            let rid = try #require(try ReplicaNames.rid(db, r.id))
            let statement = try db.makeStatement(sql: OwnRange.unstoredSQL)
            let row = try #require(try Row.fetchOne(statement, arguments: [rid, 0]))
            return ([row[0] as Int64, row[1] as Int64], sqlite3_stmt_status(statement.sqliteStatement, SQLITE_STMTSTATUS_VM_STEP, 0))
        }
        #expect(range == [1, 2000])
        // One aggregate of min and max stepped through all 2,000 entries (over 10,000 VM steps).
        #expect(steps < 100, "\(steps) VM steps")
    }

    /// The partial indexes (the kinds everyone sees, the elements of evidence) do not make SQLite
    /// compile the merge's statements again at every run: a condition `kind = 'a'` in an index
    /// did, for every statement comparing `kind` with a bound value. An element index of the
    /// earlier form is made again in the current one, and the queries that name the indexes use them.
    @Test func partialIndexesLeaveStatementsCompiledOnce() throws {
        let dir = try TempDir()
        let schema = Schema([
            RecordSchema(kind: "case", fields: [FieldSpec("title", rule: .lastWriterWins, summary: "a title"),
                                                FieldSpec("evidence", shape: .set, rule: .addWins, summary: "evidence"),
                                                FieldSpec("unit", rule: .immutable, summary: "the unit")], visibleTo: ["unit"]),
            RecordSchema(kind: "unit", fields: [FieldSpec("name", rule: .lastWriterWins, summary: "a name")]),
            RecordSchema(kind: "user", fields: [FieldSpec("name", rule: .lastWriterWins, summary: "a name")]),
        ])
        let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: schema)
        try hub.pool.write { db in
            try db.execute(sql: "CREATE INDEX field_value_elements_case_evidence ON field_value (elem) WHERE kind = 'case' AND field = 'evidence'")
        }
        try hub.buildScopesIfNeeded()
        try hub.indexElements(kind: "case", field: "evidence")
        let held = try hub.pool.read { db in
            try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'field\\_value\\_elements\\_%' ESCAPE '\\'")
        }
        #expect(held == ["CREATE INDEX field_value_elements_case_evidence ON field_value (elem) WHERE +kind = 'case' AND +field = 'evidence'"])
        let statements = [
            "DELETE FROM field_value WHERE kind = ? AND record = ? AND field = ? AND elem = '' AND rid = 1 AND counter = 1",
            "SELECT record FROM field_value WHERE kind = ? AND record = ? AND field = ?",
            "SELECT seq FROM log WHERE record = ? AND kind = ? AND field = ? ORDER BY seq",
        ]
        let recompiled = try hub.pool.write { db in
            try statements.map { sql in
                let statement = try db.makeStatement(sql: sql)
                for k in 0..<20 {
                    let kind = ["case", "unit", "user", "device"][k % 4], field = k % 2 == 0 ? "evidence" : "title"
                    let arguments: StatementArguments = sql.contains("FROM log") ? [String(k), kind, field] : [kind, String(k), field]
                    try statement.execute(arguments: arguments)
                }
                return sqlite3_stmt_status(statement.sqliteStatement, SQLITE_STMTSTATUS_REPREPARE, 0)
            }
        }
        #expect(recompiled == [0, 0, 0])
        // A snapshot's index as an earlier hub spelt it is taken by the snapshot check only.
        let earlier = "CREATE INDEX field_value_elements_case_evidence ON field_value (elem) WHERE kind = 'case' AND field = 'evidence'"
        #expect(Replica.elementIndexFields(earlier) == nil)
        #expect(Replica.elementIndexFields(earlier, earlier: true).map { [$0.kind, $0.field] } == ["case", "evidence"])
        #expect(Replica.elementIndexFields(held[0]).map { [$0.kind, $0.field] } == ["case", "evidence"])
        #expect(Replica.elementIndexFields(earlier.replacingOccurrences(of: "'evidence'", with: "'evidence' OR 1")) == nil)
        // The queries that read through the indexes (INDEXED BY: an index they cannot use is an error).
        #expect(try hub.elements(kind: "case", field: "evidence") == [])
        _ = try hub.scopedChanges(after: 0, unit: "town-a", limit: 10)
    }

    /// The SQLite replica and the core's in-memory replica agree on random histories delivered in
    /// random order with duplicates.
    @Test(arguments: 0..<25) func sqliteReplicaMatchesTheCore(seed: Int) throws {
        let dir = try TempDir()
        let (all, batches) = RandomHistory.make(seed: seed)
        var reference = ReplicaState(id: ReplicaID("ref"), schema: .sample)
        for ch in all { reference.apply(ch) }
        let sqlite = try Replica.create(at: dir.path("r.sqlite"), role: .hub, unit: "hub", schema: .sample)
        // A node receives the same from its hub: merged alike, but not logged again.
        let node = try Replica.create(at: dir.path("n.sqlite"), role: .node, unit: "n", schema: .sample)
        for batch in batches {
            try sqlite.apply(batch, origin: .local)
            try node.apply(batch, origin: .hub)
        }
        for replica in [sqlite, node] {
            #expect(try replica.digest() == reference.digest)
            #expect(try replica.conflicts().map(\.id) == reference.conflicts.map(\.id))
            #expect(try replica.openConflictCount() == reference.conflicts.count)
            #expect(try replica.appliedCount() == all.count)
            #expect(try replica.waitingCount() == 0)
            #expect(try replica.versionVector() == reference.versionVector)
        }
        #expect(try sqlite.logCount() == all.count)
        #expect(try node.logCount() == 0)
        // Reopened (bookkeeping loaded from the tables), the count of open conflicts holds.
        #expect(try Replica.open(at: dir.path("r.sqlite"), schema: .sample).openConflictCount() == reference.conflicts.count)
    }
}

/// Local writes log their changes but leave the replica's own stored range alone (a page fewer
/// per durable write); everything that reads the seen set still counts them.
@Suite struct OwnRangeTests {
    @Test func ownChangesCountWithoutTheirRangeStored() throws {
        let dir = try TempDir()
        let path = dir.path("n.sqlite")
        var made: [Change] = []
        do {
            let r = try Replica.create(at: path, role: .node, unit: "A", schema: .sample)
            for i in 0..<5 { made += try r.write([.init(.case("c\(i)"), FieldKey("title"), .text("t\(i)"))]) }
            #expect(try r.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM seen_range") } == 0)
        }
        let r = try Replica.open(at: path, schema: .sample)  // loads its bookkeeping from the tables
        #expect(try r.info().counter == 5)
        #expect(try r.appliedCount() == 5)
        #expect(try r.versionVector() == VersionVector([r.id: 5]))
        #expect(try r.apply(made, origin: .local) == ApplyResult(applied: 0, duplicates: 5))
        let other = Change(dot: Dot(replica: ReplicaID("b"), counter: 1), hlc: HLC(wallMillis: 1), record: .case("x"),
                           field: FieldKey("title"), value: .text("x"), context: [], author: "B")
        #expect(try r.apply([other], origin: .hub).applied == 1)
        #expect(try r.write([.init(.case("c0"), FieldKey("title"), .text("again"))])[0].dot.counter == 6)
        #expect(try Replica.open(at: path, schema: .sample).appliedCount() == 7)
        #expect(try Replica.open(at: path, schema: .sample).info().counter == 6)
    }
}

/// One replica written from many threads at once (the hub serving concurrent pushes, a node
/// syncing while its user types): every write lands once, from replicas it has never seen before.
@Suite struct ConcurrentWriteTests {
    @Test func concurrentWritersAndMergesLoseNothing() throws {
        let dir = try TempDir()
        let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: .sample)
        let nodes = 12, perNode = 60
        let failures = Failures()
        var threads: [Thread] = []
        for k in 0..<nodes {
            threads.append(Thread {
                var state = ReplicaState(id: ReplicaID("node-\(k)"), schema: .sample)
                for i in 0..<perNode {
                    let change = state.write(.case("c\(i % 5)"), FieldKey("co_units", element: "u\(k)-\(i)"), .integer(1),
                                             author: "n\(k)", physicalMillis: UInt64(i))
                    do { try hub.apply([change], origin: .local) } catch { failures.add(error) }
                }
            })
            threads.append(Thread {
                for i in 0..<perNode / 4 {
                    do { try hub.write([.init(.case("h\(k)"), FieldKey("notes", element: "\(k)-\(i)"), .text("x"))]) } catch { failures.add(error) }
                }
            })
        }
        threads.forEach { $0.start() }
        while threads.contains(where: { !$0.isFinished }) { usleep(1000) }
        #expect(failures.all.isEmpty, "\(failures.all.count) writes failed, the first: \(failures.all.first.map { "\($0)" } ?? "")")
        let own = nodes * perNode / 4
        #expect(try hub.appliedCount() == nodes * perNode + own)
        #expect(try hub.logCount() == nodes * perNode + own)
        #expect(try hub.info().counter == UInt64(own))
        #expect(try Replica.open(at: dir.path("hub.sqlite"), schema: .sample).appliedCount() == nodes * perNode + own)
    }

    final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var errors: [any Error] = []
        func add(_ e: any Error) { lock.withLock { errors.append(e) } }
        var all: [any Error] { lock.withLock { errors } }
    }
}
