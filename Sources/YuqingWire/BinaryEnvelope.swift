import CZlib

/// How a binary message's payload is compressed.
public enum WireCompression: Sendable, Hashable {
    /// The payload as is.
    case none
    /// zlib (RFC 1950) at `level` 1 (fastest) … 9 (smallest). The writer falls back to an
    /// uncompressed payload when compression would not make the message smaller.
    case zlib(level: Int)

    /// zlib at level 6: on change batches about a quarter smaller than level 1 for about a tenth
    /// more encoding time; higher levels gain next to nothing.
    public static let `default` = WireCompression.zlib(level: 6)
}

/// The frame around every binary message (`Protocol/sync.md` §3.3): magic, version, message
/// type, flags, then the payload, compressed or not.
enum BinaryEnvelope {
    /// `YQ`.
    static let magic: (UInt8, UInt8) = (0x59, 0x51)
    static let version: UInt8 = 1
    static let headerSize = 5
    /// Flag bit 0: the payload is a zlib stream, preceded by its inflated length.
    static let compressedFlag: UInt8 = 0x01

    /// The message types.
    enum Kind: UInt8 {
        case changeBatch = 1
        case pushRequest = 2
        case pullResponse = 3

        var name: String {
            switch self {
            case .changeBatch: "change batch"
            case .pushRequest: "push request"
            case .pullResponse: "pull response"
            }
        }

        /// ``name`` in Simplified Chinese.
        var chineseName: String {
            switch self {
            case .changeBatch: "变更批次"
            case .pushRequest: "推送请求"
            case .pullResponse: "拉取响应"
            }
        }
    }

    /// Deflate never expands more than 1032 to 1 (a 258-byte match costs at least two bits), so a
    /// larger declared length is a lie and is refused before anything is allocated.
    static let maxDeflateRatio = 1032

    /// A writer holding the header of an uncompressed message of `kind`; append the payload,
    /// then ``seal(_:compression:)``.
    static func begin(_ kind: Kind, capacity: Int = 0) -> ByteWriter {
        var w = ByteWriter(capacity: headerSize + capacity)
        w.byte(magic.0)
        w.byte(magic.1)
        w.byte(version)
        w.byte(kind.rawValue)
        w.byte(0)
        return w
    }

    /// The finished message: compressed as asked when that makes it smaller.
    static func seal(_ message: consuming ByteWriter, compression: WireCompression) -> [UInt8] {
        guard case .zlib(let level) = compression, message.count > headerSize else { return message.array }
        let sealed: [UInt8]? = message.withBytes { raw in
            let payload = UnsafeRawBufferPointer(rebasing: raw[headerSize...])
            guard let compressed = deflate(payload, level: level) else { return nil }
            var out = ByteWriter(capacity: headerSize + 10 + compressed.count)
            out.append(UnsafeRawBufferPointer(rebasing: raw[..<headerSize]))
            out.set(4, to: raw[4] | compressedFlag)
            out.varint(payload.count)
            compressed.withUnsafeBytes { out.append($0) }
            return out.count < raw.count ? out.array : nil
        }
        return sealed ?? message.array
    }

    /// `payload` as one zlib stream, or nil if zlib fails.
    private static func deflate(_ payload: UnsafeRawBufferPointer, level: Int) -> [UInt8]? {
        let bound = Int(compressBound(uLong(payload.count)))
        var ok = false
        let compressed = [UInt8](unsafeUninitializedCapacity: bound) { out, initialized in
            var destLen = uLongf(bound)
            let status = compress2(out.baseAddress!, &destLen, payload.baseAddress!.assumingMemoryBound(to: Bytef.self),
                                   uLong(payload.count), Int32(min(max(level, 0), 9)))
            ok = status == Z_OK
            initialized = ok ? Int(destLen) : 0
        }
        return ok ? compressed : nil
    }

