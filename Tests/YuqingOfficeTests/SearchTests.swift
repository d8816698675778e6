import Foundation
import Testing
import YuqingCases
import YuqingCore
import YuqingReplica
import YuqingTestSupport
@testable import YuqingOffice

/// Search over real SQLite replicas, a node's and the hub's: Chinese substrings of one, two and
/// more characters, filters, and an index that follows every change (new, edited, purged records).
@Suite struct SearchTests {
    static let org: Organisation = {
        var org = Organisation()
        for u in ["office", "town-a", "bureau-b"] { org.units[u] = .init(id: u, name: u, parent: u == "office" ? nil : "office") }
        org.users["li"] = .init(id: "li", name: "li", unit: "town-a", roles: [.monitor, .commentator])
        org.users["sun"] = .init(id: "sun", name: "sun", unit: "bureau-b", roles: [.monitor])
        org.users["chen"] = .init(id: "chen", name: "chen", unit: "office", roles: [.office])
        return org
    }()

    static let day: Int64 = 86_400_000
    static let start: Int64 = 1_788_000_000_000

    /// Takes `action` as `user` on `replica` (as the CLI does); returns the case id.
    @discardableResult
    static func take(_ replica: Replica, _ user: String, _ action: CaseAction, on id: String? = nil, at now: Int64) throws -> String {
        let u = org.users[user]!
        let actor = Actor(user: user, unit: u.unit)
        let planner = Planner(actor: actor, roles: u.roles, org: org, now: now, newID: { p in "\(p)\(now)-\(UInt32.random(in: 0...UInt32.max))" })
        let file = try id.flatMap { try replica.view(CaseSchema.caseRef($0)) }.map(CaseFile.init)
        let plan = try planner.plan(action, on: file)
        try replica.write(plan.writes.map { Replica.Write($0.record, $0.field, $0.value) }, author: actor.author)
        return plan.caseID
    }

    static func register(_ replica: Replica, _ user: String, _ title: String, summary: String, level: String = "III",
                         category: Category = .inquiry, day n: Int64) throws -> String {
        var r = Registration(title: title)
        (r.summary, r.level, r.category, r.platform, r.discoveredAt) = (summary, level, category, .weibo, start + n * day)
        return try take(replica, user, .register(r), at: start + n * day)
    }

    /// Three cases, a reply and a report on `replica`; returns the case ids.
    static func populate(_ replica: Replica) throws -> [String] {
        let a = try register(replica, "li", "城关镇菜市场违规收费", summary: "网民称菜市场管理方重复收取摊位费", day: 1)
        let b = try register(replica, "sun", "县医院挂号难问题", summary: "患者反映网络舆情中挂号费与公示不符", level: "IV", day: 2)
        let c = try register(replica, "chen", "Network rumour about AB roads", summary: "网传城关镇道路封闭", level: "II", category: .unlawful, day: 3)
        try take(replica, "chen", .assign(lead: "town-a", coUnits: [], deadline: start + 2 * day, instruction: nil), on: a, at: start + day + 1000)
        try take(replica, "li", .draft(text: "经核实，摊位费已全部退还。", revises: nil), on: a, at: start + day + 2000)
        let filing = Filing(at: start + 5 * day, by: Actor(user: "sun", unit: "bureau-b"), zero: false, cases: 1, text: "本月发现挂号收费舆情一件")
        try replica.write(try ReportWrites.file(.monthly, period: "2026-08", filing: filing, entryID: "F-1").map { Replica.Write($0.record, $0.field, $0.value) },
                          author: "sun@bureau-b")
        return [a, b, c]
    }

    func found(_ index: OfficeIndex, _ text: String, _ edit: (inout SearchQuery) -> Void = { _ in }) throws -> [String] {
        var q = SearchQuery(text: text)
        edit(&q)
        return try index.search(q, now: Self.start + 10 * Self.day).map { $0.kind == "reply" ? "reply:\($0.record)" : $0.record }.sorted()
    }

