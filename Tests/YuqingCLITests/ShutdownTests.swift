import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import YuqingSecurity
import YuqingTestSupport

/// The hub as its operators run it: a real process, its health and readiness, and SIGTERM.
@Suite struct ShutdownTests {
    static func get(_ url: String, signedWith key: SigningKey? = nil, timeout: Double = 10) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: timeout)
        if let key, let target = URLComponents(string: url).map({ $0.percentEncodedPath + ($0.percentEncodedQuery.map { "?" + $0 } ?? "") }) {
            for (name, value) in RequestSigning.headers(method: "GET", target: target, body: Data(), signer: RequestSigning.operatorSigner,
                                                        key: key, timeMillis: Int64(Date().timeIntervalSince1970 * 1000)) {
                request.setValue(value, forHTTPHeaderField: name)
            }
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func sigtermAnswersTheRequestUnderWayThenStops() async throws {
        let dir = try TempDir()
        let hub = HubProcess(db: dir.path("hub.sqlite"))
        try hub.start()
        #expect(try await Self.get("\(hub.url)/health") == (200, "ok\n"))
        #expect(try await Self.get("\(hub.url)/ready").0 == 200)
        let metrics = try await Self.get("\(hub.url)/metrics").1
        #expect(metrics.contains("yuqing_hub_log_head"))
        // The hub configured SQLite before using it: savepoints' journals stay in memory.
        let limit = metrics.split(separator: "\n").first { $0.hasPrefix("yuqing_sqlite_statement_journal_memory_bytes ") }
            .flatMap { Double($0.split(separator: " ").last ?? "") }
        #expect(limit == Double(32 << 20), "\(metrics)")
        #expect(metrics.contains("yuqing_sqlite_wal_system_writes "))
        // A long poll that would wait 20 s is under way when the hub is told to stop.
        let key = try SigningKey.load(from: hub.operatorKey)
        let started = Date()
        let url = "\(hub.url)/v1/wait?after=0&timeout=20"
        let poll = Task { @Sendable in try await Self.get(url, signedWith: key, timeout: 30) }
        try await Task.sleep(for: .milliseconds(700))
        let process = try #require(hub.process)
        kill(process.processIdentifier, SIGTERM)
        let (status, body) = try await poll.value
        #expect(status == 200 && body.contains("\"head\""), "the request under way is answered: \(status) \(body)")
        #expect(Date().timeIntervalSince(started) < 10, "the hub answers it at once, not when its wait would have ended")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "a clean stop")
        await #expect(throws: (any Error).self) { try await Self.get("\(hub.url)/health", timeout: 2) }
    }
}
