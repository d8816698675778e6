import Foundation
import GRDB
import YuqingCore
import Synchronization

/// What a replica file is for.
public enum ReplicaRole: String, Sendable {
    case node, hub
}

/// Where a change came from, as the replica stores it.
public enum ChangeOrigin: Sendable {
    /// Made here, or received from somewhere other than the hub: the node still has to push it.
    case local
    /// Pulled from the hub: the hub has it already.
    case hub
}

/// The identity and sync position of a replica.
public struct ReplicaInfo: Sendable, Hashable {
    public var id: ReplicaID
    public var role: ReplicaRole
    public var unit: String
    public var hubURL: String?
    /// The hub this node syncs with, learnt at its first sync: cursors are positions in its log.
    public var hubID: ReplicaID?
    /// The last counter this replica gave one of its own changes.
    public var counter: UInt64
    /// Local log position up to which the hub has acknowledged this node's changes.
    public var pushCursor: Int64
    /// Hub log position up to which this node has applied the hub's changes.
    public var pullCursor: Int64
    /// Added to the device clock, learnt from the hub at sync.
    public var clockOffsetMillis: Int64
}

/// The result of merging a batch of changes.
public struct ApplyResult: Sendable, Hashable {
    /// Changes merged for the first time.
    public var applied: Int
    /// Changes already held (applied or waiting before): no-ops.
    public var duplicates: Int
    /// Changes waiting, after this batch, for a value their context names (normally 0).
    public var pending: Int = 0
    /// Seals of received changes checked (each page is checked whole, with proofs for the parts
    /// of runs it does not hold).
    public var sealsVerified: Int = 0
    /// What was removed of records this replica may no longer see.
    public var purge = Replica.Purge()
    /// Records that arrived with their whole history and that this replica did not hold (visible
    /// again, or for the first time); a record it held and rebuilt (a case it registered, restored
    /// to it when its unit's grant followed its own first entries) does not count.
    public var restored = 0
    /// At the hub, what a push added to the log (nil when it added nothing): the positions
    /// `first...last`, all of them this transaction's, and whether the sender made every change
    /// there (no change of another replica it released from waiting). A store that cannot say
    /// leaves it nil.
    package var logged: LoggedSpan?

    package struct LoggedSpan: Sendable, Hashable {
        package var first: Int64
        package var last: Int64
        package var onlySender: Bool
    }

    package init(applied: Int, duplicates: Int, pending: Int = 0) {
        self.applied = applied
        self.duplicates = duplicates
        self.pending = pending
    }
}

/// One replica in one SQLite file (WAL mode): records' field values, the change log, the seen
/// dots, the version vector and the sync cursors. Every local write commits together with its
/// change-log entry, and every merged batch together with the cursor that it advances.
public final class Replica: Sendable {
    public let path: String
    public let schema: Schema
    public let id: ReplicaID
    public let role: ReplicaRole
    let pool: DatabasePool
    let cache = BookkeepingCache()
    let statements = StatementsCache()
    let kindViews = KindViewsCache()
    /// The fields a hub's rule check reads, kept between pushes (``FieldCache``).
    let fieldCache = FieldCache()
    /// The hub this replica is bound to, once read (``bindHub(_:)``).
    private let boundHub = Mutex<String?>(nil)
    /// The clock offset and when it was read (``clockOffset()``).
    private let keptOffset = Mutex<(value: Int64, at: ContinuousClock.Instant)?>(nil)
    /// Set once ``close()`` closed the connections.
    let closed = Mutex(false)
    /// The device's own clock (milliseconds since 1970), before any correction learnt from the hub.
    public let deviceClock: @Sendable () -> UInt64

    /// Milliseconds since 1970 from the system clock.
    public static let systemClock: @Sendable () -> UInt64 = { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }

    private init(path: String, pool: DatabasePool, schema: Schema, deviceClock: @escaping @Sendable () -> UInt64) throws {
        self.path = path
        self.pool = pool
        self.schema = schema
        self.deviceClock = deviceClock
        let (id, role) = try pool.read { db -> (String?, String?) in
            (try Meta.get(db, "replica_id"), try Meta.get(db, "role"))
        }
        guard let id, let role, let r = ReplicaRole(rawValue: role) else {
            throw ReplicaError(.notInitialised, "\(path) is not an initialised Yuqing replica (another file, or a creation that was interrupted): move it away and run `yuqing node init` again",
                               zh: "\(path) 不是已初始化的 Yuqing 副本（是其他文件，或创建过程曾被中断）：请将其移走，再运行一次 `yuqing node init`")
        }
        self.id = ReplicaID(id)
        self.role = r
        Self.opened(self)
    }

    deinit { Self.released(self) }

    static func makePool(_ path: String) throws -> DatabasePool {
        try WALWrites.install()
        var config = Configuration()
        config.busyMode = .timeout(15)
        config.prepareDatabase { db in
            // The writer merges large batches: give it a page cache of 32 MiB (readers keep the default).
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -32768") }
        }
        let pool = try DatabasePool(path: path, configuration: config)
        // An acknowledged change must survive power loss, not just a process crash: the WAL is
        // synced at every commit. (Set on the writer once the pool has opened it in WAL mode,
        // which resets this to NORMAL.)
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try ReplicaSchema.migrator.migrate(pool)
        return pool
    }

