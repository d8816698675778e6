import YuqingCore

/// A small schema with one field of every shape and rule, for the tests of the replication
/// engine (which knows nothing of cases: the product's schema lives in YuqingCases).
extension Schema {
    /// Levels from least to most severe, for the max-wins field.
    public static let sampleLevels = ["IV", "III", "II", "I"]

    public static let sample = Schema([
        RecordSchema(kind: "case", fields: [
            FieldSpec("title", rule: .lastWriterWins, summary: "a title"),
            FieldSpec("summary", rule: .flag, summary: "a flagged text"),
            FieldSpec("level", rule: .maxWins(scale: sampleLevels), allowedValues: sampleLevels, summary: "a max-wins level"),
            FieldSpec("status", rule: .flag, allowedValues: ["registered", "assessed", "assigned", "handling", "replied", "following", "archived"],
                      summary: "a flagged choice"),
            FieldSpec("unit", rule: .immutable, editable: false, summary: "written once"),
            FieldSpec("co_units", shape: .set, rule: .addWins, summary: "an add-wins set"),
            FieldSpec("notes", shape: .log, rule: .immutable, summary: "an append-only log"),
            FieldSpec("due", shape: .map, rule: .lastWriterWins, kind: .timestamp, summary: "times by name"),
        ]),
    ])
}

extension RecordRef {
    /// A record of the sample schema's one kind.
    public static func `case`(_ id: String) -> RecordRef { RecordRef(kind: "case", id: id) }
}
