import Testing
@testable import YuqingSync
import YuqingTestSupport

/// When a node running in the background syncs, driven with plain times (no clock, no hub).
@Suite struct SyncScheduleTests {
    static func schedule() -> SyncSchedule {
        SyncSchedule(debounce: .milliseconds(100), interval: .seconds(60),
                     backoff: Backoff(initial: .seconds(1), maximum: .seconds(8), jitter: 0.3))
    }

    static func ms(_ n: Int64) -> Duration { .milliseconds(n) }

    @Test func writesAreSyncedAfterTheDebounceAndTheHubsNewsAtOnce() {
        var s = Self.schedule()
        #expect(s.action(at: .zero) == .sync, "the first sync runs at once")
        let recovered = s.synced(at: Self.ms(10))
        #expect(!recovered, "the hub was never unreachable")
        #expect(s.connectivity == .connected)
        #expect(s.action(at: Self.ms(20)) == .wait)

        s.localWrite(at: Self.ms(1000))
        s.localWrite(at: Self.ms(1050))  // within the window: goes with the first
        #expect(s.action(at: Self.ms(1099)) == .wait)
        #expect(s.action(at: Self.ms(1100)) == .sync)
        _ = s.synced(at: Self.ms(1110))
        #expect(s.action(at: Self.ms(1300)) == .wait)

        s.hubAdvanced(at: Self.ms(2000))
        #expect(s.action(at: Self.ms(2000)) == .sync)
        _ = s.synced(at: Self.ms(2005))

        // With nothing happening, the routine sync comes `interval` after the last one.
        #expect(s.action(at: Self.ms(61_000)) == .wait)
        #expect(s.action(at: Self.ms(62_005)) == .sync)
    }

    @Test func anUnreachableHubIsProbedOnTheBackoffScheduleAndSyncedAtOnceWhenItAnswers() {
        var random = SeededRandom(seed: 5)
        var s = Self.schedule()
        _ = s.synced(at: .zero)
        let (first, wasReachable) = s.failed(at: Self.ms(100), using: &random)
        #expect(wasReachable && s.connectivity == .unreachable)
        #expect(first >= Self.ms(700) && first <= Self.ms(1300))
        // Writes and news wait for the hub; nothing is tried before the probe is due.
        s.localWrite(at: Self.ms(150))
        s.hubAdvanced(at: Self.ms(160))
        #expect(s.action(at: Self.ms(100) + first - Self.ms(1)) == .wait)
        #expect(s.action(at: Self.ms(100) + first) == .probe)

        // Failed probes: growing delays, capped at 8 s.
        var now = Self.ms(100) + first
        var delays: [Duration] = []
        for _ in 0..<6 {
            let (delay, again) = s.failed(at: now, using: &random)
            #expect(!again)
            delays.append(delay)
            now += delay
            #expect(s.action(at: now) == .probe)
        }
        #expect(delays[1] > delays[0] && delays.allSatisfy { $0 <= .seconds(8) })
        #expect(delays.last! >= Self.ms(5600))

        // The hub answers: sync at once; once it worked, the hub is back and the back-off starts over.
        s.probed(at: now)
        #expect(s.action(at: now) == .sync)
        let back = s.synced(at: now + Self.ms(5))
        #expect(back, "reported as reachable again")
        #expect(s.backoff.failures == 0)
        let (afterReset, _) = s.failed(at: now + Self.ms(10), using: &random)
        #expect(afterReset <= Self.ms(1300))
    }

    @Test func aSyncThatFailsAfterAnsweredProbeKeepsBackingOff() {
        var random = SeededRandom(seed: 11)
        var s = Self.schedule()
        _ = s.failed(at: .zero, using: &random)
        let (second, _) = s.failed(at: .seconds(1), using: &random)
        s.probed(at: .seconds(3))
        #expect(s.action(at: .seconds(3)) == .sync)
        let (third, _) = s.failed(at: .seconds(3), using: &random)
        #expect(second >= Self.ms(1400) && third >= Self.ms(2800), "the back-off was not reset by the probe alone")
    }
}
