import Foundation
import GRDB
import Synchronization

/// When a replica's connections close, and what a process does with its replicas before it ends.
///
/// SQLite's last close of a file copies the write-ahead log into it (a checkpoint, page 1 first)
/// and deletes the log. Left to the last release of a replica, that close may run on any thread,
/// and a process whose main task returns meanwhile ends in the middle of it: the database file is
/// then part old and part new, and only whole again with its log beside it. A program calls
/// ``closeAllBeforeExit()`` before it exits: every replica still open closes there, whole, and a
/// replica released afterwards keeps its connections (SQLite reads the log at the next opening).
extension Replica {
    struct Lifetimes {
        final class Weak: @unchecked Sendable { weak var replica: Replica? ; init(_ r: Replica) { replica = r } }
        var open: [ObjectIdentifier: Weak] = [:]
        var ending = false
    }

    private static let lifetimes = Mutex(Lifetimes())

    static func opened(_ replica: Replica) {
        lifetimes.withLock { $0.open[ObjectIdentifier(replica)] = Lifetimes.Weak(replica) }
    }

    /// From `deinit`: the connections close here, under the lock ``closeAllBeforeExit()`` takes,
    /// unless the process is ending.
    static func released(_ replica: Replica) {
        lifetimes.withLock { state in
            state.open[ObjectIdentifier(replica)] = nil
            guard !replica.closed.withLock({ $0 }) else { return }
            if state.ending {
                // Never closed: the process ends before SQLite could finish copying the log.
                _ = Unmanaged.passRetained(replica.pool)
                return
            }
            try? replica.closeConnections()
        }
    }

    /// Closes the replica's connections: nothing may use it afterwards (a node about to be
    /// replaced by the snapshot it starts from, a program about to end). A second call does
    /// nothing.
    public func close() throws {
        try closed.withLock { closed in
            guard !closed else { return }
            try closeConnections()
            closed = true
        }
    }

    /// The readers first, then the writer: GRDB's `close` closes the writer first, and SQLite
    /// copies the log into the file and deletes it only at the last close of the file.
    private func closeConnections() throws {
        do {
            pool.releaseMemory()
            // The writer's own prepared statements go before it, from its queue.
            pool.writeWithoutTransaction { _ in statements.drop() }
            try pool.close()
        } catch { throw ReplicaError.storage(error, path: path) }
    }

    /// Closes every replica this process still has open, each whole (its log copied into its
    /// file), and keeps the connections of any released later open until the process ends. Call
    /// it once, just before the process exits.
    public static func closeAllBeforeExit() {
        let live = lifetimes.withLock { state -> [Replica] in
            state.ending = true
            return state.open.values.compactMap(\.replica)
        }
        for replica in live { try? replica.close() }
    }
}
