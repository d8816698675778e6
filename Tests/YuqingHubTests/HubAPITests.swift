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
}
