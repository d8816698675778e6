/// The values one field holds on one replica: the writes no other write has superseded.
///
/// This is the per-field part of a dotted version vector: after a write that saw all values
/// there is one sibling; concurrent writes leave one sibling each. Nothing else is kept per field,
/// so the metadata is bounded by the number of concurrent values, not by how many replicas ever
/// wrote the field. (What a replica has seen overall is kept once per replica, in ``DotSet``.)
public struct FieldState: Hashable, Sendable {
    /// Sorted by dot.
    public private(set) var siblings: [Sibling]

    public init(siblings: [Sibling] = []) {
        self.siblings = siblings.sorted { $0.dot < $1.dot }
    }

    /// The context a new write of this field carries: every value it replaces.
    public var context: [Dot] { siblings.map(\.dot) }

    public var isEmpty: Bool { siblings.isEmpty }

    /// Merges one change into the field.
    ///
    /// The caller guarantees causal delivery (see ``ReplicaState/apply(_:physicalMillis:)``): the
    /// change has not been applied before, and every dot in its context has been. Under that
    /// condition the result does not depend on the order concurrent changes arrive in.
    public mutating func apply(_ change: Change) {
        if !change.context.isEmpty { remove(change.context) }
        if let value = change.value { insert(Sibling(dot: change.dot, hlc: change.hlc, value: value, author: change.author)) }
    }

    /// Removes the values the dots name (a change's context).
    public mutating func remove(_ dots: [Dot]) {
        let covered = Set(dots)
        siblings.removeAll { covered.contains($0.dot) }
    }

    /// Adds a value, in dot order.
    public mutating func insert(_ s: Sibling) {
        let i = siblings.firstIndex { $0.dot > s.dot } ?? siblings.endIndex
        siblings.insert(s, at: i)
    }
}
