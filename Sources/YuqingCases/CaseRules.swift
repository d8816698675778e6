import YuqingCore

/// The rules the hub applies to every pushed change (and a node to what it receives from its
/// user): the schema, who the author is, which role may write which field or take which step, and
/// which unit may write which case. `Protocol/workflow.md` §5 lists them.
///
/// Every rule here is *monotone*: a change that a node was allowed to make offline stays allowed
/// whatever else reaches the hub first (the scope of a case only grows, immutable fields are
/// written once by the case's registration). Rules that depend on the order of concurrent steps
/// (a report written while another node archived the case) are the workflow's fold, not refusals:
/// such steps are kept and marked without effect (``CaseFile/Entry/effective``).
public struct CaseRules: Sendable {
    public internal(set) var org: Organisation
    public var schema: Schema

    public init(org: Organisation, schema: Schema = CaseSchema.schema) {
        self.org = org
        self.schema = schema
    }

    /// A refused change: which, and the rule it breaks.
    public struct Refusal: Error, Hashable, Sendable {
        public var index: Int
        public var dot: Dot
        public var error: WorkflowError
    }

    /// The fields of a held case the rules read: a checker may give ``check(_:lookup:)`` records
    /// with only these.
    public static let fieldsRead = [CaseSchema.Field.unit, CaseSchema.Field.discoveredAt, CaseSchema.Field.discoveredBy,
                                    CaseSchema.Field.units, CaseSchema.Field.coUnits, CaseSchema.Field.leadUnit,
                                    CaseSchema.Field.deadline, CaseSchema.Field.category, CaseSchema.Field.level]

    /// Checks a push in order. `lookup` gives the case record as the checker holds it now (nil
    /// when it holds none), at least its ``fieldsRead``; scope and immutable fields written
    /// earlier in the same push count. No step is decoded but the pushed ones.
    public func check(_ changes: [Change], lookup: (String) -> RecordView?) -> Refusal? {
        var rules = self
        return rules.checkUpdating(changes, lookup: lookup)
    }

    /// As ``check(_:lookup:)``; the organisation's changes of the push apply as they pass, so an
    /// operator's node may grant a role and use it in one push.
    mutating func checkUpdating(_ changes: [Change], lookup: (String) -> RecordView?) -> Refusal? {
        var scope: [String: Set<String>] = [:]
        var written: Set<String> = []   // "case\u{1f}field" of immutable fields written in this push
        var authors: [String: Result<(Actor, Set<Role>), WorkflowError>] = [:]  // a push has few
        for (i, change) in changes.enumerated() {
            let author: Result<(Actor, Set<Role>), WorkflowError>
            if let known = authors[change.author] { author = known } else {
                author = resolve(change.author)
                authors[change.author] = author
            }
            if let error = check(change, author: author, lookup: lookup, scope: &scope, written: &written) {
                return Refusal(index: i, dot: change.dot, error: error)
            }
            if change.record.kind == CaseSchema.Kind.user || change.record.kind == CaseSchema.Kind.unit {
                org.apply(change)
                authors.removeAll()
            }
        }
        return nil
    }

    /// Who an author is and their roles, or why the author is refused.
    func resolve(_ author: String) -> Result<(Actor, Set<Role>), WorkflowError> {
        guard let actor = Actor(author: author) else {
            return .failure(WorkflowError(.author, "the author '\(author)' is not user@unit", zh: "变更作者“\(author)”不是 user@unit 格式"))
        }
        guard let user = org.users[actor.user] else {
            return .failure(WorkflowError(.author, "\(actor.user) is not a user of the organisation; the operator adds users with `yuqing org user`",
                                          zh: "\(actor.user) 不是本组织的用户；用户由运维人员用 `yuqing org user` 添加"))
        }
        guard user.unit == actor.unit else {
            return .failure(WorkflowError(.author, "\(actor.user) belongs to \(user.unit), not \(actor.unit)",
                                          zh: "\(actor.user) 属于单位 \(user.unit)，而不是 \(actor.unit)"))
        }
        return .success((actor, user.roles))
    }

