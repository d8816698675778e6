import Foundation
import GRDB
import GRDBSQLite
import YuqingCore

/// What a hub's snapshot holds (`Protocol/sync.md` §5.11): a node's replica of everything the hub
/// held at log position `position`, which a new node starts from instead of replaying the log.
public struct SnapshotManifest: Codable, Sendable, Hashable {
    public var hub: ReplicaID
    /// The log position the snapshot covers: the node pulls on from here.
    public var position: Int64
    /// Field values in it.
    public var values: Int
    /// Seals in it (with a proof each for a run it holds only in part).
    public var seals: Int

    public init(hub: ReplicaID, position: Int64, values: Int, seals: Int) {
        self.hub = hub
        self.position = position
        self.values = values
        self.seals = seals
    }
}

/// A set of counters from `from` to `to`, a bit each.
struct CounterBits {
    let base: UInt64
    var words: [UInt64]

    init(from: UInt64, to: UInt64) {
        base = from
        words = [UInt64](repeating: 0, count: to >= from ? Int((to - from) / 64) + 1 : 0)
    }

    mutating func insert(_ n: UInt64) {
        guard n >= base, Int((n - base) / 64) < words.count else { return }
        words[Int((n - base) / 64)] |= 1 << ((n - base) % 64)
    }

    func contains(_ n: UInt64) -> Bool {
        guard n >= base, Int((n - base) / 64) < words.count else { return false }
        return words[Int((n - base) / 64)] & (1 << ((n - base) % 64)) != 0
    }

    /// How many of `from...to` it holds.
    func count(from: UInt64, to: UInt64) -> Int {
        var n = 0, c = max(from, base)
        let end = min(to, base + UInt64(words.count) * 64 - 1)
        guard !words.isEmpty else { return 0 }
        while c <= end {
            let i = Int((c - base) / 64), bit = (c - base) % 64
            if bit == 0, end - c >= 63 {
                n += words[i].nonzeroBitCount
                c += 64
            } else {
                if words[i] & (1 << bit) != 0 { n += 1 }
                c += 1
            }
        }
        return n
    }
}

/// The tables a snapshot carries beside a node's own, for the node's check and dropped before it
/// is installed: the contexts of the changes whose values it holds, and the proofs of the seals
/// whose runs it holds only in part (the rest of each run was superseded).
enum SnapshotTables {
    static let context = """
        CREATE TABLE snapshot_context (rid INTEGER NOT NULL, counter INTEGER NOT NULL, context BLOB NOT NULL,
          PRIMARY KEY (rid, counter)) WITHOUT ROWID
        """
    static let proof = """
        CREATE TABLE snapshot_proof (replica TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, hashes BLOB NOT NULL,
          PRIMARY KEY (replica, first, last)) WITHOUT ROWID
        """
}

extension Replica {
    /// How many parts a hub's snapshot offers to split its values into (`snapshot_splits`).
    static let snapshotParts = 8

    /// Writes a snapshot of this hub into a new file at `path` (replaced if there is one): a
    /// node's replica of every value the hub holds, its seen dots, its replica names and seals, and
    /// what a node needs to check every seal (`Protocol/sync.md` §5.11). Read from one consistent
    /// state of the hub while it goes on serving.
    ///
    /// Returns nil, writing nothing, when the hub's state cannot make a snapshot now: changes wait
    /// for others, or the hub's own latest changes are not sealed yet (seal them and call again).
    /// `proof(seal, run, held)` gives the proof of a seal whose run the snapshot holds only the
    /// changes `held` of.
    public func writeSnapshot(to path: String,
                              proof: (Seal, [Change], (UInt64) -> Bool) throws -> [[UInt8]]) throws -> SnapshotManifest? {
        guard role == .hub else {
            throw ReplicaError(.invalidWrite, "only a hub makes snapshots", zh: "只有中心可以生成快照")
        }
        for suffix in ["", "-journal", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        do {
            let target = try DatabaseQueue(path: path)
            try ReplicaSchema.migrator.migrate(target)
            let manifest: SnapshotManifest? = try target.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = OFF")
                try db.execute(sql: "PRAGMA synchronous = OFF")
                try db.execute(sql: "ATTACH DATABASE ? AS hub", arguments: [self.path])
                defer { try? db.execute(sql: "DETACH DATABASE hub") }
                try db.execute(sql: "BEGIN")
                do {
                    let made = try copyHub(db, proof: proof)
                    try db.execute(sql: made == nil ? "ROLLBACK" : "COMMIT")
                    return made
                } catch {
                    try? db.execute(sql: "ROLLBACK")
                    throw error
                }
            }
            try target.close()
            guard let manifest else {
                try? FileManager.default.removeItem(atPath: path)
                return nil
            }
            try FileHandle(forUpdating: URL(fileURLWithPath: path)).synchronizeAndClose()
            return manifest
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw ReplicaError.storage(error, path: path)
        }
    }

