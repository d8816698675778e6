/// The merge, written once: dedup by dot, the dot-reuse refusal, causal waiting and its limits,
/// conflict bookkeeping, and the per-field step (``FieldState/apply(_:)``'s rule: the values a
/// change's context names go, its value joins). It runs over a ``MergeStore``: the in-memory
/// reference (``MemoryMergeStore``), a replica's SQLite tables and the hub's PostgreSQL tables
/// each implement that small interface, and nothing of the merge itself.
///
/// Pure: no I/O of its own; what a store does to answer is the store's business.
public enum Merge {
    public enum Outcome: Sendable, Equatable { case applied, duplicate, pending }

    /// What one merge run keeps between the changes of a batch: the dots applied while changes
    /// wait, each of which may release some of them.
    public struct Run<Key: Hashable>: Sendable where Key: Sendable {
        public var released: [(Key, UInt64)] = []
        public init() {}
    }

    /// Merges one change with causal delivery: a change whose context names a dot not applied
    /// yet waits (``MergeStore/park(_:_:needing:logged:origin:)``) until that dot is applied.
    ///
    /// - Parameters:
    ///   - log: the change joins the store's log (everything at the hub; at a node, what it
    ///     still has to push).
    ///   - origin: the store's key of the replica that sent it, against which `limits` count.
    ///   - own: the receiving replica's id when only it may make changes under that id (the hub).
    ///   - limits: when set, a change that would wait beyond them refuses the whole batch.
    public static func apply<S: MergeStore>(_ change: Change, into store: inout S, run: inout Run<S.Key>, log: Bool,
                                            origin: S.Key, own: ReplicaID?, limits: WaitingLimits?, schema: Schema) throws -> Outcome {
        let key = try store.key(change.dot.replica)
        let counter = change.dot.counter
        if try store.isApplied(key, counter) || (store.waitingTotal > 0 && store.isWaiting(key, counter)) {
            try checkSameAsHeld(change, key, &store)
            return .duplicate
        }
        if let own, change.dot.replica == own { throw MergeRefusal.foreignOwnDot(change.dot, own: own) }
        guard let missing = try firstMissing(change, in: &store) else {
            try applyReady(change, key, into: &store, run: &run, log: log, schema: schema)
            return .applied
        }
        if let limits {
            let mine = try store.waiting(from: origin)
            if mine >= limits.perReplica || store.waitingTotal >= limits.total {
                throw MergeRefusal.tooManyWaiting(mine, from: try? store.name(origin), limits: limits)
            }
        }
        try store.park(change, key, needing: missing, logged: log, origin: origin)
        return .pending
    }

    /// Applies the waiting changes that the dots applied in this run release, and those they
    /// release in turn; each is looked up by the dot it waits for, so the cost follows what the
    /// run applied, never how much waits. Returns how many applied.
    public static func drain<S: MergeStore>(_ store: inout S, run: inout Run<S.Key>, schema: Schema) throws -> Int {
        var applied = 0
        while store.waitingTotal > 0, let (key, counter) = run.released.popLast() {
            applied += try settle(try store.release(waitingFor: key, counter), into: &store, run: &run, schema: schema)
        }
        run.released.removeAll()
        return applied
    }

    /// Applies the changes of `parked` (taken out of waiting) whose context is applied now, and
    /// parks the others again under the next dot they miss. Returns how many applied; what they
    /// release is in `run`, for ``drain(_:run:schema:)``.
    public static func settle<S: MergeStore>(_ parked: [ParkedChange<S.Key>], into store: inout S, run: inout Run<S.Key>,
                                             schema: Schema) throws -> Int {
        var applied = 0
        for p in parked {
            if let missing = try firstMissing(p.change, in: &store) {
                try store.park(p.change, p.key, needing: missing, logged: p.logged, origin: p.origin)
            } else {
                try applyReady(p.change, p.key, into: &store, run: &run, log: p.logged, schema: schema)
                applied += 1
            }
        }
        return applied
    }

    /// The first dot of the change's context not applied yet, or nil when it is ready.
    static func firstMissing<S: MergeStore>(_ change: Change, in store: inout S) throws -> Dot? {
        for dot in change.context where !(try store.isApplied(try store.key(dot.replica), dot.counter)) { return dot }
        return nil
    }

