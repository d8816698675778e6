import Prometheus
import YuqingReplica

/// What the hub counts for its operators, in Prometheus' text format at `GET /metrics`
/// (`Protocol/sync.md` §5.10): pushes and pulls with their changes and durations, conflicts
/// resolved, and, read when scraped, the open conflicts, the changes waiting, the log head and,
/// for a hub that stores in SQLite, the process's SQLite writes (``WALWrites``).
/// One registry per application, so two hubs in one process (tests) count apart.
package final class HubMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let pushesAccepted, pushesRefused, pushedChanges, pulls, pulledChanges, resolutions: Counter
    let openConflicts, waiting, head: Gauge
    /// SQLite's writes in this process: none at a hub on PostgreSQL.
    let sqlite: (walWrites: Gauge, walSystemWrites: Gauge, journalFiles: Gauge)?
    let pushSeconds, pullSeconds: DurationHistogram

    package init(sqlite: Bool) {
        let r = registry
        let buckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                   .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5)]
        pushesAccepted = r.makeCounter(name: "yuqing_hub_pushes_total", labels: [("outcome", "accepted")], help: "Pushes answered, by outcome.")
        pushesRefused = r.makeCounter(name: "yuqing_hub_pushes_total", labels: [("outcome", "refused")], help: "Pushes answered, by outcome.")
        pushedChanges = r.makeCounter(name: "yuqing_hub_pushed_changes_total", help: "Changes merged from pushes (duplicates not counted).")
        pulls = r.makeCounter(name: "yuqing_hub_pulls_total", help: "Pulls answered.")
        pulledChanges = r.makeCounter(name: "yuqing_hub_pulled_changes_total", help: "Log entries sent in pulls.")
        resolutions = r.makeCounter(name: "yuqing_hub_conflicts_resolved_total", help: "Conflicts the operator resolved.")
        openConflicts = r.makeGauge(name: "yuqing_hub_open_conflicts", help: "Conflicts waiting for the operator.")
        waiting = r.makeGauge(name: "yuqing_hub_waiting_changes", help: "Pushed changes waiting for changes the hub never received (queue depth).")
        head = r.makeGauge(name: "yuqing_hub_log_head", help: "The last log position.")
        if sqlite {
            self.sqlite = (r.makeGauge(name: "yuqing_sqlite_wal_writes", help: "Writes SQLite made to write-ahead logs in this process (two a page)."),
                           r.makeGauge(name: "yuqing_sqlite_wal_system_writes", help: "The system writes those became, a commit's frames written together."),
                           r.makeGauge(name: "yuqing_sqlite_statement_journal_files",
                                       help: "Savepoint journals that outgrew memory and went to a temporary file, in this process."))
            r.makeGauge(name: "yuqing_sqlite_statement_journal_memory_bytes",
                        help: "The bytes of a savepoint's journal kept in memory before it goes to a file (32 MiB; SQLite's own 64 KiB if it could not be set).")
                .set(Double(WALWrites.statementJournalLimit))
        } else {
            self.sqlite = nil
        }
        pushSeconds = r.makeDurationHistogram(name: "yuqing_hub_push_duration_seconds", buckets: buckets, help: "Time to answer a push (sync latency, push side).")
        pullSeconds = r.makeDurationHistogram(name: "yuqing_hub_pull_duration_seconds", buckets: buckets, help: "Time to answer a pull (sync latency, pull side).")
    }

    /// The text exposition, after reading the gauges from `storage`.
    func scrape(_ storage: some HubStorage) async throws -> String {
        openConflicts.set(Double(try await storage.openConflictCount()))
        waiting.set(Double(try await storage.waiting().values.reduce(0, +)))
        head.set(Double(try await storage.head()))
        if let sqlite {
            let counts = WALWrites.counts
            sqlite.walWrites.set(Double(counts.writes))
            sqlite.walSystemWrites.set(Double(counts.systemWrites))
            sqlite.journalFiles.set(Double(counts.spilledJournals))
        }
        return registry.emitToString()
    }
}
