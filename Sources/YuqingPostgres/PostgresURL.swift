import Foundation
import PostgresNIO

/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, read into a client's configuration.
package enum PostgresURL {
    package static func configuration(_ url: String) throws -> PostgresClient.Configuration {
        guard let u = URLComponents(string: url), ["postgres", "postgresql"].contains(u.scheme ?? ""), let host = u.host, !host.isEmpty,
              let user = u.user, !user.isEmpty else {
            throw PostgresHubError("'\(redacted(url))' is not a PostgreSQL URL; give postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
                                   zh: "“\(redacted(url))”不是 PostgreSQL URL；请使用 postgres://用户[:密码]@主机[:端口]/数据库")
        }
        let database = u.path.hasPrefix("/") ? String(u.path.dropFirst()) : u.path
        var config = PostgresClient.Configuration(host: host, port: u.port ?? 5432, username: user, password: u.password,
                                                  database: database.isEmpty ? user : database, tls: .disable)
        config.options.maximumConnections = 20
        return config
    }

    /// The URL without its password, for messages and logs.
    package static func redacted(_ url: String) -> String {
        guard var u = URLComponents(string: url), u.password != nil else { return url }
        u.password = "***"
        return u.string ?? url
    }
}

/// A new, empty database on the server of `url`, for a test or a benchmark round: its URL.
package func freshPostgresDatabase(_ url: String, prefix: String) async throws -> String {
    let name = "\(prefix)_\(UInt64.random(in: 0...UInt64.max))"
    let client = PostgresClient(configuration: try PostgresURL.configuration(url))
    try await withThrowingDiscardingTaskGroup { group in
        group.addTask { await client.run() }
        try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        group.cancelAll()
    }
    var u = URLComponents(string: url)!
    u.path = "/" + name
    return u.string!
}
