import Foundation
import Testing
@testable import YuqingCore
@testable import YuqingHub
import YuqingReplica
import YuqingTestSupport

/// The hub's writer thread (``GroupCommit``) stays for the next push a while, and every push is
/// applied and answered whether it finds the thread busy, waiting, or gone.
@Suite struct GroupCommitTests {
    /// A push of `count` new titles by `writer`.
    static func push(_ writer: inout ReplicaState, _ count: Int, at: UInt64) -> Replica.Push {
        let changes = (0..<count).map { i in
            writer.write(.case("YQ-\(writer.id.rawValue)-\(at)-\(i)"), FieldKey("title"), .text("标题 \(at) \(i)"), author: "w", physicalMillis: at)
        }
        return Replica.Push(changes: changes, sender: writer.id, waitingLimits: WaitingLimits(), seals: [], verdict: nil)
    }

    @Test(.timeLimit(.minutes(1))) func oneThreadServesPushesThatComeWhileItWaitsAndANewOneStartsAfter() async throws {
        let dir = try TempDir()
        let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: .sample)
        let commits = GroupCommit(replica: hub, idleWait: .milliseconds(300))
        var writer = ReplicaState(id: ReplicaID("a"), schema: .sample)
        var applied = 0
        for step in 0..<5 {
            applied += try await commits.apply(Self.push(&writer, 3, at: UInt64(step + 1))).applied
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(applied == 15)
        #expect(commits.threadsStarted == 1, "pushes 20 ms apart, the thread waits 300 ms")
        try await Task.sleep(for: .milliseconds(700))
        applied += try await commits.apply(Self.push(&writer, 3, at: 10)).applied
        #expect(commits.threadsStarted == 2, "the first thread ended once no push came for 300 ms")
        #expect(applied == 18)
        #expect(try hub.logCount() == 18)
    }

    /// Pushes from many tasks, some landing as the thread's wait ends: every one is answered and
    /// applied once.
    @Test(.timeLimit(.minutes(1))) func pushesAroundTheEndOfTheWaitAreAllAnswered() async throws {
        let dir = try TempDir()
        let hub = try Replica.create(at: dir.path("hub.sqlite"), role: .hub, unit: "hub", schema: .sample)
        let commits = GroupCommit(replica: hub, idleWait: .milliseconds(5))
        let applied = try await withThrowingTaskGroup(of: Int.self) { group in
            for k in 0..<4 {
                group.addTask {
                    var writer = ReplicaState(id: ReplicaID("w\(k)"), schema: .sample)
                    var n = 0
                    for step in 0..<12 {
                        n += try await commits.apply(Self.push(&writer, 2, at: UInt64(step + 1))).applied
                        // Around the wait's 5 ms: before it ends, as it ends, after.
                        try await Task.sleep(for: .microseconds(Int.random(in: 0...9_000)))
                    }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(applied == 4 * 12 * 2)
        #expect(try hub.logCount() == 4 * 12 * 2)
    }
}
