import Foundation
import YuqingCore

/// The version of the sync protocol these messages belong to (see `Protocol/sync.md`).
public let protocolVersion = 1

/// `POST /v1/push`: changes the hub has not acknowledged yet, oldest first.
public struct PushRequest: Codable, Sendable, Hashable {
    /// The pushing replica.
    public var replica: ReplicaID
    public var changes: [Change]
    /// The pushing device's signatures over its changes in this push: one per run of consecutive
    /// counters (`Protocol/security.md` §3). Absent (empty) for a hub that does not authenticate.
    public var seals: [Seal]

    public init(replica: ReplicaID, changes: [Change], seals: [Seal] = []) {
        self.replica = replica
        self.changes = changes
        self.seals = seals
    }

    enum CodingKeys: String, CodingKey { case replica, changes, seals }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        replica = try c.decode(ReplicaID.self, forKey: .replica)
        changes = try c.decode([Change].self, forKey: .changes)
        seals = try c.decodeIfPresent([Seal].self, forKey: .seals) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(replica, forKey: .replica)
        try c.encode(changes, forKey: .changes)
        if !seals.isEmpty { try c.encode(seals, forKey: .seals) }
    }
}

/// The hub's answer to a push. Once received, every change in the request is durable on the hub.
public struct PushResponse: Codable, Sendable, Hashable {
    public var hub: ReplicaID
    /// Changes merged for the first time.
    public var accepted: Int
    /// Changes the hub had already seen (re-sent, or superseded): no-ops.
    public var duplicates: Int
    /// The hub's last log position.
    public var head: Int64
    /// The hub's clock, milliseconds since 1970.
    public var hubTime: UInt64
    /// When set, nothing in the log after this position up to `head` is for the pushing node to
    /// pull: those entries are its own, and what its unit may see did not change there
    /// (`Protocol/sync.md` §6.2). Absent when the hub cannot tell.
    public var quietAfter: Int64?

    public init(hub: ReplicaID, accepted: Int, duplicates: Int, head: Int64, hubTime: UInt64, quietAfter: Int64? = nil) {
        self.hub = hub
        self.accepted = accepted
        self.duplicates = duplicates
        self.head = head
        self.hubTime = hubTime
        self.quietAfter = quietAfter
    }
}

/// One entry of the hub's log.
public struct LogEntry: Codable, Sendable, Hashable {
    /// The entry's position in the hub's log: increasing, not necessarily contiguous for one reader.
    public var pos: Int64
    public var change: Change

    public init(pos: Int64, change: Change) {
        self.pos = pos
        self.change = change
    }
}

/// `GET /v1/pull?after=P&limit=N&replica=R`: the hub's log after position P.
public struct PullResponse: Codable, Sendable, Hashable {
    public var hub: ReplicaID
    public var entries: [LogEntry]
    /// The position to ask after next time; store it with the applied entries.
    public var next: Int64
    /// True when more entries wait after `next`.
    public var more: Bool
    public var head: Int64
    public var hubTime: UInt64
    /// The seals that cover the entries (each at least one of them), so the reader can check that
    /// every change is what its device made (`Protocol/security.md` §3).
    public var seals: [Seal]
    /// For each seal whose run the entries hold only in part, the hashes that let the reader check
    /// the part it holds.
    public var proofs: [SealProof]
    /// Records this reader may no longer see (a case assigned away): it removes them
    /// (`Protocol/sync.md` §5.3).
    public var purged: [RecordRef]
    /// Records that became visible to this reader: the entries hold their whole history, from
    /// which it rebuilds them.
    public var restored: [RecordRef]

    public init(hub: ReplicaID, entries: [LogEntry], next: Int64, more: Bool, head: Int64, hubTime: UInt64, seals: [Seal] = [],
                proofs: [SealProof] = [], purged: [RecordRef] = [], restored: [RecordRef] = []) {
        self.proofs = proofs
        self.purged = purged
        self.restored = restored
        self.hub = hub
        self.entries = entries
        self.next = next
        self.more = more
        self.head = head
        self.hubTime = hubTime
        self.seals = seals
    }

    enum CodingKeys: String, CodingKey { case hub, entries, next, more, head, hubTime, seals, proofs, purged, restored }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hub = try c.decode(ReplicaID.self, forKey: .hub)
        entries = try c.decode([LogEntry].self, forKey: .entries)
        next = try c.decode(Int64.self, forKey: .next)
        more = try c.decode(Bool.self, forKey: .more)
        head = try c.decode(Int64.self, forKey: .head)
        hubTime = try c.decode(UInt64.self, forKey: .hubTime)
        seals = try c.decodeIfPresent([Seal].self, forKey: .seals) ?? []
        proofs = try c.decodeIfPresent([SealProof].self, forKey: .proofs) ?? []
        purged = try c.decodeIfPresent([RecordRef].self, forKey: .purged) ?? []
        restored = try c.decodeIfPresent([RecordRef].self, forKey: .restored) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hub, forKey: .hub)
        try c.encode(entries, forKey: .entries)
        try c.encode(next, forKey: .next)
        try c.encode(more, forKey: .more)
        try c.encode(head, forKey: .head)
        try c.encode(hubTime, forKey: .hubTime)
        if !seals.isEmpty { try c.encode(seals, forKey: .seals) }
        if !proofs.isEmpty { try c.encode(proofs, forKey: .proofs) }
        if !purged.isEmpty { try c.encode(purged, forKey: .purged) }
        if !restored.isEmpty { try c.encode(restored, forKey: .restored) }
    }
}

