import Foundation
import GRDB
import YuqingCore

/// Checks seals as changes arrive (`Protocol/security.md` §3). The replica stays free of
/// cryptography: it gives the verifier the hashes of a run's changes and a way to read device
/// keys, inside the transaction that applies them, so a page that fails is not applied at all.
public protocol SealVerifier: Sendable {
    /// The hash of one change, as its device computed it; `buffer` is scratch space the caller
    /// keeps from one change to the next.
    func hash(_ change: Change, buffer: inout [UInt8]) -> [UInt8]
    /// Throws unless the run's changes whose hashes `leaves` holds (by counter; all of the run, or
    /// part of it with `proof` for the rest) are what the key of `seal.replica` signed. `key`
    /// reads a value of the replica's records (device keys).
    func verify(_ seal: Seal, leaves: [UInt64: [UInt8]], proof: [[UInt8]], key: (ReplicaID) throws -> String?) throws
}

/// Where device keys are kept in the records (a record per device, named by its replica id).
public struct KeyLocation: Sendable {
    public var kind: String
    public var field: String
    public init(kind: String, field: String) {
        self.kind = kind
        self.field = field
    }
}

extension Replica {
    /// Stores seals (made here, or checked by the caller already).
    public func storeSeals(_ seals: [Seal], verified: Bool = true) throws {
        guard !seals.isEmpty else { return }
        try write { db in try Self.insertSeals(db, seals, verified: verified) }
    }

    static func insertSeals(_ db: Database, _ seals: [Seal], verified: Bool) throws {
        let q = try FastStatement(db, "INSERT OR IGNORE INTO seal (replica, first, last, signature, verified) VALUES (?, ?, ?, ?, ?)")
        for s in seals {
            q.bind(1, s.replica.rawValue)
            q.bind(2, Int64(bitPattern: s.first))
            q.bind(3, Int64(bitPattern: s.last))
            q.bind(4, s.signature)
            q.bind(5, verified ? 1 : 0)
            try q.run()
        }
    }

    /// A device's key: the value of one field of its record (kind, record, field), as pulls and
    /// snapshots both read it.
    static let deviceKeySQL = "SELECT value FROM field_value WHERE kind = ? AND record = ? AND field = ? AND elem = '' LIMIT 1"

    static func seal(_ row: Row) -> Seal {
        Seal(replica: ReplicaID(row["replica"] as String), first: UInt64(bitPattern: row["first"] as Int64),
             last: UInt64(bitPattern: row["last"] as Int64), signature: row["signature"])
    }

    /// The seals that cover at least one of `changes`.
    public func seals(covering changes: [Change]) throws -> [Seal] {
        guard !changes.isEmpty else { return [] }
        var counters: [ReplicaID: [UInt64]] = [:]
        for c in changes { counters[c.dot.replica, default: []].append(c.dot.counter) }
        return try read { db in
            var out: [Seal] = []
            for (replica, list) in counters.sorted(by: { $0.key < $1.key }) {
                let sorted = list.sorted()
                let rows = try Row.fetchAll(db, sql: """
                    SELECT replica, first, last, signature FROM seal WHERE replica = ? AND first <= ? AND last >= ? ORDER BY first, last
                    """, arguments: [replica.rawValue, Int64(bitPattern: sorted.last!), Int64(bitPattern: sorted.first!)])
                out += rows.map(Self.seal).filter { $0.coversAny(of: sorted) }
            }
            return out
        }
    }

    /// The stored seal that covers `dot`, with whether this replica checked it; nil when none does.
    public func seal(covering dot: Dot) throws -> (seal: Seal, verified: Bool)? {
        try read { db in
            try Row.fetchOne(db, sql: """
                SELECT replica, first, last, signature, verified FROM seal WHERE replica = ? AND first <= ? AND last >= ?
                ORDER BY verified DESC, first LIMIT 1
                """, arguments: [dot.replica.rawValue, Int64(bitPattern: dot.counter), Int64(bitPattern: dot.counter)])
                .map { (Self.seal($0), ($0["verified"] as Int64) == 1) }
        }
    }

