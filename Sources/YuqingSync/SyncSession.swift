import Foundation
import Logging
import Synchronization
import YuqingCore
import YuqingReplica
import YuqingWire

/// What one sync did.
public struct SyncReport: Sendable, Hashable {
    /// Changes the hub merged for the first time.
    public var pushed = 0
    /// Changes the hub already had (a re-send after an interrupted sync).
    public var pushedDuplicates = 0
    /// Changes merged here from the hub.
    public var pulled = 0
    /// Changes waiting here for a value they supersede (normally 0).
    public var waiting = 0
    public var hubHead: Int64 = 0
    /// After the push phase: the log position after which nothing up to `hubHead` is for this
    /// node to pull (`Protocol/sync.md` §6.2), as the push answers showed; nil when they did not.
    public var quietAfter: Int64?
    public var pushBatches = 0
    public var pullBatches = 0
    /// Seconds spent waiting for the hub's answers (the rest of a sync is local work).
    public var hubWaitSeconds = 0.0
    /// Records removed because this node's unit may no longer see them, and their values.
    public var purgedRecords = 0
    public var purgedValues = 0
    /// Records that became visible, arrived with their whole history and were not held here
    /// before (``ApplyResult/restored``).
    public var restoredRecords = 0

    public init() {}

    /// Counts one merged pull batch (`merged`), whose answer named the hub's log head `head`.
    mutating func add(pulled merged: ApplyResult, head: Int64) {
        purgedRecords += merged.purge.records
        purgedValues += merged.purge.values
        restoredRecords += merged.restored
        pulled += merged.applied
        waiting = merged.pending
        hubHead = head
        pullBatches += 1
    }
}

/// One sync of a node with its hub: push what the hub has not acknowledged, and pull what the
/// node has not seen, in bounded batches; before a long push (``longPush`` changes or more) the
/// pull's first batch is fetched and merged while the push runs (`Protocol/sync.md` §6.2).
///
/// Every step is safe to interrupt. A push is acknowledged only after the hub has stored it, and
/// a re-sent change is a no-op at the hub; pulled changes and the pull cursor commit in one
/// transaction, and a re-pulled change is a no-op here. So a sync killed at any point and run
/// again loses nothing and duplicates nothing.
public struct SyncSession: Sendable {
    public let replica: Replica
    public let client: HubClient
    public var batchSize: Int
    /// Pending changes from which the pull's first batch is fetched beside the push.
    public var longPush = 100
    public var logger: Logger
    /// The node's key and its hub's (`Protocol/security.md`): pushes are sealed, pulled seals
    /// checked. Nil only with a hub that does not authenticate (tests of the engine).
    public var security: NodeSecurity?
    /// The field whose elements name evidence files: a purged record's files are deleted too.
    public var blobField: (kind: String, field: String)?

    public init(replica: Replica, client: HubClient, batchSize: Int = 5000, logger: Logger = Logger(label: "yuqing.sync"),
                security: NodeSecurity? = nil) {
        self.replica = replica
        self.client = client
        self.batchSize = max(1, batchSize)
        self.logger = logger
        self.security = security
    }

    /// The hub's status; a request refused for a clock too far from the hub's corrects the clock
    /// from the hub's answer and is sent once more.
    func status() async throws -> HubStatus {
        do {
            return try await client.status(replica: replica.id)
        } catch let error as SyncError where error.code == .notEnrolled {
            // Another hub than the one this node syncs with: say that (checkHub throws), rather
            // than ask to enrol here.
            if let hub = error.problem?.hub, let bound = try replica.info().hubID, bound.rawValue != hub {
                try checkHub(ReplicaID(hub))
            }
            // Only a hub whose identity is certain (pinned HTTPS, or this machine) may wipe it.
            if error.problem?.code == "revoked_device", client.baseURL.scheme == "https" || HubClient.isLoopback(client.baseURL.host ?? "") {
                throw try wipe(error)
            }
            guard error.problem?.code == "stale_request", let hubTime = error.problem?.hubTime else { throw error }
            try replica.setClockOffset(Int64(hubTime) - Int64(replica.deviceClock()))
            return try await client.status(replica: replica.id)
        }
    }

