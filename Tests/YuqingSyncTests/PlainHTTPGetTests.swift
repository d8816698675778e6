import Foundation
import Testing
@testable import YuqingSync

/// Reading the hub's answer to a long poll off a plain socket.
@Suite struct PlainHTTPGetTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func answersWithALengthOrInChunksAreRead() throws {
        let sized = try PlainHTTPGet.parse(Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: application/json\r\n\r\n{\"head\":12}"))
        #expect(sized.status == 200 && String(decoding: sized.body, as: UTF8.self) == "{\"head\":12}")
        let chunked = try PlainHTTPGet.parse(Self.bytes("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n3;x=1\r\n12}\r\n0\r\n\r\n"))
        #expect(chunked.status == 400 && String(decoding: chunked.body, as: UTF8.self) == "{\"a\":12}")
        let toTheEnd = try PlainHTTPGet.parse(Self.bytes("HTTP/1.0 200 OK\r\n\r\nabc"))
        #expect(String(decoding: toTheEnd.body, as: UTF8.self) == "abc")
    }

    @Test(arguments: ["", "HTTP/1.1 200 OK\r\nContent-Le", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"he",
                      "SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a"])
    func cutOrForeignAnswersAreRefused(answer: String) {
        #expect(throws: PlainHTTPGet.Failure.self) { try PlainHTTPGet.parse(Self.bytes(answer)) }
    }
}
