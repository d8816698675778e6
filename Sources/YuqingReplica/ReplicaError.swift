import GRDB
import YuqingCore

/// An error from a replica file, with a stable code and a message that says what to do next,
/// in English and in Simplified Chinese.
public struct ReplicaError: BilingualError, CustomStringConvertible, Sendable {
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
    /// The message in Simplified Chinese.
    public var chinese: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, zh chinese: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.chinese = chinese
        self.cause = cause
    }

    public var description: String { message }

    /// The Chinese of another error's message, for an error that passes it on: its ``BilingualError/chinese``
    /// when it has one, else its description.
    static func chineseMessage(of error: any Error) -> String {
        (error as? any BilingualError)?.chinese ?? String(describing: error)
    }

    /// Wraps a database error in a message a user can act on.
    static func storage(_ error: any Error, path: String) -> ReplicaError {
        if let e = error as? ReplicaError { return e }
        if let db = error as? DatabaseError {
            switch db.resultCode.primaryResultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return ReplicaError(.storage, "the replica \(path) is busy (another yuqing process is writing it); try again",
                                    zh: "副本 \(path) 正忙（另一个 yuqing 进程正在写入）；请稍后重试", cause: db)
            case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN:
                if let culprit = ReplicaFile.unwritablePart(of: path) {
                    let hint = culprit == path ? "" : " (SQLite keeps it beside the replica; it was made when the replica was read-only)"
                    let hintZh = culprit == path ? "" : "（SQLite 把它放在副本旁边；它是在副本只读时生成的）"
                    return ReplicaError(.storage, "cannot write \(culprit): this user may not write it\(hint). Make it writable (chmod u+w \(culprit)), or use a read-only command",
                                        zh: "无法写入 \(culprit)：当前用户没有写权限\(hintZh)。请将其改为可写（chmod u+w \(culprit)），或改用只读命令", cause: db)
                }
                return ReplicaError(.storage, "cannot write \(path): check the file's permissions and free disk space",
                                    zh: "无法写入 \(path)：请检查文件权限和磁盘剩余空间", cause: db)
            case .SQLITE_FULL:
                return ReplicaError(.storage, "the disk holding \(path) is full: free some space; nothing was written",
                                    zh: "\(path) 所在的磁盘已满：请释放一些空间；未写入任何内容", cause: db)
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return ReplicaError(.corrupt, "\(path) is not a readable Yuqing replica (damaged or another kind of file)",
                                    zh: "\(path) 不是可读取的 Yuqing 副本（文件已损坏，或是其他类型的文件）", cause: db)
            default: break
            }
        }
        return ReplicaError(.storage, "storage error on \(path): \(error)",
                            zh: "\(path) 存储出错：\(chineseMessage(of: error))", cause: error)
    }
}
