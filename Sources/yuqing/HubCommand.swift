import ArgumentParser
import Foundation
import Hummingbird
import Logging
import YuqingHub

struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub", abstract: "Run the hub.", subcommands: [Serve.self])

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the sync protocol over HTTP, storing in an SQLite file.",
            discussion: "Stops cleanly on SIGINT or SIGTERM. The database is created on first use.")

        @Option(help: ArgumentHelp("The hub's SQLite database file.", valueName: "path")) var db: String
        @Option(help: "The address to listen on (loopback by default).") var host = "127.0.0.1"
        @Option(help: "The TCP port to listen on.") var port: Int
        @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"

        func validate() throws {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
            guard Logger.Level(rawValue: logLevel) != nil else {
                throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error")
            }
        }

        func run() async throws {
            let storage = try SQLiteHubStorage(path: db)
            var logger = Logger(label: "yuqing.hub")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            let host = host, db = db
            let app = buildHubApplication(
                configuration: HubConfiguration(host: host, port: port), storage: storage, logger: logger,
                onServerRunning: { port in
                    say("yuqing hub \(storage.hubID) listening on http://\(host):\(port) (database \(db))")
                })
            do {
                try await app.runService()
            } catch {
                throw CLIError("the hub stopped: \(error) (is port \(port) already in use?)")
            }
        }
    }
}
