import Dispatch
import Synchronization
import YuqingCore
import YuqingReplica

/// Where the hub keeps its replica: the merged state, the log every node pulls from, and the
/// conflicts that wait for the operator.
///
/// ``SQLiteHubStorage`` is the embedded default. A PostgreSQL implementation fills the same
/// interface for deployments that outgrow one machine.
public protocol HubStorage: Sendable {
    /// The hub's own replica id (the dots of operator resolutions carry it).
    var hubID: ReplicaID { get }
    /// Merges changes pushed by `sender` durably, all or none; re-sent changes are no-ops.
    /// Changes under the hub's own id, and a batch that would leave more of the sender's changes
    /// waiting than allowed, are refused.
    /// `seals` were checked by the caller and are stored with the changes, in the same transaction.
    func ingest(_ changes: [Change], from sender: ReplicaID, seals: [Seal]) async throws -> ApplyResult
    /// The same, kept only if `check` (when there is one) passes: a store may merge while
    /// `check` runs, and stores nothing of the push when it throws, which is then the push's
    /// error (before any error of the merge). By default `check` runs first.
    func ingest(_ changes: [Change], from sender: ReplicaID, seals: [Seal],
                checkedBy check: (@Sendable () async throws -> Void)?) async throws -> ApplyResult
    /// The log after `position`, oldest first, without the changes `excluding` made itself: at
    /// most `limit` entries and about `maxBytes` (at least one entry); `more` when others follow.
    /// With the last log position, all from one consistent snapshot (an entry committed
    /// meanwhile must not fall between them, or a reader would skip it).
    func changes(after position: Int64, limit: Int, maxBytes: Int, excluding: ReplicaID?) async throws
        -> (entries: [(seq: Int64, change: Change)], head: Int64, more: Bool)
    /// What `unit` may see of the log after `position` (partial replication): see ``Replica/scopedChanges(after:unit:limit:maxBytes:excluding:)``.
    func scopedChanges(after position: Int64, unit: String, limit: Int, maxBytes: Int, excluding: ReplicaID?) async throws -> ScopedPage
    /// The changes `first...last` of `replica`, in counter order (a sealed run).
    func run(of replica: ReplicaID, from first: UInt64, to last: UInt64) async throws -> [Change]
    /// The state digest of what `unit` may see.
    func digest(unit: String) async throws -> String
    /// How many pushed changes wait for changes never received, by the replica that pushed them.
    func waiting() async throws -> [ReplicaID: Int]
    /// The state digest (`Protocol/sync.md` §9), equal on converged replicas.
    func digest() async throws -> String
    /// The last log position.
    func head() async throws -> Int64
    /// The last log position after a push whose merge gave `result`, and, when nothing between
    /// the position before the push's first entry and that head is for its sender to pull, that
    /// position (`quietAfter`, `Protocol/sync.md` §6.2): every entry there is the sender's own,
    /// and no record was granted to `unit` or revoked from it there (nil `unit`: the sender sees
    /// every record). A store that cannot tell answers nil, and the node pulls as before.
    func headAfterPush(_ result: ApplyResult, unit: String?) async throws -> (head: Int64, quietAfter: Int64?)
    func versionVector() async throws -> VersionVector
    func conflicts() async throws -> [Conflict]
    /// How many conflicts are open (cheaper than listing them).
    func openConflictCount() async throws -> Int
    /// What `GET /v1/status` reports, the version vector limited to `replica` when given.
    func statusFigures(only replica: ReplicaID?) async throws -> StatusFigures
    /// Writes the operator's value with a context that covers every value in conflict.
    func resolve(conflictID: String, value: FieldValue, resolvedBy: String) async throws -> (change: Change, pos: Int64)
    /// True when some record of `kind` holds the field key `(field, element)` (the hub keeps a
    /// file only for evidence a case names).
    func holds(kind: String, field: String, element: String) async throws -> Bool
    /// What a check of `changes` against rules reads, from one snapshot: the changes the hub does
    /// not hold yet, every record of `kinds`, and the records those changes write of `recordKind`,
    /// with only `fields`.
    func ruleInputs(_ changes: [Change], kinds: [String], recordKind: String, fields: [String]) async throws
        -> (fresh: [Change], all: [RecordView], touched: [RecordView])
    /// One record as the hub holds it (a device), or nil.
    func view(_ record: RecordRef) async throws -> RecordView?
    /// The seals that cover at least one of `changes`.
    func seals(covering changes: [Change]) async throws -> [Seal]
    /// The seal that covers `dot`, with whether the hub checked it; nil when none does.
    func seal(covering dot: Dot) async throws -> (seal: Seal, verified: Bool)?
    /// Every change of `record` in the log, in log order (`yuqing hub history`).
    func history(of record: RecordRef) async throws -> [Change]
    /// Seals the hub's own changes not sealed yet (operator resolutions, configuration written
    /// at the hub) with `sign`, which makes one seal of a run.
    func sealOwnChanges(_ sign: @escaping @Sendable ([Change]) throws -> Seal) async throws
    /// Writes under the hub's id, attributed to `author`: device records at enrolment, the
    /// organisation the operator changes.
    func writeAsHub(_ writes: [(RecordRef, FieldKey, FieldValue?)], author: String) async throws
    /// Every record of the given kinds, from one snapshot (the organisation).
    func views(kinds: [String]) async throws -> [RecordView]
    /// Removes and returns a one-time setting (an enrolment code), or nil when there is none.
    func takeSetting(_ key: String) async throws -> String?
    /// A setting of the hub (not replicated), or nil.
    func setting(_ key: String) async throws -> String?
    func setSetting(_ key: String, _ value: String) async throws
}

