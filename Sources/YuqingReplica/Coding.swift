import Foundation
import GRDB
import YuqingCore

/// How core values map to SQLite columns.
enum Coding {
    static func fieldValue(_ v: DatabaseValue) -> FieldValue? {
        switch v.storage {
        case .null: nil
        case .int64(let n): .integer(n)
        case .string(let s): .text(s)
        case .double(let d): .text(String(d))
        case .blob(let b): .text(String(decoding: b, as: UTF8.self))
        }
    }

    /// A change from a row with the columns of ``Store/logColumns``.
    static func change(_ row: Row, names: (Int64) throws -> ReplicaID) throws -> (seq: Int64, change: Change) {
        let context: [UInt8] = (row["context"] as Data?).map { Array($0) } ?? []
        let change = Change(
            dot: Dot(replica: try names(row["rid"]), counter: UInt64(row["counter"] as Int64)),
            hlc: HLC(packed: UInt64(row["hlc"] as Int64)),
            record: RecordRef(kind: row["kind"], id: row["record"]),
            field: FieldKey(row["field"], element: row["elem"]),
            value: fieldValue(row["value"]),
            context: try ContextBlob.decode(context, names: names),
            author: row["author"])
        return (row["seq"], change)
    }

    /// The same, read straight from a statement stepping over ``Store/logColumns``.
    static func change(_ q: FastStatement, names: ReplicaNames) throws -> (seq: Int64, change: Change) {
        let change = Change(
            dot: Dot(replica: try names.name(q.int64(1)), counter: UInt64(q.int64(2))),
            hlc: HLC(packed: UInt64(q.int64(3))),
            record: RecordRef(kind: q.text(4), id: q.text(5)),
            field: FieldKey(q.text(6), element: q.text(7)),
            value: q.fieldValue(8),
            context: q.isNull(9) ? [] : try ContextBlob.decode(q.blob(9), names: names.name),
            author: q.text(10))
        return (q.int64(0), change)
    }

    static func sibling(_ row: Row, names: ReplicaNames) throws -> Sibling? {
        guard let value = fieldValue(row["value"]) else { return nil }
        return Sibling(dot: Dot(replica: try names.name(row["rid"]), counter: UInt64(row["counter"] as Int64)),
                       hlc: HLC(packed: UInt64(row["hlc"] as Int64)), value: value, author: row["author"])
    }
}
