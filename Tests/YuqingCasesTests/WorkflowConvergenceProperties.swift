import Foundation
import Testing
@testable import YuqingCases
import YuqingCore
import YuqingTestSupport

/// Random role-permitted steps on random replicas with random partial syncs: once everyone has
/// exchanged everything, every replica holds the same case, nothing written is lost, the case is
/// in a state the workflow allows, and the hub's rules accept every change the nodes made.
@Suite struct WorkflowConvergenceProperties {
    /// Who works on which replica: a monitor and a unit head of the town and of a co-unit,
    /// the office, a leader, the spokesperson.
    static let desks = ["li", "wang", "sun", "zhou", "chen", "zhao", "qian"]

    /// Steps that move the case on from where `file` stands, in random order, then a random one.
    static func candidates(_ user: String, _ file: CaseFile?, now: Int64, rng: inout SeededRandom) -> [CaseAction] {
        var out: [CaseAction] = []
        let n = Int.random(in: 0..<1000, using: &rng)
        if let file, Bool.random(using: &rng) {
            for r in file.state.replies {
                switch r.stage {
                case .drafted: out.append(.sign(draft: r.id))
                case .signed: out.append(Bool.random(using: &rng) ? .approve(draft: r.id, note: nil) : .returnDraft(draft: r.id, reason: "退回 \(n)"))
                case .approved: out.append(.publish(draft: r.id, link: "https://example.cn/\(n)"))
                case .returned: out.append(.draft(text: "修改 \(n)", revises: r.id))
                case .published: break
                }
            }
            switch file.state.status {
            case .registered: out.append(.assess(category: .inquiry, level: "III", opinion: "研判 \(n)"))
            case .assessed: out.append(.assign(lead: "town-a", coUnits: ["bureau-b"], deadline: now + 86_400_000, instruction: nil))
            case .assigned, .handling: out.append(.draft(text: "回复 \(n)", revises: nil))
            case .replied: out.append(Int.random(in: 0..<3, using: &rng) == 0 ? .reopen(reason: "质疑 \(n)") : .archive(note: nil))
            case .archived: out += [.review("评估 \(n)"), .library("案例 \(n)")]
            case .replying: break
            }
            out.shuffle(using: &rng)
        }
        return out + [randomAction(user, file, now: now, rng: &rng)]
    }

    /// A random action `user` might try on `file` (the planner refuses those that do not fit).
    static func randomAction(_ user: String, _ file: CaseFile?, now: Int64, rng: inout SeededRandom) -> CaseAction {
        let drafts = file?.state.replies.map(\.id) ?? []
        let draft = drafts.randomElement(using: &rng) ?? "none"
        let n = Int.random(in: 0..<1000, using: &rng)
        switch Int.random(in: 0..<22, using: &rng) {
        case 0: return .quickReport("快报 \(n)")
        case 1: return .assess(category: Category.allCases.randomElement(using: &rng), level: Level.scale.randomElement(using: &rng), opinion: "研判 \(n)")
        case 2: return .setLevel(Level.scale.randomElement(using: &rng)!, reason: "调整 \(n)")
        case 3, 4: return .assign(lead: ["town-a", "bureau-b"].randomElement(using: &rng)!, coUnits: Bool.random(using: &rng) ? ["bureau-b"] : [],
                                  deadline: now + 86_400_000, instruction: "批示 \(n)")
        case 5: return .instruct("批示 \(n)")
        case 6, 7: return .report(ReportKind.allCases.randomElement(using: &rng)!, "续报 \(n)")
        case 8: return .heat(views: Int64(n), comments: Int64(n / 10), reposts: Int64(n / 100))
        case 9: return .urge(unit: "town-a", note: nil)
        case 10, 11: return .draft(text: "回复 \(n)", revises: file?.state.replies.first { $0.stage == .returned }?.id)
        case 12: return .sign(draft: draft)
        case 13: return .approve(draft: draft, note: nil)
        case 14: return .returnDraft(draft: draft, reason: "退回 \(n)")
        case 15: return .publish(draft: draft, link: "https://example.cn/\(n)")
        case 16: return .statement("声明 \(n)")
        case 17: return .reopen(reason: "质疑 \(n)")
        case 18: return .archive(note: nil)
        case 19: return .review("评估 \(n)")
        case 20: return .edit(["title": .text("标题 \(n)"), "summary": .text("摘要 \(n % 3)")])
        default: return .units(add: ["单位 \(n % 5)"], remove: [])
        }
    }