    func check(_ change: Change, author: Result<(Actor, Set<Role>), WorkflowError>, lookup: (String) -> RecordView?,
               scope: inout [String: Set<String>], written: inout Set<String>) -> WorkflowError? {
        do { try schema.validate(change.record, change.field, change.value) } catch {
            return WorkflowError(.schema, error.message, zh: error.chinese)
        }
        let actor: Actor, roles: Set<Role>
        switch author {
        case .success(let a): (actor, roles) = a
        case .failure(let e): return e
        }
        let kind = change.record.kind
        if kind == CaseSchema.Kind.device {
            return WorkflowError(.role, "devices are enrolled and revoked at the hub only (`yuqing hub enrol`, `yuqing hub revoke`)",
                                 zh: "设备只能在中心注册和吊销（`yuqing hub enrol`、`yuqing hub revoke`）")
        }
        if kind == CaseSchema.Kind.report { return Self.checkReport(change, actor: actor) }
        if kind == CaseSchema.Kind.keyword { return Self.checkKeyword(change, actor: actor, roles: roles) }
        guard kind == CaseSchema.Kind.case else {
            // The organisation and the settings: the operator's.
            guard roles.contains(.operator) else {
                return WorkflowError(.role, "the organisation and the settings are changed by the operator; \(actor.user) is not one",
                                     zh: "组织机构和设置只能由运维人员修改；\(actor.user) 不是运维人员")
            }
            if kind != CaseSchema.Kind.settings, let error = Identifier.error(change.record.id, what: kind, code: .schema) { return error }
            return nil
        }
        let caseID = change.record.id
        let view = lookup(caseID)
        // The same change, already held (a push sent twice, racing itself): nothing new to check.
        if view?.siblings[change.field]?.contains(where: { $0.dot == change.dot }) == true { return nil }
        let F = CaseSchema.Field.self
        let name = change.field.name
        func may(_ allowed: Set<Role>, _ what: String, zh chinese: String) -> WorkflowError? {
            if !roles.isDisjoint(with: allowed) { return nil }
            do { _ = try Planner.role(among: roles, for: allowed, doing: what, zh: chinese, user: actor.user) } catch { return error }
            return nil
        }
        // Unit roles act on the cases their unit is concerned by: judged before this change's own
        // contribution to the scope (only earlier changes of the push count). The registering
        // `unit` write is what puts the unit in scope.
        let officeLevel = Role.isOfficeLevel(roles)
        if !officeLevel, name != F.unit {
            let inScope = (view.map(Self.scope) ?? []).union(scope[caseID] ?? [])
            if !inScope.contains(actor.unit) {
                return WorkflowError(.unitScope, "case \(caseID) does not concern \(actor.unit); a unit writes only the cases it registered, is concerned by or is assigned",
                                     zh: "案件 \(caseID) 与单位 \(actor.unit) 无关；单位只能写入本单位登记、涉及本单位或交办给本单位的案件")
            }
        }
        // A log entry is written once: a write naming earlier values would remove an entry.
        if [F.steps, F.evidence, F.legacyNotes].contains(name), !change.context.isEmpty {
            return WorkflowError(.immutable, "\(name) entries are written once and never replaced", zh: "\(name) 的条目只写入一次，不可替换")
        }
        // A case's scope only grows: units concerned are added, never removed.
        if name == F.units, change.value == nil {
            return WorkflowError(.immutable, "units concerned are never removed: a unit once concerned keeps its access to the case",
                                 zh: "涉事单位不能移除：单位一经涉及案件，即保留对该案件的访问权限")
        }
        // The fields and steps, and who may write them.
        switch name {
        case F.steps:
            guard case .text(let text)? = change.value, let step = Step.decode(text) else {
                return WorkflowError(.schema, "a step must be a Step in JSON (Protocol/workflow.md §3)",
                                     zh: "步骤须为 JSON 格式的 Step（见 Protocol/workflow.md §3）")
            }
            guard step.by == actor.user, step.unit == actor.unit else {
                return WorkflowError(.author, "a step taken by \(step.by)@\(step.unit) was written by \(actor)",
                                     zh: "该步骤的办理人是 \(step.by)@\(step.unit)，写入者却是 \(actor)")
            }
            guard roles.contains(step.role), Workflow.roles(for: step.kind).contains(step.role) else {
                return may(Workflow.roles(for: step.kind), "\(step.kind.rawValue) (\(step.kind.chinese))", zh: "\(step.kind.chinese)（\(step.kind.rawValue)）")
                    ?? WorkflowError(.role, "\(step.kind.rawValue) may not be taken as \(step.role.rawValue)",
                                     zh: "不能以\(step.role.chinese)（\(step.role.rawValue)）的身份办理\(step.kind.chinese)（\(step.kind.rawValue)）")
            }
            if step.kind == .register, (view.map { Self.registeredByAnother($0, than: change.dot.replica) } ?? false)
                || written.contains(caseID + "\u{1f}register") {
                return WorkflowError(.immutable, "case \(caseID) is already registered", zh: "案件 \(caseID) 已登记")
            }
            if step.kind == .register { written.insert(caseID + "\u{1f}register") }
            if step.kind == .assign, let lead = step.lead {
                scope[caseID, default: []].insert(lead)
                scope[caseID, default: []].formUnion(step.coUnits ?? [])
            }
        case F.evidence:
            guard Evidence.isDigest(change.field.element), case .text(let text)? = change.value, let e = Evidence.decode(text) else {
                return WorkflowError(.schema, "evidence is named by its SHA-256 (64 lowercase hex digits) and holds an Evidence in JSON",
                                     zh: "证据以其 SHA-256（64 位小写十六进制数字）命名，内容须为 JSON 格式的 Evidence")
            }
            guard e.by == actor.user, e.unit == actor.unit else {
                return WorkflowError(.author, "evidence taken by \(e.by)@\(e.unit) was written by \(actor)",
                                     zh: "该证据的取证人是 \(e.by)@\(e.unit)，写入者却是 \(actor)")
            }
            if let error = may(Workflow.evidenceTakers, "adding evidence", zh: "添加证据") { return error }
        case F.unit, F.discoveredAt, F.discoveredBy:
            if !change.context.isEmpty || view?.value(name) != nil || written.contains(caseID + "\u{1f}" + name) {
                return WorkflowError(.immutable, "\(name) is written once, when the case is registered", zh: "\(name) 只在登记案件时写入一次")
            }
            written.insert(caseID + "\u{1f}" + name)
            if let error = may(Workflow.roles(for: .register), "registering a case", zh: "登记案件") { return error }
            if name == F.unit {
                guard change.value?.description == actor.unit else {
                    return WorkflowError(.author, "a case is registered for the registering user's own unit", zh: "案件只能登记在登记人所在单位名下")
                }
                scope[caseID, default: []].insert(actor.unit)
            }
            if name == F.discoveredBy, change.value?.description != actor.author {
                return WorkflowError(.author, "discovered_by names the registering user", zh: "discovered_by 须为登记人本人")
            }
        case F.legacyStatus, F.legacyNotes:
            // Written only by nodes made before the workflow, sending work they made then (after
            // `yuqing node user`); shown as they were, without effect on the workflow.
            if let error = may(Workflow.editors.union([.unitHead]), "sending work from before the workflow", zh: "发送启用办理流程之前的工作内容") { return error }
        case F.category, F.level:
            // Proposed at registration: a first value as its writer saw it (an empty context, whatever
            // reached the hub meanwhile); changed afterwards by the office or a leader.
            let proposal = change.context.isEmpty
            if let error = may(proposal ? Workflow.roles(for: .register).union([.leader]) : Workflow.roles(for: .assess), "setting the \(name)",
                               zh: "设置\(name == F.level ? "级别" : "分类")（\(name)）") { return error }
        case F.leadUnit, F.coUnits, F.deadline, F.instruction:
            if let error = may(Workflow.roles(for: .assign), "assigning", zh: "交办") { return error }
            if name == F.leadUnit, let v = change.value?.description { scope[caseID, default: []].insert(v) }
            if name == F.coUnits { scope[caseID, default: []].insert(change.field.element) }
        case F.decision:
            if let error = may(Workflow.roles(for: .approve), "approving or returning a reply", zh: "审定或退回回复") { return error }
        case F.linkedTo:
            if let error = may(Workflow.roles(for: .link), "merging reports", zh: "合并舆情信息") { return error }
        case F.due:
            break  // clocks are started by whoever takes the step that starts them
        default:
            if let error = may(Workflow.editors, "editing a case", zh: "编辑案件") { return error }
            if name == F.units { scope[caseID, default: []].insert(change.field.element) }
        }
        return nil
    }

