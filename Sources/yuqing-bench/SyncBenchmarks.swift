import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import YuqingCases
import YuqingCore
import YuqingHub
import Logging
import YuqingPostgres
import YuqingReplica
import YuqingSecurity
import YuqingSync
import YuqingWire

/// Cases as field units register them: ten field values each (unit, title, summary, level,
/// category, two co-units, three progress reports as steps), from `nodes` units, each unit its own
/// cases, written by its user (``WorkflowWorkload``) so that the hub's rules accept them.
struct CaseWorkload {
    var nodes = 10
    var fieldsPerCase: Int { 10 }
    /// When set, the cases belong to this many units, case c to unit c mod `units`, and one case
    /// in ten also names two co-units: each unit may see about 1.2/`units` of them (partial
    /// replication; 1% with 120 units). Otherwise each case belongs to its writer's unit and names two co-units.
    var units: Int?
    private var counters: [UInt64]

    init(nodes: Int = 10, units: Int? = nil) {
        self.nodes = nodes
        self.units = units
        counters = Array(repeating: 0, count: nodes)
    }

    static func node(_ k: Int) -> ReplicaID { IngestWorkload.replicaID(1000 + k) }

    static let reports = ["已联系发帖人核实情况", "已调阅相关记录", "已约谈单位负责人", "现场查看后确认问题存在", "已责令限期整改"]

    /// The changes registering cases `range`, in order.
    mutating func changes(cases range: Range<Int>) -> [Change] {
        var out: [Change] = []
        out.reserveCapacity(range.count * fieldsPerCase)
        for c in range {
            let k = c % nodes
            let record = CaseSchema.caseRef(String(format: "YQ-%07d", c))
            let actor = Actor(user: WorkflowWorkload.user(k), unit: WorkflowWorkload.unit(k))
            let at = 1_790_000_000_000 + Int64(c)
            func report(_ n: Int) -> FieldValue {
                var step = Step(kind: .report, at: at + Int64(n), by: actor, role: .monitor)
                step.report = .progress
                step.text = "\(Self.reports[(c + n) % Self.reports.count])（第\(c)起，第\(n)次）"
                return .text(step.encoded())
            }
            let place = WorkflowWorkload.places[c % 10], subject = WorkflowWorkload.subjects[(c / 10) % 10]
            var owner = actor.unit, co = [WorkflowWorkload.unit((k + 1) % nodes), WorkflowWorkload.unit((k + 3) % nodes)]
            var extra: [(FieldKey, FieldValue)] = []
            if let units {
                owner = WorkflowWorkload.unit(c % units)
                co = (c / units) % 10 == 0 ? [WorkflowWorkload.unit((c + 1) % units), WorkflowWorkload.unit((c + 3) % units)] : []
                if co.isEmpty {
                    extra = [(FieldKey(CaseSchema.Field.site), .text("\(place)论坛")), (FieldKey(CaseSchema.Field.poster), .text("网友\(c % 9973)"))]
                }
            }
            let fields: [(FieldKey, FieldValue)] = [
                (FieldKey(CaseSchema.Field.unit), .text(owner)),
                (FieldKey(CaseSchema.Field.title), .text("\(place)\(subject)问题，网民反映第\(c)起")),
                (FieldKey(CaseSchema.Field.summary), .text("网民反映\(place)\(subject)\(WorkflowWorkload.issues[c % 10])（编号\(c % 997)）")),
                (FieldKey(CaseSchema.Field.level), .text(Level.scale[c % 4])),
                (FieldKey(CaseSchema.Field.category), .text(String(1 + (c % 7) % 4))),
            ] + co.map { (FieldKey(CaseSchema.Field.coUnits, element: $0), FieldValue.integer(1)) } + extra + [
                (FieldKey(CaseSchema.Field.steps, element: "S\(c)-1"), report(1)),
                (FieldKey(CaseSchema.Field.steps, element: "S\(c)-2"), report(2)),
                (FieldKey(CaseSchema.Field.steps, element: "S\(c)-3"), report(3)),
            ]
            for (field, value) in fields {
                counters[k] += 1
                out.append(Change(dot: Dot(replica: Self.node(k), counter: counters[k]),
                                  hlc: HLC(wallMillis: UInt64(at)), record: record, field: field,
                                  value: value, context: [], author: actor.author))
            }
        }
        return out
    }

