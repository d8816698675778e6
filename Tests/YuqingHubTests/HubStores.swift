import Foundation
import Logging
import YuqingCore
import YuqingHub
import YuqingPostgres
import YuqingTestSupport

/// The stores a hub runs on. The hub's tests that take one run on each: the SQLite file, and a
/// fresh database on the PostgreSQL server `scripts/postgres.sh` starts (`YUQING_POSTGRES_URL`;
/// without it, PostgreSQL's cases are left out and a line says so).
enum HubStore: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    var description: String { rawValue }

    static let postgresURL = postgresTestServer(without: "the hub's tests run on SQLite only")

    /// The stores to test on here.
    static var available: [HubStore] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// Runs `body` on a new, empty store of this kind (in `dir` for SQLite).
    func with<T>(schema: Schema, in dir: URL, limits: WaitingLimits = WaitingLimits(),
                 _ body: (any HubStorage) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            return try await body(SQLiteHubStorage(path: dir.appendingPathComponent("hub.sqlite").path, waitingLimits: limits, schema: schema))
        case .postgres:
            let url = try await freshPostgresDatabase(Self.postgresURL!, prefix: "yuqing_hub_test")
            var logger = Logger(label: "test.postgres")
            logger.logLevel = .error
            let store = try await PostgresHubStore.connect(url: url, schema: schema, waitingLimits: limits, logger: logger)
            defer { store.close() }
            return try await body(store)
        }
    }
}
