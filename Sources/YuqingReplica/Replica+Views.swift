import GRDB
import YuqingCore

extension Replica {
    /// Ids of the records of `kind` that hold any value, in order.
    public func recordIDs(kind: String) throws -> [String] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT record FROM sibling WHERE kind = ? ORDER BY record", arguments: [kind])
        }
    }

    /// What a record shows, or nil when this replica holds nothing of it.
    public func view(_ record: RecordRef) throws -> RecordView? {
        try read { db in try self.view(db, record) }
    }

    func view(_ db: Database, _ record: RecordRef) throws -> RecordView? {
        var fields: [FieldKey: [Sibling]] = [:]
        let rows = try Row.fetchCursor(db, sql: """
            SELECT field, elem, replica, counter, hlc, value, author FROM sibling WHERE kind = ? AND record = ?
            """, arguments: [record.kind, record.id])
        while let row = try rows.next() {
            if let s = Coding.sibling(row) { fields[FieldKey(row["field"], element: row["elem"]), default: []].append(s) }
        }
        return fields.isEmpty ? nil : RecordView(record: record, schema: schema, fields: fields)
    }

    /// Every open conflict this replica holds.
    public func conflicts() throws -> [Conflict] {
        try read { db in try self.conflicts(db) }
    }

    /// How many conflicts are open, without loading their values.
    public func openConflictCount() throws -> Int {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT kind, field FROM sibling GROUP BY kind, record, field, elem HAVING count(*) > 1
                """).count { row in
                schema.rule(for: RecordRef(kind: row["kind"], id: ""), FieldKey(row["field"])) == .flag
            }
        }
    }

    func conflicts(_ db: Database) throws -> [Conflict] {
        let multi = try Row.fetchAll(db, sql: """
            SELECT kind, record, field, elem FROM sibling GROUP BY kind, record, field, elem HAVING count(*) > 1
            ORDER BY kind, record, field, elem
            """)
        return try multi.compactMap { row in
            let record = RecordRef(kind: row["kind"], id: row["record"])
            let field = FieldKey(row["field"], element: row["elem"])
            return Conflict.detect(record: record, field: field, siblings: try Store.siblings(db, record, field),
                                   rule: schema.rule(for: record, field))
        }
    }

    /// Resolves an open conflict with a new write whose context covers every value in conflict.
    /// Returns the change and its position in this replica's log.
    public func resolve(conflictID: String, value: FieldValue, author: String) throws -> (change: Change, seq: Int64) {
        try write { db in
            guard let conflict = try self.conflicts(db).first(where: { $0.id == conflictID }) else {
                throw ReplicaError(.notFound, "no open conflict \(conflictID): it was resolved already, or a new concurrent value changed it; run `yuqing conflicts list`")
            }
            // Fields this schema does not know (from a newer one) are flagged, so they must be resolvable.
            if schema.records[conflict.record.kind]?.field(conflict.field.name) != nil {
                do { try schema.validate(conflict.record, conflict.field, value) } catch let error as SchemaError {
                    throw ReplicaError(.invalidWrite, error.message)
                }
            }
            let change = try self.writeLocked(db, [Write(conflict.record, conflict.field, value)], author: author,
                                              expectedContext: conflict.resolutionContext)[0]
            return (change, db.lastInsertedRowID)
        }
    }

    /// A hash of the visible state; equal on replicas that have converged.
    public func digest() throws -> String {
        try read { db in
            var digest = StateDigest(schema: schema)
            var current: (RecordRef, FieldKey)?
            var siblings: [Sibling] = []
            let rows = try Row.fetchCursor(db, sql: """
                SELECT kind, record, field, elem, replica, counter, hlc, value, author FROM sibling
                ORDER BY kind, record, field, elem
                """)
            while let row = try rows.next() {
                let key = (RecordRef(kind: row["kind"], id: row["record"]), FieldKey(row["field"], element: row["elem"]))
                if let c = current, c != key {
                    digest.add(record: c.0, field: c.1, siblings: siblings)
                    siblings.removeAll(keepingCapacity: true)
                }
                current = key
                if let s = Coding.sibling(row) { siblings.append(s) }
            }
            if let c = current { digest.add(record: c.0, field: c.1, siblings: siblings) }
            return digest.finalize()
        }
    }
}