/// `GET /v1/status`.
public struct HubStatus: Codable, Sendable, Hashable {
    public var hub: ReplicaID
    public var protocolVersion: Int
    public var head: Int64
    public var versionVector: VersionVector
    public var openConflicts: Int
    public var hubTime: UInt64
    /// Pushed changes waiting for changes the hub never received (normally 0; `GET /v1/waiting`
    /// says whose). Absent from hubs before it was reported.
    public var waiting: Int?
    /// The newest revision of the binary change batch the hub reads and writes (§3.3); absent
    /// from hubs that know revision 1 only.
    public var binaryRevision: Int?

    public init(hub: ReplicaID, protocolVersion: Int, head: Int64, versionVector: VersionVector, openConflicts: Int, hubTime: UInt64,
                waiting: Int? = nil, binaryRevision: Int? = nil) {
        self.hub = hub
        self.protocolVersion = protocolVersion
        self.head = head
        self.versionVector = versionVector
        self.openConflicts = openConflicts
        self.hubTime = hubTime
        self.waiting = waiting
        self.binaryRevision = binaryRevision
    }
}

/// One line of `GET /v1/waiting`: how many changes a replica pushed that wait at the hub.
public struct WaitingEntry: Codable, Sendable, Hashable {
    public var replica: ReplicaID
    public var waiting: Int

    public init(replica: ReplicaID, waiting: Int) {
        self.replica = replica
        self.waiting = waiting
    }
}

/// `GET /v1/digest`: the hub's state digest (§9), to compare with a node's without pulling.
public struct DigestResponse: Codable, Sendable, Hashable {
    public var hub: ReplicaID
    public var digest: String
    /// The log position the digest covers at least.
    public var head: Int64
    /// The unit whose view this digest is (what that unit may see); nil: everything.
    public var scope: String?

    public init(hub: ReplicaID, digest: String, head: Int64, scope: String? = nil) {
        self.hub = hub
        self.digest = digest
        self.head = head
        self.scope = scope
    }
}

/// `GET /v1/wait?after=P&timeout=S`: the hub's head once it passed P, or when S seconds ran out
/// (then `head` may still be P or below).
public struct WaitResponse: Codable, Sendable, Hashable {
    public var hub: ReplicaID
    /// The hub's last log position when it answered.
    public var head: Int64
    /// The hub's clock, milliseconds since 1970.
    public var hubTime: UInt64

    public init(hub: ReplicaID, head: Int64, hubTime: UInt64) {
        self.hub = hub
        self.head = head
        self.hubTime = hubTime
    }
}

/// An open conflict as the hub reports it.
public struct ConflictMessage: Codable, Sendable, Hashable {
    public var id: String
    public var record: RecordRef
    public var field: FieldKey
    public var provisional: FieldValue
    public var candidates: [Sibling]

    public init(_ c: Conflict) {
        id = c.id
        record = c.record
        field = c.field
        provisional = c.provisional
        candidates = c.candidates
    }
}

/// `POST /v1/conflicts/{id}/resolve`.
public struct ResolveRequest: Codable, Sendable, Hashable {
    public var value: FieldValue
    /// Who resolved it, for the record.
    public var resolvedBy: String?

    public init(value: FieldValue, resolvedBy: String?) {
        self.value = value
        self.resolvedBy = resolvedBy
    }
}

/// The answer to a resolution: the change that supersedes every value in conflict.
public struct ResolveResponse: Codable, Sendable, Hashable {
    public var conflict: String
    public var change: Change
    public var pos: Int64

    public init(conflict: String, change: Change, pos: Int64) {
        self.conflict = conflict
        self.change = change
        self.pos = pos
    }
}

/// The body of every error response.
public struct Problem: Codable, Sendable, Hashable, Error, CustomStringConvertible {
    /// Stable, machine-readable: `bad_request`, `clock_ahead`, `forbidden`, `not_found`, `dot_reused`,
    /// `timeout`, `too_large`, `too_many_waiting`, `rule_violation`, `storage`, `internal` (`Protocol/sync.md` §5.6).
    public var code: String
    /// For a person: what happened and what to do next.
    public var message: String
    /// The same message in Simplified Chinese, for a person whose language is Chinese; nil from a
    /// hub that does not send it (show ``message`` then).
    public var messageZh: String?
    /// With `rule_violation`: the rule the change breaks (`Protocol/workflow.md` §5).
    public var rule: String?
    /// With `rule_violation`: the dot of the refused change.
    public var dot: String?
    /// With `stale_request`: the hub's clock (ms since 1970), so the client can correct its own.
    public var hubTime: UInt64?
    /// With a refused credential (401, 403 `revoked_device`): the hub's id, so a node pointed at
    /// another hub than its own is told that rather than to enrol.
    public var hub: String?

