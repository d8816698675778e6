import Foundation
import Logging
import ServiceLifecycle
import YuqingCore
import YuqingReplica
import YuqingWire

/// How a node runs in the background (`yuqing node run`).
public struct NodeRunnerConfiguration: Sendable {
    /// How often the replica is checked for writes (other processes make them, e.g. `yuqing case new`).
    public var watchInterval: Duration = .milliseconds(100)
    /// How long after a write is seen it is synced; writes within this window go out together.
    public var debounce: Duration = .milliseconds(100)
    /// A sync runs at least this often while the hub answers, even with nothing to send.
    public var syncInterval: Duration = .seconds(60)
    /// Delays between probes while the hub does not answer.
    public var backoff = Backoff()
    /// How long each long poll asks the hub to wait for news (the hub grants at most 60 s).
    public var longPoll: Duration = .seconds(25)
    /// How long a sync under way when shutdown is asked may take to finish before it is abandoned
    /// (safely: every step of a sync is idempotent).
    public var shutdownGrace: Duration = .seconds(3)
    /// Changes per push or pull request.
    public var batchSize = 5000
    /// Where the replica references evidence blobs (record kind, log field keyed by digest):
    /// after each sync they are sent and fetched (``EvidenceTransfer``); nil: none.
    public var evidence: (kind: String, field: String)?
    /// The node's key and its hub's: pushes sealed, pulls checked (nil with an open hub).
    public var security: NodeSecurity?
    /// The field whose elements name evidence files (deleted with a purged record).
    public var blobField: (kind: String, field: String)?

    public init() {}
}

/// A node syncing with its hub in the background, without anyone running `yuqing sync`: soon after
/// local writes, as soon as the hub's log grows (a long poll stays open for that), on a schedule,
/// and, while the hub is unreachable, again as soon as a probe on a back-off schedule is answered.
///
/// A `Service`: run it in a `ServiceGroup`; on graceful shutdown a sync under way is finished (or,
/// after ``NodeRunnerConfiguration/shutdownGrace``, abandoned, which is safe) and `run()` returns.
/// Errors that trying again cannot heal (``SyncError/healsByRetrying``) end `run()` by throwing.
/// Other processes keep using the replica's file meanwhile: the runner only reads it between
/// syncs, and each sync step is a short transaction.
public struct NodeRunner<RunnerClock: Clock>: Service where RunnerClock.Duration == Duration {
    public let replica: Replica
    public let client: HubClient
    public var configuration: NodeRunnerConfiguration
    public var logger: Logger
    /// Paces the checks and the timers, and the wait before a sync is abandoned at shutdown.
    let clock: RunnerClock

    public init(replica: Replica, client: HubClient, configuration: NodeRunnerConfiguration = .init(), logger: Logger,
                clock: RunnerClock) {
        self.replica = replica
        self.client = client
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
    }