    private func copyHub(_ db: Database, proof: (Seal, [Change], (UInt64) -> Bool) throws -> [[UInt8]]) throws -> SnapshotManifest? {
        // The first read fixes the hub's state this transaction sees.
        guard try Int.fetchOne(db, sql: "SELECT count(*) FROM hub.waiting_change") == 0 else { return nil }
        let position = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM hub.log") ?? 0
        let hubRid = try Int64.fetchOne(db, sql: "SELECT rid FROM hub.replica_name WHERE name = ?", arguments: [id.rawValue])
        if let rid = hubRid {
            let own = try Int64.fetchOne(db, sql: "SELECT coalesce(max(counter), 0) FROM hub.log WHERE rid = ?", arguments: [rid]) ?? 0
            let sealed = try Int64.fetchOne(db, sql: "SELECT coalesce(max(last), 0) FROM hub.seal WHERE replica = ?", arguments: [id.rawValue]) ?? 0
            guard own <= sealed else { return nil }
        }
        try db.execute(sql: "INSERT INTO replica_name SELECT rid, name FROM hub.replica_name")
        try db.execute(sql: "INSERT INTO seen_range SELECT rid, lo, hi FROM hub.seen_range WHERE rid IS NOT ?", arguments: [hubRid])
        // The hub's own changes: its stored ranges leave out its latest writes (they are in its
        // log), so they are read from the log, where all of them are.
        if let rid = hubRid {
            let insert = try FastStatement(db, "INSERT INTO seen_range (rid, lo, hi) VALUES (?, ?, ?)")
            let own = try FastStatement(db, "SELECT counter FROM hub.log WHERE rid = ? ORDER BY counter")
            defer { own.reset() }
            own.bind(1, rid)
            var run: (lo: Int64, hi: Int64)?
            func flush() throws {
                guard let r = run else { return }
                insert.bind(1, rid); insert.bind(2, r.lo); insert.bind(3, r.hi)
                try insert.run()
            }
            while try own.step() {
                let c = own.int64(0)
                if let r = run, c == r.hi + 1 { run = (r.lo, c) } else { try flush(); run = (c, c) }
            }
            try flush()
        }
        try db.execute(sql: "INSERT INTO field_value SELECT kind, record, field, elem, rid, counter, hlc, value, author FROM hub.field_value")
        try db.execute(sql: "INSERT INTO seal SELECT replica, first, last, signature, 0 FROM hub.seal")
        // The hub's element indexes (the field naming evidence): a node lists those elements at every sync.
        let indexes = try String.fetchAll(db, sql: "SELECT sql FROM hub.sqlite_master WHERE type = 'index' AND name LIKE 'field_value\\_elements\\_%' ESCAPE '\\'")
        for (kind, field) in indexes.compactMap({ Replica.elementIndexFields($0) }) {
            if let made = Replica.elementIndexSQL(kind: kind, field: field) { try db.execute(sql: made.sql) }
        }
        try db.execute(sql: SnapshotTables.context)
        try db.execute(sql: SnapshotTables.proof)
        try db.execute(sql: """
            INSERT INTO snapshot_context
            SELECT l.rid, l.counter, l.context FROM field_value f JOIN hub.log l ON l.rid = f.rid AND l.counter = f.counter
            WHERE length(l.context) > 0
            """)
        // The counters each replica's values hold, for the seals whose runs they hold in part: a
        // bit per counter from the replica's first to its last (a device's counters run on from
        // 1, so this is at most a bit per change of the log).
        var held: [Int64: CounterBits] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT rid, min(counter) AS lo, max(counter) AS hi FROM field_value GROUP BY rid") {
            held[row["rid"]] = CounterBits(from: UInt64(bitPattern: row["lo"]), to: UInt64(bitPattern: row["hi"]))
        }
        var values = 0
        let dots = try FastStatement(db, "SELECT rid, counter FROM field_value")
        defer { dots.reset() }
        while try dots.step() {
            held[dots.int64(0)]?.insert(UInt64(bitPattern: dots.int64(1)))
            values += 1
        }
        let names = try ReplicaNames.load(db)
        let ridByName = Dictionary(uniqueKeysWithValues: names.byRid.map { ($0.value, $0.key) })
        let seals = try Row.fetchAll(db, sql: "SELECT replica, first, last, signature FROM seal").map(Replica.seal)
        let insertProof = try FastStatement(db, "INSERT INTO snapshot_proof (replica, first, last, hashes) VALUES (?, ?, ?, ?)")
        let runRows = try FastStatement(db, "SELECT \(Store.logColumns) FROM hub.log WHERE rid = ? AND counter BETWEEN ? AND ? ORDER BY counter")
        for seal in seals {
            let counters = ridByName[seal.replica].flatMap { held[$0] } ?? CounterBits(from: 1, to: 0)
            guard UInt64(counters.count(from: seal.first, to: seal.last)) != seal.count else { continue }
            var run: [Change] = []
            if let rid = ridByName[seal.replica] {
                runRows.bind(1, rid); runRows.bind(2, Int64(bitPattern: seal.first)); runRows.bind(3, Int64(bitPattern: seal.last))
                defer { runRows.reset() }
                while try runRows.step() { run.append(try Coding.change(runRows, names: names).change) }
            }
            guard UInt64(run.count) == seal.count else {
                throw ReplicaError(.corrupt, "the hub's log lacks changes of the sealed run \(seal.replica) \(seal.first)...\(seal.last)",
                                   zh: "中心日志缺少已封签序列 \(seal.replica) \(seal.first)...\(seal.last) 中的变更")
            }
            let hashes = try proof(seal, run) { counter in counters.contains(counter) }
            var blob: [UInt8] = []
            blob.reserveCapacity(hashes.count * 32)
            for h in hashes { blob.append(contentsOf: h) }
            insertProof.bind(1, seal.replica.rawValue)
            insertProof.bind(2, Int64(bitPattern: seal.first))
            insertProof.bind(3, Int64(bitPattern: seal.last))
            insertProof.bind(4, blob: blob)
            try insertProof.run()
        }
        // Where a node's check may split the values between threads (any keys split them
        // correctly; these, evenly): the keys an eighth, two eighths, … seven eighths through.
        // Eight parts rather than four: a node checks the parts and SQLite's check of the file as
        // nine pieces of work on its cores, and with four parts one core was left idle at the end
        // while the other finished its third piece.
        // One pass of the table in key order, up to the last split (an OFFSET query for each
        // would step from the start seven times).
        var splits: [[String]] = []
        if values >= Self.snapshotParts {
            let q = try FastStatement(db, "SELECT kind, record FROM field_value ORDER BY kind, record, field, elem, rid, counter")
            defer { q.reset() }
            var row = 0, k = 1
            while k < Self.snapshotParts, try q.step() {
                defer { row += 1 }
                guard row == values * k / Self.snapshotParts else { continue }
                k += 1
                let key = [q.text(0), q.text(1)]
                if splits.last != key { splits.append(key) }
            }
        }
        if !splits.isEmpty {
            try Meta.set(db, "snapshot_splits", String(decoding: try JSONEncoder().encode(splits), as: UTF8.self))
        }
        let conflicts = try Int64.fetchOne(db, sql: "SELECT value FROM hub.meta WHERE key = 'open_conflicts'")
        let hlc = try Int64.fetchOne(db, sql: "SELECT coalesce(max(hlc), 0) FROM field_value") ?? 0
        for (key, value) in [("pull_cursor", position.databaseValue), ("hub_id", id.rawValue.databaseValue),
                             ("snapshot_position", position.databaseValue), ("hlc", hlc.databaseValue),
                             ("open_conflicts", conflicts?.databaseValue ?? .null)] where !value.isNull {
            try Meta.set(db, key, value)
        }
        return SnapshotManifest(hub: id, position: position, values: values, seals: seals.count)
    }
}

