import Foundation
import YuqingCore

/// What a user registers: the case's first facts.
public struct Registration: Hashable, Sendable {
    public var title: String
    public var summary: String?
    public var excerpt: String?
    public var platform: Platform?
    public var url: String?
    public var poster: String?
    public var site: String?
    public var publishedAt: Int64?
    /// When it was found; now when not given.
    public var discoveredAt: Int64?
    public var category: Category?
    /// The proposed level.
    public var level: String?
    public var keywords: [String] = []
    public var units: [String] = []

    public init(title: String) { self.title = title }
}

/// Every command a user can give about a case, typed.
public enum CaseAction: Hashable, Sendable {
    case register(Registration)
    case quickReport(String)
    case assess(category: Category?, level: String?, opinion: String)
    case setLevel(String, reason: String?)
    case assign(lead: String, coUnits: [String], deadline: Int64, instruction: String?)
    case instruct(String)
    case report(ReportKind, String)
    case heat(views: Int64, comments: Int64, reposts: Int64)
    case urge(unit: String, note: String?)
    case notice(unit: String, note: String?)
    case draft(text: String, revises: String?)
    case sign(draft: String)
    case approve(draft: String, note: String?)
    case returnDraft(draft: String, reason: String)
    case publish(draft: String, link: String)
    case statement(String)
    case reopen(reason: String)
    case archive(note: String?)
    case review(String)
    case library(String)
    case link(to: String)
    case evidence(digest: String, Evidence)
    /// Descriptive fields: title, summary, excerpt, platform, url, poster, site, published_at.
    case edit([String: FieldValue])
    case keywords(add: [String], remove: [String])
    case units(add: [String], remove: [String])

    /// The workflow step the action takes (edits take none).
    public var stepKind: StepKind? {
        switch self {
        case .register: .register
        case .quickReport: .quickReport
        case .assess: .assess
        case .setLevel: .level
        case .assign: .assign
        case .instruct: .instruction
        case .report: .report
        case .heat: .heat
        case .urge: .urge
        case .notice: .notice
        case .draft: .draft
        case .sign: .sign
        case .approve: .approve
        case .returnDraft: .return
        case .publish: .publish
        case .statement: .statement
        case .reopen: .reopen
        case .archive: .archive
        case .review: .review
        case .library: .library
        case .link: .link
        case .evidence, .edit, .keywords, .units: nil
        }
    }

    /// The draft, unit or case the action is about.
    var target: String? {
        switch self {
        case .urge(let u, _), .notice(let u, _): u
        case .sign(let d), .approve(let d, _), .returnDraft(let d, _), .publish(let d, _): d
        case .draft(_, let revises): revises
        case .link(let to): to
        default: nil
        }
    }
}

/// Turns a user's command into the writes that carry it, after checking it against the roles and
/// the workflow. The same checks run at the hub on every pushed change (``CaseRules``).
public struct Planner: Sendable {
    public var actor: Actor
    public var roles: Set<Role>
    public var org: Organisation
    /// Now, in milliseconds since 1970 (UTC).
    public var now: Int64
    /// Makes ids for new cases and steps.
    public var newID: @Sendable (_ prefix: String) -> String

    public init(actor: Actor, roles: Set<Role>, org: Organisation, now: Int64, newID: @escaping @Sendable (String) -> String) {
        self.actor = actor
        self.roles = roles
        self.org = org
        self.now = now
        self.newID = newID
    }

    /// Fields anyone who edits cases may change after registration.
    public static let descriptive = [CaseSchema.Field.title, CaseSchema.Field.summary, CaseSchema.Field.excerpt,
                                     CaseSchema.Field.platform, CaseSchema.Field.url, CaseSchema.Field.poster,
                                     CaseSchema.Field.site, CaseSchema.Field.publishedAt]

    /// The role this user takes a step of `kind` in, or a refusal naming the roles that may.
    public func role(for kind: StepKind) throws(WorkflowError) -> Role {
        try Self.role(among: roles, for: Workflow.roles(for: kind), doing: "\(kind.rawValue) (\(kind.chinese))",
                      zh: "\(kind.chinese)（\(kind.rawValue)）", user: actor.user)
    }

