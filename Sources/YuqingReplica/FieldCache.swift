import Synchronization
import YuqingCore

/// Chosen fields of the records of one kind, as a hub holds them, kept in memory from one push's
/// rule check to the next (``Replica/ruleInputs(_:kinds:recordKind:fields:)``).
///
/// A reader's page cache is emptied by SQLite whenever the writer commits, so a check read every
/// case a push touches from a cold cache: a quarter of the hub's work in a push of 1,000 changes,
/// on the other core while the merge ran (`docs/benchmarks.md` §6). What is kept here is exact:
///
/// - **Of one log position.** Every entry holds the fields as they are at ``State/position``, the
///   last log position when they were read. A hub changes a value only by logging a change, so a
///   reader whose snapshot is at that same position reads what the entries hold. A reader at any
///   other position neither uses nor adds entries.
/// - **Kept up by the merge.** A write transaction of the hub stages every value the merge adds
///   or removes in the watched fields (``Op``, in ``Bookkeeping/fieldOps``; a push undone drops
///   its part with the bookkeeping). Once committed, and when the entries are next used (below),
///   the ops are applied to the entries held and the position moves to the transaction's last log
///   position, but only when the entries were of the position the transaction began at and the
///   watch is the one it staged for. Otherwise (another process logged meanwhile, a transaction
///   staged nothing) every entry is dropped.
///   Applying a transaction's ops to entries read after it committed changes nothing: a dot is
///   added once and removed only after it was added.
/// - **Applied by the next reader.** A commit's ops are staged (``commit(before:after:watch:ops:)``),
///   not applied: the push's answer does not wait for them (2 ms at the median, 6 ms at the 90th
///   percentile, in a trace of `yuqing-bench reconnect` made with a temporary build,
///   docs/benchmarks.md §6). Whatever looks at the entries next
///   applies them first (in practice the next push's rule check, which runs beside its merge),
///   so what anyone sees is what applying them at the commit would have shown.
///
/// At most ``capacity`` records are held; beyond that some are dropped, and read again when asked.
final class FieldCache: Sendable {
    /// The fields watched: of records of `kind`, the fields named in `fields`.
    struct Watch: Sendable, Equatable {
        var kind: String
        var fields: Set<String>
        /// Counts the watches set since the replica opened, so a transaction that staged for an
        /// earlier one is told apart.
        var generation: UInt64
    }

    /// A value the merge removed or added in a watched field.
    enum Op: Sendable {
        case remove(String, FieldKey, [Dot])
        case add(String, FieldKey, Sibling)
    }

    /// A record held: its watched fields, and its view of them once a reader built it (dropped
    /// when a commit changes the fields).
    struct Entry {
        var fields: [FieldKey: [Sibling]]
        var view: RecordView?
    }

    struct State {
        var watch: Watch?
        /// The log position the entries are of; nil when none are held.
        var position: Int64?
        /// The records held, by record id; a record that holds none of the watched fields is held
        /// as an empty entry. Each field's values are in dot order.
        var entries: [String: Entry] = [:]
        var generations: UInt64 = 0
        /// Records served from entries so far (for the tests).
        var served = 0
        /// A committed transaction's ops, not applied yet.
        var staged: Staged?
    }

    struct Staged {
        var before: Int64
        var after: Int64
        var watch: Watch?
        var ops: [Op]
    }

    static let capacity = 20_000
    private let state = Mutex(State())

    /// The watch a write transaction stages for (nil: none yet). Staged ops do not change it.
    var watch: Watch? { state.withLock { $0.watch } }

    /// The state, with what a commit staged applied first.
    private func locked<T>(_ body: (inout State) throws -> T) rethrows -> T {
        try state.withLock { s in
            if let staged = s.staged {
                s.staged = nil
                Self.apply(staged, to: &s)
            }
            return try body(&s)
        }
    }

