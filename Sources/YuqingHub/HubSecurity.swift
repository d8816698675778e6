import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import YuqingCases
import YuqingCore
import YuqingReplica
import YuqingSecurity
import YuqingWire

/// How the hub authenticates (`Protocol/security.md`): its own key, which signs what it writes,
/// and the operator's public keys. A hub without it serves anyone (tests of the engine only).
public struct HubSecurity: Sendable {
    public var hubKey: SigningKey
    public var operatorKeys: [PublicKey]
    /// How far a request's time may be from the hub's clock.
    public var maxSkewMillis: Int64

    public init(hubKey: SigningKey, operatorKeys: [PublicKey], maxSkewMillis: Int64 = RequestSigning.maxSkewMillis) {
        self.hubKey = hubKey
        self.operatorKeys = operatorKeys
        self.maxSkewMillis = maxSkewMillis
    }

    /// The hub's key file beside its database.
    public static func hubKeyPath(forDatabase db: String) -> String { db + ".hub.key" }
    /// The operator's key file beside the hub's database (the CLI's operator commands use it).
    public static func operatorKeyPath(forDatabase db: String) -> String { db + ".operator.key" }

    /// The keys beside the hub's database, made on first use.
    public static func load(forDatabase db: String) throws -> HubSecurity {
        let hub = try SigningKey.loadOrCreate(at: hubKeyPath(forDatabase: db))
        let op = try SigningKey.loadOrCreate(at: operatorKeyPath(forDatabase: db))
        return HubSecurity(hubKey: hub, operatorKeys: [op.publicKey])
    }

    /// The meta key of an enrolment code, by the code's digest.
    public static func enrolmentKey(_ code: String) -> String { "enrol." + OneTimeCode.digest(code) }

    /// What an enrolment code stands for, as the hub stores it.
    public struct Enrolment: Sendable, Hashable {
        public var unit: String
        public var user: String
        public var expiresAt: Int64

        public init(unit: String, user: String, expiresAt: Int64) {
            self.unit = unit
            self.user = user
            self.expiresAt = expiresAt
        }

        public var stored: String { "\(unit)\u{1f}\(user)\u{1f}\(expiresAt)" }

        public init?(stored: String) {
            let p = stored.split(separator: "\u{1f}", omittingEmptySubsequences: false).map(String.init)
            guard p.count == 3, let t = Int64(p[2]) else { return nil }
            self.init(unit: p[0], user: p[1], expiresAt: t)
        }
    }
}

/// Who made a request.
enum Principal: Sendable {
    case device(Device)
    case `operator`
    /// A hub that does not authenticate.
    case anyone

    var isOperator: Bool { if case .operator = self { true } else if case .anyone = self { true } else { false } }
}

/// The change hashes of the sealed runs whose proofs pulls needed lately, so that the units
/// pulling after the same changes (every unit catching up after a day) do not each read and hash
/// whole runs again. Least recently used runs go first past `capacity` hashes (32 bytes each).
actor RunHashCache {
    private var runs: [Seal: (hashes: [[UInt8]], used: UInt64)] = [:]
    private var held = 0, clock: UInt64 = 0
    let capacity: Int

    init(capacity: Int = 1 << 20) { self.capacity = capacity }

    func get(_ seal: Seal) -> [[UInt8]]? {
        guard let entry = runs[seal] else { return nil }
        clock += 1
        runs[seal] = (entry.hashes, clock)
        return entry.hashes
    }

    func put(_ seal: Seal, _ hashes: [[UInt8]]) {
        guard hashes.count <= capacity else { return }
        clock += 1
        if runs.updateValue((hashes, clock), forKey: seal) == nil { held += hashes.count }
        while held > capacity, let oldest = runs.min(by: { $0.value.used < $1.value.used }) {
            runs[oldest.key] = nil
            held -= oldest.value.hashes.count
        }
    }
}

