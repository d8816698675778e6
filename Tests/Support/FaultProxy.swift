import Foundation
#if canImport(Glibc)
import Glibc
private let systemConnect = Glibc.connect
private let systemShutdown = Glibc.shutdown
#elseif canImport(Darwin)
import Darwin
private let systemConnect = Darwin.connect
private let systemShutdown = Darwin.shutdown
#endif

/// A TCP proxy on loopback between nodes and a hub that, request by request, at random but
/// bounded and replayable from a seed, does what bad networks do: delays a request, drops it
/// (closes without forwarding), duplicates it (forwards it a second time on another connection
/// and throws that answer away), truncates the answer (forwards part of it, then closes) or resets
/// the connection (SO_LINGER 0, then close) after the hub got the request.
///
/// Truncations cut an answer within its first bytes (before the status line is complete) or
/// within its body, never between the status line and the end of the headers: there, Linux's
/// FoundationNetworking ends the client process with "Transfer completed, but there's no
/// response" (swift-corelibs-foundation issue 5285) instead of failing the request.
///
/// It reads HTTP/1.1 requests (headers and a `Content-Length` body) to decide per request, and
/// forwards answers as bytes. ``faultsEnabled`` set to false makes it a plain pass-through.
/// POSIX sockets, one thread per direction of each connection.
public final class FaultProxy: @unchecked Sendable {
    /// What the proxy did to one request.
    public enum Fault: String, CaseIterable, Sendable {
        case pass, delay, drop, duplicate, truncate, reset
    }

    /// How likely each fault is, per request; `pass` takes the rest.
    public struct Odds: Sendable {
        public var delay = 0.10
        public var drop = 0.05
        public var duplicate = 0.07
        public var truncate = 0.05
        public var reset = 0.05
        /// The longest delay, in milliseconds.
        public var maxDelayMillis = 400
        public init() {}
    }

    /// The port the proxy listens on, at 127.0.0.1.
    public let port: Int
    private let target: Int
    private let listener: Int32
    private let odds: Odds
    private let lock = NSLock()
    private var random: SeededRandom
    private var faulty = true
    private var tally: [Fault: Int] = [:]
    private var sockets: Set<Int32> = []
    private var stopped = false
    private var delays: [String: Int] = [:]
    private var killText: String?

    /// Starts proxying from a free loopback port to `127.0.0.1:targetPort`.
    public init(to targetPort: Int, seed: UInt64, odds: Odds = Odds()) throws {
        target = targetPort
        random = SeededRandom(seed: seed)
        self.odds = odds
        let fd = socket(AF_INET, Socket.stream, 0)
        guard fd >= 0 else { throw ProxyError("socket() failed: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = Socket.loopback(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0, listen(fd, 128) == 0 else {
            close(fd)
            throw ProxyError("cannot listen on 127.0.0.1: errno \(errno)")
        }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        listener = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// When false, every request passes untouched (connections opened before keep their course).
    public var faultsEnabled: Bool {
        get { lock.withLock { faulty } }
        set { lock.withLock { faulty = newValue } }
    }

    /// Requests whose request line contains a key wait that many milliseconds before they are
    /// forwarded, whatever ``faultsEnabled`` says.
    public var delayed: [String: Int] {
        get { lock.withLock { delays } }
        set { lock.withLock { delays = newValue } }
    }

    /// A request whose request line contains this is not forwarded: every open connection is cut
    /// instead (``stop()``), as when the hub is killed as the request arrives.
    public var killOn: String? {
        get { lock.withLock { killText } }
        set { lock.withLock { killText = newValue } }
    }

    /// The rules above for one request line: the milliseconds it waits, or nil when it kills.
    fileprivate func rule(for line: String) -> Int? {
        lock.withLock {
            if let killText, line.contains(killText) { return nil }
            return delays.first { line.contains($0.key) }?.value ?? 0
        }
    }

    /// How many requests met each fault so far.
    public var counts: [Fault: Int] { lock.withLock { tally } }

    /// Stops listening and cuts every open connection.
    public func stop() {
        let open: Set<Int32> = lock.withLock {
            stopped = true
            return sockets
        }
        Socket.shutdown(listener)
        for fd in open { Socket.shutdown(fd) }
    }

    deinit {
        stop()
        close(listener)
    }

    // MARK: Connections

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return  // the listener was shut down
            }
            Socket.noSigPipe(client)
            let upstream = Socket.connect(port: target)
            guard upstream >= 0, track([client, upstream]) else {
                close(client)
                if upstream >= 0 { close(upstream) }
                continue
            }
            let connection = Connection(proxy: self, client: client, upstream: upstream)
            Thread.detachNewThread { connection.forwardRequests() }
            Thread.detachNewThread { connection.forwardAnswers() }
        }
    }

    private func track(_ fds: [Int32]) -> Bool {
        lock.withLock {
            guard !stopped else { return false }
            sockets.formUnion(fds)
            return true
        }
    }

    fileprivate func untrack(_ fds: [Int32]) {
        lock.withLock { sockets.subtract(fds) }
    }

    /// The fault for the next request, and its parameter (milliseconds or bytes).
    fileprivate func decide() -> (Fault, Int) {
        lock.withLock {
            guard faulty else { return (.pass, 0) }
            let roll = Double.random(in: 0..<1, using: &random)
            var fault = Fault.pass
            var edge = 0.0
            for (f, p) in [(Fault.delay, odds.delay), (.drop, odds.drop), (.duplicate, odds.duplicate),
                           (.truncate, odds.truncate), (.reset, odds.reset)] {
                edge += p
                if roll < edge { fault = f; break }
            }
            tally[fault, default: 0] += 1
            switch fault {
            case .delay: return (fault, Int.random(in: 1...max(1, odds.maxDelayMillis), using: &random))
            case .truncate:
                // Half cut within the first 9 bytes ("HTTP/1.1 "), half within the body (per mille).
                return (fault, Bool.random(using: &random) ? Int.random(in: 0..<9, using: &random)
                                                          : -Int.random(in: 1...1000, using: &random))
            case .reset: return (fault, Int.random(in: 0..<100, using: &random))
            default: return (fault, 0)
            }
        }
    }

    /// Sends `request` to the hub on a connection of its own and throws the answer away.
    fileprivate func duplicate(_ request: [UInt8]) {
        Thread.detachNewThread { [self] in
            let fd = Socket.connect(port: target)
            guard fd >= 0 else { return }
            guard track([fd]) else { close(fd); return }
            defer { untrack([fd]); close(fd) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard Socket.sendAll(fd, request) else { return }
            var reader = HTTPReader(fd: fd)
            _ = reader.readMessage(isResponse: true)
        }
    }
}