    /// A device the hub revoked keeps nothing (`Protocol/security.md` §5): everything it held goes,
    /// its evidence files too, and the error says what went.
    func wipe(_ error: SyncError) throws -> SyncError {
        let (purge, unsynced) = try replica.purgeEverything()
        try? FileManager.default.removeItem(atPath: BlobStore(replicaPath: replica.path).directory)
        logger.debug("revoked: removed everything", metadata: ["sync.records": "\(purge.records)", "sync.unsynced": "\(unsynced)"])
        var problem = error.problem
        problem?.message = "\(error.message). As the hub asks of a revoked device, this node removed what it held: \(purge.records) records (\(purge.values) values), \(unsynced) unsynced changes and its evidence files" + (purge.records + unsynced == 0 ? " (nothing was left)" : "")
        problem?.messageZh = "\(error.chinese)。按中心对已吊销设备的要求，本节点已删除其保存的全部内容：\(purge.records) 条记录（\(purge.values) 个值）、\(unsynced) 条未同步的变更及其证据文件" + (purge.records + unsynced == 0 ? "（本已没有任何内容）" : "")
        return SyncError(.revoked, problem?.message ?? error.message, zh: problem?.messageZh ?? error.chinese, problem: problem)
    }

    /// Runs one sync; `progress` is called after every batch.
    public func run(progress: @Sendable (SyncReport) -> Void = { _ in }) async throws -> SyncReport {
        var report = SyncReport()
        // Make sure this is the hub whose log the cursors point into, before sending anything.
        let clock = ContinuousClock()
        var started = clock.now
        // The first batch to push, and whether the push is long, are read while the hub check's
        // request is out: only read, nothing is sent before the check passes.
        let longPush = max(1, longPush), batchLimit = batchSize
        async let prepared = replica.offload { r in
            let batch = try r.pendingPush(limit: batchLimit, maxBytes: Self.maxPushBytes)
            // Counted only when the batch is short (cut by its bytes, or all there is).
            let long = try batch.count >= longPush || r.pendingCount(atMost: longPush) >= longPush
            return (long: long, batch: batch)
        }
        let status = try await status()
        report.hubWaitSeconds += Self.seconds(clock.now - started)
        try checkHub(status.hub)
        // The newest batch revision both sides know.
        let revision = min(status.binaryRevision ?? 1, BinaryChanges.revision)
        // A replica restored from a backup (or copied) would reuse dots the hub already holds,
        // and the hub would take its new changes for re-sent old ones: refuse, losing nothing.
        let counter = try replica.info().counter
        if status.versionVector[replica.id] > counter {
            throw SyncError(.replicaBehindHub, "the hub holds changes under this node's id up to \(replica.id):\(status.versionVector[replica.id]), but this replica has made only \(counter): either this file was restored from a backup or copied from another device, or another program sent changes under this node's id. Nothing was sent and your work is saved here. Run `yuqing node reissue` to give this node a new id and send its unsynced work under it (nothing is lost), and tell the hub operator",
                            zh: "中心保存有本节点 id 下直至 \(replica.id):\(status.versionVector[replica.id]) 的变更，但本副本只产生到第 \(counter) 条：可能此文件是从备份恢复或从其他设备复制的，也可能另一个程序以本节点的 id 发送了变更。未发送任何内容，您的工作已保存在本地。请运行 `yuqing node reissue` 为本节点分配新 id，并以新 id 发送其未同步的工作（不会丢失任何内容），同时告知中心运维人员")
        }
        // When the push is long, the pull's first page is asked for, and merged, while it runs:
        // the hub answers it from a reader while it merges and syncs the push, and this node
        // merges it while it waits for the push's answer (docs/benchmarks.md §6). Pulled changes
        // are never pushed back, so the two do not meet; what the push itself changes in this
        // node's view (a case handed to another unit) is pulled after it, below. Beside a short
        // push the page would not be hidden, and the extra request after the push costs the hub
        // more than it saves when many nodes sync at once (§7): the page is asked for after it.
        let client = client, id = replica.id, limit = batchSize, deviceClock = replica.deviceClock
        func request(after: Int64) -> Task<Fetched, any Error> {
            let sentAt = deviceClock()
            return Task { Fetched(answer: try await client.pull(after: after, limit: limit, replica: id, revision: revision), sentAt: sentAt, receivedAt: deviceClock()) }
        }
        let gate = FirstPageGate()
        func firstPage() throws -> Task<(Fetched, ApplyResult)?, any Error> {
            let cursor = try replica.info().pullCursor
            let fetch = request(after: cursor)
            return Task {
                let fetched = try await fetch.value
                try checkHub(fetched.answer.hub)
                guard gate.beginMerge() else { return nil }
                return (fetched, try await merge(fetched.answer))
            }
        }
        let (besidePush, firstBatch) = try await prepared
        let beside = besidePush ? try firstPage() : nil
        do {
            try await push(&report, first: firstBatch, revision: revision, progress: progress)
        } catch {
            if let beside { await gate.giveUp(beside) }
            throw error
        }
        // Other nodes' changes may lie below the last push answer's head even when the push added
        // none (all re-sent): the pull goes at least that far, unless the push answers showed
        // that nothing after where the first page ends is for this node (§6.2).
        let pushedUpTo = report.hubHead, quietAfter = report.quietAfter
        // Pull.
        started = clock.now
        let first = try beside ?? firstPage()
        let got: (Fetched, ApplyResult)?
        do {
            got = try await untilCancelled { try await first.value }
        } catch let error as CancellationError {
            await gate.giveUp(first)
            throw error
        }
        guard var (fetched, page) = got else { throw CancellationError() }  // only an abandoned page is not merged
        report.hubWaitSeconds += Self.seconds(clock.now - started)
        // The clock is learnt from the first page only now, not beside the push's own learning.
        try learnClock(from: fetched)
        var answer = fetched.answer
        // A first page asked for before the push ended that stops short of what the push merged
        // is followed by one more, as a pull after the push would be.
        var askedAfterPush = !besidePush
        // Not cancelled when the sync ends early (see above): the request ends on its own, and
        // its answer is dropped.
        var inFlight: Task<Fetched, any Error>?
        while true {
            report.add(pulled: page, head: answer.head)
            logger.debug("pulled", metadata: ["sync.batch": "\(answer.entries.count)", "sync.cursor": "\(answer.next)"])
            progress(report)
            if !answer.more {
                if askedAfterPush || answer.next >= pushedUpTo { break }
                if let quietAfter, answer.next >= quietAfter {
                    // What a pull after the push would have ended at, with nothing to merge.
                    let from = answer.next
                    try await replica.offload { try $0.skipPull(from: from, to: pushedUpTo) }
                    report.hubHead = max(report.hubHead, pushedUpTo)
                    progress(report)
                    break
                }
            }
            try Task.checkCancellation()
            let next = inFlight ?? request(after: answer.next)
            askedAfterPush = true
            started = clock.now
            fetched = try await untilCancelled { try await next.value }
            report.hubWaitSeconds += Self.seconds(clock.now - started)
            answer = fetched.answer
            try checkHub(answer.hub)
            // The next batch is requested while this one is merged, so the hub reads and sends
            // while the node writes.
            inFlight = answer.more ? request(after: answer.next) : nil
            page = try await merge(answer)
            try learnClock(from: fetched)
        }
        return report
    }

