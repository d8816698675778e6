/// How a transaction changed one record's visibility fields (at a hub): the last log position
/// that did, the units its changes named, and whether any change could have removed a unit; when
/// none could, the record's grants only grow, by `added`. The SQLite and PostgreSQL hubs both
/// keep their grants from it.
package struct ScopeTouch: Sendable {
    package var seq: Int64 = 0
    package var added: Set<String> = []
    package var mayRevoke = false

    package init(seq: Int64 = 0, mayRevoke: Bool = false) {
        self.seq = seq
        self.mayRevoke = mayRevoke
    }

    /// Notes `change`, logged at `seq`, of one of the record's visibility fields.
    ///
    /// A value written to an element of a set (a co-unit) names that element's unit whatever it
    /// supersedes: its context holds only earlier values of the same element, so no other unit can
    /// go. A value of a single field that supersedes another (its context not empty) may have
    /// replaced one unit by another, and a removal may remove one: the record's units are then
    /// read again from its values.
    package mutating func note(_ change: Change, at seq: Int64) {
        self.seq = seq
        if let value = change.value, let unit = RecordSchema.unit(named: change.field, value),
           change.context.isEmpty || !change.field.element.isEmpty {
            added.insert(unit)
        } else {
            mayRevoke = true
        }
    }
}
