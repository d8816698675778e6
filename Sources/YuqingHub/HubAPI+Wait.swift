import Foundation
import Hummingbird
import ServiceLifecycle
import YuqingWire

/// `GET /v1/wait?after=P&timeout=S` (`Protocol/sync.md` §5.7): a long poll that answers as soon as
/// the hub's log head passes P, or after S seconds, so a node hears of new changes at once
/// without asking again and again.
extension HubAPI {
    /// Seconds a wait lasts when the request does not say.
    static var defaultWaitSeconds: Double { 25 }
    /// The longest wait the hub grants; longer requests are shortened to it.
    static var maxWaitSeconds: Double { 60 }

    func registerWait(on router: Router<HubRequestContext>) {
        router.get("/v1/wait") { request, context in
            var request = request
            _ = try await authenticate(&request, context)
            return try await wait(request)
        }
    }

    func wait(_ request: Request) async throws -> Response {
        let q = request.uri.queryParameters
        let after = try Self.logPosition(q.get("after"), name: "after")
        let seconds = try q.get("timeout").map { s -> Double in
            guard let t = Double(s), t.isFinite, t >= 0 else {
                throw HubError.badRequest("'timeout' must be a number of seconds >= 0 (at most \(Int(Self.maxWaitSeconds)) are granted)",
                                          zh: "`timeout` 须为大于或等于 0 的秒数（最多准许 \(Int(Self.maxWaitSeconds)) 秒）")
            }
            return min(t, Self.maxWaitSeconds)
        } ?? Self.defaultWaitSeconds
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(seconds * 1000))
        let watch = self.watch
        // A hub shutting down answers its waiters at once rather than holding the shutdown up.
        let head = try await withGracefulShutdownHandler {
            while true {
                // The generation first, then the head: a change committed in between moves the
                // generation, and the wait below returns at once.
                let seen = await watch.generation
                let head = try await storage.head()
                let left = clock.now.duration(to: deadline)
                if head > after || left <= .zero || Task.isCancelled { return head }
                if await watch.isClosed { return head }
                await watch.wait(since: seen, timeout: left)
            }
        } onGracefulShutdown: {
            Task { await watch.close() }
        }
        return try json(WaitResponse(hub: storage.hubID, head: head, hubTime: Self.now))
    }
}
