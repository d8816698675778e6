/// A whole replica held in memory: the reference implementation of the merge.
///
/// The SQLite replica performs exactly these steps against its tables; the property tests run
/// thousands of random schedules against this type.
public struct ReplicaState: Sendable {
    public let id: ReplicaID
    public let schema: Schema
    public private(set) var counter: UInt64 = 0
    public private(set) var clock = HybridLogicalClock()
    /// The merged state, in the reference store the merge runs over (``Merge``).
    public private(set) var store = MemoryMergeStore()
    /// Every dot applied here.
    public var seen: DotSet { store.seen }
    /// Changes received before a change their context names: applied once it arrives.
    public var pending: [Dot: Change] { store.waitingDots }
    public var fields: [RecordRef: [FieldKey: FieldState]] { store.fields }
    /// Every change stored here, in the order it was applied.
    public var log: [Change] { store.log }

    public init(id: ReplicaID, schema: Schema) {
        self.id = id
        self.schema = schema
    }

    public var versionVector: VersionVector { seen.versionVector }

    public func state(_ record: RecordRef, _ field: FieldKey) -> FieldState {
        fields[record]?[field] ?? FieldState()
    }

    /// Makes a local write: a new dot, a timestamp, and a context naming every value it replaces.
    @discardableResult
    public mutating func write(_ record: RecordRef, _ field: FieldKey, _ value: FieldValue?, author: String,
                               physicalMillis: UInt64) -> Change {
        counter += 1
        let change = Change(dot: Dot(replica: id, counter: counter), hlc: clock.tick(physicalMillis: physicalMillis),
                            record: record, field: field, value: value, context: state(record, field).context,
                            author: author)
        apply(change)
        return change
    }

    /// Merges a change from anywhere. Returns false (and changes nothing) when it is not new:
    /// applied before, or already waiting.
    ///
    /// Delivery is causal per field: a change is applied only after every value its context
    /// names has been applied here, so a superseded value can never arrive after its successor
    /// and come back. A change that arrives early waits in ``pending``; in normal operation (the
    /// hub's log and every node's log are in causal order) nothing ever waits.
    @discardableResult
    public mutating func apply(_ change: Change, physicalMillis: UInt64? = nil) -> Bool {
        var run = Merge.Run<ReplicaID>()
        // The reference store refuses nothing: without limits or an own id, only a reused dot
        // can throw, and a reused dot is a duplicate here (ignored, as a node ignores it).
        guard let outcome = try? Merge.apply(change, into: &store, run: &run, log: true, origin: change.dot.replica,
                                             own: nil, limits: nil, schema: schema), outcome != .duplicate else { return false }
        if change.dot.replica == id { counter = max(counter, change.dot.counter) }
        clock.observe(change.hlc, physicalMillis: physicalMillis ?? max(change.hlc.wallMillis, clock.latest.wallMillis))
        _ = try? Merge.drain(&store, run: &run, schema: schema)
        return true
    }

    /// True when every value the change supersedes has been applied here.
    public func isReady(_ change: Change) -> Bool { change.context.allSatisfy(seen.contains) }

    public func view(_ record: RecordRef) -> RecordView {
        RecordView(record: record, schema: schema, fields: (fields[record] ?? [:]).mapValues(\.siblings))
    }

    public var conflicts: [Conflict] {
        fields.keys.sorted().flatMap { view($0).conflicts }
    }

    public var digest: String {
        var d = StateDigest(schema: schema)
        let all = fields.flatMap { record, byKey in byKey.map { (record, $0.key, $0.value) } }
        for (record, key, state) in all.sorted(by: { StateDigest.ascending(($0.0, $0.1), ($1.0, $1.1)) }) {
            d.add(record: record, field: key, siblings: state.siblings)
        }
        return d.finalize()
    }
}
