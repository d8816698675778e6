import GRDB
import YuqingCore

/// The replica's tables as the store the merge (``YuqingCore/Merge``) runs over, inside one
/// write transaction: the seen set and the interned replica ids from ``Bookkeeping`` (in memory,
/// written back before the commit), the rest through the transaction's prepared statements.
struct SQLiteMergeStore: MergeStore {
    let s: Statements
    var book: Bookkeeping
    let schema: Schema
    /// The log position of the last change appended.
    var lastSeq: Int64 = 0
    /// What this store appended to the log: its first and last positions, and the one replica
    /// (its key) that made every change of it, nil when several did (``ApplyResult/logged``).
    var firstSeq: Int64?
    var loggedBy: Int64?
    var loggedByOne = true
    /// The texts of the row being inserted (``TextArena``).
    var arena = TextArena()

    init(_ s: Statements, _ book: inout Bookkeeping, schema: Schema) {
        self.s = s
        self.book = Bookkeeping()
        self.schema = schema
        swap(&self.book, &book)
    }

    /// Hands the bookkeeping back to the transaction.
    mutating func finish(_ book: inout Bookkeeping) { swap(&self.book, &book) }

    mutating func key(_ replica: ReplicaID) throws -> Int64 { try book.rid(replica, s.db) }
    func name(_ key: Int64) throws -> ReplicaID { try book.name(key) }
    func isApplied(_ key: Int64, _ counter: UInt64) -> Bool { book.isSeen(key, counter) }
    func isWaiting(_ key: Int64, _ counter: UInt64) throws -> Bool { try Store.isWaiting(s, key, counter) }

    /// Only changes this replica logs or holds waiting can be compared: on a node, what it
    /// pulled from the hub was checked by the hub.
    func held(_ key: Int64, _ counter: UInt64) throws -> Change? {
        let names = ReplicaNames(byRid: book.nameByRid)
        for table in ["log", "waiting_change"] {
            let q = try FastStatement(s.db, "SELECT \(Store.logColumns.replacingOccurrences(of: "seq,", with: "0,")) FROM \(table) WHERE rid = ? AND counter = ?")
            defer { q.reset() }
            q.bind(1, key)
            q.bind(2, Int64(counter))
            if try q.step() { return try Coding.change(q, names: names).change }
        }
        return nil
    }

    var waitingTotal: Int { book.waiting }
    func waiting(from origin: Int64) -> Int { book.waitingByOrigin[origin, default: 0] }

    mutating func park(_ change: Change, _ key: Int64, needing: Dot, logged: Bool, origin: Int64) throws {
        let w = s.insertWaiting
        try Store.bindChange(w, change, rid: key, &book, s.db, texts: &arena)
        w.bind(11, logged ? 1 : 0)
        w.bind(12, origin)
        w.bind(13, try book.rid(needing.replica, s.db))
        w.bind(14, Int64(needing.counter))
        try arena.run(w)
        book.waiting += 1
        book.waitingByOrigin[origin, default: 0] += 1
    }

    mutating func release(waitingFor key: Int64, _ counter: UInt64) throws -> [ParkedChange<Int64>] {
        try take(where: "need_rid = ? AND need_counter = ?", [key, Int64(counter)]).sorted { $0.change.dot < $1.change.dot }
    }

    /// Removes and returns the waiting rows `condition` selects.
    mutating func take(where condition: String, _ args: [Int64]) throws -> [ParkedChange<Int64>] {
        let rows = try Store.waitingRows(s.db, book, where: condition, args)
        for w in rows {
            try s.db.execute(sql: "DELETE FROM waiting_change WHERE rid = ? AND counter = ?", arguments: [w.key, Int64(w.change.dot.counter)])
            book.waiting -= 1
            book.waitingByOrigin[w.origin, default: 1] -= 1
            if book.waitingByOrigin[w.origin] == 0 { book.waitingByOrigin[w.origin] = nil }
        }
        return rows
    }

    mutating func markApplied(_ key: Int64, _ counter: UInt64) { book.markSeen(key, counter) }

    /// The count of open conflicts is kept as the merge goes (one row read by `status`).
    var countsConflicts: Bool { true }
    func values(_ record: RecordRef, _ field: FieldKey) throws -> [Sibling] { try Store.siblings(s, book, record, field) }
    mutating func adjustOpenConflicts(by delta: Int) { book.openConflicts += delta }

    mutating func remove(_ dots: [Dot], from record: RecordRef, _ field: FieldKey) throws {
        if let w = book.fieldWatch, record.kind == w.kind, w.fields.contains(field.name) { book.fieldOps.append(.remove(record.id, field, dots)) }
        let delete = s.deleteSibling
        for dot in dots {
            defer { delete.reset() }
            s.bindKey(delete, record, field)
            delete.bind(5, try book.rid(dot.replica, s.db))
            delete.bind(6, Int64(dot.counter))
            _ = try delete.step()
        }
    }

    mutating func add(_ value: Sibling, _ key: Int64, to record: RecordRef, _ field: FieldKey) throws {
        if let w = book.fieldWatch, record.kind == w.kind, w.fields.contains(field.name) { book.fieldOps.append(.add(record.id, field, value)) }
        let insert = s.insertSibling
        arena.begin()
        arena.add(1, record.kind)
        arena.add(2, record.id)
        arena.add(3, field.name)
        arena.add(4, field.element)
        insert.bind(5, key)
        insert.bind(6, Int64(value.dot.counter))
        insert.bind(7, Int64(value.hlc.packed))
        arena.add(8, value.value, to: insert)
        arena.add(9, value.author)
        try arena.run(insert)
    }

    /// Logs the change; at the hub, a change of a visibility field marks its record for the
    /// grants to be brought up to date before the commit (``Replica/updateScopes(_:_:)``).
    mutating func append(_ change: Change, _ key: Int64) throws {
        let insert = s.insertLog
        try Store.bindChange(insert, change, rid: key, &book, s.db, texts: &arena)
        try arena.run(insert)
        let seq = s.db.lastInsertedRowID
        lastSeq = seq
        if firstSeq == nil { firstSeq = seq; loggedBy = key } else if loggedBy != key { loggedByOne = false }
        if let visibleTo = schema.records[change.record.kind]?.visibleTo, visibleTo.contains(change.field.name) {
            book.scopeTouched[change.record, default: ScopeTouch()].note(change, at: seq)
        }
    }
}

extension ReplicaError {
    /// A batch the merge refused, as the replica's error with the same meaning.
    package init(_ refusal: MergeRefusal) {
        let code: Code = switch refusal.code {
        case .dotReused: .dotReused
        case .foreignOwnDot: .foreignOwnDot
        case .tooManyWaiting: .tooManyWaiting
        }
        self.init(code, refusal.message, zh: refusal.chinese, cause: refusal)
    }
}
