import Foundation
import Testing
@testable import YuqingSync
#if canImport(Glibc)
import Glibc
#endif

/// Reading the hub's answer to a long poll off a plain socket.
@Suite struct PlainHTTPTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func answersWithALengthOrInChunksAreRead() throws {
        let sized = try PlainHTTP.parse(Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: application/json\r\n\r\n{\"head\":12}"))
        #expect(sized.status == 200 && String(decoding: sized.data, as: UTF8.self) == "{\"head\":12}")
        let chunked = try PlainHTTP.parse(Self.bytes("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n3;x=1\r\n12}\r\n0\r\n\r\n"))
        #expect(chunked.status == 400 && String(decoding: chunked.data, as: UTF8.self) == "{\"a\":12}")
        let toTheEnd = try PlainHTTP.parse(Self.bytes("HTTP/1.0 200 OK\r\n\r\nabc"))
        #expect(String(decoding: toTheEnd.data, as: UTF8.self) == "abc")
    }

    /// The end of the head is found however the reads cut `\r\n\r\n`, looking from where the
    /// last read began (as `perform` does).
    @Test func theHeadsEndIsFoundAcrossReads() {
        let answer = Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        let end = answer.count - 2
        for cut in 1..<answer.count {
            let first = Array(answer[0..<cut])
            let found = first.withUnsafeBytes { PlainHTTP.headerEnd($0) }
                ?? answer.withUnsafeBytes { PlainHTTP.headerEnd($0, appendedAt: cut) }
            #expect(found == end, "cut at \(cut)")
        }
        #expect(Self.bytes("HTTP/1.1 200 OK\r\n\r").withUnsafeBytes { PlainHTTP.headerEnd($0) } == nil)
    }

    @Test(arguments: ["", "HTTP/1.1 200 OK\r\nContent-Le", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"he",
                      "SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a"])
    func cutOrForeignAnswersAreRefused(answer: String) {
        #expect(throws: PlainHTTP.Failure.self) { try PlainHTTP.parse(Self.bytes(answer)) }
    }

    /// What a hostile hub or a man in the middle sends to a long poll does not crash the node.
    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\nabc",
        "nonsense\r\n\r\n",
    ])
    func hostileAnswersAreErrorsNotCrashes(answer: String) {
        #expect(throws: (any Error).self) { try PlainHTTP.parse(Array(answer.utf8)) }
    }
}

