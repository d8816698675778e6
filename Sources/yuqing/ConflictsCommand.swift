import ArgumentParser
import Foundation
import YuqingCore
import YuqingCases
import YuqingReplica
import YuqingSync
import YuqingWire

struct ConflictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts",
        abstract: L("The hub operator's queue of conflicts that rules could not decide.", zh: "中心运维人员待处理的冲突队列（规则无法自动裁决的冲突）。"),
        subcommands: [List.self, Show.self, Resolve.self])

    /// `--hub URL`, else `YUQING_HUB`, else the hub of the replica given by --db / YUQING_DB.
    struct HubOptions: ParsableArguments {
        @Option(help: ArgumentHelp(L("The hub's URL (default: $YUQING_HUB, or the node's hub).", zh: "中心的 URL（默认：$YUQING_HUB，或节点所属的中心）。"), valueName: "url"))
        var hub: String?
        @Option(help: ArgumentHelp(L("A node's replica whose hub to use.", zh: "使用该节点副本所属的中心。"), valueName: "path")) var db: String?
        @Option(help: ArgumentHelp(L("The operator's key file (HUB.sqlite.operator.key beside the hub's database; default: $YUQING_OPERATOR_KEY).",
                                     zh: "运维人员的密钥文件（位于中心数据库旁的 HUB.sqlite.operator.key；默认：$YUQING_OPERATOR_KEY）。"), valueName: "path"))
        var operatorKey: String?
        @Option(help: ArgumentHelp(L("An https hub's certificate or CA to trust (PEM; default: $YUQING_HUB_CERT).",
                                     zh: "信任的 https 中心证书或 CA 证书（PEM 格式；默认：$YUQING_HUB_CERT）。"), valueName: "path"))
        var hubCert: String?

        func client() throws -> HubClient {
            if let hub { return try HubLink.operatorClient(url: hub, keyPath: operatorKey, certificatePath: hubCert) }
            if let env = ProcessInfo.processInfo.environment["YUQING_HUB"], !env.isEmpty {
                return try HubLink.operatorClient(url: env, keyPath: operatorKey, certificatePath: hubCert)
            }
            if let path = try? ReplicaOptions.resolve(db), let url = try Replica.open(at: path, mode: .readOnly, schema: CaseSchema.schema).info().hubURL {
                return try HubLink.operatorClient(url: url, keyPath: operatorKey, certificatePath: hubCert)
            }
            throw CLIError("no hub given: pass --hub URL (or set YUQING_HUB)", zh: "未指定中心：请使用 --hub URL（或设置 YUQING_HUB）")
        }
    }

    static func json(_ m: ConflictMessage) -> [String: Any] {
        CaseJSON.conflict(id: m.id, record: m.record, field: m.field, provisional: m.provisional, candidates: m.candidates)
    }

    static func describe(_ m: ConflictMessage) -> String {
        let values = processLanguage == .zh
            ? m.candidates.map { "“\($0.value.description.terminalSafe)”（\($0.author.terminalSafe)）" }.joined(separator: " 与 ")
            : m.candidates.map { "\"\($0.value.description.terminalSafe)\" (\($0.author.terminalSafe))" }.joined(separator: " vs ")
        return "\(m.id.terminalSafe)  \(m.record.kind.terminalSafe) \(m.record.id.terminalSafe)  \(m.field.description.terminalSafe)  \(values)"
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("List the open conflicts on the hub.", zh: "列出中心待处理的冲突。"))
        @OptionGroup var hub: HubOptions
        @Flag(help: ArgumentHelp(L("Print a JSON array.", zh: "以 JSON 数组格式输出。"))) var json = false

        func run() async throws {
            let conflicts = try await hub.client().conflicts()
            if json { return try printJSON(conflicts.map(ConflictsCommand.json)) }
            if conflicts.isEmpty { return print(L("no open conflicts", zh: "没有待处理的冲突")) }
            for c in conflicts { print(ConflictsCommand.describe(c)) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: L("Show one open conflict.", zh: "查看一个待处理的冲突。"))
        @OptionGroup var hub: HubOptions
        @Argument(help: ArgumentHelp(L("The conflict id.", zh: "冲突编号。"))) var id: String
        @Flag(help: ArgumentHelp(L("Print JSON.", zh: "以 JSON 格式输出。"))) var json = false

        func run() async throws {
            let c = try await hub.client().conflict(id)
            if json { return try printJSON(ConflictsCommand.json(c)) }
            print(L("conflict \(c.id.terminalSafe): \(c.record.kind.terminalSafe) \(c.record.id.terminalSafe), field \(c.field.description.terminalSafe)",
                    zh: "冲突 \(c.id.terminalSafe)：\(c.record.kind.terminalSafe) \(c.record.id.terminalSafe)，字段 \(c.field.description.terminalSafe)"))
            print(L("  shown until resolved: \"\(c.provisional.description.terminalSafe)\"",
                    zh: "  处理前暂显示：“\(c.provisional.description.terminalSafe)”"))
            for s in c.candidates {
                print(L("  - \"\(s.value.description.terminalSafe)\" by \(s.author.terminalSafe) at \(CaseJSON.time(s.hlc)) (\(s.dot.description.terminalSafe))",
                        zh: "  - “\(s.value.description.terminalSafe)”，\(s.author.terminalSafe)，\(CaseJSON.time(s.hlc))（\(s.dot.description.terminalSafe)）"))
            }
            print(L("resolve with: yuqing conflicts resolve \(c.id.terminalSafe) --value VALUE",
                    zh: "处理方法：yuqing conflicts resolve \(c.id.terminalSafe) --value VALUE"))
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: L("Resolve a conflict once, for everyone: the value reaches every node at its next sync.",
                        zh: "处理冲突，一次处理、全体生效：各节点下次同步时收到处理结果。"))
        @OptionGroup var hub: HubOptions
        @Argument(help: ArgumentHelp(L("The conflict id.", zh: "冲突编号。"))) var id: String
        @Option(help: ArgumentHelp(L("The value to keep (one of the candidates or a new one).", zh: "保留的值（可为候选值之一，也可为新值）。"))) var value: String
        @Option(help: ArgumentHelp(L("Who resolves it, for the record.", zh: "处理人，记入记录。"))) var by = "operator"

        func run() async throws {
            let answer = try await hub.client().resolve(id, ResolveRequest(value: .text(value), resolvedBy: by))
            print(L("resolved conflict \(id.terminalSafe): \(answer.change.record.id.terminalSafe) \(answer.change.field.description.terminalSafe) = \"\(value.terminalSafe)\" (change \(answer.change.dot), hub position \(answer.pos)); nodes receive it at their next sync",
                    zh: "已处理冲突 \(id.terminalSafe)：\(answer.change.record.id.terminalSafe) \(answer.change.field.description.terminalSafe) = “\(value.terminalSafe)”（变更 \(answer.change.dot)，中心位置 \(answer.pos)）；各节点下次同步时收到"))
        }
    }
}
