import Foundation
import YuqingReplica
import YuqingWire

/// Moves evidence bytes between a node's blob store and the hub, apart from the changes: a sync
/// sends and receives changes first, then files, so a large file never holds them back. Each
/// transfer goes in chunks and resumes where the other side's held bytes end, after any
/// interruption; a blob is complete only once its SHA-256 checks out.
public struct EvidenceTransfer: Sendable {
    public let client: HubClient
    public let store: BlobStore
    /// Bytes per request.
    public var chunk: Int

    public init(client: HubClient, store: BlobStore, chunk: Int = 1 << 20) {
        self.client = client
        self.store = store
        self.chunk = chunk
    }

    /// What a transfer did.
    public struct Report: Sendable, Hashable {
        public var sent = 0
        public var received = 0
        public var bytes: Int64 = 0
        /// Referenced blobs neither here nor at the hub yet (their node has not sent them).
        public var unavailable = 0
        /// Blobs whose transfer failed this time (the others went on); they resume next time.
        public var failed: [String: String] = [:]
    }

    /// Moves the blobs that the records of `kind` name in `field` (keyed by digest).
    public func run(namedBy replica: Replica, kind: String, field: String) async throws -> Report {
        try await run(try replica.elements(kind: kind, field: field))
    }

    /// Sends the blobs of `digests` this node holds and the hub does not, then fetches those the
    /// hub holds and this node does not. `maxChunks` bounds the requests (for tests that stop a
    /// transfer half way).
    public func run(_ digests: [String], maxChunks: Int = .max) async throws -> Report {
        var report = Report()
        var chunks = 0
        let sentMarks = store.directory + "/sent"
        for sha in Set(digests).sorted() where BlobStore.isDigest(sha) {
            do {
                if let size = store.size(sha) {
                    guard !FileManager.default.fileExists(atPath: sentMarks + "/" + sha) else { continue }
                    var status = try await client.blobStatus(sha)
                    while !status.complete {
                        guard chunks < maxChunks else { return report }
                        let bytes = try store.read(sha, offset: status.held, length: chunk)
                        status = try await client.putBlob(sha, total: size, offset: status.held, bytes)
                        chunks += 1
                        report.bytes += Int64(bytes.count)
                    }
                    try FileManager.default.createDirectory(atPath: sentMarks, withIntermediateDirectories: true)
                    _ = FileManager.default.createFile(atPath: sentMarks + "/" + sha, contents: nil)
                    report.sent += 1
                } else {
                    let status = try await client.blobStatus(sha)
                    guard status.complete else { report.unavailable += 1; continue }
                    var held = store.partialSize(sha)
                    while held < status.held {
                        guard chunks < maxChunks else { return report }
                        let bytes = try await client.getBlob(sha, offset: held, length: chunk)
                        guard !bytes.isEmpty else { break }
                        chunks += 1
                        report.bytes += Int64(bytes.count)
                        switch try store.append(sha, total: status.held, offset: held, bytes) {
                        case .complete: held = status.held
                        case .partial(let n): held = n
                        }
                    }
                    if store.has(sha) {
                        report.received += 1
                        // It came from the hub: nothing to send back.
                        try FileManager.default.createDirectory(atPath: sentMarks, withIntermediateDirectories: true)
                        _ = FileManager.default.createFile(atPath: sentMarks + "/" + sha, contents: nil)
                    }
                }
            } catch let error as SyncError where error.code == .hubUnreachable {
                throw error  // nothing else will get through either
            } catch {
                // One file's trouble (refused, changed meanwhile) does not stop the others.
                report.failed[sha] = "\(error)"
            }
        }
        return report
    }
}