/// One client connection and its connection to the hub.
private final class Connection: @unchecked Sendable {
    let proxy: FaultProxy
    let client: Int32
    let upstream: Int32
    private let lock = NSLock()
    /// Answer bytes forwarded so far, and where a truncation cuts the next answer.
    private var forwarded = 0
    private var cut = Cut.none
    private enum Cut {
        case none
        /// After this many answer bytes in all.
        case at(Int)
        /// At this fraction of the next answer's body.
        case inBody(Double)
    }
    private var resetting = false
    private var running = 2

    init(proxy: FaultProxy, client: Int32, upstream: Int32) {
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
    }

    /// Client to hub, one whole request at a time, each meeting its fault.
    func forwardRequests() {
        defer { done() }
        var reader = HTTPReader(fd: client)
        while var request = reader.readMessage(isResponse: false) {
            if request.expectsContinue {
                // Answer the client's `Expect: 100-continue` here, so the whole request is read
                // before anything is sent on; the hub gets it without the header.
                guard Socket.sendAll(client, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { break }
                guard reader.readBody(of: &request) else { break }
            }
            let bytes = request.bytes
            let line = String(decoding: bytes.prefix { $0 != 13 }, as: UTF8.self)
            guard let wait = proxy.rule(for: line) else {
                proxy.stop()
                return
            }
            if wait > 0 { usleep(UInt32(wait) * 1000) }
            let (fault, amount) = proxy.decide()
            switch fault {
            case .pass:
                break
            case .delay:
                usleep(UInt32(amount) * 1000)
            case .drop:
                Socket.shutdown(client)
                Socket.shutdown(upstream)
                return
            case .duplicate:
                proxy.duplicate(bytes)
            case .truncate:
                lock.withLock { cut = amount >= 0 ? .at(forwarded + amount) : .inBody(Double(-amount) / 1001) }
            case .reset:
                guard Socket.sendAll(upstream, bytes) else { return }
                usleep(UInt32(amount) * 1000)
                lock.withLock { resetting = true }
                var linger = Socket.abortiveLinger
                setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
                Socket.shutdown(upstream)  // wakes the other direction; the close in done() sends the RST
                return
            }
            guard Socket.sendAll(upstream, bytes) else { return }
        }
        // The client closed (or sent something unreadable): let the hub see the end too.
        Socket.shutdown(upstream, Int32(SHUT_WR))
    }

    /// Hub to client, as bytes, cut short where a truncation says.
    func forwardAnswers() {
        defer { done() }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var held = HTTPReader(fd: upstream)  // an answer held back until its body's length is known
        reading: while true {
            let n = buffer.withUnsafeMutableBytes { read(upstream, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            let (mode, reset) = lock.withLock { (cut, resetting) }
            if reset { return }
            guard n > 0 else { break }
            let chunk = Array(buffer[0..<n])
            switch mode {
            case .none:
                guard Socket.sendAll(client, chunk) else { break reading }
                lock.withLock { forwarded += n }
            case .at(let limit):
                let allowed = lock.withLock { max(0, min(n, limit - forwarded)) }
                if allowed > 0, !Socket.sendAll(client, Array(chunk[0..<allowed])) { break reading }
                let reached = lock.withLock {
                    forwarded += allowed
                    return forwarded >= limit
                }
                if reached { break reading }
            case .inBody(let fraction):
                held.pending += chunk
                guard let (headEnd, length) = held.headerEndAndLength() else { continue }
                let keep = headEnd + min(Int(fraction * Double(length)), max(length - 1, 0))
                _ = Socket.sendAll(client, Array(held.pending[0..<min(keep, held.pending.count)]))
                break reading
            }
        }
        // The hub closed, or the answer was cut: the client sees the connection end.
        Socket.shutdown(client)
        Socket.shutdown(upstream)
    }

    /// The second direction to finish closes both sockets.
    private func done() {
        let last = lock.withLock {
            running -= 1
            return running == 0
        }
        guard last else { return }
        proxy.untrack([client, upstream])
        close(client)
        close(upstream)
    }
}

/// One HTTP/1.1 message as read off a socket.
private struct HTTPMessage {
    var head: [UInt8]
    var body: [UInt8]
    var contentLength: Int
    var expectsContinue: Bool
    var bytes: [UInt8] { head + body }
}

/// Reads whole HTTP/1.1 messages (headers, then a `Content-Length` body) from a socket.
private struct HTTPReader {
    let fd: Int32
    var pending: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// The next message, or nil at the end of the stream or on unreadable input. A request that
    /// expects `100 Continue` is returned with its headers only (the `Expect` line removed);
    /// ``readBody(of:)`` reads the rest.
    mutating func readMessage(isResponse: Bool) -> HTTPMessage? {
        while true {
            guard let end = headerEnd() else {
                guard fill() else { return nil }
                continue
            }
            var head = Array(pending[0..<end])
            pending.removeFirst(end)
            let text = String(decoding: head, as: UTF8.self).lowercased()
            let lines = text.split(separator: "\r\n")
            if isResponse, lines.first?.contains(" 100 ") == true { continue }  // an interim answer
            let length = Self.contentLength(lines)
            let expects = !isResponse && lines.contains { $0.hasPrefix("expect:") && $0.contains("100-continue") }
            if expects {
                head = Self.removingExpect(head)
            }
            var message = HTTPMessage(head: head, body: [], contentLength: length, expectsContinue: expects)
            if !expects, !readBody(of: &message) { return nil }
            return message
        }
    }

    mutating func readBody(of message: inout HTTPMessage) -> Bool {
        while pending.count < message.contentLength {
            guard fill() else { return false }
        }
        message.body = Array(pending[0..<message.contentLength])
        pending.removeFirst(message.contentLength)
        return true
    }

    /// Where the buffered message's headers end, and its `Content-Length`, once the headers are in.
    func headerEndAndLength() -> (Int, Int)? {
        guard let end = headerEnd() else { return nil }
        return (end, Self.contentLength(String(decoding: pending[0..<end], as: UTF8.self).lowercased().split(separator: "\r\n")))
    }

    static func contentLength(_ lines: [Substring]) -> Int {
        lines.lazy.compactMap { line -> Int? in
            guard line.hasPrefix("content-length:") else { return nil }
            return Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        }.first ?? 0
    }

    private func headerEnd() -> Int? {
        guard pending.count >= 4 else { return nil }
        for i in 0...(pending.count - 4) where pending[i] == 13 && pending[i + 1] == 10 && pending[i + 2] == 13 && pending[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    private mutating func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return false }
            pending += chunk[0..<n]
            return true
        }
    }

    private static func removingExpect(_ head: [UInt8]) -> [UInt8] {
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let kept = lines.filter { !$0.lowercased().hasPrefix("expect:") }
        return Array(kept.joined(separator: "\r\n").utf8)
    }
}

/// The few socket calls the proxy makes.
private enum Socket {
    #if canImport(Glibc)
    static let stream = Int32(SOCK_STREAM.rawValue)
    static let sendFlags = Int32(MSG_NOSIGNAL)
    #else
    static let stream = SOCK_STREAM
    static let sendFlags: Int32 = 0
    #endif

    /// SO_LINGER on, zero seconds: close() resets the connection instead of ending it.
    static var abortiveLinger: linger { linger(l_onoff: 1, l_linger: 0) }

    static func loopback(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return addr
    }

    static func connect(port: Int) -> Int32 {
        let fd = socket(AF_INET, stream, 0)
        guard fd >= 0 else { return -1 }
        var addr = loopback(port: port)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { systemConnect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            return -1
        }
        noSigPipe(fd)
        return fd
    }

    /// A write to a closed peer must fail, not kill the process with SIGPIPE.
    static func noSigPipe(_ fd: Int32) {
        #if canImport(Darwin)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &yes, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, sendFlags) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    static func shutdown(_ fd: Int32, _ how: Int32 = Int32(SHUT_RDWR)) {
        _ = systemShutdown(fd, how)
    }
}

/// The proxy could not start.
public struct ProxyError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
