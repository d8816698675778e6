import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import YuqingCore
import YuqingTestSupport
import YuqingHub
import YuqingReplica
import YuqingWire

/// What an attacker or an unlucky client can send, and what the hub must answer: every point
/// here was once accepted or mishandled.
@Suite struct HostileInputTests {
    static func withHub(_ configuration: HubConfiguration = HubConfiguration(port: 0, enforceCaseRules: false),
                        limits: WaitingLimits = WaitingLimits(),
                        _ body: @Sendable (any TestClientProtocol, SQLiteHubStorage) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("yuqing-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let storage = try SQLiteHubStorage(path: dir.appendingPathComponent("hub.sqlite").path, waitingLimits: limits, schema: .sample)
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
        var r = ReplicaState(id: ReplicaID(id), schema: .sample)
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
        let config = HubConfiguration(port: 0, maxPullBytes: 200_000, enforceCaseRules: false)
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
        let config = HubConfiguration(port: 0, maxBodyBytes: 1 << 20, maxPushChanges: 100, enforceCaseRules: false)
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

    /// Revision 2 of the batch (packed) is used only where both sides know it: the hub says so in
    /// its status, reads pushes of either revision, and answers a pull packed only when asked.
    @Test func batchRevisionsAreNegotiated() async throws {
        try await Self.withHub { client, _ in
            let status = try await client.execute(uri: "/v1/status", method: .get) { try WireJSON.decode(HubStatus.self, from: Data(buffer: $0.body)) }
            #expect(status.binaryRevision == BinaryChanges.revision && BinaryChanges.revision == 2)
            var headers: HTTPFields = [:]
            headers[.contentType] = WireMedia.binary
            for (revision, counter) in [(1, UInt64(1)), (2, 2)] {
                let body = PushRequest(replica: ReplicaID("n1"), changes: [Self.change("n1", counter, record: "YQ-\(counter)")]).binary(revision: revision)
                #expect(try BinaryChanges.batchRevision(of: body) == revision)
                try await client.execute(uri: "/v1/push", method: .post, headers: headers, body: ByteBuffer(bytes: body)) { #expect($0.status == .ok) }
            }
            headers = [:]
            headers[.accept] = WireMedia.binary
            for (query, revision) in [("", 1), ("&binary=1", 1), ("&binary=2", 2), ("&binary=9", 2)] {
                try await client.execute(uri: "/v1/pull?replica=n2" + query, method: .get, headers: headers) { response throws in
                    let bytes = Array(buffer: response.body)
                    #expect(try BinaryChanges.batchRevision(of: bytes) == revision, "\(query)")
                    #expect(try PullResponse(binary: bytes).entries.map(\.change.dot.counter) == [1, 2])
                }
            }
            for bad in ["0", "-1", "two"] {
                try await client.execute(uri: "/v1/pull?replica=n2&binary=\(bad)", method: .get, headers: headers) { #expect($0.status == .badRequest) }
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

/// A flag one thread sets and another reads.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// Connections a real client leaves half done, against the hub on a loopback port.
@Suite struct ConnectionTimeoutTests {
    /// A raw TCP connection to the hub, to send exactly the bytes a test wants.
    final class RawConnection: @unchecked Sendable {
        let fd: Int32

        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard ok == 0 else { throw CancellationError() }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        func send(_ text: String) { _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) } }

        /// Everything the hub sends until it closes the connection (or 10 s pass); nil when the
        /// connection was still open then.
        func readUntilClosed() -> String? {
            var out = [UInt8](), buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n == 0 { return String(decoding: out, as: UTF8.self) }
                if n < 0 { return errno == ECONNRESET ? String(decoding: out, as: UTF8.self) : nil }
                out += buffer[0..<n]
            }
        }

        deinit { close(fd) }
    }

    static func withLiveHub(_ configuration: HubConfiguration, _ body: @Sendable (Int) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("yuqing-timeouts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let storage = try SQLiteHubStorage(path: dir.appendingPathComponent("hub.sqlite").path, schema: .sample)
        try await buildHubApplication(configuration: configuration, storage: storage).test(.live) { client in
            try await body(try #require(client.port))
        }
    }

    @Test func stalledAndIdleConnectionsAreClosed() async throws {
        let config = HubConfiguration(port: 0, idleTimeout: .seconds(1), bodyTimeout: .seconds(2), enforceCaseRules: false)
        try await Self.withLiveHub(config) { port in
            let start = ContinuousClock.now
            // Half a request head; a complete head and part of its body; nothing at all.
            let partialHead = try RawConnection(port: port)
            partialHead.send("POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Le")
            let partialBody = try RawConnection(port: port)
            partialBody.send("POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"replica\"")
            let idle = try RawConnection(port: port)
            #expect(partialHead.readUntilClosed() != nil)
            #expect(idle.readUntilClosed() != nil)
            let answer = try #require(partialBody.readUntilClosed())
            #expect(answer.contains("408") || answer.isEmpty)
            #expect(ContinuousClock.now - start < .seconds(9))
        }
    }

    @Test func aTricklingBodyIsCutOffAtTheBodyTimeout() async throws {
        let config = HubConfiguration(port: 0, idleTimeout: .seconds(5), bodyTimeout: .seconds(2), enforceCaseRules: false)
        try await Self.withLiveHub(config) { port in
            let c = try RawConnection(port: port)
            c.send("POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            // One byte every half second keeps the connection from ever being idle. On a thread of
            // its own: a task could starve behind blocking reads when the suites run in parallel.
            let stop = ManagedAtomicFlag()
            let trickle = Thread {
                for _ in 0..<40 where !stop.isSet {
                    c.send(" ")
                    Thread.sleep(forTimeInterval: 0.5)
                }
            }
            trickle.start()
            defer { stop.set() }
            let answer = try #require(c.readUntilClosed(), "the connection stayed open")
            #expect(answer.hasPrefix("HTTP/1.1 408"))
            #expect(answer.contains("\"code\":\"timeout\""))
        }
    }

    @Test func anOversizedRequestLineGetsAJSONProblem() async throws {
        try await Self.withLiveHub(HubConfiguration(port: 0, enforceCaseRules: false)) { port in
            let c = try RawConnection(port: port)
            c.send("GET /v1/pull?replica=\(String(repeating: "a", count: 100_000)) HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = try #require(c.readUntilClosed())
            #expect(answer.hasPrefix("HTTP/1.1 400"))
            #expect(answer.lowercased().contains("content-type: application/json"))
            let body = try #require(answer.range(of: "\r\n\r\n").map { answer[$0.upperBound...] })
            let problem = try WireJSON.decode(Problem.self, from: Data(body.utf8))
            #expect(problem.code == "bad_request")
        }
    }
}
