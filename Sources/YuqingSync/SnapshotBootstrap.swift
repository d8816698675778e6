import Crypto
import Foundation
import Synchronization
import Logging
import YuqingCore
import YuqingReplica
import YuqingSecurity
import YuqingWire

/// Starts a new node of the office from its hub's snapshot instead of replaying the whole log
/// (`Protocol/sync.md` §6.5): download the file, check it as a pull is checked (every change
/// against its device's seal), and install it in place of the empty replica. The sync that
/// follows pulls what the hub logged after the snapshot.
///
/// Nothing of the node changes until the checked file is renamed over it; a snapshot that fails
/// any check is deleted and the error says so.
public struct SnapshotBootstrap: Sendable {
    public let client: HubClient
    /// The node's key and its hub's; nil only with a hub that does not authenticate.
    public let security: NodeSecurity?
    public var logger: Logger
    /// Bytes per download request.
    public var chunkBytes = 8 << 20
    /// Download requests in flight at once.
    static let requestsInFlight = 3
    /// The most values a snapshot may hold for this node to take it: its check keeps about 44
    /// bytes per value in memory (a value's hash, counter and place), so a larger hub's node
    /// replays the log instead, in bounded memory.
    public var maxValues = 4_000_000

    public init(client: HubClient, security: NodeSecurity?, logger: Logger = Logger(label: "yuqing.sync")) {
        self.client = client
        self.security = security
        self.logger = logger
    }

    /// What a bootstrap from a snapshot did.
    public struct Outcome: Sendable {
        public var position: Int64
        public var values: Int
        public var bytes: Int64
        public var sealsChecked: Int
        /// Seconds spent downloading and checking.
        public var downloadSeconds: Double
        public var checkSeconds: Double
    }

    /// A snapshot downloaded and checked, ready to take the node's place.
    public final class Prepared: Sendable {
        public let file: SnapshotFile
        public let outcome: Outcome
        let checked: Checked

        init(file: SnapshotFile, outcome: Outcome, checked: Checked) {
            self.file = file
            self.outcome = outcome
            self.checked = checked
        }

        /// Renames the snapshot over the node's file (closed by the caller: ``Replica/close()``),
        /// keeping the node's identity and what enrolment taught it; its clock and count of open
        /// conflicts are the ones the check found, not the file's.
        public func install(over nodePath: String, now: UInt64 = Replica.systemClock()) throws {
            try file.install(over: nodePath, clock: checked.maxHLC, conflicts: checked.conflicts, now: now)
        }