    /// Pushes what the hub has not acknowledged, in batches, `first` (read before) the first of
    /// them; `report.hubHead` is then the head in the last push's answer (unchanged when there was
    /// nothing to push).
    private func push(_ report: inout SyncReport, first: [(seq: Int64, change: Change)], revision: Int,
                      progress: @Sendable (SyncReport) -> Void) async throws {
        let clock = ContinuousClock()
        var first = Optional(first)
        while true {
            let limit = batchSize, maxBytes = Self.maxPushBytes
            let batch = if let read = first.take() { read } else { try await replica.offload { try $0.pendingPush(limit: limit, maxBytes: maxBytes) } }
            guard let last = batch.last else { return }
            let sentAt = replica.deviceClock()
            let started = clock.now
            let answer: PushResponse
            var sent: [Seal] = []
            do {
                let changes = batch.map(\.change)
                let seals = try security?.seals(for: changes, replica: replica.id) ?? []
                answer = try await client.push(PushRequest(replica: replica.id, changes: changes, seals: seals), revision: revision)
                sent = seals
            } catch let error as SyncError where error.problem?.code == "dot_reused" {
                throw SyncError(.dotCollision, "the hub holds a different change under one of this node's change ids (\(error.problem?.message ?? "")). Either this file was restored from a backup or copied, or another program sent changes under this node's id. Nothing of this push was stored and your work is saved here. Run `yuqing node reissue` to give this node a new id and send its unsynced work under it (nothing is lost), and tell the hub operator",
                                zh: "中心在本节点的某个变更 id 下保存了另一条不同的变更（\(error.problem?.messageZh ?? error.problem?.message ?? "")）。可能此文件是从备份恢复或被复制的，也可能另一个程序以本节点的 id 发送了变更。本次推送的内容均未保存，您的工作已保存在本地。请运行 `yuqing node reissue` 为本节点分配新 id，并以新 id 发送其未同步的工作（不会丢失任何内容），同时告知中心运维人员",
                                problem: error.problem)
            }
            report.hubWaitSeconds += Self.seconds(clock.now - started)
            try checkHub(answer.hub)
            // The node keeps its own seals too (its history shows what it signed), with the cursor.
            try await replica.offload { [sent] in try $0.markPushed(upTo: last.seq, seals: sent) }
            try learnClock(hubTime: answer.hubTime, sentAt: sentAt)
            report.pushed += answer.accepted
            report.pushedDuplicates += answer.duplicates
            // The answers' quiet spans, joined while each begins at or below the last one's head.
            report.quietAfter = switch (report.quietAfter, answer.quietAfter) {
            case (let joined?, let q?) where q <= report.hubHead: joined
            case (_, let q): q
            }
            report.hubHead = answer.head
            report.pushBatches += 1
            logger.debug("pushed", metadata: ["sync.batch": "\(batch.count)", "sync.accepted": "\(answer.accepted)"])
            progress(report)
        }
    }

