import Foundation
import Hummingbird
import YuqingCore
import YuqingReplica
import YuqingSecurity
import YuqingWire

/// An error answered to a client: an HTTP status and a JSON ``YuqingWire/Problem`` body, its
/// message in English and in Simplified Chinese (`messageZh`).
struct HubError: HTTPResponseError {
    var status: HTTPResponse.Status
    var problem: Problem

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, zh: String, rule: String? = nil, dot: String? = nil) {
        self.status = status
        self.problem = Problem(code: code, message: message, messageZh: zh, rule: rule, dot: dot)
    }

    static func badRequest(_ message: String, zh: String) -> HubError { HubError(.badRequest, "bad_request", message, zh: zh) }

    /// Maps any error from storage to what the client is told, once, here at the edge.
    static func from(_ error: any Error) -> HubError {
        switch error {
        case let e as HubError: return e
        case let e as ReplicaError:
            switch e.code {
            case .notFound: return HubError(.notFound, "not_found", e.message, zh: e.chinese)
            case .invalidWrite: return HubError(.badRequest, "bad_request", e.message, zh: e.chinese)
            case .dotReused: return HubError(.conflict, "dot_reused", e.message, zh: e.chinese)
            case .foreignOwnDot: return HubError(.forbidden, "forbidden", e.message, zh: e.chinese)
            case .tooManyWaiting: return HubError(.tooManyRequests, "too_many_waiting", e.message, zh: e.chinese)
            default: return HubError(.serviceUnavailable, "storage", "the hub could not store or read data (\(e.message)); retry later",
                                     zh: "中心无法存储或读取数据（\(e.chinese)）；请稍后重试")
            }
        case is DecodingError: return badRequest("the request body is not a valid message for this endpoint: \(error)",
                                                 zh: "请求体不是此接口可接受的有效消息：\(error)")
        case let e as SecurityError: return badRequest(e.message, zh: e.chinese)
        default: return HubError(.internalServerError, "internal", "unexpected hub error: \(error)", zh: "中心发生意外错误：\(chineseText(of: error))")
        }
    }

    /// What `error` says in Simplified Chinese when it says it in both languages, else its text.
    static func chineseText(of error: any Error) -> String {
        (error as? any BilingualError)?.chinese ?? "\(error)"
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = (try? WireJSON.encode(problem)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