    /// A pool that only reads: it never migrates, and on a file this user may not write it
    /// creates nothing beside it.
    static func makeReadOnlyPool(_ path: String) throws -> DatabasePool {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(15)
        let pool = try DatabasePool(path: ReplicaFile.isWritable(path) ? path : ReplicaFile.immutableURI(path), configuration: config)
        let current = try pool.read { db in try ReplicaSchema.migrator.hasBeenSuperseded(db) || ReplicaSchema.migrator.hasCompletedMigrations(db) }
        if !current {
            let readable = try pool.read { db in try ReplicaSchema.migrator.appliedIdentifiers(db).contains("v2: compact replica") }
            guard readable else {
                throw ReplicaError(.storage, "\(path) was written by an older yuqing: run a command that writes (for example `yuqing sync`) once to upgrade it",
                                   zh: "\(path) 由旧版 yuqing 写入：请运行一次会写入的命令（例如 `yuqing sync`）以完成升级")
            }
        }
        return pool
    }

    /// Creates a new replica file. Fails if one already exists there.
    ///
    /// The file is built under a temporary name and renamed into place once complete, so an
    /// interrupted creation never leaves a half-made replica at `path`.
    public static func create(at path: String, role: ReplicaRole, unit: String, hubURL: String? = nil,
                              id: ReplicaID = .random(), schema: Schema,
                              deviceClock: @escaping @Sendable () -> UInt64 = systemClock) throws -> Replica {
        if FileManager.default.fileExists(atPath: path) {
            throw ReplicaError(.alreadyInitialised, "\(path) already exists; choose another --db path, or use the existing replica",
                               zh: "\(path) 已存在；请另选 `--db` 路径，或使用现有副本")
        }
        let temporary = path + ".creating-\(ReplicaID.random())"
        do {
            let pool = try makePool(temporary)
            try pool.write { db in
                try Meta.set(db, "replica_id", id.rawValue)
                try Meta.set(db, "role", role.rawValue)
                try Meta.set(db, "unit", unit)
                if let hubURL { try Meta.set(db, "hub_url", hubURL) }
                for key in ["hlc", "push_cursor", "pull_cursor", "clock_offset", "open_conflicts"] { try Meta.set(db, key, 0) }
            }
            try pool.close()  // checkpoints the WAL into the file
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: temporary + suffix) }
            if FileManager.default.fileExists(atPath: path) {
                throw ReplicaError(.alreadyInitialised, "\(path) already exists; choose another --db path, or use the existing replica",
                               zh: "\(path) 已存在；请另选 `--db` 路径，或使用现有副本")
            }
            throw ReplicaError.storage(error, path: path)
        }
        return try open(at: path, schema: schema, deviceClock: deviceClock)
    }

    /// How a replica file is opened.
    public enum OpenMode: Sendable {
        /// For work: migrates an older layout first.
        case readWrite
        /// For reading only: never writes, migrates or creates anything, and works on a file
        /// this user may not write.
        case readOnly
    }

    /// Opens an existing replica file.
    ///
    /// Before anything is written, the file is checked to be a Yuqing replica (another
    /// program's database is left byte for byte unchanged) and to pass SQLite's integrity check.
    ///
    /// - Parameter checked: SQLite's check ran on this file already (a snapshot just checked and
    ///   installed): it is not run again.
    public static func open(at path: String, mode: OpenMode = .readWrite, schema: Schema,
                            deviceClock: @escaping @Sendable () -> UInt64 = systemClock, checked: Bool = false) throws -> Replica {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ReplicaError(.notInitialised, "no replica at \(path): create one with `yuqing node init --db \(path) --hub URL --unit NAME`",
                               zh: "\(path) 处没有副本：请用 `yuqing node init --db \(path) --hub URL --unit NAME` 创建")
        }
        do {
            try ReplicaFile.requireReplica(path)
            if !checked { try ReplicaFile.requireIntact(path) }
            let pool = mode == .readOnly ? try makeReadOnlyPool(path) : try makePool(path)
            return try Replica(path: path, pool: pool, schema: schema, deviceClock: deviceClock)
        } catch {
            throw ReplicaError.storage(error, path: path)
        }
    }

    /// Opens the replica at `path`, creating it first if there is none (the hub's store).
    public static func openOrCreate(at path: String, role: ReplicaRole, unit: String,
                                    schema: Schema) throws -> Replica {
        FileManager.default.fileExists(atPath: path)
            ? try open(at: path, schema: schema)
            : try create(at: path, role: role, unit: unit, schema: schema)
    }

    /// Runs blocking replica work on a dispatch thread rather than a Swift concurrency thread:
    /// waiting for SQLite's write lock or for the disk must not hold up the few threads every
    /// task shares (the hub's request handlers, many syncs at once).
    public func offload<T: Sendable>(_ body: @escaping @Sendable (Replica) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body(self) }) }
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch { throw ReplicaError.storage(error, path: path) }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.write(body) } catch { throw ReplicaError.storage(error, path: path) }
    }

    /// Runs `body` in a write transaction with the bookkeeping in memory; the bookkeeping is
    /// written back before the commit, and kept in memory once the commit succeeded.
    ///
    /// The copy is kept from inside the writer's serial queue once the commit returned, so the
    /// next write transaction (from any thread) starts from it; a failure drops it. The
    /// transaction is begun and committed here through statements prepared once per connection,
    /// like the merge's own: a local edit is a handful of row operations, and preparing its
    /// statements and GRDB's transaction bookkeeping cost as much as the edit.
    ///
    /// - Parameter refetchable: what the transaction writes can be fetched from the hub again
    ///   (a pull, a push's acknowledgement), so it commits without waiting for the disk. The WAL
    ///   is written in order and the next ordinary commit syncs it whole, so power lost before
    ///   then loses only such transactions at the end, never a local write after them; the next
    ///   sync fetches them again (`Protocol/sync.md` §6).
    func transact<T>(localOnly: Bool = false, refetchable: Bool = false, _ body: (Statements, inout Bookkeeping) throws -> T) throws -> T {
        do {
            return try pool.writeWithoutTransaction { db -> T in try Self.syncing(db, durably: !refetchable) {
                let s = try statements.get(db)
                try s.begin.run()
                do {
                    // Changes by another connection (another process) since this one last wrote?
                    let version = try s.dataVersion.single() ?? 0
                    var book = try cache.get(version) ?? Bookkeeping.load(db, schema: schema, own: id)
                    // At a hub whose rule check keeps fields: the merge stages what it does to
                    // them, applied to what is kept once committed (``FieldCache``).
                    let watch = role == .hub ? fieldCache.watch : nil
                    let logBefore = watch != nil ? try s.lastSeq.single() ?? 0 : 0
                    book.fieldWatch = watch
                    book.fieldOps = []
                    let result = try body(s, &book)
                    if !book.scopeTouched.isEmpty {
                        if role == .hub { try updateScopes(db, book.scopeTouched) }
                        book.scopeTouched.removeAll()
                    }
                    let logAfter = watch != nil ? try s.lastSeq.single() ?? 0 : 0
                    let ops = book.fieldOps
                    book.fieldWatch = nil
                    book.fieldOps = []
                    try book.flush(db, localOnly: localOnly, own: id)
                    try s.commit.run()
                    if watch != nil { fieldCache.commit(before: logBefore, after: logAfter, watch: watch, ops: ops) }
                    cache.set(version, book)
                    return result
                } catch {
                    cache.invalidate()
                    if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
                    throw error
                }
            } }
        } catch {
            throw ReplicaError.storage(error, path: path)
        }
    }

    /// Runs `body` on the writer, its commits synced to disk (the default) or, when not
    /// `durably`, left to the next durable commit (``transact(localOnly:refetchable:_:)``).
    static func syncing<T>(_ db: Database, durably: Bool, _ body: () throws -> T) throws -> T {
        guard !durably else { return try body() }
        try db.execute(sql: "PRAGMA synchronous = NORMAL")
        defer { try? db.execute(sql: "PRAGMA synchronous = FULL") }
        return try body()
    }

    public func info() throws -> ReplicaInfo {
        try read { db in
            ReplicaInfo(
                id: id, role: role, unit: try Meta.get(db, "unit") ?? "",
                hubURL: try Meta.get(db, "hub_url"),
                hubID: (try Meta.get(db, "hub_id") as String?).map { ReplicaID($0) },
                counter: try counter(db, of: id),
                pushCursor: try Meta.get(db, "push_cursor") ?? 0,
                pullCursor: try Meta.get(db, "pull_cursor") ?? 0,
                clockOffsetMillis: try Meta.get(db, "clock_offset") ?? 0)
        }
    }

    /// The highest counter of `replica` this replica holds (0: none): from the stored seen
    /// ranges, and for its own id from its changes in the log beyond them (``OwnRange``).
    func counter(_ db: Database, of replica: ReplicaID) throws -> UInt64 {
        guard let rid = try ReplicaNames.rid(db, replica) else { return 0 }
        let stored = try OwnRange.storedMax(db, rid)
        guard replica == id else { return stored }
        return try OwnRange.unstored(db, rid: rid, storedMax: stored)?.upperBound ?? stored
    }

    /// The correction added to the device clock, learnt from the hub (milliseconds).
    ///
    /// Read for every request a node signs: kept for a second after it is read or set, so a
    /// correction another process makes is seen within a second.
    public func clockOffset() throws -> Int64 {
        let now = ContinuousClock.now
        if let kept = keptOffset.withLock({ k in k.flatMap { now - $0.at < .seconds(1) ? $0.value : nil } }) { return kept }
        let offset: Int64 = try read { db in try Meta.get(db, "clock_offset") ?? 0 }
        keptOffset.withLock { $0 = (offset, now) }
        return offset
    }

    /// Records how far the device clock is from the hub's, so later timestamps are corrected.
    ///
    /// A clock that ran ahead has also pushed this replica's hybrid clock ahead; it is brought
    /// back to the corrected time, so the device's later writes do not keep winning
    /// last-writer-wins ties. (Supersession never depends on timestamps, so nothing else moves.)
    public func setClockOffset(_ millis: Int64) throws {
        defer { keptOffset.withLock { $0 = nil } }
        try transact { s, book in
            try Meta.set(s.db, "clock_offset", millis)
            let corrected = UInt64(max(0, Int64(deviceClock()) + millis))
            let bound = HLC(wallMillis: corrected + HybridLogicalClock.defaultMaxForwardDrift)
            if HLC(packed: book.hlc) > bound {
                book.hlc = bound.packed
                book.clockMovedBack = true
            }
        }
    }

    /// Binds this node to the hub `id` at its first sync; afterwards, checks that it is the same hub.
    /// Returns false when the node already syncs with another hub.
    public func bindHub(_ id: ReplicaID) throws -> Bool {
        // A replica bound to a hub stays bound to it: the binding, once read, is kept.
        if let known = boundHub.withLock({ $0 }) { return known == id.rawValue }
        if let known: String = try read({ db in try Meta.get(db, "hub_id") }) {
            boundHub.withLock { $0 = known }
            return known == id.rawValue
        }
        return try write { db in
            if let known: String = try Meta.get(db, "hub_id") { return known == id.rawValue }
            try Meta.set(db, "hub_id", id.rawValue)
            return true
        }
    }

    // MARK: Writing

    /// One field write a user asks for.
    public struct Write: Sendable {
        public var record: RecordRef
        public var field: FieldKey
        public var value: FieldValue?
        /// Element names are stored in Unicode NFC, so composed and decomposed spellings of one
        /// name (`Café`) are one element, whichever keyboard typed them.
        public init(_ record: RecordRef, _ field: FieldKey, _ value: FieldValue?) {
            self.record = record
            self.field = FieldKey(field.name, element: field.element.precomposedStringWithCanonicalMapping)
            self.value = value
        }
    }

    /// Validates and makes local writes, all in one transaction with their change-log entries.
    @discardableResult
    public func write(_ writes: [Write], author: String? = nil) throws -> [Change] {
        for w in writes {
            do { try schema.validate(w.record, w.field, w.value) } catch {
                throw ReplicaError(.invalidWrite, error.message, zh: ReplicaError.chineseMessage(of: error))
            }
        }
        return try transact(localOnly: true) { s, book in
            try self.writeLocked(s, &book, writes, author: author, expectedContext: nil).map(\.change)
        }
    }

    func writeLocked(_ s: Statements, _ book: inout Bookkeeping, _ writes: [Write], author: String?,
                     expectedContext: [Dot]?) throws -> [(change: Change, seq: Int64)] {
        let db = s.db
        // Without an author given: the node's user at its unit (`user@unit`) when it has one, else the unit.
        let unit: String
        if let author {
            unit = author
        } else {
            let u: String = try Meta.get(db, "unit") ?? ""
            unit = try (Meta.get(db, "app.user") as String?).map { "\($0)@\(u)" } ?? u
        }
        let ownRid = try book.rid(id, db)
        // A dot is never given twice: not even one that a change received under this replica's
        // id holds while it waits (a file from before such changes were refused).
        var counter = book.maxCounter(id)
        if book.waiting > 0 { counter = max(counter, try Store.maxWaitingCounter(db, ownRid)) }
        var clock = HybridLogicalClock(latest: HLC(packed: book.hlc))
        let offset: Int64 = try Meta.get(db, "clock_offset") ?? 0
        let physical = UInt64(max(0, Int64(deviceClock()) + offset))
        var made: [(change: Change, seq: Int64)] = []
        var store = SQLiteMergeStore(s, &book, schema: schema)
        defer { store.finish(&book) }
        var run = Merge.Run<Int64>()
        for w in writes {
            let context = try Store.siblings(s, store.book, w.record, w.field).map(\.dot)
            if expectedContext == nil, !context.isEmpty, schema.rule(for: w.record, w.field) == .immutable {
                throw ReplicaError(.invalidWrite, "\(w.field) of \(w.record) is immutable once written",
                                   zh: "\(w.record) 的 \(w.field) 一经写入便不可更改")
            }
            if let expectedContext, Set(context) != Set(expectedContext) {
                throw ReplicaError(.notFound, "the values of \(w.record) \(w.field) changed meanwhile; list the conflicts again",
                                   zh: "\(w.record) \(w.field) 的值在此期间已有变化；请重新列出冲突")
            }
            counter += 1
            let change = Change(dot: Dot(replica: id, counter: counter), hlc: clock.tick(physicalMillis: physical),
                                record: w.record, field: w.field, value: w.value, context: context, author: unit)
            try Merge.applyReady(change, ownRid, into: &store, run: &run, log: true, schema: schema)
            made.append((change, store.lastSeq))
        }
        store.book.hlc = clock.latest.packed
        _ = try Merge.drain(&store, run: &run, schema: schema)
        return made
    }

    // MARK: Merging

    /// Merges changes received from elsewhere in one transaction; changes already seen are no-ops.
    /// With `pullCursor`, the node's pull position advances in the same transaction.
    ///
    /// - Parameters:
    ///   - sender: the replica that sent the batch; what waits is counted against it.
    ///   - waitingLimits: when set (at the hub), a batch that would leave more changes waiting
    ///     than these limits allow is refused whole, with nothing stored.
    @discardableResult
    ///   - seals: the seals that came with the changes (`Protocol/security.md` §3): checked with
    ///     `verifier` inside the transaction when one is given (a node), else stored as checked
    ///     already (the hub checks a push before it applies it).
    ///   - restored: records whose whole history `changes` hold (in log order), which become
    ///     visible to this node: rebuilt from it, whatever this node held or had seen of them.
    ///   - purged: records this node may no longer see, removed in the same transaction (with
    ///     the evidence digests `blobField` names reported in the result).
    public func apply(_ changes: [Change], origin: ChangeOrigin, pullCursor: Int64? = nil, sender: ReplicaID? = nil,
                      waitingLimits: WaitingLimits? = nil, seals: [Seal] = [], proofs: [SealProof] = [],
                      verifier: (any SealVerifier)? = nil, keys: KeyLocation? = nil, restored: Set<RecordRef> = [],
                      purged: [RecordRef] = [], blobField: (kind: String, field: String)? = nil) throws -> ApplyResult {
        // A plain pull at a node can be pulled again; a purge or a restore is kept durable.
        let refetchable = origin == .hub && pullCursor != nil && role != .hub && purged.isEmpty && restored.isEmpty
        return try transact(refetchable: refetchable) { s, book in
            try merge(s, &book, changes, origin: origin, pullCursor: pullCursor, sender: sender, waitingLimits: waitingLimits, seals: seals,
                      proofs: proofs, verifier: verifier, keys: keys, restored: restored, purged: purged, blobField: blobField)
        }
    }

    /// One push the hub applies in a group (``applyGroup(_:)``).
    public struct Push: Sendable {
        public var changes: [Change]
        public var sender: ReplicaID
        public var waitingLimits: WaitingLimits?
        public var seals: [Seal]
        /// A check of the push that runs elsewhere meanwhile (the hub's rules, read on another
        /// connection while this one merges): called once the push is merged, before it is kept;
        /// when it throws, the push is undone and fails with that error, which comes before any
        /// error of the merge.
        public var verdict: (@Sendable () throws -> Void)?

        public init(changes: [Change], sender: ReplicaID, waitingLimits: WaitingLimits?, seals: [Seal],
                    verdict: (@Sendable () throws -> Void)? = nil) {
            self.changes = changes
            self.sender = sender
            self.waitingLimits = waitingLimits
            self.seals = seals
            self.verdict = verdict
        }
    }

    /// Applies several pushes (each as ``apply(_:origin:pullCursor:sender:waitingLimits:seals:proofs:verifier:keys:restored:purged:blobField:)``
    /// with `origin: .local`) in one transaction, so that one commit, and one sync of the disk,
    /// acknowledges them all. A push the merge refuses is undone alone and gets its error; the
    /// others are applied. A push whose ``Push/verdict`` throws is undone alone too, with the
    /// verdict's error. When the commit fails, every push fails with its error and nothing is
    /// stored.
    ///
    /// The group is first merged without a savepoint per push: a savepoint makes SQLite copy
    /// every page a push changes into a statement journal before changing it (for a push of
    /// 1,000 changes to scattered cases about 1,700 pages, a sixth of the group's time,
    /// docs/benchmarks.md §6), only so that a refused push can be undone alone. Refusals are
    /// rare, so only when one comes is that transaction rolled back and the group merged again
    /// with a savepoint per push; the verdicts asked already are not asked again.
    public func applyGroup(_ pushes: [Push]) -> [Result<ApplyResult, any Error>] {
        var asked: [Int: Result<Void, any Error>] = [:]
        func verdict(_ i: Int) -> Result<Void, any Error> {
            if let known = asked[i] { return known }
            let outcome = Result<Void, any Error> { try pushes[i].verdict?() ?? () }
            asked[i] = outcome
            return outcome
        }
        do {
            return try transact { s, book in
                try pushes.indices.map { i -> Result<ApplyResult, any Error> in
                    let push = pushes[i]
                    let merged: ApplyResult
                    do {
                        merged = try merge(s, &book, push.changes, origin: .local, sender: push.sender, waitingLimits: push.waitingLimits, seals: push.seals)
                        try updateScopes(s.db, &book)
                    } catch {
                        // An error that ended the transaction (I/O, memory) fails the whole group;
                        // any other is the push's own, found again with its savepoint.
                        guard s.db.isInsideTransaction else { throw error }
                        throw GroupRefusal()
                    }
                    guard case .success = verdict(i) else { throw GroupRefusal() }
                    return .success(merged)
                }
            }
        } catch let error as ReplicaError where error.cause is GroupRefusal {
            return applyGroupPushByPush(pushes, verdict: verdict)
        } catch {
            return pushes.map { _ in .failure(error) }
        }
    }

    /// A push of the group was refused: the group's transaction is rolled back (``applyGroup(_:)``).
    struct GroupRefusal: Error {}

    /// Brings the grants of the records whose visibility the merged push changed up to date, as
    /// the commit would: push by push, so a group grants what its pushes applied one at a time
    /// would, and while the push's check may still run.
    private func updateScopes(_ db: Database, _ book: inout Bookkeeping) throws {
        guard role == .hub, !book.scopeTouched.isEmpty else { return }
        try updateScopes(db, book.scopeTouched)
        book.scopeTouched.removeAll()
    }

    /// ``applyGroup(_:)`` with a savepoint per push, each undone alone when refused.
    private func applyGroupPushByPush(_ pushes: [Push], verdict: (Int) -> Result<Void, any Error>) -> [Result<ApplyResult, any Error>] {
        do {
            return try transact { s, book in
                let savepoint = try FastStatement(s.db, "SAVEPOINT push"), release = try FastStatement(s.db, "RELEASE push")
                let rollback = try FastStatement(s.db, "ROLLBACK TO push")
                return try pushes.indices.map { i -> Result<ApplyResult, any Error> in
                    let push = pushes[i]
                    try savepoint.run()
                    let before = book
                    var result: Result<ApplyResult, any Error>
                    do {
                        result = .success(try merge(s, &book, push.changes, origin: .local, sender: push.sender, waitingLimits: push.waitingLimits, seals: push.seals))
                        try updateScopes(s.db, &book)
                    } catch {
                        // An error that ended the transaction (I/O, memory) leaves no savepoint:
                        // it fails the whole group, with its own message.
                        guard s.db.isInsideTransaction else { throw error }
                        result = .failure(error is ReplicaError ? error : ReplicaError.storage(error, path: path))
                    }
                    // The check that ran meanwhile: its refusal undoes the push, and is the
                    // push's error even when the merge refused it too.
                    if case .failure(let error) = verdict(i) { result = .failure(error) }
                    if case .success = result {
                        try release.run()
                        return result
                    }
                    try rollback.run()
                    try release.run()
                    book = before
                    return result
                }
            }
        } catch {
            return pushes.map { _ in .failure(error) }
        }
    }

    /// The merge of `changes` into the open transaction (``apply(_:origin:pullCursor:sender:waitingLimits:seals:proofs:verifier:keys:restored:purged:blobField:)``).
    private func merge(_ s: Statements, _ book: inout Bookkeeping, _ changes: [Change], origin: ChangeOrigin, pullCursor: Int64? = nil,
                       sender: ReplicaID? = nil, waitingLimits: WaitingLimits? = nil, seals: [Seal] = [], proofs: [SealProof] = [],
                       verifier: (any SealVerifier)? = nil, keys: KeyLocation? = nil, restored: Set<RecordRef> = [],
                       purged: [RecordRef] = [], blobField: (kind: String, field: String)? = nil) throws -> ApplyResult {
        let db = s.db
        var result = ApplyResult(applied: 0, duplicates: 0)
        var clock = HybridLogicalClock(latest: HLC(packed: book.hlc))
        let offset: Int64 = try Meta.get(db, "clock_offset") ?? 0
        let physical = UInt64(max(0, Int64(deviceClock()) + offset))
        let from = try sender.map { try book.rid($0, db) } ?? 0
        // Only this replica makes changes under its id; the hub is told so by anyone else.
        let own = role == .hub ? id : nil
        if !restored.isEmpty {
            let history = changes.filter { restored.contains($0.record) }
            result.restored = try Self.rebuild(s, &book, history, schema: schema)
            for c in history { clock.observe(c.hlc, physicalMillis: physical) }
            result.applied += history.count
        }
        var store = SQLiteMergeStore(s, &book, schema: schema)
        var run = Merge.Run<Int64>()
        let log = origin == .local
        do {
            for change in changes where restored.isEmpty || !restored.contains(change.record) {
                switch try Merge.apply(change, into: &store, run: &run, log: log, origin: from, own: own,
                                       limits: waitingLimits, schema: schema) {
                case .duplicate:
                    result.duplicates += 1
                case .applied:
                    result.applied += 1
                    clock.observe(change.hlc, physicalMillis: physical)
                case .pending:
                    clock.observe(change.hlc, physicalMillis: physical)
                }
            }
            if store.waitingTotal > 0 {
                // Rows from an older layout carry no dot to wait for: give them one, once.
                result.applied += try Merge.settle(try store.take(where: "need_rid IS NULL", []), into: &store, run: &run, schema: schema)
                result.applied += try Merge.drain(&store, run: &run, schema: schema)
                result.pending = store.waitingTotal
            }
        } catch let refusal as MergeRefusal {
            throw ReplicaError(refusal)
        }
        if let first = store.firstSeq {
            result.logged = ApplyResult.LoggedSpan(first: first, last: store.lastSeq, onlySender: store.loggedByOne && store.loggedBy == from)
        }
        store.finish(&book)
        book.hlc = clock.latest.packed
        if let verifier, let keys {
            result.sealsVerified = try Self.checkSeals(db, changes, seals: seals, proofs: proofs, verifier: verifier, keys: keys)
        } else if !seals.isEmpty {
            try Self.insertSeals(db, seals, verified: true)
        }
        if !purged.isEmpty { result.purge = try Self.purge(s, &book, purged, blobField: blobField) }
        if let pullCursor {
            let current: Int64 = try Meta.get(db, "pull_cursor") ?? 0
            try Meta.set(db, "pull_cursor", max(current, pullCursor))
        }
        return result
    }

    // MARK: Sync bookkeeping

    /// Changes the hub has not acknowledged yet, oldest first: at most `limit` of them, and no
    /// more than about `maxBytes` (``YuqingCore/ChangeLimits/estimatedBytes(_:)``), but at least one.
    public func pendingPush(limit: Int, maxBytes: Int = Int.max) throws -> [(seq: Int64, change: Change)] {
        try read { db in
            let cursor: Int64 = try Meta.get(db, "push_cursor") ?? 0
            let q = try FastStatement(db, "SELECT \(Store.logColumns) FROM log WHERE seq > ? ORDER BY seq LIMIT ?")
            defer { q.reset() }
            q.bind(1, cursor)
            q.bind(2, Int64(limit))
            let names = try ReplicaNames.load(db)
            var out: [(seq: Int64, change: Change)] = []
            var bytes = 0
            while try q.step() {
                let entry = try Coding.change(q, names: names)
                bytes += ChangeLimits.estimatedBytes(entry.change)
                if !out.isEmpty, bytes > maxBytes { break }
                out.append(entry)
            }
            return out
        }
    }

    /// How many changes the hub has not acknowledged, counted up to `limit` when given (the count
    /// stops there, so asking whether a push is long costs no more after weeks offline).
    public func pendingCount(atMost limit: Int = .max) throws -> Int {
        try read { db in
            let cursor: Int64 = try Meta.get(db, "push_cursor") ?? 0
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT 1 FROM log WHERE seq > ? LIMIT ?)", arguments: [cursor, limit]) ?? 0
        }
    }

    /// Records that the hub acknowledged every change up to local position `seq`.
    ///
    /// Committed without waiting for the disk: lost to a power cut, it only makes the next sync
    /// push those changes again, which the hub counts as duplicates.
    ///
    /// - Parameter seals: the node's own seals of that push, kept in the same transaction (its
    ///   history shows what it signed). Lost with the cursor, they are made again when the
    ///   changes are pushed again.
    public func markPushed(upTo seq: Int64, seals: [Seal] = []) throws {
        do {
            try pool.writeWithoutTransaction { db in
                try Self.syncing(db, durably: false) {
                    try db.inTransaction {
                        if !seals.isEmpty { try Self.insertSeals(db, seals, verified: true) }
                        let current: Int64 = try Meta.get(db, "push_cursor") ?? 0
                        // Never past the log's end: a push acknowledged after the log was emptied
                        // (a revoked device's purge) must not cover what is written after it.
                        let end = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM log") ?? 0
                        try Meta.set(db, "push_cursor", max(current, min(seq, end)))
                        return .commit
                    }
                }
            }
        } catch {
            throw ReplicaError.storage(error, path: path)
        }
    }

    /// Moves the pull cursor to `position` when it stands at `from` or beyond (and below
    /// `position`): the hub said nothing between is for this node (`Protocol/sync.md` §6.2).
    /// Committed without waiting for the disk: a cursor lost with power is pulled again.
    public func skipPull(from: Int64, to position: Int64) throws {
        do {
            try pool.writeWithoutTransaction { db in
                try Self.syncing(db, durably: false) {
                    try db.execute(sql: "UPDATE meta SET value = ?1 WHERE key = 'pull_cursor' AND value >= ?2 AND value < ?1",
                                   arguments: [position, from])
                }
            }
        } catch {
            throw ReplicaError.storage(error, path: path)
        }
    }

    /// The log after `position`, in order, leaving out changes made by `excluding` (who has them),
    /// and the log's last position, read from one snapshot: no entry can slip in between.
    ///
    /// At most `limit` entries and about `maxBytes` (at least one entry, however large); `more`
    /// tells whether entries follow the last one returned.
    public func changes(after position: Int64, limit: Int, maxBytes: Int = Int.max, excluding: ReplicaID? = nil)
        throws -> (entries: [(seq: Int64, change: Change)], head: Int64, more: Bool)
    {
        try read { db in
            let names = try ReplicaNames.load(db)
            let skip = excluding.flatMap { e in names.byRid.first { $0.value == e }?.key } ?? -1
            let q = try FastStatement(db, "SELECT \(Store.logColumns) FROM log WHERE seq > ? AND rid <> ? ORDER BY seq LIMIT ?")
            defer { q.reset() }
            q.bind(1, position)
            q.bind(2, skip)
            q.bind(3, Int64(limit) + 1)
            let (entries, more) = try Self.page(q, names: names, limit: limit, maxBytes: maxBytes)
            let head = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM log") ?? 0
            return (entries, head, more)
        }
    }

    /// Reads log rows from `q` (asked for `limit + 1`): at most `limit` entries and about
    /// `maxBytes` (at least one entry, however large), and whether more follow.
    static func page(_ q: FastStatement, names: ReplicaNames, limit: Int, maxBytes: Int) throws
        -> (entries: [(seq: Int64, change: Change)], more: Bool)
    {
        var entries: [(seq: Int64, change: Change)] = []
        entries.reserveCapacity(min(limit, 10_000))
        var bytes = 0
        while try q.step() {
            let entry = try Coding.change(q, names: names)
            bytes += ChangeLimits.estimatedBytes(entry.change)
            if entries.count == limit || (!entries.isEmpty && bytes > maxBytes) { return (entries, true) }
            entries.append(entry)
        }
        return (entries, false)
    }

    /// The figures of a hub's status from one read: the log head, the version vector (only
    /// `replica`'s entry when given), the open conflicts and the changes that wait.
    public func statusFigures(only replica: ReplicaID?) throws -> StatusFigures {
        var (figures, counted) = try read { db -> (StatusFigures, Bool) in
            let head = try Self.head(db)
            var vector = VersionVector()
            if let replica {
                let counter = try counter(db, of: replica)
                if counter > 0 { vector.add(Dot(replica: replica, counter: counter)) }
            } else {
                vector = try versionVector(db)
            }
            let open: Int? = try Meta.get(db, "open_conflicts")
            let waiting = try FastStatement(db, "SELECT count(*) FROM waiting_change").single() ?? 0
            return (StatusFigures(head: head, versionVector: vector, openConflicts: open ?? 0, waiting: Int(waiting)), open != nil)
        }
        // A replica that has not counted its open conflicts yet counts them now.
        if !counted { figures.openConflicts = try openConflictCount() }
        return figures
    }

    /// The last position in the log (0 when empty).
    public func head() throws -> Int64 {
        try read { db in try Self.head(db) }
    }

    static func head(_ db: Database) throws -> Int64 {
        try FastStatement(db, "SELECT coalesce(max(seq), 0) FROM log").single() ?? 0
    }

    /// How many changes the log holds: on the hub every change; on a node, the changes made or
    /// received here other than from the hub.
    public func logCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM log") ?? 0 }
    }

    /// How many changes have been applied here, from anywhere.
    public func appliedCount() throws -> Int {
        try read { db in
            let stored = try Int.fetchOne(db, sql: "SELECT coalesce(sum(hi - lo + 1), 0) FROM seen_range") ?? 0
            guard let rid = try ReplicaNames.rid(db, id) else { return stored }
            return stored + (try OwnRange.unstored(db, rid: rid, storedMax: OwnRange.storedMax(db, rid))?.count ?? 0)
        }
    }

    /// How many changes wait for a value they supersede (normally 0).
    public func waitingCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM waiting_change") ?? 0 }
    }

    /// How many changes wait, by the replica that sent them (the hub's view for its operator).
    public func waitingBySender() throws -> [ReplicaID: Int] {
        try read { db in
            var out: [ReplicaID: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT coalesce(n.name, '') AS name, count(*) AS waiting FROM waiting_change w
                LEFT JOIN replica_name n ON n.rid = w.origin GROUP BY w.origin
                """) {
                out[ReplicaID(row["name"] as String), default: 0] += row["waiting"] as Int
            }
            return out
        }
    }

    public func versionVector() throws -> VersionVector {
        try read { db in try versionVector(db) }
    }

    func versionVector(_ db: Database) throws -> VersionVector {
        var vv = VersionVector()
        // Prepared once, read through the C API.
        let q = try FastStatement(db, "SELECT n.name, max(s.hi) FROM seen_range s JOIN replica_name n ON n.rid = s.rid GROUP BY s.rid")
        defer { q.reset() }
        while try q.step() { vv.add(Dot(replica: ReplicaID(q.text(0)), counter: UInt64(q.int64(1)))) }
        // Its own changes beyond its stored range are counted from the log.
        let own = try counter(db, of: id)
        if own > 0 { vv.add(Dot(replica: id, counter: own)) }
        return vv
    }
}

/// What a hub's `GET /v1/status` reports of its state.
public struct StatusFigures: Sendable {
    public var head: Int64
    public var versionVector: VersionVector
    public var openConflicts: Int
    public var waiting: Int

    public init(head: Int64, versionVector: VersionVector, openConflicts: Int, waiting: Int) {
        self.head = head
        self.versionVector = versionVector
        self.openConflicts = openConflicts
        self.waiting = waiting
    }
}

/// The bookkeeping of the last committed write transaction, with the `data_version` it belongs to.
final class BookkeepingCache: @unchecked Sendable {
    private let lock = NSLock()
    private var version: Int64?
    private var book: Bookkeeping?

    func get(_ version: Int64) -> Bookkeeping? {
        lock.withLock { self.version == version ? book : nil }
    }

    func set(_ version: Int64, _ book: Bookkeeping) {
        lock.withLock {
            self.version = version
            self.book = book
        }
    }

    func invalidate() {
        lock.withLock {
            version = nil
            book = nil
        }
    }
}

/// The records of some kinds as of a log position (``Replica/views(_:kinds:names:)``): the newest
/// read is kept, so a slower reader of an older snapshot does not replace it.
final class KindViewsCache: @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [[String]: (version: Int64, views: [RecordView])] = [:]
    private var hasIndex = false

    /// Whether the partial index of the kinds everyone sees exists (the index of a name is never
    /// dropped while the hub runs, so once found it is not looked up again): without it the log
    /// position would cost a scan.
    func indexed(_ db: Database, _ name: String) throws -> Bool {
        if lock.withLock({ hasIndex }) { return true }
        let found = try Bool.fetchOne(db, sql: "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [name]) ?? false
        if found { lock.withLock { hasIndex = true } }
        return found
    }

    /// The log position the kept views of `kinds` are of.
    func version(of kinds: [String]) -> Int64? { lock.withLock { kept[kinds]?.version } }

    func get(_ kinds: [String], _ version: Int64) -> [RecordView]? {
        lock.withLock { kept[kinds].flatMap { $0.version == version ? $0.views : nil } }
    }

    func set(_ kinds: [String], _ version: Int64, _ views: [RecordView]) {
        lock.withLock {
            if let old = kept[kinds], old.version > version { return }
            kept[kinds] = (version, views)
        }
    }
}

/// The writer connection's prepared statements, made at its first write transaction and used
/// only from inside the writer's serial queue.
final class StatementsCache: @unchecked Sendable {
    private var statements: Statements?

    func get(_ db: Database) throws -> Statements {
        if let statements, statements.db === db { return statements }
        let made = try Statements(db)
        statements = made
        return made
    }

    /// Finalizes the statements (SQLite closes no connection that still has some).
    func drop() { statements = nil }
}