    /// A routine report is its unit's own: only that unit's users file it, each filing once.
    static func checkReport(_ change: Change, actor: Actor) -> WorkflowError? {
        let parts = change.record.id.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let form = ReportForm(rawValue: parts[0]),
              form == .monthly ? Month(parts[1]) != nil : CivilDate(parts[1]) != nil,
              RoutineReport.id(form, period: parts[1], unit: parts[2]) == change.record.id else {
            return WorkflowError(.schema, "a report's id is FORM:PERIOD:UNIT (monthly:2026-10:town-a, daily:2026-10-03:town-a)",
                                 zh: "报告ID的格式为 FORM:PERIOD:UNIT（如 monthly:2026-10:town-a、daily:2026-10-03:town-a）")
        }
        guard parts[2] == actor.unit else {
            return WorkflowError(.unitScope, "\(actor.unit) may not file \(parts[2])'s reports; a unit files only its own",
                                 zh: "\(actor.unit) 不能报送 \(parts[2]) 的报告；单位只能报送本单位的报告")
        }
        let expected = [ReportField.form: parts[0], ReportField.period: parts[1], ReportField.unit: parts[2]]
        switch change.field.name {
        case ReportField.filings:
            guard change.context.isEmpty else { return WorkflowError(.immutable, "a filing is written once and never replaced", zh: "报送记录只写入一次，不可替换") }
            guard case .text(let t)? = change.value, let f = Filing.decode(t) else {
                return WorkflowError(.schema, "a filing must be a Filing in JSON (Protocol/workflow.md)", zh: "报送记录须为 JSON 格式的 Filing（见 Protocol/workflow.md）")
            }
            guard f.by == actor.user, f.unit == actor.unit else {
                return WorkflowError(.author, "a filing by \(f.by)@\(f.unit) was written by \(actor)",
                                     zh: "该报送记录的报送人是 \(f.by)@\(f.unit)，写入者却是 \(actor)")
            }
        case let name:
            guard change.value?.description == expected[name] else {
                return WorkflowError(.schema, "a report's \(name) is the one its id names", zh: "报告的 \(name) 须与其ID中的一致")
            }
        }
        return nil
    }

