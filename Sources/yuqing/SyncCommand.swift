import ArgumentParser
import Foundation
import YuqingCases
import YuqingReplica
import YuqingSync
import YuqingWire

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: L("Push local changes to the hub and pull everyone else's.",
                                         zh: "将本地变更推送到中心，并拉取其他各方的变更。"),
        discussion: L("Safe to interrupt at any point: run it again and it carries on without loss or duplication.",
                      zh: "随时中断都是安全的：再次运行即可继续，不会丢失或重复。"))

    @OptionGroup var options: ReplicaOptions
    @Option(help: ArgumentHelp(L("Override the hub URL stored in the replica.", zh: "使用此中心URL，而不是副本中保存的URL。"), valueName: "url")) var hub: String?
    @Option(help: ArgumentHelp(L("Changes per request.", zh: "每次请求传送的变更数。"))) var batchSize = 5000
    @Flag(help: ArgumentHelp(L("Print progress after every batch.", zh: "每传送一批后显示进度。"))) var progress = false
    @Option(help: ArgumentHelp(L("Seconds to wait for each answer from the hub before giving up.", zh: "等待中心每次应答的秒数，超时即放弃。"))) var timeout = 30.0
    @Flag(help: ArgumentHelp(L("A new node replays the hub's whole log instead of starting from the hub's snapshot.",
                               zh: "新节点重放中心的全部日志，而不是从中心的快照开始。"))) var noSnapshot = false

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError(L("--batch-size must be positive", zh: "--batch-size 必须为正数")) }
        guard timeout > 0 else { throw ValidationError(L("--timeout must be positive", zh: "--timeout 必须为正数")) }
    }

    func run() async throws {
        var replica = try options.openNode()
        let info = try replica.info()
        guard let url = hub ?? info.hubURL else {
            throw CLIError("this replica has no hub URL; pass --hub URL", zh: "本副本没有中心URL；请用 --hub URL 给出")
        }
        if !noSnapshot { replica = try await startFromSnapshot(replica, url: url) }
        let (client, security) = try HubLink.open(replica, url: url, timeout: timeout)
        var session = SyncSession(replica: replica, client: client, batchSize: batchSize, security: security)
        session.blobField = (CaseSchema.Kind.case, CaseSchema.Field.evidence)
        let showProgress = progress
        do {
            let report = try await session.run { r in
                if showProgress { say(L("… pushed \(r.pushed), pulled \(r.pulled)", zh: "…… 已推送\(r.pushed)项，已拉取\(r.pulled)项")) }
            }
            if processLanguage == .zh {
                var line = "已推送\(report.pushed)项变更"
                if report.pushedDuplicates > 0 { line += "（其中\(report.pushedDuplicates)项中心已有）" }
                line += "，已拉取\(report.pulled)项变更；中心位置\(report.hubHead)"
                if report.waiting > 0 { line += "；\(report.waiting)项变更在等待更早的变更" }
                print(line)
            } else {
                var line = "pushed \(report.pushed) changes"
                if report.pushedDuplicates > 0 { line += " (\(report.pushedDuplicates) already on the hub)" }
                line += ", pulled \(report.pulled) changes; hub at position \(report.hubHead)"
                if report.waiting > 0 { line += "; \(report.waiting) changes wait for earlier ones" }
                print(line)
            }
            if report.restoredRecords > 0 {
                print(L("received \(report.restoredRecords) cases now visible to this unit, with their whole history",
                        zh: "收到\(report.restoredRecords)个本单位现在可见的案件，含全部历史记录"))
            }
            if report.purgedRecords > 0 {
                print(L("removed \(report.purgedRecords) cases this unit may no longer see (\(report.purgedValues) values, and their evidence files)",
                        zh: "已移除\(report.purgedRecords)个本单位不再可见的案件（\(report.purgedValues)项数据及其证据文件）"))
            }
            // Evidence files after the changes: they never hold the changes back.
            let transfer = EvidenceTransfer(client: session.client, store: BlobStore(replicaPath: replica.path))
            do {
                let moved = try await transfer.run(namedBy: replica, kind: CaseSchema.Kind.case, field: CaseSchema.Field.evidence)
                if moved.sent + moved.received > 0 {
                    print(L("evidence: sent \(moved.sent), received \(moved.received) files (\(moved.bytes) bytes)",
                            zh: "证据：发送\(moved.sent)个，接收\(moved.received)个文件（\(moved.bytes)字节）"))
                }
                if moved.unavailable > 0 {
                    warn(L("evidence: \(moved.unavailable) files are not at the hub yet; the nodes that took them send them at their next sync",
                           zh: "证据：\(moved.unavailable)个文件尚未到达中心；取证的节点会在下次同步时发送"))
                }
            } catch {
                warn(L("evidence transfer stopped (\(error)); the changes are synced, and the files resume where they stopped at the next sync",
                       zh: "证据文件传送中断（\(error)）；变更已同步，文件将在下次同步时从中断处继续传送"))
            }
        } catch let error as SyncError where error.problem?.code == "rule_violation" {
            let pending = (try? replica.pendingCount()) ?? 0
            let roleRule = error.problem?.rule == "role" || error.problem?.rule == "author"
            let advice = roleRule
                ? "ask the operator to enrol this node's user with the role the step needs (`yuqing org user …` at the hub), then sync again"
                : "this node's changes break a rule the hub applies (Protocol/workflow.md §5); tell the operator, who can see the refusal in the hub's log"
            let adviceZh = roleRule
                ? "请运维人员为本节点的用户加上该步骤所需的角色（在中心运行 `yuqing org user …`），然后再次同步"
                : "本节点的变更违反了中心执行的规则（Protocol/workflow.md §5）；请告知运维人员，运维人员可在中心日志中查看拒收原因"
            throw CLIError("\(error.message). Your work stays saved on this node (\(pending) changes waiting); \(advice).",
                           zh: "\(HubLink.sentence(error.chinese))工作内容仍保存在本节点（\(pending)项变更待同步）；\(adviceZh)。", exitCode: 4)
        } catch let error as SyncError where error.code == .revoked {
            throw CLIError(error, exitCode: 5)
        } catch let error as SyncError where [.notEnrolled, .tampered, .tlsUntrusted].contains(error.code) {
            throw HubLink.explain(error, replica: replica)
        } catch let error as SyncError where error.code == .hubUnreachable {
            let pending = (try? replica.pendingCount()) ?? 0
            throw CLIError("\(error.message). Your work is saved locally (\(pending) changes waiting) and goes out at the next sync: run `yuqing sync` again later.",
                           zh: "\(HubLink.sentence(error.chinese))工作内容已保存在本地（\(pending)项变更待同步），将在下次同步时发出：请稍后再次运行 `yuqing sync`。",
                           exitCode: 3)
        }
    }

    func startFromSnapshot(_ replica: Replica, url: String) async throws -> Replica {
        let (replica, said) = try await SnapshotStart.run(replica, url: url, timeout: timeout, options: options)
        if let said { print(said) }
        return replica
    }
}

