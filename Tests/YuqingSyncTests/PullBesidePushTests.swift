import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingSync
import YuqingWire
import YuqingTestSupport

/// A sync fetches the pull's first page while its push runs (`Protocol/sync.md` §6.2). Here the
/// hub answers that page before it merges the push, and another node's change is committed between
/// the two: the sync must ask once more after its push, as a pull after the push would, and so
/// still bring that change.
@Suite struct PullBesidePushTests {
    /// The hub's storage, holding every push back until a pull has been answered, and then
    /// merging `between` (another node's push) just before it.
    struct PullFirst: HubStorage {
        final class Held: Sendable {
            /// Another node's push, merged just before the next push once armed.
            let between = Mutex<(changes: [Change], from: ReplicaID)?>(nil)
            let pulls = Mutex(0)
            /// How long each pull is held before it is answered.
            let pullDelay = Mutex<Duration?>(nil)
            /// Pushes fail (the hub answers 500), as when its storage fails mid-merge.
            let failPushes = Mutex(false)
            /// Pushes wait until a pull has been answered, even with nothing `between`.
            let holdPushes = Mutex(false)
            /// Pushes let through before `between` is merged.
            let passBeforeBetween = Mutex(0)
        }
        struct Failed: Error {}
        let base: SQLiteHubStorage
        let held: Held

        var hubID: ReplicaID { base.hubID }
        func ingest(_ changes: [Change], from sender: ReplicaID, seals: [Seal]) async throws -> ApplyResult {
            if held.failPushes.withLock({ $0 }) { throw Failed() }
            let other = held.between.withLock { b -> (changes: [Change], from: ReplicaID)? in
                guard b != nil, held.passBeforeBetween.withLock({ n in defer { n = max(0, n - 1) }; return n == 0 }) else { return nil }
                defer { b = nil }
                return b
            }
            if other != nil || held.holdPushes.withLock({ $0 }) {
                for _ in 0..<500 where held.pulls.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
            }
            if let other { _ = try await base.ingest(other.changes, from: other.from, seals: []) }
            return try await base.ingest(changes, from: sender, seals: seals)
        }
        func changes(after position: Int64, limit: Int, maxBytes: Int, excluding: ReplicaID?) async throws
            -> (entries: [(seq: Int64, change: Change)], head: Int64, more: Bool)
        {
            defer { held.pulls.withLock { $0 += 1 } }
            if let delay = held.pullDelay.withLock({ $0 }) { try? await Task.sleep(for: delay) }
            return try await base.changes(after: position, limit: limit, maxBytes: maxBytes, excluding: excluding)
        }
        func scopedChanges(after position: Int64, unit: String, limit: Int, maxBytes: Int, excluding: ReplicaID?) async throws -> ScopedPage {
            try await base.scopedChanges(after: position, unit: unit, limit: limit, maxBytes: maxBytes, excluding: excluding)
        }
        func run(of replica: ReplicaID, from first: UInt64, to last: UInt64) async throws -> [Change] { try await base.run(of: replica, from: first, to: last) }
        func digest(unit: String) async throws -> String { try await base.digest(unit: unit) }
        func waiting() async throws -> [ReplicaID: Int] { try await base.waiting() }
        func digest() async throws -> String { try await base.digest() }
        func head() async throws -> Int64 { try await base.head() }
        func headAfterPush(_ result: ApplyResult, unit: String?) async throws -> (head: Int64, quietAfter: Int64?) {
            try await base.headAfterPush(result, unit: unit)
        }
        func versionVector() async throws -> VersionVector { try await base.versionVector() }
        func conflicts() async throws -> [Conflict] { try await base.conflicts() }
        func openConflictCount() async throws -> Int { try await base.openConflictCount() }
        func resolve(conflictID: String, value: FieldValue, resolvedBy: String) async throws -> (change: Change, pos: Int64) {
            try await base.resolve(conflictID: conflictID, value: value, resolvedBy: resolvedBy)
        }
        func holds(kind: String, field: String, element: String) async throws -> Bool { try await base.holds(kind: kind, field: field, element: element) }
        func ruleInputs(_ changes: [Change], kinds: [String], recordKind: String, fields: [String]) async throws
            -> (fresh: [Change], all: [RecordView], touched: [RecordView])
        {
            try await base.ruleInputs(changes, kinds: kinds, recordKind: recordKind, fields: fields)
        }
        func view(_ record: RecordRef) async throws -> RecordView? { try await base.view(record) }
        func seals(covering changes: [Change]) async throws -> [Seal] { try await base.seals(covering: changes) }
        func seal(covering dot: Dot) async throws -> (seal: Seal, verified: Bool)? { try await base.seal(covering: dot) }
        func history(of record: RecordRef) async throws -> [Change] { try await base.history(of: record) }
        func sealOwnChanges(_ sign: @escaping @Sendable ([Change]) throws -> Seal) async throws { try await base.sealOwnChanges(sign) }
        func writeAsHub(_ writes: [(RecordRef, FieldKey, FieldValue?)], author: String) async throws { try await base.writeAsHub(writes, author: author) }
        func views(kinds: [String]) async throws -> [RecordView] { try await base.views(kinds: kinds) }
        func takeSetting(_ key: String) async throws -> String? { try await base.takeSetting(key) }
        func setting(_ key: String) async throws -> String? { try await base.setting(key) }
        func setSetting(_ key: String, _ value: String) async throws { try await base.setSetting(key, value) }
    }

