import YuqingCore

/// Random histories for the differential tests: four replicas writing three cases (plain,
/// flagged, set and log fields), exchanging their logs now and then so that writes supersede
/// each other's values, and the whole delivered in a random order with duplicates, in batches.
public enum RandomHistory {
    /// The changes made, in the order made, and the same shuffled with 20 re-sent, in batches.
    public static func make(seed: Int, steps: Int = 150, batch: Int = 37) -> (changes: [Change], batches: [[Change]]) {
        var rng = SeededRandom(seed: UInt64(seed) &+ 0x5eed)
        var sources = (0..<4).map { ReplicaState(id: ReplicaID("s\($0)"), schema: .sample) }
        var all: [Change] = []
        for step in 0..<steps {
            let i = Int.random(in: 0..<4, using: &rng)
            if Int.random(in: 0..<4, using: &rng) == 0 {
                let j = Int.random(in: 0..<4, using: &rng)
                for ch in sources[j].log { sources[i].apply(ch) }
                continue
            }
            let record = RecordRef.case("c\(Int.random(in: 0..<3, using: &rng))")
            let key: FieldKey
            let value: FieldValue?
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: (key, value) = (FieldKey("summary"), .text("s\(step)"))
            case 1: (key, value) = (FieldKey("level"), .text(Schema.sampleLevels.randomElement(using: &rng)!))
            case 2: (key, value) = (FieldKey("co_units", element: "u\(step % 3)"), Bool.random(using: &rng) ? .integer(1) : nil)
            default: (key, value) = (FieldKey("notes", element: "n\(step)"), .text("note \(step)"))
            }
            all.append(sources[i].write(record, key, value, author: "a\(i)", physicalMillis: UInt64(step)))
        }
        var shuffled = all + all.prefix(20)
        shuffled.shuffle(using: &rng)
        let batches = stride(from: 0, to: shuffled.count, by: batch).map { Array(shuffled[$0..<min($0 + batch, shuffled.count)]) }
        return (all, batches)
    }
}
