import GRDB

/// An error from a replica file, with a stable code and a message that says what to do next.
public struct ReplicaError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case notInitialised, alreadyInitialised, invalidWrite, notFound, corrupt, storage
        /// Two different changes under one dot: a replica restored from a backup or copied, or
        /// another program writing under this replica's id.
        case dotReused
        /// The file is another program's, not a replica; it was left unchanged.
        case notAReplica
        /// Too many changes from one replica wait for changes never received.
        case tooManyWaiting
        /// A change made under the id of the replica that receives it.
        case foreignOwnDot
        /// Received changes that their devices' seals do not cover: altered or forged on the way.
        case unsealed
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }

    /// Wraps a database error in a message a user can act on.
    static func storage(_ error: any Error, path: String) -> ReplicaError {
        if let e = error as? ReplicaError { return e }
        if let db = error as? DatabaseError {
            switch db.resultCode.primaryResultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return ReplicaError(.storage, "the replica \(path) is busy (another yuqing process is writing it); try again", cause: db)
            case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN:
                if let culprit = ReplicaFile.unwritablePart(of: path) {
                    let hint = culprit == path ? "" : " (SQLite keeps it beside the replica; it was made when the replica was read-only)"
                    return ReplicaError(.storage, "cannot write \(culprit): this user may not write it\(hint). Make it writable (chmod u+w \(culprit)), or use a read-only command", cause: db)
                }
                return ReplicaError(.storage, "cannot write \(path): check the file's permissions and free disk space", cause: db)
            case .SQLITE_FULL:
                return ReplicaError(.storage, "the disk holding \(path) is full: free some space; nothing was written", cause: db)
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return ReplicaError(.corrupt, "\(path) is not a readable Yuqing replica (damaged or another kind of file)", cause: db)
            default: break
            }
        }
        return ReplicaError(.storage, "storage error on \(path): \(error)", cause: error)
    }
}