    /// Office-wide keywords are the office's; a unit keeps its own.
    static func checkKeyword(_ change: Change, actor: Actor, roles: Set<Role>) -> WorkflowError? {
        guard let owner = Keyword.owner(ofID: change.record.id) else {
            return WorkflowError(.schema, "a keyword's id is OWNER/WORD (*/WORD for the whole organisation)",
                                 zh: "关键词ID的格式为 OWNER/WORD（全组织的关键词为 */WORD）")
        }
        let word = String(change.record.id.dropFirst(owner.count + 1))
        if !Role.isOfficeLevel(roles), owner != actor.unit {
            let officeWide = owner == Keyword.everyone
            return WorkflowError(.unitScope, officeWide
                ? "office-wide keywords are the office's; \(actor.unit) adds its own with --unit"
                : "\(actor.unit) may not change \(owner)'s keywords",
                                 zh: officeWide
                ? "全组织的关键词由舆情工作办公室管理；\(actor.unit) 可用 --unit 添加本单位的关键词"
                : "\(actor.unit) 不能修改 \(owner) 的关键词")
        }
        switch change.field.name {
        case KeywordField.word where change.value?.description != word,
             KeywordField.owner where change.value?.description != owner:
            return WorkflowError(.schema, "a keyword's word and owner are the ones its id names", zh: "关键词的 word 和 owner 须与其ID中的一致")
        default: return nil
        }
    }

    /// The units a case concerns, read from its fields: the registering unit, the units concerned,
    /// co-units, every lead unit value, and every unit given an assignment deadline (each assigned
    /// unit gets one), so it matches ``CaseFile/scope`` without decoding steps.
    static func scope(_ view: RecordView) -> Set<String> {
        var units = Set(view.elements(CaseSchema.Field.units)).union(view.elements(CaseSchema.Field.coUnits))
        for key in view.siblings.keys where key.name == CaseSchema.Field.deadline { units.insert(key.element) }
        for name in [CaseSchema.Field.unit, CaseSchema.Field.leadUnit] {
            for s in view.siblings[FieldKey(name)] ?? [] { units.insert(s.value.description) }
        }
        return units
    }

    /// True when another replica registered the case: its registering `unit` (written in the
    /// same transaction as the `register` step, possibly pushed in an earlier batch) is another's.
    static func registeredByAnother(_ view: RecordView, than replica: ReplicaID) -> Bool {
        (view.siblings[FieldKey(CaseSchema.Field.unit)] ?? []).contains { $0.dot.replica != replica }
    }
}
