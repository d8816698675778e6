import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import Logging
import YuqingCases
import YuqingCore
import YuqingReplica
import YuqingSecurity
import YuqingWire

/// How the hub is run. The defaults are the limits `Protocol/sync.md` §5 documents.
public struct HubConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The most entries one pull answers with.
    public var maxPullLimit: Int
    /// About the most bytes of changes one pull answers with (at least one change is sent).
    public var maxPullBytes: Int
    /// The largest request body accepted, and the most a binary push may inflate to.
    public var maxBodyBytes: Int
    /// The most changes one push may carry: bounds how long a push holds the hub's writer.
    public var maxPushChanges: Int
    /// A connection with no complete request head, or no request, for this long is closed.
    public var idleTimeout: Duration
    /// A request body not received in full within this time is refused and its connection closed.
    public var bodyTimeout: Duration
    /// Whether every pushed change must keep the workflow's rules (``YuqingCases/CaseRules``):
    /// on for a hub of cases; off only for tests of the replication engine alone.
    public var enforceCaseRules: Bool
    /// Where evidence bytes are kept (beside the hub's database); nil: the hub keeps none.
    public var blobs: BlobStore?
    /// The largest evidence file the hub keeps.
    public var maxEvidenceBytes: Int64
    /// Where records name their evidence (record kind, field keyed by digest): when set, the hub
    /// takes an upload only for a digest some record names, so nobody fills its disk with files
    /// no case refers to.
    public var evidenceField: (kind: String, field: String)?
    /// Who may do what (`Protocol/security.md`); nil: anyone who reaches the hub may do
    /// anything (tests of the replication engine only).
    public var security: HubSecurity?
    /// HTTPS with this certificate and key; nil: plain HTTP (loopback only, said at start-up).
    public var tls: HubTLS?
    /// Told of every request an enrolled device signs (the console shows which units' nodes have
    /// not synced for a while).
    public var onDeviceSeen: (@Sendable (Device) async -> Void)?
    /// The snapshots new nodes of the office start from (`Protocol/sync.md` §5.11); nil: none
    /// (every node replays the log).
    public var snapshots: HubSnapshots?

    public init(host: String = "127.0.0.1", port: Int, maxPullLimit: Int = 10_000, maxPullBytes: Int = 4 << 20,
                maxBodyBytes: Int = 16 << 20, maxPushChanges: Int = 10_000, idleTimeout: Duration = .seconds(30),
                bodyTimeout: Duration = .seconds(60), enforceCaseRules: Bool = true, blobs: BlobStore? = nil,
                maxEvidenceBytes: Int64 = 64 << 20, evidenceField: (kind: String, field: String)? = nil,
                security: HubSecurity? = nil, tls: HubTLS? = nil) {
        self.security = security
        self.tls = tls
        self.host = host
        self.port = port
        self.maxPullLimit = maxPullLimit
        self.maxPullBytes = maxPullBytes
        self.maxBodyBytes = maxBodyBytes
        self.maxPushChanges = maxPushChanges
        self.idleTimeout = idleTimeout
        self.bodyTimeout = bodyTimeout
        self.enforceCaseRules = enforceCaseRules
        self.blobs = blobs
        self.maxEvidenceBytes = maxEvidenceBytes
        self.evidenceField = evidenceField
    }
}

