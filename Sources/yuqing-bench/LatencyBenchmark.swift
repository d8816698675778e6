import ArgumentParser
import Foundation
import Logging
import YuqingCases
import YuqingCore
import YuqingReplica
import YuqingSync

/// 9. How long a write made at one connected unit takes to show at another, with both nodes
/// running in the background (`yuqing node run`'s runner) and nobody running `sync`.
struct Latency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Latency: a write on node A, timed until node B shows it; both nodes run in the background.")

    @Option(help: "Writes on node A, each timed until node B shows it.") var writes = 200
    @Option(help: "Seconds between the runners' checks for local writes.") var watchInterval = 0.1
    @Option(help: "Seconds from a seen write to its sync.") var debounce = 0.1
    @Option(help: "The longest pause between one write being visible and the next write, in ms (drawn evenly).") var maxPauseMillis = 100

    struct Result: Codable { var p50Millis: Double; var p99Millis: Double; var maxMillis: Double }

    func run() async throws { print(try await measure().table) }

    func measure() async throws -> (result: Result, table: String) {
        let dir = try Scratch("latency")
        let hub = try HubProcess(db: dir.file("hub.sqlite"))
        defer { hub.stop() }
        let a = try benchNode(dir.file("a.sqlite"), k: 0, hub: hub.url), b = try benchNode(dir.file("b.sqlite"), k: 1, hub: hub.url)
        var configuration = NodeRunnerConfiguration()
        configuration.watchInterval = .seconds(watchInterval)
        configuration.debounce = .seconds(debounce)
        let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let runners = try [a, b].map {
            NodeRunner(replica: $0, client: try HubClient(hubURL: hub.url), configuration: configuration, logger: quiet)
        }
        let writes = writes, maxPause = maxPauseMillis
        let samples = try await withThrowingTaskGroup(of: [Double]?.self) { group in
            for runner in runners { group.addTask { try await runner.run(); return nil } }
            group.addTask {
                // Both nodes have synced once (they know the hub) before the clock starts.
                while try a.info().hubID == nil || b.info().hubID == nil { try await Task.sleep(for: .milliseconds(10)) }
                var samples: [Double] = []
                var random = SystemRandomNumberGenerator()
                for i in 0..<writes {
                    let record = CaseSchema.caseRef(String(format: "YQ-LAT%05d", i))
                    let title = "网帖\(i)：关于诊所收费的投诉（第\(i + 1)条）"
                    let start = ContinuousClock.now
                    try a.write([.init(record, FieldKey("title"), .text(title))])
                    while try b.view(record)?.value("title") != .text(title) {
                        guard ContinuousClock.now - start < .seconds(30) else { throw BenchError("write \(i) did not reach node B within 30 s") }
                        try await Task.sleep(for: .milliseconds(1))
                    }
                    samples.append((ContinuousClock.now - start).seconds * 1000)
                    if i % 50 == 49 { note("latency: \(i + 1)/\(writes)") }
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0...maxPause, using: &random)))
                }
                return samples
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let samples = result { return samples }
            }
            throw BenchError("the runners stopped before the writes were measured")
        }
        let r = Result(p50Millis: median(samples), p99Millis: percentile(samples, 0.99), maxMillis: samples.max() ?? 0)
        let table = """
            ## 9. Latency (a write on node A until node B shows it; \(writes) writes; both nodes running in the background, hub a separate process on loopback)

            | watch interval | debounce | p50 ms | p99 ms | max ms | target |
            |---|---|---|---|---|---|
            | \(fmt(watchInterval * 1000, 0)) ms | \(fmt(debounce * 1000, 0)) ms | \(fmt(r.p50Millis, 1)) | \(fmt(r.p99Millis, 1)) | \(fmt(r.maxMillis, 1)) | ≤ 1 s |

            """
        return (r, table)
    }
}
