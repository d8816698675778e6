import GRDB
import YuqingCore

/// The counters of one replica's changes applied here, as sorted, disjoint, non-adjacent ranges.
///
/// Changes from one replica normally arrive in counter order, so this is one range per replica;
/// it stays exact when they do not.
struct CounterRanges: Hashable, Sendable {
    private(set) var ranges: [ClosedRange<UInt64>] = []

    init(_ ranges: [ClosedRange<UInt64>] = []) { self.ranges = ranges }

    func contains(_ c: UInt64) -> Bool {
        guard let last = ranges.last else { return false }
        if last.contains(c) { return true }
        if c > last.upperBound { return false }
        let i = firstIndex(lowerAbove: c)
        return i > 0 && ranges[i - 1].contains(c)
    }

    /// Inserts `c`; false when it was already there.
    @discardableResult
    mutating func insert(_ c: UInt64) -> Bool {
        guard let last = ranges.last else {
            ranges.append(c...c)
            return true
        }
        if c > last.upperBound {
            if c == last.upperBound + 1 { ranges[ranges.count - 1] = last.lowerBound...c } else { ranges.append(c...c) }
            return true
        }
        let i = firstIndex(lowerAbove: c)
        if i > 0, ranges[i - 1].contains(c) { return false }
        let joinsPrevious = i > 0 && ranges[i - 1].upperBound + 1 == c
        let joinsNext = i < ranges.count && ranges[i].lowerBound == c + 1
        switch (joinsPrevious, joinsNext) {
        case (true, true):
            ranges[i - 1] = ranges[i - 1].lowerBound...ranges[i].upperBound
            ranges.remove(at: i)
        case (true, false): ranges[i - 1] = ranges[i - 1].lowerBound...c
        case (false, true): ranges[i] = c...ranges[i].upperBound
        case (false, false): ranges.insert(c...c, at: i)
        }
        return true
    }

    var max: UInt64 { ranges.last?.upperBound ?? 0 }
    var count: UInt64 { ranges.reduce(0) { $0 + ($1.upperBound - $1.lowerBound + 1) } }

