import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import YuqingCore
import YuqingWire

/// Why talking to the hub failed, said so a person knows what to do.
public struct SyncError: Error, CustomStringConvertible, Sendable {
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
    }

    public var code: Code
    public var message: String
    /// The hub's problem body, when it sent one.
    public var problem: Problem?

    public init(_ code: Code, _ message: String, problem: Problem? = nil) {
        self.code = code
        self.message = message
        self.problem = problem
    }

    public var description: String { message }
}

/// The HTTP side of the protocol, over URLSession (libcurl on Linux).
public struct HubClient: Sendable {
    public let baseURL: URL
    let session: URLSession
    /// Seconds before a request to an unresponsive hub is given up.
    public let timeout: TimeInterval
    /// The session of long polls, made at the first one: its requests may stay quiet for minutes.
    let longPolls = LongPollSession()

    /// - Parameter timeout: seconds before a request to an unresponsive hub is given up.
    public init(hubURL: String, timeout: TimeInterval = 30) throws {
        baseURL = try Self.url(hubURL)
        self.timeout = timeout
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.timeoutIntervalForResource = timeout * 4
        session = URLSession(configuration: config)
    }

    /// Parses a hub URL (http or https, with a host), or says what one looks like.
    public static func url(_ hubURL: String) throws -> URL {
        guard let url = URL(string: hubURL), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw SyncError(.invalidURL, "'\(hubURL)' is not a hub URL; give one like http://127.0.0.1:8080")
        }
        return url
    }

    public func status() async throws -> HubStatus { try await send("GET", "v1/status") }

    /// Pushes in the compact binary form (`Protocol/sync.md` §3.3).
    public func push(_ request: PushRequest) async throws -> PushResponse {
        try try await send("POST", "v1/push", body: Data(request.binary()), contentType: WireMedia.binary)
    }

    /// Pulls in the compact binary form.
    public func pull(after: Int64, limit: Int, replica: ReplicaID) async throws -> PullResponse {
        let query = [("after", String(after)), ("limit", String(limit)), ("replica", replica.rawValue)]
        return try await send("GET", "v1/pull", query: query, accept: WireMedia.binary) { try PullResponse(binary: $0) }
    }

    /// Waits at the hub until its log head passes `after`, or `timeout` seconds ran out
    /// (`Protocol/sync.md` §5.7). The request is given `timeout` plus a margin before it counts as
    /// unanswered. Cancelling the calling task abandons the wait.
    public func wait(after: Int64, timeout: TimeInterval = 25) async throws -> WaitResponse {
        let query = [("after", String(after)), ("timeout", String(format: "%.3f", max(0, timeout)))]
        return try await send("GET", "v1/wait", query: query, session: longPolls.session(answerWithin: max(0, timeout) + Self.longPollMargin),
                              accept: WireMedia.json) { try WireJSON.decode(WaitResponse.self, from: $0) }
    }

    /// Seconds a long poll may run past the wait it asked for before it counts as unanswered.
    static let longPollMargin: TimeInterval = 15

    public func conflicts() async throws -> [ConflictMessage] { try await send("GET", "v1/conflicts") }

    /// The pushed changes that wait at the hub, by the replica that pushed them.
    public func waiting() async throws -> [WaitingEntry] { try await send("GET", "v1/waiting") }

    /// The hub's state digest.
    public func digest() async throws -> DigestResponse { try await send("GET", "v1/digest") }

    public func conflict(_ id: String) async throws -> ConflictMessage { try await send("GET", "v1/conflicts/\(escape(id))") }

    public func resolve(_ id: String, _ request: ResolveRequest) async throws -> ResolveResponse {
        try await send("POST", "v1/conflicts/\(escape(id))/resolve", body: try WireJSON.encode(request))
    }

    /// Says why a request got no answer, in words: the URL loading system's codes mean nothing
    /// to the person at the node.
    static func unreachable(_ error: any Error, baseURL: URL, timeout: TimeInterval) -> SyncError {
        let hub = baseURL.absoluteString
        let why: String
        switch (error as? URLError)?.code {
        case .timedOut?: why = "the hub at \(hub) did not answer within \(Int(timeout)) seconds (it may be overloaded or stopped)"
        case .cannotConnectToHost?: why = "the hub at \(hub) refused the connection (is it running?)"
        case .cannotFindHost?, .dnsLookupFailed?: why = "the hub's host in \(hub) could not be found"
        case .networkConnectionLost?: why = "the connection to the hub at \(hub) was lost"
        case .notConnectedToInternet?: why = "this device has no network connection"
        default: why = "the hub at \(hub) is unreachable (\(error.localizedDescription))"
        }
        return SyncError(.hubUnreachable, why)
    }

    private func escape(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }

    private func send<T: Decodable>(_ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil,
                                    contentType: String = WireMedia.json) async throws -> T {
        try await send(method, path, query: query, body: body, contentType: contentType, accept: WireMedia.json) {
            try WireJSON.decode(T.self, from: $0)
        }
    }

    private func send<T>(_ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil,
                         contentType: String = WireMedia.json, session: URLSession? = nil, accept: String,
                         decode: (Data) throws -> T) async throws -> T {
        var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        var request = URLRequest(url: components.url!)
        request.httpMethod = method
        request.setValue(accept, forHTTPHeaderField: "Accept")
        if let body {
            request.httpBody = body
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let data: Data, response: URLResponse
        do {
            (data, response) = try await (session ?? self.session).data(for: request)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw Self.unreachable(error, baseURL: baseURL, timeout: timeout)
        }
        guard let http = response as? HTTPURLResponse else {
            throw SyncError(.badResponse, "the hub at \(baseURL.absoluteString) sent no HTTP response")
        }
        guard (200..<300).contains(http.statusCode) else {
            if let problem = try? WireJSON.decode(Problem.self, from: data) {
                throw SyncError(.hubRejected, "the hub refused: \(problem.message)", problem: problem)
            }
            throw SyncError(.badResponse, "the hub at \(baseURL.absoluteString) answered HTTP \(http.statusCode); is this a Yuqing hub?")
        }
        do {
            return try decode(data)
        } catch {
            throw SyncError(.badResponse, "could not read the hub's answer to \(method) /\(path) (\(error)); is this a Yuqing hub of protocol version \(protocolVersion)?")
        }
    }
}

/// The URLSession of a client's long polls, made when first needed (most clients never poll), with
/// a request timeout longer than any wait asked of the hub.
final class LongPollSession: @unchecked Sendable {
    private let lock = NSLock()
    private var made: (session: URLSession, timeout: TimeInterval)?

    /// A session whose requests may wait `seconds` for an answer.
    func session(answerWithin seconds: TimeInterval) -> URLSession {
        lock.withLock {
            if let made, made.timeout >= seconds { return made.session }
            made?.session.finishTasksAndInvalidate()
            let config = URLSessionConfiguration.ephemeral
            let timeout = max(seconds, 60 + HubClient.longPollMargin)
            config.timeoutIntervalForRequest = timeout
            config.timeoutIntervalForResource = timeout * 2
            let session = URLSession(configuration: config)
            made = (session, timeout)
            return session
        }
    }

    deinit { made?.session.finishTasksAndInvalidate() }
}
