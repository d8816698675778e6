/// An open conflict: concurrent values of a flagged field.
public struct Conflict: Hashable, Sendable {
    /// Stable for as long as the same values are in conflict; a new concurrent value makes a new id.
    public var id: String
    public var record: RecordRef
    public var field: FieldKey
    public var provisional: FieldValue
    /// Sorted by dot.
    public var candidates: [Sibling]

    public init(record: RecordRef, field: FieldKey, provisional: FieldValue, candidates: [Sibling]) {
        self.record = record
        self.field = field
        self.provisional = provisional
        self.candidates = candidates
        var h = SHA256()
        h.update("\(record.kind)\u{1f}\(record.id)\u{1f}\(field.name)\u{1f}\(field.element)")
        for c in candidates { h.update("\u{1f}\(c.dot)") }
        id = String(h.finalizeHex().prefix(16))
    }

    /// The conflict a field's siblings form under `rule`, if any.
    public static func detect(record: RecordRef, field: FieldKey, siblings: [Sibling], rule: ConflictRule) -> Conflict? {
        guard case .conflict(let provisional, let candidates) = rule.decide(siblings) else { return nil }
        return Conflict(record: record, field: field, provisional: provisional, candidates: candidates)
    }

    /// The context of a resolving write: every value in conflict, so the resolution supersedes
    /// them all on every replica.
    public var resolutionContext: [Dot] { candidates.map(\.dot) }
}