    /// The views of `records` (of `kind`) with only `fields`, as a reader whose snapshot is at log
    /// position `position` sees them: from the entries held when they are of that position, and
    /// the others from `read` (the snapshot), kept for the next reader when no commit moved the
    /// entries meanwhile. Records that hold none of the fields have no view.
    func views(of records: [RecordRef], kind: String, fields wanted: Set<String>, position: Int64, schema: Schema,
               read: ([RecordRef]) throws -> [RecordRef: [FieldKey: [Sibling]]]) rethrows -> [RecordView] {
        var out: [RecordView] = []
        out.reserveCapacity(records.count)
        var unbuilt: [(RecordRef, [FieldKey: [Sibling]])] = []
        var missing: [RecordRef] = []
        let generation = locked { s -> UInt64? in
            if s.watch?.kind != kind || s.watch?.fields != wanted {
                s.generations += 1
                s.watch = Watch(kind: kind, fields: wanted, generation: s.generations)
                s.position = nil
                s.entries.removeAll()
            }
            // No entries: they start at this reader's position.
            if s.position == nil { s.position = position }
            guard s.position == position else { return nil }
            for r in records {
                guard r.kind == kind, let held = s.entries[r.id] else { missing.append(r); continue }
                s.served += 1
                if let view = held.view { out.append(view) } else if !held.fields.isEmpty { unbuilt.append((r, held.fields)) }
            }
            return s.watch!.generation
        }
        guard let generation else {
            return try read(records).map { RecordView(record: $0.key, schema: schema, fields: $0.value) }
        }
        let fresh = missing.isEmpty ? [:] : try read(missing)
        var built: [(RecordRef, [FieldKey: [Sibling]], RecordView?)] = []
        built.reserveCapacity(unbuilt.count + missing.count)
        for (r, fields) in unbuilt { built.append((r, fields, RecordView(record: r, schema: schema, fields: fields))) }
        for r in missing {
            let fields = (fresh[r] ?? [:]).mapValues { $0.sorted { $0.dot < $1.dot } }
            built.append((r, fields, fields.isEmpty ? nil : RecordView(record: r, schema: schema, fields: fields)))
        }
        for (_, _, view) in built { if let view { out.append(view) } }
        guard !built.isEmpty else { return out }
        locked { s in
            // A commit since moved the entries (and may have changed these records): keep nothing.
            guard s.position == position, s.watch?.generation == generation else { return }
            if s.entries.count + missing.count > Self.capacity { Self.shed(&s.entries, missing.count) }
            for (r, fields, view) in built.prefix(Self.capacity) where r.kind == kind {
                s.entries[r.id] = Entry(fields: fields, view: view)
            }
        }
        return out
    }

    /// Stages what a committed transaction staged, which began at log position `before` (read
    /// inside it) and ended at `after`, under `watch`: applied by the next use of the entries.
    func commit(before: Int64, after: Int64, watch: Watch?, ops: [Op]) {
        locked { s in s.staged = Staged(before: before, after: after, watch: watch, ops: ops) }
    }

    private static func apply(_ staged: Staged, to s: inout State) {
        guard s.watch != nil else { return }
        guard let position = s.position, position == staged.before, s.watch == staged.watch else {
            s.position = nil
            s.entries.removeAll()
            return
        }
        for op in staged.ops {
            switch op {
            case .remove(let id, let field, let dots):
                guard var values = s.entries[id]?.fields[field] else { continue }
                values.removeAll { dots.contains($0.dot) }
                s.entries[id]!.fields[field] = values.isEmpty ? nil : values
                s.entries[id]!.view = nil
            case .add(let id, let field, let value):
                guard s.entries[id] != nil else { continue }
                var values = s.entries[id]!.fields[field] ?? []
                guard !values.contains(where: { $0.dot == value.dot }) else { continue }
                values.insert(value, at: values.firstIndex { value.dot < $0.dot } ?? values.endIndex)
                s.entries[id]!.fields[field] = values
                s.entries[id]!.view = nil
            }
        }
        s.position = staged.after
    }

    /// How many records are held, and how many were served from what was held (for the tests).
    var count: Int { locked { $0.entries.count } }
    var served: Int { locked { $0.served } }

    /// Drops a quarter of the capacity, more if `room` needs it.
    private static func shed(_ entries: inout [String: Entry], _ room: Int) {
        let drop = max(capacity / 4, entries.count + room - capacity)
        for id in Array(entries.keys.prefix(drop)) { entries[id] = nil }
    }
}
