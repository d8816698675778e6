import Dispatch
import Foundation
import Synchronization
import YuqingCore
import YuqingReplica

/// The pushes an SQLite hub applies, committed in groups: while one transaction is being written
/// and synced, the pushes that arrive wait, and the next transaction applies them all
/// (``YuqingReplica/Replica/applyGroup(_:)``; a refused push is undone alone), with one sync of the
/// disk for the group. A push is acknowledged only after the commit that holds it, as before; what
/// changes is that 200 nodes pushing at once cost a few syncs rather than 200 in a row.
///
/// A group holds at most ``maxPushes`` pushes and, beyond its first push, at most
/// ``maxChanges`` changes, so a large push is never held up behind a long transaction.
final class GroupCommit: Sendable {
    static let maxPushes = 64
    static let maxChanges = 20_000

    private struct Waiting {
        var push: Replica.Push
        var continuation: CheckedContinuation<ApplyResult, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        /// A thread applies groups, or waits a while for the next push.
        var running = false
        /// That thread waits for a push (``work`` is signalled once when one comes).
        var idle = false
        /// Threads started so far (for the tests).
        var threads = 0
    }

    /// How long the writer's thread waits for another push before it ends (2 s by default). A
    /// push that finds it waiting is taken up in 0.1–0.3 ms at the median, where a thread started
    /// anew took 0.95 ms to begin (a trace of `yuqing-bench reconnect` made with a temporary
    /// build, docs/benchmarks.md §6).
    let idleWait: DispatchTimeInterval

    private let replica: Replica
    private let state = Mutex(State())
    private let work = DispatchSemaphore(value: 0)

    init(replica: Replica, idleWait: DispatchTimeInterval = .seconds(2)) {
        self.replica = replica
        self.idleWait = idleWait
    }

    /// Threads started so far: one serves pushes that come less than ``idleWait`` apart.
    var threadsStarted: Int { state.withLock { $0.threads } }

    func apply(_ push: Replica.Push) async throws -> ApplyResult {
        try await withCheckedThrowingContinuation { continuation in
            let (start, wake) = state.withLock { s -> (Bool, Bool) in
                s.waiting.append(Waiting(push: push, continuation: continuation))
                if !s.running {
                    s.running = true
                    s.threads += 1
                    return (true, false)
                }
                guard s.idle else { return (false, false) }
                s.idle = false
                return (false, true)
            }
            // A thread of its own, not one of the shared pool's: the writer may wait there for a
            // push's rule check (``Replica/Push/verdict``), which runs on the pool's threads.
            if start { Thread.detachNewThread { self.drain() } }
            if wake { work.signal() }
        }
    }

    /// Applies groups as pushes come; ends once none came for ``idleWait``.
    private func drain() {
        while true {
            let group = state.withLock { s -> [Waiting] in
                var count = 0, changes = 0
                while count < s.waiting.count, count < Self.maxPushes,
                      count == 0 || changes + s.waiting[count].push.changes.count <= Self.maxChanges {
                    changes += s.waiting[count].push.changes.count
                    count += 1
                }
                let group = Array(s.waiting.prefix(count))
                s.waiting.removeFirst(count)
                if group.isEmpty { s.idle = true }
                return group
            }
            guard !group.isEmpty else {
                if work.wait(timeout: .now() + idleWait) == .success { continue }
                let end = state.withLock { s -> Bool in
                    // Still idle: no push came, and none will wake this thread.
                    guard s.idle else { return false }
                    s.idle = false
                    s.running = false
                    return true
                }
                if end { return }
                // A push came as the wait ended: its signal is on its way.
                work.wait()
                continue
            }
            for (waiting, result) in zip(group, replica.applyGroup(group.map(\.push))) { waiting.continuation.resume(with: result) }
        }
    }
}