/// A snapshot a node downloaded, opened to be checked before it is installed (`Protocol/sync.md`
/// §6.5). The file comes from the network: its schema must be exactly a replica's (no trigger,
/// view or other object a write could set off), SQLite's check must pass, and every row the node
/// keeps is read here, in key order, so the caller can check each change against its seal.
public final class SnapshotFile: Sendable {
    public let path: String
    let queue: DatabaseQueue
    public let manifest: SnapshotManifest
    let names: ReplicaNames
    /// One more than the largest replica number the snapshot names: the rows' numbers are below it.
    public let ridLimit: Int
    /// The changes it says it has seen, by replica number, in order.
    public let seen: [Int64: [ClosedRange<UInt64>]]
    /// The dots each held change's context names (it superseded them): by the number of the
    /// replica that made the change, then its counter.
    public let contexts: [[UInt64: [Dot]]]
    let numbers: [ReplicaID: Int64]
    /// The keys that split the values into parts for ``forEachChange(part:_:)``, in order.
    let splits: [(kind: String, record: String)]
    /// The settings a snapshot may hold.
    static let metaKeys: Set<String> = ["snapshot_position", "pull_cursor", "hub_id", "hlc", "open_conflicts",
                                        "snapshot_splits"]

    /// Opens and checks the file's form; `hub` is the hub it must come from.
    public init(path: String, hub: ReplicaID) throws {
        self.path = path
        do {
            try ReplicaFile.requireReplica(path)
            var config = Configuration()
            config.readonly = true
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA cell_size_check = ON")
                try db.execute(sql: "PRAGMA trusted_schema = OFF")
            }
            queue = try DatabaseQueue(path: path, configuration: config)
        } catch {
            throw ReplicaError(.corrupt, "the hub's snapshot is not a readable replica (\(error)); nothing was installed",
                               zh: "中心的快照不是可读的副本（\(error)）；未安装任何内容")
        }
        let expected = try Self.expectedSchema()
        let (schema, migrations, meta, names) = try queue.read { db in
            (try Self.schema(db), try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier"),
             try Row.fetchAll(db, sql: "SELECT key, value FROM meta"), try ReplicaNames.load(db))
        }
        // Beside a replica's own tables, the element indexes a hub makes (``Replica/indexElements(kind:field:)``), spelt exactly.
        let extra = schema.filter { !expected.schema.contains($0) }
        let elementIndexes = extra.allSatisfy { entry in
            let parts = entry.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 4, parts[0] == "index", parts[2] == "field_value", let (kind, field) = Replica.elementIndexFields(parts[3], earlier: true) else { return false }
            return Replica.elementIndexSQL(kind: kind, field: field)?.name == parts[1]
        }
        guard elementIndexes, expected.schema.allSatisfy(schema.contains), migrations == expected.migrations else {
            throw ReplicaError(.corrupt, "the hub's snapshot is not laid out as this version's replicas are (another version of yuqing at the hub, or an altered file); nothing was installed. Run `yuqing sync --no-snapshot` to replay the hub's log instead",
                               zh: "中心快照的结构与本版本的副本不同（中心运行的是另一版本的 yuqing，或文件被改动）；未安装任何内容。请运行 `yuqing sync --no-snapshot` 改为重放中心的日志")
        }
        var values: [String: DatabaseValue] = [:]
        for row in meta { values[row["key"]] = row["value"] }
        guard let position = values["snapshot_position"].flatMap(Int64.fromDatabaseValue), position >= 0,
              values["pull_cursor"].flatMap(Int64.fromDatabaseValue) == position,
              let from = values["hub_id"].flatMap(String.fromDatabaseValue), from == hub.rawValue,
              values.keys.allSatisfy(Self.metaKeys.contains) else {
            throw ReplicaError(.corrupt, "the snapshot does not come from hub \(hub) or does not say what it covers; nothing was installed",
                               zh: "该快照并非来自中心 \(hub)，或未说明其涵盖的范围；未安装任何内容")
        }
        guard names.byRid.keys.allSatisfy({ $0 >= 1 && $0 < 1 << 16 }), Set(names.byRid.values).count == names.byRid.count else {
            throw Self.refused("its replica numbers are beyond what a hub gives, or name one replica twice")
        }
        self.names = names
        ridLimit = Int(names.byRid.keys.max() ?? 0) + 1
        // At most 15 keys (16 parts); none when they are not a list of (kind, record).
        let listed = values["snapshot_splits"].flatMap(String.fromDatabaseValue)
            .flatMap { try? JSONDecoder().decode([[String]].self, from: Data($0.utf8)) } ?? []
        splits = listed.count <= 15 && listed.allSatisfy({ $0.count == 2 }) ? listed.map { ($0[0], $0[1]) } : []
        let (count, seals) = try queue.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM field_value") ?? 0, try Int.fetchOne(db, sql: "SELECT count(*) FROM seal") ?? 0)
        }
        manifest = SnapshotManifest(hub: hub, position: position, values: count, seals: seals)
        // What a node has to push, what waits, and the hub's own bookkeeping are never in a
        // snapshot: a table of them that is not empty would be installed unchecked.
        let unchecked = try queue.read { db in
            try ["log", "waiting_change", "seal_hash", "scope_grant", "sqlite_sequence"].filter { table in
                try db.tableExists(table) && (try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0) > 0
            }
        }
        guard unchecked.isEmpty else { throw Self.refused("it holds rows in \(unchecked.joined(separator: ", ")), which a snapshot never holds") }
        // The seen set: ranges of named replicas; the seals: runs no longer than a push.
        var seen: [Int64: [ClosedRange<UInt64>]] = [:]
        try queue.read { db in
            for row in try Row.fetchAll(db, sql: "SELECT rid, lo, hi FROM seen_range ORDER BY rid, lo") {
                guard let rid = row["rid"] as Int64?, let lo = row["lo"] as Int64?, let hi = row["hi"] as Int64?,
                      names.byRid[rid] != nil, lo >= 1, lo <= hi else { throw Self.refused("a range of its seen changes is not one") }
                seen[rid, default: []].append(UInt64(lo)...UInt64(hi))
            }
        }
        self.seen = seen
        // The contexts, decoded once for every part's reading and the supersession check.
        var contexts = [[UInt64: [Dot]]](repeating: [:], count: ridLimit)
        try queue.read { db in
            let c = try FastStatement(db, "SELECT rid, counter, context FROM snapshot_context")
            defer { c.reset() }
            while try c.step() {
                let rid = Int(c.int64(0))
                guard rid >= 0, rid < contexts.count else { throw Self.refused("a context names replica number \(rid), which has no name") }
                contexts[rid][UInt64(bitPattern: c.int64(1))] = try ContextBlob.decode(c.blob(2), names: names.name)
            }
        }
        self.contexts = contexts
        numbers = Dictionary(uniqueKeysWithValues: names.byRid.map { ($0.value, $0.key) })
    }

    deinit { try? queue.close() }

    static func schema(_ db: Database) throws -> [String] {
        try Row.fetchAll(db, sql: "SELECT type, name, tbl_name, coalesce(sql, '') AS sql FROM sqlite_master ORDER BY type, name").map {
            "\($0["type"] as String)|\($0["name"] as String)|\($0["tbl_name"] as String)|\($0["sql"] as String)"
        }
    }

    /// What a snapshot of this version holds: a replica's tables and the snapshot's own.
    static func expectedSchema() throws -> (schema: [String], migrations: [String]) {
        let queue = try DatabaseQueue()
        try ReplicaSchema.migrator.migrate(queue)
        return try queue.write { db in
            try db.execute(sql: SnapshotTables.context)
            try db.execute(sql: SnapshotTables.proof)
            return (try schema(db), try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier"))
        }
    }

    /// The replica id of a number the snapshot's rows use.
    public func name(_ rid: Int64) throws -> ReplicaID { try names.name(rid) }

    public func seals() throws -> [Seal] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT replica, first, last, signature FROM seal").map(Replica.seal)
        }
    }

    /// The proofs of the seals whose runs the snapshot holds in part, by seal.
    public func proofs() throws -> [SealProof] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT replica, first, last, hashes FROM snapshot_proof").map { row in
                let blob = (row["hashes"] as Data?) ?? Data()
                guard blob.count % 32 == 0 else {
                    throw ReplicaError(.corrupt, "a proof in the snapshot is not a whole number of hashes", zh: "快照中的某个证明不是整数个哈希值")
                }
                let bytes = [UInt8](blob)
                return SealProof(replica: ReplicaID(row["replica"] as String), first: UInt64(bitPattern: row["first"]), last: UInt64(bitPattern: row["last"]),
                                 hashes: stride(from: 0, to: bytes.count, by: 32).map { Array(bytes[$0..<$0 + 32]) })
            }
        }
    }

    /// The text of one field of one record, as the snapshot holds it (a device's key), or nil.
    public func text(kind: String, record: String, field: String) throws -> String? {
        try queue.read { db in
            try String.fetchOne(db, sql: Replica.deviceKeySQL, arguments: [kind, record, field])
        }
    }

    /// SQLite's check of the whole file (`PRAGMA quick_check`): run before the file is installed,
    /// beside the reading of its values (``forEachChange(part:_:)``) on another thread.
    public func checkIntegrity() throws {
        // `integrity_check`, not `quick_check`: it also finds indexes that do not match their
        // tables (a node reads some lists through an index alone).
        let report = try queue.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check(5)") }
        guard report == ["ok"] else {
            throw ReplicaError(.corrupt, "the hub's snapshot is damaged (SQLite's check reports: \(report.joined(separator: "; "))); nothing was installed. Tell the hub's operator, and run `yuqing sync --no-snapshot` to replay the log instead",
                               zh: "中心的快照已损坏（SQLite 检查报告：\(report.joined(separator: "; "))）；未安装任何内容。请告知中心运维人员，并运行 `yuqing sync --no-snapshot` 改为重放日志")
        }
    }

    /// The replica number of a name, if the snapshot names it.
    public func number(of replica: ReplicaID) -> Int64? { numbers[replica] }

    /// How many parts ``forEachChange(part:_:)`` splits the values into: one more than the keys
    /// the hub gave to split them at.
    public var parts: Int { splits.count + 1 }

    /// What reading a part found beside its changes.
    public struct PartReading: Sendable {
        /// Values read.
        public var values = 0
        /// The largest clock of them.
        public var maxHLC: UInt64 = 0
        /// Field keys whose values differ where `flagged` says a difference waits for the operator.
        public var conflicts = 0

        public init() {}
    }

    /// Calls `body` with the number of the replica, the counter and the canonical bytes
    /// (`Protocol/security.md` §3.1) of every change whose value part `part` of ``parts`` holds,
    /// in the table's key order, which is checked on the way: rows out of order, or a text that
    /// holds a NUL, are refused. Parts may be read at once, each on its own thread. Counts the
    /// open conflicts as replay keeps them: field keys with different values, of a field whose
    /// rule is to flag (`flagged(kind, field)`).
    @discardableResult
    public func forEachChange(part: Int = 0, flagged: (String, String) -> Bool = { _, _ in false },
                              _ body: (Int64, UInt64, UnsafeRawBufferPointer) throws -> Void) throws -> PartReading {
        var config = Configuration()
        config.readonly = true
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA cell_size_check = ON") }
        let reader = try DatabaseQueue(path: path, configuration: config)
        defer { try? reader.close() }
        return try reader.read { db in
            // Names by replica number (numbers run from 1; ``ridLimit`` bounds them).
            var nameBytes = [[UInt8]](repeating: [], count: ridLimit)
            for (rid, name) in names.byRid { nameBytes[Int(rid)] = Array(name.rawValue.utf8) }
            let columns = "SELECT kind, record, field, elem, rid, counter, hlc, value, author FROM field_value"
            // Part i holds the keys from split i - 1 (the first, from the start) to split i (the
            // last, to the end).
            let lower = part > 0 ? splits[part - 1] : nil, upper = part < splits.count ? splits[part] : nil
            let q = try FastStatement(db, columns + [lower.map { _ in "(kind, record) >= (?, ?)" }, upper.map { _ in "(kind, record) < (?, ?)" }]
                .compactMap { $0 }.reduce("") { $0 + ($0.isEmpty ? " WHERE " : " AND ") + $1 })
            var n: Int32 = 1
            for bound in [lower, upper].compactMap({ $0 }) {
                q.bind(n, bound.kind)
                q.bind(n + 1, bound.record)
                n += 2
            }
            defer { q.reset() }
            var w = CanonicalWriter()
            w.out.reserveCapacity(1024)
            var key: [UInt8] = [], previous: [UInt8] = []
            key.reserveCapacity(512)
            previous.reserveCapacity(512)
            var reading = PartReading()
            // The previous row's value, and whether its field key differs already (counted once).
            var previousValue: [UInt8] = [], value: [UInt8] = [], counted = false
            // Each row must lie between its part's keys (so no row is in two parts).
            let from = lower.map { Array($0.kind.utf8) + [0] + Array($0.record.utf8) + [0] }
            let to = upper.map { Array($0.kind.utf8) + [0] + Array($0.record.utf8) + [0] }
            func text(_ column: Int32) throws -> UnsafeRawBufferPointer {
                guard sqlite3_column_type(q.handle, column) == SQLITE_TEXT else { throw Self.refused("a text column holds another type") }
                guard let p = sqlite3_column_text(q.handle, column) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
                let n = Int(sqlite3_column_bytes(q.handle, column))
                if memchr(p, 0, n) != nil { throw Self.refused("a text holds a NUL") }
                return UnsafeRawBufferPointer(start: p, count: n)
            }
            while try q.step() {
                guard sqlite3_column_type(q.handle, 4) == SQLITE_INTEGER, sqlite3_column_type(q.handle, 5) == SQLITE_INTEGER,
                      sqlite3_column_type(q.handle, 6) == SQLITE_INTEGER else {
                    throw Self.refused("a dot or a clock is not an integer")
                }
                let rid = q.int64(4), counter = UInt64(bitPattern: q.int64(5))
                guard rid >= 0, rid < Int64(ridLimit), !nameBytes[Int(rid)].isEmpty else { throw Self.refused("replica number \(rid) has no name") }
                let kind = try text(0), record = try text(1), field = try text(2), elem = try text(3)
                // The key in SQLite's order (texts compared byte by byte, then the two integers).
                key.removeAll(keepingCapacity: true)
                key.append(contentsOf: kind); key.append(0)
                key.append(contentsOf: record); key.append(0)
                key.append(contentsOf: field); key.append(0)
                key.append(contentsOf: elem); key.append(0)
                withUnsafeBytes(of: UInt64(bitPattern: rid ^ Int64.min).bigEndian) { key.append(contentsOf: $0) }
                withUnsafeBytes(of: (counter ^ (1 << 63)).bigEndian) { key.append(contentsOf: $0) }
                guard previous.isEmpty || Self.precedes(previous, key, prefix: previous.count) else { throw Self.refused("its values are out of key order") }
                if from != nil || to != nil {
                    let prefix = kind.count + record.count + 2
                    guard from.map({ !Self.precedes(key, $0, prefix: prefix) }) ?? true, to.map({ Self.precedes(key, $0, prefix: prefix) }) ?? true else {
                        throw Self.refused("a value lies outside its part")
                    }
                }
                // Values of one field key are neighbours: a conflict is a field key whose values differ.
                let keyLength = key.count - 16
                let sameField = previous.count - 16 == keyLength && memcmp(previous, key, keyLength) == 0
                let isInteger = sqlite3_column_type(q.handle, 7) == SQLITE_INTEGER
                let textValue = try isInteger ? UnsafeRawBufferPointer(start: nil, count: 0) : text(7)
                value.removeAll(keepingCapacity: true)
                if isInteger {
                    value.append(2)
                    withUnsafeBytes(of: q.int64(7)) { value.append(contentsOf: $0) }
                } else {
                    value.append(1)
                    value.append(contentsOf: textValue)
                }
                if !sameField { counted = false }
                if sameField, !counted, value != previousValue {
                    counted = true
                    if flagged(String(decoding: kind, as: UTF8.self), String(decoding: field, as: UTF8.self)) { reading.conflicts += 1 }
                }
                swap(&value, &previousValue)
                swap(&key, &previous)
                reading.values += 1
                reading.maxHLC = max(reading.maxHLC, UInt64(bitPattern: q.int64(6)))
                w.out.removeAll(keepingCapacity: true)
                let context = contexts[Int(rid)].isEmpty ? [] : contexts[Int(rid)][counter] ?? []
                try nameBytes[Int(rid)].withUnsafeBytes { replica in
                    w.change(replica: replica, counter: counter, hlc: UInt64(bitPattern: q.int64(6)), kind: kind, record: record, field: field,
                             element: elem, value: isInteger ? .integer(q.int64(7)) : .text(textValue), context: context, author: try text(8))
                }
                try w.out.withUnsafeBytes { try body(rid, counter, $0) }
            }
            return reading
        }
    }

    /// Whether the first `prefix` bytes of `a` come before `b` in SQLite's order of texts (byte by
    /// byte, a prefix first).
    @inline(__always)
    static func precedes(_ a: [UInt8], _ b: [UInt8], prefix: Int) -> Bool {
        a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in
                let n = min(prefix, pa.count), common = min(n, pb.count)
                let c = common == 0 ? 0 : memcmp(pa.baseAddress!, pb.baseAddress!, common)
                return c < 0 || (c == 0 && n < pb.count)
            }
        }
    }


    static func refused(_ why: String) -> ReplicaError {
        ReplicaError(.corrupt, "the hub's snapshot was refused: \(why); nothing was installed", zh: "中心的快照被拒绝：\(why)；未安装任何内容")
    }

    /// Makes the checked snapshot the replica at `nodePath`, keeping that replica's identity,
    /// settings and what enrolment taught it: the node must be closed (``Replica/close()``), hold
    /// no work (a node made by `yuqing node init`) and sync with this snapshot's hub. The file is
    /// synced and then renamed over the node's, so a crash leaves one or the other whole.
    ///
    /// - Parameters:
    ///   - clock: the largest clock of the checked values (``PartReading/maxHLC``), taken as a
    ///     received clock is: no further ahead than `maxForwardDrift` of this device's clock.
    ///   - conflicts: the open conflicts counted while checking (``PartReading/conflicts``).
    public func install(over nodePath: String, clock: UInt64, conflicts: Int, now: UInt64,
                        maxForwardDrift: UInt64 = HybridLogicalClock.defaultMaxForwardDrift) throws {
        try queue.close()
        do {
            let target = try DatabaseQueue(path: path)
            try target.writeWithoutTransaction { db in
                try db.execute(sql: "ATTACH DATABASE ? AS node", arguments: [nodePath])
                defer { try? db.execute(sql: "DETACH DATABASE node") }
                try db.inTransaction {
                    guard try String.fetchOne(db, sql: "SELECT value FROM node.meta WHERE key = 'role'") == "node",
                          try Int.fetchOne(db, sql: "SELECT count(*) FROM node.log") == 0,
                          try Int64.fetchOne(db, sql: "SELECT coalesce(value, 0) FROM node.meta WHERE key = 'pull_cursor'") ?? 0 == 0 else {
                        throw ReplicaError(.invalidWrite, "a snapshot is installed only on a new node, which has made and pulled nothing",
                                           zh: "快照只能安装到尚未产生或拉取任何内容的新节点上")
                    }
                    if let bound = try String.fetchOne(db, sql: "SELECT value FROM node.meta WHERE key = 'hub_id'"), bound != manifest.hub.rawValue {
                        throw ReplicaError(.invalidWrite, "this node syncs with hub \(bound), not with hub \(manifest.hub) whose snapshot this is",
                                           zh: "本节点与中心 \(bound) 同步，而不是与生成此快照的中心 \(manifest.hub) 同步")
                    }
                    let bound = HLC(wallMillis: now &+ maxForwardDrift).packed
                    let hlc = max(Int64(bitPattern: min(clock, bound)), try Int64.fetchOne(db, sql: "SELECT value FROM node.meta WHERE key = 'hlc'") ?? 0)
                    try db.execute(sql: """
                        INSERT INTO meta (key, value) SELECT key, value FROM node.meta
                        WHERE key NOT IN ('pull_cursor', 'hub_id', 'hlc', 'hlc_seq', 'open_conflicts')
                          AND key NOT LIKE 'snapshot_%'
                        ON CONFLICT (key) DO UPDATE SET value = excluded.value
                        """)
                    try Meta.set(db, "hlc", hlc)
                    try Meta.set(db, "hlc_seq", 0)
                    try Meta.set(db, "open_conflicts", conflicts)
                    try db.execute(sql: "DELETE FROM meta WHERE key LIKE 'snapshot_%'")
                    try db.execute(sql: "INSERT OR IGNORE INTO replica_name (name) SELECT name FROM node.replica_name")
                    try db.execute(sql: "UPDATE seal SET verified = 1")
                    try db.execute(sql: "DROP TABLE snapshot_context")
                    try db.execute(sql: "DROP TABLE snapshot_proof")
                    return .commit
                }
            }
            try target.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            try target.close()
            try FileHandle(forUpdating: URL(fileURLWithPath: path)).synchronizeAndClose()
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: nodePath + suffix) }
            guard rename(path, nodePath) == 0 else {
                throw ReplicaError(.storage, "could not move the snapshot over \(nodePath) (\(String(cString: strerror(errno))))",
                                   zh: "无法用快照替换 \(nodePath)（\(String(cString: strerror(errno)))）")
            }
            let dir = (nodePath as NSString).deletingLastPathComponent
            let fd = Foundation.open(dir.isEmpty ? "." : dir, O_RDONLY)
            if fd >= 0 { fsync(fd); Foundation.close(fd) }
        } catch let error as ReplicaError {
            throw error
        } catch {
            throw ReplicaError.storage(error, path: nodePath)
        }
    }
}

extension FileHandle {
    func synchronizeAndClose() throws {
        try synchronize()
        try close()
    }
}
