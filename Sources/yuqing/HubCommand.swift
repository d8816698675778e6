import ArgumentParser
import Foundation
import Hummingbird
import Logging
import YuqingHub
import YuqingCases
import YuqingReplica

struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub", abstract: "Run the hub, and see its state.", subcommands: [Serve.self, Status.self])

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the sync protocol over HTTP, storing in an SQLite file.",
            discussion: "Stops cleanly on SIGINT or SIGTERM. The database is created on first use.")

        @Option(help: ArgumentHelp("The hub's SQLite database file.", valueName: "path")) var db: String
        @Option(help: "The address to listen on (loopback by default).") var host = "127.0.0.1"
        @Option(help: "The TCP port to listen on.") var port: Int
        @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"
        @Flag(help: """
            Listen on a non-loopback --host although the hub does not authenticate its clients yet: \
            anyone who reaches the port can read and write every case.
            """)
        var allowUnauthenticatedNetwork = false
        @Option(help: "How many pushed changes of one replica may wait for changes never received.")
        var maxWaitingPerReplica = WaitingLimits().perReplica

        func validate() throws {
            if !HubCommand.isLoopback(host), !allowUnauthenticatedNetwork {
                throw ValidationError("--host \(host) is reachable from other machines, and the hub does not authenticate its clients yet: anyone who reaches it could read and change every case. Use 127.0.0.1 (the default), or add --allow-unauthenticated-network if this network is trusted")
            }
            guard maxWaitingPerReplica > 0 else { throw ValidationError("--max-waiting-per-replica must be positive") }
            guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
            guard Logger.Level(rawValue: logLevel) != nil else {
                throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error")
            }
        }

        func run() async throws {
            let storage = try SQLiteHubStorage(path: db, waitingLimits: WaitingLimits(perReplica: maxWaitingPerReplica), schema: CaseSchema.schema)
            var logger = Logger(label: "yuqing.hub")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            let host = host, db = db
            let app = buildHubApplication(
                configuration: HubConfiguration(host: host, port: port, blobs: BlobStore(replicaPath: db),
                                                evidenceField: (CaseSchema.Kind.case, CaseSchema.Field.evidence)), storage: storage, logger: logger,
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

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a running hub's state: log head, open conflicts, changes waiting and the digest.")
        @OptionGroup var hub: ConflictsCommand.HubOptions
        @Flag(help: "Also compute the hub's state digest (reads every value: slow on a large hub).") var digest = false

        func run() async throws {
            let client = try hub.client()
            let status = try await client.status()
            print("hub:        \(status.hub) at \(client.baseURL.absoluteString) (protocol \(status.protocolVersion))")
            print("log head:   \(status.head)")
            print("conflicts:  \(status.openConflicts) open (`yuqing conflicts list`)")
            let waiting = try await client.waiting()
            if waiting.isEmpty {
                print("waiting:    none")
            } else {
                print("waiting:    \(waiting.reduce(0) { $0 + $1.waiting }) pushed changes wait for changes the hub never received:")
                for w in waiting { print("  \(w.replica.rawValue.isEmpty ? "(unknown sender)" : w.replica.rawValue)  \(w.waiting)") }
            }
            if digest { print("digest:     \(try await client.digest().digest)") }
        }
    }

    /// Whether `host` names this machine only.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