    static func run(seed: UInt64, steps: Int) throws {
        var rng = SeededRandom(seed: seed)
        let ids = Fixture.IDs()
        var replicas = desks.map { ReplicaState(id: ReplicaID("r-\($0)"), schema: CaseSchema.schema) }
        var now: Int64 = 1_800_000_000_000
        var written: [Change] = []
        var stepIDs = Set<String>()
        // The town registers; everyone receives it.
        let caseID = "YQ-PROP\(seed)"
        var r = Registration(title: "网帖 \(seed)")
        r.level = "III"
        let planner = Fixture.planner("li", now: now, ids: ids)
        let reg = try Planner(actor: planner.actor, roles: planner.roles, org: planner.org, now: now, newID: { $0 == "YQ-" ? caseID : ids.next($0) })
            .plan(.register(r), on: nil)
        for w in reg.writes { written.append(replicas[0].write(w.record, w.field, w.value, author: planner.actor.author, physicalMillis: UInt64(now))) }
        for i in 1..<replicas.count { for c in replicas[0].log { replicas[i].apply(c) } }
        var taken = 0
        for _ in 0..<steps {
            now += Int64.random(in: 1...600_000, using: &rng)
            let k = Int.random(in: 0..<replicas.count, using: &rng)
            if Int.random(in: 0..<100, using: &rng) < 60 {
                let user = desks[k]
                let view = replicas[k].view(CaseSchema.caseRef(caseID))
                let file = CaseFile(view)
                let p = Fixture.planner(user, now: now, ids: ids)
                guard let plan = candidates(user, file, now: now, rng: &rng).lazy.compactMap({ try? p.plan($0, on: file) }).first else { continue }
                taken += 1
                for w in plan.writes {
                    let c = replicas[k].write(w.record, w.field, w.value, author: Fixture.actor(user).author, physicalMillis: UInt64(now))
                    written.append(c)
                    if w.field.name == CaseSchema.Field.steps { stepIDs.insert(w.field.element) }
                }
            } else {
                // A partial sync: part of one replica's log to another, shuffled.
                let to = Int.random(in: 0..<replicas.count, using: &rng)
                guard to != k else { continue }
                var batch = replicas[k].log.filter { _ in Int.random(in: 0..<100, using: &rng) < 50 }
                batch.shuffle(using: &rng)
                for c in batch { replicas[to].apply(c) }
            }
        }
        // The hub's rules accept everything the nodes made (checked in the order it was made, as
        // a hub receives each node's log in order).
        var seen: [String: RecordView] = [:]
        var hub = ReplicaState(id: ReplicaID("hub"), schema: CaseSchema.schema)
        for c in written {
            let refusal = CaseRules(org: Fixture.org).check([c]) { seen[$0] }
            #expect(refusal == nil, "seed \(seed): the hub refuses \(c.field) by \(c.author): \(refusal?.error.message ?? "")")
            hub.apply(c)
            seen[caseID] = hub.view(CaseSchema.caseRef(caseID))
        }
        // Everyone exchanges everything.
        var changed = true
        while changed {
            changed = false
            for from in replicas.indices.shuffled(using: &rng) {
                for to in replicas.indices where to != from {
                    for c in replicas[from].log where replicas[to].apply(c) { changed = true }
                }
            }
        }
        let files = replicas.map { CaseFile($0.view(CaseSchema.caseRef(caseID))) }
        let digests = Set(replicas.map(\.digest))
        #expect(digests.count == 1, "seed \(seed): replicas diverged")
        #expect(Set(files.map(\.state)).count == 1, "seed \(seed): derived states differ")
        let file = files[0]
        // The hub's scope, read from fields alone, is the workflow's.
        #expect(CaseRules.scope(file.view) == file.scope, "seed \(seed)")
        // Nothing lost: every step taken anywhere is in the timeline.
        #expect(Set(file.entries.map(\.id)) == stepIDs.union(file.entries.filter { $0.step.kind == .register }.map(\.id)), "seed \(seed): steps lost")
        // The converged case is in a state the workflow allows.
        let state = file.state
        let published = state.replies.filter { $0.stage == .published }
        if state.status == .replied || state.status == .archived { #expect(!published.isEmpty, "seed \(seed): replied without a published reply") }
        #expect(state.round == 1 + file.entries.filter { $0.effective && $0.step.kind == .reopen }.count)
        for reply in state.replies where reply.stage != .drafted {
            #expect(reply.signedBy != nil, "seed \(seed): draft \(reply.id) decided without a sign-off")
        }
        if state.inLibrary { #expect(state.reviewed) }
        if state.status >= .assigned { #expect(file.leadUnit != nil) }
        #expect(taken > 0)
        if ProcessInfo.processInfo.environment["YUQING_PROP_STATS"] != nil {
            print("STATS seed \(seed) taken \(taken) status \(state.status) round \(state.round) replies \(state.replies.map(\.stage.rawValue)) ineffective \(file.entries.filter { !$0.effective }.count) conflicts \(file.conflicts.count)")
        }
    }

    @Test(arguments: 0..<Self.schedules)
    func randomSchedulesConvergeToAnAllowedState(seed: Int) throws {
        try Self.run(seed: UInt64(seed) &* 0x9E37_79B9 &+ 7, steps: Self.steps)
    }

    /// `YUQING_SOAK=1` runs many more schedules.
    static let soak = ProcessInfo.processInfo.environment["YUQING_SOAK"] == "1"
    static let schedules = soak ? 2_000 : 150
    static let steps = soak ? 600 : 250
}
