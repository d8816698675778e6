import Foundation
import Logging
import PostgresNIO
import YuqingCore
import YuqingHub
import YuqingReplica

/// What the hub of cases needs of its store beyond the merge (``YuqingHub/HubStorage``), on
/// PostgreSQL: partial replication's grants and scoped pulls, seals, the hub's own writes
/// (enrolment, operator resolutions), one-time settings, and the reads of the workflow's checks.
/// Each answers what the SQLite hub answers for the same history (`Tests/YuqingHubTests` run on
/// both).
extension PostgresHubStore: HubStorage {
    /// The key of the advisory lock under which the hub seals its own changes (one instance at a
    /// time, so two never seal overlapping runs).
    static let sealLock: Int64 = 0x5971_5365

    public func ingest(_ changes: [Change], from sender: ReplicaID, seals: [Seal]) async throws -> ApplyResult {
        try await storageErrors {
            let r = try await ingest(changes, from: sender, seals: seals, limits: waitingLimits)
            return ApplyResult(applied: r.applied, duplicates: r.duplicates, pending: r.pending)
        }
    }

    public func changes(after position: Int64, limit: Int, maxBytes: Int, excluding: ReplicaID?) async throws
        -> (entries: [(seq: Int64, change: Change)], head: Int64, more: Bool)
    {
        try await storageErrors {
            try await snapshot { db in
                let skip = excluding?.rawValue ?? ""
                let rows = try await db.query("""
                    SELECT seq, body FROM log WHERE seq > \(position) AND rid <> \(skip) ORDER BY seq LIMIT \(Int64(limit) + 1)
                    """, logger: logger)
                let (entries, more) = try await Self.page(rows, limit: limit, maxBytes: maxBytes)
                return (entries, try await Self.head(db, logger: logger), more)
            }
        }
    }

    /// Reads `(seq, body)` rows (asked for `limit + 1`): at most `limit` entries and about
    /// `maxBytes` (at least one entry, however large), and whether more follow.
    static func page(_ rows: PostgresRowSequence, limit: Int, maxBytes: Int) async throws -> (entries: [(seq: Int64, change: Change)], more: Bool) {
        var entries: [(seq: Int64, change: Change)] = []
        var bytes = 0
        for try await (seq, body) in rows.decode((Int64, String).self) {
            let change = try Codec.change(body)
            bytes += ChangeLimits.estimatedBytes(change)
            if entries.count == limit || (!entries.isEmpty && bytes > maxBytes) { return (entries, true) }
            entries.append((seq, change))
        }
        return (entries, false)
    }