    /// Applies a change whose context has been applied (a local write, a record's history
    /// rebuilt from the hub's log, a change released from waiting).
    public static func applyReady<S: MergeStore>(_ change: Change, _ key: S.Key, into store: inout S, run: inout Run<S.Key>,
                                          log: Bool, schema: Schema) throws {
        store.markApplied(key, change.dot.counter)
        if store.waitingTotal > 0 { run.released.append((key, change.dot.counter)) }
        // A flagged field is in conflict while it holds two or more different values.
        let counted = store.countsConflicts && schema.rule(for: change.record, change.field) == .flag
        var before = 0
        var kept = Set<FieldValue>()
        if counted {
            let siblings = try store.values(change.record, change.field)
            before = Set(siblings.map(\.value)).count
            kept = Set(siblings.filter { !change.context.contains($0.dot) }.map(\.value))
            if let value = change.value { kept.insert(value) }
        }
        if !change.context.isEmpty { try store.remove(change.context, from: change.record, change.field) }
        if let value = change.value {
            try store.add(Sibling(dot: change.dot, hlc: change.hlc, value: value, author: change.author), key,
                          to: change.record, change.field)
        }
        if counted { store.adjustOpenConflicts(by: (kept.count > 1 ? 1 : 0) - (before > 1 ? 1 : 0)) }
        if log { try store.append(change, key) }
    }

    /// A dot names one change forever. A different change under a held dot means its replica
    /// reuses dots (restored from a backup, or copied): refuse it rather than drop it silently.
    static func checkSameAsHeld<S: MergeStore>(_ change: Change, _ key: S.Key, _ store: inout S) throws {
        guard let held = try store.held(key, change.dot.counter), !held.isIdentical(to: change) else { return }
        throw MergeRefusal.dotReused(change.dot)
    }
}

/// How many changes may wait for changes never received: per replica that sent them, and in all.
public struct WaitingLimits: Sendable, Hashable {
    public var perReplica: Int
    public var total: Int

    public init(perReplica: Int = 10_000, total: Int = 200_000) {
        self.perReplica = perReplica
        self.total = total
    }
}

/// A change held back until a dot its context names is applied.
public struct ParkedChange<Key: Hashable & Sendable>: Sendable {
    public var change: Change
    public var key: Key
    public var logged: Bool
    public var origin: Key

    public init(change: Change, key: Key, logged: Bool, origin: Key) {
        self.change = change
        self.key = key
        self.logged = logged
        self.origin = origin
    }
}

/// What ``Merge`` reads and writes: the applied dots, the changes that wait, the field values
/// and the log. A store that does not count conflicts as it merges (it counts them by query)
/// says so with ``countsConflicts`` and never has ``values(_:_:)`` asked.
public protocol MergeStore {
    /// The store's own name for a replica (an interned number in SQL, the id in memory).
    associatedtype Key: Hashable & Sendable
    mutating func key(_ replica: ReplicaID) throws -> Key
    func name(_ key: Key) throws -> ReplicaID
    func isApplied(_ key: Key, _ counter: UInt64) throws -> Bool
    func isWaiting(_ key: Key, _ counter: UInt64) throws -> Bool
    /// The change held under a dot, logged or waiting, for the dot-reuse check; nil when none
    /// is kept (a node does not keep the changes it pulled: the hub checked them).
    mutating func held(_ key: Key, _ counter: UInt64) throws -> Change?
    var waitingTotal: Int { get }
    func waiting(from origin: Key) throws -> Int
    mutating func park(_ change: Change, _ key: Key, needing: Dot, logged: Bool, origin: Key) throws
    /// Removes and returns the changes that wait for the dot, in dot order (every store alike,
    /// so that their logs come out in the same order).
    mutating func release(waitingFor key: Key, _ counter: UInt64) throws -> [ParkedChange<Key>]
    mutating func markApplied(_ key: Key, _ counter: UInt64)
    var countsConflicts: Bool { get }
    func values(_ record: RecordRef, _ field: FieldKey) throws -> [Sibling]
    mutating func adjustOpenConflicts(by delta: Int)
    mutating func remove(_ dots: [Dot], from record: RecordRef, _ field: FieldKey) throws
    mutating func add(_ value: Sibling, _ key: Key, to record: RecordRef, _ field: FieldKey) throws
    mutating func append(_ change: Change, _ key: Key) throws
}

extension MergeStore {
    public var countsConflicts: Bool { false }
    public func values(_ record: RecordRef, _ field: FieldKey) throws -> [Sibling] { [] }
    public mutating func adjustOpenConflicts(by delta: Int) {}
}

/// A batch the merge refuses whole: the store rolls back whatever the batch did.
public struct MergeRefusal: BilingualError, Sendable, Equatable {
    public enum Code: String, Sendable { case dotReused, foreignOwnDot, tooManyWaiting }
    public var code: Code
    public var message: String
    public var chinese: String