#if canImport(Glibc)
/// Requests over a real loopback socket, against a server that answers as the test says.
@Suite(.timeLimit(.minutes(1))) struct PlainHTTPSocketTests {
    /// What the server does once it has answered.
    enum After { case close, holdOpen, reset }

    /// A one-connection HTTP server on a loopback port: reads the request head and the body its
    /// `Content-Length` gives, hands both to `answer`, sends what it returns and closes. With
    /// `answerFirst`, it answers as soon as the head is in, and reads the body after.
    final class OneShotServer: @unchecked Sendable {
        let port: Int
        private let fd: Int32
        private let done = DispatchSemaphore(value: 0)
        private(set) var head = ""
        private(set) var body = [UInt8]()

        init(answerFirst: Bool = false, after: After = .close, answer: @escaping @Sendable (String, [UInt8]) -> [UInt8]) throws {
            let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = 0
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, len) } }
            guard bound == 0, listen(sock, 1) == 0 else { throw PlainHTTP.Failure(description: "cannot listen", zh: "无法监听") }
            _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) } }
            fd = sock
            port = Int(UInt16(bigEndian: addr.sin_port))
            let listener = fd
            Thread.detachNewThread { [self] in
                let c = accept(listener, nil, nil)
                var got = [UInt8](), buffer = [UInt8](repeating: 0, count: 65536)
                var end: Int?
                while end == nil {
                    let n = read(c, &buffer, buffer.count)
                    if n <= 0 { break }
                    got += buffer[0..<n]
                    end = got.withUnsafeBytes { PlainHTTP.headerEnd($0) }
                }
                let e = end ?? got.count
                head = String(decoding: got[0..<e], as: UTF8.self)
                var rest = Array(got[e...])
                let length = got.withUnsafeBytes { PlainHTTP.contentLength($0[0..<e]) } ?? 0
                func readBody() {
                    while rest.count < length {
                        let n = read(c, &buffer, buffer.count)
                        if n <= 0 { break }
                        rest += buffer[0..<n]
                    }
                }
                if !answerFirst { readBody() }
                let reply = answer(head, rest)
                var sent = 0
                while sent < reply.count {
                    let n = reply.withUnsafeBytes { send(c, $0.baseAddress! + sent, reply.count - sent, Int32(MSG_NOSIGNAL)) }
                    if n <= 0 { break }
                    sent += n
                }
                switch after {
                case .close:
                    if answerFirst { readBody() }
                case .holdOpen:
                    // Until the client closes: it must stop at the length it was given.
                    while read(c, &buffer, buffer.count) > 0 {}
                case .reset:
                    // Close with the body unread and no lingering: the client's send fails.
                    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                    setsockopt(c, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                }
                body = rest
                close(c)
                done.signal()
            }
        }

        func finish() {
            done.wait()
            close(fd)
        }
    }

    static func sized(_ status: String, _ body: [UInt8]) -> [UInt8] {
        Array("HTTP/1.1 \(status)\r\nContent-Length: \(body.count)\r\nContent-Type: application/octet-stream\r\n\r\n".utf8) + body
    }

    @Test func aPostSendsItsBodyAndReadsALargeAnswerWhole() async throws {
        let sent = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let reply = (0..<5_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let server = try OneShotServer() { _, _ in Self.sized("200 OK", reply) }
        let request = PlainHTTP(url: URL(string: "http://127.0.0.1:\(server.port)/v1/push?x=1")!, method: "POST", body: Data(sent),
                                contentType: "application/x-test", connectTimeout: 5, readTimeout: 10,
                                headers: [("X-Signature", "abc")], maxBytes: 6 << 20)
        let (status, body) = try await request.run()
        server.finish()
        #expect(status == 200)
        #expect(body == Data(reply))
        #expect(server.body == sent)
        #expect(server.head.hasPrefix("POST /v1/push?x=1 HTTP/1.1\r\n"))
        for header in ["Content-Length: 3000000", "Content-Type: application/x-test", "X-Signature: abc", "Connection: close"] {
            #expect(server.head.contains(header + "\r\n"), "\(header) missing from \(server.head)")
        }
    }

    /// A hub that answers a push before it has read the body (a refusal, say) has its answer
    /// read: whether it then reads the rest and closes, or resets the connection with the body
    /// unread, so that the client's send fails.
    @Test(arguments: [After.close, After.reset])
    func anAnswerBeforeTheBodyIsReadIsReported(after: After) async throws {
        let refusal = Array("{\"code\":\"too_large\"}".utf8)
        let server = try OneShotServer(answerFirst: true, after: after) { _, _ in Self.sized("413 Content Too Large", refusal) }
        let request = PlainHTTP(url: URL(string: "http://127.0.0.1:\(server.port)/v1/push")!, method: "POST",
                                body: Data(repeating: 1, count: 32 << 20), connectTimeout: 5, readTimeout: 10)
        let (status, body) = try await request.run()
        server.finish()
        #expect(status == 413)
        #expect(body == Data(refusal))
    }

    /// A server that resets the connection right after its answer (no orderly close): the
    /// answer that came before the reset is the result. With a body of unknown length, the
    /// client reads to the reset.
    @Test func aResetAfterTheAnswerKeepsTheAnswer() async throws {
        let server = try OneShotServer(after: .reset) { _, _ in Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end".utf8) }
        let (status, body) = try await PlainHTTP(url: URL(string: "http://127.0.0.1:\(server.port)/v1/status")!, connectTimeout: 5, readTimeout: 10).run()
        server.finish()
        #expect(status == 200 && body == Data("to the end".utf8))
    }

    /// A whole answer is the result once its `Content-Length` has arrived, even when the server
    /// keeps the connection open.
    @Test func aSizedAnswerEndsAtItsLength() async throws {
        let server = try OneShotServer(after: .holdOpen) { _, _ in Self.sized("200 OK", Array("done".utf8)) }
        let (status, body) = try await PlainHTTP(url: URL(string: "http://127.0.0.1:\(server.port)/v1/status")!, connectTimeout: 5, readTimeout: 10).run()
        server.finish()
        #expect(status == 200 && body == Data("done".utf8))
    }

    /// A length past any limit is an error, not a crash.
    @Test func anImpossibleLengthIsRefused() async throws {
        let server = try OneShotServer { _, _ in Array("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\nabc".utf8) }
        await #expect(throws: PlainHTTP.Failure.self) {
            try await PlainHTTP(url: URL(string: "http://127.0.0.1:\(server.port)/")!, connectTimeout: 5, readTimeout: 10).run()
        }
        server.finish()
    }

    @Test func anAnswerOverTheLimitIsRefused() async throws {
        let server = try OneShotServer() { _, _ in Self.sized("200 OK", [UInt8](repeating: 0, count: 2 << 20)) }
        let request = PlainHTTP(url: URL(string: "http://127.0.0.1:\(server.port)/v1/snapshot/data")!, connectTimeout: 5, readTimeout: 10, maxBytes: 1 << 20)
        await #expect(throws: PlainHTTP.Failure.self) { try await request.run() }
        server.finish()
    }

    @Test func aClosedPortIsReportedAsRefused() async throws {
        let server = try OneShotServer() { _, _ in [] }
        let port = server.port
        // Connect once so the server's thread ends, then the port is closed.
        _ = try? await PlainHTTP(url: URL(string: "http://127.0.0.1:\(port)/")!, connectTimeout: 5, readTimeout: 5).run()
        server.finish()
        do {
            _ = try await PlainHTTP(url: URL(string: "http://127.0.0.1:\(port)/")!, connectTimeout: 5, readTimeout: 5).run()
            Issue.record("a request to a closed port succeeded")
        } catch let failure as PlainHTTP.Failure {
            #expect(failure.kind == .refused)
            let message = HubClient.unreachable(failure, baseURL: URL(string: "http://127.0.0.1:\(port)")!, timeout: 5).message
            #expect(message.contains("refused the connection"), "\(message)")
        }
    }
}
#endif
