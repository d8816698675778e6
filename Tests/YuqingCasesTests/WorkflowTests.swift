import Testing
@testable import YuqingCases
import YuqingCore

/// Every workflow rule: who may take which step, in which state, and what the steps amount to.
@Suite struct WorkflowTests {
    static func registered(level: String = "III", category: Category = .inquiry) throws -> Desk {
        var desk = Desk()
        var r = Registration(title: "网帖：卫生院乱收费")
        r.level = level
        r.category = category
        try desk.take("li", .register(r))
        return desk
    }

    @Test func aCaseGoesThroughEveryStep() throws {
        var d = try Self.registered()
        #expect(d.file?.state.status == .registered)
        try d.take("li", .quickReport("帖子属实"))
        try d.take("chen", .assess(category: .inquiry, level: "II", opinion: "由城关镇牵头核实"))
        #expect(d.file?.state.status == .assessed)
        #expect(d.file?.level == "II")
        #expect(d.file?.state.escalations.count == 1)
        try d.take("zhao", .assign(lead: "town-a", coUnits: ["bureau-b"], deadline: d.now + 86_400_000, instruction: "两小时内书面报告"))
        #expect(d.file?.state.status == .assigned)
        #expect(d.file?.leadUnit == "town-a" && d.file?.coUnits == ["bureau-b"])
        try d.take("li", .report(.written, "已联系发帖人"))
        try d.take("sun", .report(.progress, "物价局已调阅收费依据"))
        #expect(d.file?.state.status == .handling)
        try d.take("li", .draft(text: "收费符合规定", revises: nil))
        #expect(d.file?.state.status == .replying)
        let first = d.draft()
        try d.take("wang", .sign(draft: first))
        try d.take("chen", .returnDraft(draft: first, reason: "补充依据"))
        #expect(d.file?.state.reply(first)?.stage == .returned)
        try d.take("li", .draft(text: "收费依据为省物价文件", revises: first))
        let second = d.draft(1)
        #expect(d.file?.state.reply(second)?.version == 2)
        try d.take("wang", .sign(draft: second))
        try d.take("zhao", .approve(draft: second, note: nil))
        try d.take("chen", .publish(draft: second, link: "https://bbs.example/t/1"))
        #expect(d.file?.state.status == .replied)
        try d.take("qian", .statement("县卫健委回应"))
        try d.take("chen", .reopen(reason: "网民继续质疑"))
        #expect(d.file?.state.status == .handling && d.file?.state.round == 2)
        try d.take("li", .draft(text: "补充说明", revises: nil))
        let third = d.draft(2)
        #expect(d.file?.state.reply(third)?.version == 1 && d.file?.state.reply(third)?.round == 2)
        try d.take("wang", .sign(draft: third))
        try d.take("zhao", .approve(draft: third, note: "同意"))
        try d.take("chen", .publish(draft: third, link: "https://bbs.example/t/2"))
        try d.take("chen", .archive(note: nil))
        #expect(d.file?.state.status == .archived)
        try d.take("chen", .review("处置及时"))
        try d.take("zhao", .library("典型案例"))
        #expect(d.file?.state.inLibrary == true)
        let entries = d.file!.entries
        #expect(entries.allSatisfy { $0.effective })
    }

    /// Each step, taken by every user: allowed exactly for the roles of `Workflow.roles(for:)`.
    @Test(arguments: ["li", "wang", "sun", "chen", "zhao", "qian", "op"])
    func onlyTheRightRolesTakeEachStep(user: String) throws {
        let roles = Fixture.org.users[user]!.roles
        for kind in StepKind.allCases {
            let allowed = !roles.isDisjoint(with: Workflow.roles(for: kind))
            do {
                _ = try Fixture.planner(user, now: 0).role(for: kind)
                #expect(allowed, "\(user) may not take \(kind)")
            } catch {
                #expect(!allowed, "\(user) may take \(kind)")
                #expect(error.code == .role)
                #expect(error.message.contains(Workflow.roles(for: kind).sorted().first!.rawValue), "names a role that may: \(error.message)")
            }
        }
    }

