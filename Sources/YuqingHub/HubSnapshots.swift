import Crypto
import Foundation
import Logging
import YuqingCore
import YuqingReplica
import YuqingSecurity
import YuqingWire

/// The snapshots an SQLite hub keeps for new nodes (`Protocol/sync.md` §5.11): a node's replica
/// of everything the hub holds, made in the background whenever the log has grown enough since
/// the last one (``noteHead(_:)``), so a new node of the office downloads one file and checks it
/// instead of replaying the whole log.
///
/// Files are `HUB.sqlite.snapshot-POSITION` beside the database; the newest and the one before it
/// are kept (a node still downloading the older one finishes it), older ones are removed.
public actor HubSnapshots {
    public struct Current: Sendable, Hashable {
        public var manifest: SnapshotManifest
        public var path: String
        public var bytes: Int64
        /// SHA-256 of the file, lowercase hex.
        public var sha256: String
    }

    let storage: SQLiteHubStorage
    /// Made anew once the log has grown by this many positions since the last (0: never).
    public let every: Int64
    let logger: Logger
    private(set) var current: Current?
    private var previous: Current?
    private var building = false
    /// When the last snapshot was begun; a head noted meanwhile waits (``noteHead(_:)``).
    private var lastStarted: ContinuousClock.Instant?
    private var waiting = false
    private var latestHead: Int64 = 0
    /// The least time between the starts of two snapshots.
    public let minInterval: Duration
    /// Seals the hub's own latest changes before a snapshot is read.
    private var sealOwn: (@Sendable () async throws -> Void)?
    /// Makes a proof for a run the snapshot holds in part.
    static func proof(_ seal: Seal, _ run: [Change], _ held: (UInt64) -> Bool) -> [[UInt8]] {
        var buffer: [UInt8] = []
        let hashes = run.map { ChangeHash.hash($0, buffer: &buffer) }
        return MerkleTree.proof(count: run.count, present: { held(run[$0].dot.counter) }, leaf: { hashes[$0] })
    }

    public init(storage: SQLiteHubStorage, every: Int64 = 50_000, minInterval: Duration = .seconds(600), logger: Logger) {
        self.storage = storage
        self.every = every
        self.minInterval = minInterval
        self.logger = logger
        // Files of an earlier run of the hub are not trusted to be whole: made anew.
        let dir = Self.directory(of: storage.replica.path), base = Self.prefix(of: storage.replica.path)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(base) {
            try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(name))
        }
    }

    static func directory(of path: String) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        return dir.isEmpty ? "." : dir
    }

    static func prefix(of path: String) -> String { (path as NSString).lastPathComponent + ".snapshot-" }

    func setSealOwn(_ body: @escaping @Sendable () async throws -> Void) { sealOwn = body }

    /// The newest snapshot, or nil when there is none yet.
    public func latest() -> Current? { current }

    /// The snapshot at `position`: the newest or the one before it.
    func at(_ position: Int64) -> Current? {
        [current, previous].compactMap { $0 }.first { $0.manifest.position == position }
    }

    /// Told of the log's last position (after every push, and at start): makes a new snapshot in
    /// the background when the log has grown since the last one by `every`, or by a quarter of it
    /// when that is more (a large hub is not copied again for every few new changes; a new node
    /// replays at most that much after the snapshot).
    ///
    /// At most one is made every `minInterval`: a copy holds a read of the whole hub open, which
    /// keeps the hub's checkpoints from emptying its WAL, and a burst of pushes would otherwise
    /// have the hub copy itself over and over (`docs/benchmarks.md` §8). A head noted too soon is
    /// looked at again when the interval has passed.
    public func noteHead(_ head: Int64) {
        let last = current?.manifest.position ?? 0
        latestHead = max(latestHead, head)
        guard every > 0, !building, head - last >= max(every, last / 4) else { return }
        if let lastStarted, case let wait = minInterval - (ContinuousClock.now - lastStarted), wait > .zero {
            guard !waiting else { return }
            waiting = true
            Task.detached(priority: .background) { [self] in
                try? await Task.sleep(for: wait)
                await self.retry()
            }
            return
        }
        building = true
        lastStarted = ContinuousClock.now
        Task.detached(priority: .background) { [self] in await self.build() }
    }

    private func retry() {
        waiting = false
        noteHead(latestHead)
    }

    private func build() async {
        defer { building = false }
        do { _ = try await make() } catch {
            logger.error("snapshot failed; nodes replay the log meanwhile", metadata: ["hub.error": "\(error)"])
        }
    }

    private func make() async throws -> Current? {
        let start = ContinuousClock.now
        let replica = storage.replica
        var manifest: SnapshotManifest?
        var path = "", bytes: Int64 = 0, sha = ""
        for _ in 0..<3 {
            try await sealOwn?()
            let head = try await storage.head()
            path = (Self.directory(of: replica.path) as NSString).appendingPathComponent(Self.prefix(of: replica.path) + "\(head)")
            let target = path + ".part"
            manifest = try await replica.offload { try $0.writeSnapshot(to: target, proof: { HubSnapshots.proof($0, $1, $2) }) }
            if let made = manifest {
                // Its digest before it takes its name: a file of that name is whole and offered as it is.
                (bytes, sha) = try await replica.offload { _ in try Self.digest(of: target) }
                path = (Self.directory(of: replica.path) as NSString).appendingPathComponent(Self.prefix(of: replica.path) + "\(made.position)")
                guard rename(target, path) == 0 else {
                    throw HubError(.internalServerError, "internal", "could not rename the snapshot \(target)", zh: "无法重命名快照 \(target)")
                }
                break
            }
        }
        guard let manifest else {
            logger.info("no snapshot now: changes wait for others, or the hub's own changes are being sealed")
            return nil
        }
        let current = Current(manifest: manifest, path: path, bytes: bytes, sha256: sha)
        if let old = previous, old.path != current.path { try? FileManager.default.removeItem(atPath: old.path) }
        previous = self.current
        self.current = current
        logger.info("snapshot made", metadata: ["hub.position": "\(manifest.position)", "hub.values": "\(manifest.values)",
                                                "hub.bytes": "\(bytes)", "hub.seconds": "\(ContinuousClock.now - start)"])
        return current
    }

    static func digest(of path: String) throws -> (Int64, String) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw HubError(.internalServerError, "internal", "could not read the snapshot \(path)", zh: "无法读取快照 \(path)")
        }
        defer { try? handle.close() }
        var hasher = Crypto.SHA256()
        var total: Int64 = 0
        while let chunk = try handle.read(upToCount: 8 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            total += Int64(chunk.count)
        }
        return (total, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }
}
