import Testing
@testable import YuqingCases
import YuqingCore

/// The rules the hub applies to pushed changes: each refusal, and that what the planner makes passes.
@Suite struct CaseRulesTests {
    static func check(_ changes: [Change], against desk: Desk? = nil) -> CaseRules.Refusal? {
        CaseRules(org: Fixture.org).check(changes) { id in
            guard let d = desk, d.caseID == id else { return nil }
            return d.file?.view
        }
    }

    @Test func whatThePlannerMakesIsAccepted() throws {
        var d = Desk()
        let made = try d.take("li", .register(Registration(title: "t")))
        #expect(Self.check(made) == nil)
    }

    static func change(_ author: String, _ field: FieldKey, _ value: FieldValue?, kind: String = "case", id: String = "YQ-1",
                       context: [Dot] = []) -> Change {
        Change(dot: Dot(replica: ReplicaID("x"), counter: 1), hlc: HLC(wallMillis: 1), record: RecordRef(kind: kind, id: id),
               field: field, value: value, context: context, author: author)
    }

    static func step(_ kind: StepKind, by user: String, role: Role) -> FieldValue {
        .text(Step(kind: kind, at: 1, by: Fixture.actor(user), role: role).encoded())
    }

    @Test(arguments: [
        // Schema: unknown kinds and fields, values outside their domain.
        (change("li@town-a", FieldKey("colour"), .text("red")), "schema"),
        (change("li@town-a", FieldKey("title"), .text("t"), kind: "memo"), "schema"),
        (change("chen@office", FieldKey("level"), .text("V")), "schema"),
        (change("chen@office", FieldKey("category"), .text("9")), "schema"),
        (change("chen@office", FieldKey("deadline", element: "town-a"), .text("tomorrow")), "schema"),
        (change("li@town-a", FieldKey("steps", element: "S1"), .text("not json")), "schema"),
        // Who the author is.
        (change("nobody@town-a", FieldKey("title"), .text("t")), "author"),
        (change("li@bureau-b", FieldKey("title"), .text("t")), "author"),
        (change("li", FieldKey("title"), .text("t")), "author"),
        (change("li@town-a", FieldKey("steps", element: "S1"), step(.quickReport, by: "chen", role: .office)), "author"),
        // Roles.
        (change("li@town-a", FieldKey("steps", element: "S1"), step(.assess, by: "li", role: .monitor)), "role"),
        (change("li@town-a", FieldKey("steps", element: "S1"), step(.assess, by: "li", role: .office)), "role"),
        (change("li@town-a", FieldKey("lead_unit"), .text("town-a")), "role"),
        (change("li@town-a", FieldKey("decision", element: "S1"), .text("approved")), "role"),
        (change("wang@town-a", FieldKey("steps", element: "S1"), step(.approve, by: "wang", role: .unitHead)), "role"),
        (change("chen@office", FieldKey("name"), .text("x"), kind: "user", id: "li"), "role"),
        // Immutable and read-only fields.
        (change("li@town-a", FieldKey("unit"), .text("town-a"), context: [Dot(replica: ReplicaID("y"), counter: 1)]), "immutable"),
        (change("qian@office", FieldKey("status"), .text("archived")), "role"),
        // Unit scope: a case that does not concern the author's unit.
        (change("sun@bureau-b", FieldKey("title"), .text("t"), id: "YQ-TOWN"), "unit_scope"),
    ])
    func ruleBreakingChangesAreRefusedNamingTheRule(change: Change, rule: String) throws {
        var d = Desk()
        try d.take("li", .register(Registration(title: "town's case")))
        let town = d
        // Every case change is about the town's registered case (the rule under test is then the first one broken).
        var c = change
        if c.record.kind == "case" { c.record = RecordRef(kind: "case", id: d.caseID!) }
        let refusal = try #require(Self.check([c], against: town))
        #expect(refusal.error.code.description == rule, "\(refusal.error.message)")
    }

    @Test func aSecondRegistrationOfOneCaseIsRefused() throws {
        var d = Desk()
        let made = try d.take("li", .register(Registration(title: "t")))
        let unit = try #require(made.first { $0.field.name == "unit" })
        var again = unit
        again.dot = Dot(replica: ReplicaID("z"), counter: 9)
        #expect(Self.check([again], against: d)?.error.code == .immutable)
        // In one push, too.
        #expect(Self.check([unit, again])?.error.code == .immutable)
    }

    /// A push sent twice can race itself at the hub: the copy checked after the other was stored
    /// must pass (the same dot), or a node would be refused its own registration.
    @Test func aChangeTheHubAlreadyHoldsPassesAgain() throws {
        var d = Desk()
        let made = try d.take("li", .register(Registration(title: "t")))
        #expect(Self.check(made, against: d) == nil)
    }

    /// What the review found: no write takes an entry away, shrinks a scope, or widens its own.
    @Test func entriesAreNeverReplacedAndScopeNeverShrinksOrGrantsItself() throws {
        var d = Desk()
        let made = try d.take("li", .register(Registration(title: "t")))
        let step = try #require(made.first { $0.field.name == "steps" })
        let id = d.caseID!
        // A step naming the register step as superseded.
        var replacing = Self.change("chen@office", step.field, Self.step(.report, by: "chen", role: .office), id: id, context: [step.dot])
        replacing.dot = Dot(replica: ReplicaID("o"), counter: 1)
        #expect(Self.check([replacing], against: d)?.error.code == .immutable)
        // Removing a unit concerned.
        #expect(Self.check([Self.change("chen@office", FieldKey("units", element: "town-a"), nil, id: id)], against: d)?.error.code == .immutable)
        // A unit adding itself, then writing: refused at the first change, which its scope does not allow.
        let grant = Self.change("sun@bureau-b", FieldKey("units", element: "bureau-b"), .integer(1), id: id)
        let then = Self.change("sun@bureau-b", FieldKey("title"), .text("x"), id: id)
        #expect(Self.check([grant, then], against: d)?.index == 0)
        // Once the office adds it, the unit may write.
        let byOffice = Self.change("chen@office", FieldKey("units", element: "bureau-b"), .integer(1), id: id)
        #expect(Self.check([byOffice, then], against: d) == nil)
    }

    @Test func aRoleGrantedEarlierInAPushCounts() {
        let grant = Self.change("op@office", FieldKey("roles", element: "office"), .integer(1), kind: "user", id: "op")
        let assess = Self.change("op@office", FieldKey("lead_unit"), .text("town-a"))
        #expect(Self.check([assess])?.error.code == .role)
        #expect(Self.check([grant, assess]) == nil)
    }

    @Test func theOperatorEditsTheOrganisation() {
        #expect(Self.check([Self.change("op@office", FieldKey("roles", element: "office"), .integer(1), kind: "user", id: "li")]) == nil)
        #expect(Self.check([Self.change("op@office", FieldKey("name"), .text("x"), kind: "unit", id: "bad@id")])?.error.code == .schema)
    }
}