    /// `count` progress reports, one each on cases spread over `0..<among`, by their writers.
    mutating func reports(count: Int, among cases: Int) -> [Change] {
        var out: [Change] = []
        for i in 0..<count {
            let c = (i * 7919) % cases, k = c % nodes
            let actor = Actor(user: WorkflowWorkload.user(k), unit: WorkflowWorkload.unit(k))
            let at = 1_790_100_000_000 + Int64(i)
            var step = Step(kind: .report, at: at, by: actor, role: .monitor)
            step.report = .progress
            step.text = "\(Self.reports[i % Self.reports.count])（第\(c)起，当日第\(i)条）"
            counters[k] += 1
            out.append(Change(dot: Dot(replica: Self.node(k), counter: counters[k]), hlc: HLC(wallMillis: UInt64(at)),
                              record: CaseSchema.caseRef(String(format: "YQ-%07d", c)), field: FieldKey(CaseSchema.Field.steps, element: "D\(c)-\(i)"),
                              value: .text(step.encoded()), context: [], author: actor.author))
        }
        return out
    }

    /// Fills a hub database with `cases` cases, in transactions of 1,000 cases. `sealed`: as
    /// enrolled devices push them, each unit's device enrolled and every push sealed, so that a
    /// node that pulls them checks every seal.
    @discardableResult
    static func populateHub(_ path: String, cases: Int, sealed: Bool = false, units: Int? = nil) async throws -> (workload: CaseWorkload, keys: [ReplicaID: SigningKey]) {
        try await populate(SQLiteHubStorage(path: path, schema: CaseSchema.schema), cases: cases, sealed: sealed, units: units)
    }

    /// Fills `storage` (SQLite or PostgreSQL) with `cases`, as ``populateHub(_:cases:sealed:units:)``.
    static func populate(_ storage: some HubStorage, cases: Int, sealed: Bool = false, units: Int? = nil) async throws -> (workload: CaseWorkload, keys: [ReplicaID: SigningKey]) {
        var workload = CaseWorkload(units: units)
        var keys: [ReplicaID: SigningKey] = [:]
        if sealed {
            var writes: [FieldWrite] = []
            for k in 0..<workload.nodes {
                let key = SigningKey()
                keys[node(k)] = key
                writes += Device.enrolment(id: node(k).rawValue, publicKey: key.publicKey.base64, unit: WorkflowWorkload.unit(k),
                                           user: WorkflowWorkload.user(k), at: 1_790_000_000_000)
            }
            try await storage.writeAsHub(writes.map { ($0.record, $0.field, $0.value) }, author: "operator@hub")
        }
        for start in stride(from: 0, to: cases, by: 1000) {
            let changes = workload.changes(cases: start..<min(start + 1000, cases))
            var seals: [Seal] = []
            for (replica, key) in keys { seals += try Seal.runs(of: changes, replica: replica).map { try Seal.make($0, key: key) } }
            _ = try await storage.ingest(changes, from: ReplicaID("bench"), seals: seals)
            if start % 100_000 == 0 { note("  hub holds \(start) cases") }
        }
        return (workload, keys)
    }
}

