import Foundation
import Testing
@testable import YuqingCases
import YuqingTestSupport

/// The fast step reader agrees with the JSON decoder on every step and refuses what is not one.
@Suite struct StepCodingTests {
    static func randomStep(_ rng: inout SeededRandom) -> Step {
        let texts = ["已联系发帖人", "a \"quoted\" / slashed \\ text", "line\nbreak\ttab", "emoji 😀 and \u{1}", "", "ﬁ cafe\u{301}"]
        var s = Step(kind: StepKind.allCases.randomElement(using: &rng)!, at: Int64.random(in: 0...Int64.max / 2, using: &rng),
                     by: Actor(user: "u\(Int.random(in: 0..<9, using: &rng))", unit: "城关镇 \(Int.random(in: 0..<9, using: &rng))"),
                     role: Role.allCases.randomElement(using: &rng)!)
        if Bool.random(using: &rng) { s.text = texts.randomElement(using: &rng) }
        if Bool.random(using: &rng) { s.level = "II"; s.from = Bool.random(using: &rng) ? "IV" : nil }
        if Bool.random(using: &rng) { s.category = Int.random(in: 1...4, using: &rng) }
        if Bool.random(using: &rng) { s.lead = "town-a"; s.coUnits = Bool.random(using: &rng) ? [] : ["b", "c\"d"]; s.deadline = -5 }
        if Bool.random(using: &rng) { s.target = "S123"; s.link = "https://x.cn/t/1?a=b&c=d" }
        if Bool.random(using: &rng) { s.report = ReportKind.allCases.randomElement(using: &rng) }
        if Bool.random(using: &rng) { (s.views, s.comments, s.reposts) = (0, 12, Int64.max) }
        if Bool.random(using: &rng) { s.notify = Level.notified("I") }
        return s
    }

    @Test func theFastReaderAgreesWithTheDecoder() throws {
        var rng = SeededRandom(seed: 42)
        for _ in 0..<2000 {
            let step = Self.randomStep(&rng)
            let text = step.encoded()
            let slow = try JSONDecoder().decode(Step.self, from: Data(text.utf8))
            #expect(Step(flat: text) == slow, "\(text)")
            #expect(slow == step)
            // Spaced out and with escaped slashes, as another writer might store it.
            let spaced = String(data: try JSONSerialization.data(withJSONObject: try JSONSerialization.jsonObject(with: Data(text.utf8)), options: [.prettyPrinted]), encoding: .utf8)!
            #expect(Step(flat: spaced) == slow, "\(spaced)")
        }
    }

    @Test func keysAreMatchedWhateverTheirSpellingAndOthersIgnored() throws {
        let text = #"{"\u006bind":"register","at":1,"by":"a","role":"monitor","unit":"u","note":"kept elsewhere","tex\u0074":"帖子"}"#
        let slow = try JSONDecoder().decode(Step.self, from: Data(text.utf8))
        #expect(Step(flat: text) == slow && slow.kind == .register && slow.text == "帖子")
    }

    @Test(arguments: [
        "", "{}", "[]", "null", "{\"kind\":\"register\"}",
        #"{"at":1,"by":"a","kind":"register","role":"monitor","unit":"u"} x"#,
        #"{"at":1,"by":"a","kind":"register","role":"monitor","unit":"u","unit":"v"}"#,
        #"{"at":1,"by":"a","kind":"register","role":"monitor","unit":"u","unit":"v"}"#,
        #"{"at":1,"by":"a","kind":"register","role":"monitor","unit":"u","x":1,"x":2}"#,
        #"{"at":1.5,"by":"a","kind":"register","role":"monitor","unit":"u"}"#,
        #"{"at":01,"by":"a","kind":"register","role":"monitor","unit":"u"}"#,
        #"{"at":1,"by":"a","kind":"teleport","role":"monitor","unit":"u"}"#,
        #"{"at":1,"by":"a","kind":"register","role":"king","unit":"u"}"#,
        #"{"at":1,"by":"a","kind":"register","role":"monitor","unit":"u","text":5}"#,
        #"{"at":1,"by":"a","kind":"register","role":"monitor","unit":"u","text":"\ud800"}"#,
        #"{"at":1,"by":"a","kind":"register","role":"monitor","unit":"u","coUnits":"b"}"#,
        #"{"at":1,"by":"a","kind":"report","role":"monitor","unit":"u","report":"gossip"}"#,
        "{\"at\":1,\"by\":\"a\nb\",\"kind\":\"register\",\"role\":\"monitor\",\"unit\":\"u\"}",
    ])
    func whatIsNotAStepIsRefused(text: String) {
        #expect(Step(flat: text) == nil)
        #expect(Step.decode(text) == nil)
    }
}
