import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingReplica
import YuqingSync

/// The `yuqing` command: runs the hub, and does a node's work on its replica.
struct Yuqing: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "yuqing",
        abstract: L("Offline-first handling of online public-opinion cases: nodes, hub and sync.",
                    zh: "网络舆情案件离线优先办理系统：节点、中心与同步。"),
        discussion: L("""
            A node's replica file is given with --db PATH or the YUQING_DB environment variable.
            Everything except `sync` and `conflicts` works without the hub.
            Every command takes --lang zh|en (anywhere on the command line); without it the locale decides.
            """, zh: """
            节点的副本文件用 --db PATH 或环境变量 YUQING_DB 指定。
            除 `sync` 和 `conflicts` 外，所有命令均可在不连接中心的情况下使用。
            所有命令均支持 --lang zh|en（可放在命令行任意位置）；未指定时按系统区域设置选择语言。
            """),
        subcommands: [HubCommand.self, NodeCommand.self, OrgCommand.self, CaseCommand.self, ReplyCommand.self, SyncCommand.self,
                      DigestCommand.self, ConflictsCommand.self, ReportCommand.self, KeywordCommand.self, StatsCommand.self,
                      NoticeCommand.self, SearchCommand.self, ExportCommand.self, IndexCommand.self])
}

@main
enum Main {
    static func main() async {
        let choice = LanguageChoice.current
        if let unknown = choice.unknown {
            fail(L("'\(unknown)' is not a language; use --lang zh or --lang en",
                   zh: "“\(unknown)”不是可用的语言；请用 --lang zh 或 --lang en"), code: 2)
        }
        var command: any ParsableCommand
        do { command = try Yuqing.parseAsRoot(choice.arguments) } catch { ParserText.exit(for: error) }
        do {
            // Every replica closes whole before the process ends (`Replica.closeAllBeforeExit`):
            // run as the block is left, before any error below is reported and the process exits.
            defer { Replica.closeAllBeforeExit() }
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            fail(error.message, code: error.exitCode)
        } catch let error as ReplicaError {
            fail(localized(error), code: 2)
        } catch let error as SyncError {
            switch error.code {
            case .hubUnreachable: fail(localized(error), code: 3)
            case .invalidURL: fail(localized(error), code: 2)
            case .notEnrolled, .tampered, .tlsUntrusted, .revoked: fail(localized(error), code: 5)
            default: fail(localized(error), code: 4)
            }
        } catch let error as any BilingualError {
            fail(processLanguage == .zh ? error.chinese : error.message, code: 2)
        } catch {
            ParserText.exit(for: error)
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("yuqing: \(message)\n".utf8))
        exit(code)
    }
}

/// An error the CLI reports as one line and an exit code, in the language of the run.
struct CLIError: Error {
    var message: String
    var exitCode: Int32 = 2
    /// The message in English and in Chinese; the run's language picks one.
    init(_ english: String, zh chinese: String, exitCode: Int32 = 2) {
        self.message = L(english, zh: chinese)
        self.exitCode = exitCode
    }

    /// Another error's message, in the language of the run.
    init(_ error: some BilingualError, exitCode: Int32 = 2) {
        self.message = localized(error)
        self.exitCode = exitCode
    }
}

/// `--db PATH`, falling back to `YUQING_DB`.
struct ReplicaOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(L("The node's replica file (default: $YUQING_DB).", zh: "节点的副本文件（默认：$YUQING_DB）。"), valueName: "path"))
    var db: String?

    func path() throws -> String { try Self.resolve(db) }

    static func resolve(_ db: String?) throws -> String {
        if let db, !db.isEmpty { return db }
        if let env = ProcessInfo.processInfo.environment["YUQING_DB"], !env.isEmpty { return env }
        throw CLIError("no replica given: pass --db PATH or set YUQING_DB", zh: "未指定副本：请使用 --db PATH 或设置 YUQING_DB")
    }

    /// Opens the replica for reading only (a node's, or the hub's file for inspection): nothing
    /// is written, migrated or created, and a file this user may not write can still be read.
    func openForReading() throws -> Replica { try Replica.open(at: try path(), mode: .readOnly, schema: CaseSchema.schema) }

    /// Opens a node's replica for work; the hub's database is refused.
    ///
    /// - Parameter checked: SQLite's check of the file ran already (a snapshot just installed).
    func openNode(checked: Bool = false) throws -> Replica {
        let replica = try Replica.open(at: try path(), schema: CaseSchema.schema, checked: checked)
        guard replica.role == .node else {
            throw CLIError("\(replica.path) is the hub's database; node commands need a node replica (create one with `yuqing node init`)",
                           zh: "\(replica.path) 是中心的数据库；节点命令需要节点副本（可用 `yuqing node init` 创建）")
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
