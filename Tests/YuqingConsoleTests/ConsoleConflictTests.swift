import Foundation
import Hummingbird
import Testing
import YuqingCases
import YuqingConsole
import YuqingCore
import YuqingHub
import YuqingReplica

@Suite("Console: the operator's conflicts")
struct ConsoleConflictTests {
    /// A case whose summary two nodes wrote concurrently from the registered one; returns the
    /// case id and the changes' common starting dot.
    static func conflicted(_ hub: ConsoleHarness) async throws -> (id: String, base: Dot) {
        var r = Registration(title: "网帖：城关镇卫生院收费")
        r.summary = "网帖称卫生院重复收费。"
        let id = try hub.act("li", .register(r))
        let base = try hub.storage.replica.history(of: CaseSchema.caseRef(id)).first { $0.field.name == CaseSchema.Field.summary }!.dot
        try await write(hub, id, base: base, node: "node-a1", value: "系统故障重复收费一次。", author: "li@town-a")
        try await write(hub, id, base: base, node: "node-a2", value: "收费符合公示标准。", author: "zhao@town-a")
        return (id, base)
    }

    static func write(_ hub: ConsoleHarness, _ id: String, base: Dot, node: String, value: String, author: String) async throws {
        let change = Change(dot: Dot(replica: ReplicaID(node), counter: 1), hlc: HLC(wallMillis: UInt64(hub.now)),
                            record: CaseSchema.caseRef(id), field: FieldKey(CaseSchema.Field.summary), value: .text(value),
                            context: [base], author: author)
        _ = try await hub.storage.ingest([change], from: ReplicaID(node), seals: [])
    }

    @Test func theConflictPageShowsEachSideAndWhereTheyStarted() async throws {
        let hub = try await ConsoleHarness()
        let (id, _) = try await Self.conflicted(hub)
        let conflict = try #require(try await hub.storage.conflicts().first)
        try await hub.run { b in
            try await b.signIn("wang")
            let queue = try await b.get("/console/conflicts")
            #expect(queue.html.contains("case/\(id)"))
            let page = try await b.get("/console/conflicts/" + Browser.encode(conflict.id))
            #expect(page.status == .ok)
            #expect(page.html.contains("网帖称卫生院重复收费。"), "the value both started from")
            #expect(page.html.contains("系统故障重复收费一次。") && page.html.contains("收费符合公示标准。"))
            #expect(page.html.contains("li@town-a") && page.html.contains("zhao@town-a") && page.html.contains("node-a1") && page.html.contains("node-a2"))
        }
    }

    @Test func aResolutionFromAStalePageIsRefusedAndNothingIsApplied() async throws {
        let hub = try await ConsoleHarness()
        let (id, base) = try await Self.conflicted(hub)
        let conflict = try #require(try await hub.storage.conflicts().first)
        try await hub.run { b in
            try await b.signIn("wang")
            let path = "/console/conflicts/" + Browser.encode(conflict.id)
            let page = try await b.get(path)
            let token = try #require(page.csrf)
            // Without a note: refused next to the note, the choice kept.
            let sent = [("record", conflict.record.description), ("field", conflict.field.description)]
            let noNote = try await b.post(path + "/resolve", [("_csrf", token), ("choice", "side-1")] + sent)
            #expect(noNote.status == .unprocessableContent && noNote.html.contains(#"id="resolve-note-error""#))
            #expect(noNote.html.contains(#"value="side-1" selected"#))
            // A third node's value arrives while the operator reads the page.
            try await Self.write(hub, id, base: base, node: "node-a3", value: "第三种说法。", author: "li@town-a")
            let stale = try await b.post(path + "/resolve", [("_csrf", token), ("choice", "side-0"), ("note", "以财务记录为准")] + sent)
            #expect(stale.status == .conflict)
            #expect(stale.html.contains("自您打开页面以来该冲突已发生变化"))
            #expect(stale.html.contains("第三种说法。"), "the page shows the conflict as it is now")
            #expect(try await hub.storage.conflicts().first?.candidates.count == 3, "nothing was applied")
            // From the fresh page it goes through.
            let action = try #require(Browser.Page.first(#"action="(/console/conflicts/[^"]+/resolve)""#, in: stale.html))
            let done = try await b.post(action, [("_csrf", token), ("choice", "custom"),
                                                            ("custom", "经核实，系统故障重复收费一次，已退还。"), ("note", "以财务记录为准")])
            #expect(done.status == .seeOther)
            #expect(try await hub.storage.conflicts().isEmpty)
            #expect(try hub.file(id).text(CaseSchema.Field.summary) == "经核实，系统故障重复收费一次，已退还。")
            let queue = try await b.get("/console/conflicts")
            #expect(queue.html.contains("以财务记录为准") && queue.html.contains("wang@county-office"))
            // The same form again: resolved meanwhile, refused.
            let again = try await b.post(action, [("_csrf", token), ("choice", "side-0"), ("note", "x")] + sent)
            #expect(again.status == .conflict && again.html.contains("已被解决"))
            #expect(try hub.file(id).text(CaseSchema.Field.summary) == "经核实，系统故障重复收费一次，已退还。")
        }
    }
}
