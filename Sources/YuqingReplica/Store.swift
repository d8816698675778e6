import GRDB
import YuqingCore

/// The prepared statements of one write transaction.
struct Statements {
    let siblings, deleteSibling, insertSibling, insertLog, insertWaiting, waitingExists: FastStatement
    let begin, commit, dataVersion, lastSeq: FastStatement
    let db: Database

    init(_ db: Database) throws {
        self.db = db
        begin = try FastStatement(db, "BEGIN IMMEDIATE")
        commit = try FastStatement(db, "COMMIT")
        dataVersion = try FastStatement(db, "PRAGMA data_version")
        lastSeq = try FastStatement(db, "SELECT max(seq) FROM log")
        siblings = try FastStatement(db, """
            SELECT rid, counter, hlc, value, author FROM field_value WHERE kind = ? AND record = ? AND field = ? AND elem = ?
            """)
        deleteSibling = try FastStatement(db, """
            DELETE FROM field_value WHERE kind = ? AND record = ? AND field = ? AND elem = ? AND rid = ? AND counter = ?
            """)
        insertSibling = try FastStatement(db, """
            INSERT INTO field_value (kind, record, field, elem, rid, counter, hlc, value, author) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insertLog = try FastStatement(db, """
            INSERT INTO log (rid, counter, hlc, kind, record, field, elem, value, context, author) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insertWaiting = try FastStatement(db, """
            INSERT INTO waiting_change (rid, counter, hlc, kind, record, field, elem, value, context, author, logged,
              origin, need_rid, need_counter)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        waitingExists = try FastStatement(db, "SELECT 1 FROM waiting_change WHERE rid = ? AND counter = ?")
    }

    func bindKey(_ s: FastStatement, _ record: RecordRef, _ field: FieldKey) {
        s.bind(1, record.kind)
        s.bind(2, record.id)
        s.bind(3, field.name)
        s.bind(4, field.element)
    }
}

/// The merge, performed against the replica's tables: the same steps as
/// ``YuqingCore/ReplicaState/apply(_:physicalMillis:)``, with the field logic itself in
/// ``YuqingCore/FieldState``. The seen set and the replica-id table live in ``Bookkeeping``.
enum Store {
    /// The columns ``change(_:_:)`` reads, in order.
    static let logColumns = "seq, rid, counter, hlc, kind, record, field, elem, value, context, author"

    /// The values a field holds now.
    static func siblings(_ s: Statements, _ book: Bookkeeping, _ record: RecordRef, _ field: FieldKey) throws -> [Sibling] {
        let q = s.siblings
        defer { q.reset() }
        s.bindKey(q, record, field)
        var out: [Sibling] = []
        while try q.step() {
            guard let value = q.fieldValue(3) else { continue }
            out.append(Sibling(dot: Dot(replica: try book.name(q.int64(0)), counter: UInt64(q.int64(1))),
                               hlc: HLC(packed: UInt64(q.int64(2))), value: value, author: q.text(4)))
        }
        return out
    }

    static func isWaiting(_ s: Statements, _ rid: Int64, _ counter: UInt64) throws -> Bool {
        let q = s.waitingExists
        defer { q.reset() }
        q.bind(1, rid)
        q.bind(2, Int64(counter))
        return try q.step()
    }

    /// The highest counter of `rid` among waiting changes (a dot that waits is taken, too).
    static func maxWaitingCounter(_ db: Database, _ rid: Int64) throws -> UInt64 {
        UInt64(try Int64.fetchOne(db, sql: "SELECT max(counter) FROM waiting_change WHERE rid = ?", arguments: [rid]) ?? 0)
    }

    static func waitingRows(_ db: Database, _ book: Bookkeeping, where condition: String, _ args: [Int64]) throws -> [ParkedChange<Int64>] {
        let q = try FastStatement(db, """
            SELECT 0, rid, counter, hlc, kind, record, field, elem, value, context, author, logged, origin
            FROM waiting_change WHERE \(condition)
            """)
        defer { q.reset() }
        for (i, a) in args.enumerated() { q.bind(Int32(i + 1), a) }
        let names = ReplicaNames(byRid: book.nameByRid)
        var rows: [ParkedChange<Int64>] = []
        while try q.step() {
            rows.append(ParkedChange(change: try Coding.change(q, names: names).change, key: q.int64(1),
                                     logged: q.int64(11) != 0, origin: q.int64(12)))
        }
        return rows
    }

    /// Binds a change to parameters 1–10 of a log or waiting-change insert (the same columns):
    /// its numbers to `q` at once, its texts into `arena`, which binds them when it runs `q`.
    static func bindChange(_ q: FastStatement, _ change: Change, rid: Int64, _ book: inout Bookkeeping, _ db: Database,
                           texts arena: inout TextArena) throws {
        arena.begin()
        q.bind(1, rid)
        q.bind(2, Int64(change.dot.counter))
        q.bind(3, Int64(change.hlc.packed))
        arena.add(4, change.record.kind)
        arena.add(5, change.record.id)
        arena.add(6, change.field.name)
        arena.add(7, change.field.element)
        arena.add(8, change.value, to: q)
        if change.context.isEmpty { q.bindNull(9) } else { q.bind(9, blob: try ContextBlob.encode(change.context, &book, db)) }
        arena.add(10, change.author)
    }
}

/// A context as stored: a count, then each dot as an interned replica number and a counter,
/// all unsigned LEB128 varints.
enum ContextBlob {
    static func encode(_ dots: [Dot], _ book: inout Bookkeeping, _ db: Database) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1 + dots.count * 4)
        varint(UInt64(dots.count), &out)
        for d in dots {
            varint(UInt64(try book.rid(d.replica, db)), &out)
            varint(d.counter, &out)
        }
        return out
    }

    static func decode(_ bytes: [UInt8], names: (Int64) throws -> ReplicaID) throws -> [Dot] {
        if bytes.isEmpty { return [] }
        var i = 0
        func next() throws -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < bytes.count, shift < 64 else { throw ReplicaError(.corrupt, "unreadable context in the change log", zh: "变更日志中的上下文无法读取") }
                let b = bytes[i]
                i += 1
                value |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return value }
                shift += 7
            }
        }
        let n = try next()
        guard n <= UInt64(bytes.count) else { throw ReplicaError(.corrupt, "unreadable context in the change log", zh: "变更日志中的上下文无法读取") }
        var dots: [Dot] = []
        dots.reserveCapacity(Int(n))
        for _ in 0..<n { dots.append(Dot(replica: try names(Int64(try next())), counter: try next())) }
        return dots
    }

    static func varint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }
}

/// The `meta` table: one value per key.
enum Meta {
    /// Read through SQLite's C API: a local write reads several settings, and GRDB's generic fetch
    /// costs more than the lookup itself.
    static func get<T: DatabaseValueConvertible>(_ db: Database, _ key: String) throws -> T? {
        let q = try FastStatement(db, "SELECT value FROM meta WHERE key = ?")
        defer { q.reset() }
        q.bind(1, key)
        guard try q.step() else { return nil }
        return T.fromDatabaseValue(DatabaseValue(sqliteStatement: q.handle, index: 0))
    }

    static func set(_ db: Database, _ key: String, _ value: some DatabaseValueConvertible) throws {
        try db.cachedStatement(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .execute(arguments: [key, value])
    }
}
