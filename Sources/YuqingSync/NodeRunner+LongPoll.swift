import Foundation
import YuqingCore
import YuqingWire

extension NodeRunner {
    /// Keeps one long poll (`GET /v1/wait`) open while the hub answers, and tells the main loop
    /// (through `signals` and `wake`) what it heard: a head past what was pulled, or a failure.
    func longPoll(_ signals: RunnerSignals, _ start: AsyncStream<Void>, wake: AsyncStream<Void>.Continuation) async {
        var starts = start.makeAsyncIterator()
        let seconds = Backoff.seconds(configuration.longPoll)
        while !Task.isCancelled {
            guard let (after, epoch) = signals.pollPosition() else {
                // Not connected: wait until the main loop has synced again.
                if await starts.next() == nil { return }
                continue
            }
            do {
                let answer = try await client.wait(after: after, timeout: seconds)
                signals.heard(answer, epoch: epoch)
                wake.yield()
            } catch {
                if Task.isCancelled { return }
                if let e = error as? SyncError, e.code == .hubRejected, e.problem?.code == "not_found" {
                    logger.info("the hub at \(client.baseURL.absoluteString) offers no long polls (/v1/wait): changes made elsewhere arrive with the routine sync")
                    return
                }
                if signals.pollFailed(error, epoch: epoch) { wake.yield() }
            }
        }
    }
}

/// What the node runner's tasks tell each other: the main loop arms the long poll with the
/// position to wait after, the long poll reports what it heard, and the shutdown handler asks
/// everything to stop.
final class RunnerSignals: @unchecked Sendable {
    /// What the long poll heard since the main loop last asked.
    struct News {
        /// The highest head a long poll answered with.
        var head: Int64?
        /// The hub that answered.
        var hub: ReplicaID?
        /// Why the long poll failed, if it did.
        var failure: (any Error)?
    }

    private let lock = NSLock()
    private var stopping = false
    private var pollAfter: Int64?
    /// Changes whenever the main loop re-arms or stops the long poll, so a failure of a poll
    /// started before is not taken for news.
    private var pollEpoch: UInt64 = 0
    private var news = News()

    var isStopping: Bool { lock.withLock { stopping } }

    func stop() { lock.withLock { stopping = true } }

    /// The main loop synced up to hub position `head`: long-poll for what comes after.
    func pollFrom(_ head: Int64) {
        lock.withLock {
            pollEpoch &+= 1
            pollAfter = max(pollAfter ?? head, head)
        }
    }

    /// The hub does not answer: no long poll until the next sync.
    func stopPolling() {
        lock.withLock {
            pollEpoch &+= 1
            pollAfter = nil
        }
    }

    /// Where the next long poll waits from, or nil while none should run.
    func pollPosition() -> (after: Int64, epoch: UInt64)? {
        lock.withLock { pollAfter.map { ($0, pollEpoch) } }
    }

    func heard(_ answer: WaitResponse, epoch: UInt64) {
        lock.withLock {
            news.head = max(news.head ?? answer.head, answer.head)
            news.hub = answer.hub
            // The next poll waits past what was heard; the main loop pulls it meanwhile.
            if epoch == pollEpoch, let after = pollAfter { pollAfter = max(after, answer.head) }
        }
    }

    /// Records a failed long poll; false when the poll was stale (the main loop moved on since).
    func pollFailed(_ error: any Error, epoch: UInt64) -> Bool {
        lock.withLock {
            guard epoch == pollEpoch, pollAfter != nil else { return false }
            pollAfter = nil
            news.failure = error
            return true
        }
    }

    /// What was heard since the last call.
    func takeNews() -> News {
        lock.withLock {
            defer { news = News() }
            return news
        }
    }
}
