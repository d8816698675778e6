import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import YuqingCore
import YuqingTestSupport
import YuqingHub
import YuqingWire

/// The hub's endpoints, in-process, against a real SQLite file and a real PostgreSQL database.
@Suite struct HubAPITests {
    static func withHub(_ store: HubStore = .sqlite, _ body: @Sendable (any TestClientProtocol, any HubStorage) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("yuqing-hub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await store.with(schema: .sample, in: dir) { storage in
            let app = buildHubApplication(configuration: HubConfiguration(port: 0, maxPullLimit: 3, enforceCaseRules: false), storage: storage)
            try await app.test(.router) { client in try await body(client, storage) }
        }
    }

    static func changes(_ replica: String, count: Int) -> [Change] {
        var r = ReplicaState(id: ReplicaID(replica), schema: .sample)
        return (0..<count).map { i in
            r.write(.case("c1"), FieldKey("notes", element: "\(replica)-\(i)"), .text("note \(i)"), author: replica, physicalMillis: UInt64(i))
        }
    }

    static func json(_ value: some Encodable) throws -> ByteBuffer { ByteBuffer(bytes: try WireJSON.encode(value)) }
    static func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
        try WireJSON.decode(type, from: Data(buffer: response.body))
    }

    @Test(arguments: HubStore.available)
    func pushIsIdempotentAndPullPagesThroughTheLog(store: HubStore) async throws {
        try await Self.withHub(store) { client, _ in
            let push = PushRequest(replica: ReplicaID("n1"), changes: Self.changes("n1", count: 5))
            for expected in [(5, 0), (0, 5)] {
                try await client.execute(uri: "/v1/push", method: .post, body: try Self.json(push)) { response in
                    #expect(response.status == .ok)
                    let answer = try Self.decode(PushResponse.self, response)
                    #expect(answer.accepted == expected.0 && answer.duplicates == expected.1)
                    #expect(answer.head == 5)
                }
            }
            // The pusher is not sent its own changes back; others page through with the limit.
            try await client.execute(uri: "/v1/pull?after=0&limit=100&replica=n1", method: .get) { response in
                let answer = try Self.decode(PullResponse.self, response)
                #expect(answer.entries.isEmpty && answer.next == 5 && !answer.more)
            }
            var cursor: Int64 = 0, received = 0, pages = 0
            while true {
                let answer = try await client.execute(uri: "/v1/pull?after=\(cursor)&limit=100&replica=n2", method: .get) {
                    try Self.decode(PullResponse.self, $0)
                }
                received += answer.entries.count
                cursor = answer.next
                pages += 1
                if !answer.more { break }
            }
            #expect(received == 5 && pages == 2 && cursor == 5)
        }
    }

    @Test(arguments: HubStore.available)
    func badInputGetsAProblemBodyAndStoresNothing(store: HubStore) async throws {
        try await Self.withHub(store) { client, storage in
            try await client.execute(uri: "/v1/push", method: .post, body: ByteBuffer(string: "{not json")) { response in
                #expect(response.status == .badRequest)
                let problem = try Self.decode(Problem.self, response)
                #expect(problem.code == "bad_request")
                #expect(problem.messageZh?.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) } == true, "\(problem)")
            }
            var bad = Self.changes("n1", count: 2)
            bad[1].context = [bad[1].dot]
            let push = PushRequest(replica: ReplicaID("n1"), changes: bad)
            try await client.execute(uri: "/v1/push", method: .post, body: try Self.json(push)) { response in
                #expect(response.status == .badRequest)
                let problem = try Self.decode(Problem.self, response)
                #expect(problem.message.contains("supersede itself"))
            }
            // Numbers beyond what the hub stores are refused, not a crash.
            var huge = Self.changes("n1", count: 1)
            huge[0].hlc = HLC(packed: UInt64.max)
            try await client.execute(uri: "/v1/push", method: .post,
                                     body: try Self.json(PushRequest(replica: ReplicaID("n1"), changes: huge))) { response in
                #expect(response.status == .badRequest)
            }
            huge = Self.changes("n1", count: 1)
            huge[0].context = [Dot(replica: ReplicaID("x"), counter: UInt64.max)]
            try await client.execute(uri: "/v1/push", method: .post,
                                     body: try Self.json(PushRequest(replica: ReplicaID("n1"), changes: huge))) { response in
                #expect(response.status == .badRequest)
            }
            #expect(try await storage.head() == 0)
            try await client.execute(uri: "/v1/pull?after=-1", method: .get) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/v1/conflicts/abc", method: .get) { response in
                #expect(response.status == .notFound)
                let problem = try Self.decode(Problem.self, response)
                #expect(problem.message.contains("conflicts list"))
            }
        }
    }

    @Test(arguments: HubStore.available)
    func operatorResolvesAConflictOnceForEveryone(store: HubStore) async throws {
        try await Self.withHub(store) { client, _ in
            var a = ReplicaState(id: ReplicaID("a"), schema: .sample), b = ReplicaState(id: ReplicaID("b"), schema: .sample)
            let changes = [a.write(.case("c1"), FieldKey("summary"), .text("A"), author: "A", physicalMillis: 1),
                           b.write(.case("c1"), FieldKey("summary"), .text("B"), author: "B", physicalMillis: 2)]
            try await client.execute(uri: "/v1/push", method: .post,
                                     body: try Self.json(PushRequest(replica: ReplicaID("a"), changes: changes)))
            let conflicts = try await client.execute(uri: "/v1/conflicts", method: .get) {
                try Self.decode([ConflictMessage].self, $0)
            }
            let conflict = try #require(conflicts.first)
            #expect(conflict.provisional == .text("B"))
            let resolve = ResolveRequest(value: .text("agreed"), resolvedBy: "op")
            try await client.execute(uri: "/v1/conflicts/\(conflict.id)/resolve", method: .post, body: try Self.json(resolve)) { response in
                #expect(response.status == .ok)
                let answer = try Self.decode(ResolveResponse.self, response)
                #expect(Set(answer.change.context) == Set(changes.map(\.dot)))
                #expect(answer.pos == 3)
            }
            try await client.execute(uri: "/v1/conflicts/\(conflict.id)/resolve", method: .post, body: try Self.json(resolve)) { response in
                #expect(response.status == .notFound)
            }
            let status = try await client.execute(uri: "/v1/status", method: .get) { try Self.decode(HubStatus.self, $0) }
            #expect(status.openConflicts == 0 && status.head == 3 && status.protocolVersion == protocolVersion)
        }
    }
    /// `GET /v1/status?replica=ID` gives the version vector's entry of `ID` only; a malformed id is a 400.
    @Test(arguments: HubStore.available)
    func statusForOneReplica(store: HubStore) async throws {
        try await Self.withHub(store) { client, _ in
            var a = ReplicaState(id: ReplicaID("a"), schema: .sample), b = ReplicaState(id: ReplicaID("b"), schema: .sample)
            for (id, change) in [("a", a.write(.case("c1"), FieldKey("title"), .text("甲"), author: "A", physicalMillis: 1)),
                                 ("b", b.write(.case("c2"), FieldKey("title"), .text("乙"), author: "B", physicalMillis: 2))] {
                try await client.execute(uri: "/v1/push", method: .post, body: try Self.json(PushRequest(replica: ReplicaID(id), changes: [change])))
            }
            let whole = try await client.execute(uri: "/v1/status", method: .get) { try Self.decode(HubStatus.self, $0) }
            #expect(whole.versionVector.entries == [ReplicaID("a"): 1, ReplicaID("b"): 1])
            let one = try await client.execute(uri: "/v1/status?replica=b", method: .get) { try Self.decode(HubStatus.self, $0) }
            #expect(one.versionVector.entries == [ReplicaID("b"): 1] && one.head == whole.head && one.hub == whole.hub)
            let none = try await client.execute(uri: "/v1/status?replica=zz", method: .get) { try Self.decode(HubStatus.self, $0) }
            #expect(none.versionVector.entries.isEmpty)
            let bad = try await client.execute(uri: "/v1/status?replica=no%20such", method: .get) { $0 }
            #expect(bad.status == .badRequest)
            #expect(try Self.decode(Problem.self, bad).message.contains("'replica' must be a replica id"))
        }
    }

    /// Pushes sent at once (which an SQLite hub may commit in one transaction; the grouping itself
    /// is `ReplicaTests.aGroupOfPushesRefusesOneAlone`): one that reuses a dot is refused alone,
    /// with nothing of it stored, and every other is acknowledged and held.
    @Test(arguments: HubStore.available)
    func concurrentPushesOneRefused(store: HubStore) async throws {
        try await Self.withHub(store) { client, _ in
            var first = ReplicaState(id: ReplicaID("r0"), schema: .sample)
            let held = first.write(.case("k0"), FieldKey("title"), .text("原"), author: "A", physicalMillis: 1)
            try await client.execute(uri: "/v1/push", method: .post, body: try Self.json(PushRequest(replica: ReplicaID("r0"), changes: [held])))
            // r0 again under the same dot with another value (a copied replica), beside 20 others.
            var copy = ReplicaState(id: ReplicaID("r0"), schema: .sample)
            let reused = copy.write(.case("k0"), FieldKey("title"), .text("复制"), author: "A", physicalMillis: 5)
            var pushes = [PushRequest(replica: ReplicaID("r0"), changes: [reused])]
            for k in 1...20 {
                var r = ReplicaState(id: ReplicaID("r\(k)"), schema: .sample)
                pushes.append(PushRequest(replica: ReplicaID("r\(k)"), changes: (0..<5).map { i in
                    r.write(.case("k\(k)-\(i)"), FieldKey("title"), .text("第\(k)单位第\(i)起"), author: "A", physicalMillis: UInt64(10 + i))
                }))
            }
            let statuses = try await withThrowingTaskGroup(of: (String, HTTPResponse.Status).self) { group in
                for push in pushes.shuffled() {
                    group.addTask {
                        let status = try await client.execute(uri: "/v1/push", method: .post, body: try Self.json(push)) { $0.status }
                        return (push.replica.rawValue, status)
                    }
                }
                return try await group.reduce(into: [String: HTTPResponse.Status]()) { $0[$1.0] = $1.1 }
            }
            #expect(statuses["r0"] == .conflict)
            #expect((1...20).allSatisfy { statuses["r\($0)"] == .ok })
            let status = try await client.execute(uri: "/v1/status", method: .get) { try Self.decode(HubStatus.self, $0) }
            #expect(status.head == 1 + 20 * 5)
            #expect(status.versionVector.entries.count == 21 && status.versionVector[ReplicaID("r0")] == 1)
            var entries: [LogEntry] = [], after: Int64 = 0
            while true {
                let page = try await client.execute(uri: "/v1/pull?after=\(after)&limit=1000", method: .get) { try Self.decode(PullResponse.self, $0) }
                entries += page.entries
                after = page.next
                if !page.more { break }
            }
            #expect(entries.count == 101)
            #expect(entries.first { $0.change.dot == held.dot }?.change.value == .text("原"))
        }
    }
}

