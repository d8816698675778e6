import ArgumentParser
import Foundation
import YuqingCases
import YuqingReplica
import YuqingSync
import YuqingWire

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Push local changes to the hub and pull everyone else's.",
        discussion: "Safe to interrupt at any point: run it again and it carries on without loss or duplication.")

    @OptionGroup var options: ReplicaOptions
    @Option(help: ArgumentHelp("Override the hub URL stored in the replica.", valueName: "url")) var hub: String?
    @Option(help: "Changes per request.") var batchSize = 5000
    @Flag(help: "Print progress after every batch.") var progress = false
    @Option(help: "Seconds to wait for each answer from the hub before giving up.") var timeout = 30.0

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        let replica = try options.openNode()
        let info = try replica.info()
        guard let url = hub ?? info.hubURL else {
            throw CLIError("this replica has no hub URL; pass --hub URL")
        }
        let (client, security) = try HubLink.open(replica, url: url, timeout: timeout)
        var session = SyncSession(replica: replica, client: client, batchSize: batchSize, security: security)
        session.blobField = (CaseSchema.Kind.case, CaseSchema.Field.evidence)
        let showProgress = progress
        do {
            let report = try await session.run { r in
                if showProgress { say("… pushed \(r.pushed), pulled \(r.pulled)") }
            }
            var line = "pushed \(report.pushed) changes"
            if report.pushedDuplicates > 0 { line += " (\(report.pushedDuplicates) already on the hub)" }
            line += ", pulled \(report.pulled) changes; hub at position \(report.hubHead)"
            if report.waiting > 0 { line += "; \(report.waiting) changes wait for earlier ones" }
            print(line)
            if report.restoredRecords > 0 { print("received \(report.restoredRecords) cases now visible to this unit, with their whole history") }
            if report.purgedRecords > 0 {
                print("removed \(report.purgedRecords) cases this unit may no longer see (\(report.purgedValues) values, and their evidence files)")
            }
            // Evidence files after the changes: they never hold the changes back.
            let transfer = EvidenceTransfer(client: session.client, store: BlobStore(replicaPath: replica.path))
            do {
                let moved = try await transfer.run(namedBy: replica, kind: CaseSchema.Kind.case, field: CaseSchema.Field.evidence)
                if moved.sent + moved.received > 0 {
                    print("evidence: sent \(moved.sent), received \(moved.received) files (\(moved.bytes) bytes)")
                }
                if moved.unavailable > 0 { warn("evidence: \(moved.unavailable) files are not at the hub yet; the nodes that took them send them at their next sync") }
            } catch {
                warn("evidence transfer stopped (\(error)); the changes are synced, and the files resume where they stopped at the next sync")
            }
        } catch let error as SyncError where error.problem?.code == "rule_violation" {
            let pending = (try? replica.pendingCount()) ?? 0
            let advice = switch error.problem?.rule {
            case "role", "author": "ask the operator to enrol this node's user with the role the step needs (`yuqing org user …` at the hub), then sync again"
            default: "this node's changes break a rule the hub applies (Protocol/workflow.md §5); tell the operator, who can see the refusal in the hub's log"
            }
            throw CLIError("\(error.message). Your work stays saved on this node (\(pending) changes waiting); \(advice).", exitCode: 4)
        } catch let error as SyncError where error.code == .revoked {
            throw CLIError(error.message, exitCode: 5)
        } catch let error as SyncError where [.notEnrolled, .tampered, .tlsUntrusted].contains(error.code) {
            throw HubLink.explain(error, replica: replica)
        } catch let error as SyncError where error.code == .hubUnreachable {
            let pending = (try? replica.pendingCount()) ?? 0
            throw CLIError("\(error.message). Your work is saved locally (\(pending) changes waiting) and goes out at the next sync: run `yuqing sync` again later.", exitCode: 3)
        }
    }
}

struct DigestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest", abstract: "Print a hash of the replica's visible state (equal on converged replicas).")

    @OptionGroup var options: ReplicaOptions
    @Flag(help: "Also ask the hub for its digest of what this node's unit may see, and compare.") var withHub = false

    func run() async throws {
        let replica = try options.openForReading()
        let mine = try replica.digest()
        guard withHub else { return print(mine) }
        guard let url = try replica.info().hubURL else { throw CLIError("this replica has no hub URL") }
        let (client, _) = try HubLink.open(replica, url: url)
        let hub: DigestResponse
        do { hub = try await client.digest() } catch let error as SyncError where error.code == .notEnrolled { throw HubLink.explain(error, replica: replica) }
        print("node  \(mine)")
        print("hub   \(hub.digest)  (\(hub.scope.map { "what \($0) may see" } ?? "everything"), up to position \(hub.head))")
        print(mine == hub.digest ? "equal: this node holds exactly what it may see" : "different: sync, then compare again (the hub may have moved on)")
    }
}