    public func scopedChanges(after position: Int64, unit: String, limit: Int, maxBytes: Int, excluding: ReplicaID?) async throws -> ScopedPage {
        let everyone = schema.unscopedKinds
        return try await storageErrors {
            try await snapshot { db in
                let skip = excluding?.rawValue ?? ""
                // Records everyone sees, by kind; the unit's records, through its grants and the
                // log's index by record. Entries of a record from before its grant come with its
                // restoration, never in the page.
                let rows = try await db.query("""
                    SELECT seq, body FROM log WHERE kind = ANY(\(everyone)::text[]) AND seq > \(position) AND rid <> \(skip)
                    UNION ALL
                    SELECT l.seq, l.body FROM scope_grant g JOIN log l ON l.kind = g.kind AND l.record = g.record
                    WHERE g.unit = \(unit) AND g.revoked IS NULL AND l.seq > \(position) AND l.rid <> \(skip)
                      AND (g.granted <= \(position) OR l.seq >= g.granted)
                    ORDER BY 1 LIMIT \(Int64(limit) + 1)
                    """, logger: logger)
                var (entries, more) = try await Self.page(rows, limit: limit, maxBytes: maxBytes)
                let head = try await Self.head(db, logger: logger)
                let upto = more ? (entries.last?.seq ?? position) : head
                var restored: [RecordRef] = []
                for try await (kind, record) in try await db.query("""
                    SELECT kind, record FROM scope_grant WHERE unit = \(unit) AND revoked IS NULL AND granted > \(position) AND granted <= \(upto)
                    ORDER BY kind, record
                    """, logger: logger).decode((String, String).self) { restored.append(RecordRef(kind: kind, id: record)) }
                if !restored.isEmpty {
                    // Their whole history up to where this page reaches, the reader's own changes
                    // included (it rebuilds them from it), in place of their entries in the page.
                    let set = Set(restored)
                    entries.removeAll { set.contains($0.change.record) }
                    let history = try await db.query("""
                        SELECT l.seq, l.body FROM unnest(\(restored.map(\.kind))::text[], \(restored.map(\.id))::text[]) AS r(kind, record)
                        JOIN log l ON l.kind = r.kind AND l.record = r.record WHERE l.seq <= \(upto) ORDER BY l.kind, l.record, l.seq
                        """, logger: logger)
                    for try await (seq, body) in history.decode((Int64, String).self) { entries.append((seq, try Codec.change(body))) }
                }
                var purged: [RecordRef] = []
                for try await (kind, record) in try await db.query("""
                    SELECT kind, record FROM scope_grant WHERE unit = \(unit) AND revoked IS NOT NULL AND revoked > \(position) AND revoked <= \(upto)
                    ORDER BY kind, record
                    """, logger: logger).decode((String, String).self) { purged.append(RecordRef(kind: kind, id: record)) }
                return ScopedPage(entries: entries, head: head, more: more, next: max(position, upto), restored: restored, purged: purged)
            }
        }
    }

    public func run(of replica: ReplicaID, from first: UInt64, to last: UInt64) async throws -> [Change] {
        try await storageErrors {
            var out: [Change] = []
            let rows = try await client.query("""
                SELECT body FROM log WHERE rid = \(replica.rawValue) AND counter BETWEEN \(Int64(bitPattern: first)) AND \(Int64(bitPattern: last)) ORDER BY counter
                """, logger: logger)
            for try await body in rows.decode(String.self) { out.append(try Codec.change(body)) }
            return out
        }
    }

    public func digest(unit: String) async throws -> String {
        try await storageErrors {
            var digest = StateDigest(schema: schema)
            try await forEachField(.unit(unit)) { digest.add(record: $0, field: $1, siblings: $2) }
            return digest.finalize()
        }
    }

    public func waiting() async throws -> [ReplicaID: Int] {
        try await storageErrors {
            var out: [ReplicaID: Int] = [:]
            let rows = try await client.query("SELECT origin, count(*)::int8 FROM waiting_change GROUP BY origin", logger: logger)
            for try await (origin, n) in rows.decode((String, Int64).self) { out[ReplicaID(origin), default: 0] += Int(n) }
            return out
        }
    }

    /// Counted again only when the log moved: every sync's status asks, and counting reads every
    /// field with two or more values. A count is kept only when the head did not move while it
    /// was taken (values change only with a logged change, and committed positions are a prefix).
    public func openConflictCount() async throws -> Int {
        let before = try await head()
        if let kept = conflictCount.withLock({ $0 }), kept.head == before { return kept.count }
        let count = try await conflicts().count
        if try await head() == before { conflictCount.withLock { $0 = (before, count) } }
        return count
    }

    public func holds(kind: String, field: String, element: String) async throws -> Bool {
        try await storageErrors {
            let rows = try await client.query("""
                SELECT 1::int8 FROM field_value WHERE kind = \(kind) AND field = \(field) AND elem = \(element) LIMIT 1
                """, logger: logger)
            for try await _ in rows.decode(Int64.self) { return true }
            return false
        }
    }

