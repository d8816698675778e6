import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Testing
import YuqingCases
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingSecurity
import YuqingWire

/// Every request is signed by an enrolled device or the operator, and every push is the device's
/// own (`Protocol/security.md`): forged, replayed, tampered, wrong-device, revoked-device and
/// over-privileged pushes are each refused, and nothing of a refused push is stored.
@Suite struct AuthenticationTests {
    static let now = Int64(Date().timeIntervalSince1970 * 1000)

    struct Hub {
        let client: any TestClientProtocol
        let storage: any HubStorage
        let operatorKey: SigningKey
        let li = SigningKey(), chen = SigningKey(), old = SigningKey()
    }

    static func withHub(_ store: HubStore, _ body: @Sendable (Hub) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("yuqing-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await store.with(schema: CaseSchema.schema, in: dir) { storage in
            let operatorKey = SigningKey()
            let security = HubSecurity(hubKey: SigningKey(), operatorKeys: [operatorKey.publicKey])
            let app = buildHubApplication(configuration: HubConfiguration(port: 0, security: security), storage: storage)
            try await app.test(.router) { client in
                let hub = Hub(client: client, storage: storage, operatorKey: operatorKey)
                let org = try OrganisationWrites.unit("town-a", name: "城关镇", parent: nil)
                    + OrganisationWrites.user("li", name: "李", unit: "town-a", roles: [.monitor])
                    + OrganisationWrites.user("chen", name: "陈", unit: "office", roles: [.office])
                var writes = org
                writes += Device.enrolment(id: "n-li", publicKey: hub.li.publicKey.base64, unit: "town-a", user: "li", at: now)
                writes += Device.enrolment(id: "n-chen", publicKey: hub.chen.publicKey.base64, unit: "office", user: "chen", at: now)
                writes += Device.enrolment(id: "n-old", publicKey: hub.old.publicKey.base64, unit: "town-a", user: "li", at: now)
                writes += Device.revocation(id: "n-old", at: now)
                try await storage.writeAsHub(writes.map { ($0.record, $0.field, $0.value) }, author: "operator@hub")
                try await body(hub)
            }
        }
    }

    /// A case registered by `user` on a fresh replica `node`.
    static func registration(_ node: inout ReplicaState, user: String, unit: String, roles: Set<Role>, id: String) throws -> [Change] {
        try RuleEnforcementTests.changes(&node, user, unit: unit, roles: roles, .register(Registration(title: "网帖：收费问题")), id: id)
    }

    struct Sent {
        var status: HTTPResponse.Status
        var problem: Problem?
    }

    /// Sends `body` to `target` signed as `signer` with `key`; `alter` changes the request after
    /// it was signed (a tampered body, a forged header).
    static func send(_ hub: Hub, _ target: String, method: HTTPRequest.Method = .post, body: [UInt8] = [], signer: String, key: SigningKey,
                     time: Int64 = now, alterBody: (([UInt8]) -> [UInt8])? = nil, headers given: [(String, String)]? = nil) async throws -> (Sent, [(String, String)]) {
        let headers = given ?? RequestSigning.headers(method: method.rawValue, target: target, body: body, signer: signer, key: key, timeMillis: time)
        var fields = HTTPFields()
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        let sent = alterBody?(body) ?? body
        let result = try await hub.client.execute(uri: target, method: method, headers: fields, body: ByteBuffer(bytes: sent)) { response in
            Sent(status: response.status, problem: try? WireJSON.decode(Problem.self, from: Data(buffer: response.body)))
        }
        return (result, headers)
    }

    static func push(_ hub: Hub, as signer: String, key: SigningKey, replica: String? = nil, _ changes: [Change], sealWith sealKey: SigningKey? = nil,
                     seals given: [Seal]? = nil) async throws -> Sent {
        let seals = try given ?? Seal.runs(of: changes, replica: ReplicaID(replica ?? signer)).map { try Seal.make($0, key: sealKey ?? key) }
        let body = try WireJSON.encode(PushRequest(replica: ReplicaID(replica ?? signer), changes: changes, seals: seals))
        return try await send(hub, "/v1/push", body: Array(body), signer: signer, key: key).0
    }

