/// An error whose message a person reads, given in English (``message``) and in Simplified
/// Chinese (``chinese``). The CLI and the console show the one their user's language asks for.
public protocol BilingualError: Error {
    /// What happened and what to do next, in English.
    var message: String { get }
    /// The same in Simplified Chinese.
    var chinese: String { get }
}
