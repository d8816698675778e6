import Foundation
import GRDB
import YuqingCore

/// Partial replication at the hub (`Protocol/sync.md` §5.3): which unit may see which record
/// (`RecordSchema.visibleTo`), kept as grants with the log positions where they began and ended,
/// and the pulls that serve a unit only what it may see.
///
/// A grant begins at the log position of the change that made the record visible to the unit and
/// ends (`revoked`) at the one that made it invisible. A reader whose cursor is before a grant's
/// start receives the record's whole history; before its end, the record's name to purge.
public struct ScopedPage: Sendable {
    /// Entries after the cursor of records the unit may see, then the whole earlier history of
    /// records it may see since the cursor (`restored`).
    public var entries: [(seq: Int64, change: Change)]
    public var head: Int64
    public var more: Bool
    /// The position the reader asks after next: where this page reaches.
    public var next: Int64
    /// Records that became visible after the cursor: the node rebuilds them from their history.
    public var restored: [RecordRef]
    /// Records that stopped being visible after the cursor: the node removes them.
    public var purged: [RecordRef]

    package init(entries: [(seq: Int64, change: Change)], head: Int64, more: Bool, next: Int64, restored: [RecordRef], purged: [RecordRef]) {
        self.entries = entries
        self.head = head
        self.more = more
        self.next = next
        self.restored = restored
        self.purged = purged
    }
}

extension Replica {
    /// The kinds everyone sees, as SQL literals, for queries that need no index.
    var everyoneKinds: String {
        schema.unscopedKinds.map(Self.literal).joined(separator: ", ")
    }

    /// The condition of the partial index of the kinds everyone sees, which the queries that use
    /// the index must spell alike: `kind = 'a' OR kind = 'b' …` rather than `kind IN (…)`, whose
    /// list (of more than two) SQLite builds into a temporary table at every insert into the log
    /// (measured: a fifth of the log's insert cost). Each column is spelt `+kind`, for the reason
    /// ``elementCondition(kind:field:)`` gives: with `kind = 'a'` in the index, every statement
    /// on the log that compares `kind` with a bound value was compiled again at each run.
    func everyoneCondition(_ table: String = "") -> String {
        let kinds = schema.unscopedKinds
        guard !kinds.isEmpty else { return "(0)" }
        return "(" + kinds.map { "+\(table)kind = \(Self.literal($0))" }.joined(separator: " OR ") + ")"
    }