    @Test func stepsOutOfOrderAreRefusedWithWhatIsNeeded() throws {
        var d = try Self.registered()
        #expect(throws: WorkflowError.self) { try d.take("li", .draft(text: "x", revises: nil)) }
        #expect(throws: WorkflowError.self) { try d.take("chen", .urge(unit: "town-a", note: nil)) }
        #expect(throws: WorkflowError.self) { try d.take("chen", .archive(note: nil)) }
        #expect(throws: WorkflowError.self) { try d.take("chen", .reopen(reason: "x")) }
        #expect(throws: WorkflowError.self) { try d.take("zhao", .library("x")) }
        try d.take("chen", .assign(lead: "town-a", coUnits: [], deadline: d.now + 3_600_000, instruction: nil))
        try d.take("li", .draft(text: "x", revises: nil))
        let draft = d.draft()
        // Approve before the unit head signed; a unit head of another unit; publish unapproved.
        do { try d.take("chen", .approve(draft: draft, note: nil)); Issue.record("approved unsigned") } catch { #expect(error.message.contains("not signed")) }
        do { try d.take("zhou", .sign(draft: draft)); Issue.record("signed by another unit") } catch { #expect(error.code == .unitScope) }
        try d.take("wang", .sign(draft: draft))
        do { try d.take("chen", .publish(draft: draft, link: "u")); Issue.record("published unapproved") } catch { #expect(error.code == .notInState) }
        do { try d.take("li", .draft(text: "y", revises: draft)); Issue.record("revised a draft not returned") } catch { #expect(error.code == .notInState) }
    }

    @Test func aMajorCasesReplyIsApprovedByALeader() throws {
        var d = try Self.registered(level: "I")
        try d.take("chen", .assign(lead: "town-a", coUnits: [], deadline: d.now + 3_600_000, instruction: nil))
        try d.take("li", .draft(text: "x", revises: nil))
        try d.take("wang", .sign(draft: d.draft()))
        do { try d.take("chen", .approve(draft: d.draft(), note: nil)); Issue.record("office approved a level I reply") } catch {
            #expect(error.code == .role && error.message.contains("leader"))
        }
        try d.take("zhao", .approve(draft: d.draft(), note: nil))
        #expect(d.file?.state.reply(d.draft())?.stage == .approved)
    }

    @Test func aUnitWorksOnlyOnCasesThatConcernIt() throws {
        var d = try Self.registered()
        do { try d.take("sun", .report(.progress, "x")); Issue.record("another unit reported") } catch { #expect(error.code == .unitScope) }
        try d.take("chen", .assign(lead: "town-a", coUnits: ["bureau-b"], deadline: d.now + 3_600_000, instruction: nil))
        try d.take("sun", .report(.progress, "协办意见"))
    }

    @Test func anArchivedCaseIsReadOnly() throws {
        var d = try Self.registered()
        try d.take("chen", .assign(lead: "town-a", coUnits: [], deadline: d.now + 3_600_000, instruction: nil))
        try d.take("li", .draft(text: "x", revises: nil))
        try d.take("wang", .sign(draft: d.draft()))
        try d.take("chen", .approve(draft: d.draft(), note: nil))
        try d.take("chen", .publish(draft: d.draft(), link: "u"))
        try d.take("chen", .archive(note: nil))
        for (user, action) in [("li", CaseAction.report(.progress, "x")), ("chen", .edit(["title": .text("t")])),
                               ("chen", .setLevel("I", reason: nil)), ("chen", .reopen(reason: "x"))] {
            do { try d.take(user, action); Issue.record("\(action) on an archived case") } catch { #expect(error.code == .archived) }
        }
    }

    @Test func theThreeLevelSchemeAndEscalation() throws {
        var org = Fixture.org
        org.settings.levelScheme = .three
        var p = Planner(actor: Fixture.actor("li"), roles: [.monitor], org: org, now: 0, newID: { $0 + "1" })
        var r = Registration(title: "t")
        r.level = "IV"
        #expect(throws: WorkflowError.self) { try p.plan(.register(r), on: nil) }
        r.level = "二级"
        let plan = try p.plan(.register(r), on: nil)
        #expect(plan.writes.contains { $0.field.name == "level" && $0.value == .text("II") })
        p.actor = Fixture.actor("chen")
        p.roles = [.office]
        var d = try Self.registered(level: "IV")
        try d.take("chen", .setLevel("II", reason: "转载量大"))
        let escalation = try #require(d.file?.state.escalations.first)
        #expect(escalation.from == "IV" && escalation.level == "II" && escalation.notify == Level.notified("II"))
        try d.take("chen", .setLevel("III", reason: "热度下降"))
        #expect(d.file?.state.escalations.count == 1, "lowering is not an escalation")
    }

    @Test func theStatusCannotBeSetByHandAndLegacyFieldsAreReadOnly() throws {
        var d = try Self.registered()
        do { try d.take("chen", .edit(["status": .text("archived")])); Issue.record("status set") } catch { #expect(error.message.contains("steps")) }
        do { try d.take("chen", .edit(["unit": .text("x")])); Issue.record("unit changed") } catch { #expect(error.code == .input) }
    }
}

/// What a node offers: only the steps the user's role allows, and only where they fit.
@Suite struct OfferedStepsTests {
    @Test func eachUserIsOfferedWhatTheyMayDoNow() throws {
        var d = try WorkflowTests.registered()
        func offered(_ user: String) -> Set<StepKind> {
            Set(Workflow.available(roles: Fixture.org.users[user]!.roles, unit: Fixture.actor(user).unit, on: d.file!))
        }
        #expect(offered("li") == [.quickReport, .report, .heat, .link])
        #expect(offered("chen").isSuperset(of: [.assess, .level, .assign]) && !offered("chen").contains(.draft))
        #expect(offered("sun").isEmpty, "a unit the case does not concern")
        #expect(offered("wang").isSuperset(of: [.report]) && !offered("wang").contains(.sign))
        try d.take("chen", .assign(lead: "town-a", coUnits: [], deadline: d.now + 3_600_000, instruction: nil))
        try d.take("li", .draft(text: "x", revises: nil))
        #expect(offered("wang").contains(.sign))
        #expect(!offered("zhou").contains(.sign), "another unit's head")
        #expect(!offered("chen").contains(.approve), "not signed yet")
        try d.take("wang", .sign(draft: d.draft()))
        #expect(offered("chen").isSuperset(of: [.approve, .return]))
        #expect(offered("qian") == [.statement])
    }
}
