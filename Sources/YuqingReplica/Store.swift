import GRDB
import YuqingCore

/// The prepared statements of one write transaction.
struct Statements {
    let siblings, deleteSibling, insertSibling, insertLog, insertWaiting, waitingExists: FastStatement
    let begin, commit, dataVersion: FastStatement
    let db: Database

    init(_ db: Database) throws {
        self.db = db
        begin = try FastStatement(db, "BEGIN IMMEDIATE")
        commit = try FastStatement(db, "COMMIT")
        dataVersion = try FastStatement(db, "PRAGMA data_version")
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

    enum Outcome { case applied, duplicate, pending }

    /// Merges one change with causal delivery: a change whose context names a dot not applied
    /// here yet waits in `waiting_change`, indexed by that dot, until it is. With `log`, the
    /// change joins the log (everything on the hub; on a node, what it still has to push).
    /// `origin` is the interned id of the replica that sent it, against which `limits` count.
    static func apply(_ s: Statements, _ book: inout Bookkeeping, _ change: Change, log: Bool, origin: Int64,
                      limits: WaitingLimits?, own: ReplicaID?, schema: Schema) throws -> Outcome {
        let rid = try book.rid(change.dot.replica, s.db)
        let counter = change.dot.counter
        if book.isSeen(rid, counter) {
            try checkSameAsHeld(s.db, book, change, rid: rid)
            return .duplicate
        }
        if book.waiting > 0, try isWaiting(s, rid, counter) {
            try checkSameAsHeld(s.db, book, change, rid: rid)
            return .duplicate
        }
        if let own, change.dot.replica == own {
            throw ReplicaError(.foreignOwnDot, "change \(change.dot) is under this replica's own id \(own), which only it may use; nothing of this batch was stored",
                               zh: "变更 \(change.dot) 使用的是本副本自己的标识 \(own)，该标识只能由本副本使用；本批变更均未保存")
        }
        guard let missing = change.context.first(where: { !book.isSeen($0) }) else {
            try applyReady(s, &book, change, rid: rid, log: log, schema: schema)
            return .applied
        }
        if let limits {
            let mine = book.waitingByOrigin[origin, default: 0]
            if mine >= limits.perReplica || book.waiting >= limits.total {
                let who = (try? book.name(origin)).map { "replica \($0)" } ?? "its sender"
                throw ReplicaError(.tooManyWaiting, "\(mine) changes from \(who) already wait here for changes never received (at most \(limits.perReplica) per replica, \(limits.total) in all); nothing of this batch was stored. Push the changes they build on first (sync the node that made them), or ask the hub operator",
                                   zh: "来自 \(who) 的 \(mine) 条变更已在此等待从未收到的变更（每个副本最多 \(limits.perReplica) 条，总计最多 \(limits.total) 条）；本批变更均未保存。请先推送它们所依赖的变更（同步生成这些变更的节点），或联系中心运维人员")
            }
        }
        let w = s.insertWaiting
        defer { w.reset() }
        try bindChange(w, change, rid: rid, &book, s.db)
        w.bind(11, log ? 1 : 0)
        w.bind(12, origin)
        w.bind(13, try book.rid(missing.replica, s.db))
        w.bind(14, Int64(missing.counter))
        _ = try w.step()
        book.waiting += 1
        book.waitingByOrigin[origin, default: 0] += 1
        return .pending
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

    /// Applies the waiting changes that the dots applied in this transaction release, and those
    /// they release in turn. Each waiting change is looked up by the dot it waits for, so the
    /// cost follows what this transaction applied, never how much waits. Returns how many applied.
    static func drainWaiting(_ s: Statements, _ book: inout Bookkeeping, schema: Schema) throws -> Int {
        var applied = 0
        // Rows from an older layout carry no dot to wait for: give them one, once.
        var queue = try waitingRows(s.db, book, where: "need_rid IS NULL", [])
        while true {
            for w in queue {
                if let missing = w.change.context.first(where: { !book.isSeen($0) }) {
                    try s.db.execute(sql: "UPDATE waiting_change SET need_rid = ?, need_counter = ? WHERE rid = ? AND counter = ?",
                                     arguments: [try book.rid(missing.replica, s.db), Int64(missing.counter), w.rid, Int64(w.change.dot.counter)])
                    continue
                }
                try s.db.execute(sql: "DELETE FROM waiting_change WHERE rid = ? AND counter = ?", arguments: [w.rid, Int64(w.change.dot.counter)])
                book.waiting -= 1
                book.waitingByOrigin[w.origin, default: 1] -= 1
                if book.waitingByOrigin[w.origin] == 0 { book.waitingByOrigin[w.origin] = nil }
                try applyReady(s, &book, w.change, rid: w.rid, log: w.logged, schema: schema)
                applied += 1
            }
            guard book.waiting > 0, let (rid, counter) = book.released.popLast() else { break }
            queue = try waitingRows(s.db, book, where: "need_rid = ? AND need_counter = ?", [rid, Int64(counter)])
        }
        book.released.removeAll()
        return applied
    }

    struct WaitingRow {
        var rid: Int64
        var change: Change
        var logged: Bool
        var origin: Int64
    }

    static func waitingRows(_ db: Database, _ book: Bookkeeping, where condition: String, _ args: [Int64]) throws -> [WaitingRow] {
        let q = try FastStatement(db, """
            SELECT 0, rid, counter, hlc, kind, record, field, elem, value, context, author, logged, origin
            FROM waiting_change WHERE \(condition)
            """)
        defer { q.reset() }
        for (i, a) in args.enumerated() { q.bind(Int32(i + 1), a) }
        let names = ReplicaNames(byRid: book.nameByRid)
        var rows: [WaitingRow] = []
        while try q.step() {
            rows.append(WaitingRow(rid: q.int64(1), change: try Coding.change(q, names: names).change,
                                   logged: q.int64(11) != 0, origin: q.int64(12)))
        }
        return rows
    }

    /// A dot names one change forever. A different change under a held dot means its replica
    /// reuses dots (restored from a backup, or copied): refuse it rather than drop it silently.
    /// (Only changes this replica logs or holds waiting can be compared: on a node, what it
    /// pulled from the hub was checked by the hub.)
    static func checkSameAsHeld(_ db: Database, _ book: Bookkeeping, _ change: Change, rid: Int64) throws {
        let names = ReplicaNames(byRid: book.nameByRid)
        var held: Change?
        for table in ["log", "waiting_change"] where held == nil {
            let q = try FastStatement(db, "SELECT \(logColumns.replacingOccurrences(of: "seq,", with: "0,")) FROM \(table) WHERE rid = ? AND counter = ?")
            defer { q.reset() }
            q.bind(1, rid)
            q.bind(2, Int64(change.dot.counter))
            if try q.step() { held = try Coding.change(q, names: names).change }
        }
        guard let held, !held.isIdentical(to: change) else { return }
        throw ReplicaError(.dotReused, "change \(change.dot) differs from the change already held under that id; nothing of this batch was stored. Either replica \(change.dot.replica) was restored from a backup or copied, or another program sent changes under its id. On that node, `yuqing node reissue` sends its unsynced work again under a new id, losing nothing",
                           zh: "变更 \(change.dot) 与本地以同一标识保存的变更不同；本批变更均未保存。原因可能是副本 \(change.dot.replica) 由备份恢复或被复制，或有其他程序以它的标识发送了变更。请在该节点上运行 `yuqing node reissue`，以新的标识重新发送其未同步的工作，不会丢失任何内容")
    }

    /// Applies a change whose context has been applied: the same steps as the core's replica
    /// (``YuqingCore/FieldState/apply(_:)``: the values the context names go, the new value joins).
    /// Returns the change's log position, or 0 when it is not logged.
    ///
    /// Only a flagged field needs its values read first, to keep the count of open conflicts;
    /// elsewhere the superseded values are deleted by key, and a first write is a lone insert.
    @discardableResult
    static func applyReady(_ s: Statements, _ book: inout Bookkeeping, _ change: Change, rid: Int64, log: Bool,
                           schema: Schema) throws -> Int64 {
        book.markSeen(rid, change.dot.counter)
        if book.waiting > 0 { book.released.append((rid, change.dot.counter)) }
        let flagged = schema.rule(for: change.record, change.field) == .flag
        // A flagged field is in conflict while it holds two or more different values.
        var before = 0, after = 0
        if flagged {
            let siblings = try siblings(s, book, change.record, change.field)
            before = Set(siblings.map(\.value)).count
            var kept = Set(siblings.filter { !change.context.contains($0.dot) }.map(\.value))
            if let value = change.value { kept.insert(value) }
            after = kept.count
        }
        if !change.context.isEmpty {
            let delete = s.deleteSibling
            for dot in change.context {
                defer { delete.reset() }
                s.bindKey(delete, change.record, change.field)
                delete.bind(5, try book.rid(dot.replica, s.db))
                delete.bind(6, Int64(dot.counter))
                _ = try delete.step()
            }
        }
        if let value = change.value {
            let insert = s.insertSibling
            defer { insert.reset() }
            s.bindKey(insert, change.record, change.field)
            insert.bind(5, rid)
            insert.bind(6, Int64(change.dot.counter))
            insert.bind(7, Int64(change.hlc.packed))
            insert.bind(8, value)
            insert.bind(9, change.author)
            _ = try insert.step()
        }
        if flagged { book.openConflicts += (after > 1 ? 1 : 0) - (before > 1 ? 1 : 0) }
        guard log else { return 0 }
        let insert = s.insertLog
        defer { insert.reset() }
        try bindChange(insert, change, rid: rid, &book, s.db)
        _ = try insert.step()
        let seq = s.db.lastInsertedRowID
        if let visibleTo = schema.records[change.record.kind]?.visibleTo, visibleTo.contains(change.field.name) {
            var touch = book.scopeTouched[change.record] ?? ScopeTouch()
            touch.seq = seq
            if change.context.isEmpty, let value = change.value, let unit = RecordSchema.unit(named: change.field, value) {
                touch.added.insert(unit)
            } else {
                touch.mayRevoke = true
            }
            book.scopeTouched[change.record] = touch
        }
        return seq
    }

    /// Binds a change to parameters 1–10 of a log or waiting-change insert (the same columns).
    static func bindChange(_ q: FastStatement, _ change: Change, rid: Int64, _ book: inout Bookkeeping, _ db: Database) throws {
        q.bind(1, rid)
        q.bind(2, Int64(change.dot.counter))
        q.bind(3, Int64(change.hlc.packed))
        q.bind(4, change.record.kind)
        q.bind(5, change.record.id)
        q.bind(6, change.field.name)
        q.bind(7, change.field.element)
        q.bind(8, change.value)
        if change.context.isEmpty { q.bindNull(9) } else { q.bind(9, blob: try ContextBlob.encode(change.context, &book, db)) }
        q.bind(10, change.author)
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
