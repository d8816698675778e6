import Foundation
import Testing
import YuqingCases
import YuqingCore
import YuqingReplica
import YuqingTestSupport

/// A node replica written before the workflow existed (one record kind, seven fields, authors
/// that are unit names, no user) opens with the new model with nothing lost, and sends its unsent
/// work once a user is set.
@Suite struct UpgradeTests {
    /// A replica as the previous version made it: its schema is the sample schema's case record.
    static func makeOldNode(_ db: String, hub: String) throws -> String {
        let r = try Replica.create(at: db, role: .node, unit: "Township A", hubURL: hub, schema: .sample)
        let c = RecordRef.case("YQ-OLD0000001")
        try r.write([.init(c, FieldKey("title"), .text("旧帖子")), .init(c, FieldKey("status"), .text("registered")),
                     .init(c, FieldKey("unit"), .text("Township A")), .init(c, FieldKey("level"), .text("III"))])
        try r.write([.init(c, FieldKey("summary"), .text("旧摘要")), .init(c, FieldKey("status"), .text("assessed")),
                     .init(c, FieldKey("co_units", element: "Bureau B"), .integer(1)), .init(c, FieldKey("notes", element: "N1"), .text("回访一次"))])
        return c.id
    }

    @Test func aNodeFromBeforeTheWorkflowKeepsEverythingAndSendsItsWork() throws {
        let dir = try TempDir()
        let hub = HubProcess(db: dir.path("hub.sqlite"))
        try hub.start()
        let db = dir.path("old.sqlite")
        let id = try Self.makeOldNode(db, hub: hub.url)
        let before = try Replica.open(at: db, mode: .readOnly, schema: .sample).digest()

        // Read with the new model: every value is there, the hand-set status as the old status.
        #expect(try CLI.run(["digest", "--db", db]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == before)
        let show = try CLI.run(["case", "show", "--db", db, id, "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any], "\(show.stderr)")
        #expect(json["title"] as? String == "旧帖子" && json["summary"] as? String == "旧摘要" && json["level"] as? String == "III")
        #expect(json["legacy_status"] as? String == "assessed" && json["unit"] as? String == "Township A")
        #expect(json["co_units"] as? [String] == ["Bureau B"])
        #expect((json["notes"] as? [[String: Any]])?.first?["text"] as? String == "回访一次")
        #expect(try CLI.run(["case", "show", "--db", db, id]).stdout.contains("old status:  assessed"))

        // Work needs a user; the message says how to set one.
        let refused = try CLI.run(["case", "report", "--db", db, id, "新的续报"])
        #expect(refused.status != 0 && refused.stderr.contains("yuqing node user"), "\(refused.stderr)")
        // The operator enrols the user with the roles its old work needs (co-units: the office's).
        let code = try hub.enrol(unit: "Township A", user: "li", roles: ["monitor", "office"])
        _ = CLI.Codes.shared.take(user: "li")
        let user = try CLI.run(["node", "user", "--db", db, "--user", "li", "--role", "monitor", "--role", "office"])
        #expect(user.status == 0 && user.stdout.contains("8 unsent changes"), "\(user.stdout) \(user.stderr)")
        // A node from before devices were enrolled is enrolled like a new one: its key is made then.
        let unenrolled = try CLI.run(["sync", "--db", db])
        #expect(unenrolled.status == 5 && unenrolled.stderr.contains("yuqing node enrol"), "\(unenrolled.stderr)")
        let enrol = try CLI.run(["node", "enrol", "--db", db, "--code", code])
        #expect(enrol.status == 0, "\(enrol.stderr)")
        #expect(try CLI.run(["case", "report", "--db", db, id, "新的续报"]).status == 0)
        let sync = try CLI.run(["sync", "--db", db])
        #expect(sync.status == 0, "\(sync.stderr)")

        // Another node receives all of it.
        try hub.enrol(unit: "office", user: "chen", roles: ["office"])
        let other = dir.path("office.sqlite")
        try CLI.initNode(other, hub: hub.url, unit: "office", user: "chen", roles: ["office"])
        #expect(try CLI.run(["sync", "--db", other]).status == 0)
        #expect(try CLI.run(["sync", "--db", db]).status == 0)  // the new user, made after its first sync
        let digests = try [db, other, hub.db].map { try CLI.run(["digest", "--db", $0]).stdout }
        #expect(Set(digests).count == 1)
        let seen = try JSONSerialization.jsonObject(with: Data(try CLI.run(["case", "show", "--db", other, id, "--json"]).stdout.utf8)) as? [String: Any]
        #expect(seen?["legacy_status"] as? String == "assessed")
        #expect((seen?["steps"] as? [[String: Any]])?.first?["text"] as? String == "新的续报")
    }
}
