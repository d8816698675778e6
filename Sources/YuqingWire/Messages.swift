import Foundation
import YuqingCore

/// The version of the sync protocol these messages belong to (see `Protocol/sync.md`).
public let protocolVersion = 1

/// `POST /v1/push`: changes the hub has not acknowledged yet, oldest first.
public struct PushRequest: Codable, Sendable, Hashable {
    /// The pushing replica.
    public var replica: ReplicaID
    public var changes: [Change]

    public init(replica: ReplicaID, changes: [Change]) {
        self.replica = replica
        self.changes = changes
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

    public init(hub: ReplicaID, accepted: Int, duplicates: Int, head: Int64, hubTime: UInt64) {
        self.hub = hub
        self.accepted = accepted
        self.duplicates = duplicates
        self.head = head
        self.hubTime = hubTime
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

    public init(hub: ReplicaID, entries: [LogEntry], next: Int64, more: Bool, head: Int64, hubTime: UInt64) {
        self.hub = hub
        self.entries = entries
        self.next = next
        self.more = more
        self.head = head
        self.hubTime = hubTime
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

    public init(hub: ReplicaID, protocolVersion: Int, head: Int64, versionVector: VersionVector, openConflicts: Int, hubTime: UInt64) {
        self.hub = hub
        self.protocolVersion = protocolVersion
        self.head = head
        self.versionVector = versionVector
        self.openConflicts = openConflicts
        self.hubTime = hubTime
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
    /// Stable, machine-readable: `bad_request`, `not_found`, `dot_reused`, `too_large`, `storage`, `internal`.
    public var code: String
    /// For a person: what happened and what to do next.
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
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

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try decoder().decode(type, from: data)
    }
}