    static func literal(_ text: String) -> String { "'\(text.replacingOccurrences(of: "'", with: "''"))'" }

    /// The partial index's name, which changes with the kinds it covers (and did with the form of
    /// its condition: `log_everyone_` indexes of other names are dropped when the hub opens).
    var everyoneIndex: String {
        "log_everyone_of_" + schema.unscopedKinds.joined(separator: "_").unicodeScalars.map { CharacterSet.alphanumerics.contains($0) ? String($0) : "_" }.joined()
    }

    /// Brings the grants of the records in `touched` up to date, in the transaction that changed
    /// their visibility fields, at the positions given. Runs in every push that registers or
    /// assigns cases: its statements are prepared once per call, its rows read by the C API.
    func updateScopes(_ db: Database, _ touches: [RecordRef: ScopeTouch]) throws {
        let grants = try GrantStatements(db)
        // Values only added (a case registered, a unit concerned or a co-unit added): the grants
        // grow by the units they name, read from nowhere else.
        var touched: [RecordRef: Int64] = [:]
        for (record, touch) in touches {
            if touch.mayRevoke { touched[record] = touch.seq; continue }
            for unit in touch.added { try grants.add(record, unit: unit, at: touch.seq) }
        }
        for (kind, refs) in Dictionary(grouping: touched.keys, by: \.kind) {
            guard let visibleTo = schema.records[kind]?.visibleTo else { continue }
            let read = try FastStatement(db, """
                SELECT field, elem, value FROM field_value WHERE kind = ? AND record = ? AND field IN (\(visibleTo.map { _ in "?" }.joined(separator: ", ")))
                """)
            for record in refs {
                read.bind(1, record.kind)
                read.bind(2, record.id)
                for (i, f) in visibleTo.enumerated() { read.bind(Int32(3 + i), f) }
                var units = Set<String>()
                while try read.step() {
                    if let value = read.fieldValue(2), let u = RecordSchema.unit(named: FieldKey(read.text(0), element: read.text(1)), value) { units.insert(u) }
                }
                read.reset()
                try grants.set(record, units: units, at: touched[record]!)
            }
        }
    }

    /// The statements that read and change one record's grants.
    struct GrantStatements {
        let select: FastStatement, insert: FastStatement, revoke: FastStatement, upsert: FastStatement

        init(_ db: Database) throws {
            upsert = try FastStatement(db, """
                INSERT INTO scope_grant (unit, kind, record, granted, revoked) VALUES (?, ?, ?, ?, NULL)
                ON CONFLICT (unit, kind, record) DO UPDATE SET granted = excluded.granted, revoked = NULL WHERE revoked IS NOT NULL
                """)
            select = try FastStatement(db, "SELECT unit FROM scope_grant WHERE kind = ? AND record = ? AND revoked IS NULL")
            insert = try FastStatement(db, "INSERT OR REPLACE INTO scope_grant (unit, kind, record, granted, revoked) VALUES (?, ?, ?, ?, NULL)")
            revoke = try FastStatement(db, "UPDATE scope_grant SET revoked = ? WHERE unit = ? AND kind = ? AND record = ?")
        }

        /// Grants `unit` from `seq` unless it holds a grant already.
        func add(_ record: RecordRef, unit: String, at seq: Int64) throws {
            upsert.bind(1, unit); upsert.bind(2, record.kind); upsert.bind(3, record.id); upsert.bind(4, seq)
            try upsert.run()
        }

        func set(_ record: RecordRef, units: Set<String>, at seq: Int64) throws {
            var active = Set<String>()
            select.bind(1, record.kind)
            select.bind(2, record.id)
            while try select.step() { active.insert(select.text(0)) }
            select.reset()
            for unit in units.subtracting(active) {
                insert.bind(1, unit); insert.bind(2, record.kind); insert.bind(3, record.id); insert.bind(4, seq)
                try insert.run()
            }
            for unit in active.subtracting(units) {
                revoke.bind(1, seq); revoke.bind(2, unit); revoke.bind(3, record.kind); revoke.bind(4, record.id)
                try revoke.run()
            }
        }
    }

    /// Builds the grants of every record held, once, on a hub whose file predates them: they
    /// begin at position 0 (nodes that pulled before hold these records already).
    public func buildScopesIfNeeded() throws {
        guard role == .hub else { return }
        try write { db in
            // The log of the records everyone sees, for unit views: a partial index over those
            // kinds only, so the cases' own entries do not pay for it.
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS \(everyoneIndex) ON log (seq) WHERE \(everyoneCondition())")
            // An index of an earlier form or of other kinds would cost every insert for nothing.
            let stale = try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'log' AND name LIKE 'log\\_everyone\\_%' ESCAPE '\\' AND name <> ?
                """, arguments: [everyoneIndex])
            for name in stale { try db.execute(sql: "DROP INDEX \"\(name.replacingOccurrences(of: "\"", with: "\"\""))\"") }
            guard try Meta.get(db, "scopes_built") as Int64? == nil else { return }
            var touched: [RecordRef: ScopeTouch] = [:]
            for kind in schema.scopedKinds {
                for id in try String.fetchAll(db, sql: "SELECT DISTINCT record FROM field_value WHERE kind = ?", arguments: [kind]) {
                    touched[RecordRef(kind: kind, id: id)] = ScopeTouch(seq: 0, mayRevoke: true)
                }
            }
            try updateScopes(db, touched)
            try Meta.set(db, "scopes_built", Int64(1))
        }
    }

    /// What `unit` may see of the log after `position` (``ScopedPage``), from one snapshot: at
    /// most `limit` entries and about `maxBytes` after the cursor (at least one), leaving out the
    /// changes `excluding` made itself, then the histories of the records restored. The cost
    /// follows what the unit may see: each of its records is read through the `log_record` index.
    public func scopedChanges(after position: Int64, unit: String, limit: Int, maxBytes: Int = Int.max, excluding: ReplicaID? = nil)
        throws -> ScopedPage
    {
        try read { db in
            let names = try ReplicaNames.load(db)
            let skip = excluding.flatMap { e in names.byRid.first { $0.value == e }?.key } ?? -1
            let columns = Store.logColumns.split(separator: ",").map { "l." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
            // Records everyone sees, through their partial index; the unit's records, through its
            // grants and the index by record.
            let q = try FastStatement(db, """
                SELECT \(columns) FROM log l INDEXED BY \(everyoneIndex) WHERE \(everyoneCondition("l.")) AND l.seq > ?1 AND l.rid <> ?2
                UNION ALL
                SELECT \(columns) FROM scope_grant g JOIN log l ON l.record = g.record AND l.kind = g.kind
                WHERE g.unit = ?3 AND g.revoked IS NULL AND l.seq > ?1 AND l.rid <> ?2 AND (g.granted <= ?1 OR l.seq >= g.granted)
                ORDER BY 1 LIMIT ?4
                """)
            defer { q.reset() }
            q.bind(1, position); q.bind(2, skip); q.bind(3, unit); q.bind(4, Int64(limit) + 1)
            var (entries, more) = try Self.page(q, names: names, limit: limit, maxBytes: maxBytes)
            let head = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM log") ?? 0
            let upto = more ? (entries.last?.seq ?? position) : head
            // Records granted after the cursor (up to where this page reaches): their whole history
            // up to there, the reader's own changes included (it rebuilds them from it), in place
            // of their entries in the page. Entries of a record from before its grant are never in
            // a page (the condition on `granted` above): they come with its restoration.
            let restored = try Row.fetchAll(db, sql: """
                SELECT kind, record FROM scope_grant WHERE unit = ? AND revoked IS NULL AND granted > ? AND granted <= ?
                """, arguments: [unit, position, upto]).map { RecordRef(kind: $0["kind"], id: $0["record"]) }
            if !restored.isEmpty {
                let set = Set(restored)
                entries.removeAll { set.contains($0.change.record) }
                let h = try FastStatement(db, "SELECT \(Store.logColumns) FROM log WHERE record = ? AND kind = ? AND seq <= ? ORDER BY seq")
                defer { h.reset() }
                for r in restored {
                    h.bind(1, r.id); h.bind(2, r.kind); h.bind(3, upto)
                    while try h.step() { entries.append(try Coding.change(h, names: names)) }
                    h.reset()
                }
            }
            let purged = try Row.fetchAll(db, sql: """
                SELECT kind, record FROM scope_grant WHERE unit = ? AND revoked IS NOT NULL AND revoked > ? AND revoked <= ?
                """, arguments: [unit, position, upto]).map { RecordRef(kind: $0["kind"], id: $0["record"]) }
            return ScopedPage(entries: entries, head: head, more: more, next: max(position, upto), restored: restored, purged: purged)
        }
    }

    /// The log's head after a push that gave `result`, with the position after which nothing up
    /// to that head is for the pusher to pull (`Protocol/sync.md` §6.2), when there is one: the
    /// push's entries end at the head and are all its sender's own (which no pull of the sender
    /// returns), and no record was granted to `unit` or revoked from it in their span (with no
    /// `unit`, the sender sees every record and grants do not matter). The entries are one
    /// transaction's, so nothing else lies between them.
    public func headAfterPush(_ result: ApplyResult, unit: String?) throws -> (head: Int64, quietAfter: Int64?) {
        try read { db in
            let head = try Self.head(db)
            guard let span = result.logged, span.onlySender, span.last == head else { return (head, nil) }
            let before = span.first - 1
            if let unit {
                let changed = try Bool.fetchOne(db, sql: """
                    SELECT EXISTS (SELECT 1 FROM scope_grant WHERE unit = ?1
                      AND ((granted > ?2 AND granted <= ?3) OR (revoked > ?2 AND revoked <= ?3)))
                    """, arguments: [unit, before, head]) ?? true
                if changed { return (head, nil) }
            }
            return (head, before)
        }
    }

    /// The changes `first...last` of `replica` from the log, in counter order (a sealed run).
    public func run(of replica: ReplicaID, from first: UInt64, to last: UInt64) throws -> [Change] {
        try read { db in
            guard let rid = try Int64.fetchOne(db, sql: "SELECT rid FROM replica_name WHERE name = ?", arguments: [replica.rawValue]) else { return [] }
            let names = try ReplicaNames.load(db)
            let q = try FastStatement(db, "SELECT \(Store.logColumns) FROM log WHERE rid = ? AND counter BETWEEN ? AND ? ORDER BY counter")
            defer { q.reset() }
            q.bind(1, rid); q.bind(2, Int64(bitPattern: first)); q.bind(3, Int64(bitPattern: last))
            var out: [Change] = []
            while try q.step() { out.append(try Coding.change(q, names: names).change) }
            return out
        }
    }

    /// Every change of `record` in the log, in log order (the hub's log holds every change ever
    /// applied; a node's, only what it has still to push).
    public func history(of record: RecordRef) throws -> [Change] {
        try read { db in
            let names = try ReplicaNames.load(db)
            let q = try FastStatement(db, "SELECT \(Store.logColumns) FROM log WHERE record = ? AND kind = ? ORDER BY seq")
            defer { q.reset() }
            q.bind(1, record.id); q.bind(2, record.kind)
            var out: [Change] = []
            while try q.step() { out.append(try Coding.change(q, names: names).change) }
            return out
        }
    }

    /// The state digest of what `unit` may see: records of kinds everyone sees, and the records
    /// granted to it (equal to the digest of a node of that unit that has synced).
    public func digest(unit: String) throws -> String {
        try digest(where: """
            WHERE kind IN (\(everyoneKinds))
               OR EXISTS (SELECT 1 FROM scope_grant g WHERE g.unit = ? AND g.kind = field_value.kind AND g.record = field_value.record AND g.revoked IS NULL)
            """, arguments: [unit])
    }

    /// What a node removed when its hub said it may no longer see some records.
    public struct Purge: Sendable, Hashable {
        /// Records removed.
        public var records = 0
        /// Values removed.
        public var values = 0
        /// Evidence files named by the removed values (their SHA-256), for the caller to delete.
        public var blobs: [String] = []
        public init() {}
    }

    /// Removes `records` from this node (values, waiting changes), inside the transaction that
    /// applies the pull page naming them: they are no longer visible to its unit. `blobField`
    /// names the field whose elements are evidence files (reported, for the caller to delete).
    static func purge(_ s: Statements, _ book: inout Bookkeeping, _ records: [RecordRef], blobField: (kind: String, field: String)?) throws -> Purge {
            var out = Purge()
            for r in records {
                if let blobField, r.kind == blobField.kind {
                    out.blobs += try String.fetchAll(s.db, sql: "SELECT elem FROM field_value WHERE kind = ? AND record = ? AND field = ?",
                                                     arguments: [r.kind, r.id, blobField.field])
                }
                try s.db.execute(sql: "DELETE FROM field_value WHERE kind = ? AND record = ?", arguments: [r.kind, r.id])
                let removed = s.db.changesCount
                try s.db.execute(sql: "DELETE FROM waiting_change WHERE kind = ? AND record = ?", arguments: [r.kind, r.id])
                book.waiting -= s.db.changesCount
                if removed > 0 { out.records += 1 }
                out.values += removed
            }
            if book.waiting < 0 { book.waiting = 0 }
            book.waitingByOrigin = [:]
            return out
    }

    /// Clears `records` and applies their whole history `changes` (in log order) afresh: a record
    /// that became visible again, whose values this node removed earlier, is rebuilt exactly,
    /// whatever dots it had seen. Called inside ``apply`` for a pull's `restored` records.
    /// The node's own changes not yet pushed (its log) are applied again on top: a rebuilt
    /// record keeps this node's unsynced edits. Returns how many of the records the node did not
    /// hold before (a case registered at this node is restored to it too, when its unit's grant
    /// follows entries of its own: it held that one).
    static func rebuild(_ s: Statements, _ book: inout Bookkeeping, _ changes: [Change], schema: Schema) throws -> Int {
        let records = Set(changes.map(\.record))
        var new = 0
        for r in records {
            try s.db.execute(sql: "DELETE FROM field_value WHERE kind = ? AND record = ?", arguments: [r.kind, r.id])
            if s.db.changesCount == 0 { new += 1 }
            // Changes that waited for a history that now arrives whole are in it.
            try s.db.execute(sql: "DELETE FROM waiting_change WHERE kind = ? AND record = ?", arguments: [r.kind, r.id])
            book.waiting = max(0, book.waiting - s.db.changesCount)
        }
        let delivered = Set(changes.map(\.dot))
        var own: [Change] = []
        let names = ReplicaNames(byRid: book.nameByRid)
        let q = try FastStatement(s.db, "SELECT \(Store.logColumns) FROM log WHERE record = ? AND kind = ? ORDER BY seq")
        for r in records {
            q.bind(1, r.id); q.bind(2, r.kind)
            while try q.step() {
                let c = try Coding.change(q, names: names).change
                if !delivered.contains(c.dot) { own.append(c) }
            }
            q.reset()
        }
        var store = SQLiteMergeStore(s, &book, schema: schema)
        defer { store.finish(&book) }
        var run = Merge.Run<Int64>()
        for c in changes + own {
            try Merge.applyReady(c, try store.key(c.dot.replica), into: &store, run: &run, log: false, schema: schema)
        }
        return new
    }

    /// Removes everything this node holds of the organisation's data (every value, waiting
    /// change, unsynced change and seal), keeping only its identity: what a device the hub revoked
    /// does at its next sync. Returns what went, and how many unsynced changes went with it.
    public func purgeEverything() throws -> (purge: Purge, unsynced: Int) {
        try transact { s, book in
            var out = Purge()
            out.records = try Int.fetchOne(s.db, sql: "SELECT count(*) FROM (SELECT DISTINCT kind, record FROM field_value)") ?? 0
            out.values = try Int.fetchOne(s.db, sql: "SELECT count(*) FROM field_value") ?? 0
            let unsynced = try Int.fetchOne(s.db, sql: "SELECT count(*) FROM log") ?? 0
            for table in ["field_value", "waiting_change", "log", "seal", "seal_hash"] { try s.db.execute(sql: "DELETE FROM \(table)") }
            // The log is empty: its next position is 1 again, and nothing is left to push.
            try Meta.set(s.db, "push_cursor", Int64(0))
            book.waiting = 0
            book.waitingByOrigin = [:]
            book.openConflicts = 0
            return (out, unsynced)
        }
    }
}
