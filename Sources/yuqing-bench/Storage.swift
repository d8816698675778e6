import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingSecurity

/// 1. A case field edit on a node, with its change tracking, against the same row written to
/// plain SQLite without tracking, each in its own durable transaction.
struct LocalWrite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "local-write", abstract: "Local write cost: a field edit on a node versus plain SQLite.")

    @Option(help: "Edits timed per round.") var edits = 2000
    @Option(help: "Rounds (Yuqing and plain alternate; the median round counts).") var rounds = 3
    @Option(help: "Cases the edits cycle through.") var cases = 100

    struct Result: Codable { var yuqingMicros: Double; var plainMicros: Double; var ratio: Double }

    func run() async throws { print(try measure().table) }

    func measure() throws -> (result: Result, table: String) {
        let dir = try Scratch("local-write")
        var yuqing: [Double] = [], plain: [Double] = []
        for round in 1...rounds {
            note("local write: round \(round)/\(rounds)")
            let node = try Replica.create(at: dir.file("node-\(round).sqlite"), role: .node, unit: "Township A", schema: CaseSchema.schema)
            let edit = { (i: Int) in
                _ = try node.write([Replica.Write(CaseSchema.caseRef("YQ-\(i % cases)"), FieldKey("title"), .text("Title of case \(i % cases), edit \(i)"))])
            }
            for i in 0..<cases { try edit(i) }  // every case exists before timing: an edit supersedes a value
            yuqing.append(try seconds { for i in cases..<(cases + edits) { try edit(i) } } / Double(edits) * 1e6)

            let db = try PlainSQLite(path: dir.file("plain-\(round).sqlite"))
            try db.exec("CREATE TABLE case_field (case_id TEXT NOT NULL, field TEXT NOT NULL, value, PRIMARY KEY (case_id, field)) WITHOUT ROWID")
            let upsert = try db.prepare("""
                INSERT INTO case_field (case_id, field, value) VALUES (?, 'title', ?)
                ON CONFLICT (case_id, field) DO UPDATE SET value = excluded.value
                """)
            let plainEdit = { (i: Int) in
                try db.exec("BEGIN IMMEDIATE")
                upsert.bind(1, "YQ-\(i % cases)")
                upsert.bind(2, "Title of case \(i % cases), edit \(i)")
                try upsert.run()
                try db.exec("COMMIT")
            }
            for i in 0..<cases { try plainEdit(i) }
            plain.append(try seconds { for i in cases..<(cases + edits) { try plainEdit(i) } } / Double(edits) * 1e6)
        }
        let r = Result(yuqingMicros: median(yuqing), plainMicros: median(plain), ratio: median(yuqing) / median(plain))
        let table = """
            ## 1. Local write (\(edits) edits × \(rounds) rounds, one durable transaction each, synchronous=FULL)

            | | µs per edit (median round) | rounds |
            |---|---|---|
            | Yuqing node (`Replica.write`, with change tracking) | \(fmt(r.yuqingMicros, 1)) | \(yuqing.map { fmt($0, 1) }.joined(separator: ", ")) |
            | plain SQLite (one upsert, C API) | \(fmt(r.plainMicros, 1)) | \(plain.map { fmt($0, 1) }.joined(separator: ", ")) |
            | **ratio** | **\(fmt(r.ratio))×** | target ≤ 1.5× |

            """
        return (r, table)
    }
}

/// The changes N nodes make: mostly their own cases, every tenth case shared with the other
/// nodes (so concurrent, conflicting values reach the hub), and edits that supersede earlier values.
enum IngestWorkload {
    static func replicaID(_ k: Int) -> ReplicaID {
        ReplicaID(String(UInt64(k + 1) &* 0x9E37_79B9_7F4A_7C15, radix: 16).leftPadded(16))
    }

