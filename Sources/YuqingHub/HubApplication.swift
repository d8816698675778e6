import Foundation
import Hummingbird
import Logging
import YuqingCore
import YuqingReplica
import YuqingWire

/// How the hub is run.
public struct HubConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The most entries one pull answers with.
    public var maxPullLimit: Int
    /// The largest request body accepted.
    public var maxBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int, maxPullLimit: Int = 10_000, maxBodyBytes: Int = 64 << 20) {
        self.host = host
        self.port = port
        self.maxPullLimit = maxPullLimit
        self.maxBodyBytes = maxBodyBytes
    }
}

/// Builds the hub's HTTP application over `storage`. Tests call this directly; the CLI runs it.
public func buildHubApplication(
    configuration: HubConfiguration, storage: some HubStorage, logger: Logger = Logger(label: "yuqing.hub"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router()
    router.middlewares.add(ErrorMiddleware())
    let api = HubAPI(storage: storage, configuration: configuration, logger: logger)
    api.register(on: router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "yuqing-hub"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}

/// Turns every error into a JSON problem response.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            throw HubError(error.status, error.status == .notFound ? "not_found" : "bad_request", error.body ?? "\(error.status)")
        } catch {
            let e = HubError.from(error)
            if e.status.code >= 500 { context.logger.error("request failed", metadata: ["hub.error": "\(error)"]) }
            throw e
        }
    }
}

/// The hub's endpoints (see `Protocol/sync.md`).
struct HubAPI<Storage: HubStorage>: Sendable {
    let storage: Storage
    let configuration: HubConfiguration
    let logger: Logger
    /// Wakes long polls (`/v1/wait`) when the log changes.
    let watch = LogWatch()

    static var now: UInt64 { Replica.systemClock() }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/status") { _, _ in try await status() }
        router.post("/v1/push") { request, _ in try await push(request) }
        router.get("/v1/pull") { request, _ in try await pull(request) }
        registerWait(on: router)
        router.get("/v1/conflicts") { _, _ in
            try json(try await storage.conflicts().map(ConflictMessage.init))
        }
        router.get("/v1/conflicts/{id}") { _, context in
            let id = try context.parameters.require("id")
            guard let c = try await storage.conflicts().first(where: { $0.id == id }) else {
                throw HubError(.notFound, "not_found", "no open conflict \(id): it was resolved already, or a new concurrent value changed it; run `yuqing conflicts list`")
            }
            return try json(ConflictMessage(c))
        }
        router.post("/v1/conflicts/{id}/resolve") { request, context in
            let id = try context.parameters.require("id")
            let body = try await decode(ResolveRequest.self, request)
            let (change, pos) = try await storage.resolve(conflictID: id, value: body.value, resolvedBy: body.resolvedBy ?? "operator")
            await watch.notify()
            logger.info("conflict resolved", metadata: ["hub.conflict": "\(id)", "hub.dot": "\(change.dot)"])
            return try json(ResolveResponse(conflict: id, change: change, pos: pos))
        }
    }

    func status() async throws -> Response {
        try json(HubStatus(hub: storage.hubID, protocolVersion: protocolVersion, head: try await storage.head(),
                           versionVector: try await storage.versionVector(),
                           openConflicts: try await storage.openConflictCount(), hubTime: Self.now))
    }

    func push(_ request: Request) async throws -> Response {
        let body: PushRequest
        if request.headers[.contentType]?.hasPrefix(WireMedia.binary) == true {
            let bytes = try await collect(request)
            do { body = try bytes.withUnsafeReadableBytes { try PushRequest(binary: $0, maxPayloadBytes: configuration.maxBodyBytes) } } catch {
                throw HubError.badRequest("the request body is not a valid binary push: \(error)")
            }
        } else {
            body = try await decode(PushRequest.self, request)
        }
        guard WireValidation.isValidReplicaID(body.replica) else {
            throw HubError.badRequest("replica id '\(body.replica)' must be 1-64 letters, digits, '-' or '_'")
        }
        for change in body.changes {
            if let problem = WireValidation.problem(with: change) { throw HubError.badRequest(problem) }
        }
        let result = try await storage.ingest(body.changes)
        await watch.notify()
        logger.debug("push", metadata: ["sync.node": "\(body.replica)", "sync.accepted": "\(result.applied)",
                                        "sync.duplicates": "\(result.duplicates)"])
        return try json(PushResponse(hub: storage.hubID, accepted: result.applied, duplicates: result.duplicates,
                                     head: try await storage.head(), hubTime: Self.now))
    }

    func pull(_ request: Request) async throws -> Response {
        let q = request.uri.queryParameters
        let after = try q.get("after").map { s -> Int64 in
            guard let n = Int64(s), n >= 0 else { throw HubError.badRequest("'after' must be a log position (an integer >= 0)") }
            return n
        } ?? 0
        let limit = try q.get("limit").map { s -> Int in
            guard let n = Int(s), n > 0 else { throw HubError.badRequest("'limit' must be a positive integer") }
            return min(n, configuration.maxPullLimit)
        } ?? 1000
        let replica = q.get("replica").map { ReplicaID(String($0)) }
        // Ask for one more than the limit to know whether more follow.
        var (rows, head) = try await storage.changes(after: after, limit: limit + 1, excluding: replica)
        let more = rows.count > limit
        if more { rows.removeLast() }
        // With nothing left for this reader, it may skip straight to the head.
        let next = more ? (rows.last?.seq ?? after) : max(after, head)
        let answer = PullResponse(hub: storage.hubID, entries: rows.map { LogEntry(pos: $0.seq, change: $0.change) },
                                  next: next, more: more, head: head, hubTime: Self.now)
        if request.headers[.accept]?.contains(WireMedia.binary) == true {
            return Response(status: .ok, headers: [.contentType: WireMedia.binary],
                            body: .init(byteBuffer: ByteBuffer(bytes: answer.binary())))
        }
        return try json(answer)
    }

    func collect(_ request: Request) async throws -> ByteBuffer {
        do { return try await request.body.collect(upTo: configuration.maxBodyBytes) } catch {
            throw HubError(.contentTooLarge, "too_large", "request body over \(configuration.maxBodyBytes) bytes; send smaller batches")
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let buffer = try await collect(request)
        do { return try WireJSON.decode(type, from: Data(buffer: buffer)) } catch {
            throw HubError.badRequest("the request body is not a valid \(type) message: \(error)")
        }
    }

    func json(_ value: some Encodable) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try WireJSON.encode(value))))
    }
}
