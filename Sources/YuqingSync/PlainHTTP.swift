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

/// One HTTP/1.1 request to an `http://` URL over a plain TCP socket of its own, closed after the
/// answer: for long polls, pushes and the pieces of a snapshot.
///
/// - A long poll: URLSession on Linux keeps a core busy while a request waits for its answer
///   (libcurl's multi handle is polled without pause), and a long poll spends nearly all its time
///   waiting. This blocks one thread in `read()` instead, which costs nothing while the hub is
///   quiet.
/// - A push goes on a connection of its own (``HubClient/push(_:revision:)`` says why), and a
///   URLSession made for one request costs more than the request: measured, most of a node's
///   work in a sync of a few changes.
/// - A large answer (a snapshot's 8 MiB pieces) is read straight into one buffer of its
///   `Content-Length`, where URLSession hands it over in small pieces and copies it again.
///
/// Cancelling the calling task shuts the socket down, which ends the request at once.
struct PlainHTTP: Sendable {
    let url: URL
    /// `GET`, or `POST` with ``body``.
    var method = "GET"
    /// The body sent, with its type.
    var body: Data? = nil
    var contentType = "application/json"
    /// Seconds to connect, and then seconds without a byte before the request counts as unanswered.
    let connectTimeout: TimeInterval
    let readTimeout: TimeInterval
    /// More request headers (the request's signature).
    var headers: [(String, String)] = []
    /// What the request accepts.
    var accept = "application/json"
    /// The largest answer read, headers included; a longer one is an error.
    var maxBytes = 1 << 20

    /// The status code and body, or an error saying why there are none.
    func run() async throws -> (status: Int, data: Data) {
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
        /// What kind of failure, for a caller that words it for the person at the node.
        enum Kind: Sendable {
            /// Nothing listens at the address.
            case refused
            /// No progress, or no whole answer, in time.
            case timedOut
            /// The connection was reset or closed before a whole answer came.
            case lost
            /// What came is not an HTTP answer this client reads (or is over its limit).
            case malformed
            case other
        }

        var description: String
        /// The same in Simplified Chinese.
        var chinese: String
        var kind: Kind
        var message: String { description }

        init(description: String, zh chinese: String, kind: Kind = .other) {
            self.description = description
            self.chinese = chinese
            self.kind = kind
        }
    }

