import Hummingbird
import NIOCore

/// The request context of the hub's routes: Hummingbird's basic context, plus the connection,
/// so that a request that stalls can have its connection closed.
struct HubRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Closes the connection shortly after the response now being written has gone out.
    func closeAfterResponse() {
        let channel = self.channel
        channel.eventLoop.scheduleTask(in: .milliseconds(200)) { channel.close(promise: nil) }
    }
}
