import YuqingCore

/// The workflow's rules as a pure state machine: which role may take which step, in which state,
/// and what each step does to the derived state. The node, the hub and the tests all use it.
public enum Workflow {
    /// The roles that may take each step (`Protocol/workflow.md` has the table).
    public static func roles(for kind: StepKind) -> Set<Role> { table[kind]! }

    private static let table: [StepKind: Set<Role>] = Dictionary(uniqueKeysWithValues: StepKind.allCases.map { kind -> (StepKind, Set<Role>) in
        let roles: Set<Role> = switch kind {
        case .register, .quickReport, .heat: [.monitor, .commentator, .office]
        case .assess, .level, .assign: [.office, .leader]
        case .instruction: [.leader]
        case .report: [.monitor, .commentator, .unitHead, .office]
        case .urge, .notice, .archive: [.office]
        case .draft: [.monitor, .commentator, .unitHead]
        case .sign: [.unitHead]
        case .approve, .return: [.office, .leader]
        case .publish: [.office, .commentator]
        case .statement: [.spokesperson]
        case .reopen, .link: [.office, .monitor]
        case .review, .library: [.office, .leader]
        }
        return (kind, roles)
    })

    /// Roles that may add evidence.
    public static let evidenceTakers: Set<Role> = [.monitor, .commentator, .office]

    /// Roles that may edit a case's descriptive fields (title, source, keywords, units concerned).
    public static let editors: Set<Role> = [.monitor, .commentator, .office, .leader]

    /// Why `kind` cannot be taken now, or nil when it can. `target` names the draft, unit or case
    /// the step is about.
    public static func refusal(_ kind: StepKind, in file: CaseFile?, target: String? = nil) -> WorkflowError? {
        guard let file else {
            return kind == .register ? nil : WorkflowError(.notInState, "there is no such case on this node; register it first or sync",
                                                                         zh: "本节点没有此案件；请先登记，或先同步")
        }
        let state = file.state
        if kind == .register { return WorkflowError(.notInState, "case \(file.id) is already registered", zh: "案件 \(file.id) 已登记") }
        if state.isArchived, kind != .review, kind != .library {
            return WorkflowError(.archived, "case \(file.id) is archived and read-only; only a review or a case-library entry may be added",
                                 zh: "案件 \(file.id) 已归档，只读；只能再添加总结评估或入案例库")
        }
        switch kind {
        case .urge, .notice, .draft:
            if kind == .draft, state.status == .replied {
                return WorkflowError(.notInState, "case \(file.id) was replied; reopen it first (`yuqing case reopen`) to draft another reply",
                                     zh: "案件 \(file.id) 已回复；如需再起草回复，请先重新办理（`yuqing case reopen`）")
            }
            guard file.leadUnit != nil else { return WorkflowError(.notInState, "case \(file.id) is not assigned yet: the office assigns it first (`yuqing case assign`)",
                                                                            zh: "案件 \(file.id) 尚未交办：须先由舆情工作办公室交办（`yuqing case assign`）") }
            if kind != .draft, let target, !file.concerns(target) {
                return WorkflowError(.notInState, "\(target) is not assigned case \(file.id)", zh: "案件 \(file.id) 未交办给 \(target)")
            }
        case .sign, .approve, .return, .publish:
            guard let target, let reply = state.reply(target) else {
                let ids = state.replies.map(\.id).joined(separator: ", ")
                return WorkflowError(.notInState, "case \(file.id) has no draft \(target ?? "?")" + (ids.isEmpty ? "" : "; drafts: \(ids)"),
                                     zh: "案件 \(file.id) 没有回复草稿 \(target ?? "?")" + (ids.isEmpty ? "" : "；现有草稿：\(ids)"))
            }
            switch (kind, reply.stage) {
            case (.sign, .drafted): break
            case (.sign, _): return WorkflowError(.notInState, "draft \(target) is already \(reply.stage.rawValue); only a new draft is signed",
                                                  zh: "草稿 \(target) 当前为\(reply.stage.chinese)（\(reply.stage.rawValue)）状态；只有新起草的草稿才能签字")
            case (.approve, .signed), (.return, .signed): break
            case (.approve, .drafted), (.return, .drafted):
                return WorkflowError(.notInState, "draft \(target) is not signed yet: the unit head signs it first (`yuqing reply sign`)",
                                     zh: "草稿 \(target) 尚未签字：须先由单位负责人签字（`yuqing reply sign`）")
            case (.approve, _), (.return, _):
                return WorkflowError(.notInState, "draft \(target) is already \(reply.stage.rawValue)",
                                     zh: "草稿 \(target) 当前为\(reply.stage.chinese)（\(reply.stage.rawValue)）状态")
            case (.publish, .approved): break
            case (.publish, _):
                return WorkflowError(.notInState, "draft \(target) is \(reply.stage.rawValue); only an approved draft is published",
                                     zh: "草稿 \(target) 当前为\(reply.stage.chinese)（\(reply.stage.rawValue)）状态；只有审定通过的草稿才能发布")
            default: break
            }
            if reply.contested {
                return WorkflowError(.notInState, "the decision on draft \(target) is in conflict; the operator resolves it first",
                                     zh: "对草稿 \(target) 的审定决定存在冲突；须先由运维人员解决")
            }
        case .reopen:
            guard state.status == .replied else {
                return WorkflowError(.notInState, "case \(file.id) is \(state.status.rawValue); a case is reopened after its reply was published",
                                     zh: "案件 \(file.id) 当前状态为\(state.status.chinese)（\(state.status.rawValue)）；案件须在回复发布后才能重新办理")
            }
        case .archive:
            guard state.status == .replied else {
                return WorkflowError(.notInState, "case \(file.id) is \(state.status.rawValue); a case is archived after its reply was published",
                                     zh: "案件 \(file.id) 当前状态为\(state.status.chinese)（\(state.status.rawValue)）；案件须在回复发布后才能归档")
            }
        case .library:
            guard state.reviewed else {
                return WorkflowError(.notInState, "case \(file.id) has no review yet; write one first (`yuqing case review`)",
                                     zh: "案件 \(file.id) 尚无总结评估；请先撰写（`yuqing case review`）")
            }
        default: break
        }
        return nil
    }