    /// A live hub over ``PullFirst`` that holds another node's change (case c2's title), for
    /// `body` with its storage, its port and the test's files.
    static func withHubHoldingTheirs(_ body: @escaping @Sendable (PullFirst, Int, TempDir) async throws -> Void) async throws {
        let files = try TempDir()
        var other = ReplicaState(id: ReplicaID("other"), schema: .sample)
        let theirs = other.write(.case("c2"), FieldKey("title"), .text("他们的"), author: "other", physicalMillis: 1_790_000_000_000)
        let storage = PullFirst(base: try SQLiteHubStorage(path: files.path("hub.sqlite"), schema: .sample), held: PullFirst.Held())
        _ = try await storage.base.ingest([theirs], from: ReplicaID("other"), seals: [])
        let app = buildHubApplication(configuration: HubConfiguration(port: 0, enforceCaseRules: false), storage: storage)
        try await app.test(.live) { client in try await body(storage, try #require(client.port), files) }
    }

    /// Also when every change of the push was re-sent (the hub holds them already, its answer to
    /// the first send was lost): the push adds nothing, yet the other node's change lies below
    /// the head its answer names, which the sync reports and a long poll then waits past.
    @Test(arguments: [false, true]) func aChangeCommittedBetweenTheFirstPageAndThePushIsPulledInTheSameSync(resent: Bool) async throws {
        let files = try TempDir()
        var other = ReplicaState(id: ReplicaID("other"), schema: .sample)
        let theirs = other.write(.case("c2"), FieldKey("title"), .text("他们的"), author: "other", physicalMillis: 1_790_000_000_000)
        let storage = PullFirst(base: try SQLiteHubStorage(path: files.path("hub.sqlite"), schema: .sample), held: PullFirst.Held())
        let app = buildHubApplication(configuration: HubConfiguration(port: 0, enforceCaseRules: false), storage: storage)
        try await app.test(.live) { client in
            let hub = "http://127.0.0.1:\(try #require(client.port))"
            let node = try Replica.create(at: files.path("n.sqlite"), role: .node, unit: "n", hubURL: hub, schema: .sample)
            try node.write([.init(.case("c1"), FieldKey("title"), .text("我们的"))])
            if resent {
                _ = try await HubClient(hubURL: hub).push(PushRequest(replica: node.id, changes: try node.pendingPush(limit: 10).map(\.change)))
            }
            storage.held.between.withLock { $0 = ([theirs], ReplicaID("other")) }
            storage.held.pulls.withLock { $0 = 0 }
            var session = SyncSession(replica: node, client: try HubClient(hubURL: hub))
            session.longPush = 1
            let report = try await session.run()
            #expect(report.pushed == (resent ? 0 : 1) && report.pushedDuplicates == (resent ? 1 : 0))
            #expect(storage.held.pulls.withLock { $0 } == 2, "the first page, then one more after the push")
            #expect(report.pulled == 1, "the change merged at the hub between the first page and the push")
            #expect(try node.view(.case("c2"))?.value("title") == .text("他们的"))
            #expect(try node.digest() == storage.base.replica.digest())
            #expect(try node.info().pullCursor == storage.base.replica.head())
            #expect(report.hubHead == (try storage.base.replica.head()))
        }
    }

    /// A long push whose answer shows that nothing after where the first page ended is for this
    /// node (only its own changes, `Protocol/sync.md` §6.2) is not followed by a pull: one pull
    /// request in the sync, and the node ends where a pull after the push would have left it.
    /// When the push released another node's change from waiting at the hub, that change lies
    /// among the push's own: the sync pulls after the push, and brings it.
    @Test(arguments: [false, true]) func aPushWithNothingElseForTheNodeNeedsNoPullAfterIt(released: Bool) async throws {
        let files = try TempDir()
        let storage = PullFirst(base: try SQLiteHubStorage(path: files.path("hub.sqlite"), schema: .sample), held: PullFirst.Held())
        let app = buildHubApplication(configuration: HubConfiguration(port: 0, enforceCaseRules: false), storage: storage)
        try await app.test(.live) { client in
            let hub = "http://127.0.0.1:\(try #require(client.port))"
            let node = try Replica.create(at: files.path("n.sqlite"), role: .node, unit: "n", hubURL: hub, schema: .sample)
            var session = SyncSession(replica: node, client: try HubClient(hubURL: hub))
            session.longPush = 1
            _ = try await session.run()  // bound to the hub
            try node.write([.init(.case("c1"), FieldKey("title"), .text("我们的")), .init(.case("c2"), FieldKey("title"), .text("也是"))])
            if released {
                // Another node saw this node's first change and wrote over it; its change waits
                // at the hub for that one.
                let mine = try node.pendingPush(limit: 10).map(\.change)
                var other = ReplicaState(id: ReplicaID("other"), schema: .sample)
                _ = other.apply(mine[0])
                let theirs = other.write(.case("c1"), FieldKey("title"), .text("他们的"), author: "other", physicalMillis: 1_790_000_000_000)
                #expect(try await storage.base.ingest([theirs], from: ReplicaID("other"), seals: []).pending == 1)
            }
            storage.held.holdPushes.withLock { $0 = true }
            storage.held.pulls.withLock { $0 = 0 }
            let report = try await session.run()
            #expect(report.pushed == (released ? 3 : 2))  // the hub counts what the push released as merged by it
            #expect((report.quietAfter != nil) == !released)
            #expect(storage.held.pulls.withLock { $0 } == (released ? 2 : 1))
            #expect(report.pulled == (released ? 1 : 0))
            #expect(try node.view(.case("c1"))?.value("title") == .text(released ? "他们的" : "我们的"))
            #expect(try node.digest() == storage.base.replica.digest())
            #expect(try node.info().pullCursor == storage.base.replica.head())
            #expect(report.hubHead == (try storage.base.replica.head()))
        }
    }

    /// A sync of several push batches joins their answers' quiet spans only where they meet:
    /// pushed one change at a time with nothing else committed, it needs no pull after them; with
    /// another node's change committed between its two pushes, it pulls, and brings that change.
    @Test(arguments: [false, true]) func theQuietSpansOfSeveralPushesJoinOnlyWhereTheyMeet(gap: Bool) async throws {
        var later = ReplicaState(id: ReplicaID("later"), schema: .sample)
        let between = later.write(.case("c9"), FieldKey("title"), .text("其间"), author: "later", physicalMillis: 1_790_000_000_001)
        try await Self.withHubHoldingTheirs { storage, port, files in
            let hub = "http://127.0.0.1:\(port)"
            let node = try Replica.create(at: files.path("n.sqlite"), role: .node, unit: "n", hubURL: hub, schema: .sample)
            var session = SyncSession(replica: node, client: try HubClient(hubURL: hub), batchSize: 1)
            session.longPush = 1
            _ = try await session.run()
            try node.write([.init(.case("c1"), FieldKey("title"), .text("一")), .init(.case("c3"), FieldKey("title"), .text("二"))])
            if gap {
                storage.held.passBeforeBetween.withLock { $0 = 1 }
                storage.held.between.withLock { $0 = ([between], ReplicaID("later")) }
            }
            storage.held.holdPushes.withLock { $0 = true }
            storage.held.pulls.withLock { $0 = 0 }
            let report = try await session.run()
            #expect(report.pushed == 2 && report.pushBatches == 2)
            #expect(storage.held.pulls.withLock { $0 } == (gap ? 2 : 1))
            #expect(report.pulled == (gap ? 1 : 0))
            #expect(try node.view(.case("c9"))?.value("title") == (gap ? .text("其间") : nil))
            #expect(try node.digest() == storage.base.replica.digest())
            #expect(try node.info().pullCursor == storage.base.replica.head())
        }
    }

    /// A sync whose push fails while its first page is still on its way ends with the push's
    /// error at once: it neither waits for the page nor cancels it, and the page, when it comes,
    /// is not merged: the node's pull cursor and values stay as they were.
    @Test func aFailedPushEndsTheSyncWithoutWaitingForTheFirstPage() async throws {
        try await Self.withHubHoldingTheirs { storage, port, files in
            let hub = "http://127.0.0.1:\(port)"
            let node = try Replica.create(at: files.path("n.sqlite"), role: .node, unit: "n", hubURL: hub, schema: .sample)
            try node.write([.init(.case("c1"), FieldKey("title"), .text("我们的"))])
            storage.held.pullDelay.withLock { $0 = .seconds(3) }
            storage.held.failPushes.withLock { $0 = true }
            let clock = ContinuousClock(), started = clock.now
            var failing = SyncSession(replica: node, client: try HubClient(hubURL: hub))
            failing.longPush = 1
            await #expect(throws: SyncError.self) { try await failing.run() }
            let took = clock.now - started
            #expect(took < .seconds(2), "the sync ended \(took) after it began, the page held 3 s")
            // The page is answered meanwhile; nothing of it is merged.
            try await Task.sleep(for: .seconds(4))
            #expect(storage.held.pulls.withLock { $0 } == 1)
            #expect(try node.info().pullCursor == 0)
            #expect(try node.view(.case("c2")) == nil)
            #expect(try node.pendingCount() == 1, "the push failed: the change waits to be pushed again")
            // The next sync, with the hub mended, brings both ways.
            storage.held.pullDelay.withLock { $0 = nil }
            storage.held.failPushes.withLock { $0 = false }
            let report = try await SyncSession(replica: node, client: try HubClient(hubURL: hub)).run()
            #expect(report.pushed == 1 && report.pulled == 1)
            #expect(try node.digest() == storage.base.replica.digest())
        }
    }

    /// The hub is cut off (as if killed) the moment the push reaches it, while the first page is
    /// still on its way: the sync ends at once with the hub unreachable, and a later sync sends
    /// and brings everything. (The page's task cancelled while URLSession completed its request
    /// deadlocked FoundationNetworking, and the sync hung: `PostgresInstancesCLITests` waited 26
    /// minutes on it.)
    @Test func aSyncWhoseHubIsCutMidPushEndsWithoutWaitingForItsFirstPage() async throws {
        try await Self.withHubHoldingTheirs { storage, port, files in
            let proxy = try FaultProxy(to: port, seed: 1)
            proxy.faultsEnabled = false
            proxy.delayed = ["/v1/pull": 1500]
            proxy.killOn = "/v1/push"
            let cut = "http://127.0.0.1:\(proxy.port)"
            let node = try Replica.create(at: files.path("n.sqlite"), role: .node, unit: "n", hubURL: cut, schema: .sample)
            try node.write([.init(.case("c1"), FieldKey("title"), .text("我们的"))])
            var session = SyncSession(replica: node, client: try HubClient(hubURL: cut))
            session.longPush = 1
            let ended = Mutex<(any Error)??>(nil)
            let clock = ContinuousClock(), started = clock.now
            let sync = Task {
                do { _ = try await session.run(); ended.withLock { $0 = .some(nil) } } catch { ended.withLock { $0 = .some(error) } }
            }
            while ended.withLock({ $0 == nil }), clock.now - started < .seconds(20) { try await Task.sleep(for: .milliseconds(20)) }
            let outcome = try #require(ended.withLock { $0 }, "the sync had not ended 20 s after the hub was cut off")
            #expect((outcome as? SyncError)?.code == .hubUnreachable, "\(String(describing: outcome))")
            #expect(clock.now - started < .seconds(5))
            sync.cancel()
            #expect(try node.info().pullCursor == 0)
            #expect(try node.pendingCount() == 1)
            // Through the hub itself: both ways.
            let report = try await SyncSession(replica: node, client: try HubClient(hubURL: "http://127.0.0.1:\(port)")).run()
            #expect(report.pushed == 1 && report.pulled == 1)
            #expect(try node.digest() == storage.base.replica.digest())
        }
    }

    /// Before a short push the first page is asked for after it: one pull request, not a page
    /// beside the push and another after it (which costs the hub more than it saves when many
    /// nodes sync at once); from ``SyncSession/longPush`` pending changes on, the page goes beside.
    @Test func aShortPushIsFollowedByOnePullALongOneHasItsFirstPageBeside() async throws {
        var later = ReplicaState(id: ReplicaID("later"), schema: .sample)
        let more = later.write(.case("c9"), FieldKey("title"), .text("又一个"), author: "later", physicalMillis: 1_790_000_000_001)
        try await Self.withHubHoldingTheirs { storage, port, files in
            let hub = "http://127.0.0.1:\(port)"
            let node = try Replica.create(at: files.path("n.sqlite"), role: .node, unit: "n", hubURL: hub, schema: .sample)
            var session = SyncSession(replica: node, client: try HubClient(hubURL: hub))
            session.longPush = 3
            try node.write([.init(.case("c1"), FieldKey("title"), .text("一")), .init(.case("c1"), FieldKey("level"), .text("I"))])
            var report = try await session.run()
            #expect(report.pushed == 2 && report.pulled == 1)
            #expect(storage.held.pulls.withLock { $0 } == 1, "one pull, after the push")
            // The push waits until the page beside it is answered, and another node's change is
            // merged just before it: the page after the push brings that change.
            storage.held.between.withLock { $0 = ([more], ReplicaID("later")) }
            storage.held.pulls.withLock { $0 = 0 }
            try node.write((1...3).map { .init(.case("c\($0 + 2)"), FieldKey("title"), .text("长")) })
            report = try await session.run()
            #expect(report.pushed == 3 && report.pulled == 1)
            #expect(storage.held.pulls.withLock { $0 } == 2, "the first page beside the push, then one after it")
            #expect(try node.digest() == storage.base.replica.digest())
        }
    }
}
