import Foundation
import Hummingbird
import YuqingReplica
import YuqingSecurity
import YuqingWire

/// An error answered to a client: an HTTP status and a JSON ``YuqingWire/Problem`` body.
struct HubError: HTTPResponseError {
    var status: HTTPResponse.Status
    var problem: Problem

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, rule: String? = nil, dot: String? = nil) {
        self.status = status
        self.problem = Problem(code: code, message: message, rule: rule, dot: dot)
    }

    static func badRequest(_ message: String) -> HubError { HubError(.badRequest, "bad_request", message) }

    /// Maps any error from storage to what the client is told, once, here at the edge.
    static func from(_ error: any Error) -> HubError {
        switch error {
        case let e as HubError: return e
        case let e as ReplicaError:
            switch e.code {
            case .notFound: return HubError(.notFound, "not_found", e.message)
            case .invalidWrite: return HubError(.badRequest, "bad_request", e.message)
            case .dotReused: return HubError(.conflict, "dot_reused", e.message)
            case .foreignOwnDot: return HubError(.forbidden, "forbidden", e.message)
            case .tooManyWaiting: return HubError(.tooManyRequests, "too_many_waiting", e.message)
            default: return HubError(.serviceUnavailable, "storage", "the hub could not store or read data (\(e.message)); retry later")
            }
        case is DecodingError: return badRequest("the request body is not a valid message for this endpoint: \(error)")
        case let e as SecurityError: return badRequest(e.message)
        default: return HubError(.internalServerError, "internal", "unexpected hub error: \(error)")
        }
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = (try? WireJSON.encode(problem)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