    /// Folds one step into the state. Returns false when the step did not fit where it fell in
    /// the replicated order (it is kept, without effect): steps taken concurrently on two nodes
    /// always fold to a state the workflow allows, whatever their order.
    static func fold(_ state: inout CaseState, id: String, _ step: Step) -> Bool {
        if step.kind == .register {
            guard !state.registered else { return false }
            state.registered = true
            return true
        }
        if state.isArchived, step.kind != .review, step.kind != .library { return false }
        func raise(_ to: CaseStatus) { if state.status < to { state.status = to } }
        switch step.kind {
        case .register: return false
        case .quickReport:
            state.met.append(.init(clock: DeadlineClock.quickReport.rawValue, unit: step.unit, at: step.at))
        case .assess, .level:
            if step.kind == .assess { raise(.assessed) }
            if let to = step.level, step.from != nil, Level.isHigher(to, than: step.from) { state.escalations.append(step) }
        case .assign:
            guard let lead = step.lead else { return false }
            state.everAssigned.insert(lead)
            state.everAssigned.formUnion(step.coUnits ?? [])
            if state.firstAssignedAt == nil { state.firstAssignedAt = step.at }
            state.assignedAt = step.at
            raise(.assigned)
        case .instruction, .heat, .statement:
            if step.kind == .statement { state.met.append(.init(clock: DeadlineClock.statement.rawValue, unit: step.unit, at: step.at)) }
        case .report:
            let kind = step.report ?? .progress
            if let clock = DeadlineClock(report: kind) { state.met.append(.init(clock: clock.rawValue, unit: step.unit, at: step.at)) }
            state.met.append(.init(clock: "assignment:" + step.unit, unit: step.unit, at: step.at))
            if state.assignedAt != nil { raise(.handling) }
        case .urge:
            guard state.assignedAt != nil else { return false }
            state.urged.append(step)
        case .notice:
            guard state.assignedAt != nil else { return false }
            state.noticed.append(step)
        case .draft:
            guard state.assignedAt != nil else { return false }
            let earlier = state.replies.filter { $0.unit == step.unit && $0.round == state.round }.count
            state.replies.append(Reply(id: id, unit: step.unit, text: step.text ?? "", version: earlier + 1, round: state.round,
                                       revises: step.target, signedBy: nil, stage: .drafted))
            state.met.append(.init(clock: "assignment:" + step.unit, unit: step.unit, at: step.at))
            // A draft written concurrently with the publication of another leaves the case replied.
            if state.status < .replying { state.status = .replying }
        case .sign, .approve, .return, .publish:
            guard let target = step.target, let i = state.replies.firstIndex(where: { $0.id == target }) else { return false }
            var reply = state.replies[i]
            switch (step.kind, reply.stage) {
            case (.sign, .drafted):
                // Only the draft's own unit head signs it.
                guard step.unit == reply.unit else { return false }
                reply.stage = .signed
                reply.signedBy = step.by
            case (.approve, .signed), (.return, .signed):
                // The decision field has the last word (the operator's, after a concurrent approve and return).
                let decided = state.decisions[target] ?? (step.kind == .approve ? "approved" : "returned")
                reply.stage = decided == "approved" ? .approved : .returned
                if reply.stage == .returned { reply.reason = step.text }
            case (.publish, .approved):
                reply.stage = .published
                reply.link = step.link
                state.status = .replied
            default: return false
            }
            state.replies[i] = reply
        case .reopen:
            guard state.status == .replied else { return false }
            state.round += 1
            state.status = .handling
        case .archive:
            guard state.status == .replied else { return false }
            state.status = .archived
        case .review:
            state.reviewed = true
        case .library:
            guard state.reviewed else { return false }
            state.inLibrary = true
        case .link:
            break
        }
        return true
    }
}

