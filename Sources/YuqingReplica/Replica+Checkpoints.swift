import Foundation
import GRDB
import GRDBSQLite
import Logging
import Synchronization

/// Copies committed WAL frames into the database file on a thread of its own, so that no commit
/// waits for it.
///
/// Left to itself, SQLite checkpoints inside the commit that takes the WAL past 1,000 pages: that
/// commit then also writes every page of the WAL into the database file and syncs it. At a hub, a
/// push of 1,000 changes to cases spread over the log dirties about 1,700 pages, so every push paid
/// for a checkpoint (about 7.7 MB written and a second sync, half the push's time at the disk). With
/// this checkpointer the writer only signals after its commit; a second connection runs a passive
/// checkpoint, which never blocks the writer or the readers and never waits for them.
///
/// Durability is unchanged: every commit still syncs the WAL before it returns. If checkpoints fall
/// far behind (`inlineAfter` frames in the WAL), the writer checkpoints inline as SQLite would.
public final class WALCheckpointer: Sendable {
    /// Frames in the WAL after which a commit wakes the checkpointer (SQLite's default threshold).
    public static let wakeAfter: Int32 = 1000
    /// Frames in the WAL after which the committing writer checkpoints itself (about 80 MiB).
    public static let inlineAfter: Int32 = 20_000
    /// How long after the commit that woke it a checkpoint starts: the copy's reads and writes
    /// take a core for several milliseconds, and on a machine of two cores they held up the
    /// answers of the pushes that commit held (from the hub's last step to the node's receipt of
    /// the answer, 4.3 and 4.7 ms at the 90th percentile starting at once, 2.1 and 1.9 ms starting
    /// 4 ms later, in a trace of `yuqing-bench reconnect` made with a temporary build;
    /// docs/benchmarks.md §6).
    static let startDelayMicroseconds: UInt32 = 4_000

    private let connection: DatabaseQueue
    private let wake = DispatchSemaphore(value: 0)
    private let state = Mutex(State())
    private let logger: Logger

    private let finished = DispatchSemaphore(value: 0)

    struct State {
        var started = false
        var stopped = false
        var checkpoints = 0
    }

    /// Passive checkpoints run so far (for the tests).
    public var checkpoints: Int { state.withLock { $0.checkpoints } }

    init(path: String, logger: Logger) throws {
        var config = Configuration()
        config.label = "yuqing.checkpointer"
        self.connection = try DatabaseQueue(path: path, configuration: config)
        self.logger = logger
        try connection.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
    }

    /// Called by the writer's WAL hook after each commit, on the writer's thread.
    fileprivate func committed(frames: Int32) {
        if frames >= Self.wakeAfter { wake.signal() }
    }

    fileprivate func start() {
        state.withLock { $0.started = true }
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "yuqing.checkpointer"
        thread.start()
    }

    private func run() {
        while true {
            wake.wait()
            // The answers to the pushes the commit held go out first (``startDelayMicroseconds``).
            usleep(Self.startDelayMicroseconds)
            // Commits that woke it meanwhile are copied by this checkpoint too.
            while wake.wait(timeout: .now()) == .success {}
            if state.withLock({ $0.stopped }) { return }
            do {
                try connection.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
                state.withLock { $0.checkpoints += 1 }
            } catch {
                // Another checkpoint is running (the writer's inline one, or a close): the next commit wakes this one again.
                logger.debug("background checkpoint skipped", metadata: ["replica.error": "\(error)"])
            }
        }
    }

    /// Stops the thread after the checkpoint it may be running, waits for it, and closes the
    /// checkpointer's connection: a process may end once this returns (a checkpoint cut short
    /// leaves the database file whole only with its log). Any number of calls, from any thread.
    public func stop() {
        let started = state.withLock { state -> Bool in
            state.stopped = true
            return state.started
        }
        if started {
            wake.signal()
            finished.wait()
            finished.signal()  // for any other caller of stop()
        }
        try? connection.close()
    }
}

/// The writer's WAL hook: wakes the checkpointer, or checkpoints inline when it fell far behind.
private let walHook: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = { context, db, name, frames in
    guard let context else { return SQLITE_OK }
    let checkpointer = Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue()
    if frames >= WALCheckpointer.inlineAfter {
        return sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
    }
    checkpointer.committed(frames: frames)
    return SQLITE_OK
}

extension Replica {
    /// Moves this replica's checkpoints off its writer (``WALCheckpointer``): for a long-running
    /// process whose commits are large and latency-bound, such as the hub. Returns the
    /// checkpointer, which lives as long as the replica; `stop()` it before closing.
    public func checkpointInBackground(logger: Logger) throws -> WALCheckpointer {
        let checkpointer = try WALCheckpointer(path: path, logger: logger)
        // The hook holds the checkpointer for the writer connection's life.
        let context = Unmanaged.passRetained(checkpointer).toOpaque()
        try pool.writeWithoutTransaction { db in
            // Replaces SQLite's own auto-checkpoint hook (sqlite3_wal_autocheckpoint is a WAL hook too).
            _ = sqlite3_wal_hook(db.sqliteConnection, walHook, context)
        }
        checkpointer.start()
        return checkpointer
    }
}