    private func perform(_ socket: SocketBox) throws -> (status: Int, data: Data) {
        guard let host = url.host else { throw Failure(description: "no host in \(url)", zh: "\(url) 中没有主机名") }
        let port = url.port ?? 80
        let fd = try connect(host: host, port: port)
        guard socket.adopt(fd) else { throw CancellationError() }
        defer { socket.close() }
        // Each send and each read may wait `readTimeout` for progress; the whole answer, four
        // times that (as URLSession's resource timeout), so a hub that trickles bytes cannot hold
        // a request for ever.
        var timeout = Self.socketTime(readTimeout)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let deadline = ContinuousClock.now + .milliseconds(Int64(readTimeout * 4000))
        var target = url.path.isEmpty ? "/" : url.path
        if let query = url.query { target += "?" + query }
        var extra = headers.map { "\($0.0): \($0.1)\r\n" }.joined()
        if let body { extra += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n" }
        let request = "\(method) \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: \(accept)\r\n\(extra)Connection: close\r\n\r\n"
        var bytes = Array(request.utf8)
        if let body { bytes.append(contentsOf: body) }
        var sent = 0
        // A hub that refuses a body it has not read whole (too large, not signed) answers and
        // closes, which may reset the connection: the send then fails, and the answer that came
        // before the reset is read all the same.
        var sendFailure: (any Error)?
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, sendFlags) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                sendFailure = Self.ioFailure(errno, socket, sending: true, timeout: readTimeout)
                break
            }
            sent += n
        }
        // Read until the length the head gives, or to the end (the request asked the hub to
        // close the connection after its answer). Once the head is in, room is made for the
        // whole length it gives, so the body is read straight into place.
        let answer = ReadBuffer(capacity: 64 << 10)
        var total: Int?
        var sized = false
        while total.map({ answer.count < $0 }) ?? true {
            answer.reserve(total.map { $0 - answer.count } ?? (answer.count < 64 << 10 ? 16 << 10 : 256 << 10))
            let before = answer.count
            let n = read(fd, answer.end, answer.room)
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else {
                // What arrived before a reset may be the whole answer (parse says if it is not).
                if answer.count > 0, errno == ECONNRESET { break }
                throw sendFailure ?? Self.ioFailure(errno, socket, sending: false, timeout: readTimeout)
            }
            if n == 0 { break }
            answer.count += n
            if answer.count > maxBytes {
                throw Failure(description: "the hub's answer is over \(maxBytes >> 20) MiB", zh: "中心的应答超过 \(maxBytes >> 20) MiB", kind: .malformed)
            }
            if ContinuousClock.now > deadline {
                throw socket.failure("no whole answer within \(Int(readTimeout * 4)) s", zh: "\(Int(readTimeout * 4)) 秒内没有收到完整应答", kind: .timedOut)
            }
            if !sized, let end = Self.headerEnd(answer.bytes, appendedAt: before) {
                sized = true
                if let length = Self.contentLength(answer.bytes[0..<end]), length >= 0, length <= maxBytes - end {
                    total = end + length
                }
            }
        }
        if socket.isCancelled { throw CancellationError() }
        if let sendFailure, answer.count == 0 { throw sendFailure }
        return try Self.parse(answer.bytes, body: answer.take)
    }

    /// A failed `send` or `read` (`code` is its errno) as the kind the caller words.
    private static func ioFailure(_ code: Int32, _ socket: SocketBox, sending: Bool, timeout: TimeInterval) -> any Error {
        let why = errorText(code)
        switch code {
        case EAGAIN, EWOULDBLOCK:
            return socket.failure("no progress within \(Int(timeout)) s", zh: "\(Int(timeout)) 秒内没有进展", kind: .timedOut)
        case ECONNRESET, EPIPE:
            return socket.failure("the connection was reset (\(why))", zh: "连接被重置", kind: .lost)
        default:
            return socket.failure(sending ? "could not send the request: \(why)" : why,
                                  zh: sending ? "无法发送请求（系统错误 \(code)）" : "读取应答失败（系统错误 \(code)）")
        }
    }

    /// The `Content-Length` of an answer's head, if it gives one.
    static func contentLength(_ head: UnsafeRawBufferPointer.SubSequence) -> Int? {
        header("content-length", in: String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")).flatMap { Int($0) }
    }

    /// A header's value among an answer's head lines (the status line first), by its lower-case name.
    static func header(_ name: String, in lines: [String]) -> String? {
        lines.dropFirst().first { $0.lowercased().hasPrefix(name + ":") }
            .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
    }

    /// Status and body of a whole HTTP/1.1 answer (`Content-Length` or chunked, or up to the end).
    static func parse(_ answer: [UInt8]) throws -> (status: Int, data: Data) {
        try answer.withUnsafeBytes { bytes in try parse(bytes) { Data(bytes[$0]) } }
    }

    /// The same, of bytes in place; `body` makes the body of a sized answer from its place.
    static func parse(_ answer: UnsafeRawBufferPointer, body: (Range<Int>) -> Data) throws -> (status: Int, data: Data) {
        guard let end = headerEnd(answer) else {
            throw Failure(description: answer.isEmpty ? "empty reply from the hub" : "the connection closed mid-answer",
                          zh: answer.isEmpty ? "中心返回了空应答" : "连接在应答中途关闭", kind: .lost)
        }
        let head = String(decoding: answer[0..<end], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw Failure(description: "not an HTTP answer", zh: "不是 HTTP 应答", kind: .malformed)
        }
        if header("transfer-encoding", in: lines)?.lowercased().contains("chunked") == true {
            return (status, Data(try dechunk(UnsafeRawBufferPointer(rebasing: answer[end...]))))
        } else if let length = header("content-length", in: lines).flatMap({ Int($0) }) {
            guard length >= 0 else { throw Failure(description: "a negative Content-Length", zh: "`Content-Length` 为负数", kind: .malformed) }
            guard answer.count - end >= length else { throw Failure(description: "the connection closed mid-answer", zh: "连接在应答中途关闭", kind: .lost) }
            return (status, body(end..<(end + length)))
        }
        return (status, Data(answer[end...]))
    }

    /// Where the head ends in `bytes` whose last read began at `before`: `\r\n\r\n` may start
    /// up to three bytes earlier.
    static func headerEnd(_ bytes: UnsafeRawBufferPointer, appendedAt before: Int) -> Int? {
        headerEnd(bytes, from: max(0, before - 3))
    }

    /// Where the head of an answer ends (past its blank line), looking from `from`.
    static func headerEnd(_ bytes: UnsafeRawBufferPointer, from: Int = 0) -> Int? {
        guard bytes.count >= 4, from <= bytes.count - 4 else { return nil }
        for i in from...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    static func dechunk(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        var out = [UInt8](), i = 0
        while true {
            guard let lineEnd = (i..<max(i, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }),
                  let field = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";", omittingEmptySubsequences: false).first,
                  let size = Int(field.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0, size <= 1 << 24
            else { throw Failure(description: "a malformed or cut chunked answer", zh: "分块（chunked）应答格式有误或不完整", kind: .malformed) }
            i = lineEnd + 2
            if size == 0 { return out }
            guard i + size <= bytes.count else { throw Failure(description: "the connection closed mid-answer", zh: "连接在应答中途关闭", kind: .lost) }
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
        throw Failure(description: "cannot connect to \(host):\(port): \(why)", zh: "无法连接 \(host):\(port)（系统错误 \(lastError)）",
                      kind: lastError == ECONNREFUSED ? .refused : lastError == ETIMEDOUT || lastError == EINPROGRESS ? .timedOut : .other)
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
    func failure(_ description: String, zh chinese: String, kind: PlainHTTP.Failure.Kind = .other) -> any Error {
        isCancelled ? CancellationError() : PlainHTTP.Failure(description: description, zh: chinese, kind: kind)
    }
}

/// A growing buffer that `read()` fills in place; a sized answer's body is handed over as it
/// lies (``take(_:)``), not copied.
private final class ReadBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    var count = 0
    private var given = false

    init(capacity: Int) {
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        self.capacity = capacity
    }

    deinit { if !given { base.deallocate() } }

    var end: UnsafeMutableRawPointer { base + count }
    var room: Int { capacity - count }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Makes room for at least `more` bytes past the end.
    func reserve(_ more: Int) {
        guard room < more else { return }
        let grown = max(count + more, capacity * 2)
        let next = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 16)
        next.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = next
        capacity = grown
    }

    /// The bytes of `range` as data that owns the buffer from now on.
    func take(_ range: Range<Int>) -> Data {
        precondition(!given && range.upperBound <= count)
        given = true
        let start = base
        return Data(bytesNoCopy: base + range.lowerBound, count: range.count, deallocator: .custom { _, _ in start.deallocate() })
    }
}
