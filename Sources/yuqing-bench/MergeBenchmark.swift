import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingWire

/// 3 and 4. The in-memory merge of N replicas' histories at one place, and their size on the
/// wire. The workload is the one `bench/crdt/compare.py` gives Loro and Yrs: replica r writes
/// field j of record i, for every i then j, one value each, all replicas concurrently.
struct Merge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge core and wire size: N replicas × R records × F fields merged at one place.",
        discussion: "bench/crdt/run.sh runs this next to Loro and Yrs on the same workload and prints one table.")

    @Option(help: "Replicas.") var replicas = 4
    @Option(help: "Records.") var records = 10_000
    @Option(help: "Fields per record.") var fields = 8
    @Option(help: "Repeats (the median counts).") var `repeat` = 5
    @Flag(help: "Print one JSON object (for bench/crdt/compare.py) instead of a table.") var json = false
    @Option(help: "synthetic (every replica writes the same records with eleven short words), realistic (every replica its own records, every value distinct Chinese text: both are what bench/crdt/run.sh gives Loro and Yrs too), or workflow (each replica its own cases through every step; about records × fields changes per replica).")
    var workload = "synthetic"
    @Option(help: "The binary batch's revision: 1 (columns) or 2 (packed: front-coded strings, index differences; Protocol/sync.md §3.3).")
    var revision = BinaryChanges.revision

    static let words = ["IV", "III", "II", "I", "registered", "assessed", "assigned", "handling", "replied", "following", "archived"]

    struct Result: Codable {
        var engine = "Yuqing"
        var changes: Int
        var merge_seconds: Double
        var changes_per_second: Double
        var wire_bytes: Int
        var wire_bytes_compressed: Int
        var merge_only_seconds: Double
    }

    /// Replica r's history, as it would push it: record i field j of the shared records with a
    /// short word (synthetic), or of its own records with distinct Chinese text `值r-i-j`
    /// (realistic), as `bench/crdt/compare.py` writes them in Loro and Yrs.
    func history(_ r: Int, realistic: Bool) -> [Change] {
        let id = IngestWorkload.replicaID(r)
        var out: [Change] = []
        out.reserveCapacity(records * fields)
        var counter: UInt64 = 0
        for i in 0..<records {
            let record = RecordRef(kind: "case", id: realistic ? "r\(r)-c\(i)" : "c\(i)")
            for j in 0..<fields {
                counter += 1
                out.append(Change(dot: Dot(replica: id, counter: counter), hlc: HLC(wallMillis: 1_800_000_000_000 + UInt64(i)),
                                  record: record, field: FieldKey("f\(j)"),
                                  value: .text(realistic ? "值\(r)-\(i)-\(j)" : Self.words[(r * 7 + i * 3 + j) % 11]),
                                  context: [], author: "unit-\(r)"))
            }
        }
        return out
    }

    func run() async throws {
        guard ["synthetic", "realistic", "workflow"].contains(workload) else { throw BenchError("--workload is synthetic, realistic or workflow") }
        let histories = workload == "workflow"
            ? (0..<replicas).map { WorkflowWorkload.changes(node: $0, count: records * fields) }
            : (0..<replicas).map { history($0, realistic: workload == "realistic") }
        let total = histories.reduce(0) { $0 + $1.count }
        guard (1...BinaryChanges.revision).contains(revision) else { throw BenchError("--revision is 1 or \(BinaryChanges.revision)") }
        let raw = histories.map { BinaryChanges.encode($0, compression: .none, revision: revision) }
        let compressed = histories.map { BinaryChanges.encode($0, revision: revision) }
        var merge: [Double] = [], mergeOnly: [Double] = []
        var digest = ""
        for k in 0..<`repeat` {
            note("merge: run \(k + 1)/\(`repeat`)")
            var state = ReplicaState(id: ReplicaID("merger"), schema: CaseSchema.schema)
            merge.append(try seconds {
                for message in compressed {
                    for change in try BinaryChanges.decode(message).changes { state.apply(change) }
                }
            })
            guard state.log.count == total else { throw BenchError("merged \(state.log.count) of \(total) changes") }
            if k == 0 { digest = state.digest } else if state.digest != digest { throw BenchError("merges differ") }
            var again = ReplicaState(id: ReplicaID("merger"), schema: CaseSchema.schema)
            mergeOnly.append(seconds { for h in histories { for change in h { again.apply(change) } } })
        }
        let r = Result(changes: total, merge_seconds: median(merge), changes_per_second: Double(total) / median(merge),
                       wire_bytes: raw.reduce(0) { $0 + $1.count }, wire_bytes_compressed: compressed.reduce(0) { $0 + $1.count },
                       merge_only_seconds: median(mergeOnly))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            print(String(decoding: try encoder.encode(r), as: UTF8.self))
            return
        }
        print("""
            ## 3–4. Merge core and wire size, \(workload) workload (\(replicas) replicas × \(grouped(Double(total / replicas))) field changes, batch revision \(revision))

            | | ms (median of \(`repeat`)) | field changes/s | bytes/change raw | bytes/change compressed |
            |---|---|---|---|---|
            | decode binary + merge | \(fmt(r.merge_seconds * 1000, 1)) | \(grouped(r.changes_per_second)) | \(fmt(Double(r.wire_bytes) / Double(total))) | \(fmt(Double(r.wire_bytes_compressed) / Double(total))) |
            | merge only (changes in memory) | \(fmt(r.merge_only_seconds * 1000, 1)) | \(grouped(Double(total) / r.merge_only_seconds)) | | |

            Loro and Yrs on the same workload: bench/crdt/run.sh.

            """)
    }
}