    /// Checks the header of `bytes`, inflates the payload when it is compressed (refusing one
    /// that would exceed `maxPayloadBytes`), and reads it with `body`, which must consume it all.
    static func open<R>(_ bytes: UnsafeRawBufferPointer, as kind: Kind, maxPayloadBytes: Int, wholly: Bool = true,
                        _ body: (inout ByteReader) throws -> R) throws -> R {
        var header = ByteReader(bytes, subject: kind.name, zh: kind.chineseName)
        guard bytes.count >= 2 && bytes[0] == magic.0 && bytes[1] == magic.1 || bytes.count == 1 && bytes[0] == magic.0 else {
            throw WireDecodingError("not a Yuqing binary message: it does not start with 'YQ'", zh: "不是 Yuqing 二进制消息：开头不是“YQ”")
        }
        guard bytes.count >= headerSize else {
            throw WireDecodingError("truncated \(kind.name) at byte \(bytes.count): the header has \(headerSize) bytes",
                                    zh: "\(kind.chineseName)在第 \(bytes.count) 字节处被截断：消息头有 \(headerSize) 字节")
        }
        guard bytes[0] == magic.0, bytes[1] == magic.1 else {
            throw WireDecodingError("not a Yuqing binary message: it does not start with 'YQ'", zh: "不是 Yuqing 二进制消息：开头不是“YQ”")
        }
        guard bytes[2] == version else {
            throw WireDecodingError("binary format version \(bytes[2]) is not supported (this reader knows version \(version))",
                                    zh: "不支持二进制格式版本 \(bytes[2])（本程序只能读取版本 \(version)）")
        }
        guard bytes[3] == kind.rawValue else {
            let found = Kind(rawValue: bytes[3]).map { "a \($0.name)" } ?? "message type \(bytes[3])"
            let foundZh = Kind(rawValue: bytes[3]).map(\.chineseName) ?? "消息类型 \(bytes[3])"
            throw WireDecodingError("expected a \(kind.name), got \(found)", zh: "应为\(kind.chineseName)，收到的却是\(foundZh)")
        }
        let flags = bytes[4]
        guard flags & ~compressedFlag == 0 else {
            throw WireDecodingError("unknown flags 0x\(String(flags, radix: 16)) in \(kind.name) header",
                                    zh: "\(kind.chineseName)的消息头中有未知标志 0x\(String(flags, radix: 16))")
        }
        _ = try header.bytes(headerSize)

        if flags & compressedFlag == 0 {
            var payload = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[headerSize...]), subject: kind.name, zh: kind.chineseName, origin: headerSize)
            let result = try body(&payload)
            if wholly { try payload.expectEnd() }
            return result
        }

        let declared = try header.varint()
        let stream = try header.bytes(header.remaining)
        let limit = max(maxPayloadBytes, 0)
        guard declared <= UInt64(min(limit, stream.count * maxDeflateRatio)) else {
            let overLimit = UInt64(limit) < declared
            throw WireDecodingError(
                overLimit
                    ? "\(kind.name) would inflate to \(declared) bytes, over the limit of \(limit)"
                    : "\(kind.name) declares \(declared) inflated bytes, more than its \(stream.count) compressed bytes can hold",
                zh: overLimit
                    ? "\(kind.chineseName)解压后将达 \(declared) 字节，超过上限 \(limit)"
                    : "\(kind.chineseName)声明解压后有 \(declared) 字节，多于其 \(stream.count) 字节的压缩数据所能容纳的量")
        }
        let inflated = try inflate(stream, to: Int(declared), kind: kind)
        return try inflated.withUnsafeBytes { raw in
            var payload = ByteReader(raw, subject: kind.name, zh: kind.chineseName,
                                     frame: " of the inflated payload", frameZh: "（按解压后的载荷计）")
            let result = try body(&payload)
            if wholly { try payload.expectEnd() }
            return result
        }
    }

    /// Inflates a zlib stream that must produce exactly `count` bytes, and end where the message
    /// ends.
    private static func inflate(_ stream: UnsafeRawBufferPointer, to count: Int, kind: Kind) throws -> [UInt8] {
        var status: Int32 = Z_OK
        var produced = 0
        var consumed = 0
        let out = [UInt8](unsafeUninitializedCapacity: max(count, 1)) { buffer, initialized in
            var destLen = uLongf(count)
            var srcLen = uLong(stream.count)
            status = uncompress2(buffer.baseAddress!, &destLen,
                                 stream.baseAddress?.assumingMemoryBound(to: Bytef.self) ?? UnsafePointer(buffer.baseAddress!), &srcLen)
            produced = Int(destLen)
            consumed = Int(srcLen)
            // On error the buffer is only partly written: keep no uninitialized bytes.
            initialized = status == Z_OK ? produced : 0
        }
        switch status {
        case Z_OK:
            guard produced == count else {
                throw WireDecodingError("\(kind.name) inflates to \(produced) bytes, not the \(count) its header declares",
                                        zh: "\(kind.chineseName)解压后为 \(produced) 字节，与消息头声明的 \(count) 字节不符")
            }
            guard consumed == stream.count else {
                throw WireDecodingError("\(stream.count - consumed) unexpected bytes after the compressed \(kind.name)",
                                        zh: "压缩的\(kind.chineseName)之后有 \(stream.count - consumed) 个多余的字节")
            }
            return out
        case Z_BUF_ERROR where consumed < stream.count:
            throw WireDecodingError("\(kind.name) inflates beyond the \(count) bytes its header declares",
                                    zh: "\(kind.chineseName)解压后超过了消息头声明的 \(count) 字节")
        case Z_MEM_ERROR:
            throw WireDecodingError("out of memory inflating \(kind.name)", zh: "解压\(kind.chineseName)时内存不足")
        default:
            throw WireDecodingError("corrupt or truncated zlib stream in \(kind.name) (zlib status \(status))",
                                    zh: "\(kind.chineseName)中的 zlib 数据流已损坏或被截断（zlib 状态码 \(status)）")
        }
    }
}

/// Runs `body` on `bytes` as one contiguous buffer, copying only when they are not one already.
func withContiguousBytes<R>(_ bytes: some Sequence<UInt8>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    if let result = try bytes.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) { return result }
    return try Array(bytes).withUnsafeBytes(body)
}