    public func ruleInputs(_ changes: [Change], kinds: [String], recordKind: String, fields: [String]) async throws
        -> (fresh: [Change], all: [RecordView], touched: [RecordView])
    {
        try await storageErrors {
            try await snapshot { db in
                // The changes held already, applied or waiting.
                var held = Set<Dot>()
                let rows = try await db.query("""
                    SELECT d.rid, d.counter FROM unnest(\(changes.map(\.dot.replica.rawValue))::text[], \(changes.map { Int64($0.dot.counter) })::int8[]) AS d(rid, counter)
                    WHERE EXISTS (SELECT 1 FROM log l WHERE l.rid = d.rid AND l.counter = d.counter)
                       OR EXISTS (SELECT 1 FROM waiting_change w WHERE w.rid = d.rid AND w.counter = d.counter)
                    """, logger: logger)
                for try await (rid, counter) in rows.decode((String, Int64).self) { held.insert(Dot(replica: ReplicaID(rid), counter: UInt64(counter))) }
                let fresh = changes.filter { !held.contains($0.dot) }
                let touched = Array(Set(fresh.filter { $0.record.kind == recordKind }.map(\.record.id)))
                let all = try await views(db, kinds: kinds)
                let some = try await Self.views(db, schema: schema, logger: logger, query: """
                    SELECT kind, record, field, elem, body FROM field_value
                    WHERE kind = \(recordKind) AND record = ANY(\(touched)::text[]) AND field = ANY(\(fields)::text[]) ORDER BY record
                    """)
                return (fresh, all, some)
            }
        }
    }

    public func view(_ record: RecordRef) async throws -> RecordView? {
        try await storageErrors {
            try await client.withConnection { db in
                try await Self.views(db, schema: schema, logger: logger, query: """
                    SELECT kind, record, field, elem, body FROM field_value WHERE kind = \(record.kind) AND record = \(record.id)
                    """).first
            }
        }
    }

    public func views(kinds: [String]) async throws -> [RecordView] {
        try await storageErrors { try await client.withConnection { db in try await views(db, kinds: kinds) } }
    }

    func views(_ db: PostgresConnection, kinds: [String]) async throws -> [RecordView] {
        // A value changes only with a change logged, so the last position logged for these kinds
        // (one index probe per kind, from the same snapshot as the values) versions them all.
        var version: Int64 = 0
        for try await v in try await db.query("""
            SELECT coalesce(max(m), 0)::int8 FROM unnest(\(kinds)::text[]) AS k(kind),
                LATERAL (SELECT max(seq) AS m FROM log WHERE log.kind = k.kind) AS x
            """, logger: logger).decode(Int64.self) { version = v }
        if let cached = kindViews.withLock({ $0[kinds] }), cached.version == version { return cached.views }
        let views = try await Self.views(db, schema: schema, logger: logger, query: """
            SELECT kind, record, field, elem, body FROM field_value WHERE kind = ANY(\(kinds)::text[]) ORDER BY kind, record
            """)
        kindViews.withLock { cache in
            // Keep the newest: a slower reader of an older snapshot must not replace it.
            if (cache[kinds]?.version ?? -1) < version { cache[kinds] = (version, views) }
        }
        return views
    }

    /// The records that `query` (`kind, record, field, elem, body` rows, by record) reads.
    static func views(_ db: PostgresConnection, schema: Schema, logger: Logger, query: PostgresQuery) async throws -> [RecordView] {
        var out: [RecordView] = []
        var current: RecordRef?
        var fields: [FieldKey: [Sibling]] = [:]
        for try await (kind, record, field, elem, body) in try await db.query(query, logger: logger).decode((String, String, String, String, String).self) {
            let ref = RecordRef(kind: kind, id: record)
            if let c = current, c != ref {
                out.append(RecordView(record: c, schema: schema, fields: fields))
                fields = [:]
            }
            current = ref
            fields[FieldKey(field, element: elem), default: []].append(try Codec.sibling(body))
        }
        if let c = current { out.append(RecordView(record: c, schema: schema, fields: fields)) }
        return out
    }

