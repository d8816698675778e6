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
        var running = false
    }

    private let replica: Replica
    private let state = Mutex(State())

    init(replica: Replica) { self.replica = replica }

    func apply(_ push: Replica.Push) async throws -> ApplyResult {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { s in
                s.waiting.append(Waiting(push: push, continuation: continuation))
                guard !s.running else { return false }
                s.running = true
                return true
            }
            // A thread of its own, not one of the shared pool's: the writer may wait there for a
            // push's rule check (``Replica/Push/verdict``), which runs on the pool's threads.
            if start { Thread.detachNewThread { self.drain() } }
        }
    }

    /// Applies groups until none waits.
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
                if group.isEmpty { s.running = false }
                return group
            }
            guard !group.isEmpty else { return }
            for (waiting, result) in zip(group, replica.applyGroup(group.map(\.push))) { waiting.continuation.resume(with: result) }
        }
    }
}