    static func changes(node k: Int, count: Int, sharedCases: Int) -> [Change] {
        var state = ReplicaState(id: replicaID(k), schema: CaseSchema.schema)
        var out: [Change] = []
        out.reserveCapacity(count)
        let start: UInt64 = 1_800_000_000_000
        for j in 0..<count {
            let i = j / 8
            let record = CaseSchema.caseRef(i % 10 == 0 ? "S-\(i / 10 % sharedCases)" : "N\(k)-\(i)")
            let (field, value): (FieldKey, FieldValue?) = switch j % 8 {
            case 0: (FieldKey(CaseSchema.Field.title), .text("Post about case \(i) seen by unit \(k)"))
            case 1: (FieldKey(CaseSchema.Field.summary), .text("Summary \(k)-\(i)"))
            case 2: (FieldKey(CaseSchema.Field.level), .text(Level.scale[(i + k) % 4]))
            case 3: (FieldKey(CaseSchema.Field.category), .text(String(1 + ((i + k) % 4) % 4)))
            case 4: (FieldKey(CaseSchema.Field.coUnits, element: "Bureau \(k % 5)"), .integer(1))
            case 5: (FieldKey(CaseSchema.Field.steps, element: "\(k)-\(j)"), .text("Called the poster back; follow-up \(j)"))
            case 6: (FieldKey(CaseSchema.Field.title), .text("Post about case \(i), edited by unit \(k)"))
            default: (FieldKey(CaseSchema.Field.category), .text(String(1 + ((i + k + 1) % 7) % 4)))
            }
            out.append(state.write(record, field, value, author: "Unit \(k)", physicalMillis: start + UInt64(j)))
        }
        return out
    }

