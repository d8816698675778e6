import GRDB
import YuqingCore

extension Replica {
    /// Ids of the records of `kind` that hold any value, in order.
    public func recordIDs(kind: String) throws -> [String] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT record FROM field_value WHERE kind = ? ORDER BY record", arguments: [kind])
        }
    }

    /// What a record shows, or nil when this replica holds nothing of it.
    public func view(_ record: RecordRef) throws -> RecordView? {
        try read { db in try self.view(db, record) }
    }

    func view(_ db: Database, _ record: RecordRef, names known: ReplicaNames? = nil) throws -> RecordView? {
        // Read for every request a hub authenticates (the device, its user): the statements are
        // prepared once, and only the few replica numbers the record holds are looked up, not
        // the table of every replica (a hub of a county's devices holds thousands).
        var names = known ?? ReplicaNames()
        let fields = try self.fields(try FastStatement(db, Self.recordValuesSQL), of: record, names: &names)
        return fields.isEmpty ? nil : RecordView(record: record, schema: schema, fields: fields)
    }

    static let recordValuesSQL = "SELECT field, elem, rid, counter, hlc, value, author FROM field_value WHERE kind = ? AND record = ?"

    /// The values of `record` (of `wanted` fields only, when given), through `q`, the prepared
    /// ``recordValuesSQL``: one seek, its rows read in key order, those of other fields skipped
    /// before their values are decoded. Replica numbers `names` lacks are looked up one by one
    /// and added.
    func fields(_ q: FastStatement, of record: RecordRef, wanted: Set<String>? = nil, names: inout ReplicaNames) throws -> [FieldKey: [Sibling]] {
        defer { q.reset() }
        q.bind(1, record.kind)
        q.bind(2, record.id)
        var fields: [FieldKey: [Sibling]] = [:]
        while try q.step() {
            let field = q.text(0)
            guard wanted?.contains(field) ?? true, let value = q.fieldValue(5) else { continue }
            let rid = q.int64(2)
            if names.byRid[rid] == nil { names.byRid[rid] = try ReplicaNames.name(q.db, rid) }
            fields[FieldKey(field, element: q.text(1)), default: []].append(
                Sibling(dot: Dot(replica: try names.name(rid), counter: UInt64(q.int64(3))), hlc: HLC(packed: UInt64(q.int64(4))), value: value, author: q.text(6)))
        }
        return fields
    }

    /// Every open conflict this replica holds.
    public func conflicts() throws -> [Conflict] {
        try read { db in try self.conflicts(db) }
    }

    /// How many conflicts are open: a count kept up to date by every merge, so this reads one row.
    public func openConflictCount() throws -> Int {
        if let n: Int = try read({ db in try Meta.get(db, "open_conflicts") }) { return n }
        return try transact { _, book in book.openConflicts }  // not counted yet: count once
    }

    func conflicts(_ db: Database) throws -> [Conflict] {
        let names = try ReplicaNames.load(db)
        var out: [Conflict] = []
        var current: (RecordRef, FieldKey)?
        var siblings: [Sibling] = []
        func finish() {
            if let (record, field) = current, siblings.count > 1,
               let c = Conflict.detect(record: record, field: field, siblings: siblings, rule: schema.rule(for: record, field)) {
                out.append(c)
            }
            siblings.removeAll(keepingCapacity: true)
        }
        let rows = try Row.fetchCursor(db, sql: """
            SELECT kind, record, field, elem, rid, counter, hlc, value, author FROM field_value
            WHERE (kind, record, field, elem) IN (
              SELECT kind, record, field, elem FROM field_value GROUP BY kind, record, field, elem HAVING count(*) > 1)
            ORDER BY kind, record, field, elem
            """)
        while let row = try rows.next() {
            let key = (RecordRef(kind: row["kind"], id: row["record"]), FieldKey(row["field"], element: row["elem"]))
            if let c = current, c != key { finish() }
            current = key
            if let s = try Coding.sibling(row, names: names) { siblings.append(s) }
        }
        finish()
        return out
    }

    /// Resolves an open conflict with a new write whose context covers every value in conflict.
    /// Returns the change and its position in this replica's log.
    public func resolve(conflictID: String, value: FieldValue, author: String) throws -> (change: Change, seq: Int64) {
        try transact(localOnly: true) { s, book in
            guard let conflict = try self.conflicts(s.db).first(where: { $0.id == conflictID }) else {
                throw ReplicaError(.notFound, "no open conflict \(conflictID): it was resolved already, or a new concurrent value changed it; run `yuqing conflicts list`",
                                   zh: "没有待处理的冲突 \(conflictID)：它已被解决，或有新的并发值改变了它；请运行 `yuqing conflicts list`")
            }
            // Fields this schema does not know (from a newer one) are flagged, so they must be resolvable.
            if schema.records[conflict.record.kind]?.field(conflict.field.name) != nil {
                do { try schema.validate(conflict.record, conflict.field, value) } catch let error as SchemaError {
                    throw ReplicaError(.invalidWrite, error.message, zh: ReplicaError.chineseMessage(of: error))
                }
            }
            return try self.writeLocked(s, &book, [Write(conflict.record, conflict.field, value)], author: author,
                                        expectedContext: conflict.resolutionContext)[0]
        }
    }

    /// A hash of the visible state; equal on replicas that have converged.
    public func digest() throws -> String { try digest(where: "", arguments: []) }

    /// The digest of the values `condition` (a WHERE clause over `field_value`, or empty) keeps.
    func digest(where condition: String, arguments: StatementArguments) throws -> String {
        try read { db in
            var digest = StateDigest(schema: schema)
            let names = try ReplicaNames.load(db)
            var current: (RecordRef, FieldKey)?
            var siblings: [Sibling] = []
            let rows = try Row.fetchCursor(db, sql: """
                SELECT kind, record, field, elem, rid, counter, hlc, value, author FROM field_value \(condition)
                ORDER BY kind, record, field, elem
                """, arguments: arguments)
            while let row = try rows.next() {
                let key = (RecordRef(kind: row["kind"], id: row["record"]), FieldKey(row["field"], element: row["elem"]))
                if let c = current, c != key {
                    digest.add(record: c.0, field: c.1, siblings: siblings)
                    siblings.removeAll(keepingCapacity: true)
                }
                current = key
                if let s = try Coding.sibling(row, names: names) { siblings.append(s) }
            }
            if let c = current { digest.add(record: c.0, field: c.1, siblings: siblings) }
            return digest.finalize()
        }
    }
}

