import Hummingbird
import NIOCore

/// The request context of the hub's routes: Hummingbird's basic context, plus the connection,
/// so that a request that stalls can have its connection closed. The console's routes take it as
/// their parent context.
package struct HubRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    package let channel: any Channel

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Closes the connection shortly after the response now being written has gone out.
    package func closeAfterResponse() {
        let channel = self.channel
        channel.eventLoop.scheduleTask(in: .milliseconds(200)) { channel.close(promise: nil) }
    }
}
