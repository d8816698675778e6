import Hummingbird
import NIOCore

extension HubAPI {
    /// `GET /health` (the process answers), `GET /ready` (its storage answers: a load balancer
    /// sends nodes only to a ready hub) and `GET /metrics` (Prometheus). None needs a signature
    /// and none tells anything of a case (`Protocol/sync.md` §5.10).
    func registerOperations(on router: Router<HubRequestContext>) {
        router.get("/health") { _, _ in Self.text("ok\n") }
        router.get("/ready") { _, _ in
            do {
                _ = try await storage.head()
                return Self.text("ready\n")
            } catch {
                logger.warning("not ready", metadata: ["hub.error": "\(error)"])
                return Self.text("not ready: the hub's storage does not answer\n", status: .serviceUnavailable)
            }
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: try await metrics.scrape(storage))))
        }
    }

    static func text(_ s: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: s)))
    }
}