extension HubStorage {
    public func headAfterPush(_ result: ApplyResult, unit: String?) async throws -> (head: Int64, quietAfter: Int64?) {
        (try await head(), nil)
    }

    public func ingest(_ changes: [Change], from sender: ReplicaID, seals: [Seal],
                       checkedBy check: (@Sendable () async throws -> Void)?) async throws -> ApplyResult {
        try await check?()
        return try await ingest(changes, from: sender, seals: seals)
    }

    /// Read one figure at a time.
    public func statusFigures(only replica: ReplicaID?) async throws -> StatusFigures {
        var vector = try await versionVector()
        if let replica { vector = VersionVector([replica: vector[replica]].filter { $0.value > 0 }) }
        return StatusFigures(head: try await head(), versionVector: vector, openConflicts: try await openConflictCount(),
                             waiting: try await waiting().values.reduce(0, +))
    }

    /// Writes as the hub's operator (`operator@hub`).
    public func writeAsHub(_ writes: [(RecordRef, FieldKey, FieldValue?)]) async throws {
        try await writeAsHub(writes, author: "operator@hub")
    }
}

/// The hub's replica in one SQLite file (the default; zero set-up).
public struct SQLiteHubStorage: HubStorage {
    public let replica: Replica
    public let waitingLimits: WaitingLimits
    let commits: GroupCommit

    /// Opens the hub database at `path`, creating it on first use; `schema` declares the records
    /// and their conflict rules.
    public init(path: String, waitingLimits: WaitingLimits = WaitingLimits(), schema: Schema) throws {
        self.waitingLimits = waitingLimits
        let replica = try Replica.openOrCreate(at: path, role: .hub, unit: "hub", schema: schema)
        guard replica.role == .hub else {
            throw ReplicaError(.invalidWrite, "\(path) is a node's replica, not a hub's; give the hub its own --db file",
                               zh: "\(path) 是节点的副本，不是中心的副本；请为中心另行指定数据库文件（`--db`）")
        }
        try replica.buildScopesIfNeeded()
        self.replica = replica
        commits = GroupCommit(replica: replica)
    }

    /// The hub over a replica opened already (the operator's commands).
    public init(replica: Replica, waitingLimits: WaitingLimits = WaitingLimits()) {
        self.replica = replica
        self.waitingLimits = waitingLimits
        commits = GroupCommit(replica: replica)
    }

    public var hubID: ReplicaID { replica.id }

    /// Applied in groups with the pushes that arrive at the same time (``GroupCommit``).
    public func ingest(_ changes: [Change], from sender: ReplicaID, seals: [Seal] = []) async throws -> ApplyResult {
        try await commits.apply(Replica.Push(changes: changes, sender: sender, waitingLimits: waitingLimits, seals: seals))
    }

    /// `check` (the workflow's rules, reading the cases on a connection of its own) runs while
    /// the push is merged; the push is kept or undone once it ends (``Replica/Push/verdict``).
    /// Before, a push of 1,000 changes read its cases for the rules (18% of the hub's samples)
    /// and only then merged (34%) (docs/benchmarks.md §6).
    public func ingest(_ changes: [Change], from sender: ReplicaID, seals: [Seal],
                       checkedBy check: (@Sendable () async throws -> Void)?) async throws -> ApplyResult {
        guard let check else { return try await ingest(changes, from: sender, seals: seals) }
        let verdict = Verdict()
        Task { await verdict.settle(check) }
        return try await commits.apply(Replica.Push(changes: changes, sender: sender, waitingLimits: waitingLimits, seals: seals,
                                                    verdict: { try verdict.wait() }))
    }

    public func view(_ record: RecordRef) async throws -> RecordView? { try await replica.offload { try $0.view(record) } }

    public func seals(covering changes: [Change]) async throws -> [Seal] {
        try await replica.offload { try $0.seals(covering: changes) }
    }

