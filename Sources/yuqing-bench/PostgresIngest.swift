import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import YuqingCases
import YuqingCore
import YuqingPostgres

/// The PostgreSQL server a benchmark makes its databases on: `--postgres`, else
/// `YUQING_POSTGRES_URL` (set by `source scripts/postgres.sh`).
func postgresServer(_ option: String?) throws -> String {
    guard let url = option ?? ProcessInfo.processInfo.environment["YUQING_POSTGRES_URL"].flatMap({ $0.isEmpty ? nil : $0 }) else {
        throw BenchError("give --postgres URL, or `source scripts/postgres.sh` first (it sets YUQING_POSTGRES_URL)")
    }
    return url
}

/// The hub's merge on PostgreSQL against plain PostgreSQL inserting the same rows.
struct PostgresIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres-ingest",
        abstract: "Hub ingest on PostgreSQL (PostgresHubStore.ingest) versus plain PostgreSQL inserting the same rows.",
        discussion: "Needs a server: `source scripts/postgres.sh` starts one and sets YUQING_POSTGRES_URL. Each round uses a new database.")

    @Option(help: "PostgreSQL URL of a database this benchmark may create databases from (default: $YUQING_POSTGRES_URL).")
    var postgres: String?
    @Option(help: "Nodes pushing.") var nodes = 20
    @Option(help: "Field changes per node.") var perNode = 5_000
    @Option(help: "Changes per push (one transaction each).") var batch = 1000
    @Option(help: "Rounds (the median round counts).") var rounds = 3
    @Option(help: "Hub instances pushing at once (each its own client, as separate processes are).") var instances = 1

    func run() async throws {
        let url = try postgresServer(postgres)
        note("postgres ingest: generating \(nodes) × \(perNode) changes (workflow: each unit its own cases)")
        let batches = IngestWorkload.batches(nodes: nodes, perNode: perNode, batch: batch, sharedCases: 0, workflow: true)
        let total = batches.reduce(0) { $0 + $1.count }
        let logger = Logger(label: "bench.postgres")
        var yuqing: [Double] = [], plain: [Double] = []
        for round in 1...rounds {
            note("postgres ingest: round \(round)/\(rounds)")
            let hubURL = try await freshPostgresDatabase(url, prefix: "bench")
            var stores: [PostgresHubStore] = []
            for _ in 0..<instances { stores.append(try await PostgresHubStore.connect(url: hubURL, schema: CaseSchema.schema, logger: logger)) }
            let all = stores
            // Each node pushes in order; nodes are spread over the instances.
            let byNode = Dictionary(grouping: batches, by: { $0[0].dot.replica }).values.map { $0 }
            let t = try await seconds {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for (i, pushes) in byNode.enumerated() {
                        let store = all[i % all.count]
                        group.addTask {
                            var n = 0
                            for b in pushes { n += try await store.ingest(b, from: b[0].dot.replica).applied }
                            return n
                        }
                    }
                    var applied = 0
                    for try await n in group { applied += n }
                    guard applied == total else { throw BenchError("the hub applied \(applied) of \(total) changes") }
                }
            }
            for s in stores { s.close() }
            yuqing.append(Double(total) / t)

            let plainURL = try await freshPostgresDatabase(url, prefix: "bench")
            let client = PostgresClient(configuration: try PostgresURL.configuration(plainURL))
            let tp = try await withThrowingTaskGroup(of: Double.self) { group in
                group.addTask { await client.run(); return 0 }
                try await client.query("""
                    CREATE TABLE field_version (kind text, record text, field text, elem text, rid text, counter bigint, body text,
                      PRIMARY KEY (kind, record, field, elem, rid, counter))
                    """, logger: logger)
                // The same columns as the hub's log (its extra indexes by record and by kind are left out).
                try await client.query("CREATE TABLE log (seq bigserial PRIMARY KEY, rid text, counter bigint, kind text, record text, body text, UNIQUE (rid, counter))", logger: logger)
                let encoder = JSONEncoder()
                let tp = try await seconds {
                    for b in batches {
                        let bodies = try b.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
                        let values = try b.map { c in String(decoding: try encoder.encode(c.value), as: UTF8.self) }
                        try await client.withTransaction(logger: logger) { db in
                            try await db.query("""
                                INSERT INTO field_version SELECT * FROM unnest(\(b.map(\.record.kind))::text[], \(b.map(\.record.id))::text[],
                                  \(b.map(\.field.name))::text[], \(b.map(\.field.element))::text[], \(b.map(\.dot.replica.rawValue))::text[],
                                  \(b.map { Int64($0.dot.counter) })::int8[], \(values)::text[])
                                """, logger: logger)
                            try await db.query("""
                                INSERT INTO log (rid, counter, kind, record, body) SELECT * FROM unnest(\(b.map(\.dot.replica.rawValue))::text[],
                                  \(b.map { Int64($0.dot.counter) })::int8[], \(b.map(\.record.kind))::text[], \(b.map(\.record.id))::text[], \(bodies)::text[])
                                """, logger: logger)
                        }
                    }
                }
                group.cancelAll()
                return tp
            }
            plain.append(Double(total) / tp)
        }
        let ratio = median(yuqing) / median(plain)
        print("""
            ## 14. Hub ingest on PostgreSQL (\(nodes) nodes × \(grouped(Double(perNode))) field changes, each unit its own cases, pushes of \(batch), \(instances) instance\(instances == 1 ? "" : "s"); \(rounds) rounds)

            | | field changes/s (median round) | rounds |
            |---|---|---|
            | Yuqing hub (`PostgresHubStore.ingest`: dedup, causal check, merge, log) | \(grouped(median(yuqing))) | \(yuqing.map { grouped($0) }.joined(separator: ", ")) |
            | plain PostgreSQL (a field-version row and a log row per change, one bulk insert per table per push, no index beyond the keys) | \(grouped(median(plain))) | \(plain.map { grouped($0) }.joined(separator: ", ")) |
            | **ratio** | **\(fmt(ratio * 100, 0))%** | target ≥ 50% |

            """)
    }
}
