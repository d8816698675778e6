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
                throw HubError(.contentTooLarge, "too_large", "evidence of \(total) bytes; the hub keeps files of 1 to \(configuration.maxEvidenceBytes) bytes",
                               zh: "证据文件大小为 \(total) 字节；中心只保存 1 至 \(configuration.maxEvidenceBytes) 字节的文件")
            }
            if let named = configuration.evidenceField, !store.has(sha),
               try await !storage.holds(kind: named.kind, field: named.field, element: sha) {
                throw HubError(.conflict, "not_referenced", "no case names evidence \(sha.prefix(12))…; sync the changes that add it first, then the file",
                               zh: "没有案件引用证据 \(sha.prefix(12))…；请先同步添加该证据的变更，再传送文件")
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
                case .offsetMismatch: throw HubError(.conflict, "offset_mismatch", error.message, zh: error.chinese)
                case .digestMismatch: throw HubError(.unprocessableContent, "digest_mismatch", error.message, zh: error.chinese)
                case .tooLong: throw HubError.badRequest(error.message, zh: error.chinese)
                default: throw HubError(.serviceUnavailable, "storage", error.message, zh: error.chinese)
                }
            }
        }
        router.get("/v1/blobs/{sha}") { request, context in
            var request = request
            _ = try await authenticate(&request, context)
            let (store, sha) = try blob(context)
            guard let size = store.size(sha) else {
                throw HubError(.notFound, "not_found", "the hub does not hold evidence \(sha.prefix(12))… (yet): the node that took it sends it at its next sync",
                               zh: "中心（尚）未保存证据 \(sha.prefix(12))…：取证的节点会在下次同步时发送")
            }
            let offset = try Self.nonNegative(request.uri.queryParameters.get("offset"), name: "offset", absent: 0)
            let length = min(Int(try Self.nonNegative(request.uri.queryParameters.get("length"), name: "length", absent: 1 << 20)), 4 << 20)
            guard offset <= size else { throw HubError.badRequest("offset \(offset) is past the end (\(size) bytes)", zh: "偏移量 \(offset) 超出文件末尾（文件共 \(size) 字节）") }
            let data = try store.read(sha, offset: offset, length: length)
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    private func blob(_ context: HubRequestContext) throws -> (BlobStore, String) {
        guard let store = configuration.blobs else { throw HubError(.notFound, "not_found", "this hub keeps no evidence files", zh: "本中心不保存证据文件") }
        let sha = try context.parameters.require("sha")
        guard BlobStore.isDigest(sha) else {
            throw HubError.badRequest("'\(sha.prefix(80))' is not a SHA-256 digest (64 lowercase hex digits)",
                                      zh: "“\(sha.prefix(80))”不是 SHA-256 摘要（须为 64 位小写十六进制数字）")
        }
        return (store, sha)
    }
}
