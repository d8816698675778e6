import Foundation
import YuqingPostgres
import YuqingTestSupport

/// The PostgreSQL server `scripts/postgres.sh` starts (`YUQING_POSTGRES_URL`), for tests that run
/// real hub processes on it; without it they run on SQLite only, and a line says so.
enum PostgresForCLI {
    static let url = postgresTestServer(without: "the CLI's hub tests run on SQLite only")

    /// The stores to run on: "sqlite", and "postgres" when a server is at hand.
    static var stores: [String] { url == nil ? ["sqlite"] : ["sqlite", "postgres"] }

    /// A new, empty database for `store` "postgres"; nil for "sqlite".
    static func database(for store: String) async throws -> String? {
        guard store == "postgres", let url else { return nil }
        return try await freshPostgresDatabase(url, prefix: "yuqing_cli_test")
    }
}
