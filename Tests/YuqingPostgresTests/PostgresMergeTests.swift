import Foundation
import Logging
import PostgresNIO
import Testing
import YuqingCore
@testable import YuqingPostgres
import YuqingReplica
import YuqingTestSupport

/// A fresh database on the server scripts/postgres.sh starts (YUQING_POSTGRES_URL); nil, with a
/// line saying so, when there is none.
enum TestDatabase {
    static var url: String? { postgresTestServer(without: "the PostgreSQL tests are skipped") }

    static let enabled = url != nil

    /// Creates an empty database and returns its URL.
    static func fresh() async throws -> String { try await freshPostgresDatabase(try #require(url), prefix: "t") }

    static let logger = Logger(label: "test.postgres")
}

@Suite(.enabled(if: TestDatabase.enabled, "PostgreSQL is not available (scripts/postgres.sh starts it)"), .serialized)
struct PostgresMergeTests {
    /// The same random histories, delivered in the same shuffled batches with duplicates, through
    /// the merge over its three stores: in memory, SQLite and PostgreSQL. After every batch they
    /// hold the same state, the same waiting changes, and the same log in the same order.
    @Test(arguments: 0..<8) func threeStoresAgree(seed: Int) async throws {
        let dir = try TempDir()
        let (all, batches) = RandomHistory.make(seed: seed)
        let hubID = ReplicaID("hub")
        var memory = MemoryMergeStore()
        let sqlite = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: .sample)
        let pg = try await PostgresHubStore.connect(url: try await TestDatabase.fresh(), schema: .sample, logger: TestDatabase.logger)
        defer { pg.close() }
        for batch in batches {
            let sender = batch[0].dot.replica
            var run = Merge.Run<ReplicaID>()
            for c in batch {
                _ = try Merge.apply(c, into: &memory, run: &run, log: true, origin: sender, own: hubID, limits: WaitingLimits(), schema: .sample)
            }
            _ = try Merge.drain(&memory, run: &run, schema: .sample)
            let s = try sqlite.apply(batch, origin: .local, sender: sender, waitingLimits: WaitingLimits())
            let p = try await pg.ingest(batch, from: sender)
            #expect(p.applied == s.applied && p.duplicates == s.duplicates, "seed \(seed)")
            #expect(p.pending == memory.waitingTotal && s.pending == memory.waitingTotal, "seed \(seed)")
            var reference = StateDigest(schema: .sample)
            let keys = memory.fields.flatMap { record, byKey in byKey.map { (record, $0.key, $0.value) } }
            for (record, key, state) in keys.sorted(by: { StateDigest.ascending(($0.0, $0.1), ($1.0, $1.1)) }) {
                reference.add(record: record, field: key, siblings: state.siblings)
            }
            let digest = reference.finalize()
            #expect(try sqlite.digest() == digest, "seed \(seed)")
            #expect(try await pg.digest() == digest, "seed \(seed)")
            #expect(try await pg.waitingCount() == memory.waitingTotal, "seed \(seed)")
        }
        let logged = memory.log.map(\.dot)
        #expect(logged.count == all.count)
        #expect(try sqlite.changes(after: 0, limit: 10_000).entries.map(\.change.dot) == logged, "seed \(seed)")
        #expect(try await pg.changes(after: 0, limit: 10_000).entries.map(\.change.dot) == logged, "seed \(seed)")
        #expect(try await pg.conflicts().map(\.id) == (try sqlite.conflicts().map(\.id)), "seed \(seed)")
        #expect(try await pg.versionVector() == (try sqlite.versionVector()), "seed \(seed)")
    }

    /// The refusals are the merge's, so they are the same: a different change under a held dot,
    /// and a change under the hub's own id, leave nothing of their batch behind.
    @Test func refusalsLeaveNothing() async throws {
        let pg = try await PostgresHubStore.connect(url: try await TestDatabase.fresh(), schema: .sample, logger: TestDatabase.logger)
        defer { pg.close() }
        var node = ReplicaState(id: ReplicaID("n1"), schema: .sample)
        let first = node.write(.case("c1"), FieldKey("summary"), .text("a"), author: "x", physicalMillis: 1)
        _ = try await pg.ingest([first], from: node.id)
        var forged = first
        forged.value = .text("b")
        let second = node.write(.case("c2"), FieldKey("summary"), .text("c"), author: "x", physicalMillis: 2)
        await #expect { try await pg.ingest([second, forged], from: node.id) } throws: { ($0 as? MergeRefusal)?.code == .dotReused }
        let own = Change(dot: Dot(replica: pg.hubID, counter: 1), hlc: first.hlc, record: .case("c3"), field: FieldKey("summary"),
                         value: .text("d"), context: [], author: "x")
        await #expect { try await pg.ingest([own], from: node.id) } throws: { ($0 as? MergeRefusal)?.code == .foreignOwnDot }
        #expect(try await pg.logCount() == 1)
        #expect(try await pg.changes(after: 0, limit: 10).entries.map(\.change) == [first])
    }
}

/// Several hub instances over one database: each is its own client with its own connections,
/// as separate processes are.
@Suite(.enabled(if: TestDatabase.enabled, "PostgreSQL is not available (scripts/postgres.sh starts it)"), .serialized)
struct PostgresInstancesTests {
    /// Eight nodes push to two instances at once, in small batches, while a puller follows the
    /// log through a third by its cursor. The puller receives every change exactly once, at
    /// strictly rising positions, and the instances end with one state.
    @Test func instancesConvergeAndPullersSkipNothing() async throws {
        let url = try await TestDatabase.fresh()
        let a = try await PostgresHubStore.connect(url: url, schema: .sample, logger: TestDatabase.logger)
        let b = try await PostgresHubStore.connect(url: url, schema: .sample, logger: TestDatabase.logger)
        let c = try await PostgresHubStore.connect(url: url, schema: .sample, logger: TestDatabase.logger)
        defer { a.close(); b.close(); c.close() }
        #expect(a.hubID == b.hubID && b.hubID == c.hubID)
        var made: [[Change]] = []
        for n in 0..<8 {
            var node = ReplicaState(id: ReplicaID("n\(n)"), schema: .sample)
            made.append((0..<60).map { (i: Int) -> Change in
                let key: FieldKey = i % 2 == 0 ? FieldKey("summary") : FieldKey("notes", element: "e\(i)")
                let value: FieldValue = .text("单位\(n) 第\(i)条")
                return node.write(.case("n\(n)-\(i % 7)"), key, value, author: "u\(n)", physicalMillis: UInt64(1000 + i))
            })
        }
        let batches = made
        let pushing = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (n, changes) in batches.enumerated() {
                    group.addTask {
                        for start in stride(from: 0, to: changes.count, by: 5) {
                            _ = try await (n % 2 == 0 ? a : b).ingest(Array(changes[start..<min(start + 5, changes.count)]), from: ReplicaID("n\(n)"))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        var cursor: Int64 = 0
        var received: [Dot] = []
        var positions: [Int64] = []
        let total = made.joined().count
        while received.count < total {
            let page = try await c.changes(after: cursor, limit: 17)
            for e in page.entries {
                positions.append(e.seq)
                received.append(e.change.dot)
            }
            cursor = page.entries.last?.seq ?? cursor
            if page.entries.isEmpty {
                if pushing.isCancelled { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            if received.count >= total { break }
        }
        try await pushing.value
        #expect(Set(received) == Set(made.joined().map(\.dot)))
        #expect(received.count == total)
        #expect(zip(positions, positions.dropFirst()).allSatisfy { $0 < $1 })
        #expect(try await a.digest() == (try await b.digest()))
        var reference = ReplicaState(id: ReplicaID("ref"), schema: .sample)
        for ch in made.joined() { reference.apply(ch) }
        #expect(try await c.digest() == reference.digest)
    }

    /// A push that one instance has begun and that stalls before its commit (a row it must delete
    /// is held by another transaction) delays the pushes after it, on any instance, rather than
    /// let them commit positions before its own: a puller meanwhile receives nothing it would
    /// later find an earlier position behind, and afterwards receives both, in order.
    @Test func aLateCommitIsNeverSkipped() async throws {
        let url = try await TestDatabase.fresh()
        let a = try await PostgresHubStore.connect(url: url, schema: .sample, logger: TestDatabase.logger)
        let b = try await PostgresHubStore.connect(url: url, schema: .sample, logger: TestDatabase.logger)
        defer { a.close(); b.close() }
        var n1 = ReplicaState(id: ReplicaID("n1"), schema: .sample)
        var n2 = ReplicaState(id: ReplicaID("n2"), schema: .sample)
        let first = n1.write(.case("c1"), FieldKey("summary"), .text("一"), author: "u1", physicalMillis: 1)
        _ = try await a.ingest([first], from: n1.id)
        let head = try await a.head()
        // Another session holds the row of `first`'s value: n1's overwrite stalls on it.
        let blocker = PostgresClient(configuration: try PostgresURL.configuration(url))
        let runner = Task { await blocker.run() }
        defer { runner.cancel() }
        let held = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        let holding = Task {
            try await blocker.withTransaction(logger: TestDatabase.logger) { db in
                try await db.query("SELECT 1 FROM field_value WHERE record = 'c1' FOR UPDATE", logger: TestDatabase.logger)
                held.continuation.yield()
                for await _ in release.stream { break }
            }
        }
        for await _ in held.stream { break }
        let overwrite = n1.write(.case("c1"), FieldKey("summary"), .text("二"), author: "u1", physicalMillis: 2)
        /// Waits until `n` sessions of this database wait for a lock.
        func waitForLockWaiters(_ n: Int) async throws {
            for _ in 0..<2000 {
                let rows = try await blocker.query("SELECT count(*)::int8 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
                for try await count in rows.decode(Int64.self) where count >= n { return }
                try await Task.sleep(for: .milliseconds(5))
            }
            Issue.record("\(n) sessions never waited for a lock")
        }
        let slow = Task { try await a.ingest([overwrite], from: n1.id) }
        try await waitForLockWaiters(1)  // the overwrite, on the held row
        let other = n2.write(.case("c2"), FieldKey("summary"), .text("三"), author: "u2", physicalMillis: 3)
        let fast = Task { try await b.ingest([other], from: n2.id) }
        try await waitForLockWaiters(2)  // and the other push, on the log lock
        // Neither has committed: the puller sees nothing after the head, not `other` alone.
        #expect(try await b.changes(after: head, limit: 10).entries.isEmpty)
        release.continuation.yield()
        _ = try await holding.value
        _ = try await slow.value
        _ = try await fast.value
        let page = try await b.changes(after: head, limit: 10)
        #expect(Set(page.entries.map(\.change.dot)) == [overwrite.dot, other.dot])
        #expect(page.entries.map(\.seq) == page.entries.map(\.seq).sorted())
    }
}
