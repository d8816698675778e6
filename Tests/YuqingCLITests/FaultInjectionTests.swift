import Foundation
import Testing
import YuqingTestSupport

extension RunningNodes {
    /// Three nodes running in the background sync through a proxy that delays, drops, duplicates,
    /// truncates and resets their requests, while the test keeps writing on them with the CLI. Once
    /// the network heals, every replica holds exactly what was written: nothing lost, nothing twice.
    @Suite(.serialized) struct FaultInjectionTests {
        /// `YUQING_FAULT_SEED` replays a run; the proxy's faults and the test's writes follow the seed.
        static let seed = ProcessInfo.processInfo.environment["YUQING_FAULT_SEED"].flatMap { UInt64($0) } ?? 20_260_521
        static let writingSeconds = 15.0

        /// What the test wrote, to hold the replicas to.
        struct Written {
            var cases: [String: String] = [:]  // id → the node that made it
            var notes: [String: [String]] = [:]  // id → note texts
            var coUnits: [String: Set<String>] = [:]
        }

        @Test(.timeLimit(.minutes(3))) func nodesSyncingThroughABadNetworkLoseAndDuplicateNothing() throws {
            let dir = try TempDir()
            let hub = HubProcess(db: dir.path("hub.sqlite"))
            try hub.start()
            let proxy = try FaultProxy(to: hub.port, seed: Self.seed)
            defer { proxy.stop() }
            let proxied = "http://127.0.0.1:\(proxy.port)"
            let dbs = try ["A", "B", "C"].map { try NodeRunTests.node(dir, "单位 \($0)", hub: hub, url: proxied) }
            let options = ["--watch-interval", "0.05", "--debounce", "0.1", "--retry-initial", "0.1", "--retry-max", "1",
                           "--sync-interval", "2", "--long-poll", "5"]
            let runs = try dbs.map { try NodeProcess(db: $0, options: options) }

            // Keep writing through the CLI while the network misbehaves.
            var random = SeededRandom(seed: Self.seed ^ 0x5EED)
            var written = Written()
            var ids: [String] = []
            var n = 0
            let stopWriting = Date().addingTimeInterval(Self.writingSeconds)
            while Date() < stopWriting {
                n += 1
                let k = Int.random(in: 0..<dbs.count, using: &random)
                let db = dbs[k]
                let roll = Int.random(in: 0..<10, using: &random)
                if ids.isEmpty || roll < 4 {
                    let id = try NodeRunTests.newCase(db, "舆情 \(n)：来自 \(k)")
                    ids.append(id)
                    written.cases[id] = db
                    continue
                }
                // An edit on a case of this node's, or on any: refused when it has not reached this node yet.
                let own = ids.filter { written.cases[$0] == db }
                let pool = own.isEmpty || Bool.random(using: &random) ? ids : own
                let id = pool[Int.random(in: 0..<pool.count, using: &random)]
                if roll < 7 {
                    let text = "回访记录 \(n)（节点 \(k)）"
                    let r = try CLI.run(["case", "note", "--db", db, id, text])
                    if r.status == 0 { written.notes[id, default: []].append(text) } else { #expect(r.stderr.contains("no case"), "\(r.stderr)") }
                } else {
                    let unit = "涉事单位 \(n)"
                    let r = try CLI.run(["case", "set", "--db", db, id, "units+=\(unit)", "title=改 \(n)"])
                    if r.status == 0 { written.coUnits[id, default: []].insert(unit) } else { #expect(r.stderr.contains("no case"), "\(r.stderr)") }
                }
            }
            let counts = proxy.counts
            for fault in FaultProxy.Fault.allCases {
                #expect(counts[fault, default: 0] > 0, "the proxy never did \(fault): \(counts)")
            }
            for run in runs { #expect(run.isRunning, "a runner gave up on a bad network: \(run.report)") }

            // The network heals: everyone must end with exactly what was written.
            proxy.faultsEnabled = false
            let all = dbs + [hub.db]
            do {
                try eventually("", within: 45) {
                    let digests = try Set(all.map { try NodeRunTests.digest($0) })
                    let hubCases = try NodeRunTests.cases(hub.db).count
                    return digests.count == 1 && hubCases == written.cases.count
                }
            } catch {
                Issue.record("no convergence within 45 s after the faults stopped (seed \(Self.seed), \(counts));\n\(runs.map(\.report).joined(separator: "\n"))")
            }
            for db in all {
                let cases = try NodeRunTests.cases(db)
                #expect(Set(cases.keys) == Set(written.cases.keys), "\(db): cases lost or made up")
                for (id, texts) in written.notes {
                    #expect(NodeRunTests.notes(cases[id]).sorted() == texts.sorted(), "\(db) \(id): notes lost or duplicated")
                }
                for (id, units) in written.coUnits {
                    let registering = cases[id]?["unit"] as? String ?? ""
                    #expect(Set((cases[id]?["units"] as? [String]) ?? []).subtracting([registering]) == units, "\(db) \(id): units concerned")
                }
            }
            #expect(written.cases.count >= 10 && !written.notes.isEmpty && !written.coUnits.isEmpty, "too few writes: \(n)")
            for run in runs {
                let end = run.stop()
                #expect(end.status == 0 && end.seconds < 5, "\(run.report)")
            }
        }
    }
}
