import Foundation
import YuqingSecurity
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
        // English unless a test asks for another language: the tests read the CLI's messages.
        var base = ProcessInfo.processInfo.environment.filter { $0.key != "LC_ALL" && $0.key != "LC_MESSAGES" }
        base["LANG"] = "C.UTF-8"
        p.environment = base.merging(env) { $1 }
        return p
    }

    /// Roles that may take every step but signing: enough for tests of sync rather than of the workflow.
    static let broadRoles = ["monitor", "commentator", "office", "leader"]

    /// `yuqing node init` for `user@unit` (the user defaults to `u-UNIT`), enrolled at once with the
    /// code a running ``HubProcess`` made for that user (``HubProcess/enrol(unit:user:roles:)``).
    @discardableResult
    static func initNode(_ db: String, hub: String, unit: String, user: String? = nil, roles: [String] = broadRoles) throws -> Result {
        let user = user ?? "u-\(unit)"
        let made = try run(["node", "init", "--db", db, "--hub", hub, "--unit", unit, "--user", user] + roles.flatMap { ["--role", $0] })
        guard made.status == 0, let (hubURL, code, certificate) = Codes.shared.take(user: user) else { return made }
        // Enrolled at the hub itself, whatever URL (a proxy) the node syncs through.
        let pin = certificate.map { ["--hub-cert", $0] } ?? []
        let enrolled = try run(["node", "enrol", "--db", db, "--code", code, "--hub", hubURL] + pin)
        return enrolled.status == 0 ? made : enrolled
    }

    /// Enrolment codes made by running hubs, by user, until a node takes them.
    final class Codes: @unchecked Sendable {
        static let shared = Codes()
        private let lock = NSLock()
        private var codes: [String: (String, String, String?)] = [:]
        func put(hub: String, user: String, _ code: String, certificate: String?) { lock.withLock { codes[user] = (hub, code, certificate) } }
        func take(user: String) -> (String, String, String?)? { lock.withLock { codes.removeValue(forKey: user) } }
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
    /// The SQLite file, or with `postgres` the path the hub's files (keys, evidence) are named after.
    let db: String
    /// The PostgreSQL database the hub stores in instead of `db`, when set.
    let postgres: String?
    /// Served over HTTPS with this certificate and key, when set.
    var tls: TLSFiles?
    /// More arguments for `hub serve`.
    var serveArguments: [String] = []
    private(set) var process: Process?
    var url: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)" }

    init(db: String, postgres: String? = nil, port: Int = CLI.freePort(), tls: TLSFiles? = nil) {
        self.db = db
        self.postgres = postgres
        self.port = port
        self.tls = tls
    }

    func start() throws {
        let https = tls.map { ["--tls-cert", $0.certificate, "--tls-key", $0.key] } ?? []
        let p = try CLI.start(["hub", "serve"] + storeArguments(serving: true) + ["--port", String(port), "--log-level", "warning"] + https + serveArguments)
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

    /// Adds `unit` and its user (default `u-UNIT`) to the organisation, in the hub's own file, and
    /// makes the code that enrols their node (`CLI.initNode` presents it).
    @discardableResult
    func enrol(unit: String, user: String? = nil, roles: [String] = CLI.broadRoles) throws -> String {
        let user = user ?? "u-\(unit)"
        let r = try CLI.run(["hub", "enrol"] + storeArguments() + ["--unit", unit, "--user", user] + roles.flatMap { ["--role", $0] })
        guard r.status == 0, let code = r.stdout.split(whereSeparator: \.isNewline).last.map(String.init) else {
            throw CLITestError("hub enrol: \(r.stderr)")
        }
        CLI.Codes.shared.put(hub: url, user: user, code, certificate: tls?.certificate)
        return code
    }

    /// Where the hub stores, as `hub` commands are told it.
    func storeArguments(serving: Bool = false) -> [String] {
        guard let postgres else { return ["--db", db] }
        return ["--postgres", postgres] + (serving ? ["--files", db] : [])
    }

    /// The operator's key file beside the hub's database.
    var operatorKey: String { db + ".operator.key" }

    func kill(signal: Int32 = SIGKILL) {
        guard let p = process else { return }
        Foundation.kill(p.processIdentifier, signal)
        p.waitUntilExit()
        process = nil
    }

    /// The hub's `/v1/status` as JSON, asked as the operator.
    func status() throws -> [String: Any] {
        if let tls {
            // URLSession on Linux cannot trust a self-signed certificate: ask through the CLI.
            let r = try CLI.run(["hub", "status", "--hub", url, "--hub-cert", tls.certificate, "--operator-key", operatorKey])
            guard r.status == 0, let line = r.stdout.split(separator: "\n").first(where: { $0.hasPrefix("log head:") }),
                  let head = Int(line.split(separator: " ").last ?? "") else { throw CLITestError("no status from the hub: \(r.stderr)") }
            return ["head": head]
        }
        var request = URLRequest(url: URL(string: "\(url)/v1/status")!)
        if let key = try? SigningKey.load(from: operatorKey) {
            for (name, value) in RequestSigning.headers(method: "GET", target: "/v1/status", body: Data(), signer: RequestSigning.operatorSigner,
                                                        key: key, timeMillis: Int64(Date().timeIntervalSince1970 * 1000)) {
                request.setValue(value, forHTTPHeaderField: name)
            }
        }
        let semaphore = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: [String: Any]?
        let task = URLSession.shared.dataTask(with: request) { data, _, _ in
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

/// A certificate (self-signed, naming 127.0.0.1 and localhost) and its key, made by openssl.
struct TLSFiles {
    let certificate: String
    let key: String

    static func make(in dir: TempDir, name: String) throws -> TLSFiles {
        let files = TLSFiles(certificate: dir.path("\(name).pem"), key: dir.path("\(name).key"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                       "-keyout", files.key, "-out", files.certificate, "-days", "2", "-subj", "/CN=\(name)",
                       "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CLITestError("openssl could not make a certificate (scripts/setup.sh installs it)") }
        return files
    }
}

struct CLITestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