    /// `what` and `chinese` name what the user does, in English and in Chinese.
    static func role(among roles: Set<Role>, for allowed: Set<Role>, doing what: String, zh chinese: String, user: String) throws(WorkflowError) -> Role {
        // A user with an office-level role acts in it; otherwise in the unit role.
        if let r = roles.intersection(allowed).sorted(by: { ($0.isUnitRole ? 1 : 0, $0) < ($1.isUnitRole ? 1 : 0, $1) }).first { return r }
        let may = allowed.sorted().map { "\($0.rawValue) (\($0.chinese))" }.joined(separator: " or ")
        let has = roles.sorted().map(\.rawValue).joined(separator: ", ")
        let mayZh = allowed.sorted().map { "\($0.chinese)（\($0.rawValue)）" }.joined(separator: "或")
        let hasZh = roles.sorted().map { "\($0.chinese)（\($0.rawValue)）" }.joined(separator: "、")
        throw WorkflowError(.role, "\(what) is for \(may); \(user) is \(has.isEmpty ? "no role" : has)",
                            zh: "\(chinese)只能由\(mayZh)进行；用户 \(user) " + (hasZh.isEmpty ? "没有任何角色" : "的角色为\(hasZh)"))
    }

    /// Plans `action` on `file` (nil for a registration): the case's id and the writes.
    public func plan(_ action: CaseAction, on file: CaseFile?) throws(WorkflowError) -> (caseID: String, writes: [FieldWrite]) {
        let caseID = file?.id ?? newID("YQ-")
        let record = CaseSchema.caseRef(caseID)
        var writes: [FieldWrite] = []
        func put(_ field: String, _ value: FieldValue?, element: String = "") {
            writes.append(FieldWrite(record, FieldKey(field, element: element), value))
        }
        let scheme = org.settings.levelScheme
        func level(_ text: String) throws(WorkflowError) -> String {
            guard let l = scheme.parse(text) else {
                throw WorkflowError(.input, "'\(text)' is not a level of the \(scheme.rawValue)-level scheme; use \(scheme.levels.joined(separator: ", "))",
                                    zh: "“\(text)”不是\(scheme == .four ? "四" : "三")级分级方案（\(scheme.rawValue)）中的级别；可用："
                                        + scheme.levels.map { "\($0)（\(scheme.chinese($0))）" }.joined(separator: "、"))
            }
            return l
        }

        // Who may: the role for the step (or for editing), and the unit's scope.
        var role: Role
        if let kind = action.stepKind {
            role = try self.role(for: kind)
            if let refusal = Workflow.refusal(kind, in: file, target: action.target) { throw refusal }
        } else if case .evidence = action {
            role = try Self.role(among: roles, for: Workflow.evidenceTakers, doing: "adding evidence", zh: "添加证据", user: actor.user)
            if file == nil { throw WorkflowError(.notInState, "there is no such case on this node; register it first or sync", zh: "本节点没有此案件；请先登记，或先同步") }
            if file!.state.isArchived { throw WorkflowError(.archived, "case \(caseID) is archived and read-only", zh: "案件 \(caseID) 已归档，只读") }
        } else {
            role = try Self.role(among: roles, for: Workflow.editors, doing: "editing a case", zh: "编辑案件", user: actor.user)
            if file == nil { throw WorkflowError(.notInState, "there is no such case on this node; register it first or sync", zh: "本节点没有此案件；请先登记，或先同步") }
            if file!.state.isArchived { throw WorkflowError(.archived, "case \(caseID) is archived and read-only", zh: "案件 \(caseID) 已归档，只读") }
        }
        if role.isUnitRole, let file, !file.concerns(actor.unit) {
            throw WorkflowError(.unitScope, "case \(caseID) does not concern \(actor.unit); a unit works on the cases it registered, is concerned by or is assigned",
                                zh: "案件 \(caseID) 与单位 \(actor.unit) 无关；单位只能办理本单位登记、涉及本单位或交办给本单位的案件")
        }

        var step = action.stepKind.map { Step(kind: $0, at: now, by: actor, role: role) }
        let stepID = newID("S")
        var newLevel = file?.level, newCategory = file?.category, assignedAt = file?.state.assignedAt

        switch action {
        case .register(let r):
            let title = r.title.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !title.isEmpty else { throw WorkflowError(.input, "a case needs a title", zh: "案件须有标题") }
            let discovered = r.discoveredAt ?? now
            if discovered > now + 60_000 { throw WorkflowError(.input, "the discovery time is in the future", zh: "发现时间晚于当前时间") }
            put(CaseSchema.Field.unit, .text(actor.unit))
            put(CaseSchema.Field.discoveredAt, .integer(discovered))
            put(CaseSchema.Field.discoveredBy, .text(actor.author))
            put(CaseSchema.Field.title, .text(title))
            for (f, v) in [(CaseSchema.Field.summary, r.summary), (CaseSchema.Field.excerpt, r.excerpt), (CaseSchema.Field.url, r.url),
                           (CaseSchema.Field.poster, r.poster), (CaseSchema.Field.site, r.site), (CaseSchema.Field.platform, r.platform?.rawValue)] {
                if let v, !v.isEmpty { put(f, .text(v)) }
            }
            if let p = r.publishedAt { put(CaseSchema.Field.publishedAt, .integer(p)) }
            if let c = r.category { put(CaseSchema.Field.category, .text(String(c.rawValue))); newCategory = c; step?.category = c.rawValue }
            if let l = r.level { let l = try level(l); put(CaseSchema.Field.level, .text(l)); newLevel = l; step?.level = l }
            for k in r.keywords where !k.isEmpty { put(CaseSchema.Field.keywords, .integer(1), element: k) }
            for u in Set(r.units + [actor.unit]) where !u.isEmpty { put(CaseSchema.Field.units, .integer(1), element: u) }
            let clocks = Deadlines.clocks(discoveredAt: discovered, level: newLevel, category: newCategory, assignedAt: nil,
                                          existing: [:], table: org.settings.deadlines, utcOffsetMinutes: org.settings.utcOffsetMinutes)
            for (k, v) in clocks.sorted(by: { $0.key < $1.key }) { put(CaseSchema.Field.due, .integer(v), element: k) }
        case .quickReport(let text), .instruct(let text), .statement(let text):
            step?.text = try Self.required(text, "the text", zh: "内容")
        case .assess(let category, let l, let opinion):
            step?.text = try Self.required(opinion, "a handling opinion", zh: "处置意见")
            if let category { put(CaseSchema.Field.category, .text(String(category.rawValue))); newCategory = category; step?.category = category.rawValue }
            if let l {
                let l = try level(l)
                if l != file?.level { put(CaseSchema.Field.level, .text(l)) }
                step?.level = l
                step?.from = file?.level
                if file?.level != nil, Level.isHigher(l, than: file?.level) { step?.notify = Level.notified(l) }
                newLevel = l
            }
        case .setLevel(let l, let reason):
            let l = try level(l)
            guard l != file?.level else {
                throw WorkflowError(.input, "case \(caseID) is already level \(l)", zh: "案件 \(caseID) 的级别已是 \(l)（\(scheme.chinese(l))）")
            }
            put(CaseSchema.Field.level, .text(l))
            step?.level = l
            step?.from = file?.level
            step?.text = reason
            if file?.level != nil, Level.isHigher(l, than: file?.level) { step?.notify = Level.notified(l) }
            newLevel = l
        case .assign(let lead, let coUnits, let deadline, let instruction):
            for u in [lead] + coUnits { if let error = Identifier.error(u, what: "unit") { throw error } }
            if !org.units.isEmpty, let unknown = ([lead] + coUnits).first(where: { org.units[$0] == nil }) {
                throw WorkflowError(.input, "there is no unit '\(unknown)'; units are: \(org.units.keys.sorted().joined(separator: ", "))",
                                    zh: "没有单位“\(unknown)”；现有单位：\(org.units.keys.sorted().joined(separator: "、"))")
            }
            guard deadline > now else { throw WorkflowError(.input, "the deadline must be in the future", zh: "交办期限必须晚于当前时间") }
            guard !coUnits.contains(lead) else {
                throw WorkflowError(.input, "\(lead) cannot be both lead unit and co-unit", zh: "\(lead) 不能同时是牵头单位和协办单位")
            }
            if file?.leadUnit != lead { put(CaseSchema.Field.leadUnit, .text(lead)) }
            for u in coUnits where !(file?.coUnits.contains(u) ?? false) { put(CaseSchema.Field.coUnits, .integer(1), element: u) }
            for u in [lead] + coUnits {
                put(CaseSchema.Field.deadline, .integer(deadline), element: u)
                if let instruction, !instruction.isEmpty { put(CaseSchema.Field.instruction, .text(instruction), element: u) }
            }
            step?.lead = lead
            step?.coUnits = coUnits.isEmpty ? nil : coUnits
            step?.deadline = deadline
            step?.text = instruction
            assignedAt = assignedAt ?? now
        case .report(let kind, let text):
            step?.report = kind
            step?.text = try Self.required(text, "the report", zh: "报告内容")
        case .heat(let views, let comments, let reposts):
            guard views >= 0, comments >= 0, reposts >= 0 else {
                throw WorkflowError(.input, "heat counts cannot be negative", zh: "热度数据（浏览、评论、转发数）不能为负数")
            }
            step?.views = views; step?.comments = comments; step?.reposts = reposts
        case .urge(let unit, let note), .notice(let unit, let note):
            step?.target = unit
            step?.text = note
        case .draft(let text, let revises):
            guard let file, file.concerns(actor.unit) else {
                throw WorkflowError(.unitScope, "\(actor.unit) is not assigned case \(caseID)", zh: "案件 \(caseID) 未交办给 \(actor.unit)")
            }
            if let revises {
                guard let r = file.state.reply(revises), r.stage == .returned else {
                    throw WorkflowError(.notInState, "draft \(revises) was not returned; only a returned draft is revised",
                                        zh: "草稿 \(revises) 未被退回；只有退回的草稿才能修改")
                }
            }
            step?.text = try Self.required(text, "the draft's text", zh: "草稿内容")
            step?.target = revises
        case .sign(let draft):
            guard file?.state.reply(draft)?.unit == actor.unit else {
                let owner = file?.state.reply(draft)?.unit
                throw WorkflowError(.unitScope, "draft \(draft) is \(file?.state.reply(draft)?.unit ?? "another unit")'s; its own unit head signs it",
                                    zh: "草稿 \(draft) 属于" + (owner.map { "单位 \($0)" } ?? "其他单位") + "；须由该单位的负责人签字")
            }
            step?.target = draft
        case .approve(let draft, let note):
            if Level.isMajor(file?.level), !roles.contains(.leader) {
                throw WorkflowError(.role, "case \(caseID) is level \(file?.level ?? ""): its reply is approved by a leader (领导)",
                                    zh: "案件 \(caseID) 的级别为 \(file?.level ?? "")（\(scheme.chinese(file?.level ?? ""))）：其回复须由领导（leader）审定")
            }
            if Level.isMajor(file?.level) { step?.role = .leader }
            put(CaseSchema.Field.decision, .text("approved"), element: draft)
            step?.target = draft
            step?.text = note
        case .returnDraft(let draft, let reason):
            put(CaseSchema.Field.decision, .text("returned"), element: draft)
            step?.target = draft
            step?.text = try Self.required(reason, "the reason for returning it", zh: "退回理由")
        case .publish(let draft, let link):
            step?.target = draft
            step?.link = try Self.required(link, "the published link", zh: "发布链接")
        case .reopen(let reason):
            step?.text = try Self.required(reason, "the new doubts", zh: "新出现的疑问")
        case .archive(let note):
            step?.text = note
        case .review(let text), .library(let text):
            step?.text = try Self.required(text, "the text", zh: "内容")
        case .link(let other):
            guard other != caseID else { throw WorkflowError(.input, "a case cannot be merged into itself", zh: "案件不能合并到自身") }
            put(CaseSchema.Field.linkedTo, .text(other))
            step?.target = other
        case .evidence(let digest, let evidence):
            guard Evidence.isDigest(digest) else {
                throw WorkflowError(.input, "'\(digest)' is not a SHA-256 digest (64 lowercase hex digits)",
                                    zh: "“\(digest)”不是 SHA-256 摘要（64 位小写十六进制数字）")
            }
            guard evidence.bytes <= org.settings.evidenceMaxBytes else {
                throw WorkflowError(.input, "the evidence file is \(evidence.bytes) bytes; the office accepts at most \(org.settings.evidenceMaxBytes) (settings evidence_max_bytes)",
                                    zh: "证据文件大小为 \(evidence.bytes) 字节；舆情工作办公室规定最多 \(org.settings.evidenceMaxBytes) 字节（设置项 evidence_max_bytes）")
            }
            if file?.evidence.contains(where: { $0.digest == digest }) ?? false {
                throw WorkflowError(.input, "case \(caseID) already holds this evidence (\(digest.prefix(12))…); evidence is never overwritten",
                                    zh: "案件 \(caseID) 已有此证据（\(digest.prefix(12))…）；证据一经保存不会被覆盖")
            }
            put(CaseSchema.Field.evidence, .text(evidence.encoded()), element: digest)
        case .edit(let fields):
            guard !fields.isEmpty else { throw WorkflowError(.input, "give at least one field to change", zh: "请至少给出一个要修改的字段") }
            for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
                guard Self.descriptive.contains(name) else {
                    throw WorkflowError(.input, "'\(name)' cannot be edited; editable fields: \(Self.descriptive.joined(separator: ", "))"
                                        + (name == "status" ? ". The status follows from the workflow's steps: take a step instead (see `yuqing case --help`)" : "")
                                        + (name == "level" ? ". Change a level with `yuqing case level`" : ""),
                                        zh: "“\(name)”不能编辑；可编辑的字段：\(Self.descriptive.joined(separator: "、"))"
                                        + (name == "status" ? "。状态由办理流程的步骤决定：请办理相应步骤（见 `yuqing case --help`）" : "")
                                        + (name == "level" ? "。调整级别请用 `yuqing case level`" : ""))
                }
                put(name, value)
            }
        case .keywords(let add, let remove), .units(let add, let remove):
            let field = { if case .keywords = action { return CaseSchema.Field.keywords } else { return CaseSchema.Field.units } }()
            for k in add where !k.isEmpty { put(field, .integer(1), element: k) }
            if field == CaseSchema.Field.units, !remove.isEmpty {
                throw WorkflowError(.input, "units concerned are never removed: a unit once concerned keeps its access to the case",
                                    zh: "涉事单位不能移除：单位一经涉及案件，即保留对该案件的访问权限")
            }
            for k in remove {
                guard file?.view.elements(field).contains(k) ?? false else {
                    throw WorkflowError(.input, "'\(k)' is not among the case's \(field)",
                                        zh: "“\(k)”不在该案件的\(field == CaseSchema.Field.keywords ? "关键词" : "涉事单位")（\(field)）中")
                }
                put(field, nil, element: k)
            }
        }

        // New deadline clocks the step starts.
        if let file, action.stepKind == .assess || action.stepKind == .level || action.stepKind == .assign, let discovered = file.discoveredAt {
            let clocks = Deadlines.clocks(discoveredAt: discovered, level: newLevel, category: newCategory, assignedAt: assignedAt,
                                          existing: file.dueTimes, table: org.settings.deadlines, utcOffsetMinutes: org.settings.utcOffsetMinutes)
            for (k, v) in clocks.sorted(by: { $0.key < $1.key }) { put(CaseSchema.Field.due, .integer(v), element: k) }
        }
        if let step { put(CaseSchema.Field.steps, .text(step.encoded()), element: stepID) }
        return (caseID, writes)
    }

    /// `text` trimmed; refused when empty, naming `what` is needed (`chinese`: the same in Chinese).
    static func required(_ text: String, _ what: String, zh chinese: String) throws(WorkflowError) -> String {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !t.isEmpty else { throw WorkflowError(.input, "give \(what)", zh: "请填写\(chinese)") }
        return t
    }
}
