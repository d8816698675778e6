import GRDB
import YuqingCore

/// What modules that keep data derived from a replica in the same file (the office's search
/// index and statistics) read and write through.
extension Replica {
    /// The replica's database: derived tables live beside the replica's own, never in them.
    package var database: DatabasePool { pool }

    /// What `record` shows, read on `db` (a transaction the caller holds).
    package func view(in db: Database, _ record: RecordRef) throws -> RecordView? {
        try view(db, record)
    }

    /// Every record of `kind`, in record order, read on `db` with one pass over its values.
    package func forEachView(in db: Database, kind: String, _ body: (RecordView) throws -> Void) throws {
        let names = try ReplicaNames.load(db)
        let rows = try Row.fetchCursor(db, sql: """
            SELECT record, field, elem, rid, counter, hlc, value, author FROM field_value WHERE kind = ? ORDER BY record
            """, arguments: [kind])
        var current: String?
        var fields: [FieldKey: [Sibling]] = [:]
        func flush() throws {
            if let current, !fields.isEmpty { try body(RecordView(record: RecordRef(kind: kind, id: current), schema: schema, fields: fields)) }
            fields = [:]
        }
        while let row = try rows.next() {
            let record: String = row["record"]
            if record != current { try flush(); current = record }
            if let s = try Coding.sibling(row, names: names) { fields[FieldKey(row["field"], element: row["elem"]), default: []].append(s) }
        }
        try flush()
    }
}
