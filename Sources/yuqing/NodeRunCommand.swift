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
            abstract: L("Sync with the hub in the background, without anyone running `sync`.",
                        zh: "在后台与中心同步，无需手动运行 `sync`。"),
            discussion: L("""
                Syncs soon after local writes (made by other `yuqing` commands on the same file, which keep \
                working meanwhile), as soon as the hub has news (a long poll stays open), and on a schedule. \
                While the hub is unreachable it tries again with growing, jittered delays, and syncs as soon \
                as the hub answers. Logs one line per sync and per change of connectivity on standard error. \
                Stops cleanly on SIGINT or SIGTERM (exit 0): a sync under way is finished or safely abandoned. \
                Stops with a one-line message when retrying cannot help (another hub at the URL, a replica \
                restored from a backup, a refused change).
                """, zh: """
                本地有写入（同一副本文件上的其他 `yuqing` 命令照常可用）后很快同步；中心有新数据时立即同步\
                （保持一个长轮询连接）；并定时同步。中心无法连接时，以逐渐加长并带随机抖动的间隔重试，\
                中心一旦响应即同步。每次同步及每次连接状态变化，在标准错误输出记录一行日志。\
                收到 SIGINT 或 SIGTERM 时正常退出（退出码 0）：进行中的同步会完成或被安全放弃。\
                重试无济于事时（该 URL 上是另一个中心、副本从备份恢复、变更被拒收）输出一行说明后退出。
                """))

        @OptionGroup var options: ReplicaOptions
        @Option(help: ArgumentHelp(L("Override the hub URL stored in the replica.", zh: "改用此中心 URL，而非副本中保存的 URL。"), valueName: "url")) var hub: String?
        @Option(help: ArgumentHelp(L("Seconds between checks of the replica for new local writes.", zh: "检查副本是否有新的本地写入的间隔秒数。"), valueName: "seconds"))
        var watchInterval = 0.1
        @Option(help: ArgumentHelp(L("Seconds from a local write to its sync (writes within it go together).",
                                     zh: "本地写入到同步之间的秒数（其间的写入一并同步）。"), valueName: "seconds"))
        var debounce = 0.1
        @Option(help: ArgumentHelp(L("Seconds between routine syncs while the hub answers.", zh: "中心可连接时定时同步的间隔秒数。"), valueName: "seconds"))
        var syncInterval = 60.0
        @Option(help: ArgumentHelp(L("Seconds before the first retry while the hub is unreachable (then doubling).",
                                     zh: "中心无法连接时首次重试前等待的秒数（之后逐次加倍）。"), valueName: "seconds"))
        var retryInitial = 1.0
        @Option(help: ArgumentHelp(L("The longest wait between retries, in seconds.", zh: "两次重试之间的最长等待秒数。"), valueName: "seconds"))
        var retryMax = 60.0
        @Option(help: ArgumentHelp(L("Seconds each long poll asks the hub to wait for news (at most 60).",
                                     zh: "每次长轮询请求中心等待新数据的秒数（最多 60）。"), valueName: "seconds"))
        var longPoll = 25.0
        @Option(help: ArgumentHelp(L("Changes per request.", zh: "每次请求的变更数。"))) var batchSize = 5000
        @Option(help: ArgumentHelp(L("Log level: trace, debug, info, notice, warning, error.", zh: "日志级别：trace、debug、info、notice、warning、error。"))) var logLevel = "info"

        func validate() throws {
            for (name, value) in [("--watch-interval", watchInterval), ("--retry-initial", retryInitial), ("--retry-max", retryMax)] {
                guard value.isFinite, value > 0 else { throw ValidationError(L("\(name) must be a positive number of seconds", zh: "\(name) 须为大于 0 的秒数")) }
            }
            for (name, value) in [("--debounce", debounce), ("--sync-interval", syncInterval), ("--long-poll", longPoll)] {
                guard value.isFinite, value >= 0 else { throw ValidationError(L("\(name) must be a number of seconds >= 0", zh: "\(name) 须为不小于 0 的秒数")) }
            }
            guard retryMax >= retryInitial else {
                throw ValidationError(L("--retry-max must be at least --retry-initial", zh: "--retry-max 不能小于 --retry-initial"))
            }
            guard longPoll <= 60 else {
                throw ValidationError(L("--long-poll must be at most 60 seconds (the hub grants no more)", zh: "--long-poll 最多为 60 秒（中心不会等待更久）"))
            }
            guard batchSize > 0 else { throw ValidationError(L("--batch-size must be positive", zh: "--batch-size 须大于 0")) }
            guard Logger.Level(rawValue: logLevel) != nil else {
                throw ValidationError(L("--log-level must be one of trace, debug, info, notice, warning, error",
                                        zh: "--log-level 须为 trace、debug、info、notice、warning、error 之一"))
            }
        }

        func run() async throws {
            var replica = try options.openNode()
            guard let url = try hub ?? replica.info().hubURL else {
                throw CLIError("this replica has no hub URL; pass --hub URL", zh: "该副本没有中心 URL；请使用 --hub URL")
            }
            var logger = Logger(label: "yuqing.node") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            // A new node of the office starts from the hub's snapshot; when that cannot be done now
            // (the hub unreachable), the runner replays the log as it syncs.
            do {
                let (started, said) = try await SnapshotStart.run(replica, url: url, timeout: 30, options: options)
                replica = started
                if let said { logger.info("\(said)") }
            } catch let error as CLIError {
                // Replaying the log checks every change as it arrives, whatever the snapshot was.
                if error.exitCode == 5 { logger.error("the hub's snapshot was refused: \(error.message); the log is replayed instead") }
                else { logger.warning("no snapshot: \(error.message); the log is replayed instead") }
                if (try? replica.info()) == nil { replica = try options.openNode() }
            }
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
