import Foundation
import Testing
import YuqingTestSupport

/// Odd files, hostile text and unresponsive hubs, met through the real `yuqing` binary.
@Suite struct HardeningCLITests {
    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    static func sqlite(_ path: String, _ sql: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = [path, sql]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CLITestError("sqlite3 failed") }
    }

    /// Runs `yuqing` as an unprivileged user when the tests run as root, so that file
    /// permissions apply (root may write any file).
    static func runUnprivileged(_ args: [String]) throws -> CLI.Result {
        guard getuid() == 0 else { return try CLI.run(args) }
        let p = Process(), out = Pipe(), err = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", CLI.binary] + args
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLI.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    @Test func anotherProgramsDatabaseIsLeftByteForByteUnchanged() throws {
        let dir = try TempDir()
        let other = dir.path("other.sqlite")
        try Self.sqlite(other, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL); INSERT INTO invoices (amount) VALUES (12.5);")
        let before = try #require(Self.bytes(other))
        for args in [["case", "list"], ["case", "show", "YQ-1"], ["digest"], ["node", "info"], ["case", "new", "--title", "t"], ["sync"]] {
            let r = try CLI.run(args + ["--db", other])
            #expect(r.status == 2, "\(args)")
            #expect(r.stderr.contains("not a Yuqing replica") && r.stderr.contains("left unchanged"), "\(args): \(r.stderr)")
        }
        #expect(Self.bytes(other) == before)
        #expect(!FileManager.default.fileExists(atPath: other + "-wal") && !FileManager.default.fileExists(atPath: other + "-shm"))
        // Not SQLite at all.
        let text = dir.path("notes.txt")
        try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
        let r = try CLI.run(["case", "list", "--db", text])
        #expect(r.status == 2 && r.stderr.contains("not a Yuqing replica"))
        #expect(Self.bytes(text) == Data("hello".utf8))
    }

    @Test func aReplicaThisUserMayNotWriteCanStillBeReadAndTheMessageNamesTheRealCulprit() throws {
        let dir = try TempDir()
        let db = dir.path("n.sqlite")
        try CLI.initNode(db, hub: "http://127.0.0.1:1", unit: "u")
        let id = try CLI.run(["case", "new", "--db", db, "--title", "只读文件"]).lastWord
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: db)
        let show = try Self.runUnprivileged(["case", "show", id, "--db", db])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("只读文件"))
        #expect(try Self.runUnprivileged(["case", "list", "--db", db]).status == 0)
        #expect(try Self.runUnprivileged(["digest", "--db", db]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: db + "-shm"), "reading created nothing beside the file")
        let write = try Self.runUnprivileged(["case", "new", "--db", db, "--title", "t"])
        #expect(write.status == 2 && write.stderr.contains("cannot write \(db)"), "\(write.stderr)")
        // A -shm left unwritable beside a writable replica is named as the problem.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: dir.url.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: db)
        _ = FileManager.default.createFile(atPath: db + "-shm", contents: Data(count: 32768), attributes: [.posixPermissions: 0o444])
        let blocked = try Self.runUnprivileged(["case", "new", "--db", db, "--title", "t"])
        #expect(blocked.status == 2 && blocked.stderr.contains("cannot write \(db)-shm"), "\(blocked.stderr)")
    }

    @Test func aDamagedReplicaIsRefusedBeforeItTakesWrites() throws {
        let dir = try TempDir()
        let db = dir.path("n.sqlite")
        try CLI.initNode(db, hub: "http://127.0.0.1:1", unit: "u")
        try CLI.run(["case", "new", "--db", db, "--title", String(repeating: "标题", count: 2000)])
        for i in 0..<40 { try CLI.run(["case", "new", "--db", db, "--title", "case \(i) " + String(repeating: "x", count: 3000)]) }
        // Scramble a few pages in the middle of the file (past the header and the schema).
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: db))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        handle.write(Data((0..<12_288).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }))
        try handle.close()
        let before = try #require(Self.bytes(db))
        let r = try CLI.run(["case", "new", "--db", db, "--title", "more"])
        #expect(r.status == 2 && r.stderr.contains("damaged"), "\(r.stderr)")
        #expect(Self.bytes(db) == before)
    }

    @Test func textFromReplicasCannotDriveTheTerminal() throws {
        let dir = try TempDir()
        let db = dir.path("n.sqlite")
        try CLI.initNode(db, hub: "http://127.0.0.1:1", unit: "u")
        let hostile = "line1\n  summary:  FAKE\u{1B}[2J\u{1B}]0;owned\u{07}\u{202E}txt.exe"
        let id = try CLI.run(["case", "new", "--db", db, "--title", hostile]).lastWord
        for args in [["case", "show", id], ["case", "list"]] {
            let out = try CLI.run(args + ["--db", db]).stdout
            #expect(!out.unicodeScalars.contains { [0x1B, 0x07, 0x202E].contains($0.value) }, "\(args)")
            #expect(!out.split(separator: "\n").contains { $0.hasPrefix("  summary:  FAKE") }, "\(args)")
            #expect(out.contains("line1\\n  summary:  FAKE\\u{1B}[2J"), "\(args)")
        }
        // JSON stays exact.
        let json = try CLI.run(["case", "show", id, "--db", db, "--json"]).stdout
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["title"] as? String == hostile)
    }

    @Test func aStalledHubIsReportedInWordsAndTheWorkIsSaved() throws {
        let dir = try TempDir()
        let hub = HubProcess(db: dir.path("hub.sqlite"))
        try hub.start()
        let db = dir.path("n.sqlite")
        try CLI.initNode(db, hub: hub.url, unit: "u")
        try CLI.run(["case", "new", "--db", db, "--title", "t"])
        let pid = try #require(hub.process?.processIdentifier)
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGCONT) }
        let r = try CLI.run(["sync", "--db", db, "--timeout", "2"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("did not answer within 2 seconds"), "\(r.stderr)")
        #expect(r.stderr.contains("saved locally (7 changes waiting)"))
        #expect(!r.stderr.contains("NSURLErrorDomain"))
    }

    @Test func theHubServesPlainHTTPOnLoopbackOnly() throws {
        let dir = try TempDir()
        let r = try CLI.run(["hub", "serve", "--db", dir.path("hub.sqlite"), "--port", "0", "--host", "0.0.0.0"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("plain HTTP is served on loopback only") && r.stderr.contains("--tls-cert"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("hub.sqlite")))
    }

    @Test func oversizedAndNulTextIsRefusedAtTheNode() throws {
        let dir = try TempDir()
        let db = dir.path("n.sqlite")
        try CLI.initNode(db, hub: "http://127.0.0.1:1", unit: "u")
        let r = try CLI.run(["case", "new", "--db", db, "--title", String(repeating: "x", count: 70_000)])
        #expect(r.status == 2 && r.stderr.contains("at most 65536 bytes"), "\(r.stderr)")
        #expect(try CLI.run(["case", "list", "--db", db]).stdout.contains("no cases"))
    }

    /// Every command leaves the replica whole in its file: its connections closed, and its log
    /// copied into the file (the log deleted, or left empty by a command that only read), before
    /// the process ended. A close left to the last release of a replica could run on another
    /// thread while the process ended: syncs left their log behind in one run of this test in two,
    /// and a process that ends while SQLite copies the log in leaves a file that is whole only
    /// with its log.
    @Test func everyCommandLeavesTheReplicaWholeInItsFile() throws {
        let dir = try TempDir()
        let hub = HubProcess(db: dir.path("hub.sqlite"))
        try hub.start()
        try hub.enrol(unit: "a", roles: ["monitor", "commentator"])
        let db = dir.path("a.sqlite")
        #expect(try CLI.initNode(db, hub: hub.url, unit: "a", roles: ["monitor", "commentator"]).status == 0)
        var left: [String] = []
        for i in 0..<20 {
            for args in [["case", "new", "--title", "第\(i)件网帖"], ["sync"], ["case", "list"], ["digest"]] {
                let r = try CLI.run(args + ["--db", db])
                #expect(r.status == 0, "\(args): \(r.stderr)")
                let log = (try? FileManager.default.attributesOfItem(atPath: db + "-wal")[.size] as? Int) ?? 0
                if log > 0 { left.append("\(i): \(args[0]) (\(log) bytes)") }
            }
        }
        #expect(left.isEmpty, "changes were left in the log beside the file after \(left)")
    }
}