/// Nonces seen within the time window, so a signed request is served once.
actor NonceBook {
    private var seen: [String: Int64] = [:]
    private var lastSweep: Int64 = 0

    /// False when `nonce` of `signer` was seen already.
    func admit(signer: String, nonce: String, time: Int64, window: Int64) -> Bool {
        if time - lastSweep > window {
            seen = seen.filter { time - $0.value <= 2 * window }
            lastSweep = time
        }
        let key = signer + "\u{1f}" + nonce
        if seen[key] != nil { return false }
        seen[key] = time
        return true
    }
}

extension HubAPI {
    /// Authenticates a request (`Protocol/security.md` §2): the signer's key, the time, the
    /// nonce and the signature over method, target and body. The body is read here (within the
    /// hub's limits) and handed on.
    func authenticate(_ request: inout Request, _ context: HubRequestContext) async throws -> Principal {
        guard let security = configuration.security else { return .anyone }
        do { return try await authenticate(&request, context, security) } catch var e as HubError {
            e.problem.hub = storage.hubID.rawValue
            throw e
        }
    }

    private func authenticate(_ request: inout Request, _ context: HubRequestContext, _ security: HubSecurity) async throws -> Principal {
        let h = request.headers
        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { h[$0] } }
        guard let signer = header(RequestSigning.signerHeader), let timeText = header(RequestSigning.timeHeader),
              let nonce = header(RequestSigning.nonceHeader), let signatureText = header(RequestSigning.signatureHeader) else {
            throw HubError(.unauthorized, "unauthenticated", "this hub serves enrolled devices only, and this request is not signed: enrol the node (`yuqing node enrol --code CODE`, with a code from the operator's `yuqing hub enrol`), or give an operator command its key (--operator-key)",
                           zh: "本中心只为已注册的设备提供服务，而此请求未签名：请注册本节点（`yuqing node enrol --code CODE`，注册码由运维人员用 `yuqing hub enrol` 生成），或为运维人员命令提供其密钥（`--operator-key`）")
        }
        guard let time = Int64(timeText), nonce.count >= 16, nonce.count <= 64, let signature = Data(base64Encoded: signatureText) else {
            throw HubError(.unauthorized, "bad_signature", "the request's signature headers are malformed (Protocol/security.md §2)",
                           zh: "请求的签名头格式有误（`Protocol/security.md` §2）")
        }
        let now = Int64(Self.now)
        if abs(now - time) > security.maxSkewMillis {
            var e = HubError(.unauthorized, "stale_request", "the request was signed at \(time), \(abs(now - time) / 1000) s from the hub's clock (\(now)); more than \(security.maxSkewMillis / 60000) minutes apart. Set this device's clock right, or sync again: the node corrects its clock from this answer",
                             zh: "请求的签名时间为 \(time)，与中心时钟（\(now)）相差 \(abs(now - time) / 1000) 秒，超过 \(security.maxSkewMillis / 60000) 分钟。请校正本设备的时钟，或重新同步：节点会根据此应答校正自己的时钟")
            e.problem.hubTime = UInt64(now)
            throw e
        }
        let principal: Principal, key: PublicKey?
        if signer == RequestSigning.operatorSigner {
            principal = .operator
            key = nil
        } else {
            guard WireValidation.isValidReplicaID(ReplicaID(signer)),
                  let view = try await storage.view(Device.ref(signer)), let device = Device(view) else {
                throw HubError(.unauthorized, "unknown_device", "device \(signer) is not enrolled at this hub: ask the operator for an enrolment code (`yuqing hub enrol`) and run `yuqing node enrol --code CODE`",
                               zh: "设备 \(signer) 未在本中心注册：请向运维人员索取注册码（`yuqing hub enrol`），然后运行 `yuqing node enrol --code CODE`")
            }
            if device.isRevoked {
                throw HubError(.forbidden, "revoked_device", "device \(signer) (\(device.user)@\(device.unit)) was revoked by the operator and may no longer sync, and keeps none of the organisation's data. To work again, make a new replica and enrol it with a new code (`yuqing hub enrol`)",
                               zh: "设备 \(signer)（\(device.user)@\(device.unit)）已被运维人员吊销，不能再同步，也不再保留组织的任何数据。如需继续工作，请新建副本，并用新的注册码（`yuqing hub enrol`）注册")
            }
            principal = .device(device)
            key = try PublicKey(base64: device.publicKey)
        }
        let body = try await collect(request, context)
        request.body = .init(buffer: body)
        let message = RequestSigning.message(method: request.method.rawValue, target: request.uri.description, signer: signer,
                                             timeMillis: time, nonce: nonce, body: body.readableBytesView)
        let valid = if let key { key.verify(signature: signature, for: message) } else {
            security.operatorKeys.contains { $0.verify(signature: signature, for: message) }
        }
        guard valid else {
            let byOperator = signer == RequestSigning.operatorSigner
            throw HubError(.unauthorized, "bad_signature", byOperator
                ? "the operator's signature does not match this hub's operator key: use the key file beside the hub's database (--operator-key HUB.sqlite.operator.key)"
                : "the request's signature does not match device \(signer)'s key: the request was altered on the way, or it was signed with another key than the one enrolled",
                zh: byOperator
                ? "运维人员的签名与本中心的运维人员密钥不符：请使用中心数据库旁的密钥文件（`--operator-key HUB.sqlite.operator.key`）"
                : "请求的签名与设备 \(signer) 的密钥不符：请求在传输途中被篡改，或并非用注册时的密钥签名")
        }
        guard await nonces.admit(signer: signer, nonce: nonce, time: now, window: security.maxSkewMillis) else {
            throw HubError(.unauthorized, "replayed", "this signed request was already served once (its nonce was used): a replay is refused. Sign each request anew",
                           zh: "此签名请求已处理过一次（其随机数已被使用）：重放的请求一律拒绝。请对每个请求重新签名")
        }
        if case .device(let device) = principal, let seen = configuration.onDeviceSeen { await seen(device) }
        return principal
    }

    /// Refuses a request that needs the operator.
    func requireOperator(_ principal: Principal, _ what: String, zh whatZh: String) throws {
        guard principal.isOperator else {
            throw HubError(.forbidden, "operator_only", "\(what) is the operator's: sign the request with the operator's key (--operator-key)",
                           zh: "\(whatZh)仅限运维人员：请用运维人员密钥签名请求（`--operator-key`）")
        }
    }

    /// A push is the authenticated device's own (`Protocol/security.md` §4): its id, the dots and
    /// authors of every change, and seals that cover them all and check against its key.
    func authorise(_ push: PushRequest, by principal: Principal) throws {
        guard case .device(let device) = principal else {
            if case .anyone = principal { return }
            throw HubError(.forbidden, "operator_only", "the operator does not push changes; operators' work is done at the hub",
                           zh: "运维人员不推送变更；运维人员的工作在中心完成")
        }
        guard push.replica.rawValue == device.id else {
            throw HubError(.forbidden, "wrong_device", "device \(device.id) pushed as replica \(push.replica): a device pushes only as itself; nothing of this push was stored",
                           zh: "设备 \(device.id) 以副本 \(push.replica) 的身份推送：设备只能以自己的身份推送；本次推送的内容均未保存")
        }
        let author = device.actor.author
        for c in push.changes {
            guard c.dot.replica.rawValue == device.id else {
                throw HubError(.forbidden, "wrong_device", "change \(c.dot) is not device \(device.id)'s: a device pushes only its own changes; nothing of this push was stored",
                               zh: "变更 \(c.dot) 不是设备 \(device.id) 的：设备只能推送自己的变更；本次推送的内容均未保存", dot: "\(c.dot)")
            }
            guard c.author == author else {
                throw HubError(.forbidden, "wrong_author", "change \(c.dot) names \(c.author) as its author, but device \(device.id) is enrolled for \(author); nothing of this push was stored",
                               zh: "变更 \(c.dot) 的作者是 \(c.author)，但设备 \(device.id) 注册的用户是 \(author)；本次推送的内容均未保存", dot: "\(c.dot)")
            }
        }
        let key = try PublicKey(base64: device.publicKey)
        var index: [UInt64: Int] = [:]
        index.reserveCapacity(push.changes.count)
        for (i, c) in push.changes.enumerated() { index[c.dot.counter] = i }
        // Each seal is checked over its whole run: bound the work a push can ask for.
        guard push.seals.reduce(UInt64(0), { $0 &+ min($1.count, UInt64(Int32.max)) }) <= 2 * UInt64(push.changes.count) else {
            throw HubError(.forbidden, "bad_seal", "the seals of this push cover more changes than it carries; send one seal per run of its own changes",
                           zh: "本次推送的封签覆盖的变更多于其携带的变更；请为自己的每一段连续变更各发送一个封签")
        }
        for seal in push.seals {
            guard seal.replica == push.replica, seal.first >= 1, seal.first <= seal.last, seal.count <= UInt64(push.changes.count) else {
                throw HubError(.forbidden, "bad_seal", "a seal of this push does not cover a run of its own changes; nothing of this push was stored",
                               zh: "本次推送的某个封签覆盖的不是其自身的一段连续变更；本次推送的内容均未保存")
            }
            do { try seal.verify(in: push.changes, index: { index[$0] }, key: key) } catch {
                throw HubError(.forbidden, "bad_seal", "\(error.message); nothing of this push was stored",
                               zh: "\(error.chinese)；本次推送的内容均未保存")
            }
        }
        let intervals = Self.coverage(push.seals)
        if push.changes.contains(where: { c in !Self.covered(c.dot.counter, by: intervals) }) {
            throw HubError(.forbidden, "bad_seal", "every change of a push is covered by its device's seal (Protocol/security.md §3); some of this push are not. Nothing was stored",
                           zh: "推送中的每条变更都须由其设备的封签覆盖（`Protocol/security.md` §3）；本次推送中有些变更未被覆盖。未保存任何内容")
        }
    }

    /// The counters the seals cover, as disjoint intervals in order (seals may overlap: a push
    /// sent again with more changes).
    static func coverage(_ seals: [Seal]) -> [ClosedRange<UInt64>] {
        var out: [ClosedRange<UInt64>] = []
        for s in seals.sorted(by: { $0.first < $1.first }) {
            if let last = out.last, s.first <= last.upperBound &+ 1 {
                out[out.count - 1] = last.lowerBound...max(last.upperBound, s.last)
            } else {
                out.append(s.first...s.last)
            }
        }
        return out
    }

    /// Whether `counter` lies in one of `intervals` (disjoint, in order).
    static func covered(_ counter: UInt64, by intervals: [ClosedRange<UInt64>]) -> Bool {
        var lo = 0, hi = intervals.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if intervals[mid].upperBound < counter { lo = mid + 1 } else { hi = mid }
        }
        return lo < intervals.count && intervals[lo].contains(counter)
    }

    /// `POST /v1/enrol`: a node presents its one-time code and its key.
    func enrol(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        guard let security = configuration.security else {
            throw HubError(.notFound, "not_found", "this hub does not enrol devices (it was started without authentication)",
                           zh: "本中心不注册设备（启动时未启用身份验证）")
        }
        let body = try await decode(EnrolRequest.self, request, context)
        guard WireValidation.isValidReplicaID(body.device) else { throw HubError.badRequest("'device' must be a replica id", zh: "`device` 须为副本 id") }
        let key = try PublicKey(base64: body.publicKey)
        if let view = try await storage.view(Device.ref(body.device.rawValue)), let known = Device(view) {
            let same = known.publicKey == key.base64
            throw HubError(.conflict, "already_enrolled", same
                ? "device \(body.device) is enrolled already (for \(known.user)@\(known.unit)); it can sync"
                : "another device is enrolled under id \(body.device); this node cannot take it. Make a new node replica (`yuqing node init`) and enrol that",
                zh: same
                ? "设备 \(body.device) 已经注册（用户 \(known.user)@\(known.unit)）；可以直接同步"
                : "已有另一台设备以 id \(body.device) 注册；本节点不能使用该 id。请新建节点副本（`yuqing node init`）并注册它")
        }
        guard let stored = try await storage.takeSetting(HubSecurity.enrolmentKey(body.code)),
              let enrolment = HubSecurity.Enrolment(stored: stored) else {
            throw HubError(.forbidden, "bad_code", "this enrolment code is unknown or was used already: ask the operator for a new one (`yuqing hub enrol`)",
                           zh: "此注册码无效或已被使用：请向运维人员索取新的注册码（`yuqing hub enrol`）")
        }
        guard enrolment.expiresAt >= Int64(Self.now) else {
            throw HubError(.forbidden, "bad_code", "this enrolment code expired: ask the operator for a new one (`yuqing hub enrol`)",
                           zh: "此注册码已过期：请向运维人员索取新的注册码（`yuqing hub enrol`）")
        }
        try await storage.writeAsHub(Device.enrolment(id: body.device.rawValue, publicKey: key.base64, unit: enrolment.unit,
                                                      user: enrolment.user, at: Int64(Self.now)).map { ($0.record, $0.field, $0.value) })
        await watch.notify()
        let roles = try await storage.view(RecordRef(kind: CaseSchema.Kind.user, id: enrolment.user)).map { Organisation([$0]).users[enrolment.user]?.roles ?? [] } ?? []
        logger.notice("device enrolled", metadata: ["hub.device": "\(body.device)", "hub.user": "\(enrolment.user)@\(enrolment.unit)"])
        return try json(EnrolResponse(hub: storage.hubID, hubKey: security.hubKey.publicKey.base64, unit: enrolment.unit,
                                      user: enrolment.user, roles: roles.map(\.rawValue).sorted()))
    }

    /// Seals what the hub wrote itself since it last did, before a reader is served.
    func sealOwn() async throws {
        guard let security = configuration.security else { return }
        let key = security.hubKey
        try await storage.sealOwnChanges { run in try Seal.make(run, key: key) }
    }

    /// For each seal of which `delivered` holds only part of the run, the proof that lets the
    /// reader check that part (`Protocol/security.md` §3.4): the Merkle hashes of the rest, from
    /// the run's other changes in the log.
    func proofs(for seals: [Seal], delivered: [Change]) async throws -> [SealProof] {
        guard !seals.isEmpty else { return [] }
        var present: [ReplicaID: Set<UInt64>] = [:]
        for c in delivered { present[c.dot.replica, default: []].insert(c.dot.counter) }
        var out: [SealProof] = []
        for seal in seals {
            let mine = present[seal.replica] ?? []
            let first = seal.first
            guard seal.count <= UInt64(Int.max), mine.lazy.filter({ seal.first <= $0 && $0 <= seal.last }).count < Int(seal.count) else { continue }
            var leaves = await runHashes.get(seal)
            if leaves == nil {
                let run = try await storage.run(of: seal.replica, from: seal.first, to: seal.last)
                guard run.count == Int(seal.count) else {
                    throw HubError(.internalServerError, "internal", "the hub's log lacks part of the sealed run \(seal.replica):\(seal.first)...\(seal.last)",
                                   zh: "中心日志缺少已封签变更段 \(seal.replica):\(seal.first)...\(seal.last) 的一部分")
                }
                var buffer: [UInt8] = []
                leaves = run.map { ChangeHash.hash($0, buffer: &buffer) }
                await runHashes.put(seal, leaves!)
            }
            let all = leaves!
            let hashes = MerkleTree.proof(count: all.count, present: { mine.contains(first + UInt64($0)) }, leaf: { all[$0] })
            out.append(SealProof(replica: seal.replica, first: seal.first, last: seal.last, hashes: hashes))
        }
        return out
    }
}
