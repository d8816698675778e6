import ArgumentParser
import Foundation
import Logging
import YuqingCases
import YuqingCore
import YuqingHub
import YuqingPostgres
import YuqingReplica
import YuqingSecurity
import YuqingSync

/// Many units syncing at once against several hub processes over one PostgreSQL database, as
/// behind a load balancer: each node talks to one instance (round robin), every unit works on
/// its own cases, and the hub serves each unit only what it may see.
struct PostgresSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres-sync",
        abstract: "N units sync at once against several hub instances (processes) over one PostgreSQL database.",
        discussion: "Needs a server: `source scripts/postgres.sh` starts one and sets YUQING_POSTGRES_URL. Uses a new database.")

    @Option(help: "PostgreSQL URL of a database this benchmark may create databases from (default: $YUQING_POSTGRES_URL).")
    var postgres: String?
    @Option(help: "Hub instances (each a `yuqing hub serve --postgres` process).") var instances = 3
    @Option(help: "Units, each with one node (its own SQLite file and HTTP client).") var units = 1000
    @Option(help: "Cases each unit registers between syncs (about 7 changes each, distinct Chinese text).") var cases = 1
    @Option(help: "Rounds of concurrent syncs.") var rounds = 3
    @Option(help: "Syncs in flight at once (default: every unit at once).") var atOnce: Int?
    @Option(help: "Nodes whose digest is compared with the hub's view of their unit afterwards (default: all).") var verify: Int?

    func run() async throws {
        let base = try postgresServer(postgres)
        let dir = try Scratch("postgres-sync")
        let url = try await freshPostgresDatabase(base, prefix: "bench_sync")
        var logger = Logger(label: "bench.postgres")
        logger.logLevel = .error
        let store = try await PostgresHubStore.connect(url: url, schema: CaseSchema.schema, logger: logger)
        defer { store.close() }
        let fleet = try UnitFleet(units: units, prefix: "pgsync")
        try await store.writeAsHub(fleet.organisation.map { ($0.record, $0.field, $0.value) }, author: "operator@hub")
        note("postgres sync: starting \(instances) hub instances")
        var hubs: [HubProcess] = []
        defer { for h in hubs { h.stop() } }  // also when a check below fails
        for _ in 0..<instances { hubs.append(try HubProcess(postgres: url, files: dir.file("hub"), authenticated: true)) }
        let hubKey = try SigningKey.load(from: dir.file("hub") + ".hub.key").publicKey
        note("postgres sync: creating \(units) nodes")
        let nodes = try (0..<units).map { k in try fleet.node(k, at: dir.file("n\(k).sqlite"), hub: hubs[k % instances].url, hubKey: hubKey) }
        let sessions = nodes.map(\.session)
        // A first sync each (the organisation), not timed.
        note("postgres sync: first sync of every node")
        try await syncAll(sessions)
        var samples: [Double] = []
        var errors: [String: Int] = [:]
        for round in 1...rounds {
            for node in nodes { try node.register(cases, round: round) }
            note("postgres sync: round \(round)/\(rounds), \(units) syncs, \(atOnce ?? units) at once, over \(instances) instances")
            let limit = atOnce ?? units
            var outcomes: [Result<Double, SyncFailure>] = []
            for start in stride(from: 0, to: sessions.count, by: limit) {
                outcomes += try await withThrowingTaskGroup(of: Result<Double, SyncFailure>.self) { group in
                    for s in sessions[start..<min(start + limit, sessions.count)] {
                        group.addTask {
                            let begun = ContinuousClock.now
                            do { _ = try await s.run() } catch { return .failure(SyncFailure(error)) }
                            let d = ContinuousClock.now - begun
                            return .success(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            for o in outcomes {
                switch o {
                case .success(let ms): samples.append(ms)
                case .failure(let f): errors[f.kind, default: 0] += 1
                }
            }
        }
        // Until every node has synced without error; then each holds what its unit may see.
        note("postgres sync: checking convergence")
        try await syncAll(sessions)
        let total = try await store.versionVector().entries.values.reduce(0) { $0 + Int($1) }
        guard try await store.logCount() == total, total >= units * cases * rounds * 5 else {
            throw BenchError("the hub's log holds \(try await store.logCount()) changes, the version vector \(total)")
        }
        for s in sessions.prefix(verify ?? units) {
            let unit = try s.replica.info().unit
            guard try s.replica.digest() == (try await store.digest(unit: unit)) else { throw BenchError("node \(s.replica.id) (\(unit)) did not converge") }
        }
        let peaks = hubs.map { $0.stop() }
        print("""
            ## 15. \(units) units sync (\(atOnce ?? units) at once) against \(instances) hub instances over one PostgreSQL database (each registers \(cases) case\(cases == 1 ? "" : "s") a round, \(rounds) rounds)

            | syncs | errors | p50 ms | p99 ms | max ms |
            |---|---|---|---|---|
            | \(samples.count + errors.values.reduce(0, +)) | \(errors.values.reduce(0, +)) | \(samples.isEmpty ? "–" : fmt(median(samples), 0)) | \(samples.isEmpty ? "–" : fmt(percentile(samples, 0.99), 0)) | \(fmt(samples.max() ?? 0, 0)) |
            \(errors.sorted { $0.value > $1.value }.map { "Errors: \($0.value) × \($0.key)\n" }.joined())

            Each node is an enrolled device of its unit's user (a monitor), talks to one instance (round robin, as a load
            balancer would), pushes its own cases sealed and pulls only what its unit may see, checking the seals. Afterwards (every node synced again, at most 200 at once) the log holds \(grouped(Double(total)))
            changes, each once, and the digest of \(verify.map { "each of the first \($0)" } ?? "every") node equals the hub's digest of its unit. Hub instances' peak RSS: \(peaks.map { "\($0 >> 20) MiB" }.joined(separator: ", ")).

            """)
    }

    /// Why a timed sync failed, in a few words (its kind, for counting).
    struct SyncFailure: Error {
        var kind: String
        init(_ error: any Error) {
            if let e = error as? SyncError { kind = "\(e.code): \(e.message.prefix(90))" } else { kind = String(String(describing: error).prefix(120)) }
        }
    }

    /// Syncs every node, at most 200 at a time, until each has synced without error.
    func syncAll(_ sessions: [SyncSession]) async throws {
        var left = sessions
        for _ in 0..<10 where !left.isEmpty {
            var failed: [SyncSession] = []
            for start in stride(from: 0, to: left.count, by: 200) {
                let slice = left[start..<min(start + 200, left.count)]
                failed += try await withThrowingTaskGroup(of: SyncSession?.self) { group in
                    for s in slice { group.addTask { (try? await s.run()) == nil ? s : nil } }
                    return try await group.reduce(into: [SyncSession]()) { if let s = $1 { $0.append(s) } }
                }
            }
            left = failed
        }
        guard left.isEmpty else { throw BenchError("\(left.count) nodes could not sync") }
    }
}