    /// The index of the first range whose lower bound is above `c`.
    private func firstIndex(lowerAbove c: UInt64) -> Int {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].lowerBound > c { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

/// What the replica's bookkeeping tables hold, kept in memory between write transactions: the
/// interned replica ids, the seen set, the clock, and two counters.
///
/// It is loaded inside a write transaction, changed only inside write transactions, written back
/// before they commit, and kept only once they have: a transaction that fails leaves the
/// previous copy in place. When another connection (another process) has committed to the file
/// meanwhile, SQLite's `data_version` changes and the copy is loaded again.
struct Bookkeeping: Sendable {
    var ridByName: [ReplicaID: Int64] = [:]
    var nameByRid: [Int64: ReplicaID] = [:]
    var seen: [Int64: CounterRanges] = [:]
    var dirtySeen: Set<Int64> = []
    var hlc: UInt64 = 0
    var storedHLC: UInt64 = 0
    /// Set when the clock was brought back below timestamps already in the log.
    var clockMovedBack = false
    /// Rows in `waiting_change`.
    var waiting = 0
    /// Rows in `waiting_change` by the interned id of the replica that sent them.
    var waitingByOrigin: [Int64: Int] = [:]
    /// Field keys whose rule flags them and that hold more than one value.
    var openConflicts = 0
    var storedOpenConflicts = 0
    /// At the hub: records whose visibility fields this transaction changed, with the log
    /// position of the last such change (their grants are brought up to date before it commits).
    var scopeTouched: [RecordRef: ScopeTouch] = [:]
    /// At a hub, inside a write transaction: the fields its rule check keeps, and what the merge
    /// did to them so far (``FieldCache``). A push undone drops its part with the bookkeeping.
    var fieldWatch: FieldCache.Watch?
    var fieldOps: [FieldCache.Op] = []

    static func load(_ db: Database, schema: Schema, own: ReplicaID? = nil) throws -> Bookkeeping {
        var b = Bookkeeping()
        b.nameByRid = try ReplicaNames.load(db).byRid
        for (rid, id) in b.nameByRid { b.ridByName[id] = rid }
        var ranges: [Int64: [ClosedRange<UInt64>]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT rid, lo, hi FROM seen_range ORDER BY rid, lo") {
            ranges[row["rid"], default: []].append(UInt64(row["lo"] as Int64)...UInt64(row["hi"] as Int64))
        }
        b.seen = ranges.mapValues(CounterRanges.init)
        // A transaction of local writes does not store the replica's own range (it would cost a
        // page per write): its own changes are all in the log, numbered on from the stored range.
        if let own, let rid = b.ridByName[own], let unstored = try OwnRange.unstored(db, rid: rid, storedMax: b.seen[rid]?.max ?? 0) {
            for c in unstored { b.seen[rid, default: CounterRanges()].insert(c) }
            b.dirtySeen.insert(rid)
        }
        // The clock is stored with the log position it covers; local writes after that are not
        // stored again (it would cost a page per write), and the last of them holds the latest.
        let stored = UInt64(try Meta.get(db, "hlc") ?? Int64(0))
        let storedAt: Int64 = try Meta.get(db, "hlc_seq") ?? 0
        b.hlc = stored
        if let last = try Row.fetchOne(db, sql: "SELECT seq, hlc FROM log ORDER BY seq DESC LIMIT 1"), (last["seq"] as Int64) > storedAt {
            b.hlc = max(stored, UInt64(last["hlc"] as Int64))
        }
        b.storedHLC = stored
        for row in try Row.fetchAll(db, sql: "SELECT origin, count(*) AS n FROM waiting_change GROUP BY origin") {
            b.waitingByOrigin[row["origin"]] = row["n"]
        }
        b.waiting = b.waitingByOrigin.values.reduce(0, +)
        if let stored: Int = try Meta.get(db, "open_conflicts") {
            b.openConflicts = stored
            b.storedOpenConflicts = stored
        } else {
            // Not counted yet (a file from before the count was kept): count once.
            b.openConflicts = try Row.fetchAll(db, sql: """
                SELECT kind, field FROM field_value GROUP BY kind, record, field, elem HAVING count(DISTINCT value) > 1
                """).count { schema.rule(for: RecordRef(kind: $0["kind"], id: ""), FieldKey($0["field"])) == .flag }
            b.storedOpenConflicts = -1
        }
        return b
    }

    /// The interned number of a replica id, adding it on first sight.
    mutating func rid(_ id: ReplicaID, _ db: Database) throws -> Int64 {
        if let r = ridByName[id] { return r }
        try db.execute(sql: "INSERT INTO replica_name (name) VALUES (?)", arguments: [id.rawValue])
        let r = db.lastInsertedRowID
        ridByName[id] = r
        nameByRid[r] = id
        return r
    }

    func name(_ rid: Int64) throws -> ReplicaID {
        guard let n = nameByRid[rid] else {
            throw ReplicaError(.corrupt, "replica number \(rid) is missing from replica_name", zh: "replica_name 中缺少副本编号 \(rid)")
        }
        return n
    }

    func isSeen(_ rid: Int64, _ counter: UInt64) -> Bool { seen[rid]?.contains(counter) ?? false }

    func isSeen(_ dot: Dot) -> Bool {
        guard let r = ridByName[dot.replica] else { return false }
        return isSeen(r, dot.counter)
    }

    mutating func markSeen(_ rid: Int64, _ counter: UInt64) {
        seen[rid, default: CounterRanges()].insert(counter)
        dirtySeen.insert(rid)
    }

    /// The highest counter seen from a replica.
    func maxCounter(_ id: ReplicaID) -> UInt64 { ridByName[id].flatMap { seen[$0]?.max } ?? 0 }

    /// Writes what changed back to the tables (inside the transaction). A transaction of local
    /// writes only (`localOnly`) stores neither the clock nor the replica's own seen range: its
    /// log rows hold both (see ``OwnRange``).
    mutating func flush(_ db: Database, localOnly: Bool = false, own: ReplicaID? = nil) throws {
        let storeClock = !localOnly
        if localOnly, let own, let rid = ridByName[own] { dirtySeen.remove(rid) }
        if !dirtySeen.isEmpty {
            let delete = try FastStatement(db, "DELETE FROM seen_range WHERE rid = ?")
            let insert = try FastStatement(db, "INSERT INTO seen_range (rid, lo, hi) VALUES (?, ?, ?)")
            for rid in dirtySeen.sorted() {
                delete.bind(1, rid)
                try delete.run()
                for r in seen[rid]?.ranges ?? [] {
                    insert.bind(1, rid)
                    insert.bind(2, Int64(r.lowerBound))
                    insert.bind(3, Int64(r.upperBound))
                    try insert.run()
                }
            }
            dirtySeen.removeAll()
        }
        if storeClock, hlc != storedHLC || clockMovedBack {
            try Meta.set(db, "hlc", Int64(hlc))
            try Meta.set(db, "hlc_seq", try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM log") ?? 0)
            storedHLC = hlc
            clockMovedBack = false
        }
        if openConflicts != storedOpenConflicts {
            try Meta.set(db, "open_conflicts", openConflicts)
            storedOpenConflicts = openConflicts
        }
    }
}

/// The replica-id table, read once for a read transaction.
struct ReplicaNames {
    var byRid: [Int64: ReplicaID] = [:]

    static func load(_ db: Database) throws -> ReplicaNames {
        var n = ReplicaNames()
        let q = try FastStatement(db, "SELECT rid, name FROM replica_name")
        defer { q.reset() }
        while try q.step() { n.byRid[q.int64(0)] = ReplicaID(q.text(1)) }
        return n
    }

    /// The number of replica `name`, or nil when this replica has none for it.
    static func rid(_ db: Database, _ name: ReplicaID) throws -> Int64? {
        let q = try FastStatement(db, "SELECT rid FROM replica_name WHERE name = ?")
        q.bind(1, name.rawValue)
        return try q.single()
    }

    /// The name of replica number `rid`, read on its own.
    static func name(_ db: Database, _ rid: Int64) throws -> ReplicaID {
        let q = try FastStatement(db, "SELECT name FROM replica_name WHERE rid = ?")
        defer { q.reset() }
        q.bind(1, rid)
        guard try q.step() else { throw missing(rid) }
        return ReplicaID(q.text(0))
    }

    static func missing(_ rid: Int64) -> ReplicaError {
        ReplicaError(.corrupt, "replica number \(rid) is missing from replica_name", zh: "replica_name 中缺少副本编号 \(rid)")
    }

    func name(_ rid: Int64) throws -> ReplicaID {
        guard let n = byRid[rid] else { throw Self.missing(rid) }
        return n
    }
}

/// The counters of a replica's own changes beyond its range stored in `seen_range`: local writes
/// leave that range as it is and only log their changes, which are numbered on from it.
enum OwnRange {
    static let unstoredSQL = """
        SELECT (SELECT min(counter) FROM log WHERE rid = ?1 AND counter > ?2),
               (SELECT max(counter) FROM log WHERE rid = ?1 AND counter > ?2)
        """

    /// Its statements are prepared once: a node reads this at every sync (``Replica/info()``).
    static func unstored(_ db: Database, rid: Int64, storedMax: UInt64) throws -> ClosedRange<UInt64>? {
        // Two subqueries, each a single seek of `log_dot`: `min` and `max` in one aggregate
        // made SQLite step through every own change after `storedMax`, which on a node is its
        // whole history (a node's own dots are not kept in `seen_range`), read twice a sync.
        let q = try FastStatement(db, unstoredSQL)
        defer { q.reset() }
        q.bind(1, rid)
        q.bind(2, Int64(storedMax))
        guard try q.step(), !q.isNull(0), !q.isNull(1) else { return nil }
        return UInt64(q.int64(0))...UInt64(q.int64(1))
    }

    /// The highest counter of `rid` in the stored seen ranges (0 when none).
    static func storedMax(_ db: Database, _ rid: Int64) throws -> UInt64 {
        let q = try FastStatement(db, "SELECT max(hi) FROM seen_range WHERE rid = ?")
        q.bind(1, rid)
        return UInt64(try q.single() ?? 0)
    }
}