        /// Removes the downloaded file (when it is not installed).
        public func discard() {
            for suffix in ["", "-journal", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file.path + suffix) }
        }
    }

    /// Whether `replica` is a new node: it has made nothing and pulled nothing.
    public static func isNew(_ replica: Replica) throws -> Bool {
        let info = try replica.info(), pending = try replica.pendingCount()
        return replica.role == .node && info.pullCursor == 0 && info.counter == 0 && pending == 0
    }

    /// Downloads and checks the hub's snapshot for `replica` (a new node); nil when the hub offers
    /// none to it (a unit's node, a hub on PostgreSQL or with a short log, an older hub) or its
    /// offer cannot be had (the node not enrolled, the hub unreachable): the node then syncs as
    /// before, replaying the log, and that sync says what stops it.
    public func prepare(for replica: Replica) async throws -> Prepared? {
        guard try Self.isNew(replica) else { return nil }
        for attempt in 1...2 {
            // No offer, for whatever reason (none made, an older hub, a device not enrolled, the
            // hub unreachable): the sync goes on as before, and says what stops it, if anything.
            let offer: SnapshotOffer
            do { offer = try await client.snapshot() } catch {
                logger.debug("no snapshot", metadata: ["sync.error": "\(error)"])
                return nil
            }
            guard offer.values <= maxValues else {
                logger.debug("snapshot too large to check in memory; replaying the log", metadata: ["sync.values": "\(offer.values)"])
                return nil
            }
            if let bound = try replica.info().hubID, bound != offer.hub {
                throw SyncError(.wrongHub, "the hub at \(client.baseURL.absoluteString) is hub \(offer.hub), but this node syncs with hub \(bound); nothing was exchanged",
                                zh: "位于 \(client.baseURL.absoluteString) 的是中心 \(offer.hub)，但本节点与中心 \(bound) 同步；未交换任何内容")
            }
            let path = replica.path + ".snapshot"
            let clock = ContinuousClock(), started = clock.now
            do {
                try await download(offer, to: path)
            } catch let error as SyncError where error.problem?.code == "snapshot_replaced" && attempt == 1 {
                logger.debug("snapshot replaced while downloading; starting again")
                continue
            }
            let downloaded = clock.now
            do {
                let security = security
                let schema = replica.schema
                let (file, checked) = try await Self.offload {
                    let file = try SnapshotFile(path: path, hub: offer.hub)
                    guard file.manifest.position == offer.position, file.manifest.values == offer.values, file.manifest.values <= maxValues else {
                        throw Self.refused("it is not the snapshot the hub offered (position \(file.manifest.position), \(file.manifest.values) values)")
                    }
                    return (file, try Self.check(file, security: security, schema: schema))
                }
                return Prepared(file: file, outcome: Outcome(position: file.manifest.position, values: file.manifest.values,
                                                             bytes: offer.bytes, sealsChecked: checked.seals,
                                                             downloadSeconds: SyncSession.seconds(downloaded - started),
                                                             checkSeconds: SyncSession.seconds(clock.now - downloaded)),
                                checked: checked)
            } catch {
                for suffix in ["", "-journal", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
                if let e = error as? ReplicaError, e.code == .unsealed { throw SyncError(.tampered, e.message, zh: e.chinese) }
                throw error
            }
        }
        return nil
    }

    /// The snapshot's bytes into `path`, the next request in flight while one is written, its
    /// SHA-256 checked against the offer.
    func download(_ offer: SnapshotOffer, to path: String) async throws {
        // What an interrupted earlier attempt left, its journal too.
        for suffix in ["", "-journal", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        guard FileManager.default.createFile(atPath: path, contents: nil), let out = FileHandle(forWritingAtPath: path) else {
            throw SyncError(.hubRejected, "cannot write \(path); is the node's directory writable?", zh: "无法写入 \(path)；节点所在目录是否可写？")
        }
        var hasher = Crypto.SHA256()
        var written: Int64 = 0
        let client = client, chunk = Int64(chunkBytes)
        func fetch(_ offset: Int64) -> Task<Data, any Error> {
            Task { try await client.snapshotData(position: offer.position, offset: offset, length: Int(chunk)) }
        }
        do {
            // A few requests in flight at once (the hub reads and sends one while the node
            // receives another), written and hashed in order.
            var inFlight: [Task<Data, any Error>] = []
            var requested: Int64 = 0
            func more() {
                while inFlight.count < Self.requestsInFlight, requested < offer.bytes {
                    inFlight.append(fetch(requested))
                    requested += chunk
                }
            }
            defer { for task in inFlight { task.cancel() } }
            more()
            while !inFlight.isEmpty {
                let data = try await inFlight.removeFirst().value
                more()
                guard Int64(data.count) == min(chunk, offer.bytes - written) else { break }
                hasher.update(data: data)
                try out.write(contentsOf: data)
                // The disk starts writing it now, while the rest arrives and is checked: the sync
                // before the file is installed then has little left to wait for.
                Self.startWriteback(out.fileDescriptor, from: written, count: Int64(data.count))
                written += Int64(data.count)
            }
            // Synced once it is installed (the installer syncs the whole file before the rename).
            try out.close()
        } catch {
            try? out.close()
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        let sha = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        guard written == offer.bytes, sha == offer.sha256 else {
            try? FileManager.default.removeItem(atPath: path)
            throw SyncError(.badResponse, "the hub's snapshot arrived damaged (\(written) of \(offer.bytes) bytes, SHA-256 \(sha.prefix(12))… instead of \(offer.sha256.prefix(12))…); nothing was installed. Run `yuqing sync` again",
                            zh: "中心的快照在传输中受损（收到 \(written)/\(offer.bytes) 字节，SHA-256 为 \(sha.prefix(12))… 而非 \(offer.sha256.prefix(12))…）；未安装任何内容。请再次运行 `yuqing sync`")
        }
    }

    /// A replica's changes in one part of a snapshot: counters and hashes in the order the rows
    /// come (key order), and `order`, their indices sorted by counter. The parts' are never
    /// copied into one: a run's changes are found in each.
    struct Leaves: Sendable {
        var counters: [UInt64] = []
        var hashes: [UInt8] = []
        var order: [Int32] = []

        mutating func append(_ counter: UInt64, _ hash: [UInt8]) {
            counters.append(counter)
            hashes.append(contentsOf: hash)
        }

        mutating func sort() {
            let counters = counters
            order = counters.indices.sorted { counters[$0] < counters[$1] }.map { Int32($0) }
        }

        /// Where the counters `from...to` are in `order`.
        func span(from: UInt64, to: UInt64) -> Range<Int> {
            func lowerBound(_ x: UInt64) -> Int {
                var lo = 0, hi = order.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if counters[Int(order[mid])] < x { lo = mid + 1 } else { hi = mid }
                }
                return lo
            }
            return lowerBound(from)..<(to == .max ? order.count : lowerBound(to + 1))
        }
    }

    /// What a check found: the seals it verified (0 on a node not enrolled), the largest clock of
    /// the values, and the open conflicts among them.
    public struct Checked: Sendable {
        public var seals: Int
        public var maxHLC: UInt64
        public var conflicts: Int
    }

    /// Checks every change of the snapshot against the seal of the device that made it (the
    /// hub's own against the key enrolment taught): each change's hash from its row, each run's
    /// Merkle root from those hashes (and the proof of the changes superseded since), each root
    /// against its signature, and every change covered by a seal. Returns the seals checked; 0
    /// when the node is not enrolled (it checks no seal, as its pulls check none).
    public static func check(_ file: SnapshotFile, security: NodeSecurity?, schema: Schema) throws -> Checked {
        // The parts are read on threads of their own (the machine's other core hashes too), and
        // SQLite's check of the file beside them. A node not enrolled checks no seal (as its
        // pulls check none), but everything else.
        let parts = file.parts
        let results = Mutex<[Int: Result<([Int64: Leaves], SnapshotFile.PartReading), any Error>]>([:])
        let flagged: @Sendable (String, String) -> Bool = { kind, field in schema.rule(for: RecordRef(kind: kind, id: ""), FieldKey(field)) == .flag }
        // SQLite's check first (it takes about as long as a part), then the parts, as threads free.
        DispatchQueue.concurrentPerform(iterations: parts + 1) { task in
            let part = task - 1
            let outcome = Result { () throws -> ([Int64: Leaves], SnapshotFile.PartReading) in
                if task == 0 {
                    try file.checkIntegrity()
                    return ([:], SnapshotFile.PartReading())
                }
                var byNumber = [Leaves](repeating: Leaves(), count: file.ridLimit)
                var digest = [UInt8](repeating: 0, count: 32)
                let reading = try file.forEachChange(part: part, flagged: flagged) { rid, counter, canonical in
                    digest.withUnsafeMutableBytes { OneShotSHA256.hash(canonical, into: $0.baseAddress!) }
                    byNumber[Int(rid)].append(counter, digest)
                }
                var mine: [Int64: Leaves] = [:]
                for (rid, leaves) in byNumber.enumerated() where !leaves.counters.isEmpty {
                    mine[Int64(rid)] = leaves
                    mine[Int64(rid)]!.sort()
                    // Every held change is in the seen set.
                    let ranges = file.seen[Int64(rid)] ?? []
                    var r = 0
                    for k in mine[Int64(rid)]!.order {
                        let c = leaves.counters[Int(k)]
                        while r < ranges.count, ranges[r].upperBound < c { r += 1 }
                        guard r < ranges.count, ranges[r].contains(c) else {
                            throw refused("it holds change \(try file.name(Int64(rid))):\(c), which it does not count as seen")
                        }
                    }
                }
                return (mine, reading)
            }
            results.withLock { $0[task] = outcome }
        }
        var byRid: [Int64: [Leaves]] = [:]
        var total = SnapshotFile.PartReading()
        for task in 0...parts {
            let (mine, reading) = try results.withLock { $0[task]! }.get()
            total.values += reading.values
            total.conflicts += reading.conflicts
            total.maxHLC = max(total.maxHLC, reading.maxHLC)
            for (rid, leaves) in mine { byRid[rid, default: []].append(leaves) }
        }
        // The parts' values against `count(*)`, which counts every page of the table (rows out of
        // order could hide from a search by key, never from the count).
        guard total.values == file.manifest.values else { throw refused("its table of values does not read the same by key as in full") }
        // No held change supersedes another held one (replay would have removed the one it names).
        func holds(_ rid: Int64, _ counter: UInt64) -> Bool {
            byRid[rid]?.contains { !$0.span(from: counter, to: counter).isEmpty } ?? false
        }
        for (rid, byCounter) in file.contexts.enumerated() {
            for (counter, names) in byCounter where holds(Int64(rid), counter) {
                for dot in names {
                    if let named = file.number(of: dot.replica), holds(named, dot.counter) {
                        throw refused("it holds change \(dot) beside the change \(try file.name(Int64(rid))):\(counter) that superseded it")
                    }
                }
            }
        }
        guard let security, let hubKey = security.hubKey else { return Checked(seals: 0, maxHLC: total.maxHLC, conflicts: total.conflicts) }
        var ridByName: [ReplicaID: Int64] = [:]
        for rid in byRid.keys { ridByName[try file.name(rid)] = rid }
        let proofs = Dictionary(try file.proofs().map { (Seal(replica: $0.replica, first: $0.first, last: $0.last, signature: ""), $0.hashes) },
                                uniquingKeysWith: { a, _ in a })
        var covered: [Int64: [[Bool]]] = byRid.mapValues { $0.map { [Bool](repeating: false, count: $0.counters.count) } }
        // The keys first (device records the snapshot holds, checked with the rest), then the
        // runs in two halves on two threads.
        var keys: [ReplicaID: PublicKey] = [file.manifest.hub: hubKey]
        let seals = try file.seals()
        for seal in seals where keys[seal.replica] == nil {
            guard let text = try file.text(kind: security.keys.kind, record: seal.replica.rawValue, field: security.keys.field) else {
                throw refused("it holds changes sealed by \(seal.replica), which is no enrolled device it names: they may be forged")
            }
            keys[seal.replica] = try PublicKey(base64: text)
        }
        let hub = file.manifest.hub, leavesByRid = byRid, knownKeys = keys, ridOf = ridByName
        let halves = Mutex<[Int: Result<[(Int64, Int, Range<Int>)], any Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: 2) { half in
            let outcome = Result { () throws -> [(Int64, Int, Range<Int>)] in
                var spans: [(Int64, Int, Range<Int>)] = []
                for seal in seals[half == 0 ? 0..<seals.count / 2 : seals.count / 2..<seals.count] {
                    let rid = ridOf[seal.replica]
                    let found = try checkRun(seal, key: knownKeys[seal.replica]!, parts: rid.flatMap { leavesByRid[$0] } ?? [],
                                             proof: proofs[Seal(replica: seal.replica, first: seal.first, last: seal.last, signature: "")], hub: hub)
                    if let rid { for (part, span) in found { spans.append((rid, part, span)) } }
                }
                return spans
            }
            halves.withLock { $0[half] = outcome }
        }
        for half in 0..<2 {
            for (rid, part, span) in try halves.withLock({ $0[half]! }).get() {
                let order = byRid[rid]![part].order
                for k in span { covered[rid]![part][Int(order[k])] = true }
            }
        }
        for (rid, parts) in covered {
            for (part, flags) in parts.enumerated() {
                if let i = flags.firstIndex(of: false) {
                    throw refused("change \(try file.name(rid)):\(byRid[rid]![part].counters[i]) has no seal of the device that made it; it may have been forged")
                }
            }
        }
        // What it counts as seen lies within runs their devices signed: a seen set that ran past
        // them would have the node drop those devices' next changes as duplicates.
        var runs: [ReplicaID: [ClosedRange<UInt64>]] = [:]
        for seal in seals { runs[seal.replica, default: []].append(seal.first...seal.last) }
        for (rid, ranges) in file.seen {
            var mine = (runs[try file.name(rid)] ?? []).sorted { $0.lowerBound < $1.lowerBound }
            // Adjacent and overlapping runs as one.
            var merged: [ClosedRange<UInt64>] = []
            for r in mine {
                if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                    merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
                } else {
                    merged.append(r)
                }
            }
            mine = merged
            for range in ranges where !mine.contains(where: { $0.lowerBound <= range.lowerBound && range.upperBound <= $0.upperBound }) {
                throw refused("it counts changes \(try file.name(rid)):\(range.lowerBound)...\(range.upperBound) as seen, which no seal it holds covers")
            }
        }
        return Checked(seals: seals.count, maxHLC: total.maxHLC, conflicts: total.conflicts)
    }

    /// Checks one seal over the changes of its run the snapshot holds (found in each part's
    /// leaves of its replica) and `proof` for the rest; where in each part it found them.
    static func checkRun(_ seal: Seal, key: PublicKey, parts: [Leaves], proof: [[UInt8]]?, hub: ReplicaID) throws -> [(Int, Range<Int>)] {
        // A device seals what one push carries (at most 10,000 changes, `Protocol/sync.md` §5.2).
        guard seal.first >= 1, seal.first <= seal.last, seal.count <= 1_000_000 else {
            throw refused("a seal's run \(seal.replica):\(seal.first)...\(seal.last) is not one a device makes")
        }
        // The held changes of the run, by counter: (counter, part, row in the part).
        var spans: [(Int, Range<Int>)] = []
        var held: [(counter: UInt64, part: Int32, row: Int32)] = []
        for (p, leaves) in parts.enumerated() {
            let span = leaves.span(from: seal.first, to: seal.last)
            guard !span.isEmpty else { continue }
            spans.append((p, span))
            for k in span { held.append((leaves.counters[Int(leaves.order[k])], Int32(p), leaves.order[k])) }
        }
        if spans.count > 1 { held.sort { $0.counter < $1.counter } }
        for i in held.indices.dropFirst() where held[i].counter == held[i - 1].counter {
            throw refused("it holds change \(seal.replica):\(held[i].counter) twice")
        }
        func hash(_ h: (counter: UInt64, part: Int32, row: Int32), into slot: UnsafeMutableRawPointer) {
            parts[Int(h.part)].hashes.withUnsafeBytes { slot.copyMemory(from: $0.baseAddress!.advanced(by: Int(h.row) * 32), byteCount: 32) }
        }
        let digest: [UInt8]
        if UInt64(held.count) == seal.count {
            digest = MerkleTree.root(count: held.count, writeLeaf: { i, slot in
                hash(held[i], into: slot.baseAddress!)
                return 32
            })
        } else {
            guard let proof else {
                throw refused("it holds part of the run \(seal.replica):\(seal.first)...\(seal.last) without the proof that checks it")
            }
            var present: [UInt64: Int] = [:]
            for (i, h) in held.enumerated() { present[h.counter - seal.first] = i }
            guard let root = MerkleTree.root(count: Int(seal.count), present: { present[UInt64($0)] != nil },
                                             leaf: { i in
                                                 var out = [UInt8](repeating: 0, count: 32)
                                                 out.withUnsafeMutableBytes { hash(held[present[UInt64(i)]!], into: $0.baseAddress!) }
                                                 return out
                                             },
                                             proof: proof) else {
                throw refused("the proof of the run \(seal.replica):\(seal.first)...\(seal.last) does not fit its changes: they were altered or forged")
            }
            digest = root
        }
        do { try seal.verify(digest: digest, key: key) } catch {
            throw refused("changes \(seal.replica):\(seal.first)...\(seal.last) are not what \(seal.replica == hub ? "the hub" : "device \(seal.replica)") signed: they were altered or forged")
        }
        return spans
    }

    static func refused(_ why: String) -> ReplicaError {
        ReplicaError(.unsealed, "the hub's snapshot was refused: \(why). Nothing was installed; tell the office",
                     zh: "中心的快照被拒绝：\(why)。未安装任何内容；请告知办公室")
    }

    typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    /// Linux's `sync_file_range` (not in Swift's Glibc module), or nil.
    static let syncFileRange: SyncFileRange? = dlsym(dlopen(nil, RTLD_NOW), "sync_file_range").map { unsafeBitCast($0, to: SyncFileRange.self) }

    /// Starts writing `count` bytes of `fd` from `offset` to disk without waiting
    /// (`SYNC_FILE_RANGE_WRITE`); nothing where the call is missing.
    static func startWriteback(_ fd: Int32, from offset: Int64, count: Int64) {
        _ = syncFileRange?(fd, offset, count, 2)
    }

    static func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }
}
