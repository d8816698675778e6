import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import YuqingCore
import YuqingSecurity
import YuqingWire

/// Why talking to the hub failed, said so a person knows what to do: in English (``message``)
/// and in Simplified Chinese (``chinese``).
public struct SyncError: BilingualError, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// No connection: the node keeps working offline.
        case hubUnreachable
        /// The hub answered with an error.
        case hubRejected
        /// The hub's answer could not be read (another program on that port, or another version).
        case badResponse
        case invalidURL
        /// The URL leads to another hub than the one this node syncs with.
        case wrongHub
        /// The hub holds changes from this replica that it does not: a restored backup or a copy.
        case replicaBehindHub
        /// The hub holds a different change under one of this replica's dots.
        case dotCollision
        /// The hub does not know this device, or revoked it, or refused its credential.
        case notEnrolled
        /// The hub sent changes that their devices' seals do not cover.
        case tampered
        /// An https hub did not present the certificate this node pinned (or none was pinned).
        case tlsUntrusted
        /// The hub revoked this device; the node removed what it held.
        case revoked
    }

    public var code: Code
    public var message: String
    /// The same message in Simplified Chinese.
    public var chinese: String
    /// The hub's problem body, when it sent one.
    public var problem: Problem?

    public init(_ code: Code, _ message: String, zh chinese: String, problem: Problem? = nil) {
        self.code = code
        self.message = message
        self.chinese = chinese
        self.problem = problem
    }

    public var description: String { message }

    /// What `error` says in Simplified Chinese when it says it in both languages, else its text.
    static func chineseText(of error: any Error) -> String {
        (error as? any BilingualError)?.chinese ?? "\(error)"
    }
}

/// The HTTP side of the protocol: over URLSession (libcurl on Linux) to a plain-HTTP hub on
/// loopback, over ``PinnedHTTPS`` to an https hub, trusting only the certificate pinned at enrolment.
public struct HubClient: Sendable {
    /// Who signs the requests (`Protocol/security.md` §2): a device, or the operator.
    public struct Credential: Sendable {
        public var signer: String
        public var key: SigningKey
        /// The time to sign with (ms since 1970): the device clock corrected by what the hub said.
        public var clock: @Sendable () -> Int64

        public init(signer: String, key: SigningKey, clock: @escaping @Sendable () -> Int64) {
            self.signer = signer
            self.key = key
            self.clock = clock
        }
    }

    public let baseURL: URL
    /// Signs every request when set.
    public var credential: Credential?
    let session: URLSession
    /// Seconds before a request to an unresponsive hub is given up.
    public let timeout: TimeInterval
    /// The transport of an https hub.
    let https: PinnedHTTPS?

    /// - Parameters:
    ///   - timeout: seconds before a request to an unresponsive hub is given up.
    ///   - pinnedCertificates: for an https hub, the PEM certificates (the hub's own, or its CA)
    ///     that alone are trusted; an https hub without them is refused.
    public init(hubURL: String, timeout: TimeInterval = 30, credential: Credential? = nil, pinnedCertificates: String? = nil) throws {
        baseURL = try Self.url(hubURL)
        self.credential = credential
        self.timeout = timeout
        session = Self.session(timeout: timeout)
        if baseURL.scheme == "https" {
            guard let pem = pinnedCertificates, !pem.isEmpty else {
                throw SyncError(.tlsUntrusted, "\(hubURL) is an https hub and no certificate of it was given to trust: a node learns it at enrolment from the code file of `yuqing hub enrol --out` (or `node enrol --hub-cert FILE`); the operator's commands take --hub-cert FILE or $YUQING_HUB_CERT",
                                zh: "\(hubURL) 是 https 中心，但未提供可信任的该中心证书：节点在注册时从 `yuqing hub enrol --out` 生成的注册码文件中获取证书（或用 `node enrol --hub-cert FILE` 指定）；运维人员命令可使用 `--hub-cert FILE` 或 `$YUQING_HUB_CERT`")
            }
            https = try PinnedHTTPS(pem: pem)
        } else {
            https = nil
        }
    }

