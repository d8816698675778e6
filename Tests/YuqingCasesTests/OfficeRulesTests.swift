import Testing
@testable import YuqingCases
import YuqingCore

/// Routine reports and keywords under the hub's rules: a unit files and keeps only its own.
@Suite struct OfficeRulesTests {
    static func rules() -> CaseRules { CaseRules(org: Fixture.org) }

    static func writes(_ w: [FieldWrite], by user: String) -> [Change] {
        var state = ReplicaState(id: ReplicaID("r-\(user)"), schema: CaseSchema.schema)
        return w.map { state.write($0.record, $0.field, $0.value, author: Fixture.actor(user).author, physicalMillis: 1_000) }
    }

    static func filing(_ user: String, zero: Bool = true) -> Filing { Filing(at: 1_000, by: Fixture.actor(user), zero: zero) }

    @Test func aUnitFilesItsOwnReportsOnly() throws {
        let own = Self.writes(try ReportWrites.file(.monthly, period: "2026-09", filing: Self.filing("li"), entryID: "F-1"), by: "li")
        #expect(Self.rules().check(own) { _ in nil } == nil)
        let daily = Self.writes(try ReportWrites.file(.daily, period: "2026-09-10", filing: Self.filing("sun"), entryID: "F-2"), by: "sun")
        #expect(Self.rules().check(daily) { _ in nil } == nil)

        // li files bureau-b's report: the record is bureau-b's.
        var forged = Self.filing("li")
        forged.unit = "bureau-b"
        let others = try ReportWrites.file(.monthly, period: "2026-09", filing: forged, entryID: "F-3")
        #expect(Self.rules().check(Self.writes(others, by: "li")) { _ in nil }?.error.code == .unitScope)
        // Not even the office files a unit's report for it.
        #expect(Self.rules().check(Self.writes(others, by: "chen")) { _ in nil }?.error.code == .unitScope)
        // A filing that names another author, an id that is not FORM:PERIOD:UNIT, a field that
        // contradicts the id, a filing that replaces another.
        var wrongAuthor = own
        wrongAuthor[3].value = .text(Self.filing("wang").encoded())
        #expect(Self.rules().check(wrongAuthor) { _ in nil }?.error.code == .author)
        var badID = own
        for i in badID.indices { badID[i].record = RecordRef(kind: CaseSchema.Kind.report, id: "monthly:2026-13:town-a") }
        #expect(Self.rules().check(badID) { _ in nil }?.error.code == .schema)
        var contradiction = own
        contradiction[2].value = .text("2026-08")
        #expect(Self.rules().check(contradiction) { _ in nil }?.error.code == .schema)
        var replacing = own
        replacing[3].context = [Dot(replica: ReplicaID("x"), counter: 9)]
        #expect(Self.rules().check(replacing) { _ in nil }?.error.code == .immutable)
        // What the domain refuses before anything is written.
        #expect(throws: WorkflowError.self) { try ReportWrites.file(.monthly, period: "2026-9", filing: Self.filing("li"), entryID: "F") }
        #expect(throws: WorkflowError.self) {
            try ReportWrites.file(.monthly, period: "2026-09", filing: Filing(at: 1, by: Fixture.actor("li"), zero: true, cases: 2), entryID: "F")
        }
    }

    @Test func officeKeywordsAreTheOfficesAndAUnitKeepsItsOwn() throws {
        let office = try Keyword.writes(Keyword(word: "收费", unit: nil, topic: "价格"))
        #expect(Self.rules().check(Self.writes(office, by: "chen")) { _ in nil } == nil)
        #expect(Self.rules().check(Self.writes(office, by: "li")) { _ in nil }?.error.code == .unitScope)
        let mine = try Keyword.writes(Keyword(word: "菜市场", unit: "town-a", topic: nil))
        #expect(Self.rules().check(Self.writes(mine, by: "li")) { _ in nil } == nil)
        #expect(Self.rules().check(Self.writes(mine, by: "sun")) { _ in nil }?.error.code == .unitScope)
        var renamed = Self.writes(mine, by: "li")
        renamed[0].value = .text("别的词")
        #expect(Self.rules().check(renamed) { _ in nil }?.error.code == .schema)
        #expect(throws: WorkflowError.self) { try Keyword.writes(Keyword(word: "a/b", unit: nil, topic: nil)) }
    }

    @Test func aCaseRecordsTheKeywordsItsTextHolds() {
        let watched = [Keyword(word: "收费", unit: nil, topic: "价格监管"), Keyword(word: "菜市场", unit: "town-a", topic: nil),
                       Keyword(word: "医院", unit: "bureau-b", topic: nil), Keyword(word: "拆迁", unit: nil, topic: nil, active: false),
                       Keyword(word: "Fee", unit: nil, topic: nil)]
        #expect(Keyword.matches("城关镇菜市场违规收费 fees 拆迁 医院", keywords: watched, unit: "town-a") == ["收费", "价格监管", "菜市场", "Fee"])
        #expect(Keyword.matches("没有关键词", keywords: watched, unit: "town-a").isEmpty)
    }
}