/// 5. A fresh node pulling a whole hub over loopback HTTP: the `yuqing sync` process, timed.
struct Bootstrap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bootstrap: a fresh node pulls N cases from a hub over loopback HTTP.")

    @Option(help: "Cases on the hub (ten field values each).") var cases = 100_000
    @Option(help: "Changes per pull request.") var batchSize = 5000
    @Option(help: "Runs (the median counts).") var runs = 3
    @Flag(help: "Skip comparing the node's digest with the hub's afterwards.") var noVerify = false
    @Flag(help: "Without devices and seals (a hub that does not authenticate): to see what checking seals costs.") var unsealed = false
    @Flag(help: "The node replays the hub's log (`yuqing sync --no-snapshot`) instead of starting from the hub's snapshot.") var noSnapshot = false
    @Option(help: "Serve from a new database on this PostgreSQL server instead of an SQLite file (`source scripts/postgres.sh` gives one).")
    var postgres: String?

    struct Result: Codable { var cases: Int; var changes: Int; var seconds: Double; var casesPerSecond: Double; var nodePeakRSS: Int }

    /// A node starts from the hub's snapshot: an SQLite hub that makes them, and not turned off.
    var fromSnapshot: Bool { postgres == nil && !noSnapshot }

    func run() async throws { print(try await measure().table) }

    func measure() async throws -> (result: Result, table: String) {
        let dir = try Scratch("bootstrap")
        note("bootstrap: filling a hub with \(cases) cases, pushed by enrolled devices with their seals\(postgres == nil ? "" : ", on PostgreSQL")")
        // The hub's storage, for the loader and the checks: the SQLite file, or a new PostgreSQL database.
        let storage: any HubStorage
        var pg: PostgresHubStore?
        var pgURL: String?
        var store: [String]
        if let postgres {
            let url = try await freshPostgresDatabase(postgres, prefix: "bench_bootstrap")
            pgURL = url
            var logger = Logger(label: "bench.postgres")
            logger.logLevel = .error
            pg = try await PostgresHubStore.connect(url: url, schema: CaseSchema.schema, logger: logger)
            try await pg!.writeAsHub(WorkflowWorkload.organisation(units: 20).map { ($0.record, $0.field, $0.value) }, author: "operator@hub")
            storage = pg!
            store = ["--postgres", url]
        } else {
            storage = try SQLiteHubStorage(path: dir.file("hub.sqlite"), schema: CaseSchema.schema)
            store = ["--db", dir.file("hub.sqlite")]
        }
        defer { pg?.close() }
        try await CaseWorkload.populate(storage, cases: cases, sealed: !unsealed)
        let hub = postgres == nil ? try HubProcess(db: dir.file("hub.sqlite"), authenticated: !unsealed)
            : try HubProcess(postgres: pgURL!, files: dir.file("hub"), authenticated: !unsealed)
        defer { hub.stop() }
        var times: [Double] = [], rss: [Int] = []
        let bin = yuqingBinary()
        var snapshot: (offer: SnapshotOffer, afterStart: Double)?
        if fromSnapshot {
            // A deployed hub made its snapshot long before a new node comes; here the hub makes it
            // after it starts, and the timed runs begin once it is there.
            note("bootstrap: waiting for the hub's snapshot")
            let started = ContinuousClock.now
            while snapshot == nil {
                if let offer = try await snapshotOffer(hub.url, operatorKey: unsealed ? nil : hub.operatorKey) {
                    snapshot = (offer, (ContinuousClock.now - started).seconds)
                } else {
                    guard ContinuousClock.now - started < .seconds(300) else { throw BenchError("the hub made no snapshot in 5 minutes") }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        // The hub was filled seconds ago: its file (and the snapshot) are written out before the
        // timed runs, as on a hub filled long before a new node comes.
        sync()
        for run in 1...runs {
            // A node enrolled as a new device, which checks every seal it pulls.
            let node = dir.file("node-\(run).sqlite")
            var enrol: [String] = []
            if !unsealed {
                let code = try runChildOutput([bin, "hub", "enrol"] + store + ["--unit", WorkflowWorkload.unit(1),
                                               "--user", WorkflowWorkload.user(1)]).split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
                enrol = ["--code", code]
            }
            try runChild([bin, "node", "init", "--db", node, "--hub", hub.url, "--unit", WorkflowWorkload.unit(1), "--user", WorkflowWorkload.user(1)] + enrol)
            // Everything the hub holds: the cases, the organisation and the devices (counters run from 1).
            let held = try await storage.versionVector().entries.values.reduce(0) { $0 + Int($1) }
            note("bootstrap: run \(run)/\(runs)")
            let output = dir.file("sync-\(run).out")
            let (t, peak) = try runChild([bin, "sync", "--db", node, "--batch-size", String(batchSize)] + (noSnapshot ? ["--no-snapshot"] : []), output: output)
            // The path the run took, said by `yuqing sync` itself.
            let said = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            guard said.contains("started from the hub's snapshot") == fromSnapshot else {
                throw BenchError("the node was to \(fromSnapshot ? "start from the hub's snapshot" : "replay the log"), but `yuqing sync` said: \(said)")
            }
            if let line = said.split(separator: "\n").first(where: { $0.contains("snapshot") }) { note("  \(line)") }
            times.append(t)
            rss.append(peak)
            let replica = try Replica.open(at: node, schema: CaseSchema.schema)
            guard try replica.appliedCount() == held else { throw BenchError("the node holds \(try replica.appliedCount()) of \(held) changes") }
            if !noVerify, run == 1 {
                note("bootstrap: comparing digests")
                guard try replica.digest() == (try await storage.digest()) else { throw BenchError("the node's digest differs from the hub's") }
            }
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: node + suffix) }
        }
        let r = Result(cases: cases, changes: cases * 10, seconds: median(times), casesPerSecond: Double(cases) / median(times),
                       nodePeakRSS: rss.max() ?? 0)
        // What a pull batch of this workload weighs on the wire, in each form.
        let binary = try await pullBodyBytes(hub.url, limit: batchSize, binary: true, operatorKey: unsealed ? nil : hub.operatorKey)
        let json = try await pullBodyBytes(hub.url, limit: batchSize, binary: false, operatorKey: unsealed ? nil : hub.operatorKey)
        let table = """
            ## 5. Bootstrap\(postgres == nil ? "" : " from PostgreSQL") (a fresh node gets \(grouped(Double(cases))) cases = \(grouped(Double(cases * 10))) field values \(fromSnapshot ? "from the hub's snapshot" : "by replaying the log"); `yuqing sync --batch-size \(batchSize)\(noSnapshot ? " --no-snapshot" : "")` as a process; \(runs) runs)

            | seconds (median) | runs | cases/s | field values/s | node peak RSS | target |
            |---|---|---|---|---|---|
            | \(fmt(r.seconds)) | \(times.map { fmt($0) }.joined(separator: ", ")) | \(grouped(r.casesPerSecond)) | \(grouped(Double(r.changes) / r.seconds)) | \(rss.max()! >> 20) MiB | ≤ 2 s |

            \(snapshot.map { "The snapshot: \(grouped(Double($0.offer.bytes))) bytes, \(grouped(Double($0.offer.values))) values and \($0.offer.seals) seals at log position \($0.offer.position), offered \(fmt($0.afterStart)) s after the hub answered (the hub makes it in the background once its log has grown by `hub serve --snapshot-every`, 50,000 by default).\n\n" } ?? "")One pull batch of \(batchSize) changes: \(grouped(Double(binary))) bytes in the binary form, revision \(BinaryChanges.revision) (\(fmt(Double(binary) / Double(batchSize))) per change), \(grouped(Double(json))) in JSON (\(fmt(Double(json) / Double(batchSize), 1)) per change).

            """
        return (r, table)
    }
}

/// A GET of `target` at the hub, signed with the operator's key when one is given.
func operatorGET(_ hub: String, _ target: String, operatorKey: String?) throws -> URLRequest {
    var request = URLRequest(url: URL(string: hub + target)!)
    if let operatorKey {
        let key = try SigningKey.load(from: operatorKey)
        for (name, value) in RequestSigning.headers(method: "GET", target: target, body: Data(), signer: RequestSigning.operatorSigner,
                                                    key: key, timeMillis: Int64(Date().timeIntervalSince1970 * 1000)) {
            request.setValue(value, forHTTPHeaderField: name)
        }
    }
    return request
}

/// The hub's snapshot offer (`GET /v1/snapshot`), or nil while it has none.
func snapshotOffer(_ hub: String, operatorKey: String?) async throws -> SnapshotOffer? {
    let request = try operatorGET(hub, "/v1/snapshot", operatorKey: operatorKey)
    let (data, response) = try await URLSession.shared.data(for: request)
    guard (response as? HTTPURLResponse)?.statusCode == 200 else { return nil }
    return try WireJSON.decode(SnapshotOffer.self, from: data)
}

/// The body size of the hub's answer to `GET /v1/pull?after=0&limit=N`, binary or JSON.
func pullBodyBytes(_ hub: String, limit: Int, binary: Bool, operatorKey: String? = nil) async throws -> Int {
    let target = "/v1/pull?after=0&limit=\(limit)&replica=bench&binary=\(BinaryChanges.revision)"
    var request = try operatorGET(hub, target, operatorKey: operatorKey)
    request.setValue(binary ? WireMedia.binary : WireMedia.json, forHTTPHeaderField: "Accept")
    let (data, _) = try await URLSession.shared.data(for: request)
    return data.count
}

/// 6. A node that worked offline (1,000 changes) reconnecting: one sync, timed in-process.
struct Reconnect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reconnect: a node with N pending changes syncs with the hub.")

    @Option(help: "Pending changes on the node at each sync.") var pending = 1000
    @Option(help: "Changes other nodes pushed meanwhile (pulled by the timed sync).") var incoming = 200
    @Option(help: "Cases on the hub beforehand.") var cases = 10_000
    @Option(help: "Timed syncs.") var runs = 50
    @Flag(help: "Print each timed sync's time, in order, to standard error (where a run's slowest syncs fall).") var eachSync = false

    struct Result: Codable { var p50Millis: Double; var p99Millis: Double; var maxMillis: Double }

    func run() async throws { print(try await measure().table) }

    func measure() async throws -> (result: Result, table: String) {
        let dir = try Scratch("reconnect")
        note("reconnect: filling a hub with \(cases) cases")
        try await CaseWorkload.populateHub(dir.file("hub.sqlite"), cases: cases)
        let hub = try HubProcess(db: dir.file("hub.sqlite"))
        defer { hub.stop() }
        let a = try benchNode(dir.file("a.sqlite"), k: 0, hub: hub.url), b = try benchNode(dir.file("b.sqlite"), k: 1, hub: hub.url)
        let sa = SyncSession(replica: a, client: try HubClient(hubURL: hub.url))
        let sb = SyncSession(replica: b, client: try HubClient(hubURL: hub.url))
        note("reconnect: first syncs")
        _ = try await sa.run()
        _ = try await sb.run()
        var rng = SystemRandomNumberGenerator()
        func edits(_ n: Int, _ unit: String) -> [Replica.Write] {
            (0..<n).map { i in
                let record = CaseSchema.caseRef(String(format: "YQ-%07d", Int.random(in: 0..<cases, using: &rng)))
                return switch i % 3 {
                case 0: Replica.Write(record, FieldKey("title"), .text("Title edited by \(unit), \(i)"))
                case 1: Replica.Write(record, FieldKey(CaseSchema.Field.category), .text(String(1 + (i % 7) % 4)))
                default: Replica.Write(record, FieldKey(CaseSchema.Field.coUnits, element: WorkflowWorkload.unit(i % 9)), .integer(1))
                }
            }
        }
        var samples: [Double] = [], waits: [Double] = []
        for run in 0...runs {
            try a.write(edits(pending, "A"))
            try b.write(edits(incoming, "B"))
            _ = try await sb.run()
            var report = SyncReport()
            let t = try await seconds { report = try await sa.run() }
            guard report.pushed == pending, report.pulled == incoming else {
                throw BenchError("the sync pushed \(report.pushed) and pulled \(report.pulled), expected \(pending) and \(incoming)")
            }
            if run > 0 { samples.append(t * 1000); waits.append(report.hubWaitSeconds * 1000) }  // the first is a warm-up
            if run > 0, eachSync { note("reconnect: sync \(run): \(fmt(t * 1000, 1)) ms, waiting for the hub \(fmt(report.hubWaitSeconds * 1000, 1)) ms, \(report.pullBatches) pull requests") }
            if run % 10 == 0 { note("reconnect: \(run)/\(runs)") }
        }
        let r = Result(p50Millis: median(samples), p99Millis: percentile(samples, 0.99), maxMillis: samples.max() ?? 0)
        let table = """
            ## 6. Reconnect (\(pending) pending changes pushed and \(incoming) pulled per sync, hub of \(grouped(Double(cases))) cases, \(runs) syncs)

            | | p50 ms | p99 ms | max ms | target |
            |---|---|---|---|---|
            | whole sync | \(fmt(r.p50Millis, 1)) | \(fmt(r.p99Millis, 1)) | \(fmt(r.maxMillis, 1)) | p99 ≤ 50 ms |
            | of which waiting for the hub | \(fmt(median(waits), 1)) | \(fmt(percentile(waits, 0.99), 1)) | \(fmt(waits.max() ?? 0, 1)) | |

            """
        return (r, table)
    }
}

