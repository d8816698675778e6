import ArgumentParser
import Foundation
import YuqingReplica
import YuqingSync

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Create, inspect and run a node's replica.", subcommands: [Init.self, Info.self, Run.self])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a node's replica file.",
            discussion: "Works offline: the hub is only contacted by `yuqing sync` and `yuqing node run`.")

        @Option(help: ArgumentHelp("Where to create the replica file.", valueName: "path")) var db: String?
        @Option(help: ArgumentHelp("The hub's URL, e.g. http://127.0.0.1:8080.", valueName: "url")) var hub: String
        @Option(help: ArgumentHelp("The unit this node works for (e.g. \"Township A\").", valueName: "name")) var unit: String

        func run() async throws {
            let path = try ReplicaOptions.resolve(db)
            _ = try HubClient.url(hub)
            guard !unit.trimmingCharacters(in: .whitespaces).isEmpty else { throw CLIError("--unit must not be empty") }
            let replica = try Replica.create(at: path, role: .node, unit: unit, hubURL: hub)
            print("initialised node \(replica.id) for unit \(unit) at \(path) (hub \(hub))")
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the node's identity and sync position.")
        @OptionGroup var options: ReplicaOptions

        func run() async throws {
            let replica = try options.open()
            let info = try replica.info()
            print("replica:  \(info.id) (\(info.role.rawValue))")
            print("unit:     \(info.unit)")
            print("hub:      \(info.hubURL ?? "-")")
            print("pending:  \(try replica.pendingCount()) changes to push")
            print("pulled:   up to hub position \(info.pullCursor)")
            print("vector:   \(try replica.versionVector())")
        }
    }
}
