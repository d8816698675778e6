import YuqingCore

/// The store the merge (``YuqingCore/Merge``) runs over for one batch at the PostgreSQL hub: what
/// the batch can read, fetched before the merge in a few queries (the dots it and the waiting
/// changes name, every waiting change), and what the merge writes, kept to be written after it
/// in one statement per table. A round trip per change would cost more than the merge itself.
struct PostgresMergeStore: MergeStore {
    /// Applied dots the batch names, with the change logged under each.
    var applied: [Dot: Change?] = [:]
    /// Waiting changes by their dot, and the dots they wait for.
    var waitingByDot: [Dot: (change: Change, need: Dot, logged: Bool, origin: ReplicaID)] = [:]
    var parkedByNeed: [Dot: Set<Dot>] = [:]
    /// What the merge wrote: values gone (that were stored before the batch), values added, log.
    var removedValues: [(RecordRef, FieldKey, Dot)] = []
    var addedValues: [ValueKey: Sibling] = [:]
    var appended: [Change] = []
    /// Waiting rows that were stored before the batch and left it (released or parked again).
    var unparked: Set<Dot> = []
    var waitingAtStart: Set<Dot> = []

    struct ValueKey: Hashable {
        var record: RecordRef
        var field: FieldKey
        var dot: Dot
    }

    func key(_ replica: ReplicaID) -> ReplicaID { replica }
    func name(_ key: ReplicaID) -> ReplicaID { key }
    func isApplied(_ key: ReplicaID, _ counter: UInt64) -> Bool { applied[Dot(replica: key, counter: counter)] != nil }
    func isWaiting(_ key: ReplicaID, _ counter: UInt64) -> Bool { waitingByDot[Dot(replica: key, counter: counter)] != nil }
    func held(_ key: ReplicaID, _ counter: UInt64) -> Change? {
        let dot = Dot(replica: key, counter: counter)
        return waitingByDot[dot]?.change ?? applied[dot] ?? nil
    }
    var waitingTotal: Int { waitingByDot.count }
    func waiting(from origin: ReplicaID) -> Int { waitingByDot.values.count { $0.origin == origin } }

    mutating func park(_ change: Change, _ key: ReplicaID, needing: Dot, logged: Bool, origin: ReplicaID) {
        waitingByDot[change.dot] = (change, needing, logged, origin)
        parkedByNeed[needing, default: []].insert(change.dot)
    }

    mutating func release(waitingFor key: ReplicaID, _ counter: UInt64) -> [ParkedChange<ReplicaID>] {
        guard let dots = parkedByNeed.removeValue(forKey: Dot(replica: key, counter: counter)) else { return [] }
        return dots.sorted().compactMap { dot in
            guard let w = waitingByDot.removeValue(forKey: dot) else { return nil }
            if waitingAtStart.contains(dot) { unparked.insert(dot) }
            return ParkedChange(change: w.change, key: dot.replica, logged: w.logged, origin: w.origin)
        }
    }

    mutating func markApplied(_ key: ReplicaID, _ counter: UInt64) { applied[Dot(replica: key, counter: counter)] = .some(nil) }

    mutating func remove(_ dots: [Dot], from record: RecordRef, _ field: FieldKey) {
        for dot in dots where addedValues.removeValue(forKey: ValueKey(record: record, field: field, dot: dot)) == nil {
            removedValues.append((record, field, dot))
        }
    }

    mutating func add(_ value: Sibling, _ key: ReplicaID, to record: RecordRef, _ field: FieldKey) {
        addedValues[ValueKey(record: record, field: field, dot: value.dot)] = value
    }

    mutating func append(_ change: Change, _ key: ReplicaID) { appended.append(change) }

    /// Every dot whose being applied the merge of `changes` may ask about.
    static func dotsNamed(by changes: [Change], waiting: [Change]) -> Set<Dot> {
        var dots = Set<Dot>()
        for c in changes + waiting {
            dots.insert(c.dot)
            for d in c.context { dots.insert(d) }
        }
        return dots
    }
}
