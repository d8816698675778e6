import ArgumentParser
import Foundation
import YuqingCases
import YuqingReplica
import YuqingSync

/// The `yuqing` command: runs the hub, and does a node's work on its replica.
struct Yuqing: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "yuqing",
        abstract: "Offline-first handling of online public-opinion cases: nodes, hub and sync.",
        discussion: """
            A node's replica file is given with --db PATH or the YUQING_DB environment variable.
            Everything except `sync` and `conflicts` works without the hub.
            """,
        subcommands: [HubCommand.self, NodeCommand.self, OrgCommand.self, CaseCommand.self, ReplyCommand.self, SyncCommand.self,
                      DigestCommand.self, ConflictsCommand.self, ReportCommand.self, KeywordCommand.self, StatsCommand.self,
                      NoticeCommand.self, SearchCommand.self, ExportCommand.self, IndexCommand.self])
}

@main
enum Main {
    static func main() async {
        do {
            var command = try Yuqing.parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            fail(error.message, code: error.exitCode)
        } catch let error as ReplicaError {
            fail(error.message, code: 2)
        } catch let error as SyncError {
            switch error.code {
            case .hubUnreachable: fail(error.message, code: 3)
            case .invalidURL: fail(error.message, code: 2)
            case .notEnrolled, .tampered, .tlsUntrusted, .revoked: fail(error.message, code: 5)
            default: fail(error.message, code: 4)
            }
        } catch {
            Yuqing.exit(withError: error)
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("yuqing: \(message)\n".utf8))
        exit(code)
    }
}

/// An error the CLI reports as one line and an exit code.
struct CLIError: Error {
    var message: String
    var exitCode: Int32 = 2
    init(_ message: String, exitCode: Int32 = 2) {
        self.message = message
        self.exitCode = exitCode
    }
}

/// `--db PATH`, falling back to `YUQING_DB`.
struct ReplicaOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The node's replica file (default: $YUQING_DB).", valueName: "path"))
    var db: String?

    func path() throws -> String { try Self.resolve(db) }

    static func resolve(_ db: String?) throws -> String {
        if let db, !db.isEmpty { return db }
        if let env = ProcessInfo.processInfo.environment["YUQING_DB"], !env.isEmpty { return env }
        throw CLIError("no replica given: pass --db PATH or set YUQING_DB")
    }

    /// Opens the replica for reading only (a node's, or the hub's file for inspection): nothing
    /// is written, migrated or created, and a file this user may not write can still be read.
    func openForReading() throws -> Replica { try Replica.open(at: try path(), mode: .readOnly, schema: CaseSchema.schema) }

    /// Opens a node's replica for work; the hub's database is refused.
    func openNode() throws -> Replica {
        let replica = try Replica.open(at: try path(), schema: CaseSchema.schema)
        guard replica.role == .node else {
            throw CLIError("\(replica.path) is the hub's database; node commands need a node replica (create one with `yuqing node init`)")
        }
        return replica
    }
}

func printJSON(_ value: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// Writes a line to standard output at once (unbuffered), for progress and readiness lines.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Writes a line to standard error: a warning that does not make the command fail.
func warn(_ line: String) {
    FileHandle.standardError.write(Data(("yuqing: " + line + "\n").utf8))
}
