import ArgumentParser
import Foundation
import Hummingbird
import Logging
import YuqingHub
import YuqingCases
import YuqingReplica
import YuqingSecurity
import YuqingSync

struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub", abstract: "Run the hub, and see its state.", subcommands: [Serve.self, Status.self, Enrol.self, Devices.self, Revoke.self, HubHistory.self])

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the sync protocol over HTTP, storing in an SQLite file.",
            discussion: """
                Stops cleanly on SIGINT or SIGTERM. The database is created on first use, and beside it
                the hub's key (HUB.sqlite.hub.key), which signs what the hub writes, and the operator's
                key (HUB.sqlite.operator.key), which the operator's commands sign with (--operator-key).
                Only enrolled devices and the operator are served (`yuqing hub enrol`).
                """)

        @Option(help: ArgumentHelp("The hub's SQLite database file.", valueName: "path")) var db: String
        @Option(help: "The address to listen on (loopback by default).") var host = "127.0.0.1"
        @Option(help: "The TCP port to listen on.") var port: Int
        @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"
        @Option(help: ArgumentHelp("Serve HTTPS with this certificate (PEM: the hub's certificate, then any intermediates).", valueName: "path"))
        var tlsCert: String?
        @Option(help: ArgumentHelp("The private key of --tls-cert (PEM, unencrypted, readable by the hub's user only).", valueName: "path"))
        var tlsKey: String?
        @Option(help: ArgumentHelp("The CA certificate nodes pin instead of --tls-cert itself (PEM), when a CA signed it.", valueName: "path"))
        var tlsCa: String?
        @Flag(help: ArgumentHelp("Serve anyone, without enrolment or signatures (tests of the sync engine only).", visibility: .hidden))
        var noAuthentication = false
        @Option(help: "How many pushed changes of one replica may wait for changes never received.")
        var maxWaitingPerReplica = WaitingLimits().perReplica

        func validate() throws {
            guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("give --tls-cert and --tls-key together") }
            if tlsCa != nil, tlsCert == nil { throw ValidationError("--tls-ca needs --tls-cert and --tls-key") }
            if !HubClient.isLoopback(host), tlsCert == nil {
                throw ValidationError("--host \(host) is reachable from other machines, and plain HTTP is served on loopback only: anyone on the network could read the cases that pass. Give --tls-cert and --tls-key to serve HTTPS, or listen on 127.0.0.1 (the default)")
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
            let security: HubSecurity?
            do { security = noAuthentication ? nil : try HubSecurity.load(forDatabase: db) } catch let e as SecurityError { throw CLIError(e.message) }
            var tls: HubTLS?
            if let tlsCert, let tlsKey {
                do { tls = try HubTLS(certificate: tlsCert, key: tlsKey, ca: tlsCa) } catch let e as TLSFileError { throw CLIError(e.description) }
                // What `hub enrol --out` puts in code files, for the nodes to pin.
                try storage.replica.setAttribute(HubTLS.pinSetting, tls!.pinnedPEM)
            }
            let transport = tls.map { "HTTPS, nodes pin certificate sha256 \($0.fingerprint.prefix(16))" }
                ?? "plain HTTP\(HubClient.isLoopback(host) ? ", loopback only" : "")"
            let scheme = tls == nil ? "http" : "https"
            let mode = security.map { "enrolled devices only; hub key \($0.hubKey.publicKey.fingerprint), operator key \(HubSecurity.operatorKeyPath(forDatabase: db))" }
                ?? "WITHOUT AUTHENTICATION: anyone who reaches it may read and write everything"
            let app = buildHubApplication(
                configuration: HubConfiguration(host: host, port: port, blobs: BlobStore(replicaPath: db),
                                                evidenceField: (CaseSchema.Kind.case, CaseSchema.Field.evidence), security: security, tls: tls),
                storage: storage, logger: logger,
                onServerRunning: { port in
                    say("yuqing hub \(storage.hubID) listening on \(scheme)://\(host):\(port) (\(transport)); \(mode) (database \(db))")
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

    /// Makes a one-time enrolment code for a user of a unit (adding the unit and the user to the
    /// organisation when needed), in the hub's own file.
    struct Enrol: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a one-time code that enrols one device for a user of a unit.",
            discussion: """
                Run at the hub, on its database (while it runs or not). Adds the unit and the user with
                their roles to the organisation when they are new. The node presents the code once
                (`yuqing node init … --code CODE` or `yuqing node enrol --code CODE`); it expires after
                --valid-hours.
                """)
        @Option(help: ArgumentHelp("The hub's SQLite database file.", valueName: "path")) var db: String
        @Option(help: "The unit the device works for.") var unit: String
        @Option(help: "The user who works on it.") var user: String
        @Option(name: .customLong("role"), help: "The user's roles when the user is new: \(Role.names); repeat for more.") var roles: [String] = []
        @Option(help: "The user's name, when new.") var name: String?
        @Option(help: "Hours until the code expires.") var validHours = 72
        @Option(help: ArgumentHelp("Write the code to this file (readable by its owner only) instead of printing it; for an HTTPS hub the file also carries the certificate the node pins.", valueName: "path")) var out: String?
        @Option(help: ArgumentHelp("The certificate (or CA) the node pins, when not the one `hub serve --tls-cert` last served (PEM).", valueName: "path"))
        var hubCert: String?

        func validate() throws {
            guard validHours > 0, validHours <= 24 * 90 else { throw ValidationError("--valid-hours must be between 1 and 2160") }
        }

        func run() async throws {
            if let p = Identifier.problem(unit, what: "unit") { throw CLIError("--unit: \(p)") }
            if let p = Identifier.problem(user, what: "user") { throw CLIError("--user: \(p)") }
            let parsed = try NodeCommand.roles(roles)
            let hub = try HubCommand.openHub(db)
            let org = Organisation(try hub.views(kinds: Organisation.kinds))
            var writes: [FieldWrite] = []
            if org.units[unit] == nil {
                do { writes += try OrganisationWrites.unit(unit, name: nil, parent: nil) } catch { throw CLIError(error.message) }
            }
            if let known = org.users[user] {
                guard known.unit == unit else { throw CLIError("user \(user) belongs to \(known.unit), not \(unit)") }
                if !parsed.isEmpty, !Set(parsed).isSubset(of: known.roles) {
                    do { writes += try OrganisationWrites.user(user, name: name, unit: unit, roles: parsed) } catch { throw CLIError(error.message) }
                }
            } else {
                guard !parsed.isEmpty else { throw CLIError("\(user) is a new user: give their roles with --role (\(Role.names))") }
                do { writes += try OrganisationWrites.user(user, name: name, unit: unit, roles: parsed) } catch { throw CLIError(error.message) }
            }
            if !writes.isEmpty { try hub.write(writes.map { Replica.Write($0.record, $0.field, $0.value) }, author: "operator@hub") }
            let code = OneTimeCode.make()
            let expires = Int64(Date().timeIntervalSince1970 * 1000) + Int64(validHours) * 3_600_000
            try hub.setAttribute(HubSecurity.enrolmentKey(code), HubSecurity.Enrolment(unit: unit, user: user, expiresAt: expires).stored)
            var pin = try hub.attribute(HubTLS.pinSetting)
            if let hubCert {
                guard let text = try? String(contentsOfFile: hubCert, encoding: .utf8), !PEM.certificateBlocks(text).isEmpty else {
                    throw CLIError("cannot read a certificate from \(hubCert); give a PEM file (-----BEGIN CERTIFICATE-----)")
                }
                pin = PEM.certificateBlocks(text)
            }
            if let out {
                let fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                guard fd >= 0 else { throw CLIError("cannot create \(out): \(String(cString: strerror(errno))) (it must not exist yet)") }
                let bytes = Array("\(code)\n\(pin ?? "")".utf8)
                _ = write(fd, bytes, bytes.count)
                close(fd)
                print("enrolment code for \(user)@\(unit) written to \(out) (valid \(validHours) h\(pin == nil ? "" : "; with the hub's certificate, which the node pins"))")
            } else {
                if pin != nil {
                    print("this hub serves HTTPS: give the node its certificate too (`node enrol --hub-cert FILE`), or make the code with --out, whose file carries it")
                }
                print("enrolment code for \(user)@\(unit) (valid \(validHours) h, once):")
                print(code)
            }
        }
    }

    struct Devices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the enrolled devices.")
        @Option(help: ArgumentHelp("The hub's SQLite database file.", valueName: "path")) var db: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let hub = try HubCommand.openHub(db)
            let devices = try hub.views(kinds: [CaseSchema.Kind.device]).compactMap(Device.init).sorted { $0.id < $1.id }
            if json {
                return try printJSON(devices.map { d -> [String: Any] in
                    ["device": d.id, "unit": d.unit, "user": d.user, "public_key": d.publicKey,
                     "enrolled_at": d.enrolledAt as Any, "revoked_at": d.revokedAt as Any]
                })
            }
            if devices.isEmpty { print("no devices enrolled (`yuqing hub enrol` makes a code)") }
            for d in devices {
                let key = (try? PublicKey(base64: d.publicKey).fingerprint) ?? "?"
                print("\(d.id)  \(d.user.terminalSafe)@\(d.unit.terminalSafe)  key \(key)  \(d.isRevoked ? "REVOKED" : "active")")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a device: the hub serves it no more.",
            discussion: "What it pushed before stays, attributed to it. A lost or stolen device is revoked at once.")
        @Option(help: ArgumentHelp("The hub's SQLite database file.", valueName: "path")) var db: String
        @Argument(help: "The device's id (as `yuqing hub devices` lists it).") var device: String

        func run() async throws {
            let hub = try HubCommand.openHub(db)
            guard let view = try hub.view(Device.ref(device)), let d = Device(view) else {
                throw CLIError("no device \(device) is enrolled at this hub (`yuqing hub devices` lists them)")
            }
            if d.isRevoked { return print("device \(device) was revoked already") }
            try hub.write(Device.revocation(id: device, at: Int64(Date().timeIntervalSince1970 * 1000)).map { Replica.Write($0.record, $0.field, $0.value) },
                          author: "operator@hub")
            print("device \(device) (\(d.user)@\(d.unit)) revoked; it can no longer sync")
        }
    }

    /// The hub's own database, for the commands the operator runs at the hub.
    static func openHub(_ db: String) throws -> Replica {
        guard FileManager.default.fileExists(atPath: db) else {
            throw CLIError("no hub database at \(db): give the --db of `yuqing hub serve` (it is made when the hub first starts)")
        }
        let replica = try Replica.open(at: db, schema: CaseSchema.schema)
        guard replica.role == .hub else { throw CLIError("\(db) is a node's replica, not the hub's database") }
        return replica
    }
}
