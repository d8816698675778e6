import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingSecurity
import YuqingSync

/// 10. Partial replication: a unit that may see 1% of a large hub bootstraps; and 1,000 units'
/// nodes catch up after a day's changes. Every pull is served by an authenticating hub process
/// and every seal checked, with the proofs for the parts of runs a unit may not see.
struct PartialBootstrap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partial-bootstrap",
        abstract: "A new node of a unit that may see ~1% of the cases bootstraps, beside one of the office that sees all.")

    @Option(help: "Cases on the hub (ten field values each).") var cases = 100_000
    @Option(help: "Units the cases belong to (each may see about 1.2 / units of them: 1% with 120).") var units = 120
    @Option(help: "Runs (the median counts).") var runs = 3

    func run() async throws { print(try await measure()) }

    func measure() async throws -> String {
        let dir = try Scratch("partial-bootstrap")
        let hubDB = dir.file("hub.sqlite")
        note("partial bootstrap: filling a hub with \(cases) cases of \(units) units, pushed by 10 enrolled devices with their seals")
        try await CaseWorkload.populateHub(hubDB, cases: cases, sealed: true, units: units)
        let hub = try HubProcess(db: hubDB, authenticated: true)
        defer { hub.stop() }
        let bin = yuqingBinary()
        let unit = WorkflowWorkload.unit(1)
        var rows: [String] = []
        for (label, user, role) in [("unit \(unit) (monitor)", "reader", "monitor"), ("the office (sees all)", "office-reader", "office")] {
            var times: [Double] = [], held = 0
            for run in 1...runs {
                let node = dir.file("\(user)-\(run).sqlite")
                let code = try runChildOutput([bin, "hub", "enrol", "--db", hubDB, "--unit", role == "office" ? "office" : unit,
                                               "--user", "\(user)-\(run)", "--role", role]).split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
                try runChild([bin, "node", "init", "--db", node, "--hub", hub.url, "--unit", role == "office" ? "office" : unit,
                              "--user", "\(user)-\(run)", "--code", code])
                note("partial bootstrap: \(label), run \(run)/\(runs)")
                let (t, _) = try runChild([bin, "sync", "--db", node, "--batch-size", "5000"])
                times.append(t)
                let replica = try Replica.open(at: node, schema: CaseSchema.schema)
                held = try replica.views(kinds: [CaseSchema.Kind.case]).count
                if run == 1 {
                    let hubReplica = try Replica.open(at: hubDB, mode: .readOnly, schema: CaseSchema.schema)
                    let expected = role == "office" ? try hubReplica.digest() : try hubReplica.digest(unit: unit)
                    guard try replica.digest() == expected else { throw BenchError("the \(label) node's digest differs from the hub's digest of what it may see") }
                }
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: node + suffix) }
            }
            rows.append("| \(label) | \(grouped(Double(held))) (\(fmt(100 * Double(held) / Double(cases), 1))%) | \(fmt(median(times))) | \(times.map { fmt($0) }.joined(separator: ", ")) |")
        }
        return """
            ## 10a. Partial bootstrap (\(grouped(Double(cases))) cases of \(units) units on the hub, written by 10 devices whose sealed runs each span many units; a new node enrolled and checking every seal; `yuqing sync` as a process; \(runs) runs)

            | node | cases received | seconds (median) | runs |
            |---|---|---|---|
            \(rows.joined(separator: "\n"))

            Each node's digest equals the hub's digest of exactly what it may see.

            """
    }
}

