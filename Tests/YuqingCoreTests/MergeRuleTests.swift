import YuqingTestSupport
import Testing
@testable import YuqingCore

@Suite struct MergeRuleTests {
    let c = RecordRef.case("c1")

    /// Two replicas that both start from `base` and then diverge.
    func forked(_ setup: (inout ReplicaState) -> Void) -> (ReplicaState, ReplicaState) {
        var a = ReplicaState(id: ReplicaID("a"), schema: .sample)
        setup(&a)
        var b = ReplicaState(id: ReplicaID("b"), schema: .sample)
        for ch in a.log { b.apply(ch) }
        return (a, b)
    }

    func exchange(_ a: inout ReplicaState, _ b: inout ReplicaState) {
        for ch in a.log { b.apply(ch) }
        for ch in b.log { a.apply(ch) }
    }

    @Test func raisedLevelBeatsConcurrentlyLoweredOne() {
        var (a, b) = forked { $0.write(c, FieldKey("level"), .text("III"), author: "x", physicalMillis: 1) }
        a.write(c, FieldKey("level"), .text("II"), author: "x", physicalMillis: 5)   // raised
        b.write(c, FieldKey("level"), .text("IV"), author: "y", physicalMillis: 50)  // lowered, later clock
        exchange(&a, &b)
        #expect(a.view(c).value("level") == .text("II"))
        #expect(b.view(c).value("level") == .text("II"))
        #expect(a.conflicts.isEmpty)
        // A later write that saw both replaces both: lowering is possible, just not concurrently.
        b.write(c, FieldKey("level"), .text("IV"), author: "y", physicalMillis: 60)
        exchange(&a, &b)
        #expect(a.view(c).value("level") == .text("IV"))
        #expect(a.state(c, FieldKey("level")).siblings.count == 1)
    }

    @Test func coUnitsAddedOnTwoSidesAreBothKeptAndAddBeatsConcurrentRemove() {
        var (a, b) = forked { $0.write(c, FieldKey("co_units", element: "Old"), .integer(1), author: "x", physicalMillis: 1) }
        a.write(c, FieldKey("co_units", element: "Bureau B"), .integer(1), author: "x", physicalMillis: 2)
        b.write(c, FieldKey("co_units", element: "School D"), .integer(1), author: "y", physicalMillis: 2)
        a.write(c, FieldKey("co_units", element: "Old"), nil, author: "x", physicalMillis: 3)             // remove
        b.write(c, FieldKey("co_units", element: "Old"), .integer(1), author: "y", physicalMillis: 3)     // concurrent re-add
        exchange(&a, &b)
        #expect(a.view(c).elements("co_units") == ["Bureau B", "Old", "School D"])
        #expect(a.digest == b.digest)
        a.write(c, FieldKey("co_units", element: "Old"), nil, author: "x", physicalMillis: 4)
        exchange(&a, &b)
        #expect(b.view(c).elements("co_units") == ["Bureau B", "School D"])
    }

    @Test func differentSummariesAreFlaggedWithTheSameProvisionalValueEverywhere() throws {
        var (a, b) = forked { $0.write(c, FieldKey("summary"), .text("base"), author: "x", physicalMillis: 1) }
        a.write(c, FieldKey("summary"), .text("from a"), author: "x", physicalMillis: 10)
        b.write(c, FieldKey("summary"), .text("from b"), author: "y", physicalMillis: 20)
        exchange(&a, &b)
        let conflict = try #require(a.conflicts.first)
        #expect(b.conflicts == [conflict])
        #expect(conflict.candidates.map(\.value) == [.text("from a"), .text("from b")])
        #expect(a.view(c).value("summary") == b.view(c).value("summary"))
        // The operator's resolution names both values in its context, so it supersedes both.
        var hub = ReplicaState(id: ReplicaID("hub"), schema: .sample)
        for ch in a.log { hub.apply(ch) }
        let resolution = hub.write(c, conflict.field, .text("agreed"), author: "operator", physicalMillis: 0)
        #expect(resolution.context == conflict.resolutionContext)
        a.apply(resolution)
        b.apply(resolution)
        #expect(a.conflicts.isEmpty && b.conflicts.isEmpty)
        #expect(a.view(c).value("summary") == .text("agreed"))
        #expect(a.digest == b.digest && b.digest == hub.digest)
    }