    static func dotReused(_ dot: Dot) -> MergeRefusal {
        MergeRefusal(code: .dotReused, message: "change \(dot) differs from the change already held under that id; nothing of this batch was stored. Either replica \(dot.replica) was restored from a backup or copied, or another program sent changes under its id. On that node, `yuqing node reissue` sends its unsynced work again under a new id, losing nothing",
                     chinese: "变更 \(dot) 与本地以同一标识保存的变更不同；本批变更均未保存。原因可能是副本 \(dot.replica) 由备份恢复或被复制，或有其他程序以它的标识发送了变更。请在该节点上运行 `yuqing node reissue`，以新的标识重新发送其未同步的工作，不会丢失任何内容")
    }

    static func foreignOwnDot(_ dot: Dot, own: ReplicaID) -> MergeRefusal {
        MergeRefusal(code: .foreignOwnDot, message: "change \(dot) is under this replica's own id \(own), which only it may use; nothing of this batch was stored",
                     chinese: "变更 \(dot) 使用的是本副本自己的标识 \(own)，该标识只能由本副本使用；本批变更均未保存")
    }

    static func tooManyWaiting(_ mine: Int, from sender: ReplicaID?, limits: WaitingLimits) -> MergeRefusal {
        let who = sender.map { "replica \($0)" } ?? "its sender"
        return MergeRefusal(code: .tooManyWaiting, message: "\(mine) changes from \(who) already wait here for changes never received (at most \(limits.perReplica) per replica, \(limits.total) in all); nothing of this batch was stored. Push the changes they build on first (sync the node that made them), or ask the hub operator",
                            chinese: "来自 \(who) 的 \(mine) 条变更已在此等待从未收到的变更（每个副本最多 \(limits.perReplica) 条，总计最多 \(limits.total) 条）；本批变更均未保存。请先推送它们所依赖的变更（同步生成这些变更的节点），或联系中心运维人员")
    }
}

/// The in-memory reference store: the whole state in dictionaries. ``ReplicaState`` merges
/// through it, and the differential tests hold the SQL stores to it.
public struct MemoryMergeStore: MergeStore, Sendable {
    public private(set) var seen = DotSet()
    public private(set) var fields: [RecordRef: [FieldKey: FieldState]] = [:]
    public private(set) var log: [Change] = []
    /// Where each dot of `log[..<indexed]` is in the log: built when a duplicate asks, not on
    /// every append (only re-sent changes need it).
    private var logIndex: [Dot: Int] = [:]
    private var indexed = 0
    /// Waiting changes by the dot they wait for.
    public private(set) var parked: [Dot: [ParkedChange<ReplicaID>]] = [:]
    public private(set) var waitingDots: [Dot: Change] = [:]

    public init() {}

    public func key(_ replica: ReplicaID) -> ReplicaID { replica }
    public func name(_ key: ReplicaID) -> ReplicaID { key }
    public func isApplied(_ key: ReplicaID, _ counter: UInt64) -> Bool { seen.contains(Dot(replica: key, counter: counter)) }
    public func isWaiting(_ key: ReplicaID, _ counter: UInt64) -> Bool { waitingDots[Dot(replica: key, counter: counter)] != nil }
    public mutating func held(_ key: ReplicaID, _ counter: UInt64) -> Change? {
        let dot = Dot(replica: key, counter: counter)
        if let waiting = waitingDots[dot] { return waiting }
        while indexed < log.count {
            logIndex[log[indexed].dot] = indexed
            indexed += 1
        }
        return logIndex[dot].map { log[$0] }
    }
    public var waitingTotal: Int { waitingDots.count }
    public func waiting(from origin: ReplicaID) -> Int { parked.values.reduce(0) { $0 + $1.count { $0.origin == origin } } }
    public mutating func park(_ change: Change, _ key: ReplicaID, needing: Dot, logged: Bool, origin: ReplicaID) {
        parked[needing, default: []].append(ParkedChange(change: change, key: key, logged: logged, origin: origin))
        waitingDots[change.dot] = change
    }
    public mutating func release(waitingFor key: ReplicaID, _ counter: UInt64) -> [ParkedChange<ReplicaID>] {
        guard let out = parked.removeValue(forKey: Dot(replica: key, counter: counter)) else { return [] }
        for p in out { waitingDots[p.change.dot] = nil }
        return out.sorted { $0.change.dot < $1.change.dot }
    }
    public mutating func markApplied(_ key: ReplicaID, _ counter: UInt64) { seen.insert(Dot(replica: key, counter: counter)) }
    public mutating func remove(_ dots: [Dot], from record: RecordRef, _ field: FieldKey) {
        fields[record, default: [:]][field, default: FieldState()].remove(dots)
    }
    public mutating func add(_ value: Sibling, _ key: ReplicaID, to record: RecordRef, _ field: FieldKey) {
        fields[record, default: [:]][field, default: FieldState()].insert(value)
    }
    public mutating func append(_ change: Change, _ key: ReplicaID) { log.append(change) }
}
