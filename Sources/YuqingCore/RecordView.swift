/// What a record shows: each field's decision under the schema's rules.
public struct RecordView: Hashable, Sendable {
    public var record: RecordRef
    /// Every field key that holds at least one value, with what it shows.
    public var fields: [FieldKey: Decision]
    /// Open conflicts, sorted by field.
    public var conflicts: [Conflict]
    /// Every value each field holds, for provenance (who wrote a note, and when).
    public var siblings: [FieldKey: [Sibling]]

    public init(record: RecordRef, schema: Schema, fields: [FieldKey: [Sibling]]) {
        self.record = record
        self.siblings = fields.filter { !$0.value.isEmpty }
        var decided: [FieldKey: Decision] = [:]
        var conflicts: [Conflict] = []
        for (key, sibs) in siblings {
            let rule = schema.rule(for: record, key)
            decided[key] = rule.decide(sibs)
            if let c = Conflict.detect(record: record, field: key, siblings: sibs, rule: rule) { conflicts.append(c) }
        }
        self.fields = decided
        self.conflicts = conflicts.sorted { $0.field < $1.field }
    }

    /// The value a scalar field shows.
    public func value(_ name: String) -> FieldValue? { fields[FieldKey(name)]?.shown }

    /// The present elements of a set field, sorted.
    public func elements(_ name: String) -> [String] {
        fields.keys.filter { $0.name == name && !$0.element.isEmpty }.map(\.element).sorted()
    }

    /// The entries of a log field in the order they were written (timestamp, then dot).
    public func entries(_ name: String) -> [(key: FieldKey, sibling: Sibling)] {
        siblings.compactMap { key, sibs -> (key: FieldKey, sibling: Sibling)? in
            guard key.name == name, let s = sibs.min(by: { $0.dot < $1.dot }) else { return nil }
            return (key, s)
        }.sorted { ($0.sibling.hlc, $0.sibling.dot) < ($1.sibling.hlc, $1.sibling.dot) }
    }
}
