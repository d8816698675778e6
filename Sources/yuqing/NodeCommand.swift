import ArgumentParser
import Foundation
import YuqingCases
import YuqingReplica
import YuqingSync

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Create, inspect and run a node's replica.", subcommands: [Init.self, Info.self, User.self, Run.self, Reissue.self])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a node's replica file.",
            discussion: "Works offline: the hub is only contacted by `yuqing sync` and `yuqing node run`.")

        @Option(help: ArgumentHelp("Where to create the replica file.", valueName: "path")) var db: String?
        @Option(help: ArgumentHelp("The hub's URL, e.g. http://127.0.0.1:8080.", valueName: "url")) var hub: String
        @Option(help: ArgumentHelp("The unit this node works for, by its id in the organisation (township-a).", valueName: "id")) var unit: String
        @Option(help: ArgumentHelp("The user who works on this node; every change is attributed to them.", valueName: "id")) var user: String
        @Option(name: .customLong("role"), help: ArgumentHelp("The user's role until the organisation arrives from the hub: \(Role.names); repeat for more.", valueName: "role"))
        var roles: [String] = []

        func run() async throws {
            let path = try ReplicaOptions.resolve(db)
            _ = try HubClient.url(hub)
            if let p = Identifier.problem(unit, what: "unit") { throw CLIError("--unit: \(p)") }
            if let p = Identifier.problem(user, what: "user") { throw CLIError("--user: \(p)") }
            let parsed = try NodeCommand.roles(roles)
            let replica = try Replica.create(at: path, role: .node, unit: unit, hubURL: hub, schema: CaseSchema.schema)
            try replica.setAttribute("user", user)
            try replica.setAttribute("roles", parsed.map(\.rawValue).joined(separator: ","))
            print("initialised node \(replica.id) for \(user)@\(unit) at \(path) (hub \(hub))")
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
