import Synchronization

/// Runs `body` in a task of its own and waits for its result, but stops waiting as soon as the
/// calling task is cancelled (throwing `CancellationError`): the task is never cancelled, it
/// ends by itself and its result is dropped. For work that must not be cancelled while it runs:
/// a URLSession request (``HubClient``), because cancelling a task while URLSession completes
/// its request deadlocks FoundationNetworking on Linux (the task's status lock, held by the
/// cancel, against the session's queue, which needs it to resume the request; a sync whose hub
/// was killed mid-push hung so). The caller is resumed from a task of its own, never from inside
/// the cancellation, which holds the cancelled task's lock.
func untilCancelled<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let waiter = Waiter<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            guard waiter.wait(c) else { return c.resume(throwing: CancellationError()) }
            Task {
                do { waiter.finish(.success(try await body())) } catch { waiter.finish(.failure(error)) }
            }
        }
    } onCancel: {
        if waiter.cancel() { Task.detached { waiter.finish(.failure(CancellationError())) } }
    }
}

/// The caller of ``untilCancelled(_:)``, resumed once by whichever comes first: the result or
/// the cancellation.
private final class Waiter<T: Sendable>: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<T, any Error>)
        case cancelled
        case done
    }
    private let state = Mutex(State.idle)

    /// Records the caller; false when it was cancelled already.
    func wait(_ c: CheckedContinuation<T, any Error>) -> Bool {
        state.withLock { s in
            if case .cancelled = s { return false }
            s = .waiting(c)
            return true
        }
    }

    /// Notes a cancellation; true when a caller waits (to be resumed, from elsewhere).
    func cancel() -> Bool {
        state.withLock { s in
            switch s {
            case .idle: s = .cancelled; return false
            case .waiting: return true
            case .cancelled, .done: return false
            }
        }
    }

    func finish(_ result: Result<T, any Error>) {
        let waiting = state.withLock { s -> CheckedContinuation<T, any Error>? in
            guard case .waiting(let c) = s else { return nil }
            s = .done
            return c
        }
        waiting?.resume(with: result)
    }
}