/// 7. Many nodes syncing with one hub at once.
struct ManyNodes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "many-nodes", abstract: "Many nodes: N nodes sync concurrently with one hub.",
        discussion: """
            --scope all: every node sees every case (the office's view, no authentication), so each pulls what all the \
            others made and the nodes' work grows with the square of their number. --scope unit: each node is its \
            unit's enrolled device and sees only its unit's cases, as units' nodes are deployed; each registers its own \
            cases in its own words, sealed, and pulls only its unit's.
            """)

    enum Scope: String, ExpressibleByArgument, CaseIterable { case all, unit }

    @Option(help: "Nodes (each its own SQLite file and HTTP client).") var nodes = 200
    @Option(help: "What each node sees: all (every case) or unit (its unit's cases, as an enrolled device).") var scope: Scope = .all
    @Option(help: "--scope all: changes each node makes between syncs.") var changes = 10
    @Option(help: "--scope unit: cases each unit registers between syncs (about 7 changes each).") var cases = 1
    @Option(help: "Rounds of concurrent syncs.") var rounds = 3

    struct Result: Codable { var p50Millis: Double; var p99Millis: Double; var maxMillis: Double; var hubPeakRSS: Int
        var hubWaitP50Millis: Double; var hubWaitP99Millis: Double }

    func run() async throws { print(try await measure().table) }

    func measure() async throws -> (result: Result, table: String) {
        let dir = try Scratch("many-nodes")
        let db = dir.file("hub.sqlite")
        var sessions: [SyncSession] = []
        var fleetNodes: [UnitFleet.Node] = []
        let fleet = scope == .unit ? try UnitFleet(units: nodes, prefix: "many") : nil
        if let fleet { try await fleet.writeHub(db) }
        let hub = try fleet == nil ? HubProcess(db: db, units: nodes) : HubProcess(db: db, authenticated: true)
        defer { hub.stop() }
        note("many nodes: creating \(nodes) nodes")
        if let fleet {
            let hubKey = try SigningKey.load(from: HubSecurity.hubKeyPath(forDatabase: db)).publicKey
            fleetNodes = try (0..<nodes).map { k in try fleet.node(k, at: dir.file("n\(k).sqlite"), hub: hub.url, hubKey: hubKey) }
            sessions = fleetNodes.map(\.session)
            note("many nodes: first sync of every node (the organisation), not timed")
            for s in sessions { _ = try await s.run() }
        } else {
            for k in 0..<nodes {
                let replica = try benchNode(dir.file("n\(k).sqlite"), k: k, hub: hub.url)
                sessions.append(SyncSession(replica: replica, client: try HubClient(hubURL: hub.url)))
            }
        }
        var samples: [Double] = [], waits: [Double] = [], roundMax: [Double] = []
        for round in 1...rounds {
            switch scope {
            case .all:
                for (k, s) in sessions.enumerated() {
                    try s.replica.write((0..<changes).map { i in
                        Replica.Write(CaseSchema.caseRef("U\(k)-\(round)-\(i % 3)"), i % 2 == 0 ? FieldKey("title") : FieldKey(CaseSchema.Field.coUnits, element: WorkflowWorkload.unit(i)),
                                      i % 2 == 0 ? .text("Case \(i) of unit \(k)") : .integer(1))
                    })
                }
            case .unit:
                for node in fleetNodes { try node.register(cases, round: round) }
            }
            note("many nodes: round \(round)/\(rounds), \(nodes) syncs at once")
            let latencies = try await withThrowingTaskGroup(of: (Double, Double).self) { group in
                for s in sessions {
                    group.addTask {
                        var report = SyncReport()
                        let t = try await seconds { report = try await s.run() }
                        return (t * 1000, report.hubWaitSeconds * 1000)
                    }
                }
                return try await group.reduce(into: [(Double, Double)]()) { $0.append($1) }
            }
            samples += latencies.map(\.0)
            waits += latencies.map(\.1)
            roundMax.append(latencies.map(\.0).max() ?? 0)
        }
        // One more sync each, then every node holds what the hub shows it.
        note("many nodes: checking convergence")
        for s in sessions { _ = try await s.run() }
        let hubPeak = hub.stop()
        let hubStorage = try SQLiteHubStorage(path: db, schema: CaseSchema.schema)
        let hubHeld = try hubStorage.replica.appliedCount()
        switch scope {
        case .all:
            let hubDigest = try hubStorage.replica.digest()
            for s in sessions {
                guard hubHeld >= nodes * changes * rounds, try s.replica.appliedCount() == hubHeld, try s.replica.digest() == hubDigest else {
                    throw BenchError("node \(s.replica.id) did not converge")
                }
            }
        case .unit:
            guard hubHeld >= nodes * cases * rounds * 5 else { throw BenchError("the hub holds \(hubHeld) changes") }
            for s in sessions {
                guard try s.replica.digest() == (try await hubStorage.digest(unit: try s.replica.info().unit)) else {
                    throw BenchError("node \(s.replica.id) did not converge")
                }
            }
        }
        let r = Result(p50Millis: median(samples), p99Millis: percentile(samples, 0.99), maxMillis: samples.max() ?? 0, hubPeakRSS: hubPeak,
                       hubWaitP50Millis: median(waits), hubWaitP99Millis: percentile(waits, 0.99))
        let what = switch scope {
        case .all: """
            \(changes) changes each; every node sees every case (no authentication). Each node pulls the \(grouped(Double((nodes - 1) * changes))) changes
            the others made, so the \(nodes) nodes merge \(grouped(Double(nodes * (nodes - 1) * changes))) changes per round between them, all on this
            machine's cores next to the hub.
            """
        case .unit: """
            each node its unit's enrolled device, registering \(cases) case\(cases == 1 ? "" : "s") a round (sealed, its own text) and pulling only its unit's
            cases; the hub checks every device's seals and the workflow's rules. Afterwards each node's digest equals the hub's digest of its unit.
            """
        }
        let table = """
            ## 7. Many nodes (\(nodes) nodes sync at once, --scope \(scope.rawValue), \(rounds) rounds; hub a separate process)

            | | p50 ms | p99 ms | max ms |
            |---|---|---|---|
            | whole sync | \(fmt(r.p50Millis, 0)) | \(fmt(r.p99Millis, 0)) | \(fmt(r.maxMillis, 0)) |
            | of which waiting for the hub's answers | \(fmt(r.hubWaitP50Millis, 0)) | \(fmt(r.hubWaitP99Millis, 0)) | \(fmt(waits.max() ?? 0, 0)) |

            The slowest sync of each round: \(roundMax.map { fmt($0, 0) }.joined(separator: ", ")) ms.
            Hub peak RSS \(hubPeak >> 20) MiB. Targets: p99 ≤ 1 s, hub RSS ≤ 300 MB. \(what)

            """
        return (r, table)
    }
}

/// A node replica for unit `k` of the benchmark's organisation, working as its user.
func benchNode(_ path: String, k: Int, hub: String) throws -> Replica {
    let r = try Replica.create(at: path, role: .node, unit: WorkflowWorkload.unit(k), hubURL: hub, schema: CaseSchema.schema)
    try r.setAttribute("user", WorkflowWorkload.user(k))
    return r
}