    @Test(arguments: [ReplicaRole.node, ReplicaRole.hub])
    func chineseSubstringsOfAnyLength(role: ReplicaRole) throws {
        let dir = try TempDir()
        let replica = try Replica.create(at: dir.path("r.sqlite"), role: role, unit: role == .hub ? "hub" : "town-a", schema: CaseSchema.schema)
        let index = OfficeIndex(replica)
        // Written before the index exists: the first refresh builds it from everything.
        let ids = try Self.populate(replica)
        let (a, b, c) = (ids[0], ids[1], ids[2])
        let report = "monthly:2026-08:bureau-b"
        #expect(try index.refresh().rebuilt)
        // One character, two, three and more; the title or the text; a reply's text.
        #expect(try found(index, "摊") == [a, "reply:\(a)"])
        #expect(try found(index, "菜市") == [a])
        #expect(try found(index, "菜市场") == [a])
        #expect(try found(index, "重复收取摊位费") == [a])
        #expect(try found(index, "退还") == ["reply:\(a)"])
        #expect(try found(index, "舆情") == [b, report])
        #expect(try found(index, "网络舆情") == [b])
        #expect(try found(index, "城关镇") == [a, c])
        #expect(try found(index, "挂号") == [b, report])
        // Every word must appear, whatever their lengths; case does not matter.
        #expect(try found(index, "城关镇 道路") == [c])
        #expect(try found(index, "城 费") == [a])
        #expect(try found(index, "ab") == [c])
        #expect(try found(index, "RUMOUR") == [c])
        #expect(try found(index, "菜市场 医院").isEmpty)
        // Text that is FTS syntax is only text.
        #expect(try found(index, "\"摊位费").isEmpty)
        #expect(try found(index, "AND OR NOT *").isEmpty)
        #expect(throws: OfficeError.self) { try found(index, "   ") }
        // Filters.
        #expect(try found(index, "城关") { $0.level = "II" } == [c])
        #expect(try found(index, "费") { $0.unit = "bureau-b" } == [b, report])
        #expect(try found(index, "费") { $0.status = .replying } == [a, "reply:\(a)"])
        #expect(try found(index, "费") { $0.kinds = ["report"] } == [report])
        #expect(try found(index, "城关") { $0.from = Self.start + 3 * Self.day } == [c])
        #expect(try found(index, "城关") { $0.to = Self.start + 2 * Self.day } == [a])
        // a's assignment deadline (day 2) is past and unmet at day 10; the others' clocks too, but
        // only what was asked is listed.
        #expect(try found(index, "摊位费") { $0.overdue = true; $0.kinds = ["case"] } == [a])

        // A new case, an edit and a new reply are found after the next refresh, and nothing stale is.
        let d = try Self.register(replica, "li", "老街拆迁补偿", summary: "拆迁补偿标准遭质疑", day: 4)
        try Self.take(replica, "li", .edit([CaseSchema.Field.title: .text("城关镇集贸市场违规收费")]), on: a, at: Self.start + 4 * Self.day)
        let refreshed = try index.refresh()
        #expect(!refreshed.rebuilt && refreshed.records == 2)
        #expect(try found(index, "拆") == [d])
        #expect(try found(index, "集贸") == [a])
        #expect(try found(index, "城关镇菜市场").isEmpty)
        #expect(try index.refresh().records == 0)
    }

    @Test func aPurgedNodeForgetsWhatItHeld() throws {
        let dir = try TempDir()
        let replica = try Replica.create(at: dir.path("n.sqlite"), role: .node, unit: "town-a", schema: CaseSchema.schema)
        let index = OfficeIndex(replica)
        try index.refresh()
        let a = try Self.populate(replica)[0]
        try index.refresh()
        #expect(try found(index, "摊") == [a, "reply:\(a)"])
        // What a revoked device does: its values go, and so do its search results and statistics.
        _ = try replica.purgeEverything()
        #expect(try index.refresh().records > 0)
        #expect(try found(index, "摊").isEmpty)
        #expect(try index.cases(discovered: nil).isEmpty)
    }

    @Test func theIndexIsRebuiltWhenItsVersionChanges() throws {
        let dir = try TempDir()
        let replica = try Replica.create(at: dir.path("n.sqlite"), role: .node, unit: "town-a", schema: CaseSchema.schema)
        let index = OfficeIndex(replica)
        _ = try Self.populate(replica)
        try index.refresh()
        try replica.database.write { db in try db.execute(sql: "UPDATE office_meta SET value = 0 WHERE key = 'version'") }
        let r = try index.refresh()
        #expect(r.rebuilt && r.records == 4)
        #expect(try found(index, "挂号").count == 2)
        // Statistics read the same index.
        let stats = try index.statistics(Period(kind: .range, first: CivilDate(daysSince1970: Self.start / Self.day - 1),
                                                last: CivilDate(daysSince1970: Self.start / Self.day + 30)),
                                         org: Self.org, now: Self.start + 10 * Self.day)
        #expect(stats.total.cases == 3)
    }
}
