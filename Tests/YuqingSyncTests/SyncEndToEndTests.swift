import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingSync
import YuqingWire
import YuqingTestSupport

/// Nodes with real SQLite files syncing over URLSession with a real hub on a loopback port.
@Suite struct SyncEndToEndTests {
    static func withLiveHub(_ body: @Sendable (String, SQLiteHubStorage, TempDir) async throws -> Void) async throws {
        let files = try TempDir()
        let storage = try SQLiteHubStorage(path: files.path("hub.sqlite"), schema: .sample)
        let app = buildHubApplication(configuration: HubConfiguration(port: 0, enforceCaseRules: false), storage: storage)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body("http://127.0.0.1:\(port)", storage, files)
        }
    }

    static func node(_ files: TempDir, _ name: String, hub: String) throws -> Replica {
        try Replica.create(at: files.path("\(name).sqlite"), role: .node, unit: name, hubURL: hub, schema: .sample)
    }

    static func sync(_ r: Replica, _ hub: String, batch: Int = 500) async throws -> SyncReport {
        try await SyncSession(replica: r, client: try HubClient(hubURL: hub), batchSize: batch).run()
    }

    @Test func threeNodesConvergeAndTheOperatorResolvesOnceForAll() async throws {
        try await Self.withLiveHub { hub, storage, files in
            let nodes = try ["Township A", "Bureau B", "Hospital C"].map { try Self.node(files, $0, hub: hub) }
            let c = RecordRef.case("YQ-1")
            try nodes[0].write([.init(c, FieldKey("title"), .text("post")), .init(c, FieldKey("summary"), .text("base")),
                                .init(c, FieldKey("level"), .text("III"))])
            for n in nodes { _ = try await Self.sync(n, hub) }
            // Offline, concurrently:
            try nodes[0].write([.init(c, FieldKey("level"), .text("II")), .init(c, FieldKey("summary"), .text("A")),
                                .init(c, FieldKey("co_units", element: "Bureau B"), .integer(1))])
            try nodes[1].write([.init(c, FieldKey("level"), .text("IV")), .init(c, FieldKey("summary"), .text("B"))])
            try nodes[2].write([.init(c, FieldKey("co_units", element: "School D"), .integer(1)),
                                .init(c, FieldKey("notes", element: "n1"), .text("called"))])
            for n in nodes + nodes { _ = try await Self.sync(n, hub, batch: 2) }
            let digests = try nodes.map { try $0.digest() }
            #expect(Set(digests) == [try storage.replica.digest()])
            let view = try #require(try nodes[2].view(c))
            #expect(view.value("level") == .text("II"))
            #expect(view.elements("co_units") == ["Bureau B", "School D"])
            #expect(view.conflicts.count == 1)

            let client = try HubClient(hubURL: hub)
            let conflict = try #require(try await client.conflicts().first)
            #expect(conflict.field == FieldKey("summary"))
            _ = try await client.resolve(conflict.id, ResolveRequest(value: .text("agreed"), resolvedBy: "op"))
            for n in nodes { _ = try await Self.sync(n, hub) }
            for n in nodes {
                #expect(try n.conflicts().isEmpty)
                #expect(try n.view(c)?.value("summary") == .text("agreed"))
                #expect(try n.digest() == storage.replica.digest())
            }
        }
    }

    @Test func aPushWhoseAnswerWasLostIsResentWithoutDuplication() async throws {
        try await Self.withLiveHub { hub, storage, files in
            let node = try Self.node(files, "n", hub: hub)
            for i in 0..<10 { try node.write([.init(.case("c\(i)"), FieldKey("title"), .text("t\(i)"))]) }
            // The hub stores the first half, but the node never hears back (killed, network cut).
            let firstHalf = try node.pendingPush(limit: 5).map(\.change)
            _ = try await HubClient(hubURL: hub).push(PushRequest(replica: node.id, changes: firstHalf))
            let report = try await Self.sync(node, hub, batch: 3)
            #expect(report.pushed == 5 && report.pushedDuplicates == 5)
            #expect(try storage.replica.logCount() == 10)
            #expect(try node.pendingCount() == 0)
            #expect(try node.digest() == storage.replica.digest())
            let again = try await Self.sync(node, hub)
            #expect(again.pushed == 0 && again.pulled == 0)
        }
    }

    @Test func pullingInSmallBatchesGetsEverythingOnce() async throws {
        try await Self.withLiveHub { hub, storage, files in
            let a = try Self.node(files, "a", hub: hub), b = try Self.node(files, "b", hub: hub)
            try a.write((0..<40).map { .init(.case("c"), FieldKey("co_units", element: "u\($0)"), .integer(1)) })
            let pushed = try await Self.sync(a, hub, batch: 7)
            #expect(pushed.pushed == 40 && pushed.pushBatches == 6)
            let pulled = try await Self.sync(b, hub, batch: 7)
            #expect(pulled.pulled == 40 && pulled.pullBatches == 6)
            #expect(try b.view(.case("c"))?.elements("co_units").count == 40)
            #expect(try b.appliedCount() == 40)
            #expect(try b.logCount() == 0, "a node does not log what it pulled")
            #expect(try b.info().pullCursor == storage.replica.head())
        }
    }

    @Test func aDeviceClockDaysAheadIsCorrectedAtItsFirstSync() async throws {
        try await Self.withLiveHub { hub, storage, files in
            let threeDays: UInt64 = 3 * 86_400_000
            let node = try Replica.create(at: files.path("fast.sqlite"), role: .node, unit: "fast", hubURL: hub,
                                          schema: .sample, deviceClock: { Replica.systemClock() + threeDays })
            let before = try node.write([.init(.case("c"), FieldKey("title"), .text("offline"))])[0]
            #expect(before.hlc.wallMillis > Replica.systemClock() + threeDays / 2)
            _ = try await Self.sync(node, hub)
            let offset = try node.info().clockOffsetMillis
            #expect(abs(offset + Int64(threeDays)) < 60_000)
            let after = try node.write([.init(.case("c"), FieldKey("title"), .text("synced"))])[0]
            #expect(after.hlc.wallMillis < Replica.systemClock() + HybridLogicalClock.defaultMaxForwardDrift + 60_000)
            // The later write still supersedes the earlier one: causality, not timestamps.
            #expect(after.context == [before.dot])
            _ = try await Self.sync(node, hub)
            #expect(try storage.replica.view(.case("c"))?.value("title") == .text("synced"))
        }
    }

    @Test func aNodeRefusesToMixTwoHubsLogs() async throws {
        let files = try TempDir()
        let node = try Self.node(files, "n", hub: "http://127.0.0.1:9")
        try await Self.withLiveHub { hub, _, _ in _ = try await Self.sync(node, hub) }
        try node.write([.init(.case("c"), FieldKey("title"), .text("t"))])
        try await Self.withLiveHub { otherHub, storage, _ in
            do {
                _ = try await Self.sync(node, otherHub)
                Issue.record("synced with a second hub")
            } catch let e as SyncError {
                #expect(e.code == .wrongHub)
            }
            #expect(try storage.replica.logCount() == 0)
            #expect(try node.pendingCount() == 1)
        }
    }

    @Test func anUnreachableHubLeavesTheNodeWorking() async throws {
        let files = try TempDir()
        let node = try Self.node(files, "n", hub: "http://127.0.0.1:9")
        try node.write([.init(.case("c"), FieldKey("title"), .text("offline"))])
        do {
            _ = try await Self.sync(node, "http://127.0.0.1:9")
            Issue.record("synced with nothing listening")
        } catch let e as SyncError {
            #expect(e.code == .hubUnreachable)
        }
        try node.write([.init(.case("c"), FieldKey("title"), .text("still working"))])
        #expect(try node.pendingCount() == 2)
        #expect(throws: SyncError.self) { try HubClient(hubURL: "not a url") }
    }
}
