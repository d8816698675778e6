import ArgumentParser
import Foundation
import YuqingCases
import YuqingCore
import YuqingSecurity
import YuqingWire

/// What device seals add to the wire (`Protocol/security.md` §3): the changes a fresh node
/// bootstraps from, pulled in the binary form, with and without the seals that cover them.
struct SealCost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal-cost", abstract: "Bytes per change that device seals add to a bootstrap pull.")

    @Option(help: "Nodes (units), each registering and handling its own cases.") var nodes = 20
    @Option(help: "Changes per node.") var perNode = 25_000
    @Option(help: "Changes per pull answer.") var pullLimit = 5000
    @Option(help: "Changes a node sends per push: one seal each (a sync after every case registration is about 10).")
    var pushSizes: [Int] = [10, 100, 5000]

    func run() async throws {
        note("seal cost: generating \(nodes) × \(perNode) changes (workflow workload)")
        let perNodeChanges = (0..<nodes).map { WorkflowWorkload.changes(node: $0, count: perNode) }
        // The hub's log: the nodes' pushes interleaved, as a bootstrapping node pulls it.
        var log: [Change] = []
        let chunk = 100
        for start in stride(from: 0, to: perNode, by: chunk) {
            for k in 0..<nodes { log += perNodeChanges[k][start..<min(start + chunk, perNode)] }
        }
        let total = log.count
        var rows: [String] = []
        for pushSize in pushSizes {
            // Each node's pushes of `pushSize` changes, each with its seal.
            var seals: [ReplicaID: [Seal]] = [:]
            for (k, changes) in perNodeChanges.enumerated() {
                let key = SigningKey()
                let id = IngestWorkload.replicaID(k)
                for start in stride(from: 0, to: changes.count, by: pushSize) {
                    let push = Array(changes[start..<min(start + pushSize, changes.count)])
                    seals[id, default: []] += try Seal.runs(of: push, replica: id).map { try Seal.make($0, key: key) }
                }
            }
            var plain = 0, sealed = 0, sent = 0, proofsSent = 0
            for start in stride(from: 0, to: total, by: pullLimit) {
                let page = Array(log[start..<min(start + pullLimit, total)])
                let entries = page.enumerated().map { LogEntry(pos: Int64(start + $0.offset + 1), change: $0.element) }
                var covering: [Seal] = []
                var byReplica: [ReplicaID: [UInt64]] = [:]
                for c in page { byReplica[c.dot.replica, default: []].append(c.dot.counter) }
                for (replica, counters) in byReplica {
                    let lo = counters.min()!, hi = counters.max()!
                    covering += (seals[replica] ?? []).filter { $0.last >= lo && $0.first <= hi }
                }
                sent += covering.count
                // The proofs the hub adds for runs this page holds only part of (they continue on
                // the next page): the Merkle hashes of the rest.
                var proofs: [SealProof] = []
                var buffer: [UInt8] = []
                for seal in covering {
                    let mine = Set(byReplica[seal.replica]!.filter { seal.first <= $0 && $0 <= seal.last })
                    guard mine.count < Int(seal.count) else { continue }
                    let run = perNodeChanges.first { $0.first?.dot.replica == seal.replica }!
                    let offset = Int(seal.first - run[0].dot.counter)
                    let hashes = MerkleTree.proof(count: Int(seal.count), present: { mine.contains(seal.first + UInt64($0)) },
                                                  leaf: { ChangeHash.hash(run[offset + $0], buffer: &buffer) })
                    proofs.append(SealProof(replica: seal.replica, first: seal.first, last: seal.last, hashes: hashes))
                }
                proofsSent += proofs.count
                let without = PullResponse(hub: ReplicaID("hub"), entries: entries, next: Int64(start + page.count), more: true, head: Int64(total), hubTime: 0)
                var with = without
                with.seals = covering
                with.proofs = proofs
                plain += without.binary().count
                sealed += with.binary().count
            }
            let added = Double(sealed - plain) / Double(total)
            rows.append("| \(pushSize) | \(grouped(Double(sent))) | \(grouped(Double(proofsSent))) | \(fmt(Double(plain) / Double(total))) | \(fmt(Double(sealed) / Double(total))) | **\(fmt(added))** |")
        }
        print("""
            ## Seal cost on the wire (\(grouped(Double(total))) changes of \(nodes) units' own cases, workflow workload; pulls of \(pullLimit), binary form, zlib)

            | changes per push (one seal each) | seals sent | proofs sent | B/change without seals | B/change with seals and proofs | added B/change |
            |---|---|---|---|---|---|
            \(rows.joined(separator: "\n"))

            """)
    }
}
