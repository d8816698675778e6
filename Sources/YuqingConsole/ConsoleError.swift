import Hummingbird
import YuqingCore

/// What went wrong in the console, in both languages, with the HTTP status it is shown with.
public struct ConsoleError: BilingualError, Hashable, Sendable, CustomStringConvertible {
    /// A stable code: extensible without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// Input a person can correct (shown next to the field).
        public static let input = Code(name: "input")
        /// Not signed in, or the session expired.
        public static let signIn = Code(name: "sign_in")
        /// The user's role may not do this, or may not see this.
        public static let forbidden = Code(name: "forbidden")
        /// No such case, conflict or device (or not one this user may see).
        public static let notFound = Code(name: "not_found")
        /// The page the form came from is out of date (a conflict resolved or changed meanwhile).
        public static let stale = Code(name: "stale")
        /// A form without its anti-forgery token.
        public static let csrf = Code(name: "csrf")
        /// The console's or the hub's storage failed.
        public static let storage = Code(name: "storage")
    }

    public var code: Code
    public var message: String
    public var chinese: String
    /// The underlying error, when there is one.
    public var cause: String?

    public init(_ code: Code, _ message: String, zh chinese: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.chinese = chinese
        self.cause = cause.map { "\($0)" }
    }

    public var description: String { cause.map { "\(message) (\($0))" } ?? message }

    var status: HTTPResponse.Status {
        switch code {
        case .input: .unprocessableContent
        case .signIn: .unauthorized
        case .forbidden, .csrf: .forbidden
        case .notFound: .notFound
        case .stale: .conflict
        default: .internalServerError
        }
    }
}
