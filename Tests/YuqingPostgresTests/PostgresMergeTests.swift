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
    static var url: String? {
        guard let url = ProcessInfo.processInfo.environment["YUQING_POSTGRES_URL"], !url.isEmpty else {
            print("YUQING_POSTGRES_URL is not set (scripts/postgres.sh sets it): the PostgreSQL tests are skipped")
            return nil
        }
        return url
    }

    static let enabled = url != nil

    /// Creates an empty database and returns its URL.
    static func fresh() async throws -> String {
        let admin = try #require(url)
        let name = "t_\(UInt64.random(in: 0...UInt64.max))"
        let client = PostgresClient(configuration: try PostgresURL.configuration(admin))
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            group.cancelAll()
        }
        var u = URLComponents(string: admin)!
        u.path = "/" + name
        return u.string!
    }

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
