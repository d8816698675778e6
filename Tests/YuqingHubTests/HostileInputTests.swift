import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingWire

/// What an attacker or an unlucky client can send, and what the hub must answer: every point
/// here was once accepted or mishandled.
@Suite struct HostileInputTests {
    static func withHub(_ configuration: HubConfiguration = HubConfiguration(port: 0),
                        limits: WaitingLimits = WaitingLimits(),
                        _ body: @Sendable (any TestClientProtocol, SQLiteHubStorage) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("yuqing-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let storage = try SQLiteHubStorage(path: dir.appendingPathComponent("hub.sqlite").path, waitingLimits: limits)
        let app = buildHubApplication(configuration: configuration, storage: storage)
        try await app.test(.router) { client in try await body(client, storage) }
    }

    static let now = UInt64(Date().timeIntervalSince1970 * 1000)

    static func change(_ replica: String, _ counter: UInt64, record: String = "YQ-1", field: String = "title", element: String = "",
                       value: FieldValue? = .text("t"), context: [Dot] = [], wall: UInt64 = now) -> Change {
        Change(dot: Dot(replica: ReplicaID(replica), counter: counter), hlc: HLC(wallMillis: wall), record: .case(record),
               field: FieldKey(field, element: element), value: value, context: context, author: replica)
    }

    /// A response's status and problem code.
    struct Outcome: Equatable, CustomStringConvertible {
        var status: HTTPResponse.Status
        var code: String?
        init(_ status: HTTPResponse.Status, _ code: String? = nil) {
            self.status = status
            self.code = code
        }
        var description: String { "\(status.code) \(code ?? "")" }
    }

    /// Pushes in JSON, or in the binary form; returns the status and the problem code, if any.
    static func push(_ client: any TestClientProtocol, _ changes: [Change], as replica: String = "n1", binary: Bool = false,
                     contentType: String? = nil) async throws -> Outcome {
        let request = PushRequest(replica: ReplicaID(replica), changes: changes)
        let body = binary ? ByteBuffer(bytes: request.binary()) : ByteBuffer(bytes: try WireJSON.encode(request))
        var headers: HTTPFields = [:]
        headers[.contentType] = contentType ?? (binary ? WireMedia.binary : WireMedia.json)
        return try await client.execute(uri: "/v1/push", method: .post, headers: headers, body: body) { response in
            Outcome(response.status, response.status == .ok ? nil : try WireJSON.decode(Problem.self, from: Data(buffer: response.body)).code)
        }
    }

    /// Titles written one after another on one replica of the core: each supersedes what it saw.
    static func writes(_ id: String, count: Int, _ what: (Int) -> (RecordRef, String)) -> (ReplicaState, [Change]) {
        var r = ReplicaState(id: ReplicaID(id))
        var out: [Change] = []
        for i in 0..<count {
            let (record, prefix) = what(i)
            out.append(r.write(record, FieldKey("title"), .text("\(prefix)\(i)"), author: id, physicalMillis: now + UInt64(i)))
        }
        return (r, out)
    }

    static func status(_ client: any TestClientProtocol) async throws -> HubStatus {
        try await client.execute(uri: "/v1/status", method: .get) { try WireJSON.decode(HubStatus.self, from: Data(buffer: $0.body)) }
    }

    @Test(arguments: [false, true])
    func textWithANulCharacterIsRefusedOnEveryPath(binary: Bool) async throws {
        try await Self.withHub { client, storage in
            // Directly applicable, and waiting for a context that has not arrived: both refused alike.
            let direct = Self.change("n1", 1, value: .text("before\0after"))
            let waiting = Self.change("n1", 2, value: .text("before\0after"), context: [Dot(replica: ReplicaID("n2"), counter: 1)])
            let inRecordID = Self.change("n1", 3, record: "YQ-\0")
            for c in [direct, waiting, inRecordID] {
                let outcome = try await Self.push(client, [c], binary: binary)
                #expect(outcome == Outcome(.badRequest, "bad_request"))
            }
            #expect(try await storage.head() == 0)
            #expect(try storage.replica.waitingCount() == 0)
        }
    }

    @Test func nobodyPushesUnderTheHubsIdAndOneDotNeverNamesTwoChanges() async throws {
        try await Self.withHub { client, storage in
            let hub = storage.hubID.rawValue
            // A change under the hub's own id, waiting for a context that never comes, or applicable at once.
            let squat = Self.change(hub, 1, context: [Dot(replica: ReplicaID("ghost"), counter: 9)])
            #expect(try await Self.push(client, [squat]) == Outcome(.forbidden, "forbidden"))
            #expect(try await Self.push(client, [Self.change(hub, 1)], as: "n1") == Outcome(.forbidden, "forbidden"))
            #expect(try await Self.push(client, [Self.change("n1", 1)], as: hub) == Outcome(.forbidden, "forbidden"))
            // The storage refuses it too, whoever calls it.
            await #expect(throws: ReplicaError.self) { try await storage.ingest([Self.change(hub, 1)], from: ReplicaID("n1")) }
            // A conflict, resolved by the operator under the hub's first dot: every later sync works.
            _ = try await Self.push(client, [Self.change("a", 1, field: "summary", value: .text("A")), Self.change("b", 1, field: "summary", value: .text("B"))])
            let conflict = try #require(try await storage.conflicts().first)
            let (resolution, _) = try await storage.resolve(conflictID: conflict.id, value: .text("AB"), resolvedBy: "operator")
            #expect(resolution.dot == Dot(replica: storage.hubID, counter: 1))
            #expect(try await Self.push(client, [Self.change("a", 2, field: "title")]) == Outcome(.ok))
            try await client.execute(uri: "/v1/pull?after=0&limit=100&replica=c", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func changesThatNeverBecomeReadyAreBoundedPerSenderAndVisible() async throws {
        try await Self.withHub(limits: WaitingLimits(perReplica: 50, total: 80)) { client, storage in
            let ghost = Dot(replica: ReplicaID("ghost"), counter: 1)
            let orphans = (1...50).map { Self.change("x", UInt64($0), record: "YQ-\($0)", context: [ghost]) }
            #expect(try await Self.push(client, orphans, as: "x") == Outcome(.ok))
            // Full for x: refused whole, with a clear code; nothing of it stored.
            let more = [Self.change("x", 51, record: "YQ-51", context: [ghost])]
            #expect(try await Self.push(client, more, as: "x") == Outcome(.tooManyRequests, "too_many_waiting"))
            // Another sender still may, up to the total.
            let others = (1...30).map { Self.change("y", UInt64($0), record: "YQ-y\($0)", context: [ghost]) }
            #expect(try await Self.push(client, others, as: "y") == Outcome(.ok))
            #expect(try await Self.push(client, [Self.change("z", 1, context: [ghost])], as: "z") == Outcome(.tooManyRequests, "too_many_waiting"))
            // A sender whose changes are ready is not held up by what waits.
            #expect(try await Self.push(client, [Self.change("z", 1)], as: "z") == Outcome(.ok))
            // The operator sees it.
            #expect(try await Self.status(client).waiting == 80)
            let listed = try await client.execute(uri: "/v1/waiting", method: .get) {
                try WireJSON.decode([WaitingEntry].self, from: Data(buffer: $0.body))
            }
            #expect(listed == [WaitingEntry(replica: ReplicaID("x"), waiting: 50), WaitingEntry(replica: ReplicaID("y"), waiting: 30)])
            // When the missing change arrives, everything that waited for it is applied, in one push.
            #expect(try await Self.push(client, [Self.change("ghost", 1, record: "YQ-g")], as: "ghost") == Outcome(.ok))
            #expect(try await Self.status(client).waiting == 0)
            #expect(try await storage.head() == 1 + 1 + 80)
        }
    }

    @Test func chainsOfWaitingChangesAreReleasedInAnyArrivalOrder() async throws {
        try await Self.withHub { client, storage in
            // Five writes of one field, each superseding the one before, arriving last-first.
            let (r, chain) = Self.writes("w", count: 5, { _ in (RecordRef.case("YQ-1"), "v") })
            for c in chain.reversed().dropLast() {
                let pushed = try await Self.push(client, [c], as: "w")
                #expect(pushed == Outcome(.ok))
            }
            #expect(try storage.replica.waitingCount() == 4)
            #expect(try await Self.push(client, [chain[0]], as: "w") == Outcome(.ok))
            #expect(try storage.replica.waitingCount() == 0)
            #expect(try storage.replica.view(.case("YQ-1"))?.value("title") == .text("v4"))
            #expect(try await storage.digest() == r.digest)
        }
    }

    @Test func oversizedValuesAreRefusedAndPullsAreBoundedInBytes() async throws {
        let config = HubConfiguration(port: 0, maxPullBytes: 200_000)
        try await Self.withHub(config) { client, storage in
            let huge = Self.change("n1", 1, value: .text(String(repeating: "x", count: ChangeLimits.maxValueBytes + 1)))
            #expect(try await Self.push(client, [huge]) == Outcome(.badRequest, "bad_request"))
            let longName = Self.change("n1", 1, element: String(repeating: "e", count: 300))
            #expect(try await Self.push(client, [longName]) == Outcome(.badRequest, "bad_request"))
            // Ten values of 60 KB: a pull of 1000 stops after about 200 KB, and always makes progress.
            let big = (1...10).map { Self.change("n1", UInt64($0), record: "YQ-\($0)", value: .text(String(repeating: "汉", count: 20_000))) }
            #expect(try await Self.push(client, big, binary: true) == Outcome(.ok))
            var cursor: Int64 = 0, pages = 0, received = 0
            while true {
                let answer = try await client.execute(uri: "/v1/pull?after=\(cursor)&limit=1000&replica=n2", method: .get) {
                    try WireJSON.decode(PullResponse.self, from: Data(buffer: $0.body))
                }
                #expect(!answer.entries.isEmpty && answer.entries.count <= 4)
                received += answer.entries.count
                cursor = answer.next
                pages += 1
                if !answer.more { break }
            }
            let head = try await storage.head()
            #expect(received == 10 && pages >= 3 && cursor == head)
        }
    }

    @Test func pushesAreBoundedInChangesAndBytes() async throws {
        let config = HubConfiguration(port: 0, maxBodyBytes: 1 << 20, maxPushChanges: 100)
        let many = (1...101).map { Self.change("n1", UInt64($0), record: "YQ-\($0)") }
        let heavy = (1...40).map { Self.change("n2", UInt64($0), record: "YQ-\($0)", value: .text(String(repeating: "y", count: 60_000))) }
        try await Self.withHub(config) { client, storage in
            let tooMany = try await Self.push(client, many)
            #expect(tooMany == Outcome(.contentTooLarge, "too_large"))
            #expect(try await Self.push(client, Array(many.prefix(100))) == Outcome(.ok))
            #expect(try await Self.push(client, heavy, as: "n2") == Outcome(.contentTooLarge, "too_large"))
            #expect(try await storage.head() == 100)
        }
    }

    @Test func numbersDotsAndNamesHaveOneSpelling() async throws {
        #expect(Dot("m1:+52") == nil && Dot("p:0015") == nil && Dot("p:-1") == nil && Dot("p:") == nil)
        #expect(Dot("p:15") == Dot(replica: ReplicaID("p"), counter: 15))
        try await Self.withHub { client, storage in
            let good = try String(decoding: WireJSON.encode(PushRequest(replica: ReplicaID("n1"), changes: [Self.change("n1", 1)])), as: UTF8.self)
            let hlc = String(Self.change("n1", 1).hlc.packed)
            for bad in [good.replacingOccurrences(of: "\"n1:1\"", with: "\"n1:01\""),
                        good.replacingOccurrences(of: "\"n1:1\"", with: "\"n1:+1\""),
                        good.replacingOccurrences(of: hlc, with: hlc + ".0"),
                        good.replacingOccurrences(of: hlc, with: "1e3")] {
                #expect(bad != good)
                let status = try await client.execute(uri: "/v1/push", method: .post, body: ByteBuffer(string: bad)) { $0.status }
                #expect(status == .badRequest)
            }
            // Names are sent in NFC: a decomposed co-unit is refused, the composed one accepted.
            let decomposed = Self.change("n1", 1, field: "co_units", element: "Cafe\u{301}", value: .integer(1))
            #expect(try await Self.push(client, [decomposed]) == Outcome(.badRequest, "bad_request"))
            #expect(try await Self.push(client, [Self.change("n1", 1, field: "co_units", element: "Caf\u{E9}", value: .integer(1))]) == Outcome(.ok))
            // A timestamp from year 6429 is refused; one a day ahead is a wrong clock that still syncs.
            let future = Self.change("n1", 2, wall: 140_000_000_000_000)
            #expect(try await Self.push(client, [future]) == Outcome(.badRequest, "clock_ahead"))
            #expect(try await Self.push(client, [Self.change("n1", 2, wall: Self.now + 86_400_000)]) == Outcome(.ok))
            // A resolution must have the field's type.
            _ = try await Self.push(client, [Self.change("a", 1, field: "summary", value: .text("A")), Self.change("b", 1, field: "summary", value: .text("B"))])
            let conflict = try #require(try await storage.conflicts().first)
            for (body, expected) in [("{\"value\": 5}", HTTPResponse.Status.badRequest), ("{\"value\": 5.0}", .badRequest), ("{\"value\": \"AB\"}", .ok)] {
                let status = try await client.execute(uri: "/v1/conflicts/\(conflict.id)/resolve", method: .post, body: ByteBuffer(string: body)) { $0.status }
                #expect(status == expected)
            }
        }
    }

    @Test func mediaTypesIgnoreCaseAndHonourWeights() async throws {
        #expect(WireMedia.prefersBinary("application/vnd.yuqing.v1+binary"))
        #expect(WireMedia.prefersBinary("Application/VND.Yuqing.V1+Binary; q=0.9, application/json; q=0.5"))
        #expect(!WireMedia.prefersBinary("application/vnd.yuqing.v1+binary;q=0.1, application/json"))
        #expect(!WireMedia.prefersBinary("application/vnd.yuqing.v1+binary;q=0, */*"))
        #expect(!WireMedia.prefersBinary("application/json") && !WireMedia.prefersBinary(nil))
        try await Self.withHub { client, _ in
            let status = try await Self.push(client, [Self.change("n1", 1)], binary: true, contentType: "Application/Vnd.Yuqing.V1+Binary; charset=x")
            #expect(status == Outcome(.ok))
            var headers: HTTPFields = [:]
            headers[.accept] = "application/vnd.yuqing.v1+binary;q=0.2, application/json;q=0.8"
            try await client.execute(uri: "/v1/pull?replica=n2", method: .get, headers: headers) {
                #expect($0.headers[.contentType] == "application/json")
            }
            headers[.accept] = "application/json;q=0.2, APPLICATION/vnd.yuqing.v1+binary"
            try await client.execute(uri: "/v1/pull?replica=n2", method: .get, headers: headers) {
                #expect($0.headers[.contentType] == WireMedia.binary)
            }
        }
    }

    @Test func theHubTellsItsDigest() async throws {
        try await Self.withHub { client, storage in
            let (r, writes) = Self.writes("d", count: 20, { i in (RecordRef.case("YQ-\(i % 4)"), "标题 ") })
            _ = try await Self.push(client, writes, as: "d")
            let answer = try await client.execute(uri: "/v1/digest", method: .get) { try WireJSON.decode(DigestResponse.self, from: Data(buffer: $0.body)) }
            #expect(answer.digest == r.digest && answer.head == 20 && answer.hub == storage.hubID)
        }
    }
}
