import Foundation
import Testing
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingSync
import YuqingWire
import YuqingTestSupport

/// Another program pushes under a node's id before the node does: the node is told what is known,
/// and `reissue` gets it syncing again with none of its work lost.
@Suite struct DotCollisionTests {
    static func forged(_ owner: ReplicaID, counter: UInt64) -> Change {
        Change(dot: Dot(replica: owner, counter: counter), hlc: HLC(wallMillis: UInt64(Date().timeIntervalSince1970 * 1000)),
               record: .case("YQ-FORGED-\(counter)"), field: FieldKey("title"), value: .text("not written by this node"),
               context: [], author: "intruder")
    }

    @Test(arguments: [UInt64(2), 500])
    func aNodeWhoseDotsWereTakenReissuesAndLosesNothing(forgedCounter: UInt64) async throws {
        try await SyncEndToEndTests.withLiveHub { hub, storage, files in
            let path = files.path("a.sqlite")
            var a = try Replica.create(at: path, role: .node, unit: "Township A", hubURL: hub, schema: .sample)
            let b = try SyncEndToEndTests.node(files, "b", hub: hub)
            for i in 0..<3 {
                try a.write([.init(.case("YQ-A\(i)"), FieldKey("title"), .text("案件 \(i)")), .init(.case("YQ-A\(i)"), FieldKey("summary"), .text("摘要 \(i)"))])
            }
            try a.write([.init(.case("YQ-A0"), FieldKey("title"), .text("案件 0, edited"))])
            // Someone else pushes a different change under one of a's dots first.
            _ = try await HubClient(hubURL: hub).push(PushRequest(replica: ReplicaID("intruder"), changes: [Self.forged(a.id, counter: forgedCounter)]))

            let refused = await #expect(throws: SyncError.self) { try await SyncSession(replica: a, client: try HubClient(hubURL: hub)).run() }
            let message = refused?.message ?? ""
            #expect(message.contains("another program sent changes under this node's id"))
            #expect(message.contains("yuqing node reissue"))
            #expect(refused?.code == (forgedCounter == 2 ? .dotCollision : .replicaBehindHub))
            #expect(try a.pendingCount() == 7, "nothing was marked sent")

            let report = try a.reissue()
            #expect(report.reissued == 7 && report.previousID == a.id)
            a = try Replica.open(at: path, schema: .sample)
            #expect(a.id == report.newID)
            _ = try await SyncEndToEndTests.sync(a, hub)
            _ = try await SyncEndToEndTests.sync(b, hub)
            let hubDigest = try storage.replica.digest()
            #expect(try a.digest() == hubDigest && b.digest() == hubDigest)
            for replica in [a, b, storage.replica] {
                #expect(try replica.view(.case("YQ-A0"))?.value("title") == .text("案件 0, edited"))
                #expect(try replica.view(.case("YQ-A2"))?.value("summary") == .text("摘要 2"))
                #expect(try replica.view(.case("YQ-FORGED-\(forgedCounter)")) != nil, "what the hub holds reaches the node too")
                #expect(try replica.conflicts().isEmpty)
            }
            // And it keeps working under its new id.
            try a.write([.init(.case("YQ-A9"), FieldKey("title"), .text("later"))])
            _ = try await SyncEndToEndTests.sync(a, hub)
            #expect(try storage.replica.view(.case("YQ-A9"))?.value("title") == .text("later"))
        }
    }
}
