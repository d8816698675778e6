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
    static func open<R>(_ bytes: UnsafeRawBufferPointer, as kind: Kind, maxPayloadBytes: Int,
                        _ body: (inout ByteReader) throws -> R) throws -> R {
        var header = ByteReader(bytes, subject: kind.name)
        guard bytes.count >= 2 && bytes[0] == magic.0 && bytes[1] == magic.1 || bytes.count == 1 && bytes[0] == magic.0 else {
            throw WireDecodingError("not a Yuqing binary message: it does not start with 'YQ'")
        }
        guard bytes.count >= headerSize else {
            throw WireDecodingError("truncated \(kind.name) at byte \(bytes.count): the header has \(headerSize) bytes")
        }
        guard bytes[0] == magic.0, bytes[1] == magic.1 else {
            throw WireDecodingError("not a Yuqing binary message: it does not start with 'YQ'")
        }
        guard bytes[2] == version else {
            throw WireDecodingError("binary format version \(bytes[2]) is not supported (this reader knows version \(version))")
        }
        guard bytes[3] == kind.rawValue else {
            let found = Kind(rawValue: bytes[3]).map { "a \($0.name)" } ?? "message type \(bytes[3])"
            throw WireDecodingError("expected a \(kind.name), got \(found)")
        }
        let flags = bytes[4]
        guard flags & ~compressedFlag == 0 else {
            throw WireDecodingError("unknown flags 0x\(String(flags, radix: 16)) in \(kind.name) header")
        }
        _ = try header.bytes(headerSize)

        if flags & compressedFlag == 0 {
            var payload = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[headerSize...]), subject: kind.name, origin: headerSize)
            let result = try body(&payload)
            try payload.expectEnd()
            return result
        }

        let declared = try header.varint()
        let stream = try header.bytes(header.remaining)
        let limit = max(maxPayloadBytes, 0)
        guard declared <= UInt64(min(limit, stream.count * maxDeflateRatio)) else {
            throw WireDecodingError(
                UInt64(limit) < declared
                    ? "\(kind.name) would inflate to \(declared) bytes, over the limit of \(limit)"
                    : "\(kind.name) declares \(declared) inflated bytes, more than its \(stream.count) compressed bytes can hold")
        }
        let inflated = try inflate(stream, to: Int(declared), kind: kind)
        return try inflated.withUnsafeBytes { raw in
            var payload = ByteReader(raw, subject: kind.name, frame: " of the inflated payload")
            let result = try body(&payload)
            try payload.expectEnd()
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
                throw WireDecodingError("\(kind.name) inflates to \(produced) bytes, not the \(count) its header declares")
            }
            guard consumed == stream.count else {
                throw WireDecodingError("\(stream.count - consumed) unexpected bytes after the compressed \(kind.name)")
            }
            return out
        case Z_BUF_ERROR where consumed < stream.count:
            throw WireDecodingError("\(kind.name) inflates beyond the \(count) bytes its header declares")
        case Z_MEM_ERROR:
            throw WireDecodingError("out of memory inflating \(kind.name)")
        default:
            throw WireDecodingError("corrupt or truncated zlib stream in \(kind.name) (zlib status \(status))")
        }
    }
}

/// Runs `body` on `bytes` as one contiguous buffer, copying only when they are not one already.
func withContiguousBytes<R>(_ bytes: some Sequence<UInt8>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    if let result = try bytes.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) { return result }
    return try Array(bytes).withUnsafeBytes(body)
}
