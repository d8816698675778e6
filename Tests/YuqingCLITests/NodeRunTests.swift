import Foundation
import Testing
import YuqingTestSupport

/// The suites that run nodes in the background as real processes, one after another, and not
/// beside the crash tests: together they would load the machine's cores enough to upset each
/// other's timings.
@Suite(.serialized, .processHeavy) enum RunningNodes {}

extension RunningNodes {
    /// `yuqing node run` as real processes: nodes that sync by themselves, through a hub crash, and
    /// stop cleanly.
    @Suite(.serialized) struct NodeRunTests {
        /// A node replica syncing with `url` (the hub, or a proxy to it), made with `yuqing node
        /// init` for a unit and user enrolled in `hub`'s organisation.
        static func node(_ dir: TempDir, _ name: String, hub: HubProcess, url: String? = nil) throws -> String {
            let db = dir.path("\(name).sqlite")
            let unit = name.replacingOccurrences(of: " ", with: "-")
            try hub.enrol(unit: unit)
            let r = try CLI.initNode(db, hub: url ?? hub.url, unit: unit)
            guard r.status == 0 else { throw CLITestError("node init: \(r.stderr)") }
            return db
        }

        /// `yuqing case new` on `db`; the new case's id.
        static func newCase(_ db: String, _ title: String) throws -> String {
            let r = try CLI.run(["case", "new", "--db", db, "--title", title])
            guard r.status == 0, r.lastWord.hasPrefix("YQ-") else { throw CLITestError("case new: \(r.stderr)") }
            return r.lastWord
        }