    @Test func supersededChangesArrivingLateAreNotResurrected() {
        var a = ReplicaState(id: ReplicaID("a"), schema: .sample)
        let first = a.write(c, FieldKey("title"), .text("one"), author: "x", physicalMillis: 1)
        let second = a.write(c, FieldKey("title"), .text("two"), author: "x", physicalMillis: 2)
        let third = a.write(c, FieldKey("title"), .text("three"), author: "x", physicalMillis: 3)
        var b = ReplicaState(id: ReplicaID("b"), schema: .sample)
        b.apply(third)
        #expect(b.pending.count == 1)
        #expect(b.view(c).value("title") == nil)
        b.apply(first)
        let again = b.apply(third)
        #expect(!again)
        b.apply(second)
        #expect(b.pending.isEmpty)
        #expect(b.view(c).value("title") == .text("three"))
        #expect(b.state(c, FieldKey("title")).siblings.count == 1)
        #expect(b.digest == a.digest)
    }

    @Test func writerWithClockDaysBehindStillSupersedesWhatItSaw() {
        var a = ReplicaState(id: ReplicaID("a"), schema: .sample)
        var slow = ReplicaState(id: ReplicaID("slow"), schema: .sample)
        let day: UInt64 = 86_400_000
        let now: UInt64 = 1_800_000_000_000
        slow.apply(a.write(c, FieldKey("title"), .text("from a"), author: "x", physicalMillis: now))
        // The slow device's clock is three days behind; its later write still wins because it saw a's.
        let w = slow.write(c, FieldKey("title"), .text("from slow"), author: "y", physicalMillis: now - 3 * day)
        #expect(w.hlc > HLC(wallMillis: now))
        a.apply(w)
        #expect(a.view(c).value("title") == .text("from slow"))
    }

    @Test func clockFarAheadDoesNotDragOthersIntoTheFuture() {
        var clock = HybridLogicalClock()
        let now: UInt64 = 1_800_000_000_000
        clock.observe(HLC(wallMillis: now + 3 * 86_400_000), physicalMillis: now)
        let t = clock.tick(physicalMillis: now)
        #expect(t.wallMillis <= now + HybridLogicalClock.defaultMaxForwardDrift)
        #expect(t.wallMillis >= now)
    }

    @Test func hlcIsMonotonicUnderAStoppedOrBackwardsClock() {
        var clock = HybridLogicalClock()
        var last = HLC.zero
        for physical: UInt64 in [100, 100, 90, 50, 100, 200, 10] {
            let t = clock.tick(physicalMillis: physical)
            #expect(t > last)
            last = t
        }
        #expect(HLC(packed: last.packed) == last)
    }

    @Test func dotSetHandlesGapsAndCompacts() {
        var s = DotSet()
        let r = ReplicaID("r")
        let new3 = s.insert(Dot(replica: r, counter: 3))
        #expect(new3)
        let new1 = s.insert(Dot(replica: r, counter: 1))
        #expect(new1)
        #expect(!s.contains(Dot(replica: r, counter: 2)))
        #expect(s.gapCount == 1)
        let new2 = s.insert(Dot(replica: r, counter: 2))
        #expect(new2)
        #expect(s.gapCount == 0)
        let again3 = s.insert(Dot(replica: r, counter: 3))
        #expect(!again3)
        #expect(s.versionVector[r] == 3)
    }

    @Test func versionVectorOrder() {
        let a = VersionVector([ReplicaID("a"): 2, ReplicaID("b"): 1])
        let b = VersionVector([ReplicaID("a"): 1, ReplicaID("b"): 1])
        let c = VersionVector([ReplicaID("b"): 2])
        #expect(a.compare(b) == .after)
        #expect(b.compare(a) == .before)
        #expect(a.compare(c) == .concurrent)
        #expect(a.compare(a) == .equal)
        var m = a
        m.merge(c)
        #expect(m.dominates(a) && m.dominates(c))
    }

    @Test func schemaRejectsBadInputWithAUsefulMessage() {
        #expect(throws: SchemaError.self) { try Schema.sample.validate(c, FieldKey("level"), .text("V")) }
        do {
            try Schema.sample.validate(c, FieldKey("colour"), .text("red"))
            Issue.record("accepted an unknown field")
        } catch {
            #expect(error.message.contains("title"))
        }
        #expect((try? Schema.sample.validate(c, FieldKey("level"), .text("II"))) != nil)
    }

    @Test func sha256KnownAnswers() {
        var h = SHA256()
        h.update("abc")
        #expect(h.finalizeHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var e = SHA256()
        #expect(e.finalizeHex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var long = SHA256()
        for _ in 0..<1000 { long.update("a") }
        for _ in 0..<999 { long.update(Array(repeating: UInt8(ascii: "a"), count: 1000)) }
        #expect(long.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