extension Replica {
    /// Every record of the given kinds, from one snapshot.
    public func views(kinds: [String]) throws -> [RecordView] {
        try read { db in try self.views(db, kinds: kinds) }
    }

    /// Every record of `kinds`, one scan per kind. On a hub, when every kind is one everyone sees,
    /// the result is kept with the last log position of those kinds (one probe of their partial
    /// index, made when the hub starts: ``buildScopesIfNeeded()``): a hub changes a value only by logging a change, so an equal position means equal
    /// views, and the check of every push reads the organisation once per change of it.
    func views(_ db: Database, kinds: [String]) throws -> [RecordView] {
        var version: Int64?
        if role == .hub, Set(kinds).isSubset(of: schema.unscopedKinds), try kindViews.indexed(db, everyoneIndex) {
            version = try Int64.fetchOne(db.cachedStatement(sql: """
                SELECT coalesce(max(seq), 0) FROM log INDEXED BY \(everyoneIndex) WHERE \(everyoneCondition())
                """)) ?? 0
            if let version, let kept = kindViews.get(kinds, version) { return kept }
        }
        // Every replica's name, read only when the views are read (not when they were kept).
        let names = try ReplicaNames.load(db)
        var out: [RecordView] = []
        for kind in kinds {
            var current: String?
            var fields: [FieldKey: [Sibling]] = [:]
            func finish() {
                if let current, !fields.isEmpty { out.append(RecordView(record: RecordRef(kind: kind, id: current), schema: schema, fields: fields)) }
                fields.removeAll(keepingCapacity: true)
            }
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT record, field, elem, rid, counter, hlc, value, author FROM field_value WHERE kind = ? ORDER BY record
                """), arguments: [kind])
            while let row = try rows.next() {
                let record: String = row["record"]
                if record != current {
                    finish()
                    current = record
                }
                if let s = try Coding.sibling(row, names: names) { fields[FieldKey(row["field"], element: row["elem"]), default: []].append(s) }
            }
            finish()
        }
        if let version { kindViews.set(kinds, version, out) }
        return out
    }

    /// What a check of pushed changes reads, from one read transaction: the changes this replica
    /// does not hold yet, every record of `kinds`, and the records of `recordKind` those changes
    /// write, with only `fields`.
    ///
    /// On a hub the touched records' fields come from the ``FieldCache`` when it is of this
    /// snapshot's log position, and those it lacks are read and kept there.
    public func ruleInputs(_ changes: [Change], kinds: [String], recordKind: String, fields: [String]) throws
        -> (fresh: [Change], all: [RecordView], touched: [RecordView])
    {
        try read { db in
            let fresh = try self.unseen(db, changes)
            var records = Set<RecordRef>()
            for c in fresh where c.record.kind == recordKind { records.insert(c.record) }
            let all = try self.views(db, kinds: kinds)
            guard role == .hub else {
                let held = try self.fields(db, Array(records), fields: fields)
                return (fresh, all, held.map { RecordView(record: $0.key, schema: schema, fields: $0.value) })
            }
            let touched = try fieldCache.views(of: Array(records), kind: recordKind, fields: Set(fields), position: Self.head(db), schema: schema) {
                try self.fields(db, $0, fields: fields)
            }
            return (fresh, all, touched)
        }
    }

    /// The `fields` of `records` that hold any of them: one seek per record, its rows read in key
    /// order and those of other fields skipped before their values are decoded. (Asking for the
    /// fields by an `IN` list made SQLite seek once per record and field, nine seeks for each case
    /// a push touches, and built the statement anew for each hundred records.)
    /// The records' replicas are looked up as they come (``fields(_:of:wanted:names:)``), not the
    /// whole table read for every push.
    func fields(_ db: Database, _ records: [RecordRef], fields: [String]) throws -> [RecordRef: [FieldKey: [Sibling]]] {
        let wanted = Set(fields)
        let q = try FastStatement(db, Self.recordValuesSQL)
        var names = ReplicaNames()
        var out: [RecordRef: [FieldKey: [Sibling]]] = [:]
        out.reserveCapacity(records.count)
        for record in records {
            let held = try self.fields(q, of: record, wanted: wanted, names: &names)
            if !held.isEmpty { out[record] = held }
        }
        return out
    }

    /// The changes of `changes` whose dots this replica has neither applied nor holds waiting.
    /// Reads the stored seen ranges (one query per replica in the batch), not the bookkeeping.
    public func unseen(_ changes: [Change]) throws -> [Change] {
        try read { db in try self.unseen(db, changes) }
    }

    func unseen(_ db: Database, _ changes: [Change]) throws -> [Change] {
        // The counters each replica's changes span, without copying the changes: a push is
        // usually one replica's run, all of it new, and is then returned as it came.
        var spans: [ReplicaID: (lo: UInt64, hi: UInt64)] = [:]
        for c in changes {
            let n = c.dot.counter
            let span = spans[c.dot.replica] ?? (n, n)
            spans[c.dot.replica] = (min(span.lo, n), max(span.hi, n))
        }
        var seen: [ReplicaID: (ranges: [(UInt64, UInt64)], waiting: Set<UInt64>)] = [:]
        for (replica, span) in spans {
            guard let rid = try Int64.fetchOne(db.cachedStatement(sql: "SELECT rid FROM replica_name WHERE name = ?"), arguments: [replica.rawValue]) else {
                continue
            }
            let lo = Int64(clamping: span.lo), hi = Int64(clamping: span.hi)
            let ranges = try Row.fetchAll(db.cachedStatement(sql: "SELECT lo, hi FROM seen_range WHERE rid = ? AND hi >= ? AND lo <= ?"),
                                          arguments: [rid, lo, hi]).map { (UInt64($0["lo"] as Int64), UInt64($0["hi"] as Int64)) }
            let waiting = Set(try Int64.fetchAll(db.cachedStatement(sql: "SELECT counter FROM waiting_change WHERE rid = ? AND counter BETWEEN ? AND ?"),
                                                 arguments: [rid, lo, hi]).map(UInt64.init))
            if !ranges.isEmpty || !waiting.isEmpty { seen[replica] = (ranges, waiting) }
        }
        // In the order given.
        if seen.isEmpty { return changes }
        return changes.filter { c in
            guard let s = seen[c.dot.replica] else { return true }
            let n = c.dot.counter
            return !s.waiting.contains(n) && !s.ranges.contains(where: { $0.0 <= n && n <= $0.1 })
        }
    }
}

extension Replica {
    /// An application's setting kept in the replica file (a node's user and roles): not replicated.
    public func attribute(_ key: String) throws -> String? {
        try read { db in try Meta.get(db, "app." + key) }
    }

    /// Sets an application's setting in the replica file.
    public func setAttribute(_ key: String, _ value: String) throws {
        try write { db in try Meta.set(db, "app." + key, value) }
    }

    /// Reads and removes a setting in one transaction: of two callers, only one gets it (a
    /// one-time enrolment code).
    public func takeAttribute(_ key: String) throws -> String? {
        try write { db in
            guard let value: String = try Meta.get(db, "app." + key) else { return nil }
            try db.execute(sql: "DELETE FROM meta WHERE key = ?", arguments: ["app." + key])
            return value
        }
    }

}

extension Replica {
    /// The distinct elements of a set, log or map field across the records of `kind` (the
    /// evidence a replica references, by digest).
    ///
    /// Read through a partial index of the field's elements (made on first use, kept by SQLite
    /// from then on): without it every record of `kind` is read, a fifth of a second on a node of
    /// 100,000 cases at every sync.
    public func elements(kind: String, field: String) throws -> [String] {
        guard let index = try elementIndex(kind: kind, field: field) else {
            return try read { db in
                try String.fetchAll(db, sql: "SELECT DISTINCT elem FROM field_value WHERE kind = ? AND field = ? ORDER BY elem", arguments: [kind, field])
            }
        }
        // The condition spelt as the index's (a bound value would not let SQLite use it).
        return try read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT elem FROM field_value INDEXED BY \(index) WHERE \(Self.elementCondition(kind: kind, field: field)) ORDER BY elem")
        }
    }

    /// The name of the partial index of the elements of `(kind, field)`, made if there is none;
    /// nil when it cannot be made (a replica opened read-only) or the names are not the schema's
    /// kind of name (letters, digits and `_`, which the index's name and condition are spelt with).
    ///
    /// An index of the name made by an earlier version, with the condition spelt without the
    /// unary `+` (``elementCondition(kind:field:)``), is made again in the current form.
    func elementIndex(kind: String, field: String) throws -> String? {
        guard let (name, sql) = Self.elementIndexSQL(kind: kind, field: field) else { return nil }
        let held = try read { db in try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [name]) }
        if held != sql {
            do {
                try pool.write { db in
                    if held != nil { try db.execute(sql: "DROP INDEX \(name)") }
                    try db.execute(sql: sql)
                }
            } catch { return nil }
        }
        return name
    }

    /// Makes the partial index of the elements of `(kind, field)` now (the hub, for the field
    /// that names evidence: its snapshots carry the index to new nodes).
    public func indexElements(kind: String, field: String) throws { _ = try elementIndex(kind: kind, field: field) }

    /// The name and statement of the partial index of the elements of `(kind, field)`, or nil
    /// when the names hold other characters than letters, digits and `_`.
    static func elementIndexSQL(kind: String, field: String) -> (name: String, sql: String)? {
        let safe = { (s: String) in !s.isEmpty && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 } }
        guard safe(kind), safe(field) else { return nil }
        let name = "field_value_elements_\(kind)_\(field)"
        return (name, "CREATE INDEX \(name) ON field_value (elem) WHERE \(elementCondition(kind: kind, field: field))")
    }

    /// The condition of the element index of `(kind, field)`, spelt with a unary `+` on each
    /// column. A partial index whose condition compares a column with a constant makes SQLite
    /// compile every statement that compares the same column with a bound value once more at
    /// each new binding, to see whether the value lets it use the index (measured: the delete of
    /// a value, run for most pushed changes, was compiled again every time, 16% of the hub's
    /// work in a push). `+kind` is not the column `kind` to that comparison, so the statements of
    /// the merge are compiled once; a query reads through the index by spelling its condition
    /// alike, with `INDEXED BY`.
    static func elementCondition(kind: String, field: String) -> String {
        "+kind = '\(kind)' AND +field = '\(field)'"
    }

    /// The `(kind, field)` an element index's statement was made for, when it is exactly the
    /// statement ``elementIndexSQL(kind:field:)`` makes.
    ///
    /// - Parameter earlier: also the spelling of earlier versions, without the unary `+`
    ///   (a snapshot made by an earlier hub; the node makes its index again in the current form
    ///   at its first sync, ``elementIndex(kind:field:)``).
    static func elementIndexFields(_ sql: String, earlier: Bool = false) -> (kind: String, field: String)? {
        // The earlier spelling, read as the current one.
        let sql = earlier ? sql.replacingOccurrences(of: " WHERE kind = '", with: " WHERE +kind = '")
            .replacingOccurrences(of: "' AND field = '", with: "' AND +field = '") : sql
        guard let w = sql.range(of: " WHERE +kind = '") else { return nil }
        let rest = sql[w.upperBound...]
        guard let k = rest.range(of: "' AND +field = '"), rest.hasSuffix("'") else { return nil }
        let kind = String(rest[..<k.lowerBound]), field = String(rest[k.upperBound..<rest.index(before: rest.endIndex)])
        guard let made = elementIndexSQL(kind: kind, field: field), made.sql == sql else { return nil }
        return (kind, field)
    }
}

extension Replica {
    /// True when some record of `kind` holds a value under the field key `(field, element)`.
    public func holds(kind: String, field: String, element: String) throws -> Bool {
        try read { db in
            try Int.fetchOne(db, sql: "SELECT 1 FROM field_value WHERE kind = ? AND field = ? AND elem = ? LIMIT 1",
                             arguments: [kind, field, element]) != nil
        }
    }
}