    /// This replica's own changes after the last one it sealed, oldest first (at most `limit`):
    /// the run the hub seals with its key before serving it.
    public func unsealedOwnRun(limit: Int = 100_000) throws -> [Change] {
        try read { db in
            let sealed = try Int64.fetchOne(db, sql: "SELECT max(last) FROM seal WHERE replica = ?", arguments: [id.rawValue]) ?? 0
            guard let rid = try Int64.fetchOne(db, sql: "SELECT rid FROM replica_name WHERE name = ?", arguments: [id.rawValue]) else { return [] }
            let q = try FastStatement(db, "SELECT \(Store.logColumns) FROM log WHERE rid = ? AND counter > ? ORDER BY counter LIMIT ?")
            defer { q.reset() }
            q.bind(1, rid)
            q.bind(2, sealed)
            q.bind(3, Int64(limit))
            var out: [Change] = []
            // Run before every pull at the hub: nothing to seal is the usual answer, found without
            // reading the replica-name table.
            guard try q.step() else { return [] }
            let names = try ReplicaNames.load(db)
            repeat {
                let c = try Coding.change(q, names: names).change
                if let last = out.last?.dot.counter, c.dot.counter != last + 1 { break }
                if out.isEmpty, c.dot.counter != UInt64(sealed) + 1 { break }
                out.append(c)
            } while try q.step()
            return out
        }
    }

    /// Checks, inside a transaction that applies `changes`, every seal that covers them: each
    /// change must be covered by one of `seals`, and each seal's run is checked with the changes
    /// of it at hand, and its proof from `proofs` for the rest when they are not all here (a page
    /// holds only part of the run, or the reader may not see the rest). A change no seal covers,
    /// or a run that fails, throws, and the transaction applies nothing. The seals are stored;
    /// returns how many were checked.
    static func checkSeals(_ db: Database, _ changes: [Change], seals: [Seal], proofs: [SealProof], verifier: any SealVerifier,
                           keys: KeyLocation) throws -> Int {
        // By replica, as indices into `changes`: the changes themselves are not copied.
        var byReplica: [ReplicaID: [Int]] = [:]
        for (i, c) in changes.enumerated() { byReplica[c.dot.replica, default: []].append(i) }
        var sealsByReplica: [ReplicaID: [Seal]] = [:]
        for s in seals { sealsByReplica[s.replica, default: []].append(s) }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1024)
        let keyOf: (ReplicaID) throws -> String? = { replica in
            try String.fetchOne(db, sql: Self.deviceKeySQL, arguments: [keys.kind, replica.rawValue, keys.field])
        }
        var used: [Seal] = []
        for (replica, list) in byReplica.sorted(by: { $0.key < $1.key }) {
            let mine = (sealsByReplica[replica] ?? []).sorted { $0.first < $1.first }
            var hashes: [UInt64: [UInt8]] = Dictionary(minimumCapacity: list.count)
            for i in list { hashes[changes[i].dot.counter] = verifier.hash(changes[i], buffer: &buffer) }
            var leaves: [Seal: [UInt64: [UInt8]]] = [:]
            for (n, h) in hashes {
                // The seal whose run holds n: the last one starting at or before it.
                var lo = 0, hi = mine.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if mine[mid].first <= n { lo = mid + 1 } else { hi = mid }
                }
                guard lo > 0, mine[lo - 1].last >= n else {
                    throw ReplicaError(.unsealed, "the hub sent change \(replica):\(n) without the seal of the device that made it; it may have been forged. Nothing of this page was applied; tell the office",
                                       zh: "中心发来的变更 \(replica):\(n) 没有生成它的设备的封签，可能是伪造的。本页变更均未应用；请告知办公室")
                }
                leaves[mine[lo - 1], default: [:]][n] = h
            }
            for (s, known) in leaves.sorted(by: { $0.key.first < $1.key.first }) {
                let proof: [[UInt8]]
                if UInt64(known.count) == s.count {
                    proof = []
                } else if let p = proofs.first(where: { $0.proves(s) }) {
                    proof = p.hashes
                } else {
                    throw ReplicaError(.unsealed, "the hub sent part of the run \(replica):\(s.first)...\(s.last) without the proof that checks it; nothing of this page was applied. Is the hub of an older version?",
                                       zh: "中心发来了变更段 \(replica):\(s.first)...\(s.last) 的一部分，但没有用于校验它的证明；本页变更均未应用。中心是否为旧版本？")
                }
                do { try verifier.verify(s, leaves: known, proof: proof, key: keyOf) } catch {
                    throw ReplicaError(.unsealed, "\(error)", zh: ReplicaError.chineseMessage(of: error), cause: error)
                }
                used.append(s)
            }
        }
        try insertSeals(db, used, verified: true)
        return used.count
    }
}
