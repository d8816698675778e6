import Foundation
import GRDB
import Logging
import Testing
@testable import YuqingCore
@testable import YuqingReplica
import YuqingTestSupport

@Suite struct CheckpointTests {
    /// Writes `count` new cases of two fields each.
    func writeCases(_ r: Replica, batch: Int, count: Int) throws {
        let writes = (0..<count).flatMap { i in
            [Replica.Write(.case("YQ-\(batch)-\(i)"), FieldKey("title"), .text("标题 \(batch) \(i) " + String(repeating: "舆", count: 40))),
             Replica.Write(.case("YQ-\(batch)-\(i)"), FieldKey("level"), .text("III"))]
        }
        _ = try r.write(writes)
    }

    @Test func backgroundCheckpointerCopiesTheWALAndTheWALIsReused() async throws {
        let dir = try TempDir()
        let path = dir.path("hub.sqlite")
        let r = try Replica.create(at: path, role: .node, unit: "Township A", schema: .sample)
        let checkpointer = try r.checkpointInBackground(logger: Logger(label: "test"))
        var walSizes: [Int] = []
        for batch in 0..<6 {
            // 8,000 new cases: about 1,200 pages of the WAL, past the threshold that wakes the checkpointer.
            try writeCases(r, batch: batch, count: 8_000)
            let deadline = ContinuousClock.now + .seconds(10)
            while checkpointer.checkpoints <= batch, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            walSizes.append(try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as! Int)
        }
        #expect(checkpointer.checkpoints >= 6, "every batch's commit woke the checkpointer")
        // Checkpointed in the background, the WAL is rewritten from its start rather than grown:
        // six batches of the same size leave it about one batch long, not six.
        #expect(walSizes.max()! < 2 * walSizes.first!, "WAL sizes \(walSizes)")
        let digest = try r.digest()
        checkpointer.stop()
        let reopened = try Replica.open(at: path, schema: .sample)
        #expect(try reopened.digest() == digest)
        #expect(try reopened.logCount() == 6 * 16_000)
    }
}
