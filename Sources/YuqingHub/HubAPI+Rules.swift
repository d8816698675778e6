import Logging
import Synchronization
import YuqingCases
import YuqingCore
import YuqingWire

extension HubStorage {
    /// The first change of `changes` the hub does not hold yet that breaks the workflow's rules
    /// or the schema (`Protocol/workflow.md` §5), read against the organisation and the cases as
    /// the hub holds them now; nil when there is none.
    public func caseRuleRefusal(_ changes: [Change]) async throws -> (change: Change, refusal: CaseRules.Refusal)? {
        let input = try await ruleInputs(changes, kinds: Organisation.kinds, recordKind: CaseSchema.Kind.case, fields: CaseRules.fieldsRead)
        guard !input.fresh.isEmpty else { return nil }
        let org = OrganisationCache.shared.organisation(input.all)
        let held = Dictionary(input.touched.map { ($0.record.id, $0) }, uniquingKeysWith: { a, _ in a })
        guard let refusal = CaseRules(org: org).check(input.fresh, lookup: { held[$0] }) else { return nil }
        return (input.fresh[refusal.index], refusal)
    }
}

extension HubAPI {
    /// Refuses a push any new change of which breaks the workflow's rules or the schema: 422
    /// `rule_violation`, naming the change and the rule; nothing of the push is stored, so the node
    /// keeps all of it (`Protocol/workflow.md` §5). Changes the hub already holds (a re-sent push)
    /// are not checked again.
    ///
    /// `found` is what ``HubStorage/caseRuleRefusal(_:)`` returned for the push.
    func refuse(_ push: PushRequest, _ found: (change: Change, refusal: CaseRules.Refusal)?) throws {
        guard let (change, refusal) = found else { return }
        logger.notice("push refused: rule", metadata: [
            "sync.node": "\(push.replica)", "hub.dot": "\(refusal.dot)", "hub.rule": "\(refusal.error.code)",
        ])
        // Who may do it (role, unit, author): 403; what the change is (schema, state): 422.
        let forbidden: Set<WorkflowError.Code> = [.role, .unitScope, .author]
        throw HubError(forbidden.contains(refusal.error.code) ? .forbidden : .unprocessableContent, "rule_violation",
                       "change \(refusal.dot) (\(change.record) \(change.field)) breaks the rule '\(refusal.error.code)': \(refusal.error.message); nothing of this push was stored",
                       zh: "变更 \(refusal.dot)（\(change.record) \(change.field)）违反规则 `\(refusal.error.code)`：\(refusal.error.chinese)；本次推送的内容均未保存",
                       rule: "\(refusal.error.code)", dot: "\(refusal.dot)")
    }
}

/// The organisation of the last push checked, kept with the views it was read from. An SQLite
/// hub hands out the same array of views (the same storage) until a change of the organisation
/// is logged (``YuqingReplica/Replica/ruleInputs(_:kinds:recordKind:fields:)``), so the same
/// storage means the same organisation, and building it again from a county's units, users and
/// devices for every push (measured: 6% of the hub's work with 200 units syncing at once) is
/// skipped. The kept array holds its storage, so no other array can have its address meanwhile.
final class OrganisationCache: Sendable {
    static let shared = OrganisationCache()
    private let kept = Mutex<(views: [RecordView], org: Organisation)?>(nil)

    func organisation(_ views: [RecordView]) -> Organisation {
        if let org = kept.withLock({ k in k.flatMap { Self.sameStorage($0.views, views) ? $0.org : nil } }) { return org }
        let org = Organisation(views)
        kept.withLock { $0 = (views, org) }
        return org
    }

    static func sameStorage(_ a: [RecordView], _ b: [RecordView]) -> Bool {
        a.count == b.count && a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in pa.baseAddress == pb.baseAddress } }
    }
}
