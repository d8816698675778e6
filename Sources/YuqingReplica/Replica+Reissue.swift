import Foundation
import GRDB
import YuqingCore

/// What ``Replica/reissue(as:)`` did.
public struct ReissueReport: Sendable, Hashable {
    public var previousID: ReplicaID
    public var newID: ReplicaID
    /// Changes of this node not yet acknowledged by the hub, now under the new id.
    public var reissued: Int
}

extension Replica {
    /// Gives this node a new replica id and moves its work that the hub has not acknowledged to
    /// it, losing nothing: the way out when the hub holds a different change under one of this
    /// node's dots (a restored backup or a copy of the file, or another program writing under
    /// its id).
    ///
    /// In one transaction, every change in the log after the push cursor that was made under the
    /// old id gets a dot of the new id (counters from 1, in log order) and a fresh timestamp; the
    /// contexts and the field values that name those dots follow; those old dots leave the seen
    /// set, so whatever the hub holds under them is merged at the next pull like anyone's change;
    /// and the pull cursor goes back to 0, so changes the hub never sent this node (it sends no
    /// node changes under that node's own id) arrive. The acknowledged changes keep their dots.
    /// This `Replica` value keeps the old id: open the file again to work under the new one.
    public func reissue(as newID: ReplicaID = .random()) throws -> ReissueReport {
        guard role == .node else {
            throw ReplicaError(.invalidWrite, "\(path) is the hub's database; only a node's replica can be reissued",
                               zh: "\(path) 是中心的数据库；只有节点的副本才能以新标识重发")
        }
        let report = try transact { s, book -> ReissueReport in
            let db = s.db
            let oldRid = try book.rid(id, db)
            guard book.ridByName[newID] == nil else {
                throw ReplicaError(.invalidWrite, "replica id \(newID) is already known to this replica; choose another",
                                   zh: "本副本中已有副本标识 \(newID)；请另选一个")
            }
            let newRid = try book.rid(newID, db)
            let cursor: Int64 = try Meta.get(db, "push_cursor") ?? 0
            let names = ReplicaNames(byRid: book.nameByRid)
            var unacknowledged: [(seq: Int64, change: Change)] = []
            let q = try FastStatement(db, "SELECT \(Store.logColumns) FROM log WHERE seq > ? ORDER BY seq")
            q.bind(1, cursor)
            while try q.step() { unacknowledged.append(try Coding.change(q, names: names)) }
            q.reset()
            var renamed: [Dot: Dot] = [:]
            for entry in unacknowledged where entry.change.dot.replica == id {
                renamed[entry.change.dot] = Dot(replica: newID, counter: UInt64(renamed.count + 1))
            }
            var clock = HybridLogicalClock(latest: HLC(packed: book.hlc))
            let offset: Int64 = try Meta.get(db, "clock_offset") ?? 0
            let physical = UInt64(max(0, Int64(deviceClock()) + offset))
            for entry in unacknowledged {
                let old = entry.change
                let dot = renamed[old.dot] ?? old.dot
                let hlc = renamed[old.dot] == nil ? old.hlc : clock.tick(physicalMillis: physical)
                let context = old.context.map { renamed[$0] ?? $0 }
                guard dot != old.dot || context != old.context else { continue }
                let rid = try book.rid(dot.replica, db)
                let blob = context.isEmpty ? nil : Data(try ContextBlob.encode(context.sorted(), &book, db))
                try db.execute(sql: "UPDATE log SET rid = ?, counter = ?, hlc = ?, context = ? WHERE seq = ?",
                               arguments: [rid, Int64(dot.counter), Int64(hlc.packed), blob, entry.seq])
                try db.execute(sql: "UPDATE field_value SET rid = ?, counter = ?, hlc = ? WHERE rid = ? AND counter = ?",
                               arguments: [rid, Int64(dot.counter), Int64(hlc.packed), try book.rid(old.dot.replica, db), Int64(old.dot.counter)])
            }
            book.seen[oldRid] = (book.seen[oldRid] ?? CounterRanges()).removing(Set(renamed.keys.map(\.counter)))
            book.dirtySeen.insert(oldRid)
            if !renamed.isEmpty {
                book.seen[newRid] = CounterRanges([1...UInt64(renamed.count)])
                book.dirtySeen.insert(newRid)
            }
            book.hlc = clock.latest.packed
            book.clockMovedBack = true  // store the clock with this transaction
            try Meta.set(db, "replica_id", newID.rawValue)
            try Meta.set(db, "pull_cursor", 0)
            return ReissueReport(previousID: id, newID: newID, reissued: renamed.count)
        }
        cache.invalidate()
        return report
    }
}

extension CounterRanges {
    /// These ranges without the counters in `removed`.
    func removing(_ removed: Set<UInt64>) -> CounterRanges {
        if removed.isEmpty { return self }
        let cuts = removed.sorted()
        var out: [ClosedRange<UInt64>] = []
        var i = 0
        for r in ranges {
            var lo = r.lowerBound
            while i < cuts.count, cuts[i] < lo { i += 1 }
            while i < cuts.count, cuts[i] <= r.upperBound {
                if cuts[i] > lo { out.append(lo...(cuts[i] - 1)) }
                lo = cuts[i] + 1
                i += 1
            }
            if lo <= r.upperBound { out.append(lo...r.upperBound) }
        }
        return CounterRanges(out)
    }
}

extension Replica {
    /// Gives this node's changes that the hub has not acknowledged, and whose author is a bare unit
    /// name (made before users existed), a new author: the user who now works on the upgraded
    /// node. Nobody else holds those changes yet, so they keep their dots. Changes already made by
    /// a user keep theirs (their steps name that user). Returns how many.
    public func reauthorPending(_ author: String) throws -> Int {
        guard role == .node else {
            throw ReplicaError(.invalidWrite, "\(path) is the hub's database; only a node's changes are re-attributed",
                               zh: "\(path) 是中心的数据库；只有节点的变更才能重新归属")
        }
        let n = try transact { s, book -> Int in
            let db = s.db
            let rid = try book.rid(id, db)
            let cursor: Int64 = try Meta.get(db, "push_cursor") ?? 0
            try db.execute(sql: """
                UPDATE field_value SET author = ? WHERE rid = ? AND instr(author, '@') = 0
                  AND counter IN (SELECT counter FROM log WHERE seq > ? AND rid = ?)
                """, arguments: [author, rid, cursor, rid])
            try db.execute(sql: "UPDATE log SET author = ? WHERE seq > ? AND rid = ? AND instr(author, '@') = 0", arguments: [author, cursor, rid])
            return db.changesCount
        }
        cache.invalidate()
        return n
    }
}