    /// A pull answer, with the device's times of its request and of its arrival (``learnClock(from:)``).
    struct Fetched: Sendable {
        var answer: PullResponse
        var sentAt: UInt64
        var receivedAt: UInt64
    }

    /// Whether the pull's first page is merged: decided once, by the page as its answer arrives
    /// or by the sync as it gives up on it (a failed push, a cancelled sync).
    final class FirstPageGate: Sendable {
        private let decided = Mutex<Bool?>(nil)

        /// The page's merge begins; false when the sync gave up first.
        func beginMerge() -> Bool { decided.withLock { d in if d == nil { d = true }; return d! } }

        /// The sync gives up on `page`: it is neither waited for nor cancelled (a URLSession
        /// request must not be, ``untilCancelled(_:)``), unless its merge has begun, which ends
        /// before this returns; its answer, when it comes, is not merged.
        func giveUp<T>(_ page: Task<T, any Error>) async {
            let merging = decided.withLock { d in if d == nil { d = false }; return d! }
            if merging { _ = try? await page.value }
        }
    }

    /// Merges one pulled page and moves the pull cursor past it, in one transaction; removes the
    /// evidence files of records the page purged.
    private func merge(_ answer: PullResponse) async throws -> ApplyResult {
        // Seals are checked once the node is enrolled and knows its hub's key.
        let enrolled = security?.hubKey != nil
        let verifier = enrolled ? security?.verifier(hub: answer.hub) : nil, keys = enrolled ? security?.keys : nil
        let result: ApplyResult
        // A restored record is rebuilt from its history in log order.
        let restored = Set(answer.restored)
        let entries = restored.isEmpty ? answer.entries : answer.entries.sorted { $0.pos < $1.pos }
        let blobField = blobField
        do {
            result = try await replica.offload {
                try $0.apply(entries.map(\.change), origin: .hub, pullCursor: answer.next, seals: answer.seals, proofs: answer.proofs,
                             verifier: verifier, keys: keys, restored: restored, purged: answer.purged, blobField: blobField)
            }
        } catch let error as ReplicaError where error.code == .unsealed {
            throw SyncError(.tampered, error.message, zh: error.chinese)
        }
        if !result.purge.blobs.isEmpty, let blobField {
            // Files no record this node still holds names.
            let kept = Set(try await replica.offload { try $0.elements(kind: blobField.kind, field: blobField.field) })
            let store = BlobStore(replicaPath: replica.path)
            for digest in Set(result.purge.blobs) where !kept.contains(digest) { store.remove(digest) }
        }
        return result
    }

    /// About the most bytes of changes one push carries, well under the hub's 16 MiB body limit.
    public static let maxPushBytes = 4 << 20

    public static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    /// Cursors are positions in one hub's log: refuse to mix them with another hub's.
    func checkHub(_ hub: ReplicaID) throws {
        guard try replica.bindHub(hub) else {
            let known = try replica.info().hubID?.rawValue ?? "?"
            throw SyncError(.wrongHub, "the hub at \(client.baseURL.absoluteString) is hub \(hub), but this node syncs with hub \(known); nothing was exchanged. Use that hub's URL, or create a new node replica for this hub",
                            zh: "位于 \(client.baseURL.absoluteString) 的是中心 \(hub)，但本节点与中心 \(known) 同步；未交换任何内容。请改用中心 \(known) 的 URL，或为此中心新建节点副本")
        }
    }

    /// Keeps the node's timestamps near the hub's when the device clock is off by over a second.
    func learnClock(from fetched: Fetched) throws {
        try learnClock(hubTime: fetched.answer.hubTime, sentAt: fetched.sentAt, receivedAt: fetched.receivedAt)
    }

    func learnClock(hubTime: UInt64, sentAt: UInt64, receivedAt: UInt64? = nil) throws {
        let now = receivedAt ?? replica.deviceClock()
        let offset = Int64(hubTime) - Int64((sentAt + now) / 2)
        let current = try replica.clockOffset()
        let wanted = abs(offset) > 1000 ? offset : 0
        if abs(wanted - current) > 1000 || (wanted == 0 && current != 0) { try replica.setClockOffset(wanted) }
    }
}
