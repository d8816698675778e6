import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingReplica
import YuqingSync
import YuqingWire

/// 8. Peak memory of the hub ingesting, and of a node pulling, N field changes: both stream,
/// so memory must not grow with N.
struct Memory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Memory: hub and node peak RSS while ingesting and pulling N field changes.",
        discussion: "10 million changes take several minutes and about 4 GB of disk (YUQING_BENCH_DIR picks the place).")

    @Option(help: "Field changes (ten per case).") var changes = 10_000_000
    @Option(help: "Changes per push and per pull.") var batchSize = 5000

    struct Result: Codable { var changes: Int; var hubPeakRSS: Int; var nodePeakRSS: Int; var ingestSeconds: Double; var pullSeconds: Double }

    func run() async throws { print(try await measure().table) }

    func measure() async throws -> (result: Result, table: String) {
        let dir = try Scratch("memory")
        let hub = try HubProcess(db: dir.file("hub.sqlite"))
        defer { hub.stop() }
        let client = try HubClient(hubURL: hub.url, timeout: 300)
        let loader = ReplicaID("bench-loader")
        var workload = CaseWorkload()
        let cases = changes / workload.fieldsPerCase
        let perBatch = max(1, batchSize / workload.fieldsPerCase)
        note("memory: pushing \(grouped(Double(cases * workload.fieldsPerCase))) changes to the hub")
        var hubAfterIngest = 0
        let ingest = try await seconds {
            for start in stride(from: 0, to: cases, by: perBatch) {
                let batch = workload.changes(cases: start..<min(start + perBatch, cases))
                let answer = try await client.push(PushRequest(replica: loader, changes: batch))
                guard answer.accepted == batch.count else { throw BenchError("the hub accepted \(answer.accepted) of \(batch.count)") }
                if (start / perBatch) % 200 == 0 {
                    note("  \(grouped(Double(start * workload.fieldsPerCase))) pushed; hub RSS \(hub.child.currentRSS() >> 20) MiB")
                }
            }
        }
        hubAfterIngest = hub.child.peakRSS()
        note("memory: a fresh node pulls everything (`yuqing sync` process)")
        let bin = yuqingBinary()
        let node = dir.file("node.sqlite")
        try runChild([bin, "node", "init", "--db", node, "--hub", hub.url, "--unit", WorkflowWorkload.unit(1), "--user", WorkflowWorkload.user(1)])
        let (pull, nodePeak) = try runChild([bin, "sync", "--db", node, "--batch-size", String(batchSize)])
        let total = cases * workload.fieldsPerCase
        // Every change, and the organisation's records the hub holds besides.
        let held = try Replica.open(at: dir.file("hub.sqlite"), mode: .readOnly, schema: CaseSchema.schema).appliedCount()
        guard held >= total, try Replica.open(at: node, schema: CaseSchema.schema).appliedCount() == held else { throw BenchError("the node did not receive every change") }
        let hubPeak = hub.stop()
        let r = Result(changes: total, hubPeakRSS: hubPeak, nodePeakRSS: nodePeak, ingestSeconds: ingest, pullSeconds: pull)
        let table = """
            ## 8. Memory (\(grouped(Double(total))) field changes pushed to a hub process in batches of \(batchSize), then pulled by a fresh `yuqing sync` process)

            | | peak RSS | seconds | changes/s | target |
            |---|---|---|---|---|
            | hub (ingesting) | \(hubAfterIngest >> 20) MiB | \(fmt(ingest, 1)) | \(grouped(Double(total) / ingest)) | ≤ 300 MB |
            | hub (ingesting, then serving the pull) | \(hubPeak >> 20) MiB | | | ≤ 300 MB |
            | node (pulling) | \(nodePeak >> 20) MiB | \(fmt(pull, 1)) | \(grouped(Double(total) / pull)) | ≤ 300 MB |

            Database files: hub \(fileBytes(dir.file("hub.sqlite")) >> 20) MiB, node \(fileBytes(node) >> 20) MiB.

            """
        return (r, table)
    }
}
