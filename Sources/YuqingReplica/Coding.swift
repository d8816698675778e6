import GRDB
import YuqingCore

/// How core values map to SQLite columns.
enum Coding {
    static func dbValue(_ v: FieldValue?) -> DatabaseValue {
        switch v {
        case nil: .null
        case .text(let s)?: s.databaseValue
        case .integer(let n)?: n.databaseValue
        }
    }

    static func fieldValue(_ v: DatabaseValue) -> FieldValue? {
        switch v.storage {
        case .null: nil
        case .int64(let n): .integer(n)
        case .string(let s): .text(s)
        case .double(let d): .text(String(d))
        case .blob(let b): .text(String(decoding: b, as: UTF8.self))
        }
    }

    static func context(_ dots: [Dot]) -> String { dots.map(\.description).joined(separator: " ") }

    static func dots(_ text: String) throws -> [Dot] {
        try text.split(separator: " ").map {
            guard let d = Dot($0) else { throw ReplicaError(.corrupt, "unreadable dot '\($0)' in the change log") }
            return d
        }
    }

    static let changeColumns = "seq, replica, counter, hlc, kind, record, field, elem, value, context, author"

    static func change(_ row: Row) throws -> (seq: Int64, change: Change) {
        let change = Change(
            dot: Dot(replica: ReplicaID(row["replica"] as String), counter: UInt64(row["counter"] as Int64)),
            hlc: HLC(packed: UInt64(row["hlc"] as Int64)),
            record: RecordRef(kind: row["kind"], id: row["record"]),
            field: FieldKey(row["field"], element: row["elem"]),
            value: fieldValue(row["value"]),
            context: try dots(row["context"]),
            author: row["author"])
        return (row["seq"], change)
    }

    static func sibling(_ row: Row) -> Sibling? {
        guard let value = fieldValue(row["value"]) else { return nil }
        return Sibling(dot: Dot(replica: ReplicaID(row["replica"] as String), counter: UInt64(row["counter"] as Int64)),
                       hlc: HLC(packed: UInt64(row["hlc"] as Int64)), value: value, author: row["author"])
    }
}