    public init(code: String, message: String, messageZh: String? = nil, rule: String? = nil, dot: String? = nil, hubTime: UInt64? = nil) {
        self.code = code
        self.message = message
        self.messageZh = messageZh
        self.rule = rule
        self.dot = dot
        self.hubTime = hubTime
    }

    public var description: String { message }
}

/// The JSON coders every party uses: keys sorted so equal messages are equal bytes.
public enum WireJSON {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    public static func decoder() -> JSONDecoder { JSONDecoder() }

    public static func encode(_ value: some Encodable) throws -> Data { try encoder().encode(value) }

    /// Decodes a message. Every number in the protocol is an integer with one spelling, so a
    /// number written with a fraction, an exponent or a `+` (`2.0`, `1e3`) is refused.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try requireIntegers(data)
        return try decoder().decode(type, from: data)
    }

    /// Throws when a number outside the strings of a JSON text is not `-?(0|[1-9][0-9]*)`.
    public static func requireIntegers(_ data: Data) throws {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var i = 0, inString = false
            let n = bytes.count
            while i < n {
                let b = bytes[i]
                if inString {
                    if b == UInt8(ascii: "\\") { i += 2; continue }
                    if b == UInt8(ascii: "\"") { inString = false }
                    i += 1
                    continue
                }
                if b == UInt8(ascii: "\"") { inString = true; i += 1; continue }
                let isNumberByte = { (c: UInt8) in (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2B || c == 0x2E || c == 0x45 || c == 0x65 }
                guard (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2B || b == 0x2E else { i += 1; continue }
                let start = i
                while i < n, isNumberByte(bytes[i]) { i += 1 }
                let token = Array(bytes[start..<i])
                var digits = token[...]
                if digits.first == 0x2D { digits = digits.dropFirst() }
                let canonical = !digits.isEmpty && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && (digits.count == 1 || digits.first != 0x30)
                guard canonical else {
                    throw WireDecodingError("the number \(String(decoding: token, as: UTF8.self)) is not an integer in decimal digits; every number in the protocol is one (no fraction, exponent, sign '+' or leading zero)",
                                            zh: "数字 \(String(decoding: token, as: UTF8.self)) 不是十进制整数；协议中的数字都必须是十进制整数（不能有小数、指数、“+”号或前导零）")
                }
            }
        }
    }
}

/// `GET /v1/blobs/{sha256}/status` and the answer to a `PUT`: how much of a blob the hub holds
/// (`Protocol/workflow.md` §3.4).
public struct BlobStatus: Codable, Sendable, Hashable {
    public var sha256: String
    /// True once every byte arrived and the digest checked out.
    public var complete: Bool
    /// Bytes held: the whole size when complete, else how far a transfer got.
    public var held: Int64

    public init(sha256: String, complete: Bool, held: Int64) {
        self.sha256 = sha256
        self.complete = complete
        self.held = held
    }
}

/// `POST /v1/enrol`: a node presents the one-time code the operator made for it, with its
/// replica id and public key (`Protocol/security.md` §1).
public struct EnrolRequest: Codable, Sendable, Hashable {
    public var code: String
    /// The node's replica id: the device's id from now on.
    public var device: ReplicaID
    /// Ed25519, base64.
    public var publicKey: String

    public init(code: String, device: ReplicaID, publicKey: String) {
        self.code = code
        self.device = device
        self.publicKey = publicKey
    }
}

/// The hub's answer to an enrolment: who the device now is, and the hub's own key, which the
/// node keeps to check what the hub signs.
public struct EnrolResponse: Codable, Sendable, Hashable {
    public var hub: ReplicaID
    /// The hub's Ed25519 public key, base64.
    public var hubKey: String
    public var unit: String
    public var user: String
    public var roles: [String]

    public init(hub: ReplicaID, hubKey: String, unit: String, user: String, roles: [String]) {
        self.hub = hub
        self.hubKey = hubKey
        self.unit = unit
        self.user = user
        self.roles = roles
    }
}

/// `GET /v1/snapshot`: the hub's newest snapshot (§5.11), which a new node of the office starts
/// from instead of replaying the log; its bytes come from `GET /v1/snapshot/data`.
public struct SnapshotOffer: Codable, Sendable, Hashable {
    public var hub: ReplicaID
    /// The log position it covers: the node pulls on after it.
    public var position: Int64
    /// Field values and seals in it.
    public var values: Int
    public var seals: Int
    /// The file's size and SHA-256 (lowercase hex).
    public var bytes: Int64
    public var sha256: String

    public init(hub: ReplicaID, position: Int64, values: Int, seals: Int, bytes: Int64, sha256: String) {
        self.hub = hub
        self.position = position
        self.values = values
        self.seals = seals
        self.bytes = bytes
        self.sha256 = sha256
    }
}
