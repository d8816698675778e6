import Foundation

/// SplitMix64: a small deterministic generator, so a random schedule can be replayed from its seed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A fresh directory for one test's real files, removed when the value goes away.
/// The PostgreSQL server `scripts/postgres.sh` starts for the tests (`YUQING_POSTGRES_URL`), or
/// nil when there is none; `what` says, once, what runs without it.
public func postgresTestServer(without what: String) -> String? {
    guard let url = ProcessInfo.processInfo.environment["YUQING_POSTGRES_URL"], !url.isEmpty else {
        print("YUQING_POSTGRES_URL is not set (scripts/test.sh starts a PostgreSQL server): \(what)")
        return nil
    }
    return url
}

public final class TempDir: Sendable {
    public let url: URL
    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("yuqing-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}
