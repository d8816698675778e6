import GRDB
import YuqingCore

/// The merge, performed against the replica's tables: the same steps as
/// ``YuqingCore/ReplicaState/apply(_:physicalMillis:)``, with the field logic itself in
/// ``YuqingCore/FieldState``.
enum Store {
    /// The values a field holds now.
    static func siblings(_ db: Database, _ record: RecordRef, _ field: FieldKey) throws -> [Sibling] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT replica, counter, hlc, value, author FROM sibling
            WHERE kind = ? AND record = ? AND field = ? AND elem = ?
            """), arguments: [record.kind, record.id, field.name, field.element]).compactMap(Coding.sibling)
    }

    enum Outcome { case applied, duplicate, pending }

    /// Merges one change with causal delivery: a change whose context names a dot not applied
    /// here yet waits in `pending_change` until it is.
    static func apply(_ db: Database, _ change: Change, fromHub: Bool) throws -> Outcome {
        let dot = change.dot
        if try isSeen(db, dot) || isPending(db, dot) {
            try checkSameAsHeld(db, change)
            return .duplicate
        }
        for d in change.context where try !isSeen(db, d) {
            try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO pending_change (replica, counter, hlc, kind, record, field, elem, value, context, author, from_hub)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [dot.replica.rawValue, Int64(dot.counter), Int64(change.hlc.packed),
                                          change.record.kind, change.record.id, change.field.name, change.field.element,
                                          Coding.dbValue(change.value), Coding.context(change.context), change.author,
                                          fromHub ? 1 : 0])
            return db.changesCount == 1 ? .pending : .duplicate
        }
        try applyReady(db, change, fromHub: fromHub)
        return .applied
    }

    /// Applies every waiting change whose context has now arrived. Returns how many were applied.
    static func drainPending(_ db: Database) throws -> Int {
        var applied = 0
        var progress = true
        while progress {
            progress = false
            let rows = try Row.fetchAll(db, sql: "SELECT 0 AS seq, * FROM pending_change ORDER BY replica, counter")
            for row in rows {
                let change = try Coding.change(row).change
                guard try change.context.allSatisfy({ try isSeen(db, $0) }) else { continue }
                try db.execute(sql: "DELETE FROM pending_change WHERE replica = ? AND counter = ?",
                               arguments: [change.dot.replica.rawValue, Int64(change.dot.counter)])
                try applyReady(db, change, fromHub: (row["from_hub"] as Int64) != 0)
                applied += 1
                progress = true
            }
        }
        return applied
    }

    static func hasPending(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM pending_change)") ?? false
    }

    /// A dot names one change forever. A different change under a held dot means its replica
    /// reuses dots (restored from a backup, or copied): refuse it rather than drop it silently.
    static func checkSameAsHeld(_ db: Database, _ change: Change) throws {
        let args: StatementArguments = [change.dot.replica.rawValue, Int64(change.dot.counter)]
        let row = try Row.fetchOne(db, sql: "SELECT \(Coding.changeColumns) FROM change_log WHERE replica = ? AND counter = ?", arguments: args)
            ?? Row.fetchOne(db, sql: "SELECT 0 AS seq, * FROM pending_change WHERE replica = ? AND counter = ?", arguments: args)
        guard let row, try Coding.change(row).change != change else { return }
        throw ReplicaError(.dotReused, "change \(change.dot) differs from the change already held under that id: replica \(change.dot.replica) reuses change ids (restored from a backup, or copied from another device). Keep that replica's file aside and create a new node replica with `yuqing node init`")
    }

    static func isPending(_ db: Database, _ dot: Dot) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM pending_change WHERE replica = ? AND counter = ?)"),
                          arguments: [dot.replica.rawValue, Int64(dot.counter)]) ?? false
    }

    static func isSeen(_ db: Database, _ dot: Dot) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM seen_dot WHERE replica = ? AND counter = ?)"),
                          arguments: [dot.replica.rawValue, Int64(dot.counter)]) ?? false
    }

    /// Applies a change whose context has been applied: the same steps as the core's replica.
    static func applyReady(_ db: Database, _ change: Change, fromHub: Bool) throws {
        let dot = change.dot
        try db.cachedStatement(sql: "INSERT INTO seen_dot (replica, counter) VALUES (?, ?)")
            .execute(arguments: [dot.replica.rawValue, Int64(dot.counter)])
        try db.cachedStatement(sql: """
            INSERT INTO version_vector (replica, counter) VALUES (?, ?)
            ON CONFLICT (replica) DO UPDATE SET counter = max(counter, excluded.counter)
            """).execute(arguments: [dot.replica.rawValue, Int64(dot.counter)])
        let before = try siblings(db, change.record, change.field)
        var state = FieldState(siblings: before)
        state.apply(change)
        let after = Set(state.siblings.map(\.dot))
        let delete = try db.cachedStatement(sql: """
            DELETE FROM sibling WHERE kind = ? AND record = ? AND field = ? AND elem = ? AND replica = ? AND counter = ?
            """)
        for s in before where !after.contains(s.dot) {
            try delete.execute(arguments: [change.record.kind, change.record.id, change.field.name, change.field.element,
                                           s.dot.replica.rawValue, Int64(s.dot.counter)])
        }
        if let value = change.value {
            try db.cachedStatement(sql: """
                INSERT INTO sibling (kind, record, field, elem, replica, counter, hlc, value, author)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [change.record.kind, change.record.id, change.field.name, change.field.element,
                                          dot.replica.rawValue, Int64(dot.counter), Int64(change.hlc.packed),
                                          Coding.dbValue(value), change.author])
        }
        try db.cachedStatement(sql: """
            INSERT INTO change_log (replica, counter, hlc, kind, record, field, elem, value, context, author, from_hub)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [dot.replica.rawValue, Int64(dot.counter), Int64(change.hlc.packed),
                                      change.record.kind, change.record.id, change.field.name, change.field.element,
                                      Coding.dbValue(change.value), Coding.context(change.context), change.author,
                                      fromHub ? 1 : 0])
    }
}

/// The `meta` table: one value per key.
enum Meta {
    static func get<T: DatabaseValueConvertible>(_ db: Database, _ key: String) throws -> T? {
        try T.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"), arguments: [key])
    }

    static func set(_ db: Database, _ key: String, _ value: some DatabaseValueConvertible) throws {
        try db.cachedStatement(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .execute(arguments: [key, value])
    }
}
