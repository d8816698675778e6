import YuqingCore
import YuqingReplica

/// Where the hub keeps its replica: the merged state, the log every node pulls from, and the
/// conflicts that wait for the operator.
///
/// ``SQLiteHubStorage`` is the embedded default. A PostgreSQL implementation fills the same
/// interface for deployments that outgrow one machine.
public protocol HubStorage: Sendable {
    /// The hub's own replica id (the dots of operator resolutions carry it).
    var hubID: ReplicaID { get }
    /// Merges pushed changes durably; re-sent changes are no-ops.
    func ingest(_ changes: [Change]) async throws -> ApplyResult
    /// The log after `position`, oldest first, without the changes `excluding` made itself, and
    /// the last log position, both from one consistent snapshot (an entry committed meanwhile
    /// must not fall between them, or a reader would skip it).
    func changes(after position: Int64, limit: Int, excluding: ReplicaID?) async throws
        -> (entries: [(seq: Int64, change: Change)], head: Int64)
    /// The last log position.
    func head() async throws -> Int64
    func versionVector() async throws -> VersionVector
    func conflicts() async throws -> [Conflict]
    /// How many conflicts are open (cheaper than listing them).
    func openConflictCount() async throws -> Int
    /// Writes the operator's value with a context that covers every value in conflict.
    func resolve(conflictID: String, value: FieldValue, resolvedBy: String) async throws -> (change: Change, pos: Int64)
}

/// The hub's replica in one SQLite file (the default; zero set-up).
public struct SQLiteHubStorage: HubStorage {
    public let replica: Replica

    /// Opens the hub database at `path`, creating it on first use.
    public init(path: String) throws {
        let replica = try Replica.openOrCreate(at: path, role: .hub, unit: "hub")
        guard replica.role == .hub else {
            throw ReplicaError(.invalidWrite, "\(path) is a node's replica, not a hub's; give the hub its own --db file")
        }
        self.replica = replica
    }

    public var hubID: ReplicaID { replica.id }

    public func ingest(_ changes: [Change]) async throws -> ApplyResult {
        try await replica.offload { try $0.apply(changes, origin: .local) }
    }

    public func changes(after position: Int64, limit: Int, excluding: ReplicaID?) async throws
        -> (entries: [(seq: Int64, change: Change)], head: Int64)
    {
        try await replica.offload { try $0.changes(after: position, limit: limit, excluding: excluding) }
    }

    public func head() async throws -> Int64 { try await replica.offload { try $0.head() } }

    public func versionVector() async throws -> VersionVector { try await replica.offload { try $0.versionVector() } }

    public func conflicts() async throws -> [Conflict] { try await replica.offload { try $0.conflicts() } }

    public func openConflictCount() async throws -> Int { try await replica.offload { try $0.openConflictCount() } }

    public func resolve(conflictID: String, value: FieldValue, resolvedBy: String) async throws -> (change: Change, pos: Int64) {
        let (change, seq) = try await replica.offload { try $0.resolve(conflictID: conflictID, value: value, author: resolvedBy) }
        return (change, seq)
    }
}
