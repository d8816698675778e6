import Foundation
import Logging
import Testing
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingSync
import YuqingTestSupport

/// Nodes running in the background, in-process, with a real hub on a loopback port.
@Suite struct NodeRunnerTests {
    static func configuration() -> NodeRunnerConfiguration {
        var c = NodeRunnerConfiguration()
        c.watchInterval = .milliseconds(20)
        c.debounce = .milliseconds(20)
        c.backoff = Backoff(initial: .milliseconds(50), maximum: .milliseconds(500))
        c.longPoll = .seconds(5)
        return c
    }

    static func runner(_ replica: Replica, _ hub: String) throws -> NodeRunner<ContinuousClock> {
        NodeRunner(replica: replica, client: try HubClient(hubURL: hub), configuration: configuration(),
                   logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    /// Waits until `condition` holds, for at most `seconds`.
    static func eventually(_ what: String, within seconds: Double = 15, _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while try !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("\(what) did not happen within \(seconds) s") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    @Test(.timeLimit(.minutes(1))) func writesTravelBetweenRunningNodesWithoutAnyoneSyncing() async throws {
        try await SyncEndToEndTests.withLiveHub { hub, storage, files in
            let a = try SyncEndToEndTests.node(files, "a", hub: hub), b = try SyncEndToEndTests.node(files, "b", hub: hub)
            let runners = try [Self.runner(a, hub), Self.runner(b, hub)]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for r in runners { group.addTask { try await r.run() } }
                let c = RecordRef.case("YQ-RUN")
                try a.write([.init(c, FieldKey("title"), .text("网帖：收费"))])
                try await Self.eventually("a's write reaching b") { try b.view(c)?.value("title") == .text("网帖：收费") }
                try b.write([.init(c, FieldKey("notes", element: "n1"), .text("回访"))])
                try await Self.eventually("b's note reaching a") { try a.view(c)?.elements("notes") == ["n1"] }
                // Both keep up with a burst.
                try a.write((0..<50).map { .init(c, FieldKey("co_units", element: "单位 \($0)"), .integer(1)) })
                try await Self.eventually("the burst reaching b") { try b.view(c)?.elements("co_units").count == 50 }
                try await Self.eventually("everyone converging") {
                    try a.pendingCount() == 0 && b.pendingCount() == 0 && Set([a.digest(), b.digest()]) == [storage.replica.digest()]
                }
                group.cancelAll()
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func aRunnerStopsAtAnotherHubRatherThanRetryingForever() async throws {
        let files = try TempDir()
        let node = try SyncEndToEndTests.node(files, "n", hub: "http://127.0.0.1:9")
        try await SyncEndToEndTests.withLiveHub { hub, _, _ in _ = try await SyncEndToEndTests.sync(node, hub) }
        try node.write([.init(.case("c"), FieldKey("title"), .text("t"))])
        try await SyncEndToEndTests.withLiveHub { otherHub, storage, _ in
            do {
                try await Self.runner(node, otherHub).run()
                Issue.record("the runner returned")
            } catch let e as SyncError {
                #expect(e.code == .wrongHub)
                #expect(!e.healsByRetrying)
            }
            #expect(try storage.replica.logCount() == 0)
            #expect(try node.pendingCount() == 1)
        }
    }

    @Test func errorsThatRetryingHealsAreTheHubsAndTheNetworks() {
        #expect(SyncError(.hubUnreachable, "x", zh: "x").healsByRetrying)
        #expect(SyncError(.badResponse, "x", zh: "x").healsByRetrying)
        #expect(SyncError(.hubRejected, "x", zh: "x", problem: .init(code: "storage", message: "")).healsByRetrying)
        #expect(!SyncError(.hubRejected, "x", zh: "x", problem: .init(code: "dot_reused", message: "")).healsByRetrying)
        #expect(!SyncError(.hubRejected, "x", zh: "x", problem: .init(code: "bad_request", message: "")).healsByRetrying)
        #expect(!SyncError(.replicaBehindHub, "x", zh: "x").healsByRetrying)
        #expect(!SyncError(.wrongHub, "x", zh: "x").healsByRetrying)
    }
}