    @Test(arguments: HubStore.available)
    func anEnrolledDevicePushesItsOwnSealedWork(store: HubStore) async throws {
        try await Self.withHub(store) { hub in
            var node = ReplicaState(id: ReplicaID("n-li"), schema: CaseSchema.schema)
            let changes = try Self.registration(&node, user: "li", unit: "town-a", roles: [.monitor], id: "YQ-AUTH000001")
            let sent = try await Self.push(hub, as: "n-li", key: hub.li, changes)
            #expect(sent.status == .ok, "\(String(describing: sent.problem))")
            #expect(try await hub.storage.ruleInputs(changes, kinds: [], recordKind: "", fields: []).fresh.isEmpty)
            // The seals are kept and served with the changes.
            #expect(try await hub.storage.seals(covering: changes).count == 1)
        }
    }

    @Test(arguments: HubStore.available)
    func unsignedForgedAndTamperedRequestsAreRefused(store: HubStore) async throws {
        try await Self.withHub(store) { hub in
            let head = try await hub.storage.head()
            var node = ReplicaState(id: ReplicaID("n-li"), schema: CaseSchema.schema)
            let changes = try Self.registration(&node, user: "li", unit: "town-a", roles: [.monitor], id: "YQ-AUTH000002")
            let seals = try Seal.runs(of: changes, replica: node.id).map { try Seal.make($0, key: hub.li) }
            let body = Array(try WireJSON.encode(PushRequest(replica: node.id, changes: changes, seals: seals)))

            // No signature at all.
            let unsigned = try await hub.client.execute(uri: "/v1/push", method: .post, body: ByteBuffer(bytes: body)) { $0.status }
            #expect(unsigned == .unauthorized)
            // Signed by another key in n-li's name (forged).
            let (forged, _) = try await Self.send(hub, "/v1/push", body: body, signer: "n-li", key: SigningKey())
            #expect(forged.status == .unauthorized && forged.problem?.code == "bad_signature")
            // Signed by n-li, then its body altered on the way (tampered).
            let (tampered, _) = try await Self.send(hub, "/v1/push", body: body, signer: "n-li", key: hub.li) { bytes in
                Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "网帖", with: "谣言").utf8)
            }
            #expect(tampered.status == .unauthorized && tampered.problem?.code == "bad_signature")
            // Signed now by a device nobody enrolled.
            let (unknown, _) = try await Self.send(hub, "/v1/push", body: body, signer: "n-ghost", key: SigningKey())
            #expect(unknown.status == .unauthorized && unknown.problem?.code == "unknown_device" && unknown.problem!.message.contains("yuqing node enrol"))
            // Signed with a time far from the hub's: refused, with the hub's time to correct by.
            let (stale, _) = try await Self.send(hub, "/v1/push", body: body, signer: "n-li", key: hub.li, time: Self.now - 3_600_000)
            #expect(stale.status == .unauthorized && stale.problem?.code == "stale_request" && stale.problem?.hubTime != nil)
            #expect(try await hub.storage.head() == head, "a refused request stored something")