    public func seals(covering changes: [Change]) async throws -> [Seal] {
        guard !changes.isEmpty else { return [] }
        var counters: [ReplicaID: [UInt64]] = [:]
        for c in changes { counters[c.dot.replica, default: []].append(c.dot.counter) }
        return try await storageErrors {
            try await snapshot { db in
                var out: [Seal] = []
                for (replica, list) in counters.sorted(by: { $0.key < $1.key }) {
                    let sorted = list.sorted()
                    let rows = try await db.query("""
                        SELECT first, last, signature FROM seal WHERE replica = \(replica.rawValue)
                          AND first <= \(Int64(bitPattern: sorted.last!)) AND last >= \(Int64(bitPattern: sorted.first!)) ORDER BY first, last
                        """, logger: logger)
                    for try await (first, last, signature) in rows.decode((Int64, Int64, String).self) {
                        let s = Seal(replica: replica, first: UInt64(bitPattern: first), last: UInt64(bitPattern: last), signature: signature)
                        if s.coversAny(of: sorted) { out.append(s) }
                    }
                }
                return out
            }
        }
    }

    /// Every seal the hub stores was checked: a device's before its push was applied, the hub's
    /// own when it made it.
    public func seal(covering dot: Dot) async throws -> (seal: Seal, verified: Bool)? {
        try await storageErrors {
            let c = Int64(bitPattern: dot.counter)
            for try await (first, last, signature) in try await client.query("""
                SELECT first, last, signature FROM seal WHERE replica = \(dot.replica.rawValue) AND first <= \(c) AND last >= \(c) ORDER BY first LIMIT 1
                """, logger: logger).decode((Int64, Int64, String).self) {
                return (Seal(replica: dot.replica, first: UInt64(bitPattern: first), last: UInt64(bitPattern: last), signature: signature), true)
            }
            return nil
        }
    }

    public func history(of record: RecordRef) async throws -> [Change] {
        try await storageErrors {
            var out: [Change] = []
            for try await body in try await client.query("""
                SELECT body FROM log WHERE kind = \(record.kind) AND record = \(record.id) ORDER BY seq
                """, logger: logger).decode(String.self) { out.append(try Codec.change(body)) }
            return out
        }
    }

