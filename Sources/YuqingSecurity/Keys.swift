import Crypto
import Foundation
import YuqingCore

/// What went wrong with a key, a signature or a credential. Extensible: the code says which, the
/// message what to do next (in English and in Simplified Chinese), `cause` what lies beneath (a
/// file error, say).
public struct SecurityError: BilingualError, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        public static let keyFile = Code(name: "key_file")
        public static let badKey = Code(name: "bad_key")
        public static let badSeal = Code(name: "bad_seal")
    }

    public var code: Code
    public var message: String
    /// The message in Simplified Chinese.
    public var chinese: String
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, zh chinese: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.chinese = chinese
        self.cause = cause
    }

    public var description: String { cause.map { "\(message) (\($0))" } ?? message }

    /// ``description`` in Simplified Chinese: ``chinese``, then the cause in parentheses.
    public var chineseDescription: String { cause.map { "\(chinese)（\($0)）" } ?? chinese }
}

/// An Ed25519 public key: 32 bytes, written in base64.
public struct PublicKey: Hashable, Sendable, CustomStringConvertible {
    let key: Curve25519.Signing.PublicKey
    public let base64: String

    public init(base64: String) throws(SecurityError) {
        guard let raw = Data(base64Encoded: base64), raw.count == 32,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            throw SecurityError(.badKey, "'\(base64.prefix(60))' is not an Ed25519 public key (32 bytes in base64)",
                                zh: "“\(base64.prefix(60))”不是 Ed25519 公钥（应为 base64 编码的 32 字节）")
        }
        self.key = key
        self.base64 = raw.base64EncodedString()
    }

    init(_ key: Curve25519.Signing.PublicKey) {
        self.key = key
        base64 = key.rawRepresentation.base64EncodedString()
    }

    public func verify(signature: some DataProtocol, for message: some DataProtocol) -> Bool {
        key.isValidSignature(signature, for: message)
    }

    /// A short fingerprint for people to compare: the first 8 bytes of the key's SHA-256, in hex.
    public var fingerprint: String {
        Crypto.SHA256.hash(data: key.rawRepresentation).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    public var description: String { base64 }
    public static func == (a: PublicKey, b: PublicKey) -> Bool { a.base64 == b.base64 }
    public func hash(into h: inout Hasher) { h.combine(base64) }
}

/// An Ed25519 private key, kept in a file only its owner may read.
public struct SigningKey: Sendable {
    let key: Curve25519.Signing.PrivateKey

    public init() { key = Curve25519.Signing.PrivateKey() }

    public var publicKey: PublicKey { PublicKey(key.publicKey) }

    public func sign(_ message: some DataProtocol) -> Data {
        // Signing with a valid key cannot fail; swift-crypto's API throws for other backends.
        (try? key.signature(for: message)) ?? Data()
    }

    /// The file's text: a header line, then the 32-byte seed in base64.
    static let header = "yuqing ed25519 private key"

    /// Writes a new key file readable and writable by its owner only (mode 0600); refuses to
    /// replace an existing one.
    public static func create(at path: String) throws(SecurityError) -> SigningKey {
        let key = SigningKey()
        let text = "\(header)\n\(key.key.rawRepresentation.base64EncodedString())\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            let e = errno
            if e == EEXIST {
                throw SecurityError(.keyFile, "\(path) already exists; a key is never overwritten (move it away first if it is no longer used)",
                                    zh: "\(path) 已存在；密钥一律不会被覆盖（如果它已不再使用，请先将其移走）")
            }
            throw SecurityError(.keyFile, "cannot create the key file \(path): \(String(cString: strerror(e)))",
                                zh: "无法创建密钥文件 \(path)：\(String(cString: strerror(e)))")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            let e = errno
            unlink(path)
            throw SecurityError(.keyFile, "cannot write the key file \(path): \(String(cString: strerror(e)))",
                                zh: "无法写入密钥文件 \(path)：\(String(cString: strerror(e)))")
        }
        return key
    }

    /// Reads a key file; refuses one that others may read.
    public static func load(from path: String) throws(SecurityError) -> SigningKey {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            throw SecurityError(.keyFile, "no key file at \(path): \(reason)", zh: "\(path) 处没有密钥文件：\(reason)")
        }
        if st.st_mode & 0o077 != 0 {
            throw SecurityError(.keyFile, "\(path) may be read by other users (mode \(String(st.st_mode & 0o777, radix: 8))); make it private with `chmod 600 \(path)`",
                                zh: "\(path) 可被其他用户读取（权限 \(String(st.st_mode & 0o777, radix: 8))）；请用 `chmod 600 \(path)` 将其设为仅本人可读写")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SecurityError(.keyFile, "cannot read the key file \(path)", zh: "无法读取密钥文件 \(path)")
        }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard lines.count >= 2, lines[0] == header, let raw = Data(base64Encoded: lines[1]), raw.count == 32,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            throw SecurityError(.keyFile, "\(path) is not a yuqing key file", zh: "\(path) 不是 yuqing 密钥文件")
        }
        return SigningKey(key: key)
    }

    init(key: Curve25519.Signing.PrivateKey) { self.key = key }

    /// Loads the key at `path`, creating it first when there is none.
    public static func loadOrCreate(at path: String) throws(SecurityError) -> SigningKey {
        if FileManager.default.fileExists(atPath: path) { return try load(from: path) }
        return try create(at: path)
    }
}

/// A random one-time secret (enrolment codes), in a form people can type: groups of base32.
public enum OneTimeCode {
    static let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")

    public static func make() -> String {
        var g = SystemRandomNumberGenerator()
        let chars = (0..<20).map { _ in alphabet[Int(g.next(upperBound: UInt32(alphabet.count)))] }
        return stride(from: 0, to: 20, by: 5).map { String(chars[$0..<$0 + 5]) }.joined(separator: "-")
    }

    /// How a code is stored: its SHA-256 in hex, over the code without dashes or case.
    public static func digest(_ code: String) -> String {
        let normal = code.uppercased().filter { $0 != "-" && !$0.isWhitespace }
        return Crypto.SHA256.hash(data: Array(normal.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// SHA-256 in lowercase hex (certificate fingerprints).
public enum SHA256Hex {
    public static func of(_ bytes: [UInt8]) -> String {
        Crypto.SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// PEM text.
public enum PEM {
    /// Only the certificate blocks of a PEM text (a key or comments in the file stay out).
    public static func certificateBlocks(_ pem: String) -> String {
        var out: [String] = []
        var block: [Substring]?
        for line in pem.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "-----BEGIN CERTIFICATE-----" { block = [] }
            if block != nil { block!.append(Substring(trimmed)) }
            if trimmed == "-----END CERTIFICATE-----", let b = block {
                out.append(b.joined(separator: "\n"))
                block = nil
            }
        }
        return out.map { $0 + "\n" }.joined()
    }
}
