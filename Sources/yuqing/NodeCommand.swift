import ArgumentParser
import Foundation
import YuqingCases
import YuqingReplica
import YuqingSecurity
import YuqingSync
import YuqingWire

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Create, inspect and run a node's replica.", subcommands: [Init.self, Enrol.self, Info.self, User.self, Run.self, Reissue.self])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a node's replica file and its device key.",
            discussion: """
                Works offline: the hub is only contacted by `yuqing sync` and `yuqing node run`, and by
                the enrolment, given --code here or later with `yuqing node enrol`. The device's private
                key is made beside the replica (REPLICA.key, readable by its owner only) and never leaves it.
                """)

        @Option(help: ArgumentHelp("Where to create the replica file.", valueName: "path")) var db: String?
        @Option(help: ArgumentHelp("The hub's URL, e.g. http://127.0.0.1:8080.", valueName: "url")) var hub: String
        @Option(help: ArgumentHelp("The unit this node works for, by its id in the organisation (township-a).", valueName: "id")) var unit: String
        @Option(help: ArgumentHelp("The user who works on this node; every change is attributed to them.", valueName: "id")) var user: String
        @Option(name: .customLong("role"), help: ArgumentHelp("The user's role until the organisation arrives from the hub: \(Role.names); repeat for more.", valueName: "role"))
        var roles: [String] = []
        @Option(help: ArgumentHelp("The enrolment code the hub's operator made for this user (`yuqing hub enrol`): enrols the device now.", valueName: "code"))
        var code: String?
        @Option(help: ArgumentHelp("The hub's certificate (or CA) to pin, for an https hub (PEM).", valueName: "path")) var hubCert: String?

        func run() async throws {
            let path = try ReplicaOptions.resolve(db)
            _ = try HubClient.url(hub)
            if let p = Identifier.problem(unit, what: "unit") { throw CLIError("--unit: \(p)") }
            if let p = Identifier.problem(user, what: "user") { throw CLIError("--user: \(p)") }
            let parsed = try NodeCommand.roles(roles)
            let replica = try Replica.create(at: path, role: .node, unit: unit, hubURL: hub, schema: CaseSchema.schema)
            try replica.setAttribute("user", user)
            try replica.setAttribute("roles", parsed.map(\.rawValue).joined(separator: ","))
            let key: SigningKey
            do { key = try SigningKey.create(at: NodeSecurity.keyPath(forReplica: path)) } catch { throw CLIError(error.message) }
            print("initialised node \(replica.id) for \(user)@\(unit) at \(path) (hub \(hub)); device key \(key.publicKey.fingerprint)")
            if let code { try await Enrol.enrol(replica, code: code, hub: hub, certificate: try Enrol.certificate(hubCert, codeFile: nil)) }
        }
    }

    struct Enrol: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrol this node's device at its hub with the one-time code the operator made.",
            discussion: """
                The operator makes the code at the hub (`yuqing hub enrol --unit U --user X`) and gives
                it to the user (printed, or as a file). The node presents it once with its public key;
                the hub records the device for that unit and user, and answers with its own key, which
                the node keeps to check what the hub signs.
                """)
        @OptionGroup var options: ReplicaOptions
        @Option(help: ArgumentHelp("The enrolment code.", valueName: "code")) var code: String?
        @Option(help: ArgumentHelp("A file holding the code (as `yuqing hub enrol --out` writes it).", valueName: "path")) var codeFile: String?
        @Option(help: ArgumentHelp("Override the hub URL stored in the replica.", valueName: "url")) var hub: String?
        @Option(help: ArgumentHelp("The hub's certificate (or CA) to pin, for an https hub, when the code file does not carry it (PEM).", valueName: "path"))
        var hubCert: String?

        func run() async throws {
            let replica = try options.openNode()
            let given: String
            var codeText: String?
            if let code { given = code } else if let codeFile {
                guard let text = try? String(contentsOfFile: codeFile, encoding: .utf8) else { throw CLIError("cannot read the code file \(codeFile)") }
                given = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
                codeText = text
            } else {
                throw CLIError("give the enrolment code: --code CODE, or --code-file FILE (the operator makes it with `yuqing hub enrol`)")
            }
            guard let url = try hub ?? replica.info().hubURL else { throw CLIError("this replica has no hub URL; pass --hub URL") }
            try await Self.enrol(replica, code: given, hub: url, certificate: try Self.certificate(hubCert, codeFile: codeText))
        }

        /// The certificate to pin: from --hub-cert, else the one the code file carries, else none.
        static func certificate(_ path: String?, codeFile: String?) throws -> String? {
            if let path {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8), !PEM.certificateBlocks(text).isEmpty else {
                    throw CLIError("cannot read a certificate from \(path); give the hub's certificate as a PEM file (-----BEGIN CERTIFICATE-----)")
                }
                return PEM.certificateBlocks(text)
            }
            let carried = codeFile.map(PEM.certificateBlocks) ?? ""
            return carried.isEmpty ? nil : carried
        }

        static func enrol(_ replica: Replica, code: String, hub: String, certificate: String?) async throws {
            let keyPath = NodeSecurity.keyPath(forReplica: replica.path)
            let key: SigningKey
            do { key = try SigningKey.loadOrCreate(at: keyPath) } catch { throw CLIError(error.message) }
            let client: HubClient
            do { client = try HubClient(hubURL: hub, pinnedCertificates: certificate) } catch let e as SyncError { throw CLIError(e.message, exitCode: 5) }
            let answer: EnrolResponse
            do {
                answer = try await client.enrol(EnrolRequest(code: code, device: replica.id, publicKey: key.publicKey.base64))
            } catch let error as SyncError {
                if error.problem?.code == "already_enrolled", error.message.contains("it can sync") {
                    print("this device is enrolled already")
                    return
                }
                throw CLIError("enrolment failed: \(error.message)", exitCode: 5)
            }
            let info = try replica.info()
            if let bound = info.hubID, bound != answer.hub {
                throw CLIError("the hub at \(hub) is hub \(answer.hub), but this node syncs with hub \(bound); the device was enrolled there, but this replica cannot use it. Make a new replica for that hub")
            }
            let user = try replica.attribute("user")
            guard answer.unit == info.unit, user == nil || user == answer.user else {
                throw CLIError("this code enrols \(answer.user)@\(answer.unit), but this node works as \(user ?? "?")@\(info.unit): ask the operator for a code for the right unit (the device is enrolled for \(answer.unit) now: ask the operator to revoke it, `yuqing hub revoke \(replica.id)`)")
            }
            _ = try replica.bindHub(answer.hub)
            try replica.setAttribute(NodeSecurity.hubKeyAttribute, answer.hubKey)
            if let certificate { try replica.setAttribute(NodeSecurity.hubCertificateAttribute, certificate) }
            try replica.setAttribute("user", answer.user)
            if !answer.roles.isEmpty { try replica.setAttribute("roles", answer.roles.joined(separator: ",")) }
            print("enrolled device \(replica.id) as \(answer.user)@\(answer.unit) at hub \(answer.hub) (hub key \((try? PublicKey(base64: answer.hubKey).fingerprint) ?? "?"))")
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the node's identity and sync position.")
        @OptionGroup var options: ReplicaOptions

        func run() async throws {
            let replica = try options.openForReading()
            let info = try replica.info()
            print("replica:  \(info.id) (\(info.role.rawValue))")
            print("unit:     \(info.unit.terminalSafe)")
            print("user:     \((try replica.attribute("user") ?? "-").terminalSafe)")
            print("hub:      \(info.hubURL ?? "-")")
            print("pending:  \(try replica.pendingCount()) changes to push")
            print("pulled:   up to hub position \(info.pullCursor)")
            print("vector:   \(try replica.versionVector())")
        }
    }

    static func roles(_ names: [String]) throws -> [Role] {
        try names.flatMap { $0.split(separator: ",") }.map { r in
            guard let role = Role(name: String(r)) else { throw CLIError("'\(r)' is not a role; roles are: \(Role.names)") }
            return role
        }
    }

    struct User: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the user who works on this node (for a node made before users existed).",
            discussion: "The organisation received from the hub decides the user's roles; --role serves until it arrives.")
        @OptionGroup var options: ReplicaOptions
        @Option(help: ArgumentHelp("The user's id.", valueName: "id")) var user: String
        @Option(name: .customLong("role"), help: ArgumentHelp("A role: \(Role.names); repeat for more.", valueName: "role")) var roles: [String] = []

        func run() async throws {
            if let p = Identifier.problem(user, what: "user") { throw CLIError("--user: \(p)") }
            let parsed = try NodeCommand.roles(roles)
            let replica = try options.openNode()
            let actor = Actor(user: user, unit: try replica.info().unit)
            try replica.setAttribute("user", user)
            try replica.setAttribute("roles", parsed.map(\.rawValue).joined(separator: ","))
            let moved = try replica.reauthorPending(actor.author)
            print("this node now works as \(actor)" + (moved > 0 ? "; its \(moved) unsent changes are attributed to \(user)" : ""))
        }
    }

    struct Reissue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give this node a new replica id and send its unsynced work under it.",
            discussion: """
                The way out when sync reports that the hub holds a different change under one of this
                node's change ids (the file was restored from a backup or copied, or another program
                sent changes under this node's id), or that changes were refused for a clock set far
                ahead. Every change the hub has not acknowledged moves to the new id with a fresh
                timestamp; nothing is lost. The next sync sends them and pulls everything again.
                Works offline.
                """)
        @OptionGroup var options: ReplicaOptions

        func run() async throws {
            let replica = try options.openNode()
            let report = try replica.reissue()
            print("this node is now replica \(report.newID) (was \(report.previousID)); \(report.reissued) unsynced changes moved to the new id and go out at the next `yuqing sync`, which also pulls everything again")
        }
    }
}