struct CatchUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catch-up",
        abstract: "1,000 units' nodes, each holding what its unit may see, catch up after a day's changes.")

    @Option(help: "Units, each with its own node.") var units = 1000
    @Option(help: "Cases on the hub at the start (each unit its own, one in ten with two co-units).") var cases = 100_000
    @Option(help: "A day's changes: new cases.") var newCases = 1000
    @Option(help: "A day's changes: progress reports on existing cases.") var reports = 4000
    @Option(help: "Nodes syncing at once.") var concurrency = 16

    func run() async throws { print(try await measure()) }

    func measure() async throws -> String {
        let dir = try Scratch("catch-up")
        let hubDB = dir.file("hub.sqlite")
        note("catch-up: filling a hub with \(cases) cases of \(units) units")
        var (workload, keys) = try await CaseWorkload.populateHub(hubDB, cases: cases, sealed: true, units: units)
        // One node per unit, enrolled at the hub as a device of that unit.
        note("catch-up: creating \(units) nodes")
        var nodes: [(replica: Replica, key: SigningKey, unit: String)] = []
        var enrolments: [FieldWrite] = []
        for u in 0..<units {
            let unit = WorkflowWorkload.unit(u)
            let replica = try Replica.create(at: dir.file("n\(u).sqlite"), role: .node, unit: unit, schema: CaseSchema.schema)
            let key = SigningKey()
            nodes.append((replica, key, unit))
            enrolments += Device.enrolment(id: replica.id.rawValue, publicKey: key.publicKey.base64, unit: unit, user: "node-\(u)", at: 1_790_000_000_000)
        }
        do {
            let storage = try SQLiteHubStorage(path: hubDB, schema: CaseSchema.schema)
            try storage.replica.write(enrolments.map { Replica.Write($0.record, $0.field, $0.value) }, author: "operator@hub")
        }
        let hub = try HubProcess(db: hubDB, authenticated: true)
        defer { hub.stop() }
        let hubKey = try SigningKey.load(from: HubSecurity.hubKeyPath(forDatabase: hubDB)).publicKey
        let location = KeyLocation(kind: CaseSchema.Kind.device, field: CaseSchema.DeviceField.publicKey)
        let sessions = try nodes.map { n -> SyncSession in
            let credential = HubClient.Credential(signer: n.replica.id.rawValue, key: n.key) { Int64(Date().timeIntervalSince1970 * 1000) }
            return SyncSession(replica: n.replica, client: try HubClient(hubURL: hub.url, credential: credential),
                               security: NodeSecurity(key: n.key, hubKey: hubKey, keys: location))
        }
        note("catch-up: bootstrapping \(units) nodes, \(concurrency) at a time")
        let (bootstrap, _) = try await syncAll(sessions)
        // A day: new cases and progress reports, pushed (sealed) by the writing devices.
        note("catch-up: a day's changes (\(newCases) new cases, \(reports) reports)")
        do {
            let storage = try SQLiteHubStorage(path: hubDB, schema: CaseSchema.schema)
            var changes = workload.changes(cases: cases..<(cases + newCases))
            changes += workload.reports(count: reports, among: cases)
            for start in stride(from: 0, to: changes.count, by: 1000) {
                let batch = Array(changes[start..<min(start + 1000, changes.count)])
                var seals: [Seal] = []
                for (replica, key) in keys { seals += try Seal.runs(of: batch, replica: replica).map { try Seal.make($0, key: key) } }
                _ = try await storage.ingest(batch, from: ReplicaID("bench"), seals: seals)
            }
        }
        note("catch-up: \(units) nodes catch up, \(concurrency) at a time")
        let (total, each) = try await syncAll(sessions)
        // Each node holds exactly what its unit may see.
        let hubReplica = try Replica.open(at: hubDB, mode: .readOnly, schema: CaseSchema.schema)
        for n in nodes.enumerated() where n.offset % max(1, units / 20) == 0 {
            guard try n.element.replica.digest() == hubReplica.digest(unit: n.element.unit) else {
                throw BenchError("node \(n.element.unit) does not hold exactly what its unit may see")
            }
        }
        return """
            ## 10b. Catch-up (\(units) units' nodes, each holding what its unit may see of \(grouped(Double(cases))) cases; a day's changes: \(newCases) new cases and \(reports) progress reports; \(concurrency) nodes syncing at a time, in one process, against an authenticating hub process)

            | | all nodes, seconds | per node p50 ms | per node p99 ms |
            |---|---|---|---|
            | bootstrap (each node from nothing) | \(fmt(bootstrap)) | | |
            | catch-up after the day | \(fmt(total)) | \(fmt(median(each) * 1000, 0)) | \(fmt(percentile(each, 0.99) * 1000, 0)) |

            One node in \(max(1, units / 20)) checked: its digest equals the hub's digest of what its unit may see.

            """
    }

    /// Every session syncs once, `concurrency` at a time: the wall time, and each sync's.
    func syncAll(_ sessions: [SyncSession]) async throws -> (Double, [Double]) {
        var each: [Double] = []
        let total = try await seconds {
            each = try await withThrowingTaskGroup(of: Double.self) { group in
                var next = 0, out: [Double] = []
                func add() {
                    guard next < sessions.count else { return }
                    let s = sessions[next]
                    next += 1
                    group.addTask { try await seconds { _ = try await s.run() } }
                }
                for _ in 0..<concurrency { add() }
                while let t = try await group.next() {
                    out.append(t)
                    add()
                }
                return out
            }
        }
        return (total, each)
    }
}