    static func storeSeals(_ seals: [Seal], _ db: PostgresConnection, logger: Logger) async throws {
        guard !seals.isEmpty else { return }
        try await db.query("""
            INSERT INTO seal (replica, first, last, signature)
            SELECT * FROM unnest(\(seals.map(\.replica.rawValue))::text[], \(seals.map { Int64(bitPattern: $0.first) })::int8[],
              \(seals.map { Int64(bitPattern: $0.last) })::int8[], \(seals.map(\.signature))::text[])
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    public func sealOwnChanges(_ sign: @escaping @Sendable ([Change]) throws -> Seal) async throws {
        let own = hubID.rawValue
        try await storageErrors {
            // Run before every pull: nothing to seal is the usual answer, found without a lock.
            var unsealed = false
            for try await (logged, sealed) in try await client.query("""
                SELECT (SELECT coalesce(max(counter), 0) FROM log WHERE rid = \(own))::int8, (SELECT coalesce(max(last), 0) FROM seal WHERE replica = \(own))::int8
                """, logger: logger).decode((Int64, Int64).self) { unsealed = logged > sealed }
            guard unsealed else { return }
            try await transaction { db in
                try await db.query("SELECT pg_advisory_xact_lock(\(Self.sealLock))", logger: logger)
                while true {
                    var sealed: Int64 = 0
                    for try await n in try await db.query("SELECT coalesce(max(last), 0)::int8 FROM seal WHERE replica = \(own)", logger: logger).decode(Int64.self) { sealed = n }
                    var run: [Change] = []
                    for try await body in try await db.query("""
                        SELECT body FROM log WHERE rid = \(own) AND counter > \(sealed) ORDER BY counter LIMIT 10000
                        """, logger: logger).decode(String.self) {
                        let c = try Codec.change(body)
                        // A run is contiguous from the first counter not sealed.
                        guard c.dot.counter == (run.last?.dot.counter ?? UInt64(sealed)) + 1 else { break }
                        run.append(c)
                    }
                    if run.isEmpty { return }
                    try await Self.storeSeals([try sign(run)], db, logger: logger)
                }
            }
        }
    }

    public func writeAsHub(_ writes: [(RecordRef, FieldKey, FieldValue?)], author: String) async throws {
        _ = try await storageErrors { try await write(writes, author: author, expectedContext: nil) }
    }

    public func resolve(conflictID: String, value: FieldValue, resolvedBy: String) async throws -> (change: Change, pos: Int64) {
        try await storageErrors {
            guard let conflict = try await conflicts().first(where: { $0.id == conflictID }) else {
                throw ReplicaError(.notFound, "no open conflict \(conflictID): it was resolved already, or a new concurrent value changed it; run `yuqing conflicts list`",
                                   zh: "没有待处理的冲突 \(conflictID)：它已被解决，或有新的并发值改变了它；请运行 `yuqing conflicts list`")
            }
            // Fields this schema does not know (from a newer one) are flagged, so they must be resolvable.
            if schema.records[conflict.record.kind]?.field(conflict.field.name) != nil {
                do { try schema.validate(conflict.record, conflict.field, value) } catch let error as SchemaError {
                    throw ReplicaError(.invalidWrite, error.message, zh: error.chinese)
                }
            }
            // The write checks, under the log lock, that the values are still those in conflict.
            let made = try await write([(conflict.record, conflict.field, value)], author: resolvedBy, expectedContext: conflict.resolutionContext)[0]
            return (made.change, made.seq)
        }
    }

    /// Writes as the hub, under the log lock: each write's context is the field's current
    /// values (or must be `expectedContext`, for a resolution), its dot the hub's next counter,
    /// its timestamp from the hub's clock kept in `hub_meta`. Returns the changes and positions.
    func write(_ writes: [(RecordRef, FieldKey, FieldValue?)], author: String, expectedContext: [Dot]?) async throws -> [(change: Change, seq: Int64)] {
        for (record, field, value) in writes {
            do { try schema.validate(record, field, value) } catch let error as SchemaError {
                throw ReplicaError(.invalidWrite, error.message, zh: error.chinese)
            }
        }
        let own = hubID, schema = self.schema
        return try await transaction { db in
            try await db.query("SELECT pg_advisory_xact_lock(\(Self.logLock))", logger: logger)
            var counter: Int64 = 0, latest: Int64 = 0
            for try await (c, h) in try await db.query("""
                SELECT (SELECT coalesce(max(counter), 0) FROM log WHERE rid = \(own.rawValue))::int8,
                       (SELECT coalesce(max(value::int8), 0) FROM hub_meta WHERE key = 'hlc')::int8
                """, logger: logger).decode((Int64, Int64).self) { (counter, latest) = (c, h) }
            var contexts: [String: [Dot]] = [:]
            func key(_ r: RecordRef, _ f: FieldKey) -> String { [r.kind, r.id, f.name, f.element].joined(separator: "\u{1f}") }
            let rows = try await db.query("""
                SELECT v.kind, v.record, v.field, v.elem, v.rid, v.counter FROM field_value v
                JOIN unnest(\(writes.map(\.0.kind))::text[], \(writes.map(\.0.id))::text[], \(writes.map(\.1.name))::text[], \(writes.map(\.1.element))::text[])
                  AS w(kind, record, field, elem) ON v.kind = w.kind AND v.record = w.record AND v.field = w.field AND v.elem = w.elem
                """, logger: logger)
            for try await (kind, record, field, elem, rid, c) in rows.decode((String, String, String, String, String, Int64).self) {
                contexts[key(RecordRef(kind: kind, id: record), FieldKey(field, element: elem)), default: []].append(Dot(replica: ReplicaID(rid), counter: UInt64(c)))
            }
            var clock = HybridLogicalClock(latest: HLC(packed: UInt64(bitPattern: latest)))
            let physical = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
            var made: [Change] = []
            for (record, field, value) in writes {
                let context = (contexts[key(record, field)] ?? []).sorted()
                if expectedContext == nil, !context.isEmpty, schema.rule(for: record, field) == .immutable {
                    throw ReplicaError(.invalidWrite, "\(field) of \(record) is immutable once written", zh: "\(record) 的 \(field) 一经写入便不可更改")
                }
                if let expectedContext, Set(context) != Set(expectedContext) {
                    throw ReplicaError(.notFound, "the values of \(record) \(field) changed meanwhile; list the conflicts again",
                                       zh: "\(record) \(field) 的值在此期间已有变化；请重新列出冲突")
                }
                counter += 1
                let change = Change(dot: Dot(replica: own, counter: UInt64(counter)), hlc: clock.tick(physicalMillis: physical),
                                    record: record, field: field, value: value, context: context, author: author)
                // A later write of the same field in this batch supersedes this one.
                contexts[key(record, field)] = [change.dot]
                made.append(change)
            }
            try await db.query("""
                INSERT INTO hub_meta (key, value) VALUES ('hlc', \(String(Int64(bitPattern: clock.latest.packed))))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """, logger: logger)
            let merged = try await merge(db, made, sender: own, own: nil, limits: nil)
            let seqs = Dictionary(merged.logged.map { ($0.change.dot, $0.seq) }, uniquingKeysWith: { a, _ in a })
            return made.map { ($0, seqs[$0.dot] ?? 0) }
        }
    }

    public func takeSetting(_ key: String) async throws -> String? {
        try await storageErrors {
            for try await value in try await client.query("DELETE FROM hub_setting WHERE key = \(key) RETURNING value", logger: logger).decode(String.self) {
                return value
            }
            return nil
        }
    }

    public func setting(_ key: String) async throws -> String? {
        try await storageErrors {
            for try await value in try await client.query("SELECT value FROM hub_setting WHERE key = \(key)", logger: logger).decode(String.self) {
                return value
            }
            return nil
        }
    }

    public func setSetting(_ key: String, _ value: String) async throws {
        try await storageErrors {
            try await client.query("""
                INSERT INTO hub_setting (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """, logger: logger)
        }
    }

    // MARK: Partial replication's grants

    /// Brings the grants of the records whose visibility fields `logged` changed up to date, in
    /// the transaction that logged them, at the positions of the changes that did (as the SQLite
    /// hub does: `Replica.updateScopes`). A change that only adds a unit grants it; one that may
    /// remove a unit makes the record's units be read again from its values (``ScopeTouch``).
    func updateScopes(_ db: PostgresConnection, _ logged: [(change: Change, seq: Int64)]) async throws {
        var touches: [RecordRef: ScopeTouch] = [:]
        for (change, seq) in logged {
            guard let visibleTo = schema.records[change.record.kind]?.visibleTo, visibleTo.contains(change.field.name) else { continue }
            touches[change.record, default: ScopeTouch()].note(change, at: seq)
        }
        try await updateScopes(db, touches)
    }

    func updateScopes(_ db: PostgresConnection, _ touches: [RecordRef: ScopeTouch]) async throws {
        guard !touches.isEmpty else { return }
        // Units only added: the grants grow (a revoked grant begins again).
        var grant: [(unit: String, record: RecordRef, seq: Int64)] = []
        var revoke: [(unit: String, record: RecordRef, seq: Int64)] = []
        var recheck: [String: [RecordRef: Int64]] = [:]
        for (record, touch) in touches {
            if touch.mayRevoke { recheck[record.kind, default: [:]][record] = touch.seq; continue }
            for unit in touch.added { grant.append((unit, record, touch.seq)) }
        }
        if !grant.isEmpty { try await upsertGrants(db, grant, onlyRevoked: true) }
        grant = []
        for (kind, records) in recheck {
            guard let visibleTo = schema.records[kind]?.visibleTo else { continue }
            let ids = records.keys.map(\.id)
            var units: [String: Set<String>] = [:]
            for try await (record, field, elem, body) in try await db.query("""
                SELECT record, field, elem, body FROM field_value WHERE kind = \(kind) AND record = ANY(\(ids)::text[]) AND field = ANY(\(visibleTo)::text[])
                """, logger: logger).decode((String, String, String, String).self) {
                if let u = RecordSchema.unit(named: FieldKey(field, element: elem), try Codec.sibling(body).value) { units[record, default: []].insert(u) }
            }
            var active: [String: Set<String>] = [:]
            for try await (record, unit) in try await db.query("""
                SELECT record, unit FROM scope_grant WHERE kind = \(kind) AND record = ANY(\(ids)::text[]) AND revoked IS NULL
                """, logger: logger).decode((String, String).self) { active[record, default: []].insert(unit) }
            for (record, seq) in records {
                let now = units[record.id] ?? [], before = active[record.id] ?? []
                for u in now.subtracting(before) { grant.append((u, record, seq)) }
                for u in before.subtracting(now) { revoke.append((u, record, seq)) }
            }
        }
        if !grant.isEmpty { try await upsertGrants(db, grant, onlyRevoked: false) }
        if !revoke.isEmpty {
            try await db.query("""
                UPDATE scope_grant g SET revoked = d.seq
                FROM unnest(\(revoke.map(\.unit))::text[], \(revoke.map(\.record.kind))::text[], \(revoke.map(\.record.id))::text[], \(revoke.map(\.seq))::int8[])
                  AS d(unit, kind, record, seq)
                WHERE g.unit = d.unit AND g.kind = d.kind AND g.record = d.record
                """, logger: logger)
        }
    }

    /// Grants from the positions given; `onlyRevoked`: a grant held already is kept as it is.
    func upsertGrants(_ db: PostgresConnection, _ grants: [(unit: String, record: RecordRef, seq: Int64)], onlyRevoked: Bool) async throws {
        let condition = onlyRevoked ? "WHERE scope_grant.revoked IS NOT NULL" : ""
        try await db.query("""
            INSERT INTO scope_grant (unit, kind, record, granted, revoked)
            SELECT unit, kind, record, seq, NULL FROM unnest(\(grants.map(\.unit))::text[], \(grants.map(\.record.kind))::text[],
              \(grants.map(\.record.id))::text[], \(grants.map(\.seq))::int8[]) AS d(unit, kind, record, seq)
            ON CONFLICT (unit, kind, record) DO UPDATE SET granted = excluded.granted, revoked = NULL \(unescaped: condition)
            """, logger: logger)
    }

    /// Builds the grants of every record held, once, on a database whose records predate them:
    /// they begin at position 0 (as the SQLite hub's `buildScopesIfNeeded`).
    func buildScopesIfNeeded() async throws {
        try await transaction { db in
            try await db.query("SELECT pg_advisory_xact_lock(\(Self.logLock))", logger: logger)
            for try await _ in try await db.query("SELECT value FROM hub_meta WHERE key = 'scopes_built'", logger: logger).decode(String.self) { return }
            var touches: [RecordRef: ScopeTouch] = [:]
            for kind in schema.scopedKinds {
                for try await id in try await db.query("SELECT DISTINCT record FROM field_value WHERE kind = \(kind)", logger: logger).decode(String.self) {
                    touches[RecordRef(kind: kind, id: id)] = ScopeTouch(seq: 0, mayRevoke: true)
                }
            }
            try await updateScopes(db, touches)
            try await db.query("INSERT INTO hub_meta (key, value) VALUES ('scopes_built', '1')", logger: logger)
        }
    }

    // MARK: Helpers

    /// Runs `body` in a read-only transaction that sees one snapshot.
    func snapshot<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction { db in
            try await db.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            return try await body(db)
        }
    }

    /// Errors as the hub answers them: the merge's refusals as the replica's (409, 403, 429),
    /// PostgreSQL's as storage that does not answer (503, retry later).
    func storageErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let e as MergeRefusal {
            throw ReplicaError(e)
        } catch let e as ReplicaError {
            throw e
        } catch let e as PSQLError {
            throw ReplicaError(.storage, "PostgreSQL: \(PostgresHubError.describe(e))", zh: "PostgreSQL：\(PostgresHubError.describe(e))", cause: e)
        } catch let e as PostgresHubError {
            throw ReplicaError(.storage, e.message, zh: e.chinese, cause: e)
        }
    }
}
