import Foundation
import YuqingCore
#if canImport(Glibc)
import Glibc
private let systemConnect = Glibc.connect
private let systemShutdown = Glibc.shutdown
private let systemClose = Glibc.close
private let streamSocket = Int32(SOCK_STREAM.rawValue)
private let sendFlags = Int32(MSG_NOSIGNAL)
#elseif canImport(Darwin)
import Darwin
private let systemConnect = Darwin.connect
private let systemShutdown = Darwin.shutdown
private let systemClose = Darwin.close
private let streamSocket = SOCK_STREAM
private let sendFlags: Int32 = 0
#endif

/// One HTTP/1.1 `GET` to an `http://` URL over a plain TCP socket, for long polls.
///
/// URLSession on Linux keeps a core busy while a request waits for its answer (libcurl's multi
/// handle is polled without pause), and a long poll spends nearly all its time waiting. This
/// blocks one thread in `read()` instead, which costs nothing while the hub is quiet. Cancelling
/// the calling task shuts the socket down, which ends the read at once.
struct PlainHTTPGet: Sendable {
    let url: URL
    /// Seconds to connect, and then seconds without a byte before the request counts as unanswered.
    let connectTimeout: TimeInterval
    let readTimeout: TimeInterval
    /// More request headers (the request's signature).
    var headers: [(String, String)] = []

    /// The status code and body, or an error saying why there are none.
    func run() async throws -> (status: Int, body: Data) {
        let socket = SocketBox()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                Thread.detachNewThread {
                    continuation.resume(with: Result { try perform(socket) })
                }
            }
        } onCancel: {
            socket.cancel()
        }
    }

    /// Why the request failed, for the caller's message: in English (``description``, also
    /// ``message``) and in Simplified Chinese (``chinese``).
    struct Failure: BilingualError, CustomStringConvertible {
        var description: String
        /// The same in Simplified Chinese.
        var chinese: String
        var message: String { description }

        init(description: String, zh chinese: String) {
            self.description = description
            self.chinese = chinese
        }
    }

    private func perform(_ socket: SocketBox) throws -> (status: Int, body: Data) {
        guard let host = url.host else { throw Failure(description: "no host in \(url)", zh: "\(url) 中没有主机名") }
        let port = url.port ?? 80
        let fd = try connect(host: host, port: port)
        guard socket.adopt(fd) else { throw CancellationError() }
        defer { socket.close() }
        var timeout = Self.socketTime(readTimeout)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var target = url.path.isEmpty ? "/" : url.path
        if let query = url.query { target += "?" + query }
        let extra = headers.map { "\($0.0): \($0.1)\r\n" }.joined()
        let request = "GET \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: application/json\r\n\(extra)Connection: close\r\n\r\n"
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, sendFlags) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let why = Self.errorText(errno)
                throw socket.failure("could not send the request: \(why)", zh: "无法发送请求：\(why)")
            }
            sent += n
        }
        // Read to the end: the request asked the hub to close the connection after its answer.
        var answer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { throw socket.failure("no answer within \(Int(readTimeout)) s", zh: "\(Int(readTimeout)) 秒内没有应答") }
            guard n >= 0 else {
                let why = Self.errorText(errno)
                throw socket.failure(why, zh: why)
            }
            if n == 0 { break }
            answer += chunk[0..<n]
            if answer.count > 1 << 20 { throw Failure(description: "the answer to a long poll is over 1 MiB", zh: "长轮询的应答超过 1 MiB") }
        }
        if socket.isCancelled { throw CancellationError() }
        return try Self.parse(answer)
    }

    /// Status and body of a whole HTTP/1.1 answer (`Content-Length` or chunked, or up to the end).
    static func parse(_ answer: [UInt8]) throws -> (status: Int, body: Data) {
        guard let end = headerEnd(answer) else {
            throw Failure(description: answer.isEmpty ? "empty reply from the hub" : "the connection closed mid-answer",
                          zh: answer.isEmpty ? "中心返回了空应答" : "连接在应答中途关闭")
        }
        let head = String(decoding: answer[0..<end], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw Failure(description: "not an HTTP answer", zh: "不是 HTTP 应答")
        }
        func header(_ name: String) -> String? {
            lines.dropFirst().first { $0.lowercased().hasPrefix(name + ":") }
                .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
        }
        var body = Array(answer[end...])
        if header("transfer-encoding")?.lowercased().contains("chunked") == true {
            body = try dechunk(body)
        } else if let length = header("content-length").flatMap({ Int($0) }) {
            guard length >= 0 else { throw Failure(description: "a negative Content-Length", zh: "`Content-Length` 为负数") }
            guard body.count >= length else { throw Failure(description: "the connection closed mid-answer", zh: "连接在应答中途关闭") }
            body = Array(body[0..<length])
        }
        return (status, Data(body))
    }

    static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    static func dechunk(_ bytes: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](), i = 0
        while true {
            guard let lineEnd = (i..<max(i, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }),
                  let field = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";", omittingEmptySubsequences: false).first,
                  let size = Int(field.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0, size <= 1 << 20
            else { throw Failure(description: "a malformed or cut chunked answer", zh: "分块（chunked）应答格式有误或不完整") }
            i = lineEnd + 2
            if size == 0 { return out }
            guard i + size <= bytes.count else { throw Failure(description: "the connection closed mid-answer", zh: "连接在应答中途关闭") }
            out += bytes[i..<(i + size)]
            i += size + 2
        }
    }

    private func connect(host: String, port: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamSocket
        var found: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &found)
        guard rc == 0, let first = found else { throw Failure(description: "cannot resolve host \(host)", zh: "无法解析主机 \(host)") }
        defer { freeaddrinfo(first) }
        var lastError = ECONNREFUSED
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let info = next {
            next = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { lastError = errno; continue }
            #if canImport(Darwin)
            var yes: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &yes, socklen_t(MemoryLayout<Int32>.size))
            #endif
            var timeout = Self.socketTime(connectTimeout)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            if systemConnect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            lastError = errno
            _ = systemClose(fd)
        }
        let why = Self.errorText(lastError)
        throw Failure(description: "cannot connect to \(host):\(port): \(why)", zh: "无法连接 \(host):\(port)：\(why)")
    }

    static func socketTime(_ seconds: TimeInterval) -> timeval {
        let s = max(0.001, seconds)
        var t = timeval()
        t.tv_sec = .init(s.rounded(.down))
        t.tv_usec = .init((s - s.rounded(.down)) * 1_000_000)
        return t
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// The socket of a request under way, so a cancellation from another thread can shut it down.
private final class SocketBox: @unchecked Sendable {
    private let lock = NSLock()
    private var fd: Int32 = -1
    private var cancelled = false

    var isCancelled: Bool { lock.withLock { cancelled } }

    /// Takes the connected socket; false (and the socket closed) when already cancelled.
    func adopt(_ socket: Int32) -> Bool {
        lock.withLock {
            if cancelled {
                _ = systemClose(socket)
                return false
            }
            fd = socket
            return true
        }
    }

    func cancel() {
        lock.withLock {
            cancelled = true
            if fd >= 0 { _ = systemShutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    func close() {
        lock.withLock {
            if fd >= 0 { _ = systemClose(fd) }
            fd = -1
        }
    }

    /// A failure, or the cancellation that caused it.
    func failure(_ description: String, zh chinese: String) -> any Error {
        isCancelled ? CancellationError() : PlainHTTPGet.Failure(description: description, zh: chinese)
    }
}
