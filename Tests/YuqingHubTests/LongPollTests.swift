import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import YuqingCore
import YuqingTestSupport
@testable import YuqingHub
import YuqingWire

/// `GET /v1/wait`: answered when the log grows, or with the current head when the time is up.
@Suite struct LongPollTests {
    @Test func aWaiterIsWokenByAPushAndByAResolution() async throws {
        try await HubAPITests.withHub { client, storage in
            let clock = ContinuousClock()
            let started = clock.now
            async let woken = client.execute(uri: "/v1/wait?after=0&timeout=50", method: .get) { response in
                #expect(response.status == .ok)
                return try HubAPITests.decode(WaitResponse.self, response)
            }
            try await Task.sleep(for: .milliseconds(500))
            var a = ReplicaState(id: ReplicaID("a"), schema: .sample), b = ReplicaState(id: ReplicaID("b"), schema: .sample)
            let changes = [a.write(.case("c1"), FieldKey("summary"), .text("A"), author: "A", physicalMillis: 1),
                           b.write(.case("c1"), FieldKey("summary"), .text("B"), author: "B", physicalMillis: 2)]
            try await client.execute(uri: "/v1/push", method: .post,
                                     body: try HubAPITests.json(PushRequest(replica: ReplicaID("a"), changes: changes)))
            let answer = try await woken
            #expect(answer.head == 2)
            #expect(answer.hub == storage.hubID)
            #expect(clock.now - started < .seconds(40), "woken by the push, not by the end of its wait")

            // The operator's resolution wakes waiters too.
            async let resolved = client.execute(uri: "/v1/wait?after=2&timeout=50", method: .get) {
                try HubAPITests.decode(WaitResponse.self, $0)
            }
            try await Task.sleep(for: .milliseconds(500))
            let conflict = try #require(try await storage.conflicts().first)
            try await client.execute(uri: "/v1/conflicts/\(conflict.id)/resolve", method: .post,
                                     body: try HubAPITests.json(ResolveRequest(value: .text("agreed"), resolvedBy: "op"))) {
                #expect($0.status == .ok)
            }
            #expect(try await resolved.head == 3)
            #expect(clock.now - started < .seconds(80))
        }
    }

    @Test func aWaitEndsWithTheCurrentHeadWhenNothingHappens() async throws {
        try await HubAPITests.withHub { client, _ in
            try await client.execute(uri: "/v1/push", method: .post,
                                     body: try HubAPITests.json(PushRequest(replica: ReplicaID("n1"), changes: HubAPITests.changes("n1", count: 4))))
            let clock = ContinuousClock()
            let started = clock.now
            let answer = try await client.execute(uri: "/v1/wait?after=4&timeout=0.5", method: .get) { response in
                #expect(response.status == .ok)
                return try HubAPITests.decode(WaitResponse.self, response)
            }
            #expect(answer.head == 4)
            #expect(clock.now - started >= .milliseconds(450), "it waited for its time before answering")
            // Already past: answered at once, whatever the timeout (longer ones are shortened to 60 s).
            for uri in ["/v1/wait?after=1&timeout=1000", "/v1/wait?after=3", "/v1/wait?timeout=0"] {
                let past = try await client.execute(uri: uri, method: .get) { try HubAPITests.decode(WaitResponse.self, $0) }
                #expect(past.head == 4, "\(uri)")
            }
        }
    }

    @Test(arguments: ["after=-1", "after=x", "after=1&timeout=-1", "after=1&timeout=soon", "after=1&timeout=nan", "after=1&timeout=inf"])
    func badParametersAreRefused(query: String) async throws {
        try await HubAPITests.withHub { client, _ in
            try await client.execute(uri: "/v1/wait?\(query)", method: .get) { response in
                #expect(response.status == .badRequest)
                let problem = try HubAPITests.decode(Problem.self, response)
                #expect(problem.code == "bad_request")
                #expect(problem.message.contains("after") || problem.message.contains("timeout"))
            }
        }
    }

    /// Every waiter is resumed exactly once, by whatever comes first, and none is left behind.
    @Test(.timeLimit(.minutes(1))) func theWatchLeavesNoWaiterBehind() async throws {
        let watch = LogWatch()
        let seen = await watch.generation
        // Timed out.
        await watch.wait(since: seen, timeout: .milliseconds(50))
        #expect(await watch.waiterCount == 0)
        // Cancelled.
        let cancelled = Task { await watch.wait(since: seen, timeout: .seconds(600)) }
        while await watch.waiterCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        cancelled.cancel()
        await cancelled.value
        #expect(await watch.waiterCount == 0)
        // Notified: every waiter at once.
        let waiters = (0..<5).map { _ in Task { await watch.wait(since: seen, timeout: .seconds(600)) } }
        while await watch.waiterCount < 5 { try await Task.sleep(for: .milliseconds(5)) }
        await watch.notify()
        for w in waiters { await w.value }
        #expect(await watch.waiterCount == 0)
        // A stale generation does not wait at all; neither does a closed watch.
        await watch.wait(since: seen, timeout: .seconds(600))
        await watch.close()
        await watch.wait(since: await watch.generation, timeout: .seconds(600))
        #expect(await watch.waiterCount == 0)
    }
}