    public func run() async throws {
        let signals = RunnerSignals()
        let (wake, waker) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let (pollStart, pollStarter) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await tick(waker) }
                group.addTask { await longPoll(signals, pollStart, wake: waker) }
                defer { group.cancelAll() }
                try await loop(signals, wake, pollStarter)
            }
        } onGracefulShutdown: {
            signals.stop()
            waker.yield()
        }
    }

    /// Wakes the main loop every ``NodeRunnerConfiguration/watchInterval``.
    func tick(_ wake: AsyncStream<Void>.Continuation) async {
        while !Task.isCancelled {
            do { try await clock.sleep(for: configuration.watchInterval) } catch { return }
            wake.yield()
        }
    }

    /// Decides and does, one thing at a time, until shutdown or an error retrying cannot heal.
    func loop(_ signals: RunnerSignals, _ wake: AsyncStream<Void>, _ pollStarter: AsyncStream<Void>.Continuation) async throws {
        var schedule = SyncSchedule(debounce: configuration.debounce, interval: configuration.syncInterval,
                                    backoff: configuration.backoff)
        var random = SystemRandomNumberGenerator()
        let start = clock.now
        func now() -> Duration { start.duration(to: clock.now) }
        var wakeups = wake.makeAsyncIterator()
        var seenLocalHead = try await localHead()
        var pulledHead: Int64 = 0
        var hubID = try replica.info().hubID
        let url = client.baseURL.absoluteString

        /// Counts a failure against the hub, or rethrows what retrying cannot heal.
        func failed(_ error: any Error, _ doing: String) throws {
            guard let e = error as? SyncError, e.healsByRetrying else { throw error }
            let (delay, wasReachable) = schedule.failed(at: now(), using: &random)
            signals.stopPolling()
            let retry = String(format: "%.1f", Backoff.seconds(delay))
            if wasReachable {
                logger.info("hub unreachable (\(doing)): \(e.message); trying again in \(retry) s", metadata: ["sync.hub": "\(url)"])
            } else {
                logger.debug("hub still unreachable: \(e.message); trying again in \(retry) s", metadata: ["sync.hub": "\(url)"])
            }
        }

        while !signals.isStopping {
            let head = try await localHead()
            if head > seenLocalHead {
                seenLocalHead = head
                schedule.localWrite(at: now())
            }
            let news = signals.takeNews()
            if let heard = news.head, heard > pulledHead { schedule.hubAdvanced(at: now()) }
            if let hub = news.hub, let known = hubID, hub != known { schedule.hubAdvanced(at: now()) }
            if let failure = news.failure, schedule.connectivity == .connected { try failed(failure, "long poll") }

            switch schedule.action(at: now()) {
            case .wait:
                // A sync due before the next check is waited for exactly, not to the next check.
                if let due = schedule.syncDue, case let left = due - now(), left > .zero, left < configuration.watchInterval {
                    try? await clock.sleep(for: left)
                } else if await wakeups.next() == nil {
                    return
                }
            case .probe:
                do {
                    let client = client
                    guard try await withinShutdownGrace({ try await client.status() }) != nil else { return }
                    schedule.probed(at: now())
                } catch {
                    if signals.isStopping || error is CancellationError { return }
                    try failed(error, "probe")
                }
            case .sync:
                // Writes seen until now go out with this sync; later ones trigger the next.
                seenLocalHead = max(seenLocalHead, try await localHead())
                do {
                    var configured = SyncSession(replica: replica, client: client, batchSize: configuration.batchSize, logger: logger,
                                                 security: configuration.security)
                    configured.blobField = configuration.blobField
                    let session = configured
                    guard let report = try await withinShutdownGrace({ try await session.run() }) else { return }
                    pulledHead = report.hubHead
                    if hubID == nil { hubID = try replica.info().hubID }
                    if schedule.synced(at: now()) { logger.info("hub reachable again", metadata: ["sync.hub": "\(url)"]) }
                    var line = "synced: pushed \(report.pushed), pulled \(report.pulled); hub at position \(report.hubHead)"
                    if report.purgedRecords > 0 { line += "; removed \(report.purgedRecords) records this unit may no longer see" }
                    if report.restoredRecords > 0 { line += "; received \(report.restoredRecords) records now visible" }
                    if report.waiting > 0 { line += "; \(report.waiting) changes wait for earlier ones" }
                    logger.info("\(line)", metadata: ["sync.node": "\(replica.id)"])
                    signals.pollFrom(report.hubHead)
                    pollStarter.yield()
                    if let evidence = configuration.evidence {
                        // Files after changes, never holding them back; a failed transfer resumes next time.
                        let transfer = EvidenceTransfer(client: client, store: BlobStore(replicaPath: replica.path))
                        do {
                            let replica = replica
                            let moved = try await withinShutdownGrace { try await transfer.run(namedBy: replica, kind: evidence.kind, field: evidence.field) }
                            if let moved, moved.sent + moved.received > 0 {
                                logger.info("evidence: sent \(moved.sent), received \(moved.received) (\(moved.bytes) bytes)")
                            }
                        } catch {
                            if signals.isStopping || error is CancellationError { return }
                            logger.warning("evidence transfer stopped; it resumes at the next sync", metadata: ["sync.error": "\(error)"])
                        }
                    }
                } catch {
                    if signals.isStopping || error is CancellationError { return }
                    try failed(error, "sync")
                }
            }
        }
    }

    /// Runs `body` (a sync or a probe): at shutdown it has ``NodeRunnerConfiguration/shutdownGrace``
    /// to finish, then it is cancelled and nil is returned. Abandoning a sync is safe: every step is
    /// idempotent, and what did not go out goes at the next run.
    func withinShutdownGrace<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        let clock = clock, grace = configuration.shutdownGrace
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await gracefulShutdown()
                try await clock.sleep(for: grace)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }

    /// The last position of the replica's own log: it grows with every local write.
    func localHead() async throws -> Int64 { try await replica.offload { try $0.head() } }
}

extension NodeRunner where RunnerClock == ContinuousClock {
    /// A runner on the system's continuous clock.
    public init(replica: Replica, client: HubClient, configuration: NodeRunnerConfiguration = .init(), logger: Logger) {
        self.init(replica: replica, client: client, configuration: configuration, logger: logger, clock: ContinuousClock())
    }
}