    static func session(timeout: TimeInterval) -> URLSession {
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.timeoutIntervalForResource = timeout * 4
        // The protocol's answers are never cached and set no cookies. Without a cache and a
        // cookie store, a session makes no cache of its own and a request looks nothing up in
        // one: measured, a tenth of a node's work in a sync went to them.
        config.urlCache = nil
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.httpCookieStorage = nil
        config.httpShouldSetCookies = false
        return URLSession(configuration: config)
    }

    /// Whether `host` names this machine only (where plain HTTP is allowed).
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Parses a hub URL (http or https, with a host), or says what one looks like.
    public static func url(_ hubURL: String) throws -> URL {
        guard let url = URL(string: hubURL), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw SyncError(.invalidURL, "'\(hubURL)' is not a hub URL; give one like http://127.0.0.1:8080",
                            zh: "“\(hubURL)”不是中心 URL；请提供形如 `http://127.0.0.1:8080` 的地址")
        }
        return url
    }

    /// - Parameter replica: when given, the version vector holds only this replica's entry
    ///   (`Protocol/sync.md` §5.1).
    public func status(replica: ReplicaID? = nil) async throws -> HubStatus {
        try await send("GET", "v1/status", query: replica.map { [("replica", $0.rawValue)] } ?? [])
    }

    /// Pushes in the compact binary form (`Protocol/sync.md` §3.3).
    ///
    /// Each push goes on a connection of its own. On Linux, a request body sent on a reused
    /// keep-alive connection that turns out to be dead cannot be rewound for libcurl's retry, and
    /// the push then hangs until it times out; on a fresh connection it fails at once ("empty
    /// reply") and is simply sent again later. (Asking the hub to close after each push is not
    /// enough: libcurl may reuse the connection while the hub is closing it.) Over plain HTTP the
    /// push is one request on a socket of its own (``PlainHTTP``), not a URLSession made for it;
    /// over HTTPS, AsyncHTTPClient retries a dead pooled connection itself.
    ///
    /// - Parameter revision: the batch revision the hub reads (``HubStatus/binaryRevision``).
    public func push(_ request: PushRequest, revision: Int = 1) async throws -> PushResponse {
        try await send("POST", "v1/push", body: Data(request.binary(revision: revision)), contentType: WireMedia.binary, accept: WireMedia.json,
                       ownSocket: true) { try WireJSON.decode(PushResponse.self, from: $0) }
    }

    /// Pulls in the compact binary form.
    ///
    /// - Parameter revision: the batch revision to ask for; above 1 only when the hub announced it.
    public func pull(after: Int64, limit: Int, replica: ReplicaID, revision: Int = 1) async throws -> PullResponse {
        var query = [("after", String(after)), ("limit", String(limit)), ("replica", replica.rawValue)]
        if revision > 1 { query.append(("binary", String(revision))) }
        return try await send("GET", "v1/pull", query: query, accept: WireMedia.binary) { try PullResponse(binary: $0) }
    }

    /// Waits at the hub until its log head passes `after`, or `timeout` seconds ran out
    /// (`Protocol/sync.md` §5.7; the hub grants at most 60). The request is given a minute and a
    /// margin before it counts as unanswered. Cancelling the calling task abandons the wait.
    public func wait(after: Int64, timeout: TimeInterval = 25) async throws -> WaitResponse {
        let seconds = min(max(0, timeout), Self.maxLongPoll)
        let query = [("after", String(after)), ("timeout", String(format: "%.3f", seconds))]
        // Over plain HTTP a blocked read rather than URLSession, which keeps a core busy while it
        // waits; over HTTPS, NIO waits without a busy core.
        return try await send("GET", "v1/wait", query: query, accept: WireMedia.json, timeout: seconds + Self.longPollMargin, ownSocket: true) {
            try WireJSON.decode(WaitResponse.self, from: $0)
        }
    }

    /// The longest wait a hub grants.
    static let maxLongPoll: TimeInterval = 60
    /// Seconds a long poll may run past its wait before it counts as unanswered.
    static let longPollMargin: TimeInterval = 15

    public func conflicts() async throws -> [ConflictMessage] { try await send("GET", "v1/conflicts") }

    /// The pushed changes that wait at the hub, by the replica that pushed them.
    public func waiting() async throws -> [WaitingEntry] { try await send("GET", "v1/waiting") }

    /// The hub's state digest.
    public func digest() async throws -> DigestResponse { try await send("GET", "v1/digest") }

    /// How much of an evidence blob the hub holds.
    public func blobStatus(_ sha256: String) async throws -> BlobStatus { try await send("GET", "v1/blobs/\(sha256)/status") }

    /// Sends bytes of an evidence blob of `total` bytes, starting at `offset` (what the hub holds).
    public func putBlob(_ sha256: String, total: Int64, offset: Int64, _ bytes: Data) async throws -> BlobStatus {
        try await send("PUT", "v1/blobs/\(sha256)", query: [("offset", String(offset)), ("total", String(total))], body: bytes,
                       contentType: "application/octet-stream", accept: WireMedia.json) { try WireJSON.decode(BlobStatus.self, from: $0) }
    }

    /// Up to `length` bytes of an evidence blob from `offset`.
    public func getBlob(_ sha256: String, offset: Int64, length: Int) async throws -> Data {
        try await send("GET", "v1/blobs/\(sha256)", query: [("offset", String(offset)), ("length", String(length))],
                       accept: "application/octet-stream") { $0 }
    }

    /// The hub's newest snapshot (`Protocol/sync.md` §5.11); a ``SyncError`` whose problem code
    /// is `no_snapshot` when it offers none to this device.
    public func snapshot() async throws -> SnapshotOffer { try await send("GET", "v1/snapshot") }

    /// Bytes of the snapshot at `position`, from `offset`. Over plain HTTP each piece is read
    /// with a socket of its own straight into one buffer (``PlainHTTP``): through URLSession,
    /// libcurl's small pieces and their copies were about half of a new node's download.
    public func snapshotData(position: Int64, offset: Int64, length: Int) async throws -> Data {
        let query = [("position", String(position)), ("offset", String(offset)), ("length", String(length))]
        return try await send("GET", "v1/snapshot/data", query: query, accept: "application/octet-stream", ownSocket: true,
                              maxBytes: length + (64 << 10)) { $0 }
    }

    public func conflict(_ id: String) async throws -> ConflictMessage { try await send("GET", "v1/conflicts/\(escape(id))") }

    public func resolve(_ id: String, _ request: ResolveRequest) async throws -> ResolveResponse {
        try await send("POST", "v1/conflicts/\(escape(id))/resolve", body: try WireJSON.encode(request))
    }

    /// Says why a request got no answer, in words: the URL loading system's codes mean nothing
    /// to the person at the node.
    static func unreachable(_ error: any Error, baseURL: URL, timeout: TimeInterval) -> SyncError {
        let hub = baseURL.absoluteString
        let why: String, whyZh: String
        let plain = error as? PlainHTTP.Failure
        switch (error as? URLError)?.code ?? plain?.kind.urlCode {
        case .timedOut?:
            why = "the hub at \(hub) did not answer within \(Int(timeout)) seconds (it may be overloaded or stopped)"
            whyZh = "位于 \(hub) 的中心在 \(Int(timeout)) 秒内没有应答（可能负载过高或已停止）"
        case .cannotConnectToHost?:
            why = "the hub at \(hub) refused the connection (is it running?)"
            whyZh = "位于 \(hub) 的中心拒绝了连接（中心是否在运行？）"
        case .cannotFindHost?, .dnsLookupFailed?:
            why = "the hub's host in \(hub) could not be found"
            whyZh = "找不到 \(hub) 中的中心主机"
        case .networkConnectionLost?:
            why = "the connection to the hub at \(hub) was lost"
            whyZh = "与位于 \(hub) 的中心的连接已断开"
        case .notConnectedToInternet?:
            why = "this device has no network connection"
            whyZh = "本设备没有网络连接"
        case _ where plain != nil:
            why = "the hub at \(hub) is unreachable (\(error))"
            whyZh = "无法连接位于 \(hub) 的中心（\(SyncError.chineseText(of: error))）"
        default:
            why = "the hub at \(hub) is unreachable (\(error.localizedDescription))"
            whyZh = "无法连接位于 \(hub) 的中心（\(error.localizedDescription)）"
        }
        return SyncError(.hubUnreachable, why, zh: whyZh)
    }

    /// Presents this node's enrolment code with its public key (`POST /v1/enrol`, unsigned: the
    /// code is the credential).
    public func enrol(_ request: EnrolRequest) async throws -> EnrolResponse {
        try await send("POST", "v1/enrol", body: try WireJSON.encode(request))
    }

    /// The headers that sign a request to `url` with `body`, when there is a credential.
    func signature(_ method: String, _ url: URL, body: Data) -> [(String, String)] {
        guard let credential else { return [] }
        let c = URLComponents(url: url, resolvingAgainstBaseURL: false)
        let target = (c?.percentEncodedPath ?? url.path) + (c?.percentEncodedQuery.map { "?" + $0 } ?? "")
        return RequestSigning.headers(method: method, target: target, body: body, signer: credential.signer,
                                      key: credential.key, timeMillis: credential.clock())
    }

    private func escape(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }

    private func send<T: Decodable>(_ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil,
                                    contentType: String = WireMedia.json) async throws -> T {
        try await send(method, path, query: query, body: body, contentType: contentType, accept: WireMedia.json) {
            try WireJSON.decode(T.self, from: $0)
        }
    }

    /// - Parameters:
    ///   - ownSocket: over plain HTTP, the request goes on a socket of its own (``plain``) rather
    ///     than through URLSession: pushes, long polls and snapshot pieces.
    ///   - maxBytes: the largest answer read on a socket of its own.
    private func send<T>(_ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil,
                         contentType: String = WireMedia.json, accept: String,
                         timeout: TimeInterval? = nil, ownSocket: Bool = false, maxBytes: Int = 1 << 20,
                         decode: (Data) throws -> T) async throws -> T {
        if let https { return try await sendTLS(https, method, path, query: query, body: body, contentType: contentType, accept: accept, timeout: timeout, decode: decode) }
        if ownSocket {
            return try await plain(method, path, query: query, body: body, contentType: contentType, accept: accept,
                                   readTimeout: timeout ?? self.timeout, maxBytes: maxBytes, decode: decode)
        }
        var request = URLRequest(url: url(path, query))
        request.httpMethod = method
        request.setValue(accept, forHTTPHeaderField: "Accept")
        if let body {
            request.httpBody = body
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        return try await resigningOnReplay(method, path, decode: decode) {
            for (name, value) in signature(method, request.url!, body: body ?? Data()) { request.setValue(value, forHTTPHeaderField: name) }
            let data: Data, response: URLResponse
            do {
                // Never cancelled (``untilCancelled(_:)`` says why): a cancelled caller stops
                // waiting at once, and the request ends by itself.
                let session = self.session, sent = request
                (data, response) = try await untilCancelled { try await session.data(for: sent) }
            } catch {
                if Task.isCancelled { throw CancellationError() }
                throw Self.unreachable(error, baseURL: baseURL, timeout: self.timeout)
            }
            guard let http = response as? HTTPURLResponse else {
                throw SyncError(.badResponse, "the hub at \(baseURL.absoluteString) sent no HTTP response",
                                zh: "位于 \(baseURL.absoluteString) 的中心没有返回 HTTP 应答")
            }
            return (http.statusCode, data)
        }
    }

    /// Runs `exchange` (which signs its request anew each time) and reads the answer. A request
    /// the network delivered twice may reach the hub second and be refused as a replay; signed
    /// anew (a fresh nonce), it is sent once more. The one place every transport does this.
    private func resigningOnReplay<T>(_ method: String, _ path: String, decode: (Data) throws -> T,
                                      _ exchange: () async throws -> (status: Int, data: Data)) async throws -> T {
        let first = try await exchange()
        do {
            return try answer(status: first.status, data: first.data, method: method, path: path, decode: decode)
        } catch let error as SyncError where error.problem?.code == "replayed" && credential != nil {
            let again = try await exchange()
            return try answer(status: again.status, data: again.data, method: method, path: path, decode: decode)
        }
    }

    /// One request over plain HTTP on a socket of its own (``PlainHTTP``), signed.
    private func plain<T>(_ method: String, _ path: String, query: [(String, String)], body: Data?,
                          contentType: String, accept: String, readTimeout: TimeInterval, maxBytes: Int,
                          decode: (Data) throws -> T) async throws -> T {
        let target = url(path, query)
        return try await resigningOnReplay(method, path, decode: decode) {
            let request = PlainHTTP(url: target, method: method, body: body, contentType: contentType, connectTimeout: 10, readTimeout: readTimeout,
                                    headers: signature(method, target, body: body ?? Data()), accept: accept, maxBytes: maxBytes)
            do {
                return try await request.run()
            } catch let failure as PlainHTTP.Failure where failure.kind == .malformed {
                throw SyncError(.badResponse, "the hub at \(baseURL.absoluteString) sent an answer to \(method) /\(path) this node cannot read (\(failure.description)); is this a Yuqing hub?",
                                zh: "位于 \(baseURL.absoluteString) 的服务器对 \(method) /\(path) 的应答无法读取（\(failure.chinese)）；它是 Yuqing 中心吗？")
            } catch {
                if Task.isCancelled || error is CancellationError { throw CancellationError() }
                throw Self.unreachable(error, baseURL: baseURL, timeout: readTimeout)
            }
        }
    }

    /// `send` over HTTPS, signed the same way.
    private func sendTLS<T>(_ https: PinnedHTTPS, _ method: String, _ path: String, query: [(String, String)], body: Data?,
                            contentType: String, accept: String, timeout: TimeInterval?, decode: (Data) throws -> T) async throws -> T {
        let target = url(path, query)
        var headers = [("Accept", accept)]
        if body != nil { headers.append(("Content-Type", contentType)) }
        return try await resigningOnReplay(method, path, decode: decode) {
            do {
                return try await https.send(method, target, headers: headers + signature(method, target, body: body ?? Data()),
                                            body: body, timeout: timeout ?? self.timeout)
            } catch {
                if Task.isCancelled || error is CancellationError { throw CancellationError() }
                throw PinnedHTTPS.unreachable(error, baseURL: baseURL, timeout: timeout ?? self.timeout)
            }
        }
    }

    private func url(_ path: String, _ query: [(String, String)]) -> URL {
        var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        return components.url!
    }

    /// Reads the hub's answer: the decoded body, or the hub's refusal, or what was wrong with it.
    private func answer<T>(status: Int, data: Data, method: String, path: String, decode: (Data) throws -> T) throws -> T {
        guard (200..<300).contains(status) else {
            if let problem = try? WireJSON.decode(Problem.self, from: data) {
                if status == 401 || problem.code == "revoked_device" {
                    throw SyncError(.notEnrolled, problem.message, zh: problem.messageZh ?? problem.message, problem: problem)
                }
                throw SyncError(.hubRejected, "the hub refused: \(problem.message)", zh: "中心拒绝了请求：\(problem.messageZh ?? problem.message)", problem: problem)
            }
            throw SyncError(.badResponse, "the hub at \(baseURL.absoluteString) answered HTTP \(status); is this a Yuqing hub?",
                            zh: "位于 \(baseURL.absoluteString) 的服务器返回了 HTTP \(status)；它是 Yuqing 中心吗？")
        }
        do {
            return try decode(data)
        } catch {
            throw SyncError(.badResponse, "could not read the hub's answer to \(method) /\(path) (\(error)); is this a Yuqing hub of protocol version \(protocolVersion)?",
                            zh: "无法读取中心对 \(method) /\(path) 的应答（\(SyncError.chineseText(of: error))）；它是协议版本 \(protocolVersion) 的 Yuqing 中心吗？")
        }
    }
}

extension PlainHTTP.Failure.Kind {
    /// The URL loading system's code of the same failure, so that ``HubClient`` words both alike.
    var urlCode: URLError.Code? {
        switch self {
        case .refused: .cannotConnectToHost
        case .timedOut: .timedOut
        case .lost: .networkConnectionLost
        case .malformed, .other: nil
        }
    }
}
