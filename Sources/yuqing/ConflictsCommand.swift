import ArgumentParser
import Foundation
import YuqingCore
import YuqingCases
import YuqingReplica
import YuqingSync
import YuqingWire

struct ConflictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts", abstract: "The hub operator's queue of conflicts that rules could not decide.",
        subcommands: [List.self, Show.self, Resolve.self])

    /// `--hub URL`, else `YUQING_HUB`, else the hub of the replica given by --db / YUQING_DB.
    struct HubOptions: ParsableArguments {
        @Option(help: ArgumentHelp("The hub's URL (default: $YUQING_HUB, or the node's hub).", valueName: "url"))
        var hub: String?
        @Option(help: ArgumentHelp("A node's replica whose hub to use.", valueName: "path")) var db: String?
        @Option(help: ArgumentHelp("The operator's key file (HUB.sqlite.operator.key beside the hub's database; default: $YUQING_OPERATOR_KEY).", valueName: "path"))
        var operatorKey: String?
        @Option(help: ArgumentHelp("An https hub's certificate or CA to trust (PEM; default: $YUQING_HUB_CERT).", valueName: "path"))
        var hubCert: String?

        func client() throws -> HubClient {
            if let hub { return try HubLink.operatorClient(url: hub, keyPath: operatorKey, certificatePath: hubCert) }
            if let env = ProcessInfo.processInfo.environment["YUQING_HUB"], !env.isEmpty {
                return try HubLink.operatorClient(url: env, keyPath: operatorKey, certificatePath: hubCert)
            }
            if let path = try? ReplicaOptions.resolve(db), let url = try Replica.open(at: path, mode: .readOnly, schema: CaseSchema.schema).info().hubURL {
                return try HubLink.operatorClient(url: url, keyPath: operatorKey, certificatePath: hubCert)
            }
            throw CLIError("no hub given: pass --hub URL (or set YUQING_HUB)")
        }
    }

    static func json(_ m: ConflictMessage) -> [String: Any] {
        CaseJSON.conflict(id: m.id, record: m.record, field: m.field, provisional: m.provisional, candidates: m.candidates)
    }

    static func describe(_ m: ConflictMessage) -> String {
        let values = m.candidates.map { "\"\($0.value.description.terminalSafe)\" (\($0.author.terminalSafe))" }.joined(separator: " vs ")
        return "\(m.id.terminalSafe)  \(m.record.kind.terminalSafe) \(m.record.id.terminalSafe)  \(m.field.description.terminalSafe)  \(values)"
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the open conflicts on the hub.")
        @OptionGroup var hub: HubOptions
        @Flag(help: "Print a JSON array.") var json = false

        func run() async throws {
            let conflicts = try await hub.client().conflicts()
            if json { return try printJSON(conflicts.map(ConflictsCommand.json)) }
            if conflicts.isEmpty { return print("no open conflicts") }
            for c in conflicts { print(ConflictsCommand.describe(c)) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one open conflict.")
        @OptionGroup var hub: HubOptions
        @Argument(help: "The conflict id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let c = try await hub.client().conflict(id)
            if json { return try printJSON(ConflictsCommand.json(c)) }
            print("conflict \(c.id.terminalSafe): \(c.record.kind.terminalSafe) \(c.record.id.terminalSafe), field \(c.field.description.terminalSafe)")
            print("  shown until resolved: \"\(c.provisional.description.terminalSafe)\"")
            for s in c.candidates {
                print("  - \"\(s.value.description.terminalSafe)\" by \(s.author.terminalSafe) at \(CaseJSON.time(s.hlc)) (\(s.dot.description.terminalSafe))")
            }
            print("resolve with: yuqing conflicts resolve \(c.id.terminalSafe) --value VALUE")
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve a conflict once, for everyone: the value reaches every node at its next sync.")
        @OptionGroup var hub: HubOptions
        @Argument(help: "The conflict id.") var id: String
        @Option(help: "The value to keep (one of the candidates or a new one).") var value: String
        @Option(help: "Who resolves it, for the record.") var by = "operator"

        func run() async throws {
            let answer = try await hub.client().resolve(id, ResolveRequest(value: .text(value), resolvedBy: by))
            print("resolved conflict \(id.terminalSafe): \(answer.change.record.id.terminalSafe) \(answer.change.field.description.terminalSafe) = \"\(value.terminalSafe)\" (change \(answer.change.dot), hub position \(answer.pos)); nodes receive it at their next sync")
        }
    }
}
