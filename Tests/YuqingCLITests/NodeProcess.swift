import Foundation
import YuqingTestSupport

/// `yuqing node run` as a real process, its output kept for the checks and for failure reports.
final class NodeProcess: @unchecked Sendable {
    let db: String
    let args: [String]
    private let process: Process
    private let output = Output()
    private let readers = DispatchGroup()

    /// What the process wrote. The readers hold this, not the NodeProcess, so that dropping the
    /// NodeProcess still kills the process.
    private final class Output: @unchecked Sendable {
        let lock = NSLock()
        var out = Data(), err = Data()
    }

    /// Options that make a node quick to react in a test: checks every 50 ms, short retries.
    static let quick = ["--watch-interval", "0.05", "--debounce", "0.05", "--retry-initial", "0.2", "--retry-max", "1",
                        "--sync-interval", "5", "--long-poll", "10"]

    /// Starts `yuqing node run --db db` with `options`, and waits for its readiness line.
    init(db: String, options: [String] = NodeProcess.quick) throws {
        self.db = db
        args = ["node", "run", "--db", db] + options
        process = try CLI.start(args)
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        for (pipe, isOut) in [(stdout, true), (stderr, false)] {
            let handle = pipe.fileHandleForReading
            DispatchQueue.global().async(group: readers) { [output] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { return }
                    output.lock.withLock { if isOut { output.out.append(chunk) } else { output.err.append(chunk) } }
                }
            }
        }
        let deadline = Date().addingTimeInterval(20)
        while !stdoutText.contains(" running (hub ") {
            guard process.isRunning, Date() < deadline else {
                throw CLITestError("`yuqing \(args.joined(separator: " "))` did not start: \(report)")
            }
            usleep(10_000)
        }
    }

    var stdoutText: String { output.lock.withLock { String(decoding: output.out, as: UTF8.self) } }
    var stderrText: String { output.lock.withLock { String(decoding: output.err, as: UTF8.self) } }
    var isRunning: Bool { process.isRunning }
    var report: String { "stdout: \(stdoutText)\nstderr: \(stderrText)" }

    /// Waits up to `seconds` for the process to end on its own; its exit status, or nil if it runs on.
    func exitStatus(within seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning {
            guard Date() < deadline else { return nil }
            usleep(10_000)
        }
        readers.wait()
        return process.terminationStatus
    }

    /// Sends `signal`; returns the exit status once it ended (nil if not within `seconds`) and the
    /// seconds it took.
    func stop(signal: Int32 = SIGTERM, within seconds: Double = 10) -> (status: Int32?, seconds: Double) {
        let started = Date()
        guard process.isRunning else { return (exitStatus(within: 0), 0) }
        kill(process.processIdentifier, signal)
        let status = exitStatus(within: seconds)
        return (status, Date().timeIntervalSince(started))
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Polls `condition` every 50 ms until it holds; throws with `what` after `seconds`.
func eventually(_ what: @autoclosure () -> String, within seconds: Double = 15, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while try !condition() {
        guard Date() < deadline else { throw CLITestError("within \(seconds) s: \(what())") }
        usleep(50_000)
    }
}
