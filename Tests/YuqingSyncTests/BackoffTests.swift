import Foundation
import Testing
import YuqingSync
import YuqingTestSupport

/// The retry delays of a node whose hub does not answer.
@Suite struct BackoffTests {
    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    @Test(arguments: [UInt64(1), 2, 3, 42, 1234])
    func delaysDoubleToTheCapWithinTheirJitter(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var backoff = Backoff(initial: .seconds(1), maximum: .seconds(60), jitter: 0.3)
        var delays: [Double] = []
        for failure in 1...40 {
            let base = min(60, pow(2, Double(failure - 1)))
            #expect(Self.seconds(backoff.baseDelay(failure: failure)) == base)
            let delay = Self.seconds(backoff.next(using: &random))
            #expect(delay >= base * 0.7 - 1e-9 && delay <= min(60, base * 1.3) + 1e-9, "failure \(failure): \(delay) s")
            delays.append(delay)
        }
        #expect(backoff.failures == 40)
        #expect(delays.max()! <= 60)
        // Once capped, the delays still vary: nodes cut off together do not retry in step.
        #expect(Set(delays.suffix(20)).count == 20)
    }

    @Test func aSuccessStartsOverFromTheFirstDelay() {
        var random = SeededRandom(seed: 7)
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(2), jitter: 0.5)
        for _ in 0..<10 { _ = backoff.next(using: &random) }
        #expect(Self.seconds(backoff.next(using: &random)) >= 1.0)  // capped at 2 s, jittered down at most by half
        backoff.reset()
        #expect(backoff.failures == 0)
        let first = Self.seconds(backoff.next(using: &random))
        #expect(first >= 0.1 && first <= 0.3)
    }

    @Test func theSameSeedGivesTheSameSchedule() {
        var a = SeededRandom(seed: 99), b = SeededRandom(seed: 99)
        var x = Backoff(), y = Backoff()
        let xs = (0..<12).map { _ in x.next(using: &a) }
        let ys = (0..<12).map { _ in y.next(using: &b) }
        #expect(xs == ys)
    }

    @Test func settingsOutOfRangeAreBroughtIntoIt() {
        let b = Backoff(initial: .seconds(5), maximum: .seconds(1), jitter: 3)
        #expect(b.maximum == .seconds(5) && b.jitter == 1)
        var none = Backoff(initial: .seconds(1), maximum: .seconds(8), jitter: 0)
        var random = SeededRandom(seed: 1)
        #expect((0..<5).map { _ in none.next(using: &random) } == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8)])
    }
}
