/// How concurrent values of one field are decided. Declared per field in the ``Schema``.
public enum ConflictRule: Hashable, Sendable {
    /// The highest value on an ordered scale wins (`scale` lists values from lowest to highest);
    /// a raised severity beats a concurrently lowered one.
    case maxWins(scale: [String])
    /// A set element is present while any concurrent write added it: an add beats a concurrent
    /// remove (a remove only takes away the adds it saw).
    case addWins
    /// Concurrent different values are a conflict for the hub operator (concurrent equal values
    /// agree). Until it is resolved, every replica shows the same provisional value: the one with
    /// the latest timestamp.
    case flag
    /// The value with the latest hybrid timestamp wins, ties broken by dot.
    case lastWriterWins
    /// Written once, never changed (progress notes, evidence): cannot conflict.
    case immutable

    /// What the field shows, given its siblings.
    public func decide(_ siblings: [Sibling]) -> Decision {
        guard let latest = siblings.max(by: Sibling.lwwOrder) else { return .absent }
        if siblings.count == 1 { return .value(latest.value) }
        switch self {
        case .maxWins(let scale):
            func rank(_ s: Sibling) -> Int { scale.firstIndex(of: s.value.description) ?? -1 }
            let best = siblings.max { (rank($0), $0.hlc, $0.dot) < (rank($1), $1.hlc, $1.dot) }!
            return .value(best.value)
        case .addWins, .lastWriterWins:
            return .value(latest.value)
        case .flag:
            // Concurrent writes of one value agree: nothing for the operator to decide.
            if siblings.allSatisfy({ $0.value == latest.value }) { return .value(latest.value) }
            return .conflict(provisional: latest.value, candidates: siblings.sorted { $0.dot < $1.dot })
        case .immutable:
            return .value(siblings.min { $0.dot < $1.dot }!.value)
        }
    }

    /// A short name for documentation and listings.
    public var name: String {
        switch self {
        case .maxWins: "max-wins"
        case .addWins: "add-wins"
        case .flag: "flag"
        case .lastWriterWins: "last-writer-wins"
        case .immutable: "immutable"
        }
    }
}

/// What a field shows.
public enum Decision: Hashable, Sendable {
    case absent
    case value(FieldValue)
    /// Concurrent values the rules could not decide: waits for the operator.
    case conflict(provisional: FieldValue, candidates: [Sibling])

    /// The value shown (the provisional one while a conflict is open).
    public var shown: FieldValue? {
        switch self {
        case .absent: nil
        case .value(let v): v
        case .conflict(let v, _): v
        }
    }
}
