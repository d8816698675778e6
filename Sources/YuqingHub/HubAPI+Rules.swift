import Logging
import YuqingCases
import YuqingCore
import YuqingWire

extension HubAPI {
    /// Refuses a push any new change of which breaks the workflow's rules or the schema: 422
    /// `rule_violation`, naming the change and the rule; nothing of the push is stored, so the node
    /// keeps all of it (`Protocol/workflow.md` §5). Changes the hub already holds (a re-sent push)
    /// are not checked again.
    func checkRules(_ push: PushRequest) async throws {
        let fresh = try await storage.unseen(push.changes)
        guard !fresh.isEmpty else { return }
        let org = Organisation(try await storage.views(kinds: Organisation.kinds))
        let cases = Set(fresh.filter { $0.record.kind == CaseSchema.Kind.case }.map(\.record))
        var files: [String: CaseFile] = [:]
        for view in try await storage.views(Array(cases)) { files[view.record.id] = CaseFile(view) }
        guard let refusal = CaseRules(org: org).check(fresh, lookup: { files[$0] }) else { return }
        let change = fresh[refusal.index]
        logger.notice("push refused: rule", metadata: [
            "sync.node": "\(push.replica)", "hub.dot": "\(refusal.dot)", "hub.rule": "\(refusal.error.code)",
        ])
        throw HubError(.unprocessableContent, "rule_violation",
                       "change \(refusal.dot) (\(change.record) \(change.field)) breaks the rule '\(refusal.error.code)': \(refusal.error.message); nothing of this push was stored",
                       rule: "\(refusal.error.code)", dot: "\(refusal.dot)")
    }
}
