import ArgumentParser
import Foundation

/// Yuqing's benchmarks: each measures one target of `docs/benchmarks.md`, side by side with
/// its reference in the same run, and prints a Markdown table.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "yuqing-bench",
        abstract: "Measure Yuqing's speed, size and memory against SQLite's limit and other engines.",
        discussion: """
            Build in release mode first: swift build -c release. Every command prints a Markdown table \
            on standard output and progress on standard error. Scratch files go to $TMPDIR \
            (or YUQING_BENCH_DIR) and are removed at the end. See docs/benchmarks.md.
            """,
        subcommands: [LocalWrite.self, HubIngest.self, SealCost.self, Merge.self, Bootstrap.self, Reconnect.self, ManyNodes.self, Memory.self, Latency.self, PartialBootstrap.self, CatchUp.self, OfficeBench.self, ConsoleBench.self, PostgresIngest.self, PostgresSync.self])
}
