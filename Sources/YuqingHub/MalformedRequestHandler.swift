import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import YuqingWire

/// Answers a request that HTTP cannot parse (a request line or headers over the limits, or not
/// HTTP at all) with 400 and the protocol's JSON problem body, then closes the connection.
/// (Without it the server would answer 400 with an empty body.)
final class MalformedRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var answered = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else { return context.fireErrorCaught(error) }
        guard !answered else { return }
        answered = true
        let problem = Problem(code: "bad_request", message: "the request is not valid HTTP or is too large (request line and headers are limited to 80 KiB): \(error)",
                              messageZh: "请求不是有效的 HTTP 请求，或者过大（请求行和请求头限 80 KiB）：\(error)")
        let body = (try? WireJSON.encode(problem)) ?? Data()
        let head = HTTPResponse(status: .badRequest, headerFields: [
            .contentType: "application/json", .contentLength: String(body.count), .connection: "close",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
