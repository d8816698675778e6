import Foundation
import Logging
import PostgresNIO
import Synchronization
import YuqingCore

/// The hub's replica in a PostgreSQL database: the merged state, the log every node pulls from,
/// and the changes that wait. The merge is ``YuqingCore/Merge``, over ``PostgresMergeStore``;
/// each batch is one transaction.
///
/// Log positions commit in order: a batch takes the log lock (`pg_advisory_xact_lock`) before it
/// merges and holds it to its commit, so a position becomes visible only after every smaller
/// one has, and a puller reading `seq > cursor` never steps over a change committed late
/// (`Protocol/postgres.md`).
public final class PostgresHubStore: Sendable {
    public let hubID: ReplicaID
    public let schema: Schema
    /// How many pushed changes may wait for changes never received.
    public let waitingLimits: WaitingLimits
    let client: PostgresClient
    let logger: Logger
    let runner: Task<Void, Never>
    /// The records of some kinds (the organisation, which every push's rule check reads whole),
    /// as of the last log position among them: read again only when one of them changed.
    let kindViews = Mutex<[[String]: (version: Int64, views: [RecordView])]>([:])
    /// The open conflicts counted at a log head (``openConflictCount()``).
    let conflictCount = Mutex<(head: Int64, count: Int)?>(nil)
    /// The key of the advisory lock that orders the log's commits.
    static let logLock: Int64 = 0x5971_6E67

    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`), runs the
    /// migrations not run yet, and takes the hub id stored there (made on first use).
    public static func connect(url: String, schema: Schema, waitingLimits: WaitingLimits = WaitingLimits(), logger: Logger) async throws -> PostgresHubStore {
        let config = try PostgresURL.configuration(url)
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        let runner = Task { await client.run() }
        // Let the client's run loop start before the first query (else PostgresNIO warns).
        for _ in 0..<20 { await Task.yield() }
        do {
            try await PostgresMigrations.run(client, logger: logger)
            let id = try await Self.hubID(client, logger: logger)
            let store = PostgresHubStore(hubID: id, schema: schema, waitingLimits: waitingLimits, client: client, logger: logger, runner: runner)
            try await store.buildScopesIfNeeded()
            return store
        } catch {
            runner.cancel()
            throw PostgresHubError("cannot use the PostgreSQL database at \(PostgresURL.redacted(url)): \(PostgresHubError.describe(error)). Check that the server runs and the URL is right (postgres://USER@HOST:PORT/DATABASE)",
                                   zh: "无法使用位于 \(PostgresURL.redacted(url)) 的 PostgreSQL 数据库：\(PostgresHubError.describe(error))。请检查服务器是否运行、URL 是否正确（postgres://用户@主机:端口/数据库）", cause: error)
        }
    }

    init(hubID: ReplicaID, schema: Schema, waitingLimits: WaitingLimits, client: PostgresClient, logger: Logger, runner: Task<Void, Never>) {
        self.hubID = hubID
        self.schema = schema
        self.waitingLimits = waitingLimits
        self.client = client
        self.logger = logger
        self.runner = runner
    }

    /// Closes the connections.
    public func close() { runner.cancel() }

    static func hubID(_ client: PostgresClient, logger: Logger) async throws -> ReplicaID {
        let fresh = ReplicaID.random().rawValue
        try await client.query("INSERT INTO hub_meta (key, value) VALUES ('hub_id', \(fresh)) ON CONFLICT (key) DO NOTHING", logger: logger)
        for try await id in try await client.query("SELECT value FROM hub_meta WHERE key = 'hub_id'", logger: logger).decode(String.self) {
            return ReplicaID(id)
        }
        throw PostgresHubError("the hub's id is missing from hub_meta", zh: "hub_meta 中缺少中心的标识")
    }

    // MARK: Merging

    /// Merges changes pushed by `sender` durably, all or none; re-sent changes are no-ops.
    /// `seals` (checked by the caller) are stored in the same transaction.
    public func ingest(_ changes: [Change], from sender: ReplicaID, seals: [Seal] = [], limits: WaitingLimits? = WaitingLimits()) async throws
        -> (applied: Int, duplicates: Int, pending: Int)
    {
        let own = hubID
        return try await transaction { db in
            try await db.query("SELECT pg_advisory_xact_lock(\(Self.logLock))", logger: logger)
            let merged = try await merge(db, changes, sender: sender, own: own, limits: limits)
            try await Self.storeSeals(seals, db, logger: logger)
            return (merged.applied, merged.duplicates, merged.pending)
        }
    }

    /// What one merge did: counts, and the changes logged with their positions.
    struct Merged {
        var applied = 0, duplicates = 0, pending = 0
        var logged: [(change: Change, seq: Int64)] = []
    }

    /// Merges `changes` inside a transaction that holds the log lock: reads what the batch names,
    /// merges in memory, writes one statement per table, then brings the grants of partial
    /// replication up to date. `own`: refuse changes under this id (a push; nil for the hub's
    /// own writes).
    func merge(_ db: PostgresConnection, _ changes: [Change], sender: ReplicaID, own: ReplicaID?, limits: WaitingLimits?) async throws -> Merged {
        var store = PostgresMergeStore()
        // Every waiting change (their number is bounded by the waiting limits).
        var waiting: [Change] = []
        let rows = try await db.query("SELECT body, logged, origin, need_rid, need_counter FROM waiting_change", logger: logger)
        for try await (body, logged, origin, needRid, needCounter) in rows.decode((String, Bool, String, String, Int64).self) {
            let change = try Codec.change(body)
            let need = Dot(replica: ReplicaID(needRid), counter: UInt64(needCounter))
            store.park(change, change.dot.replica, needing: need, logged: logged, origin: ReplicaID(origin))
            store.waitingAtStart.insert(change.dot)
            waiting.append(change)
        }
        let named = PostgresMergeStore.dotsNamed(by: changes, waiting: waiting)
        let pushed = Set(changes.map(\.dot))
        let rids = named.map(\.replica.rawValue), counters = named.map { Int64($0.counter) }
        let held = try await db.query("""
            SELECT l.rid, l.counter, l.body FROM log l JOIN unnest(\(rids)::text[], \(counters)::int8[]) AS d(rid, counter)
            ON l.rid = d.rid AND l.counter = d.counter
            """, logger: logger)
        for try await (rid, counter, body) in held.decode((String, Int64, String).self) {
            let dot = Dot(replica: ReplicaID(rid), counter: UInt64(counter))
            // Only the pushed dots are compared with what is held (the dot-reuse check).
            store.applied[dot] = pushed.contains(dot) ? try Codec.change(body) : .some(nil)
        }
        var run = Merge.Run<ReplicaID>()
        var out = Merged()
        do {
            for change in changes {
                switch try Merge.apply(change, into: &store, run: &run, log: true, origin: sender, own: own, limits: limits, schema: schema) {
                case .applied: out.applied += 1
                case .duplicate: out.duplicates += 1
                case .pending: break
                }
            }
            out.applied += try Merge.drain(&store, run: &run, schema: schema)
        }
        out.logged = try await Self.write(store, db, logger: logger)
        out.pending = store.waitingTotal
        try await updateScopes(db, out.logged)
        return out
    }

    /// Writes what one merge did: one statement per table. Returns the changes logged, in log
    /// order, with their positions.
    static func write(_ store: PostgresMergeStore, _ db: PostgresConnection, logger: Logger) async throws -> [(change: Change, seq: Int64)] {
        if !store.removedValues.isEmpty {
            let r = store.removedValues
            try await db.query("""
                DELETE FROM field_value f USING unnest(\(r.map(\.0.kind))::text[], \(r.map(\.0.id))::text[], \(r.map(\.1.name))::text[],
                  \(r.map(\.1.element))::text[], \(r.map(\.2.replica.rawValue))::text[], \(r.map { Int64($0.2.counter) })::int8[])
                  AS d(kind, record, field, elem, rid, counter)
                WHERE f.kind = d.kind AND f.record = d.record AND f.field = d.field AND f.elem = d.elem AND f.rid = d.rid AND f.counter = d.counter
                """, logger: logger)
        }
        if !store.addedValues.isEmpty {
            let a = Array(store.addedValues)
            try await db.query("""
                INSERT INTO field_value (kind, record, field, elem, rid, counter, body)
                SELECT * FROM unnest(\(a.map(\.key.record.kind))::text[], \(a.map(\.key.record.id))::text[], \(a.map(\.key.field.name))::text[],
                  \(a.map(\.key.field.element))::text[], \(a.map(\.key.dot.replica.rawValue))::text[], \(a.map { Int64($0.key.dot.counter) })::int8[],
                  \(try a.map { try Codec.text($0.value) })::text[])
                """, logger: logger)
        }
        if !store.unparked.isEmpty {
            let u = Array(store.unparked)
            try await db.query("""
                DELETE FROM waiting_change w USING unnest(\(u.map(\.replica.rawValue))::text[], \(u.map { Int64($0.counter) })::int8[]) AS d(rid, counter)
                WHERE w.rid = d.rid AND w.counter = d.counter
                """, logger: logger)
        }
        let parked = store.waitingByDot.filter { !store.waitingAtStart.contains($0.key) || store.unparked.contains($0.key) }.map(\.value)
        if !parked.isEmpty {
            try await db.query("""
                INSERT INTO waiting_change (rid, counter, body, logged, origin, need_rid, need_counter)
                SELECT * FROM unnest(\(parked.map(\.change.dot.replica.rawValue))::text[], \(parked.map { Int64($0.change.dot.counter) })::int8[],
                  \(try parked.map { try Codec.text($0.change) })::text[], \(parked.map(\.logged))::bool[], \(parked.map(\.origin.rawValue))::text[],
                  \(parked.map(\.need.replica.rawValue))::text[], \(parked.map { Int64($0.need.counter) })::int8[])
                """, logger: logger)
        }
        guard !store.appended.isEmpty else { return [] }
        let l = store.appended
        // In the order merged: positions are given in the order of the rows' ordinality.
        let rows = try await db.query("""
            INSERT INTO log (rid, counter, kind, record, body)
            SELECT rid, counter, kind, record, body FROM unnest(\(l.map(\.dot.replica.rawValue))::text[], \(l.map { Int64($0.dot.counter) })::int8[],
              \(l.map(\.record.kind))::text[], \(l.map(\.record.id))::text[], \(try l.map { try Codec.text($0) })::text[])
              WITH ORDINALITY AS d(rid, counter, kind, record, body, n) ORDER BY n
            RETURNING rid, counter, seq
            """, logger: logger)
        var seqs: [Dot: Int64] = [:]
        for try await (rid, counter, seq) in rows.decode((String, Int64, Int64).self) { seqs[Dot(replica: ReplicaID(rid), counter: UInt64(counter))] = seq }
        return try l.map { c in
            guard let seq = seqs[c.dot] else { throw PostgresHubError("the log gave no position for \(c.dot)", zh: "日志没有给出 \(c.dot) 的位置") }
            return (c, seq)
        }.sorted { $0.seq < $1.seq }
    }

    /// Runs `body` in a transaction; an error of `body` is thrown as it is (rolled back).
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { db in try await body(db) }
        } catch let e as PostgresTransactionError {
            if let inner = e.closureError { throw inner }
            throw e
        }
    }

    // MARK: Reading

    /// The log after `position`, oldest first, at most `limit` entries; `more` when others follow.
    public func changes(after position: Int64, limit: Int) async throws -> (entries: [(seq: Int64, change: Change)], head: Int64, more: Bool) {
        try await changes(after: position, limit: limit, maxBytes: .max, excluding: nil)
    }

    /// The last log position.
    public func head() async throws -> Int64 {
        try await client.withConnection { db in try await Self.head(db, logger: self.logger) }
    }

    static func head(_ db: PostgresConnection, logger: Logger) async throws -> Int64 {
        for try await h in try await db.query("SELECT coalesce(max(seq), 0)::int8 FROM log", logger: logger).decode(Int64.self) { return h }
        return 0
    }

    public func versionVector() async throws -> VersionVector {
        var entries: [ReplicaID: UInt64] = [:]
        let rows = try await client.query("SELECT rid, max(counter)::int8 FROM log GROUP BY rid", logger: logger)
        for try await (rid, counter) in rows.decode((String, Int64).self) { entries[ReplicaID(rid)] = UInt64(counter) }
        return VersionVector(entries)
    }

    public func logCount() async throws -> Int {
        for try await n in try await client.query("SELECT count(*)::int8 FROM log", logger: logger).decode(Int64.self) { return Int(n) }
        return 0
    }

    public func waitingCount() async throws -> Int {
        for try await n in try await client.query("SELECT count(*)::int8 FROM waiting_change", logger: logger).decode(Int64.self) { return Int(n) }
        return 0
    }

    /// Which values ``forEachField(_:_:)`` reads.
    enum FieldFilter {
        case all
        /// Fields holding two values or more.
        case conflicting
        /// What a unit may see: records of kinds everyone sees, and those granted to it.
        case unit(String)
    }

    /// Every field's values that `filter` keeps, in the order the state digest reads them (byte
    /// order of the keys), from one snapshot.
    func forEachField(_ filter: FieldFilter, _ body: (RecordRef, FieldKey, [Sibling]) -> Void) async throws {
        let order = #"ORDER BY kind COLLATE "C", record COLLATE "C", field COLLATE "C", elem COLLATE "C""#
        let query: PostgresQuery = switch filter {
        case .all: "SELECT kind, record, field, elem, body FROM field_value \(unescaped: order)"
        case .conflicting: """
            SELECT kind, record, field, elem, body FROM field_value
            WHERE (kind, record, field, elem) IN (SELECT kind, record, field, elem FROM field_value GROUP BY kind, record, field, elem HAVING count(*) > 1)
            \(unescaped: order)
            """
        case .unit(let unit): """
            SELECT kind, record, field, elem, body FROM field_value v
            WHERE kind = ANY(\(schema.unscopedKinds)::text[])
               OR EXISTS (SELECT 1 FROM scope_grant g WHERE g.unit = \(unit) AND g.kind = v.kind AND g.record = v.record AND g.revoked IS NULL)
            \(unescaped: order)
            """
        }
        let rows = try await client.query(query, logger: logger)
        var current: (RecordRef, FieldKey)?
        var siblings: [Sibling] = []
        for try await (kind, record, field, elem, text) in rows.decode((String, String, String, String, String).self) {
            let key = (RecordRef(kind: kind, id: record), FieldKey(field, element: elem))
            if let c = current, c != key {
                body(c.0, c.1, siblings)
                siblings.removeAll(keepingCapacity: true)
            }
            current = key
            siblings.append(try Codec.sibling(text))
        }
        if let c = current { body(c.0, c.1, siblings) }
    }

    /// The state digest (`Protocol/sync.md` §9), equal on converged replicas.
    public func digest() async throws -> String {
        var digest = StateDigest(schema: schema)
        try await forEachField(.all) { digest.add(record: $0, field: $1, siblings: $2) }
        return digest.finalize()
    }

    /// Every open conflict.
    public func conflicts() async throws -> [Conflict] {
        var out: [Conflict] = []
        let schema = self.schema
        try await forEachField(.conflicting) { record, field, siblings in
            if let c = Conflict.detect(record: record, field: field, siblings: siblings, rule: schema.rule(for: record, field)) { out.append(c) }
        }
        return out
    }
}

/// Changes and values as the PostgreSQL tables keep them: JSON text.
enum Codec {
    static func text(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    static func change(_ text: String) throws -> Change { try JSONDecoder().decode(Change.self, from: Data(text.utf8)) }
    static func sibling(_ text: String) throws -> Sibling { try JSONDecoder().decode(Sibling.self, from: Data(text.utf8)) }
}

/// An error from the PostgreSQL store, with what to do next, in English and Simplified Chinese.
public struct PostgresHubError: BilingualError, CustomStringConvertible, Sendable {
    public var message: String
    public var chinese: String
    public var cause: (any Error)?

    public init(_ message: String, zh: String, cause: (any Error)? = nil) {
        self.message = message
        self.chinese = zh
        self.cause = cause
    }

    public var description: String { message }

    static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            return e.serverInfo?[.message] ?? "\(e.code)"
        }
        return String(describing: error)
    }
}
