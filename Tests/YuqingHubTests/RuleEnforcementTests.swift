import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import YuqingCases
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingWire

/// The hub applies the workflow's rules and the schema to every pushed change: a push holding a
/// change that breaks one is refused whole with `rule_violation` (403 for who may do it, 422 for what it is) naming the change and the
/// rule, and nothing of it is stored.
@Suite struct RuleEnforcementTests {
    static let now = Int64(Date().timeIntervalSince1970 * 1000)

    static func withHub(_ store: HubStore = .sqlite, rules: Bool, _ body: @Sendable (any TestClientProtocol, any HubStorage) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("yuqing-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await store.with(schema: CaseSchema.schema, in: dir) { storage in
            // The organisation, written at the hub as `yuqing org` does.
            let org = try OrganisationWrites.unit("town-a", name: "城关镇", parent: nil)
                + OrganisationWrites.user("li", name: "李", unit: "town-a", roles: [.monitor])
                + OrganisationWrites.user("chen", name: "陈", unit: "office", roles: [.office])
            try await storage.writeAsHub(org.map { ($0.record, $0.field, $0.value) }, author: "operator@hub")
            let app = buildHubApplication(configuration: HubConfiguration(port: 0, enforceCaseRules: rules), storage: storage)
            try await app.test(.router) { client in try await body(client, storage) }
        }
    }

    /// The changes of `changes` the hub holds neither applied nor waiting.
    static func unseen(_ storage: any HubStorage, _ changes: [Change]) async throws -> [Change] {
        try await storage.ruleInputs(changes, kinds: [], recordKind: "", fields: []).fresh
    }

    /// The changes `user` makes for `action` on a fresh in-memory replica named `node`.
    static func changes(_ node: inout ReplicaState, _ user: String, unit: String, roles: Set<Role>, _ action: CaseAction,
                        on file: CaseFile? = nil, id: String = "YQ-RULES00001") throws -> [Change] {
        var org = Organisation()
        org.users[user] = .init(id: user, name: user, unit: unit, roles: roles)
        let planner = Planner(actor: Actor(user: user, unit: unit), roles: roles, org: org, now: Self.now,
                              newID: { $0 == "YQ-" ? id : $0 + UUID().uuidString.prefix(8) })
        return try planner.plan(action, on: file).writes.map {
            node.write($0.record, $0.field, $0.value, author: Actor(user: user, unit: unit).author, physicalMillis: UInt64(Self.now))
        }
    }

    static func push(_ client: any TestClientProtocol, _ node: ReplicaState, _ changes: [Change]) async throws -> (HTTPResponse.Status, Problem?) {
        try await client.execute(uri: "/v1/push", method: .post,
                                 body: ByteBuffer(bytes: try WireJSON.encode(PushRequest(replica: node.id, changes: changes)))) { response in
            (response.status, try? WireJSON.decode(Problem.self, from: Data(buffer: response.body)))
        }
    }

    @Test(arguments: HubStore.available, [true, false])
    func aRuleBreakingPushIsRefusedWholeAndNothingOfItStored(store: HubStore, rules: Bool) async throws {
        try await Self.withHub(store, rules: rules) { client, storage in
            var node = ReplicaState(id: ReplicaID("n-li"), schema: CaseSchema.schema)
            let registered = try Self.changes(&node, "li", unit: "town-a", roles: [.monitor], .register(Registration(title: "网帖")))
            #expect(try await Self.push(client, node, registered).0 == .ok)
            let head = try await storage.head()
            #expect(try await Self.unseen(storage, registered).isEmpty, "what the hub holds is not checked again")
            #expect(try await Self.push(client, node, registered).0 == .ok, "a push sent again is accepted")

            // A monitor's report (allowed) and a forged assessment (the office's step) in one push.
            let file = CaseFile(node.view(CaseSchema.caseRef("YQ-RULES00001")))
            let report = try Self.changes(&node, "li", unit: "town-a", roles: [.monitor], .report(.progress, "已回访"), on: file)
            let forged = try Self.changes(&node, "li", unit: "town-a", roles: [.office], .assess(category: .inquiry, level: "I", opinion: "x"),
                                          on: CaseFile(node.view(CaseSchema.caseRef("YQ-RULES00001"))))
            let (status, problem) = try await Self.push(client, node, report + forged)
            if rules {
                #expect(status == .forbidden, "who may take a step is authorisation: 403")
                #expect(problem?.code == "rule_violation" && problem?.rule == "role", "\(String(describing: problem))")
                #expect(problem?.dot != nil && problem!.message.contains("nothing of this push was stored"))
                #expect(problem?.messageZh?.contains("本次推送的内容均未保存") == true, "the refusal in Chinese too: \(String(describing: problem?.messageZh))")
                #expect(try await storage.head() == head, "half a push was applied")
                // The allowed part alone goes through.
                #expect(try await Self.unseen(storage, report + forged).count == report.count + forged.count)
                #expect(try await Self.push(client, node, report).0 == .ok)
            } else {
                #expect(status == .ok, "without the rules the hub takes anything: this test needs them")
            }
        }
    }

    @Test(arguments: HubStore.available)
    func schemaBreakingChangesAreRefused(store: HubStore) async throws {
        try await Self.withHub(store, rules: true) { client, storage in
            let head = try await storage.head()
            let bad: [(FieldKey, FieldValue?, String)] = [
                (FieldKey("colour"), .text("red"), "schema"),
                (FieldKey("level"), .text("V"), "schema"),
                (FieldKey("discovered_at"), .text("yesterday"), "schema"),
                (FieldKey("steps", element: "S1"), .text("{}"), "schema"),
                (FieldKey("status"), .text("archived"), "unit_scope"),
            ]
            for (i, (field, value, rule)) in bad.enumerated() {
                let c = Change(dot: Dot(replica: ReplicaID("n-li"), counter: UInt64(i + 1)), hlc: HLC(wallMillis: UInt64(Self.now)),
                               record: CaseSchema.caseRef("YQ-X"), field: field, value: value, context: [],
                               author: field.name == "steps" ? "chen@office" : "li@town-a")  // the office: no scope to pass first
                let (status, problem) = try await Self.push(client, ReplicaState(id: ReplicaID("n-li"), schema: CaseSchema.schema), [c])
                #expect(status == (rule == "schema" ? .unprocessableContent : .forbidden) && problem?.rule == rule, "\(field): \(String(describing: problem))")
            }
            let unknown = Change(dot: Dot(replica: ReplicaID("n-x"), counter: 1), hlc: HLC(wallMillis: UInt64(Self.now)),
                                 record: CaseSchema.caseRef("YQ-X"), field: FieldKey("title"), value: .text("t"), context: [], author: "mallory@town-a")
            let (status, problem) = try await Self.push(client, ReplicaState(id: ReplicaID("n-x"), schema: CaseSchema.schema), [unknown])
            #expect(status == .forbidden && problem?.rule == "author" && problem!.message.contains("yuqing org user"))
            #expect(try await storage.head() == head, "a refused change was stored")
        }
    }
}
