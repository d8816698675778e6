import Foundation
import YuqingCases
import YuqingCore
import YuqingHub
import YuqingReplica
import GRDBSQLite
import YuqingCore
#if canImport(Glibc)
import Glibc
#endif

/// Prints progress to standard error, so standard output stays the report.
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Seconds elapsed while running `body`.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    return (ContinuousClock.now - start).seconds
}

func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    return (ContinuousClock.now - start).seconds
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// The value below which `p` (0...1) of the samples fall (nearest rank).
func percentile(_ samples: [Double], _ p: Double) -> Double {
    guard !samples.isEmpty else { return .nan }
    let sorted = samples.sorted()
    let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

func median(_ samples: [Double]) -> Double { percentile(samples, 0.5) }

func fmt(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }

func grouped(_ n: Double) -> String {
    let s = String(Int(n.rounded()))
    var out = ""
    for (i, c) in s.reversed().enumerated() {
        if i > 0, i % 3 == 0, c != "-" { out.append(",") }
        out.append(c)
    }
    return String(out.reversed())
}

/// A directory removed when the benchmark ends.
final class Scratch {
    let path: String

    init(_ name: String) throws {
        let base = ProcessInfo.processInfo.environment["YUQING_BENCH_DIR"] ?? NSTemporaryDirectory()
        path = (base as NSString).appendingPathComponent("yuqing-bench-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    deinit {
        // YUQING_BENCH_KEEP=1 leaves the files for a closer look (profiling a run, say).
        if ProcessInfo.processInfo.environment["YUQING_BENCH_KEEP"] == "1" { note("kept \(path)") } else {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}

/// Bytes on disk of an SQLite file with its WAL.
func fileBytes(_ path: String) -> Int {
    ["", "-wal"].reduce(0) { total, suffix in
        total + ((try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? 0)
    }
}

/// A plain SQLite connection through the C API, with nothing of Yuqing: the baseline.
final class PlainSQLite {
    let db: OpaquePointer

    init(path: String) throws {
        var handle: OpaquePointer?
        // SQLite's own VFS ("unix"), not the one replicas install as the process's default
        // (`WALWrites`), which writes a commit's WAL frames in one call.
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "unix") == SQLITE_OK, let handle else {
            throw BenchError("cannot open \(path)")
        }
        db = handle
        // The same durability as a replica: WAL, and a sync of the log at every commit.
        try exec("PRAGMA journal_mode = WAL")
        try exec("PRAGMA synchronous = FULL")
        try exec("PRAGMA cache_size = -32768")
    }

    deinit { sqlite3_close_v2(db) }

    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw BenchError("SQLite: \(String(cString: sqlite3_errmsg(db))) in \(sql)")
        }
    }

    func prepare(_ sql: String) throws -> PlainStatement {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil) == SQLITE_OK, let stmt else {
            throw BenchError("SQLite: \(String(cString: sqlite3_errmsg(db))) in \(sql)")
        }
        return PlainStatement(stmt: stmt, db: db)
    }
}

final class PlainStatement {
    let stmt: OpaquePointer
    let db: OpaquePointer
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(stmt: OpaquePointer, db: OpaquePointer) {
        self.stmt = stmt
        self.db = db
    }

    deinit { sqlite3_finalize(stmt) }

    func bind(_ i: Int32, _ v: Int64) { sqlite3_bind_int64(stmt, i, v) }
    func bind(_ i: Int32, _ s: String) {
        var s = s
        s.withUTF8 { b in _ = sqlite3_bind_text(stmt, i, UnsafeRawPointer(b.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(b.count), Self.transient) }
    }
    func bind(_ i: Int32, _ v: FieldValue?) {
        switch v {
        case nil: sqlite3_bind_null(stmt, i)
        case .text(let s)?: bind(i, s)
        case .integer(let n)?: bind(i, n)
        }
    }

    func run() throws {
        defer { sqlite3_reset(stmt) }
        guard sqlite3_step(stmt) == SQLITE_DONE else { throw BenchError("SQLite: \(String(cString: sqlite3_errmsg(db)))") }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: Processes

/// The `yuqing` executable: next to this one, or `YUQING_BIN`.
func yuqingBinary() -> String {
    if let bin = ProcessInfo.processInfo.environment["YUQING_BIN"] { return bin }
    let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    return me.deletingLastPathComponent().appendingPathComponent("yuqing").path
}

/// A child process started with posix_spawn, so its resource usage can be read when it ends.
struct Child {
    let pid: pid_t

    /// - Parameter output: where its standard output goes (nil: `/dev/null` when `quiet`).
    static func spawn(_ args: [String], quiet: Bool = true, output: String? = nil) throws -> Child {
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        } else if quiet {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        let argv = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let rc = posix_spawn(&pid, args[0], &actions, nil, argv, environ)
        guard rc == 0 else { throw BenchError("cannot start \(args[0]): error \(rc)") }
        return Child(pid: pid)
    }

    /// Waits for the end; returns the exit status and the peak resident set in bytes.
    func wait() -> (status: Int32, peakRSS: Int) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), usage.ru_maxrss * 1024)
    }

    /// The peak resident set so far (VmHWM), in bytes.
    func peakRSS() -> Int { procStatus("VmHWM") }
    func currentRSS() -> Int { procStatus("VmRSS") }

    private func procStatus(_ key: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return 0
    }

    func signal(_ sig: Int32) { kill(pid, sig) }
}

/// Runs a command to its end; fails on a non-zero exit.
@discardableResult
func runChild(_ args: [String], output: String? = nil) throws -> (seconds: Double, peakRSS: Int) {
    let start = ContinuousClock.now
    let child = try Child.spawn(args, output: output)
    let (status, rss) = child.wait()
    guard status == 0 else { throw BenchError("\(args.joined(separator: " ")) exited with \(status)") }
    return ((ContinuousClock.now - start).seconds, rss)
}

func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A hub as its own process on a loopback port, as deployed.
final class HubProcess {
    let child: Child
    let url: String

    /// Starts a hub on `db` whose organisation has the benchmark's `units` units, each with one
    /// user who may take every step (``WorkflowWorkload``): the hub checks every push against it.
    /// The operator's key file beside the hub's database.
    var operatorKey: String { db + ".operator.key" }
    let db: String

    convenience init(db: String, units: Int = 20, authenticated: Bool = false) throws {
        let storage = try SQLiteHubStorage(path: db, schema: CaseSchema.schema)
        if try storage.replica.views(kinds: [CaseSchema.Kind.user]).isEmpty {
            try storage.replica.write(WorkflowWorkload.organisation(units: units).map { Replica.Write($0.record, $0.field, $0.value) },
                                      author: "operator@hub")
        }
        try self.init(db: db, store: ["--db", db], authenticated: authenticated)
    }

    /// A hub instance over the PostgreSQL database `postgres` (its organisation written already),
    /// its files named after `files`.
    convenience init(postgres: String, files: String, authenticated: Bool = false) throws {
        try self.init(db: files, store: ["--postgres", postgres, "--files", files], authenticated: authenticated)
    }

    private init(db: String, store: [String], authenticated: Bool) throws {
        self.db = db
        let port = freePort()
        url = "http://127.0.0.1:\(port)"
        // `authenticated`: as deployed, serving enrolled devices only. Otherwise without device
        // authentication, for the benchmarks whose loaders push as synthetic replicas (signing
        // and checking seals are measured by `bootstrap`, `hub-ingest --signed` and `seal-cost`).
        child = try Child.spawn([yuqingBinary(), "hub", "serve"] + store + ["--port", String(port), "--log-level", "warning", "--no-console"]
                                + (authenticated ? [] : ["--no-authentication"]))
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if Self.answers(port) { return }
            usleep(20_000)
        }
        child.signal(SIGKILL)
        _ = child.wait()
        throw BenchError("the hub did not start on port \(port)")
    }

    private static func answers(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Stops the hub; returns its peak resident set in bytes.
    private var stopped: Int?

    @discardableResult
    func stop() -> Int {
        if let stopped { return stopped }
        let peak = child.peakRSS()
        child.signal(SIGTERM)
        let (_, rss) = child.wait()
        stopped = max(peak, rss)
        return max(peak, rss)
    }
}

/// Runs a child process to its end and returns what it printed; throws unless it succeeded.
func runChildOutput(_ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: args[0])
    p.arguments = Array(args.dropFirst())
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw BenchError("\(args.joined(separator: " ")) exited with \(p.terminationStatus)") }
    return String(decoding: data, as: UTF8.self)
}

/// The CPU time this process has used so far (user and system, every thread), in seconds:
/// against the wall time of a phase, it tells whether the phase waited for the disk.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return s(usage.ru_utime) + s(usage.ru_stime)
}
