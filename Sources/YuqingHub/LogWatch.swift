/// Lets long-poll requests wait for the hub's log to change, without polling storage.
///
/// Every successful ingest or resolution calls ``notify()``, which moves the watch to a new
/// *generation* and wakes every waiter. A waiter reads the generation before it reads the log's
/// head, and then waits only while the generation is still the one it read: a change committed
/// between the two reads has already moved the generation, so no change is ever slept through.
///
/// A waiter is a suspended continuation, resumed exactly once: by a notification, by its timeout,
/// by the cancellation of its task, or by ``close()`` when the hub shuts down. Nothing polls.
actor LogWatch {
    private struct Waiter {
        var continuation: CheckedContinuation<Void, Never>
        var timer: Task<Void, Never>
    }

    /// Changes at every ``notify()``.
    private(set) var generation: UInt64 = 0
    /// Once closed (the hub is shutting down), waits return at once.
    private(set) var isClosed = false
    private var waiters: [UInt64: Waiter] = [:]
    private var nextID: UInt64 = 0

    /// How many requests wait right now.
    var waiterCount: Int { waiters.count }

    /// The log changed: wake every waiter.
    func notify() {
        generation &+= 1
        resumeAll()
    }

    /// The hub is shutting down: wake every waiter, and let later waits return at once.
    func close() {
        isClosed = true
        resumeAll()
    }

    /// Suspends until the generation differs from `seen`, `timeout` has passed, the calling task
    /// is cancelled or the watch is closed, whichever comes first. Returns at once if one holds.
    func wait(since seen: UInt64, timeout: Duration) async {
        guard generation == seen, !isClosed, timeout > .zero, !Task.isCancelled else { return }
        let id = nextID
        nextID += 1
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    self.resume(id)
                }
                waiters[id] = Waiter(continuation: continuation, timer: timer)
            }
        } onCancel: {
            Task { await self.resume(id) }
        }
    }

    private func resume(_ id: UInt64) {
        guard let waiter = waiters.removeValue(forKey: id) else { return }
        waiter.timer.cancel()
        waiter.continuation.resume()
    }

    private func resumeAll() {
        let all = waiters
        waiters.removeAll()
        for waiter in all.values {
            waiter.timer.cancel()
            waiter.continuation.resume()
        }
    }
}
