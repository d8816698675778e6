import Foundation
import Hummingbird
import NIOCore
import YuqingReplica
import YuqingWire

extension HubAPI {
    /// Evidence bytes (`Protocol/workflow.md` §3.4), kept beside the hub's database and moved
    /// apart from the changes, so a large file never holds back a sync: the status of a blob, a
    /// resumable upload from the offset the hub holds, and a download from any offset.
    func registerBlobs(on router: Router<HubRequestContext>) {
        router.get("/v1/blobs/{sha}/status") { request, context in
            var request = request
            _ = try await authenticate(&request, context)
            let (store, sha) = try blob(context)
            if let size = store.size(sha) { return try json(BlobStatus(sha256: sha, complete: true, held: size)) }
            return try json(BlobStatus(sha256: sha, complete: false, held: store.partialSize(sha)))
        }
        router.put("/v1/blobs/{sha}") { request, context in
            var request = request
            _ = try await authenticate(&request, context)
            let (store, sha) = try blob(context)
            let offset = try Self.nonNegative(request.uri.queryParameters.get("offset"), name: "offset")
            let total = try Self.nonNegative(request.uri.queryParameters.get("total"), name: "total")
            guard total > 0, total <= configuration.maxEvidenceBytes else {
                throw HubError(.contentTooLarge, "too_large", "evidence of \(total) bytes; the hub keeps files of 1 to \(configuration.maxEvidenceBytes) bytes")
            }
            if let named = configuration.evidenceField, !store.has(sha),
               try await !storage.holds(kind: named.kind, field: named.field, element: sha) {
                throw HubError(.conflict, "not_referenced", "no case names evidence \(sha.prefix(12))…; sync the changes that add it first, then the file")
            }
            let body = try await collect(request, context)
            do {
                let outcome = try store.append(sha, total: total, offset: offset, Data(buffer: body))
                switch outcome {
                case .complete: return try json(BlobStatus(sha256: sha, complete: true, held: total))
                case .partial(let held): return try json(BlobStatus(sha256: sha, complete: false, held: held))
                }
            } catch let error as BlobError {
                switch error.code {
                case .offsetMismatch: throw HubError(.conflict, "offset_mismatch", error.message)
                case .digestMismatch: throw HubError(.unprocessableContent, "digest_mismatch", error.message)
                case .tooLong: throw HubError.badRequest(error.message)
                default: throw HubError(.serviceUnavailable, "storage", error.message)
                }
            }
        }
        router.get("/v1/blobs/{sha}") { request, context in
            var request = request
            _ = try await authenticate(&request, context)
            let (store, sha) = try blob(context)
            guard let size = store.size(sha) else {
                throw HubError(.notFound, "not_found", "the hub does not hold evidence \(sha.prefix(12))… (yet): the node that took it sends it at its next sync")
            }
            let offset = try Self.nonNegative(request.uri.queryParameters.get("offset"), name: "offset", absent: 0)
            let length = min(Int(try Self.nonNegative(request.uri.queryParameters.get("length"), name: "length", absent: 1 << 20)), 4 << 20)
            guard offset <= size else { throw HubError.badRequest("offset \(offset) is past the end (\(size) bytes)") }
            let data = try store.read(sha, offset: offset, length: length)
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    private func blob(_ context: HubRequestContext) throws -> (BlobStore, String) {
        guard let store = configuration.blobs else { throw HubError(.notFound, "not_found", "this hub keeps no evidence files") }
        let sha = try context.parameters.require("sha")
        guard BlobStore.isDigest(sha) else { throw HubError.badRequest("'\(sha.prefix(80))' is not a SHA-256 digest (64 lowercase hex digits)") }
        return (store, sha)
    }
}
