import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import YuqingCore
import YuqingHub
import YuqingReplica
@testable import YuqingSync
import YuqingTestSupport
import YuqingWire

/// Evidence bytes go node → hub → node apart from the changes, in chunks, resuming where an
/// interrupted transfer stopped, and complete only when the SHA-256 checks out.
@Suite struct EvidenceTransferTests {
    static func withLiveHub(_ body: @Sendable (String, TempDir, BlobStore) async throws -> Void) async throws {
        let files = try TempDir()
        let storage = try SQLiteHubStorage(path: files.path("hub.sqlite"), schema: .sample)
        let blobs = BlobStore(replicaPath: files.path("hub.sqlite"))
        let config = HubConfiguration(port: 0, enforceCaseRules: false, blobs: blobs, maxEvidenceBytes: 1 << 20)
        try await buildHubApplication(configuration: config, storage: storage).test(.live) { client in
            try await body("http://127.0.0.1:\(try #require(client.port))", files, blobs)
        }
    }

    /// 300 KB of bytes that do not compress into something trivial.
    static func screenshot(seed: UInt64) -> Data {
        var rng = SeededRandom(seed: seed)
        return Data((0..<300_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
    }

    @Test func anInterruptedTransferResumesAndTheBytesArriveWhole() async throws {
        try await Self.withLiveHub { hub, files, hubBlobs in
            let client = try HubClient(hubURL: hub)
            let a = BlobStore(replicaPath: files.path("a.sqlite")), b = BlobStore(replicaPath: files.path("b.sqlite"))
            let bytes = Self.screenshot(seed: 1)
            let sha = try a.put(bytes)
            let transfer = EvidenceTransfer(client: client, store: a, chunk: 64 * 1024)

            // Interrupted after two chunks: the hub holds part of it, not the blob.
            var report = try await transfer.run([sha], maxChunks: 2)
            #expect(report.sent == 0 && report.bytes == 128 * 1024)
            var status = try await client.blobStatus(sha)
            #expect(!status.complete && status.held == 128 * 1024)
            #expect(!hubBlobs.has(sha))
            // Node B asks for it meanwhile: not available yet, and nothing breaks.
            report = try await EvidenceTransfer(client: client, store: b).run([sha])
            #expect(report.unavailable == 1 && !b.has(sha))

            // Resumed: only the rest is sent.
            report = try await transfer.run([sha])
            #expect(report.sent == 1 && report.bytes == Int64(bytes.count) - 128 * 1024)
            status = try await client.blobStatus(sha)
            #expect(status.complete && status.held == Int64(bytes.count))

            // B receives it in chunks, interrupted once, then whole.
            let receive = EvidenceTransfer(client: client, store: b, chunk: 100_000)
            report = try await receive.run([sha], maxChunks: 1)
            #expect(report.received == 0 && b.partialSize(sha) == 100_000)
            report = try await receive.run([sha])
            #expect(report.received == 1)
            #expect(try Data(contentsOf: URL(fileURLWithPath: b.path(sha))) == bytes)
            // Nothing more moves on the next run.
            report = try await transfer.run([sha])
            #expect(report.sent == 0 && report.bytes == 0)
        }
    }

    @Test func wrongBytesAreDroppedAndBadRequestsRefused() async throws {
        try await Self.withLiveHub { hub, _, hubBlobs in
            let client = try HubClient(hubURL: hub)
            let bytes = Self.screenshot(seed: 2)
            let sha = BlobStore.digest(of: bytes)
            var tampered = bytes
            tampered[10] ^= 0xFF
            await #expect(throws: SyncError.self) { _ = try await client.putBlob(sha, total: Int64(bytes.count), offset: 0, tampered) }
            #expect(!hubBlobs.has(sha) && hubBlobs.partialSize(sha) == 0)
            // A chunk that does not start where the held part ends.
            _ = try await client.putBlob(sha, total: Int64(bytes.count), offset: 0, bytes.prefix(1000))
            do {
                _ = try await client.putBlob(sha, total: Int64(bytes.count), offset: 5000, bytes.dropFirst(5000).prefix(10))
                Issue.record("a gap was accepted")
            } catch let error as SyncError {
                #expect(error.problem?.code == "offset_mismatch" && error.message.contains("1000 bytes"))
            }
            // Over the hub's limit, and not a digest.
            do { _ = try await client.putBlob(sha, total: 2 << 20, offset: 0, Data([1])); Issue.record("too large accepted") } catch let error as SyncError {
                #expect(error.problem?.code == "too_large")
            }
            do { _ = try await client.blobStatus("not-a-digest"); Issue.record("bad digest accepted") } catch let error as SyncError {
                #expect(error.problem?.code == "bad_request")
            }
        }
    }
}

extension EvidenceTransferTests {
    @Test func twoUploadsOfOneFileAtOnceLeaveItWhole() async throws {
        let files = try TempDir()
        let store = BlobStore(replicaPath: files.path("hub.sqlite"))
        let bytes = Self.screenshot(seed: 3)
        let sha = BlobStore.digest(of: bytes)
        let half = bytes.count / 2
        // Two senders race with the same chunks, as two units holding one screenshot would.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    for (offset, part) in [(0, bytes.prefix(half)), (half, bytes.suffix(from: half))] {
                        _ = try? store.append(sha, total: Int64(bytes.count), offset: Int64(offset), Data(part))
                    }
                }
            }
        }
        #expect(store.has(sha))
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.path(sha))) == bytes)
    }

    @Test func aHubOfCasesTakesOnlyFilesACaseNames() async throws {
        let files = try TempDir()
        let storage = try SQLiteHubStorage(path: files.path("hub.sqlite"), schema: .sample)
        let config = HubConfiguration(port: 0, enforceCaseRules: false, blobs: BlobStore(replicaPath: files.path("hub.sqlite")),
                                      evidenceField: ("case", "notes"))
        try await buildHubApplication(configuration: config, storage: storage).test(.live) { client in
            let hub = try HubClient(hubURL: "http://127.0.0.1:\(try #require(client.port))")
            let bytes = Self.screenshot(seed: 4)
            let sha = BlobStore.digest(of: bytes)
            do { _ = try await hub.putBlob(sha, total: Int64(bytes.count), offset: 0, bytes); Issue.record("an unnamed file was taken") } catch let error as SyncError {
                #expect(error.problem?.code == "not_referenced")
            }
            var node = ReplicaState(id: ReplicaID("n"), schema: .sample)
            let named = node.write(.case("c1"), FieldKey("notes", element: sha), .text("screenshot"), author: "a", physicalMillis: UInt64(Date().timeIntervalSince1970 * 1000))
            _ = try await storage.ingest([named], from: ReplicaID("n"))
            #expect(try await hub.putBlob(sha, total: Int64(bytes.count), offset: 0, bytes).complete)
        }
    }
}