    /// Batches as the hub receives them: round-robin over the nodes. `workflow`: each node its own
    /// cases through the whole workflow (``WorkflowWorkload``); otherwise the synthetic edits above.
    static func batches(nodes: Int, perNode: Int, batch: Int, sharedCases: Int, workflow: Bool = false) -> [[Change]] {
        let all = (0..<nodes).map {
            workflow ? WorkflowWorkload.changes(node: $0, count: perNode) : changes(node: $0, count: perNode, sharedCases: sharedCases)
        }
        var out: [[Change]] = []
        for start in stride(from: 0, to: perNode, by: batch) {
            for k in 0..<nodes { out.append(Array(all[k][start..<min(start + batch, perNode)])) }
        }
        return out
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

/// 2. The hub's durable merge of pushed change sets, against plain SQLite inserting the same
/// rows (a field version and a log row per change) in the same transactions.
struct HubIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub-ingest", abstract: "Hub ingest: durable merge of change sets from N nodes versus plain SQLite.")

    @Option(help: "Nodes pushing.") var nodes = 20
    @Option(help: "Field changes per node.") var perNode = 25_000
    @Option(help: "Changes per push (one transaction each).") var batch = 5000
    @Option(help: "Cases every node writes to (concurrent, conflicting values).") var sharedCases = 200
    @Option(help: "Rounds (the median round counts).") var rounds = 3
    @Option(help: "synthetic (edits of shared and own cases) or workflow (each unit its own cases through every step, checked against the hub's rules).")
    var workload = "synthetic"
    @Flag(inversion: .prefixedNo, help: "With the workflow workload, check every push against the hub's rules while it is merged, keeping it only once they pass, as `yuqing hub serve` does.")
    var rules = true
    @Flag(help: "Every push carries its node's seals (Protocol/security.md §3), which the hub checks before it merges and stores with the changes, as `yuqing hub serve` does; made by the nodes before timing.")
    var signed = false
    @Option(help: "Nodes pushing at once (1: one push after another). As `yuqing hub serve` does, a push's seals and rules are checked outside the hub's single writer, so with more than one they overlap another push's merge; each node's own pushes stay in order. Must divide --nodes.")
    var pushers = 1

    struct Result: Codable { var changes: Int; var yuqingPerSecond: Double; var plainPerSecond: Double; var ratio: Double; var openConflicts: Int }

    func run() async throws { print(try await measure().table) }

    func measure() async throws -> (result: Result, table: String) {
        note("hub ingest: generating \(nodes) × \(perNode) changes (\(workload))")
        guard ["synthetic", "workflow"].contains(workload) else { throw BenchError("--workload is synthetic or workflow") }
        guard pushers >= 1, nodes % pushers == 0 else { throw BenchError("--pushers must be at least 1 and divide --nodes (\(nodes))") }
        let workflow = workload == "workflow"
        let batches = IngestWorkload.batches(nodes: nodes, perNode: perNode, batch: batch, sharedCases: sharedCases, workflow: workflow)
        let total = batches.reduce(0) { $0 + $1.count }
        // Each node's key, and the seals of every push: the nodes' work, done before timing.
        var keys: [ReplicaID: SigningKey] = [:]
        var seals: [[Seal]] = []
        if signed {
            note("hub ingest: the nodes seal their pushes")
            for b in batches {
                let replica = b[0].dot.replica
                let key = keys[replica] ?? SigningKey()
                keys[replica] = key
                seals.append(try Seal.runs(of: b, replica: replica).map { try Seal.make($0, key: key) })
            }
        }
        let publicKeys = keys.mapValues(\.publicKey)
        let pushSeals = seals
        let dir = try Scratch("hub-ingest")
        var yuqing: [Double] = [], plain: [Double] = []
        var conflicts = 0
        for round in 1...rounds {
            note("hub ingest: round \(round)/\(rounds)")
            let storage = try SQLiteHubStorage(path: dir.file("hub-\(round).sqlite"), schema: CaseSchema.schema)
            if workflow {
                try storage.replica.write(WorkflowWorkload.organisation(units: nodes).map { Replica.Write($0.record, $0.field, $0.value) }, author: "operator@hub")
            }
            // One push as `yuqing hub serve` takes it: the workflow's rules start at once and run
            // while the seals are checked and then while the push is merged (two independent
            // checks, on two cores); the push is kept once the rules pass. Returns the changes
            // applied and the seconds the seals and the rules took, each timed on its own.
            let check = rules
            @Sendable func push(_ i: Int) async throws -> (applied: Int, verifying: Double, checking: Double) {
                let b = batches[i]
                let ruled: Task<Double, any Error>? = workflow && check ? Task {
                    let start = ContinuousClock.now
                    if let (c, refusal) = try await storage.caseRuleRefusal(b) {
                        throw BenchError("the hub's rules refuse \(c.field) of \(c.record): \(refusal.error.message)")
                    }
                    return (ContinuousClock.now - start).seconds
                } : nil
                var verifying = 0.0
                // The seals, as the hub checks them: every change hashed, one signature per run.
                if signed {
                    let start = ContinuousClock.now
                    var index: [UInt64: Int] = [:]
                    index.reserveCapacity(b.count)
                    for (j, c) in b.enumerated() { index[c.dot.counter] = j }
                    for seal in pushSeals[i] {
                        try seal.verify(in: b, index: { index[$0] }, key: publicKeys[seal.replica]!)
                    }
                    for c in b where !pushSeals[i].contains(where: { $0.covers(c.dot) }) { throw BenchError("\(c.dot) is not sealed") }
                    verifying = (ContinuousClock.now - start).seconds
                }
                let seals = signed ? pushSeals[i] : []
                let check = ruled.map { ruled -> @Sendable () async throws -> Void in { _ = try await ruled.value } }
                let applied = try await storage.ingest(b, from: ReplicaID("bench"), seals: seals, checkedBy: check).applied
                return (applied, verifying, try await ruled?.value ?? 0)
            }
            var applied = 0
            var checking = 0.0, verifying = 0.0
            let cpu = processCPUSeconds()
            let t = try await seconds {
                // `pushers` tasks, each one or more nodes pushing in turn: a node's pushes stay in
                // order (batches go round the nodes, and `pushers` divides their number).
                try await withThrowingTaskGroup(of: (Int, Double, Double).self) { group in
                    for first in 0..<pushers {
                        group.addTask {
                            var sum = (0, 0.0, 0.0)
                            for i in stride(from: first, to: batches.count, by: pushers) {
                                let r = try await push(i)
                                sum = (sum.0 + r.applied, sum.1 + r.verifying, sum.2 + r.checking)
                            }
                            return sum
                        }
                    }
                    for try await r in group { applied += r.0; verifying += r.1; checking += r.2 }
                }
            }
            note("hub ingest: \(fmt(t, 2)) s, of which the process used \(fmt(processCPUSeconds() - cpu, 2)) s of CPU")
            let share = pushers == 1 ? "of the ingest time" : "of the ingest time, summed over \(pushers) pushers at once"
            if signed { note("hub ingest: checking the seals took \(fmt(verifying / t * 100, 0))% \(share)") }
            if workflow, rules { note("hub ingest: checking the rules took \(fmt(checking / t * 100, 0))% \(share)") }
            guard applied == total else { throw BenchError("the hub applied \(applied) of \(total) changes") }
            conflicts = try await storage.openConflictCount()
            yuqing.append(Double(total) / t)

            let plainCPU = processCPUSeconds()
            let db = try PlainSQLite(path: dir.file("plain-\(round).sqlite"))
            try db.exec("""
                CREATE TABLE field_version (kind TEXT NOT NULL, record TEXT NOT NULL, field TEXT NOT NULL, elem TEXT NOT NULL,
                  replica TEXT NOT NULL, counter INTEGER NOT NULL, hlc INTEGER NOT NULL, value, author TEXT NOT NULL,
                  PRIMARY KEY (kind, record, field, elem, replica, counter)) WITHOUT ROWID
                """)
            try db.exec("""
                CREATE TABLE log (seq INTEGER PRIMARY KEY, replica TEXT NOT NULL, counter INTEGER NOT NULL, hlc INTEGER NOT NULL,
                  kind TEXT NOT NULL, record TEXT NOT NULL, field TEXT NOT NULL, elem TEXT NOT NULL, value, context TEXT, author TEXT NOT NULL)
                """)
            let version = try db.prepare("INSERT INTO field_version VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            let log = try db.prepare("INSERT INTO log (replica, counter, hlc, kind, record, field, elem, value, context, author) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            let tp = try seconds {
                for b in batches {
                    try db.exec("BEGIN IMMEDIATE")
                    for c in b {
                        version.bind(1, c.record.kind); version.bind(2, c.record.id); version.bind(3, c.field.name)
                        version.bind(4, c.field.element); version.bind(5, c.dot.replica.rawValue); version.bind(6, Int64(c.dot.counter))
                        version.bind(7, Int64(c.hlc.packed)); version.bind(8, c.value); version.bind(9, c.author)
                        try version.run()
                        log.bind(1, c.dot.replica.rawValue); log.bind(2, Int64(c.dot.counter)); log.bind(3, Int64(c.hlc.packed))
                        log.bind(4, c.record.kind); log.bind(5, c.record.id); log.bind(6, c.field.name); log.bind(7, c.field.element)
                        log.bind(8, c.value); log.bind(9, c.context.map(\.description).joined(separator: " ")); log.bind(10, c.author)
                        try log.run()
                    }
                    try db.exec("COMMIT")
                }
            }
            note("plain SQLite: \(fmt(tp, 2)) s, of which the process used \(fmt(processCPUSeconds() - plainCPU, 2)) s of CPU")
            plain.append(Double(total) / tp)
        }
        let r = Result(changes: total, yuqingPerSecond: median(yuqing), plainPerSecond: median(plain),
                       ratio: median(yuqing) / median(plain), openConflicts: conflicts)
        // What the Yuqing side does for a push, in the order it does it.
        let steps = (signed ? "the seals, then " : "") + "`SQLiteHubStorage.ingest`"
            + (workflow && rules ? " with the workflow's rules beside \(signed ? "both" : "it")" : "")
        let table = """
            ## 2. Hub ingest, \(workload) workload (\(nodes) nodes × \(grouped(Double(perNode))) field changes, pushes of \(batch)\(workflow ? ", each node its own cases, rules checked" : ", \(sharedCases) cases shared by all nodes")\(signed ? ", seals checked" : "")\(pushers > 1 ? ", \(pushers) nodes pushing at once" : ", one push at a time"); \(rounds) rounds)

            | | field changes/s (median round) | rounds |
            |---|---|---|
            | Yuqing hub (\(steps); the ingest: dedup, causal check, merge, log) | \(grouped(r.yuqingPerSecond)) | \(yuqing.map { grouped($0) }.joined(separator: ", ")) |
            | plain SQLite (a field-version row and a log row per change, C API) | \(grouped(r.plainPerSecond)) | \(plain.map { grouped($0) }.joined(separator: ", ")) |
            | **ratio** | **\(fmt(r.ratio * 100, 0))%** | target ≥ 50% |

            \(grouped(Double(total))) changes; \(conflicts) conflicts left open for the operator.

            """
        return (r, table)
    }
}
