import Hummingbird
import HummingbirdAuth
import YuqingHub

/// What a signed-in session keeps: who, and the token every form of theirs must carry.
public struct ConsoleSession: Codable, Sendable, Hashable {
    public var user: String
    /// The anti-forgery token of this session's forms.
    public var csrf: String
}

/// The request context of the console's pages: the hub's, with the session.
package struct ConsoleRequestContext: ChildRequestContext, SessionRequestContext {
    package var coreContext: CoreRequestContextStorage
    package let sessions: SessionContext<ConsoleSession>

    package init(context: HubRequestContext) throws {
        coreContext = context.coreContext
        sessions = .init()
    }
}
