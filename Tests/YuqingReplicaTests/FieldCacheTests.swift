import Foundation
import GRDB
import Testing
@testable import YuqingCore
@testable import YuqingReplica
import YuqingTestSupport

/// The fields a hub's rule check keeps between pushes (``FieldCache``) are exactly the stored
/// ones, whatever the merge, a refused push or another process does.
@Suite struct FieldCacheTests {
    static let schema = Schema([
        RecordSchema(kind: "case", fields: [FieldSpec("lead", rule: .lastWriterWins, summary: "the lead unit"),
                                            FieldSpec("co_units", shape: .set, rule: .addWins, summary: "co-units"),
                                            FieldSpec("level", rule: .flag, summary: "a flagged field"),
                                            FieldSpec("title", rule: .lastWriterWins, summary: "not kept")]),
    ])
    static let watched = ["lead", "co_units", "level"]

    /// A field's values, in dot order: the cache keeps them so, SQLite reads them in key order.
    static func normal(_ views: [RecordView]) -> [RecordRef: [FieldKey: [Sibling]]] {
        Dictionary(uniqueKeysWithValues: views.map { v in (v.record, v.siblings.mapValues { $0.sorted { $0.dot < $1.dot } }) })
    }

    /// After every group of random pushes (overwrites, removals, a flagged field in conflict,
    /// writers that see each other only now and then, a push its check refuses, now and then a
    /// write by another connection to the same file), what the check reads is what is stored,
    /// and most of it was served from what was kept.
    @Test(arguments: 0..<6) func theCheckReadsWhatIsStoredAfterEveryGroup(seed: UInt64) throws {
        struct Refused: Error {}
        let dir = try TempDir()
        let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: Self.schema)
        var rng = SeededRandom(seed: seed)
        var writers = ["a", "b", "c"].map { ReplicaState(id: ReplicaID($0), schema: Self.schema) }
        var logged: [Change] = []
        let records = (0..<6).map { RecordRef.case("YQ-\($0)") }
        var probes: UInt64 = 0
        var outside = 0
        for step in 0..<50 {
            var pushes: [Replica.Push] = []
            var kept: [Change] = []
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let k = Int.random(in: 0..<writers.count, using: &rng)
                if Int.random(in: 0..<3, using: &rng) == 0 { for c in logged + kept { _ = writers[k].apply(c) } }
                var push: [Change] = []
                for _ in 0..<Int.random(in: 1...5, using: &rng) {
                    let record = records.randomElement(using: &rng)!
                    let unit = ["u1", "u2", "u3"].randomElement(using: &rng)!
                    let at = UInt64(step * 10 + push.count + 1)
                    let (field, value): (FieldKey, FieldValue?) = switch Int.random(in: 0..<7, using: &rng) {
                    case 0: (FieldKey("lead"), .text(unit))
                    case 1: (FieldKey("lead"), nil)
                    case 2: (FieldKey("co_units", element: unit), .integer(1))
                    case 3: (FieldKey("co_units", element: unit), nil)
                    case 4: (FieldKey("level"), .text(["I", "II", "III"].randomElement(using: &rng)!))
                    case 5: (FieldKey("level"), nil)
                    default: (FieldKey("title"), .text("标题 \(step)"))
                    }
                    push.append(writers[k].write(record, field, value, author: "w", physicalMillis: at))
                }
                let refuse = Int.random(in: 0..<4, using: &rng) == 0
                let refuser: @Sendable () throws -> Void = { throw Refused() }
                let refusal = refuse ? refuser : nil
                pushes.append(Replica.Push(changes: push, sender: writers[k].id, waitingLimits: WaitingLimits(), seals: [], verdict: refusal))
                if !refuse { kept += push } else {
                    // The writer's refused changes are gone for good: it starts afresh.
                    writers[k] = ReplicaState(id: ReplicaID("\(writers[k].id.rawValue)\(step)"), schema: Self.schema)
                    for c in logged + kept { _ = writers[k].apply(c) }
                }
            }
            for (push, result) in zip(pushes, hub.applyGroup(pushes)) {
                if push.verdict == nil { _ = try result.get() } else { #expect(throws: Refused.self) { try result.get() } }
            }
            logged += kept
            // Another connection to the file (another process, an operator's command) writes.
            if Int.random(in: 0..<8, using: &rng) == 0 {
                let other = try Replica.open(at: dir.path("hub.sqlite"), schema: Self.schema)
                let written = try other.write([.init(records.randomElement(using: &rng)!, FieldKey("lead"), .text("外部 \(step)"))])
                logged += written
                outside += 1
            }
            // The check of a push touching every record, read twice: the second from what the first kept.
            for _ in 0..<2 {
                let probe = records.map { r -> Change in
                    probes += 1
                    return Change(dot: Dot(replica: ReplicaID("probe"), counter: probes), hlc: HLC(packed: probes << 16), record: r,
                                  field: FieldKey("title"), value: .text("p"), context: [], author: "p")
                }
                let checked = try hub.ruleInputs(probe, kinds: [], recordKind: "case", fields: Self.watched).touched
                let stored = try hub.read { db in try hub.fields(db, records, fields: Self.watched) }
                #expect(Self.normal(checked) == stored.mapValues { $0.mapValues { $0.sorted { $0.dot < $1.dot } } }, "seed \(seed), step \(step)")
            }
        }
        #expect(hub.fieldCache.count == records.count)
        // Served from what was kept: every record at each second read, and at most first reads.
        #expect(hub.fieldCache.served >= 50 * records.count, "served \(hub.fieldCache.served), outside writes \(outside)")
    }

    static func sibling(_ replica: String, _ counter: UInt64, _ value: String) -> Sibling {
        Sibling(dot: Dot(replica: ReplicaID(replica), counter: counter), hlc: HLC(packed: counter << 16), value: .text(value), author: "a")
    }

    static let r1 = RecordRef.case("1"), lead = FieldKey("lead")

    /// What `read` answers for r1, and how many times it was asked.
    final class Store: @unchecked Sendable {
        var lead: [Sibling]
        var reads = 0
        init(_ lead: [Sibling]) { self.lead = lead }
        func read(_ records: [RecordRef]) -> [RecordRef: [FieldKey: [Sibling]]] {
            reads += 1
            return Dictionary(uniqueKeysWithValues: records.map { ($0, [FieldCacheTests.lead: lead]) })
        }
    }

    func lead(_ cache: FieldCache, at position: Int64, _ store: Store) -> [Sibling]? {
        cache.views(of: [Self.r1], kind: "case", fields: ["lead"], position: position, schema: Self.schema, read: store.read).first?.siblings[Self.lead]
    }

    /// A commit that lands after a reader's snapshot brings what that reader keeps up to date.
    @Test func entriesReadBeforeACommitAreBroughtUpByIt() {
        let cache = FieldCache()
        let a = Self.sibling("a", 1, "u1"), b = Self.sibling("b", 1, "u2")
        let store = Store([a])
        #expect(lead(cache, at: 5, store) == [a])
        let watch = cache.watch
        store.lead = [b]  // the commit: b supersedes a
        cache.commit(before: 5, after: 7, watch: watch, ops: [.remove("1", Self.lead, [a.dot]), .add("1", Self.lead, b)])
        #expect(lead(cache, at: 7, store) == [b])
        #expect(store.reads == 1)
    }

    /// A reader whose snapshot is behind (or ahead of) what is kept neither uses nor keeps.
    @Test func aReaderAtAnotherPositionNeitherUsesNorKeeps() {
        let cache = FieldCache()
        let a = Self.sibling("a", 1, "u1"), b = Self.sibling("b", 1, "u2")
        let store = Store([a])
        _ = lead(cache, at: 5, store)
        cache.commit(before: 5, after: 7, watch: cache.watch, ops: [.remove("1", Self.lead, [a.dot]), .add("1", Self.lead, b)])
        // An older snapshot still shows a: it reads it, and what is kept stays of position 7.
        #expect(lead(cache, at: 5, store) == [a])
        #expect(store.reads == 2)
        store.lead = [b]
        #expect(lead(cache, at: 7, store) == [b])
        #expect(store.reads == 2)
    }

    /// A commit that lands while a reader reads what was not kept: the reader's values may be of
    /// before that commit, so they are not kept.
    @Test func whatIsReadWhileACommitLandsIsNotKept() {
        let cache = FieldCache()
        let a = Self.sibling("a", 1, "u1"), b = Self.sibling("b", 1, "u2")
        let other = RecordRef.case("2")
        let store = Store([a])
        _ = cache.views(of: [other], kind: "case", fields: ["lead"], position: 5, schema: Self.schema, read: store.read)
        let watch = cache.watch
        let views = cache.views(of: [Self.r1], kind: "case", fields: ["lead"], position: 5, schema: Self.schema) { records in
            let before = store.read(records)
            cache.commit(before: 5, after: 7, watch: watch, ops: [.remove("1", Self.lead, [a.dot]), .add("1", Self.lead, b)])
            return before
        }
        #expect(views.first?.siblings[Self.lead] == [a])
        store.lead = [b]
        #expect(lead(cache, at: 7, store) == [b])
        #expect(store.reads == 3)
    }

    /// A commit that began at another position than what is kept (another process logged in
    /// between), or that staged for an earlier watch, drops everything kept.
    @Test func aCommitThatCannotBeAppliedDropsEverything() {
        let cache = FieldCache()
        let a = Self.sibling("a", 1, "u1")
        let store = Store([a])
        _ = lead(cache, at: 5, store)
        cache.commit(before: 6, after: 8, watch: cache.watch, ops: [])
        #expect(cache.count == 0)
        _ = lead(cache, at: 8, store)
        #expect(cache.count == 1 && store.reads == 2)
        let earlier = cache.watch
        _ = cache.views(of: [Self.r1], kind: "case", fields: ["lead", "level"], position: 8, schema: Self.schema, read: store.read)
        cache.commit(before: 8, after: 9, watch: earlier, ops: [])
        #expect(cache.count == 0)
        _ = cache.views(of: [Self.r1], kind: "case", fields: ["lead", "level"], position: 9, schema: Self.schema, read: store.read)
        #expect(store.reads == 4)
    }
}

extension FieldCacheTests {
    /// Commits staged one after another with no reader between them are applied in order by the
    /// next use, and a reader at the last one's position is served from what is kept.
    @Test func commitsStagedInARowAreAppliedInOrderByTheNextUse() {
        let cache = FieldCache()
        let a = Self.sibling("a", 1, "u1"), b = Self.sibling("b", 1, "u2"), c = Self.sibling("c", 1, "u3")
        let store = Store([a])
        #expect(lead(cache, at: 5, store) == [a])
        let watch = cache.watch
        cache.commit(before: 5, after: 7, watch: watch, ops: [.remove("1", Self.lead, [a.dot]), .add("1", Self.lead, b)])
        cache.commit(before: 7, after: 9, watch: watch, ops: [.remove("1", Self.lead, [b.dot]), .add("1", Self.lead, c)])
        store.lead = [c]
        #expect(lead(cache, at: 9, store) == [c])
        #expect(store.reads == 1, "served from what was kept, both commits applied")
        // A second commit that began elsewhere than where the first ended drops everything.
        cache.commit(before: 9, after: 11, watch: watch, ops: [])
        cache.commit(before: 12, after: 13, watch: watch, ops: [])
        #expect(cache.count == 0)
    }
}
