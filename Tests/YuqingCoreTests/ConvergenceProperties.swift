import Foundation
import PropertyBased
import Testing
@testable import YuqingCore
import YuqingTestSupport

/// Random schedules against many replicas: random writes on every field shape, random partial
/// exchanges in random order with duplicates and re-deliveries, random clock skew. At the end
/// everyone exchanges everything, and then every replica must hold the same state, and that
/// state must be exactly the writes no other write superseded: nothing acknowledged is lost.
@Suite struct ConvergenceProperties {
    static let records = (1...3).map { RecordRef.case("c\($0)") }
    static let units = ["Township A", "Bureau B", "Hospital C", "School D"]

    /// One random schedule from a seed; returns the replicas after final anti-entropy and every write made.
    static func run(seed: UInt64, replicas n: Int, steps: Int) -> (replicas: [ReplicaState], writes: [Change]) {
        var rng = SeededRandom(seed: seed)
        var replicas = (0..<n).map { ReplicaState(id: ReplicaID("r\($0)"), schema: .sample) }
        // Clock skew per replica: up to three days either way.
        let skew = (0..<n).map { _ in Int64.random(in: -259_200_000...259_200_000, using: &rng) }
        var now: Int64 = 1_800_000_000_000
        var writes: [Change] = []
        var noteSeq = 0

        for _ in 0..<steps {
            now += Int64.random(in: 0...5_000, using: &rng)
            let r = Int.random(in: 0..<n, using: &rng)
            if Int.random(in: 0..<100, using: &rng) < 55 {
                let record = records.randomElement(using: &rng)!
                let physical = UInt64(now + skew[r])
                let (key, value): (FieldKey, FieldValue?)
                switch Int.random(in: 0..<7, using: &rng) {
                case 0: (key, value) = (FieldKey("title"), .text("t\(Int.random(in: 0..<4, using: &rng))"))
                case 1: (key, value) = (FieldKey("summary"), .text("s\(Int.random(in: 0..<4, using: &rng))"))
                case 2: (key, value) = (FieldKey("level"), .text(Schema.sampleLevels.randomElement(using: &rng)!))
                case 3: (key, value) = (FieldKey("status"), .text(Schema.sample.records["case"]!.field("status")!.allowedValues!.randomElement(using: &rng)!))
                case 4:
                    let unit = units.randomElement(using: &rng)!
                    (key, value) = (FieldKey("co_units", element: unit), Bool.random(using: &rng) ? .integer(1) : nil)
                default:
                    noteSeq += 1
                    (key, value) = (FieldKey("notes", element: "n\(noteSeq)"), .text("note \(noteSeq)"))
                }
                writes.append(replicas[r].write(record, key, value, author: "u\(r)", physicalMillis: physical))
            } else {
                // Deliver a random part of r's log to another replica, shuffled, with duplicates.
                var to = Int.random(in: 0..<n, using: &rng)
                if to == r { to = (to + 1) % n }
                var batch = replicas[r].log.filter { _ in Int.random(in: 0..<100, using: &rng) < 60 }
                if let d = batch.randomElement(using: &rng) { batch.append(d) }
                batch.shuffle(using: &rng)
                for c in batch { replicas[to].apply(c, physicalMillis: UInt64(now + skew[to])) }
                // Re-deliver a change that the receiver already has.
                if let again = batch.first {
                    let applied = replicas[to].apply(again)
                    #expect(!applied)
                }
            }
        }
        // Anti-entropy: everyone sends everything to everyone, in a random order, until quiet.
        var changed = true
        while changed {
            changed = false
            for from in (0..<n).shuffled(using: &rng) {
                for to in 0..<n where to != from {
                    for c in replicas[from].log.shuffled(using: &rng) where replicas[to].apply(c) { changed = true }
                }
            }
        }
        for r in replicas { #expect(r.pending.isEmpty, "seed \(seed): \(r.id) still has changes waiting") }
        return (replicas, writes)
    }

    /// The siblings each field must end with: writes that no write's context names.
    static func expectedSiblings(_ writes: [Change]) -> [RecordRef: [FieldKey: Set<Dot>]] {
        var superseded = Set<Dot>()
        for w in writes { superseded.formUnion(w.context) }
        var out: [RecordRef: [FieldKey: Set<Dot>]] = [:]
        for w in writes where !superseded.contains(w.dot) && w.value != nil {
            out[w.record, default: [:]][w.field, default: []].insert(w.dot)
        }
        return out
    }

    static func check(seed: UInt64, replicas n: Int, steps: Int) {
        let (replicas, writes) = run(seed: seed, replicas: n, steps: steps)
        let digest = replicas[0].digest
        let expected = expectedSiblings(writes)
        for r in replicas {
            #expect(r.digest == digest, "seed \(seed): \(r.id) diverged")
            // Nothing lost, nothing resurrected: exactly the unsuperseded writes remain.
            var actual: [RecordRef: [FieldKey: Set<Dot>]] = [:]
            for (record, fields) in r.fields {
                for (key, state) in fields where !state.isEmpty { actual[record, default: [:]][key] = Set(state.context) }
            }
            #expect(actual == expected, "seed \(seed): \(r.id) holds other values than the unsuperseded writes")
            #expect(r.versionVector == replicas[0].versionVector, "seed \(seed): version vectors differ")
            // Per-field metadata stays bounded by concurrent values: never more siblings than writers.
            for fields in r.fields.values {
                for state in fields.values { #expect(state.siblings.count <= n) }
            }
        }
    }

    /// `YUQING_SOAK=1` multiplies the schedules by 20 (a soak run, not part of the normal suite).
    static let scale = ProcessInfo.processInfo.environment["YUQING_SOAK"].flatMap(Int.init).map { $0 > 0 ? 20 * $0 : 1 } ?? 1

    @Test func thousandSchedulesConverge() async {
        await propertyCheck(count: 1000 * Self.scale, input: Gen<UInt64>.value(), Gen.int(in: 5...8)) { seed, n in
            Self.check(seed: seed, replicas: n, steps: 120)
        }
    }

    @Test func longSchedulesConverge() async {
        await propertyCheck(count: 40 * Self.scale, input: Gen<UInt64>.value()) { seed in
            Self.check(seed: seed, replicas: 6, steps: 1500)
        }
    }

    @Test func conflictsResolvedByTheOperatorStayResolvedEverywhere() async {
        await propertyCheck(count: 200, input: Gen<UInt64>.value()) { seed in
            var (replicas, _) = Self.run(seed: seed, replicas: 5, steps: 100)
            // The "hub" (replica 0) resolves every open conflict, then everyone syncs again.
            let open = replicas[0].conflicts
            for c in open {
                var hub = replicas[0]
                let before = hub.state(c.record, c.field).context
                #expect(before == c.resolutionContext)
                hub.write(c.record, c.field, c.candidates.last!.value, author: "operator", physicalMillis: 0)
                replicas[0] = hub
            }
            for i in 1..<replicas.count { for ch in replicas[0].log { replicas[i].apply(ch) } }
            for r in replicas {
                #expect(r.conflicts.isEmpty, "seed \(seed): conflicts left on \(r.id)")
                #expect(r.digest == replicas[0].digest)
            }
        }
    }
}
