import ArgumentParser
import Foundation
import Hummingbird
import Logging
import YuqingConsole
import YuqingCore
import YuqingHub
import YuqingCases
import YuqingReplica
import YuqingSecurity
import YuqingSync

struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub", abstract: L("Run the hub, and see its state.", zh: "运行中心，查看中心状态。"),
        subcommands: [Serve.self, Status.self, Enrol.self, Devices.self, Revoke.self, HubHistory.self, ConsoleUser.self])

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: L("Serve the sync protocol over HTTP, storing in an SQLite file (or PostgreSQL).",
                        zh: "通过HTTP提供同步服务，数据存于SQLite文件（或PostgreSQL）。"),
            discussion: L("""
                Stops cleanly on SIGINT or SIGTERM. The database is created on first use, and beside it
                the hub's key (HUB.sqlite.hub.key), which signs what the hub writes, and the operator's
                key (HUB.sqlite.operator.key), which the operator's commands sign with (--operator-key).
                Only enrolled devices and the operator are served (`yuqing hub enrol`).

                With --postgres URL --files PATH the hub stores in PostgreSQL instead, and several
                instances may serve one database at once (behind a load balancer): give them all the
                same URL and the same PATH on shared storage (PATH.hub.key, PATH.operator.key, the
                evidence in PATH.blobs/). The web console is served with --db only.
                """, zh: """
                收到SIGINT或SIGTERM时正常停止。数据库在首次使用时创建，并在其旁生成中心密钥
                （HUB.sqlite.hub.key，用于签署中心写入的内容）和运维人员密钥（HUB.sqlite.operator.key，
                运维人员命令用它签名，见 --operator-key）。只为已注册的设备和运维人员提供服务（`yuqing hub enrol`）。

                使用 --postgres URL --files PATH 时，中心改用PostgreSQL存储，多个实例可同时为同一数据库提供服务
                （置于负载均衡之后）：所有实例须使用相同的URL和共享存储上相同的PATH（PATH.hub.key、
                PATH.operator.key，证据目录 PATH.blobs/）。网页控制台仅在使用 --db 时提供。
                """))

        @OptionGroup var store: HubStoreOptions
        @Option(help: ArgumentHelp(L("The address to listen on (loopback by default).", zh: "监听地址（默认仅本机回环地址）。"))) var host = "127.0.0.1"
        @Option(help: ArgumentHelp(L("The TCP port to listen on.", zh: "监听的TCP端口。"))) var port: Int
        @Option(help: ArgumentHelp(L("Log level: trace, debug, info, notice, warning, error.",
                                     zh: "日志级别：trace、debug、info、notice、warning、error。"))) var logLevel = "info"
        @Option(help: ArgumentHelp(L("Serve HTTPS with this certificate (PEM: the hub's certificate, then any intermediates).",
                                     zh: "用此证书提供HTTPS服务（PEM格式：先是中心证书，再是中间证书）。"), valueName: "path"))
        var tlsCert: String?
        @Option(help: ArgumentHelp(L("The private key of --tls-cert (PEM, unencrypted, readable by the hub's user only).",
                                     zh: "--tls-cert 的私钥（PEM格式，不加密，仅运行中心的用户可读）。"), valueName: "path"))
        var tlsKey: String?
        @Option(help: ArgumentHelp(L("The CA certificate nodes pin instead of --tls-cert itself (PEM), when a CA signed it.",
                                     zh: "证书由CA签发时，节点锁定信任的CA证书（PEM格式），代替 --tls-cert 本身。"), valueName: "path"))
        var tlsCa: String?
        @Flag(help: ArgumentHelp(L("Serve anyone, without enrolment or signatures (tests of the sync engine only).",
                                   zh: "不经注册和签名，为任何人提供服务（仅用于同步引擎测试）。"), visibility: .hidden))
        var noAuthentication = false
        @Option(help: ArgumentHelp(L("How many pushed changes of one replica may wait for changes never received.",
                                     zh: "一个副本推送的变更中，最多可有多少项等待尚未收到的变更。")))
        var maxWaitingPerReplica = WaitingLimits().perReplica
        @Flag(help: ArgumentHelp(L("Do not serve the web console (/console).", zh: "不提供网页控制台（/console）。"))) var noConsole = false
        @Option(help: ArgumentHelp(L("Make a new snapshot for new nodes of the office each time the log has grown by this many changes, at most one every 10 minutes (0: none; --db only).",
                                     zh: "日志每增长这么多项变更，就为办公室的新节点生成一个新快照，每10分钟最多一个（0：不生成；仅用于 --db）。")))
        var snapshotEvery: Int64 = 50_000
        @Option(help: ArgumentHelp(L("The console's dashboard lists units none of whose nodes synced for this many hours.",
                                     zh: "控制台工作台列出其节点超过此小时数未同步的单位。"))) var staleHours = 24

        func validate() throws {
            try store.validateFiles()
            guard (tlsCert == nil) == (tlsKey == nil) else {
                throw ValidationError(L("give --tls-cert and --tls-key together", zh: "--tls-cert 和 --tls-key 须同时给出"))
            }
            if tlsCa != nil, tlsCert == nil {
                throw ValidationError(L("--tls-ca needs --tls-cert and --tls-key", zh: "--tls-ca 须与 --tls-cert、--tls-key 一起使用"))
            }
            if !HubClient.isLoopback(host), tlsCert == nil {
                throw ValidationError(L("--host \(host) is reachable from other machines, and plain HTTP is served on loopback only: anyone on the network could read the cases that pass. Give --tls-cert and --tls-key to serve HTTPS, or listen on 127.0.0.1 (the default)",
                                        zh: "--host \(host) 可被其他机器访问，而明文HTTP只允许在本机回环地址上提供：否则网络上任何人都能读取传输的案件。请给出 --tls-cert 和 --tls-key 以提供HTTPS服务，或监听127.0.0.1（默认）"))
            }
            guard staleHours > 0 else {
                throw ValidationError(L("--stale-hours must be positive", zh: "--stale-hours 必须为正数"))
            }
            guard snapshotEvery >= 0 else {
                throw ValidationError(L("--snapshot-every must be 0 (no snapshots) or a positive number of changes",
                                        zh: "--snapshot-every 须为0（不生成快照）或正的变更数"))
            }
            guard maxWaitingPerReplica > 0 else {
                throw ValidationError(L("--max-waiting-per-replica must be positive", zh: "--max-waiting-per-replica 必须为正数"))
            }
            guard (0...65535).contains(port) else {
                throw ValidationError(L("--port must be between 0 and 65535", zh: "--port 必须在0到65535之间"))
            }
            guard Logger.Level(rawValue: logLevel) != nil else {
                throw ValidationError(L("--log-level must be one of trace, debug, info, notice, warning, error",
                                        zh: "--log-level 必须是trace、debug、info、notice、warning、error之一"))
            }
        }

        func run() async throws {
            var logger = Logger(label: "yuqing.hub")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            let limits = WaitingLimits(perReplica: maxWaitingPerReplica)
            if try await store.withPostgres(waitingLimits: limits, logger: logger, { pg in try await serve(pg, console: nil, logger: logger) }) != nil { return }
            let db = store.db ?? ""
            let storage = try SQLiteHubStorage(path: db, waitingLimits: limits, schema: CaseSchema.schema)
            // Commits never wait for a checkpoint (WALCheckpointer): about a quarter off a reconnect (docs/benchmarks.md §6).
            let checkpointer = try storage.replica.checkpointInBackground(logger: logger)
            defer { checkpointer.stop() }
            if WALWrites.statementJournalLimit < 1 << 20 {
                // A group of pushes with a refused one is merged again, each push in a savepoint.
                logger.warning("savepoint journals spill to temporary files past 64 KiB (slower pushes after a refused one): YUQING_WAL_WRITES=system is set, or SQLite was in use before the hub configured it")
            }
            // Nodes list the evidence their cases name at every sync: snapshots carry the index of it.
            try storage.replica.indexElements(kind: CaseSchema.Kind.case, field: CaseSchema.Field.evidence)
            let snapshots = snapshotEvery > 0 ? HubSnapshots(storage: storage, every: snapshotEvery, logger: logger) : nil
            try await serve(storage, console: noConsole ? nil : storage, snapshots: snapshots, logger: logger)
        }

        /// Serves from `storage`; the console with `console` (it reads the hub's SQLite file).
        func serve(_ storage: some HubStorage, console consoleStorage: SQLiteHubStorage?, snapshots: HubSnapshots? = nil, logger: Logger) async throws {
            let host = host, base = store.base
            let security: HubSecurity?
            do { security = noAuthentication ? nil : try HubSecurity.load(forDatabase: base) } catch let e as SecurityError { throw CLIError(e) }
            var tls: HubTLS?
            if let tlsCert, let tlsKey {
                do { tls = try HubTLS(certificate: tlsCert, key: tlsKey, ca: tlsCa) } catch let e as TLSFileError { throw CLIError(e) }
                // What `hub enrol --out` puts in code files, for the nodes to pin.
                try await storage.setSetting(HubTLS.pinSetting, tls!.pinnedPEM)
            }
            // The readiness line below is read by scripts (`listening on …`): it stays in English.
            let transport = tls.map { "HTTPS, nodes pin certificate sha256 \($0.fingerprint.prefix(16))" }
                ?? "plain HTTP\(HubClient.isLoopback(host) ? ", loopback only" : "")"
            let scheme = tls == nil ? "http" : "https"
            let mode = security.map { "enrolled devices only; hub key \($0.hubKey.publicKey.fingerprint), operator key \(HubSecurity.operatorKeyPath(forDatabase: base))" }
                ?? "WITHOUT AUTHENTICATION: anyone who reaches it may read and write everything"
            var configuration = HubConfiguration(host: host, port: port, blobs: BlobStore(replicaPath: base),
                                                 evidenceField: (CaseSchema.Kind.case, CaseSchema.Field.evidence), security: security, tls: tls)
            configuration.snapshots = snapshots
            var console: Console?
            if let consoleStorage {
                let accounts: ConsoleAccounts
                do { accounts = try ConsoleAccounts(path: ConsoleAccounts.path(forHubDatabase: base)) } catch let e as ConsoleError { throw CLIError(e) }
                configuration.onDeviceSeen = { device in await accounts.deviceSeen(device, now: Int64(Date().timeIntervalSince1970 * 1000)) }
                console = Console(hub: consoleStorage, accounts: accounts,
                                  configuration: ConsoleConfiguration(staleAfter: .seconds(staleHours * 3600), secureCookies: tls != nil),
                                  blobs: configuration.blobs, logger: logger)
            }
            let consoleServed = console != nil, onPostgres = store.postgres != nil
            let routes = console, described = store.described
            let app = buildHubApplication(
                configuration: configuration, storage: storage, logger: logger, routes: { router in routes?.register(on: router) },
                onServerRunning: { port in
                    let note = consoleServed ? "; console at \(scheme)://\(host):\(port)/console/" : onPostgres ? "; no console (it is served with --db only)" : ""
                    say("yuqing hub \(storage.hubID) listening on \(scheme)://\(host):\(port) (\(transport)); \(mode) (\(described))\(note)")
                })
            do {
                try await app.runService()
            } catch {
                throw CLIError("the hub stopped: \(error) (is port \(port) already in use?)",
                               zh: "中心已停止：\(error)（端口\(port)是否已被占用？）")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: L("Show a running hub's state: log head, open conflicts, changes waiting and the digest.",
                        zh: "查看运行中的中心状态：日志位置、未解决的冲突、等待中的变更和状态摘要。"))
        @OptionGroup var hub: ConflictsCommand.HubOptions
        @Flag(help: ArgumentHelp(L("Also compute the hub's state digest (reads every value: slow on a large hub).",
                                   zh: "同时计算中心的状态摘要（需读取全部数据，数据量大时较慢）。"))) var digest = false

        func run() async throws {
            let client = try hub.client()
            let status = try await client.status()
            // The labels (`hub:`, `log head:` …) stay as they are: scripts read these lines.
            print(L("hub:        \(status.hub) at \(client.baseURL.absoluteString) (protocol \(status.protocolVersion))",
                    zh: "hub:        \(status.hub)，地址 \(client.baseURL.absoluteString)（协议版本\(status.protocolVersion)）"))
            print("log head:   \(status.head)")
            print(L("conflicts:  \(status.openConflicts) open (`yuqing conflicts list`)",
                    zh: "conflicts:  \(status.openConflicts)个未解决（`yuqing conflicts list`）"))
            let waiting = try await client.waiting()
            if waiting.isEmpty {
                print(L("waiting:    none", zh: "waiting:    无"))
            } else {
                let total = waiting.reduce(0) { $0 + $1.waiting }
                print(L("waiting:    \(total) pushed changes wait for changes the hub never received:",
                        zh: "waiting:    \(total)项已推送的变更在等待中心尚未收到的变更："))
                for w in waiting { print("  \(w.replica.rawValue.isEmpty ? L("(unknown sender)", zh: "（发送方不明）") : w.replica.rawValue)  \(w.waiting)") }
            }
            if digest { print("digest:     \(try await client.digest().digest)") }
        }
    }

    /// Makes a one-time enrolment code for a user of a unit (adding the unit and the user to the
    /// organisation when needed), in the hub's own file.
    struct Enrol: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: L("Make a one-time code that enrols one device for a user of a unit.",
                        zh: "为某单位的用户生成一次性注册码，用于注册一台设备。"),
            discussion: L("""
                Run at the hub, on its database (while it runs or not). Adds the unit and the user with
                their roles to the organisation when they are new. The node presents the code once
                (`yuqing node init … --code CODE` or `yuqing node enrol --code CODE`); it expires after
                --valid-hours.
                """, zh: """
                在中心对其数据库运行（中心运行与否均可）。单位和用户为新增时，连同用户角色一并加入组织。
                节点只能出示一次注册码（`yuqing node init … --code CODE` 或 `yuqing node enrol --code CODE`）；
                超过 --valid-hours 后失效。
                """))
        @OptionGroup var store: HubStoreOptions
        @Option(help: ArgumentHelp(L("The unit the device works for.", zh: "设备所属的单位。"))) var unit: String
        @Option(help: ArgumentHelp(L("The user who works on it.", zh: "使用该设备的用户。"))) var user: String
        @Option(name: .customLong("role"), help: ArgumentHelp(L("The user's roles when the user is new: \(Role.names); repeat for more.",
                                                                 zh: "新用户的角色：\(Role.names)；多个角色可重复给出。"))) var roles: [String] = []
        @Option(help: ArgumentHelp(L("The user's name, when new.", zh: "新用户的姓名。"))) var name: String?
        @Option(help: ArgumentHelp(L("Hours until the code expires.", zh: "注册码的有效小时数。"))) var validHours = 72
        @Option(help: ArgumentHelp(L("Write the code to this file (readable by its owner only) instead of printing it; for an HTTPS hub the file also carries the certificate the node pins.",
                                     zh: "将注册码写入此文件（仅文件所有者可读），不在屏幕上显示；中心使用HTTPS时，文件中还附带供节点锁定信任的证书。"), valueName: "path")) var out: String?
        @Option(help: ArgumentHelp(L("The certificate (or CA) the node pins, when not the one `hub serve --tls-cert` last served (PEM).",
                                     zh: "节点锁定信任的证书（或CA证书，PEM格式），在它不是 `hub serve --tls-cert` 最近使用的证书时给出。"), valueName: "path"))
        var hubCert: String?

        func validate() throws {
            guard validHours > 0, validHours <= 24 * 90 else {
                throw ValidationError(L("--valid-hours must be between 1 and 2160", zh: "--valid-hours 必须在1到2160之间"))
            }
        }

        func run() async throws {
            if let e = Identifier.error(unit, what: "unit") { throw CLIError("--unit: \(e.message)", zh: "--unit：\(e.chinese)") }
            if let e = Identifier.error(user, what: "user") { throw CLIError("--user: \(e.message)", zh: "--user：\(e.chinese)") }
            let parsed = try NodeCommand.roles(roles)
            let (unit, user, name, validHours) = (unit, user, name, validHours)
            var (code, pin): (String, String?) = try await store.withStorage { hub in
                do {
                    return (try await HubEnrolment.issue(on: hub, unit: unit, user: user, roles: parsed, name: name, validHours: validHours,
                                                         now: Int64(Date().timeIntervalSince1970 * 1000)),
                            try await hub.setting(HubTLS.pinSetting))
                } catch let e as WorkflowError { throw CLIError(e) }
            }
            if let hubCert {
                guard let text = try? String(contentsOfFile: hubCert, encoding: .utf8), !PEM.certificateBlocks(text).isEmpty else {
                    throw CLIError("cannot read a certificate from \(hubCert); give a PEM file (-----BEGIN CERTIFICATE-----)",
                                   zh: "无法从\(hubCert)读取证书；请给出PEM格式的文件（-----BEGIN CERTIFICATE-----）")
                }
                pin = PEM.certificateBlocks(text)
            }
            if let out {
                let fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                guard fd >= 0 else {
                    let reason = String(cString: strerror(errno))
                    throw CLIError("cannot create \(out): \(reason) (it must not exist yet)", zh: "无法创建\(out)：\(reason)（该文件不得已存在）")
                }
                let bytes = Array("\(code)\n\(pin ?? "")".utf8)
                _ = write(fd, bytes, bytes.count)
                close(fd)
                print(L("enrolment code for \(user)@\(unit) written to \(out) (valid \(validHours) h\(pin == nil ? "" : "; with the hub's certificate, which the node pins"))",
                        zh: "\(user)@\(unit)的注册码已写入\(out)（有效期\(validHours)小时\(pin == nil ? "" : "；附中心证书，供节点锁定信任")）"))
            } else {
                if pin != nil {
                    print(L("this hub serves HTTPS: give the node its certificate too (`node enrol --hub-cert FILE`), or make the code with --out, whose file carries it",
                            zh: "本中心使用HTTPS：请同时把中心证书交给节点（`node enrol --hub-cert FILE`），或用 --out 生成注册码文件，文件中附带证书"))
                }
                print(L("enrolment code for \(user)@\(unit) (valid \(validHours) h, once):",
                        zh: "\(user)@\(unit)的注册码（有效期\(validHours)小时，仅可使用一次）："))
                print(code)
            }
        }
    }

    struct Devices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("List the enrolled devices.", zh: "列出已注册的设备。"))
        @OptionGroup var store: HubStoreOptions
        @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以JSON格式输出。"))) var json = false

        func run() async throws {
            let devices = try await store.withStorage { try await $0.views(kinds: [CaseSchema.Kind.device]) }.compactMap(Device.init).sorted { $0.id < $1.id }
            if json {
                return try printJSON(devices.map { d -> [String: Any] in
                    ["device": d.id, "unit": d.unit, "user": d.user, "public_key": d.publicKey,
                     "enrolled_at": d.enrolledAt as Any, "revoked_at": d.revokedAt as Any]
                })
            }
            if devices.isEmpty { print(L("no devices enrolled (`yuqing hub enrol` makes a code)", zh: "尚无已注册的设备（用 `yuqing hub enrol` 生成注册码）")) }
            for d in devices {
                let key = (try? PublicKey(base64: d.publicKey).fingerprint) ?? "?"
                print(L("\(d.id)  \(d.user.terminalSafe)@\(d.unit.terminalSafe)  key \(key)  \(d.isRevoked ? "REVOKED" : "active")",
                        zh: "\(d.id)  \(d.user.terminalSafe)@\(d.unit.terminalSafe)  密钥 \(key)  \(d.isRevoked ? "已吊销" : "有效")"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: L("Revoke a device: the hub serves it no more.", zh: "吊销设备：中心不再为其提供服务。"),
            discussion: L("What it pushed before stays, attributed to it. A lost or stolen device is revoked at once.",
                          zh: "该设备此前推送的内容仍然保留，并记在该设备名下。设备丢失或被盗时应立即吊销。"))
        @OptionGroup var store: HubStoreOptions
        @Argument(help: ArgumentHelp(L("The device's id (as `yuqing hub devices` lists it).", zh: "设备ID（见 `yuqing hub devices` 的列表）。"))) var device: String

        func run() async throws {
            let device = device
            let outcome: (device: Device, revoked: Bool)
            do {
                outcome = try await store.withStorage { try await HubEnrolment.revoke(on: $0, device: device, now: Int64(Date().timeIntervalSince1970 * 1000)) }
            } catch let e as WorkflowError {
                throw CLIError(e.message + " (`yuqing hub devices` lists them)", zh: e.chinese + "（`yuqing hub devices` 可列出已注册设备）")
            }
            let d = outcome.device
            if !outcome.revoked { return print(L("device \(device) was revoked already", zh: "设备\(device)此前已被吊销")) }
            print(L("device \(device) (\(d.user)@\(d.unit)) revoked; it can no longer sync",
                    zh: "设备\(device)（\(d.user)@\(d.unit)）已吊销，不能再同步"))
        }
    }

    /// Sets the console password of a user of the organisation.
    struct ConsoleUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "console-user",
            abstract: L("Set a user's password for the web console.", zh: "设置用户登录网页控制台的密码。"),
            discussion: L("""
                Run at the hub, on its database (while it runs or not). The user must be in the
                organisation (`yuqing org user`); what the console offers follows their roles, and a
                unit's user sees only their unit's cases. The password is read from --password-file,
                or from standard input (one line); it is kept as a bcrypt hash beside the hub's
                database (HUB.sqlite.console), never synced. Setting it again unlocks a locked account.
                """, zh: """
                在中心对其数据库运行（中心运行与否均可）。该用户须已在组织中（`yuqing org user`）；控制台
                提供的功能取决于其角色，单位用户只能看到本单位的案件。密码从 --password-file 读取，或从标准
                输入读取（一行）；以bcrypt哈希形式保存在中心数据库旁（HUB.sqlite.console），从不同步。
                重新设置密码可解除账户锁定。
                """))
        @Option(help: ArgumentHelp(L("The hub's SQLite database file.", zh: "中心的SQLite数据库文件。"), valueName: "path")) var db: String
        @Argument(help: ArgumentHelp(L("The user's id.", zh: "用户ID。"))) var user: String
        @Option(help: ArgumentHelp(L("Read the password from this file (its first line).", zh: "从此文件读取密码（第一行）。"), valueName: "path"))
        var passwordFile: String?

        func run() async throws {
            let hub = try HubCommand.openHub(db)
            let org = Organisation(try hub.views(kinds: Organisation.kinds))
            guard let known = org.users[user] else {
                throw CLIError("\(user) is not a user of the organisation; add them first (`yuqing org user \(user) --unit UNIT --role office`)",
                               zh: "\(user)不是组织中的用户；请先添加（`yuqing org user \(user) --unit UNIT --role office`）")
            }
            let text: String?
            if let passwordFile {
                guard let t = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                    throw CLIError("cannot read \(passwordFile)", zh: "无法读取\(passwordFile)")
                }
                text = t.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init)
            } else {
                text = readLine(strippingNewline: true)
            }
            guard let password = text, !password.isEmpty else {
                throw CLIError("give the password on standard input (one line) or with --password-file", zh: "请通过标准输入（一行）或 --password-file 提供密码")
            }
            do {
                let accounts = try ConsoleAccounts(path: ConsoleAccounts.path(forHubDatabase: db))
                try await accounts.setPassword(user: user, password: password, now: Int64(Date().timeIntervalSince1970 * 1000))
            } catch let e as ConsoleError { throw CLIError(e) }
            let roles = known.roles.sorted().map(\.rawValue).joined(separator: ", ")
            print(L("console password of \(user) (\(known.unit): \(roles)) set", zh: "已设置\(user)（\(known.unit)：\(roles)）的控制台密码"))
        }
    }

    /// The hub's own database, for the commands the operator runs at the hub.
    static func openHub(_ db: String) throws -> Replica {
        guard FileManager.default.fileExists(atPath: db) else {
            throw CLIError("no hub database at \(db): give the --db of `yuqing hub serve` (it is made when the hub first starts)",
                           zh: "\(db)处没有中心数据库：请给出 `yuqing hub serve` 所用的 --db（中心首次启动时创建）")
        }
        let replica = try Replica.open(at: db, schema: CaseSchema.schema)
        guard replica.role == .hub else {
            throw CLIError("\(db) is a node's replica, not the hub's database", zh: "\(db)是节点的副本，不是中心数据库")
        }
        return replica
    }
}
