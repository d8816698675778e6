import Foundation
import YuqingTestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Runs the real `yuqing` executable as child processes.
enum CLI {
    /// The built `yuqing` next to the test bundle, or `YUQING_BIN`.
    static let binary: String = {
        if let env = ProcessInfo.processInfo.environment["YUQING_BIN"], !env.isEmpty { return env }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.lastPathComponent == "MacOS" { dir = dir.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
        return dir.appendingPathComponent("yuqing").path
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var lastWord: String { stdout.split(whereSeparator: \.isWhitespace).last.map(String.init) ?? "" }
    }

    @discardableResult
    static func run(_ args: [String], env: [String: String] = [:]) throws -> Result {
        let p = try start(args, env: env)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func start(_ args: [String], env: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        return p
    }

    /// Roles that may take every step but signing: enough for tests of sync rather than of the workflow.
    static let broadRoles = ["monitor", "commentator", "office", "leader"]

    /// `yuqing node init` for `user@unit` (the user defaults to `u-UNIT`).
    @discardableResult
    static func initNode(_ db: String, hub: String, unit: String, user: String? = nil, roles: [String] = broadRoles) throws -> Result {
        try run(["node", "init", "--db", db, "--hub", hub, "--unit", unit, "--user", user ?? "u-\(unit)"] + roles.flatMap { ["--role", $0] })
    }

    static func freePort() -> Int {
        // Bind port 0, read the port, close: the hub binds it right after.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// A hub as a real process on a loopback port.
final class HubProcess {
    let port: Int
    let db: String
    private(set) var process: Process?
    var url: String { "http://127.0.0.1:\(port)" }

    init(db: String, port: Int = CLI.freePort()) {
        self.db = db
        self.port = port
    }

    func start() throws {
        let p = try CLI.start(["hub", "serve", "--db", db, "--port", String(port), "--log-level", "warning"])
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        for _ in 0..<200 {
            if (try? status()) != nil { return }
            usleep(50_000)
        }
        throw CLITestError("the hub did not start on port \(port)")
    }

    /// Adds `unit` and its user (default `u-UNIT`) to the organisation, in the hub's own file.
    func enrol(unit: String, user: String? = nil, roles: [String] = CLI.broadRoles) throws {
        for args in [["org", "unit", unit], ["org", "user", user ?? "u-\(unit)", "--unit", unit] + roles.flatMap { ["--role", $0] }] {
            let r = try CLI.run(args + ["--db", db])
            guard r.status == 0 else { throw CLITestError("\(args): \(r.stderr)") }
        }
    }

    func kill(signal: Int32 = SIGKILL) {
        guard let p = process else { return }
        Foundation.kill(p.processIdentifier, signal)
        p.waitUntilExit()
        process = nil
    }

    /// The hub's `/v1/status` as JSON.
    func status() throws -> [String: Any] {
        let url = URL(string: "\(url)/v1/status")!
        let semaphore = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: [String: Any]?
        let task = URLSession.shared.dataTask(with: url) { data, _, _ in
            result = data.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            semaphore.signal()
        }
        task.resume()
        semaphore.wait()
        guard let result else { throw CLITestError("no status from the hub") }
        return result
    }

    deinit { kill() }
}

struct CLITestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