    public func seal(covering dot: Dot) async throws -> (seal: Seal, verified: Bool)? {
        try await replica.offload { try $0.seal(covering: dot) }
    }

    public func history(of record: RecordRef) async throws -> [Change] { try await replica.offload { try $0.history(of: record) } }

    public func sealOwnChanges(_ sign: @escaping @Sendable ([Change]) throws -> Seal) async throws {
        try await replica.offload { r in
            while true {
                let run = try r.unsealedOwnRun(limit: 10_000)
                if run.isEmpty { return }
                try r.storeSeals([try sign(run)])
            }
        }
    }

    public func writeAsHub(_ writes: [(RecordRef, FieldKey, FieldValue?)], author: String) async throws {
        try await replica.offload { r in _ = try r.write(writes.map { Replica.Write($0.0, $0.1, $0.2) }, author: author) }
    }

    public func views(kinds: [String]) async throws -> [RecordView] { try await replica.offload { try $0.views(kinds: kinds) } }

    public func takeSetting(_ key: String) async throws -> String? { try await replica.offload { try $0.takeAttribute(key) } }

    public func setting(_ key: String) async throws -> String? { try await replica.offload { try $0.attribute(key) } }

    public func setSetting(_ key: String, _ value: String) async throws { try await replica.offload { try $0.setAttribute(key, value) } }

    public func changes(after position: Int64, limit: Int, maxBytes: Int, excluding: ReplicaID?) async throws
        -> (entries: [(seq: Int64, change: Change)], head: Int64, more: Bool)
    {
        try await replica.offload { try $0.changes(after: position, limit: limit, maxBytes: maxBytes, excluding: excluding) }
    }

    public func scopedChanges(after position: Int64, unit: String, limit: Int, maxBytes: Int, excluding: ReplicaID?) async throws -> ScopedPage {
        try await replica.offload { try $0.scopedChanges(after: position, unit: unit, limit: limit, maxBytes: maxBytes, excluding: excluding) }
    }

    public func headAfterPush(_ result: ApplyResult, unit: String?) async throws -> (head: Int64, quietAfter: Int64?) {
        try await replica.offload { try $0.headAfterPush(result, unit: unit) }
    }

    public func run(of replica: ReplicaID, from first: UInt64, to last: UInt64) async throws -> [Change] {
        try await self.replica.offload { try $0.run(of: replica, from: first, to: last) }
    }

    public func digest(unit: String) async throws -> String { try await replica.offload { try $0.digest(unit: unit) } }

    public func waiting() async throws -> [ReplicaID: Int] { try await replica.offload { try $0.waitingBySender() } }

    public func digest() async throws -> String { try await replica.offload { try $0.digest() } }

    public func head() async throws -> Int64 { try await replica.offload { try $0.head() } }

    /// From one read: a node asks for them at every sync.
    public func statusFigures(only replica: ReplicaID?) async throws -> StatusFigures {
        try await self.replica.offload { try $0.statusFigures(only: replica) }
    }

    public func versionVector() async throws -> VersionVector { try await replica.offload { try $0.versionVector() } }

    public func conflicts() async throws -> [Conflict] { try await replica.offload { try $0.conflicts() } }

    public func openConflictCount() async throws -> Int { try await replica.offload { try $0.openConflictCount() } }

    public func holds(kind: String, field: String, element: String) async throws -> Bool {
        try await replica.offload { try $0.holds(kind: kind, field: field, element: element) }
    }

    public func ruleInputs(_ changes: [Change], kinds: [String], recordKind: String, fields: [String]) async throws
        -> (fresh: [Change], all: [RecordView], touched: [RecordView])
    {
        try await replica.offload { try $0.ruleInputs(changes, kinds: kinds, recordKind: recordKind, fields: fields) }
    }

    public func resolve(conflictID: String, value: FieldValue, resolvedBy: String) async throws -> (change: Change, pos: Int64) {
        let (change, seq) = try await replica.offload { try $0.resolve(conflictID: conflictID, value: value, author: resolvedBy) }
        return (change, seq)
    }
}

/// The outcome of a check that runs as a task, waited for by the thread that commits: a thread of
/// its own (``GroupCommit``), not one of the pool the tasks and `offload` run on, so that its
/// waiting takes no thread the check needs.
final class Verdict: Sendable {
    private let outcome = Mutex<Result<Void, any Error>?>(nil)
    private let ready = DispatchSemaphore(value: 0)

    func settle(_ check: @Sendable () async throws -> Void) async {
        let result: Result<Void, any Error>
        do { try await check(); result = .success(()) } catch { result = .failure(error) }
        outcome.withLock { $0 = result }
        ready.signal()
    }

    /// Blocks until the check has ended; throws what it threw. Called once (``Replica/applyGroup(_:)``).
    func wait() throws {
        ready.wait()
        try outcome.withLock { $0! }.get()
    }
}
