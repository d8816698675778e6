import YuqingCore

/// A case as people read it: its fields, its steps in order, and what the workflow derives
/// from them. Built from the replicated record (``RecordView``); pure.
public struct CaseFile: Hashable, Sendable {
    /// One step with its id and where it falls in the replicated order.
    public struct Entry: Hashable, Sendable {
        public var id: String
        public var step: Step
        public var hlc: HLC
        public var dot: Dot
        /// False when the step did not fit the workflow where it fell (taken concurrently with
        /// a step that made it moot, e.g. a report written offline while the case was archived):
        /// kept in the timeline, without effect on the status.
        public var effective: Bool
    }

    public var id: String
    public var view: RecordView
    /// Every step, in replicated order (timestamp, then dot): the same on every replica.
    public var entries: [Entry]
    /// What the steps amount to.
    public var state: CaseState

    public init(_ view: RecordView) {
        self.id = view.record.id
        self.view = view
        var ordered: [(id: String, step: Step, hlc: HLC, dot: Dot)] = []
        for (key, sibling) in view.entries(CaseSchema.Field.steps) {
            if case .text(let text) = sibling.value, let step = Step.decode(text) {
                ordered.append((key.element, step, sibling.hlc, sibling.dot))
            }
        }
        var state = CaseState(file: view)
        var entries: [Entry] = []
        for e in ordered {
            let effective = Workflow.fold(&state, id: e.id, e.step)
            entries.append(Entry(id: e.id, step: e.step, hlc: e.hlc, dot: e.dot, effective: effective))
        }
        state.finish(view)
        self.entries = entries
        self.state = state
    }

    /// A scalar field's shown text.
    public func text(_ field: String) -> String? { view.value(field)?.description }

    /// A scalar field's shown integer (times, counts).
    public func integer(_ field: String) -> Int64? {
        if case .integer(let n)? = view.value(field) { return n }
        return nil
    }

    public var title: String { text(CaseSchema.Field.title) ?? "" }
    public var level: String? { text(CaseSchema.Field.level) }
    public var category: Category? { text(CaseSchema.Field.category).flatMap(Int.init).flatMap(Category.init) }
    /// The unit that registered the case.
    public var unit: String? { text(CaseSchema.Field.unit) }
    public var discoveredAt: Int64? { integer(CaseSchema.Field.discoveredAt) }
    public var leadUnit: String? { text(CaseSchema.Field.leadUnit) }
    public var coUnits: [String] { view.elements(CaseSchema.Field.coUnits) }
    public var unitsConcerned: [String] { view.elements(CaseSchema.Field.units) }
    public var keywords: [String] { view.elements(CaseSchema.Field.keywords) }

    /// The values of a map field by element.
    public func map(_ field: String) -> [String: FieldValue] {
        var out: [String: FieldValue] = [:]
        for (key, decision) in view.fields where key.name == field && !key.element.isEmpty {
            if let v = decision.shown { out[key.element] = v }
        }
        return out
    }

    /// Deadline clocks stored with the case: clock name (or `assignment:UNIT`) → due time.
    public var dueTimes: [String: Int64] {
        var out: [String: Int64] = [:]
        for (k, v) in map(CaseSchema.Field.due) { if case .integer(let n) = v { out[k] = n } }
        for (k, v) in map(CaseSchema.Field.deadline) { if case .integer(let n) = v { out["assignment:" + k] = n } }
        return out
    }

    /// Evidence by digest.
    public var evidence: [(digest: String, evidence: Evidence)] {
        view.entries(CaseSchema.Field.evidence).compactMap { key, sibling in
            guard case .text(let t) = sibling.value, let e = Evidence.decode(t) else { return nil }
            return (key.element, e)
        }
    }

    /// Every unit that may work on the case: the registering unit, the units concerned, and every
    /// unit it was ever assigned to (lead or co-unit). Only grows.
    public var scope: Set<String> {
        var units = Set(unitsConcerned).union(coUnits)
        if let unit { units.insert(unit) }
        if let leadUnit { units.insert(leadUnit) }
        units.formUnion(state.everAssigned)
        return units
    }

    /// True when `unit` may work on the case.
    public func concerns(_ unit: String) -> Bool { scope.contains(unit) }

    /// Open conflicts the operator has to decide.
    public var conflicts: [Conflict] { view.conflicts }
}
