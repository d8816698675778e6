import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingTestSupport
import YuqingWire

/// What the people who run the hub look at: liveness, readiness and metrics.
@Suite struct OperationsTests {
    @Test func healthReadinessAndMetricsFollowWhatTheHubDoes() async throws {
        try await HostileInputTests.withHub { client, storage in
            #expect(try await client.execute(uri: "/health", method: .get) { ($0.status, String(buffer: $0.body)) } == (.ok, "ok\n"))
            #expect(try await client.execute(uri: "/ready", method: .get) { $0.status } == .ok)
            func metric(_ name: String) async throws -> Double? {
                let text = try await client.execute(uri: "/metrics", method: .get) { response in
                    #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                    return String(buffer: response.body)
                }
                return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
            }
            #expect(try await metric("yuqing_hub_log_head") == 0)
            // Two concurrent titles (a conflict of the sample schema's flagged field), one push
            // refused, one change waiting for a change never sent, then a pull.
            let a = HostileInputTests.change("node-a", 1, field: "summary", value: .text("甲"))
            let b = HostileInputTests.change("node-b", 1, field: "summary", value: .text("乙"))
            let waiting = HostileInputTests.change("node-c", 2, field: "title", context: [Dot(replica: ReplicaID("node-x"), counter: 1)])
            for push in [PushRequest(replica: ReplicaID("node-a"), changes: [a]), PushRequest(replica: ReplicaID("node-b"), changes: [b]),
                         PushRequest(replica: ReplicaID("node-c"), changes: [waiting])] {
                let status = try await client.execute(uri: "/v1/push", method: .post, headers: [.contentType: "application/json"],
                                                      body: ByteBuffer(bytes: try WireJSON.encode(push))) { $0.status }
                #expect(status == .ok)
            }
            let refused = try await client.execute(uri: "/v1/push", method: .post, headers: [.contentType: "application/json"],
                                                   body: ByteBuffer(string: "{not json")) { $0.status }
            #expect(refused == .badRequest)
            #expect(try await client.execute(uri: "/v1/pull?after=0", method: .get) { $0.status } == .ok)
            #expect(try await metric("yuqing_hub_pushes_total{outcome=\"accepted\"}") == 3)
            #expect(try await metric("yuqing_hub_pushes_total{outcome=\"refused\"}") == 1)
            #expect(try await metric("yuqing_hub_pushed_changes_total") == 2)
            #expect(try await metric("yuqing_hub_pulls_total") == 1)
            #expect(try await metric("yuqing_hub_pulled_changes_total") == 2)
            #expect(try await metric("yuqing_hub_log_head") == 2)
            #expect(try await metric("yuqing_hub_open_conflicts") == Double(try await storage.openConflictCount()))
            #expect(try await metric("yuqing_hub_waiting_changes") == 1)
            #expect(try await metric("yuqing_hub_push_duration_seconds_count") == 3)
        }
    }
}