/// A step or edit the workflow does not allow. The message names what is needed instead, in
/// English (``message``) and in Simplified Chinese (``chinese``).
public struct WorkflowError: BilingualError, Hashable, Sendable, CustomStringConvertible {
    /// What kind of refusal, stable for programs (the problem body's `rule`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// The user's roles do not include one that may take the step.
        public static let role = Code(name: "role")
        /// The user's unit is not concerned by the case.
        public static let unitScope = Code(name: "unit_scope")
        /// The case is not in a state where the step fits.
        public static let notInState = Code(name: "workflow_state")
        /// The case is archived.
        public static let archived = Code(name: "archived")
        /// A field that is written once was written again.
        public static let immutable = Code(name: "immutable")
        /// A value outside its field's domain, an unknown kind or field.
        public static let schema = Code(name: "schema")
        /// The author is not a known user of that unit.
        public static let author = Code(name: "author")
        /// Bad input from the user (a missing option, a malformed value).
        public static let input = Code(name: "input")
    }

    public var code: Code
    public var message: String
    /// The message in Simplified Chinese.
    public var chinese: String

    public init(_ code: Code, _ message: String, zh chinese: String) {
        self.code = code
        self.message = message
        self.chinese = chinese
    }

    public var description: String { message }
}

extension Workflow {
    /// The steps a user with `roles` of `unit` may take on `file` now: what a node offers. Steps
    /// about a draft are offered when some draft fits (`sign` only the unit's own drafts).
    public static func available(roles: Set<Role>, unit: String, on file: CaseFile) -> [StepKind] {
        let officeLevel = Role.isOfficeLevel(roles)
        return StepKind.allCases.filter { kind in
            guard kind != .register, !roles.isDisjoint(with: Workflow.roles(for: kind)) else { return false }
            if !officeLevel, !file.concerns(unit) { return false }
            switch kind {
            case .sign, .approve, .return, .publish:
                return file.state.replies.contains { reply in
                    (kind != .sign || reply.unit == unit) && refusal(kind, in: file, target: reply.id) == nil
                }
            case .urge, .notice:
                return refusal(kind, in: file, target: file.leadUnit) == nil
            default:
                return refusal(kind, in: file) == nil
            }
        }
    }
}