/// Builds the hub's HTTP application over `storage`. Tests call this directly; the CLI runs it.
public func buildHubApplication(
    configuration: HubConfiguration, storage: some HubStorage, logger: Logger = Logger(label: "yuqing.hub"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    buildHubApplication(configuration: configuration, storage: storage, logger: logger, routes: { _ in }, onServerRunning: onServerRunning)
}

/// The hub's application with more routes beside the sync protocol's (the web console's).
package func buildHubApplication(
    configuration: HubConfiguration, storage: some HubStorage, logger: Logger,
    routes: (Router<HubRequestContext>) -> Void,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router(context: HubRequestContext.self)
    // The protocol's errors are JSON problems; the console's pages catch theirs first.
    router.middlewares.add(ErrorMiddleware())
    let api = HubAPI(storage: storage, configuration: configuration, logger: logger, metrics: HubMetrics(sqlite: storage is SQLiteHubStorage))
    api.register(on: router)
    if let snapshots = configuration.snapshots {
        // The first snapshot once the hub has started (when its log is long enough already).
        Task {
            await snapshots.setSealOwn { try await api.sealOwn() }
            if let head = try? await storage.head() { await snapshots.noteHead(head) }
        }
    }
    routes(router)
    let idle = TimeAmount.nanoseconds(Int64(configuration.idleTimeout.components.seconds) * 1_000_000_000
        + configuration.idleTimeout.components.attoseconds / 1_000_000_000)
    let http1 = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [MalformedRequestHandler()], idleTimeout: idle))
    var server = http1
    if let tls = configuration.tls {
        // `.tls` only wraps the builder (HubTLS made its context once already, which is where a
        // certificate and key that do not match are found); it never serves plain HTTP instead.
        do { server = try .tls(http1, tlsConfiguration: tls.configuration) } catch { preconditionFailure("TLS server builder: \(error)") }
    }
    return Application(
        router: router,
        server: server,
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
            let text = error.body ?? "\(error.status)"
            throw HubError(error.status, error.status == .notFound ? "not_found" : "bad_request", text,
                           zh: error.status == .notFound ? "中心没有所请求的地址或资源（\(text)）" : "请求无效（\(text)）")
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
    /// Nonces of signed requests already served.
    let nonces = NonceBook()
    /// The change hashes of sealed runs that pulls lately needed proofs for.
    let runHashes = RunHashCache()
    /// What `GET /metrics` reports (with SQLite's writes when the hub stores in SQLite).
    let metrics: HubMetrics

    static var now: UInt64 { Replica.systemClock() }

    func register(on router: Router<HubRequestContext>) {
        router.get("/v1/status") { request, context in
            var request = request
            _ = try await authenticate(&request, context)
            return try await status(only: try Self.replicaParameter(request.uri.queryParameters.get("replica")))
        }
        router.post("/v1/enrol") { request, context in try await enrol(request, context) }
        registerOperations(on: router)
        router.post("/v1/push") { request, context in
            let start = ContinuousClock.now
            do {
                var request = request
                let principal = try await authenticate(&request, context)
                let response = try await push(request, context, principal)
                metrics.pushesAccepted.increment()
                metrics.pushSeconds.record(ContinuousClock.now - start)
                return response
            } catch {
                metrics.pushesRefused.increment()
                throw error
            }
        }
        router.get("/v1/pull") { request, context in
            let start = ContinuousClock.now
            var request = request
            let principal = try await authenticate(&request, context)
            let response = try await pull(request, scope: try await visibleUnit(principal))
            metrics.pulls.increment()
            metrics.pullSeconds.record(ContinuousClock.now - start)
            return response
        }
        registerSnapshots(on: router)
        router.get("/v1/waiting") { request, context in
            var request = request
            try requireOperator(try await authenticate(&request, context), "the list of waiting changes", zh: "等待中的变更列表")
            return try json(try await storage.waiting().map { WaitingEntry(replica: $0.key, waiting: $0.value) }.sorted { $0.replica < $1.replica })
        }
        router.get("/v1/digest") { request, context in
            var request = request
            let principal = try await authenticate(&request, context)
            // A unit's node converges with what its unit may see: that is the digest it is given.
            let head = try await storage.head()
            if let unit = try await visibleUnit(principal) {
                return try json(DigestResponse(hub: storage.hubID, digest: try await storage.digest(unit: unit), head: head, scope: unit))
            }
            return try json(DigestResponse(hub: storage.hubID, digest: try await storage.digest(), head: head))
        }
        registerWait(on: router)
        registerBlobs(on: router)
        router.get("/v1/conflicts") { request, context in
            var request = request
            try requireOperator(try await authenticate(&request, context), "the conflict queue", zh: "冲突队列")
            return try json(try await storage.conflicts().map(ConflictMessage.init))
        }
        router.get("/v1/conflicts/{id}") { request, context in
            var request = request
            try requireOperator(try await authenticate(&request, context), "the conflict queue", zh: "冲突队列")
            let id = try context.parameters.require("id")
            guard let c = try await storage.conflicts().first(where: { $0.id == id }) else {
                throw HubError(.notFound, "not_found", "no open conflict \(id): it was resolved already, or a new concurrent value changed it; run `yuqing conflicts list`",
                               zh: "没有未解决的冲突 \(id)：它已被解决，或被新的并发值改变；请运行 `yuqing conflicts list`")
            }
            return try json(ConflictMessage(c))
        }
        router.post("/v1/conflicts/{id}/resolve") { request, context in
            var request = request
            try requireOperator(try await authenticate(&request, context), "resolving a conflict", zh: "解决冲突")
            let id = try context.parameters.require("id")
            let body = try await decode(ResolveRequest.self, request, context)
            let (change, pos) = try await storage.resolve(conflictID: id, value: body.value, resolvedBy: body.resolvedBy ?? "operator")
            metrics.resolutions.increment()
            try await sealOwn()
            await watch.notify()
            logger.info("conflict resolved", metadata: ["hub.conflict": "\(id)", "hub.dot": "\(change.dot)"])
            return try json(ResolveResponse(conflict: id, change: change, pos: pos))
        }
    }

    /// - Parameter only: the replica whose entry alone the version vector holds (a node asks for
    ///   its own at every sync; the whole vector of a county's devices is most of the answer).
    func status(only replica: ReplicaID? = nil) async throws -> Response {
        let figures = try await storage.statusFigures(only: replica)
        return try json(HubStatus(hub: storage.hubID, protocolVersion: protocolVersion, head: figures.head, versionVector: figures.versionVector,
                                  openConflicts: figures.openConflicts, hubTime: Self.now, waiting: figures.waiting,
                                  binaryRevision: BinaryChanges.revision))
    }

    func push(_ request: Request, _ context: HubRequestContext, _ principal: Principal) async throws -> Response {
        let body: PushRequest
        if WireMedia.names(request.headers[.contentType], WireMedia.binary) {
            let bytes = try await collect(request, context)
            do { body = try bytes.withUnsafeReadableBytes { try PushRequest(binary: $0, maxPayloadBytes: configuration.maxBodyBytes) } } catch {
                throw HubError.badRequest("the request body is not a valid binary push: \(error)",
                                          zh: "请求体不是有效的二进制推送：\(HubError.chineseText(of: error))")
            }
        } else {
            body = try await decode(PushRequest.self, request, context)
        }
        guard WireValidation.isValidReplicaID(body.replica) else {
            throw HubError.badRequest("replica id '\(body.replica)' must be 1-64 letters, digits, '-' or '_'",
                                      zh: "副本 id “\(body.replica)”须由 1 至 64 个字母、数字、“-”或“_”组成")
        }
        guard body.changes.count <= configuration.maxPushChanges else {
            throw HubError(.contentTooLarge, "too_large", "a push carries at most \(configuration.maxPushChanges) changes (this one \(body.changes.count)); send smaller batches",
                           zh: "一次推送最多携带 \(configuration.maxPushChanges) 条变更（本次 \(body.changes.count) 条）；请分成更小的批次发送")
        }
        guard body.replica != storage.hubID else {
            throw HubError(.forbidden, "forbidden", "replica id \(body.replica) is the hub's own; only the hub writes under it",
                           zh: "副本 id \(body.replica) 是中心自己的；只有中心能以该 id 写入")
        }
        let now = Self.now
        for change in body.changes {
            if let problem = WireValidation.problem(with: change) { throw HubError.badRequest(problem, zh: "推送中有格式错误的变更：\(problem)") }
            if change.dot.replica == storage.hubID {
                throw HubError(.forbidden, "forbidden", "change \(change.dot) is under the hub's own replica id, which only the hub writes; nothing of this push was stored",
                               zh: "变更 \(change.dot) 使用了中心自己的副本 id，只有中心能以该 id 写入；本次推送的内容均未保存")
            }
            if let problem = WireValidation.timestampProblem(with: change, now: now) {
                let days = (change.hlc.wallMillis - now) / 86_400_000
                throw HubError(.badRequest, "clock_ahead", problem,
                               zh: "变更 \(change.dot) 的时间戳比中心时钟超前 \(days) 天：生成它的设备时钟设置有误。请先校正该设备的时钟，再在该节点上运行 `yuqing node reissue`，以新的时间戳发送其未同步的工作")
            }
        }
        // The workflow's rules (a read of the hub's state, then the steps decoded) run while this
        // task checks the device and its seals, and then while the store merges the push: the
        // push is kept only once they pass (``HubStorage/ingest(_:from:seals:checkedBy:)``). The
        // device and its seals are judged first; a rule is reported only for a push that passes
        // them, and before any refusal of the merge.
        let rules = configuration.enforceCaseRules ? Task { [storage] in try await storage.caseRuleRefusal(body.changes) } : nil
        do { try authorise(body, by: principal) } catch {
            rules?.cancel()
            throw error
        }
        let result: ApplyResult
        do {
            let check = rules.map { rules -> @Sendable () async throws -> Void in { try refuse(body, try await rules.value) } }
            result = try await storage.ingest(body.changes, from: body.replica, seals: body.seals, checkedBy: check)
        } catch let error as ReplicaError where error.code == .dotReused {
            logger.warning("push refused: dot collision", metadata: ["sync.node": "\(body.replica)", "hub.error": "\(error.message)"])
            throw error
        }
        await watch.notify()
        metrics.pushedChanges.increment(by: Int64(result.applied))
        logger.debug("push", metadata: ["sync.node": "\(body.replica)", "sync.accepted": "\(result.applied)",
                                        "sync.duplicates": "\(result.duplicates)"])
        // The node may skip its pull after the push when nothing up to the head is for it (§6.2).
        // A device's grants are checked by its unit, read from its credentials: for an office
        // device, which sees every record, that is stricter than needed, never wrong, and spares
        // each push a read of the device's user (``visibleUnit(_:)``).
        let unit: String? = if case .device(let device) = principal { device.unit } else { nil }
        let (head, quietAfter) = try await storage.headAfterPush(result, unit: unit)
        if let snapshots = configuration.snapshots, result.applied > 0 { await snapshots.noteHead(head) }
        return try json(PushResponse(hub: storage.hubID, accepted: result.applied, duplicates: result.duplicates,
                                     head: head, hubTime: Self.now, quietAfter: quietAfter))
    }

    /// A replica id given in the query (`replica`, nil when absent), or a 400 that says what one is.
    static func replicaParameter(_ text: String?) throws -> ReplicaID? {
        try text.map { s -> ReplicaID in
            let id = ReplicaID(s)
            guard WireValidation.isValidReplicaID(id) else {
                throw HubError.badRequest("'replica' must be a replica id: 1-64 letters, digits, '-' or '_'", zh: "`replica` 须为副本 id：由 1 至 64 个字母、数字、“-”或“_”组成")
            }
            return id
        }
    }

    /// A log position given in the query (0 when absent), or a 400 that says what one is.
    static func logPosition(_ text: String?, name: String) throws -> Int64 {
        try nonNegative(text, name: name, absent: 0, what: "a log position", whatZh: "日志位置")
    }

    /// An integer >= 0 given in the query (`absent` when not given; required when nil), or a 400.
    static func nonNegative(_ text: String?, name: String, absent: Int64? = nil, what: String = "an integer", whatZh: String = "整数") throws -> Int64 {
        guard let text else {
            if let absent { return absent }
            throw HubError.badRequest("'\(name)' is required: \(what) (an integer >= 0)", zh: "缺少 `\(name)`：须为\(whatZh)（大于或等于 0 的整数）")
        }
        guard let n = Int64(text), n >= 0 else {
            throw HubError.badRequest("'\(name)' must be \(what) (an integer >= 0)", zh: "`\(name)` 须为\(whatZh)（大于或等于 0 的整数）")
        }
        return n
    }

    /// The unit whose records `principal` may see (`Protocol/sync.md` §5.3); nil: every record
    /// (a user of the office, a leader, the operator, or a hub that does not authenticate).
    func visibleUnit(_ principal: Principal) async throws -> String? {
        guard case .device(let device) = principal else { return nil }
        let user = try await storage.view(RecordRef(kind: CaseSchema.Kind.user, id: device.user))
        let roles = Organisation(user.map { [$0] } ?? []).users[device.user]?.roles ?? []
        return Role.isOfficeLevel(roles) ? nil : device.unit
    }

    func pull(_ request: Request, scope unit: String?) async throws -> Response {
        let q = request.uri.queryParameters
        let after = try Self.logPosition(q.get("after"), name: "after")
        let limit = try q.get("limit").map { s -> Int in
            guard let n = Int(s), n > 0 else { throw HubError.badRequest("'limit' must be a positive integer", zh: "`limit` 须为正整数") }
            return min(n, configuration.maxPullLimit)
        } ?? 1000
        let replica = try Self.replicaParameter(q.get("replica"))
        // The batch revision the puller reads (§3.3); 1 unless it says more.
        let revision = try q.get("binary").map { s -> Int in
            guard let n = Int(s), n >= 1 else { throw HubError.badRequest("'binary' must be a batch revision (an integer >= 1)", zh: "`binary` 须为批次修订号（大于或等于 1 的整数）") }
            return min(n, BinaryChanges.revision)
        } ?? 1
        try await sealOwn()
        let rows: [(seq: Int64, change: Change)], head: Int64, more: Bool, next: Int64
        var purged: [RecordRef] = [], restored: [RecordRef] = []
        if let unit {
            let page = try await storage.scopedChanges(after: after, unit: unit, limit: limit, maxBytes: configuration.maxPullBytes, excluding: replica)
            (rows, head, more, next, purged, restored) = (page.entries, page.head, page.more, page.next, page.purged, page.restored)
        } else {
            (rows, head, more) = try await storage.changes(after: after, limit: limit, maxBytes: configuration.maxPullBytes, excluding: replica)
            // With nothing left for this reader, it may skip straight to the head.
            next = more ? (rows.last?.seq ?? after) : max(after, head)
        }
        let changes = rows.map(\.change)
        metrics.pulledChanges.increment(by: Int64(changes.count))
        let seals = configuration.security == nil ? [] : try await storage.seals(covering: changes)
        let proofs = try await self.proofs(for: seals, delivered: changes)
        let answer = PullResponse(hub: storage.hubID, entries: rows.map { LogEntry(pos: $0.seq, change: $0.change) },
                                  next: next, more: more, head: head, hubTime: Self.now, seals: seals, proofs: proofs,
                                  purged: purged, restored: restored)
        if WireMedia.prefersBinary(request.headers[.accept]) {
            return Response(status: .ok, headers: [.contentType: WireMedia.binary],
                            body: .init(byteBuffer: ByteBuffer(bytes: answer.binary(revision: revision))))
        }
        return try json(answer)
    }

    /// Reads a whole request body: at most `maxBodyBytes`, within `bodyTimeout`. A body that
    /// trickles in slower is refused and its connection closed, so it cannot hold a connection.
    func collect(_ request: Request, _ context: HubRequestContext) async throws -> ByteBuffer {
        let limit = configuration.maxBodyBytes, timeout = configuration.bodyTimeout
        let body = request.body
        let outcome: ByteBuffer? = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                do { return try await body.collect(upTo: limit) } catch is CancellationError { return nil } catch {
                    throw HubError(.contentTooLarge, "too_large", "request body over \(limit) bytes; send smaller batches",
                                   zh: "请求体超过 \(limit) 字节；请分成更小的批次发送")
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let outcome else {
            context.closeAfterResponse()
            throw HubError(.requestTimeout, "timeout", "the request body did not arrive within \(timeout); send it again",
                           zh: "请求体未在规定时间（\(timeout)）内送达；请重新发送")
        }
        return outcome
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: HubRequestContext) async throws -> T {
        let buffer = try await collect(request, context)
        do { return try WireJSON.decode(type, from: Data(buffer: buffer)) } catch {
            throw HubError.badRequest("the request body is not a valid \(type) message: \(error)",
                                      zh: "请求体不是有效的 \(type) 消息：\(HubError.chineseText(of: error))")
        }
    }

    func json(_ value: some Encodable) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try WireJSON.encode(value))))
    }
}
