/// A hybrid logical clock timestamp: wall-clock milliseconds plus a logical counter.
///
/// Timestamps are used for display and to break ties between *concurrent* writes under the
/// last-writer-wins rule. They never decide whether one write supersedes another: that is the
/// job of dots and contexts. So a device whose clock is wrong cannot lose a write it made after
/// seeing another one.
public struct HLC: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var wallMillis: UInt64
    public var logical: UInt16

    public init(wallMillis: UInt64, logical: UInt16 = 0) {
        self.wallMillis = wallMillis
        self.logical = logical
    }

    public static let zero = HLC(wallMillis: 0)

    /// Packs into one integer that sorts like the timestamp (48 bits of milliseconds, 16 logical).
    public var packed: UInt64 { wallMillis << 16 | UInt64(logical) }

    public init(packed: UInt64) {
        self.init(wallMillis: packed >> 16, logical: UInt16(truncatingIfNeeded: packed))
    }

    public static func < (lhs: HLC, rhs: HLC) -> Bool { lhs.packed < rhs.packed }

    public var description: String { "\(wallMillis).\(logical)" }

    public init(from decoder: any Decoder) throws {
        self.init(packed: try decoder.singleValueContainer().decode(UInt64.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(packed)
    }
}

/// The clock a replica stamps its changes with.
///
/// `tick` is called for every local change, `observe` for every change received. A remote
/// timestamp further ahead of the local physical clock than `maxForwardDrift` is only followed up
/// to that bound, so one device whose clock runs days ahead cannot drag every other replica's
/// clock (and every later last-writer-wins decision) into the future with it.
public struct HybridLogicalClock: Hashable, Sendable {
    public private(set) var latest: HLC
    public var maxForwardDrift: UInt64

    /// Five minutes: far beyond ordinary drift, far below a wrongly set date.
    public static let defaultMaxForwardDrift: UInt64 = 5 * 60 * 1000

    public init(latest: HLC = .zero, maxForwardDrift: UInt64 = defaultMaxForwardDrift) {
        self.latest = latest
        self.maxForwardDrift = maxForwardDrift
    }

    /// A timestamp for a local event, greater than every timestamp issued or observed before.
    public mutating func tick(physicalMillis: UInt64) -> HLC {
        if physicalMillis > latest.wallMillis {
            latest = HLC(wallMillis: physicalMillis)
        } else if latest.logical == .max {
            latest = HLC(wallMillis: latest.wallMillis + 1)
        } else {
            latest.logical += 1
        }
        return latest
    }

    /// Takes a received timestamp into account (bounded by `maxForwardDrift`).
    public mutating func observe(_ remote: HLC, physicalMillis: UInt64) {
        let bound = physicalMillis &+ maxForwardDrift
        let accepted = remote.wallMillis > bound ? HLC(wallMillis: bound) : remote
        if accepted > latest { latest = accepted }
    }
}
