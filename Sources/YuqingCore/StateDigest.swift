/// A hash of a replica's visible state: every record, what each field shows, and every open
/// conflict. Replicas that have converged produce the same digest.
///
/// Feed fields in ``StateDigest/ascending(_:_:)`` order (by the UTF-8 bytes of kind, record id,
/// field name and element, as SQLite's default collation sorts), each with its siblings. The
/// digest depends only on what the rules make visible (and on conflict ids, which name the values
/// in conflict).
public struct StateDigest: Sendable {
    private var hasher = SHA256()
    private let schema: Schema
    public private(set) var fieldCount = 0

    public init(schema: Schema) { self.schema = schema }

    public mutating func add(record: RecordRef, field: FieldKey, siblings: [Sibling]) {
        guard !siblings.isEmpty else { return }
        let rule = schema.rule(for: record, field)
        // Every part is length-prefixed, so no text can make two different states read alike.
        func part(_ s: String) -> String { "\(s.utf8.count):\(s)" }
        var line = part(record.kind) + part(record.id) + part(field.name) + part(field.element)
        switch rule.decide(siblings) {
        case .absent: return
        case .value(let v): line += "=" + part(v.canonical)
        case .conflict(let v, _):
            let c = Conflict.detect(record: record, field: field, siblings: siblings, rule: rule)!
            line += "!" + c.id + "=" + part(v.canonical)
        }
        hasher.update(line + "\n")
        fieldCount += 1
    }

    public mutating func finalize() -> String { hasher.finalizeHex() }

    /// The order fields are fed in: byte order of the UTF-8 text, like SQLite's BINARY collation.
    public static func ascending(_ a: (RecordRef, FieldKey), _ b: (RecordRef, FieldKey)) -> Bool {
        for (x, y) in [(a.0.kind, b.0.kind), (a.0.id, b.0.id), (a.1.name, b.1.name), (a.1.element, b.1.element)] where x != y {
            return x.utf8.lexicographicallyPrecedes(y.utf8)
        }
        return false
    }
}
