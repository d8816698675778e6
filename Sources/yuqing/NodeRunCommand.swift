import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import YuqingCases
import YuqingReplica
import YuqingSync

extension NodeCommand {
    /// `yuqing node run`: the node syncing in the background until stopped.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sync with the hub in the background, without anyone running `sync`.",
            discussion: """
                Syncs soon after local writes (made by other `yuqing` commands on the same file, which keep \
                working meanwhile), as soon as the hub has news (a long poll stays open), and on a schedule. \
                While the hub is unreachable it tries again with growing, jittered delays, and syncs as soon \
                as the hub answers. Logs one line per sync and per change of connectivity on standard error. \
                Stops cleanly on SIGINT or SIGTERM (exit 0): a sync under way is finished or safely abandoned. \
                Stops with a one-line message when retrying cannot help (another hub at the URL, a replica \
                restored from a backup, a refused change).
                """)

        @OptionGroup var options: ReplicaOptions
        @Option(help: ArgumentHelp("Override the hub URL stored in the replica.", valueName: "url")) var hub: String?
        @Option(help: ArgumentHelp("Seconds between checks of the replica for new local writes.", valueName: "seconds"))
        var watchInterval = 0.1
        @Option(help: ArgumentHelp("Seconds from a local write to its sync (writes within it go together).", valueName: "seconds"))
        var debounce = 0.1
        @Option(help: ArgumentHelp("Seconds between routine syncs while the hub answers.", valueName: "seconds"))
        var syncInterval = 60.0
        @Option(help: ArgumentHelp("Seconds before the first retry while the hub is unreachable (then doubling).", valueName: "seconds"))
        var retryInitial = 1.0
        @Option(help: ArgumentHelp("The longest wait between retries, in seconds.", valueName: "seconds"))
        var retryMax = 60.0
        @Option(help: ArgumentHelp("Seconds each long poll asks the hub to wait for news (at most 60).", valueName: "seconds"))
        var longPoll = 25.0
        @Option(help: "Changes per request.") var batchSize = 5000
        @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"

        func validate() throws {
            for (name, value) in [("--watch-interval", watchInterval), ("--retry-initial", retryInitial), ("--retry-max", retryMax)] {
                guard value.isFinite, value > 0 else { throw ValidationError("\(name) must be a positive number of seconds") }
            }
            for (name, value) in [("--debounce", debounce), ("--sync-interval", syncInterval), ("--long-poll", longPoll)] {
                guard value.isFinite, value >= 0 else { throw ValidationError("\(name) must be a number of seconds >= 0") }
            }
            guard retryMax >= retryInitial else { throw ValidationError("--retry-max must be at least --retry-initial") }
            guard longPoll <= 60 else { throw ValidationError("--long-poll must be at most 60 seconds (the hub grants no more)") }
            guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
            guard Logger.Level(rawValue: logLevel) != nil else {
                throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error")
            }
        }

        func run() async throws {
            let replica = try options.openNode()
            guard let url = try hub ?? replica.info().hubURL else {
                throw CLIError("this replica has no hub URL; pass --hub URL")
            }
            var logger = Logger(label: "yuqing.node") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            var configuration = NodeRunnerConfiguration()
            configuration.evidence = (CaseSchema.Kind.case, CaseSchema.Field.evidence)
            configuration.watchInterval = .seconds(watchInterval)
            configuration.debounce = .seconds(debounce)
            configuration.syncInterval = .seconds(syncInterval)
            configuration.backoff = Backoff(initial: .seconds(retryInitial), maximum: .seconds(retryMax))
            configuration.longPoll = .seconds(longPoll)
            configuration.batchSize = batchSize
            let (client, security) = try HubLink.open(replica, url: url)
            configuration.security = security
            configuration.blobField = (CaseSchema.Kind.case, CaseSchema.Field.evidence)
            let runner = NodeRunner(replica: replica, client: client, configuration: configuration, logger: logger)
            var groupLogger = logger
            groupLogger.logLevel = max(logger.logLevel, .notice)  // the group's own start and stop lines are noise here
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: [.init(service: runner, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "node-runner")],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: groupLogger))
            say("node \(replica.id) running (hub \(url))")
            try await group.run()
            logger.info("stopped")
        }
    }
}