        /// The cases `db` holds, by id, as `yuqing case list --json` prints them.
        static func cases(_ db: String) throws -> [String: [String: Any]] {
            let r = try CLI.run(["case", "list", "--json", "--db", db])
            guard r.status == 0, let list = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] else {
                throw CLITestError("case list: \(r.stderr)")
            }
            return Dictionary(list.map { ($0["id"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        }

        static func digest(_ db: String) throws -> String {
            try CLI.run(["digest", "--db", db]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        static func notes(_ c: [String: Any]?) -> [String] {
            ((c?["steps"] as? [[String: Any]]) ?? []).filter { $0["kind"] as? String == "report" }.compactMap { $0["text"] as? String }
        }

        @Test func aCaseMadeOnOneRunningNodeAppearsOnTheOtherAndSigtermLosesNothing() throws {
            let dir = try TempDir()
            let hub = HubProcess(db: dir.path("hub.sqlite"))
            try hub.start()
            let a = try Self.node(dir, "乡镇 A", hub: hub), b = try Self.node(dir, "卫健委 B", hub: hub)
            var runA = try NodeProcess(db: a)
            let runB = try NodeProcess(db: b)

            let id = try Self.newCase(a, "网帖：诊所收费")
            try eventually("the case made on A listed on B; A: \(runA.report) B: \(runB.report)", within: 10) {
                try Self.cases(b)[id]?["title"] as? String == "网帖：诊所收费"
            }
            #expect(try CLI.run(["case", "note", "--db", b, id, "已回访"]).status == 0)
            try eventually("B's note shown on A", within: 10) { Self.notes(try Self.cases(a)[id]) == ["已回访"] }
            #expect(runA.stderrText.contains("synced: pushed 7, pulled 0"), "\(runA.report)")

            // A write, then SIGTERM at once: the runner stops promptly and cleanly, the write stays on
            // the node, and goes out when the node runs again.
            let late = try Self.newCase(a, "关机前最后一条")
            let stopped = runA.stop()
            #expect(stopped.status == 0, "\(runA.report)")
            #expect(stopped.seconds < 5)
            #expect(try Self.cases(a)[late] != nil)
            runA = try NodeProcess(db: a)
            try eventually("the case written just before SIGTERM reaching B", within: 10) { try Self.cases(b)[late] != nil }
            try eventually("A, B and the hub converging", within: 10) {
                Set([try Self.digest(a), try Self.digest(b), try Self.digest(hub.db)]).count == 1
            }
            for run in [runA, runB] {
                let end = run.stop()
                #expect(end.status == 0 && end.seconds < 5, "\(run.report)")
                #expect(run.stdoutText.split(separator: "\n").count == 1, "only the readiness line on stdout: \(run.stdoutText)")
            }
        }

        @Test func nodesKeepWritingThroughAHubCrashAndConvergeWhenItIsBack() throws {
            let dir = try TempDir()
            let hub = HubProcess(db: dir.path("hub.sqlite"))
            try hub.start()
            let a = try Self.node(dir, "A", hub: hub), b = try Self.node(dir, "B", hub: hub)
            let runs = [try NodeProcess(db: a), try NodeProcess(db: b)]
            var made: [String] = []
            made.append(try Self.newCase(a, "before the crash"))
            try eventually("the first case on B", within: 10) { try Self.cases(b)[made[0]] != nil }

            hub.kill()  // SIGKILL
            for i in 0..<3 {
                made.append(try Self.newCase(a, "A offline \(i)"))
                made.append(try Self.newCase(b, "B offline \(i)"))
            }
            #expect(try CLI.run(["case", "note", "--db", b, made[0], "written while the hub was down"]).status == 0)
            usleep(1_500_000)
            for run in runs {
                #expect(run.isRunning, "the runner keeps going without its hub: \(run.report)")
                #expect(run.stderrText.contains("hub unreachable"), "\(run.report)")
            }

            try hub.start()  // same port, same database
            try eventually("both nodes and the hub converging after the restart; A: \(runs[0].report) B: \(runs[1].report)", within: 20) {
                let (ca, cb) = (try Self.cases(a), try Self.cases(b))
                let digests = Set([try Self.digest(a), try Self.digest(b), try Self.digest(hub.db)])
                return made.allSatisfy { ca[$0] != nil && cb[$0] != nil } && digests.count == 1
            }
            #expect(Self.notes(try Self.cases(a)[made[0]]) == ["written while the hub was down"])
            #expect(try Self.cases(hub.db).count == made.count)
            for run in runs {
                #expect(run.stderrText.contains("hub reachable again"), "\(run.report)")
                let end = run.stop()
                #expect(end.status == 0 && end.seconds < 5, "\(run.report)")
            }
        }

        @Test func aSyncHangingOnASilentHubIsAbandonedAtSigterm() throws {
            // A port that accepts connections (the kernel's backlog) and never answers.
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
            #expect(listen(fd, 16) == 0)
            _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
            let silent = "http://127.0.0.1:\(UInt16(bigEndian: addr.sin_port))"

            let dir = try TempDir()
            let a = dir.path("A.sqlite")
            try CLI.initNode(a, hub: silent, unit: "A")
            let id = try Self.newCase(a, "written while the hub says nothing")
            let run = try NodeProcess(db: a)
            usleep(500_000)  // the first sync waits for an answer that never comes
            let end = run.stop()
            #expect(end.status == 0, "\(run.report)")
            #expect(end.seconds < 8, "the sync under way is given a few seconds, then abandoned")
            #expect(try Self.cases(a)[id] != nil)
            #expect(try CLI.run(["node", "info", "--db", a]).stdout.contains("pending:  7 changes to push"))
        }

        @Test func aRunnerStopsWithOneLineWhenRetryingCannotHelp() throws {
            let dir = try TempDir()
            let hub = HubProcess(db: dir.path("hub.sqlite")), other = HubProcess(db: dir.path("other.sqlite"))
            try hub.start()
            try other.start()
            let a = try Self.node(dir, "A", hub: hub)
            #expect(try CLI.run(["sync", "--db", a]).status == 0)
            let run = try NodeProcess(db: a, options: NodeProcess.quick + ["--hub", other.url])
            let status = run.exitStatus(within: 10)
            #expect(status == 4, "\(run.report)")
            let lines = run.stderrText.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("this node syncs with hub"), "\(run.report)")
        }
    }
}
