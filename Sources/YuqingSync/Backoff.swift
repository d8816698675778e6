/// How long a node waits before trying an unreachable hub again: a delay that doubles from
/// `initial` up to `maximum`, each one moved at random by up to `jitter` either way, so that many
/// nodes cut off together do not all come back in the same instant.
///
/// A value: ``next(using:)`` counts a failure and answers the delay, ``reset()`` forgets the
/// failures once the hub answers again. The generator is passed in, so the schedule can be replayed.
public struct Backoff: Sendable, Hashable {
    /// The delay after the first failure, before jitter.
    public var initial: Duration
    /// No delay is longer, jitter included.
    public var maximum: Duration
    /// How far (as a fraction, 0...1) each delay may move either way: 0.3 is ±30%.
    public var jitter: Double
    /// Failures counted since the last ``reset()``.
    public private(set) var failures = 0

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(60), jitter: Double = 0.3) {
        self.initial = max(initial, .milliseconds(1))
        self.maximum = max(maximum, self.initial)
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay after failure number `failure` (1 = the first), before jitter:
    /// `initial · 2^(failure−1)`, at most `maximum`.
    public func baseDelay(failure: Int) -> Duration {
        let doubled = Self.seconds(initial) * Double(sign: .plus, exponent: min(max(failure - 1, 0), 62), significand: 1)
        return .seconds(min(doubled, Self.seconds(maximum)))
    }

    /// Counts one more failure and answers how long to wait before the next try: drawn evenly
    /// from `base · (1 ± jitter)`, the upper end cut at `maximum` (so capped delays still differ).
    public mutating func next(using generator: inout some RandomNumberGenerator) -> Duration {
        failures += 1
        let base = Self.seconds(baseDelay(failure: failures))
        let low = base * (1 - jitter), high = min(base * (1 + jitter), Self.seconds(maximum))
        return .seconds(low < high ? Double.random(in: low...high, using: &generator) : high)
    }

    /// The hub answered: the next failure waits `initial` again.
    public mutating func reset() { failures = 0 }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
