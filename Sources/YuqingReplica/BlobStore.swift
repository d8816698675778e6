import Foundation
import YuqingCore

/// Content-addressed files beside a replica (`REPLICA.blobs/`): evidence bytes, kept outside the
/// change rows so merging stays fast. A blob is named by the SHA-256 of its bytes and never
/// overwritten; one being received grows in `partial/` until its digest checks out.
public struct BlobStore: Sendable {
    public let directory: String

    /// The store of the replica file at `replicaPath`.
    public init(replicaPath: String) { directory = replicaPath + ".blobs" }

    var partialDirectory: String { directory + "/partial" }

    public func path(_ digest: String) -> String { directory + "/" + digest }
    func partialPath(_ digest: String) -> String { partialDirectory + "/" + digest }

    /// True for a blob's name: a SHA-256 digest in lowercase hex.
    public static func isDigest(_ s: String) -> Bool { SHA256.isHexDigest(s) }

    public static func digest(of data: Data) -> String {
        var h = SHA256()
        h.update([UInt8](data))
        return h.finalizeHex()
    }

    public func has(_ digest: String) -> Bool { FileManager.default.fileExists(atPath: path(digest)) }

    /// Deletes a file (and any partial download of it), when there is one.
    public func remove(_ digest: String) {
        guard Self.isDigest(digest) else { return }
        try? FileManager.default.removeItem(atPath: path(digest))
        try? FileManager.default.removeItem(atPath: partialPath(digest))
    }

    /// The size of a complete blob, or nil.
    public func size(_ digest: String) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: path(digest))[.size] as? NSNumber)?.int64Value
    }

    /// How many bytes of a blob being received are held (0 when none).
    public func partialSize(_ digest: String) -> Int64 {
        (try? FileManager.default.attributesOfItem(atPath: partialPath(digest))[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Stores whole bytes under their digest (nothing happens when the blob exists). Returns the digest.
    @discardableResult
    public func put(_ data: Data) throws -> String {
        let digest = Self.digest(of: data)
        guard !has(digest) else { return digest }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path(digest)), options: .atomic)
        return digest
    }

    /// `length` bytes of a complete blob from `offset`.
    public func read(_ digest: String, offset: Int64, length: Int) throws -> Data {
        guard let handle = FileHandle(forReadingAtPath: path(digest)) else {
            throw ReplicaError(.notFound, "no evidence \(digest.prefix(12))… here", zh: "本地没有证据文件 \(digest.prefix(12))…")
        }
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        return try handle.read(upToCount: length) ?? Data()
    }

    /// What became of bytes appended to a blob being received.
    public enum Append: Equatable, Sendable {
        /// Held so far (less than the total).
        case partial(Int64)
        /// Complete, and its digest checked out.
        case complete
    }

    /// Appends bytes starting at `offset` to the blob `digest` of `total` bytes being received.
    /// `offset` must be what is held (a resumed transfer asks first); once `total` bytes are
    /// held, the digest is checked and the blob becomes complete, or the partial bytes are
    /// dropped and the error says so.
    public func append(_ digest: String, total: Int64, offset: Int64, _ data: Data) throws -> Append {
        // One append per blob at a time, in this process (two units may send the same file at once).
        let lock = BlobLocks.shared.lock(directory + "/" + digest)
        lock.lock()
        defer { lock.unlock() }
        if has(digest) { return .complete }
        var held = partialSize(digest)
        if held > total {
            // Left by an earlier transfer that announced another size: start again.
            try? FileManager.default.removeItem(atPath: partialPath(digest))
            held = 0
        }
        guard offset == held else {
            throw BlobError(.offsetMismatch, "\(held) bytes of \(digest.prefix(12))… are held; send from there",
                            zh: "证据文件 \(digest.prefix(12))… 已保存 \(held) 字节；请从该处接着发送", held: held)
        }
        guard held + Int64(data.count) <= total else {
            throw BlobError(.tooLong, "more bytes than the \(total) announced for \(digest.prefix(12))…",
                            zh: "收到的字节多于证据文件 \(digest.prefix(12))… 声明的 \(total) 字节", held: held)
        }
        try FileManager.default.createDirectory(atPath: partialDirectory, withIntermediateDirectories: true)
        let p = partialPath(digest)
        if !FileManager.default.fileExists(atPath: p) { _ = FileManager.default.createFile(atPath: p, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: p) else { throw BlobError(.io, "cannot write \(p)", zh: "无法写入 \(p)", held: held) }
        try handle.seek(toOffset: UInt64(held))
        try handle.truncate(atOffset: UInt64(held))
        try handle.write(contentsOf: data)
        try handle.synchronize()
        try handle.close()
        let now = held + Int64(data.count)
        guard now == total else { return .partial(now) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: p))
        guard Self.digest(of: bytes) == digest else {
            try? FileManager.default.removeItem(atPath: p)
            throw BlobError(.digestMismatch, "the bytes received for \(digest.prefix(12))… have another SHA-256; they were dropped, send them again",
                            zh: "收到的证据文件 \(digest.prefix(12))… 的字节与其 SHA-256 不符；已丢弃，请重新发送", held: 0)
        }
        try FileManager.default.moveItem(atPath: p, toPath: path(digest))
        return .complete
    }
}

/// Locks by blob path, shared by every store in the process.
final class BlobLocks: @unchecked Sendable {
    static let shared = BlobLocks()
    private let guardLock = NSLock()
    private var locks: [String: NSLock] = [:]

    func lock(_ key: String) -> NSLock {
        guardLock.withLock {
            if let l = locks[key] { return l }
            let l = NSLock()
            locks[key] = l
            return l
        }
    }
}

/// A blob transfer that cannot go on as asked, said in English and in Simplified Chinese.
public struct BlobError: BilingualError, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        let name: String
        /// The bytes do not start where the held part ends.
        public static let offsetMismatch = Code(name: "offset_mismatch")
        public static let tooLong = Code(name: "too_long")
        public static let digestMismatch = Code(name: "digest_mismatch")
        public static let io = Code(name: "io")
    }

    public var code: Code
    public var message: String
    /// The message in Simplified Chinese.
    public var chinese: String
    /// Bytes held after the refusal.
    public var held: Int64

    public init(_ code: Code, _ message: String, zh chinese: String, held: Int64) {
        self.code = code
        self.message = message
        self.chinese = chinese
        self.held = held
    }

    public var description: String { message }
}