struct DigestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest", abstract: L("Print a hash of the replica's visible state (equal on converged replicas).",
                                           zh: "输出副本可见状态的哈希值（各副本收敛后相同）。"))

    @OptionGroup var options: ReplicaOptions
    @Flag(help: ArgumentHelp(L("Also ask the hub for its digest of what this node's unit may see, and compare.",
                               zh: "同时向中心索取本节点单位可见内容的摘要，并加以比较。"))) var withHub = false

    func run() async throws {
        let replica = try options.openForReading()
        let mine = try replica.digest()
        guard withHub else { return print(mine) }
        guard let url = try replica.info().hubURL else { throw CLIError("this replica has no hub URL", zh: "本副本没有中心URL") }
        let (client, _) = try HubLink.open(replica, url: url)
        let hub: DigestResponse
        do { hub = try await client.digest() } catch let error as SyncError where error.code == .notEnrolled { throw HubLink.explain(error, replica: replica) }
        // Scripts read these lines: the first words (`node`, `hub`, `equal`, `different`) and the
        // digests stay as they are in every language.
        print("node  \(mine)")
        let scope = hub.scope.map { L("what \($0) may see", zh: "\($0)可见的内容") } ?? L("everything", zh: "全部内容")
        print(L("hub   \(hub.digest)  (\(scope), up to position \(hub.head))", zh: "hub   \(hub.digest)  （\(scope)，截至位置\(hub.head)）"))
        print(mine == hub.digest
              ? L("equal: this node holds exactly what it may see", zh: "equal: 本节点所存内容与其可见范围完全一致")
              : L("different: sync, then compare again (the hub may have moved on)", zh: "different: 请先同步再比较（中心可能已有新变更）"))
    }
}

/// A new node of the office starts from the hub's snapshot (`Protocol/sync.md` §6.5) when the hub
/// offers one: `yuqing sync` and `yuqing node run` before their first sync.
enum SnapshotStart {
    /// The replica to sync on from then (the installed snapshot, or `replica` as it was), and the
    /// line that says what was done (nil: nothing).
    static func run(_ replica: Replica, url: String, timeout: Double, options: ReplicaOptions) async throws -> (Replica, String?) {
        guard try SnapshotBootstrap.isNew(replica) else { return (replica, nil) }
        let (client, security) = try HubLink.open(replica, url: url, timeout: timeout)
        let prepared: SnapshotBootstrap.Prepared?
        do { prepared = try await SnapshotBootstrap(client: client, security: security).prepare(for: replica) } catch let error as SyncError {
            if error.code == .tampered { throw CLIError(error, exitCode: 5) }
            throw CLIError(error)
        } catch let error as ReplicaError {
            // A file the check refused: the hub sent what a snapshot is not.
            throw CLIError(error, exitCode: error.code == .corrupt || error.code == .unsealed ? 5 : 2)
        }
        guard let prepared else { return (replica, nil) }
        let path = replica.path, checked = ContinuousClock.now
        try replica.close()
        do { try prepared.install(over: path) } catch let error as ReplicaError {
            prepared.discard()
            throw CLIError(error)
        }
        let o = prepared.outcome
        let times = String(format: "%.2f s, %.2f s, %.2f s", o.downloadSeconds, o.checkSeconds, SyncSession.seconds(ContinuousClock.now - checked))
        let said = L("started from the hub's snapshot at position \(o.position): \(o.values) values, \(o.bytes) bytes, \(o.sealsChecked) seals checked (downloaded, checked, installed in \(times))",
                     zh: "已从中心位置 \(o.position) 的快照开始：\(o.values)个值，\(o.bytes)字节，已核验\(o.sealsChecked)个封签（下载、核验、安装分别用时 \(times)）")
        return (try options.openNode(checked: true), said)
    }
}
