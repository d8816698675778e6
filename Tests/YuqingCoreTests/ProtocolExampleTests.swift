import YuqingTestSupport
import Testing
@testable import YuqingCore

/// The worked examples in `Protocol/sync.md` §8 and §9, so the document and the code cannot drift.
@Suite struct ProtocolExampleTests {
    let record = RecordRef.case("YQ-3K9T2M8QXA")
    func dot(_ s: String) -> Dot { Dot(s)! }

    var summaryCandidates: [Sibling] {
        [Sibling(dot: dot("5f2c9e0a1b3d4c67:42"), hlc: HLC(wallMillis: 1_800_000_000_000), value: .text("Fees are as published."), author: "Bureau B"),
         Sibling(dot: dot("9a41d7c2e8f05b13:11"), hlc: HLC(wallMillis: 1_800_000_005_000),
                 value: .text("Post verified: fees were charged twice by mistake."), author: "Township A")]
    }

    @Test func conflictIDExample() throws {
        let c = try #require(Conflict.detect(record: record, field: FieldKey("summary"), siblings: summaryCandidates, rule: .flag))
        #expect(c.id == "3047d100dbe46cf6")
        #expect(c.provisional == .text("Post verified: fees were charged twice by mistake."))
    }

    @Test func digestExample() {
        var d = StateDigest(schema: .sample)
        d.add(record: record, field: FieldKey("co_units", element: "Bureau B"),
              siblings: [Sibling(dot: dot("9a41d7c2e8f05b13:3"), hlc: HLC(wallMillis: 1), value: .integer(1), author: "Township A")])
        d.add(record: record, field: FieldKey("level"), siblings: [
            Sibling(dot: dot("9a41d7c2e8f05b13:12"), hlc: HLC(wallMillis: 9), value: .text("IV"), author: "Township A"),
            Sibling(dot: dot("5f2c9e0a1b3d4c67:41"), hlc: HLC(wallMillis: 2), value: .text("II"), author: "Bureau B"),
        ])
        d.add(record: record, field: FieldKey("summary"), siblings: summaryCandidates)
        #expect(d.finalize() == "cbc81a9239143fd9948b82933719f62ea6b1ff17029562875b5507deae505134")
        var empty = StateDigest(schema: .sample)
        #expect(empty.finalize() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