            // The genuine request goes through once; the same request again is a replay.
            let (first, headers) = try await Self.send(hub, "/v1/push", body: body, signer: "n-li", key: hub.li)
            #expect(first.status == .ok, "\(String(describing: first.problem))")
            let (replayed, _) = try await Self.send(hub, "/v1/push", body: body, signer: "n-li", key: hub.li, headers: headers)
            #expect(replayed.status == .unauthorized && replayed.problem?.code == "replayed")
        }
    }

    @Test(arguments: HubStore.available)
    func aDevicePushesOnlyItsOwnChangesSealedWithItsOwnKey(store: HubStore) async throws {
        try await Self.withHub(store) { hub in
            let head = try await hub.storage.head()
            var chen = ReplicaState(id: ReplicaID("n-chen"), schema: CaseSchema.schema)
            let chens = try Self.registration(&chen, user: "chen", unit: "office", roles: [.office], id: "YQ-AUTH000003")
            // n-li sends n-chen's changes (its dots), as itself or in n-chen's name: wrong device.
            let asItself = try await Self.push(hub, as: "n-li", key: hub.li, replica: "n-li", chens, seals: [])
            #expect(asItself.status == .forbidden && asItself.problem?.code == "wrong_device")
            let inAnothersName = try await Self.push(hub, as: "n-li", key: hub.li, replica: "n-chen", chens, sealWith: hub.li)
            #expect(inAnothersName.status == .forbidden && inAnothersName.problem?.code == "wrong_device")

            // Changes under n-li's dots but authored as chen@office: wrong author.
            var li = ReplicaState(id: ReplicaID("n-li"), schema: CaseSchema.schema)
            let posing = try Self.registration(&li, user: "chen", unit: "office", roles: [.office], id: "YQ-AUTH000004")
            let wrongAuthor = try await Self.push(hub, as: "n-li", key: hub.li, posing)
            #expect(wrongAuthor.status == .forbidden && wrongAuthor.problem?.code == "wrong_author")

            // Its own changes, but without seals, or sealed by another key, or one altered after sealing.
            var own = ReplicaState(id: ReplicaID("n-li"), schema: CaseSchema.schema)
            let mine = try Self.registration(&own, user: "li", unit: "town-a", roles: [.monitor], id: "YQ-AUTH000005")
            let unsealed = try await Self.push(hub, as: "n-li", key: hub.li, mine, seals: [])
            #expect(unsealed.status == .forbidden && unsealed.problem?.code == "bad_seal")
            let foreignSeal = try await Self.push(hub, as: "n-li", key: hub.li, mine, sealWith: SigningKey())
            #expect(foreignSeal.status == .forbidden && foreignSeal.problem?.code == "bad_seal")
            var altered = mine
            let seals = try Seal.runs(of: mine, replica: own.id).map { try Seal.make($0, key: hub.li) }
            altered[0].value = .text("改过的")
            let alteredSent = try await Self.push(hub, as: "n-li", key: hub.li, altered, seals: seals)
            #expect(alteredSent.status == .forbidden && alteredSent.problem?.code == "bad_seal")
            #expect(try await hub.storage.head() == head, "a refused push stored something")
        }
    }

    @Test(arguments: HubStore.available)
    func aRevokedDeviceAndAnOverPrivilegedUserAreRefused(store: HubStore) async throws {
        try await Self.withHub(store) { hub in
            let head = try await hub.storage.head()
            var old = ReplicaState(id: ReplicaID("n-old"), schema: CaseSchema.schema)
            let work = try Self.registration(&old, user: "li", unit: "town-a", roles: [.monitor], id: "YQ-AUTH000006")
            let revoked = try await Self.push(hub, as: "n-old", key: hub.old, work)
            #expect(revoked.status == .forbidden && revoked.problem?.code == "revoked_device" && revoked.problem!.message.contains("yuqing hub enrol"))
            // A revoked device cannot even read.
            let (read, _) = try await Self.send(hub, "/v1/pull?after=0", method: .get, signer: "n-old", key: hub.old)
            #expect(read.status == .forbidden)

            // li, a monitor, registers a case (allowed) and assesses it (the office's step) in one push.
            var li = ReplicaState(id: ReplicaID("n-li"), schema: CaseSchema.schema)
            let registered = try Self.registration(&li, user: "li", unit: "town-a", roles: [.monitor], id: "YQ-AUTH000007")
            let assess = try RuleEnforcementTests.changes(&li, "li", unit: "town-a", roles: [.office],
                                                          .assess(category: .inquiry, level: "II", opinion: "越权"),
                                                          on: CaseFile(li.view(CaseSchema.caseRef("YQ-AUTH000007"))), id: "YQ-AUTH000007")
            let over = try await Self.push(hub, as: "n-li", key: hub.li, registered + assess)
            #expect(over.status == .forbidden && over.problem?.code == "rule_violation" && over.problem?.rule == "role")
            #expect(try await hub.storage.head() == head, "half a push was stored")
            #expect(try await Self.push(hub, as: "n-li", key: hub.li, registered).status == .ok)
        }
    }

    @Test(arguments: HubStore.available)
    func theOperatorsWorkNeedsTheOperatorsKey(store: HubStore) async throws {
        try await Self.withHub(store) { hub in
            let (device, _) = try await Self.send(hub, "/v1/conflicts", method: .get, signer: "n-chen", key: hub.chen)
            #expect(device.status == .forbidden && device.problem?.code == "operator_only")
            let (wrongKey, _) = try await Self.send(hub, "/v1/conflicts", method: .get, signer: RequestSigning.operatorSigner, key: SigningKey())
            #expect(wrongKey.status == .unauthorized && wrongKey.problem?.code == "bad_signature")
            let (op, _) = try await Self.send(hub, "/v1/conflicts", method: .get, signer: RequestSigning.operatorSigner, key: hub.operatorKey)
            #expect(op.status == .ok)
            // The operator reads, but does not push.
            let pushed = try await Self.push(hub, as: RequestSigning.operatorSigner, key: hub.operatorKey, replica: "n-li", [], seals: [])
            #expect(pushed.status == .forbidden)
        }
    }

    @Test(arguments: HubStore.available)
    func anEnrolmentCodeWorksOnceAndNotAfterItExpires(store: HubStore) async throws {
        try await Self.withHub(store) { hub in
            let code = OneTimeCode.make(), expired = OneTimeCode.make()
            try await hub.storage.setSetting(HubSecurity.enrolmentKey(code), HubSecurity.Enrolment(unit: "town-a", user: "li", expiresAt: Self.now + 60_000).stored)
            try await hub.storage.setSetting(HubSecurity.enrolmentKey(expired), HubSecurity.Enrolment(unit: "town-a", user: "li", expiresAt: Self.now - 1).stored)
            let key = SigningKey()
            func enrol(_ code: String, device: String) async throws -> (HTTPResponse.Status, [UInt8]) {
                let body = try WireJSON.encode(EnrolRequest(code: code, device: ReplicaID(device), publicKey: key.publicKey.base64))
                return try await hub.client.execute(uri: "/v1/enrol", method: .post, body: ByteBuffer(bytes: body)) { ($0.status, Array(buffer: $0.body)) }
            }
            let (status, body) = try await enrol(code.lowercased(), device: "n-new")
            #expect(status == .ok)
            let answer = try WireJSON.decode(EnrolResponse.self, from: Data(body))
            #expect(answer.user == "li" && answer.unit == "town-a" && answer.roles == ["monitor"])
            #expect(try await enrol(code, device: "n-other").0 == .forbidden, "a code is used once")
            #expect(try await enrol(expired, device: "n-late").0 == .forbidden)
            // A malformed key is the client's mistake (found by the schemathesis run): 400, not 500.
            let badKey = try WireJSON.encode(EnrolRequest(code: code, device: ReplicaID("n-bad"), publicKey: ""))
            #expect(try await hub.client.execute(uri: "/v1/enrol", method: .post, body: ByteBuffer(bytes: badKey)) { $0.status } == .badRequest)
            // The new device now signs its requests.
            let (signed, _) = try await Self.send(hub, "/v1/status", method: .get, signer: "n-new", key: key)
            #expect(signed.status == .ok)
        }
    }
}
