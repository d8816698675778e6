import YuqingCore

/// Why a binary message could not be read: truncated, corrupted, hostile, or of another kind.
///
/// The message says what is wrong and where (`truncated change batch at byte 123`); the hub maps
/// it to 400 `bad_request` at its edge, like a JSON body that does not parse.
public struct WireDecodingError: BilingualError, Sendable, Hashable, CustomStringConvertible {
    /// For a person: what is wrong with the bytes, and at which offset when known.
    public var message: String
    /// The message in Simplified Chinese.
    public var chinese: String

    public init(_ message: String, zh chinese: String) {
        self.message = message
        self.chinese = chinese
    }

    public var description: String { message }
}

/// Zigzag maps signed to unsigned integers so that small magnitudes get short varints:
/// 0, -1, 1, -2, 2 … become 0, 1, 2, 3, 4 ….
@inline(__always) func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

/// The inverse of ``zigzag(_:)``.
@inline(__always) func unzigzag(_ u: UInt64) -> Int64 { Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1))) }

/// The zigzag-coded difference `value − previous`, computed modulo 2⁶⁴ so that every pair of
/// 64-bit values has one (decoded with ``undelta(_:from:)``).
@inline(__always) func delta(_ value: UInt64, from previous: UInt64) -> UInt64 {
    zigzag(Int64(bitPattern: value &- previous))
}

/// The value whose ``delta(_:from:)`` from `previous` is `coded`.
@inline(__always) func undelta(_ coded: UInt64, from previous: UInt64) -> UInt64 {
    previous &+ UInt64(bitPattern: unzigzag(coded))
}

/// Appends the binary form's primitives to a growing buffer of its own.
///
/// Non-copyable, so that the encoder's hot loop writes through a pointer without the uniqueness
/// checks and capacity bookkeeping of an `Array` append.
struct ByteWriter: ~Copyable {
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 0) {
        self.capacity = max(capacity, 32)
        buffer = .allocate(capacity: self.capacity)
    }

    deinit { buffer.deallocate() }

    /// Makes room for `extra` more bytes.
    @inline(__always) private mutating func reserve(_ extra: Int) {
        if capacity - count < extra { grow(extra) }
    }

    @inline(never) private mutating func grow(_ extra: Int) {
        let newCapacity = max(capacity * 2, count + extra)
        let newBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBuffer.update(from: buffer, count: count)
        buffer.deallocate()
        buffer = newBuffer
        capacity = newCapacity
    }

    @inline(__always) mutating func byte(_ b: UInt8) {
        reserve(1)
        buffer[count] = b
        count += 1
    }

    /// Unsigned LEB128: seven bits at a time, least significant group first, the high bit set on
    /// every byte but the last. At most 10 bytes for 64 bits.
    @inline(__always) mutating func varint(_ value: UInt64) {
        reserve(10)
        var v = value
        var i = count
        while v >= 0x80 {
            buffer[i] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            i += 1
        }
        buffer[i] = UInt8(truncatingIfNeeded: v)
        count = i + 1
    }

    @inline(__always) mutating func varint(_ value: Int) { varint(UInt64(value)) }

    /// A signed integer as the varint of its zigzag form.
    @inline(__always) mutating func signed(_ value: Int64) { varint(zigzag(value)) }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (buffer + count).update(from: base.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        count += bytes.count
    }

    /// Length (varint) then UTF-8 bytes.
    mutating func string(_ s: String) {
        let utf8 = s.utf8
        varint(utf8.count)
        if utf8.withContiguousStorageIfAvailable({ append(UnsafeRawBufferPointer($0)) }) == nil {
            for b in utf8 { byte(b) }
        }
    }

    /// Length (varint) then the other writer's bytes: one column.
    mutating func block(_ other: borrowing ByteWriter) {
        varint(other.count)
        other.withBytes { append($0) }
    }

    /// Overwrites byte `index`, which must have been written.
    mutating func set(_ index: Int, to value: UInt8) {
        precondition(index < count)
        buffer[index] = value
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: buffer, count: count))
    }

    /// The bytes written, as an array.
    var array: [UInt8] { withBytes { Array($0) } }

    /// The number of bytes `varint(value)` writes.
    static func varintSize(_ value: UInt64) -> Int {
        var v = value, n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }
}

/// Reads the binary form's primitives from borrowed bytes, checking every bound.
///
/// Never traps on malformed input: every read that would pass the end, every varint longer than
/// 64 bits and every count larger than the bytes that are left throws a ``WireDecodingError``.
/// Only valid while the buffer it reads is.
struct ByteReader {
    private let base: UnsafeRawBufferPointer
    private(set) var offset: Int
    private let end: Int
    /// What is being read, for messages: `change batch`, `push request` ….
    let subject: String
    /// ``subject`` in Simplified Chinese: `变更批次`, `推送请求` ….
    let subjectZh: String
    /// Added to offsets in messages, so a column reader reports positions in the whole payload.
    private let origin: Int
    /// Appended to positions in messages (` of the inflated payload` for a compressed message).
    private let frame: String
    /// ``frame`` in Simplified Chinese (`（按解压后的载荷计）`).
    private let frameZh: String

    init(_ base: UnsafeRawBufferPointer, subject: String, zh subjectZh: String, origin: Int = 0,
         frame: String = "", frameZh: String = "") {
        self.base = base
        self.offset = 0
        self.end = base.count
        self.subject = subject
        self.subjectZh = subjectZh
        self.origin = origin
        self.frame = frame
        self.frameZh = frameZh
    }

    var remaining: Int { end - offset }
    var isAtEnd: Bool { offset == end }

    /// An error naming the subject and the current position; `whatZh` is `what` in Simplified Chinese.
    func error(_ what: String, zh whatZh: String) -> WireDecodingError {
        WireDecodingError("\(what) in \(subject) at byte \(origin + offset)\(frame)",
                          zh: "\(subjectZh)第 \(origin + offset) 字节处\(frameZh)：\(whatZh)")
    }

    /// The subject ends before the current position.
    func truncated() -> WireDecodingError {
        WireDecodingError("truncated \(subject) at byte \(origin + offset)\(frame)",
                          zh: "\(subjectZh)在第 \(origin + offset) 字节处\(frameZh)被截断")
    }

    /// The subject ends before the current position, with a detail (in English and in Chinese).
    func truncated(_ detail: String, zh detailZh: String) -> WireDecodingError {
        WireDecodingError("truncated \(subject) at byte \(origin + offset)\(frame)" + ": " + detail,
                          zh: "\(subjectZh)在第 \(origin + offset) 字节处\(frameZh)被截断：" + detailZh)
    }

    @inline(__always) mutating func byte() throws -> UInt8 {
        guard offset < end else { throw truncated() }
        defer { offset += 1 }
        return base[offset]
    }

    @inline(__always) mutating func varint() throws -> UInt64 {
        guard offset < end else { throw truncated() }
        let first = base[offset]
        if first < 0x80 {
            offset += 1
            return UInt64(first)
        }
        return try longVarint()
    }

    private mutating func longVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var i = offset
        while true {
            guard i < end else { throw truncated() }
            let b = base[i]
            // The tenth byte holds bit 63 only, and ends the varint.
            if shift == 63 && b > 1 { throw error("varint longer than 64 bits", zh: "varint 长度超过 64 位") }
            result |= UInt64(b & 0x7F) << shift
            i += 1
            if b < 0x80 { break }
            shift += 7
        }
        offset = i
        return result
    }

    @inline(__always) mutating func signed() throws -> Int64 { unzigzag(try varint()) }

    /// A count or length that cannot exceed `limit` (typically the bytes left, since every
    /// counted item takes at least one byte), so a hostile count cannot make us allocate.
    /// `whatZh` is `what` in Simplified Chinese, for the error.
    @inline(__always) mutating func count(atMost limit: Int, _ what: String, zh whatZh: String) throws -> Int {
        let start = offset
        let v = try varint()
        guard v <= UInt64(max(limit, 0)) else {
            offset = start
            throw error("\(what) \(v) exceeds the \(max(limit, 0)) that the remaining bytes allow",
                        zh: "\(whatZh) \(v) 超过了剩余字节所允许的 \(max(limit, 0))")
        }
        return Int(v)
    }

    /// A string-table index, checked against the table's size.
    @inline(__always) mutating func index(below count: Int) throws -> Int {
        let v = try varint()
        guard v < UInt64(count) else { throw error("string index \(v) outside the table of \(count)", zh: "字符串索引 \(v) 超出了共 \(count) 项的字符串表") }
        return Int(v)
    }

    /// The next `count` bytes, borrowed.
    mutating func bytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw truncated() }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: base[offset..<(offset + count)])
    }

    /// A byte length, which must not pass the end: a longer one means the message was cut short
    /// (or lies). `whatZh` is `what` in Simplified Chinese, for the error.
    @inline(__always) mutating func length(of what: String, zh whatZh: String) throws -> Int {
        let start = offset
        let v = try varint()
        guard v <= UInt64(remaining) else {
            let left = remaining
            offset = start
            throw truncated("\(what) of \(v) bytes, only \(left) left", zh: "\(whatZh)长 \(v) 字节，但只剩 \(left) 字节")
        }
        return Int(v)
    }

    /// Length (varint) then UTF-8 bytes, which must be valid UTF-8.
    mutating func string() throws -> String {
        let n = try length(of: "string", zh: "字符串")
        let raw = try bytes(n)
        guard let s = String(validating: raw.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else {
            offset -= n
            throw error("invalid UTF-8 string", zh: "无效的 UTF-8 字符串")
        }
        return s
    }

    /// A string of a packed batch's table: the length of the prefix it shares with `previous`
    /// (which it becomes), then the length and bytes of the rest; the whole must be UTF-8.
    mutating func frontCodedString(after previous: inout [UInt8]) throws -> String {
        let start = offset
        let shared = try varint()
        guard shared <= UInt64(previous.count) else {
            offset = start
            throw error("a string of the table shares \(shared) bytes with the \(previous.count)-byte string before it",
                        zh: "字符串表中的一个字符串与其前一个 \(previous.count) 字节的字符串共享 \(shared) 字节")
        }
        let n = try length(of: "string", zh: "字符串")
        let rest = try bytes(n)
        previous.removeSubrange(Int(shared)...)
        previous.append(contentsOf: rest)
        guard let s = String(validating: previous, as: UTF8.self) else {
            offset = start
            throw error("invalid UTF-8 string", zh: "无效的 UTF-8 字符串")
        }
        return s
    }

    /// A string-table index written as the difference from the column's previous one, checked
    /// against the table's size.
    @inline(__always) mutating func index(after previous: Int, below count: Int) throws -> Int {
        let d = try signed()
        let (v, overflow) = Int64(previous).addingReportingOverflow(d)
        guard !overflow, v >= 0, v < Int64(count) else { throw error("string index \(previous) + \(d) outside the table of \(count)", zh: "字符串索引 \(previous) + \(d) 超出了共 \(count) 项的字符串表") }
        return Int(v)
    }

    /// Length (varint) then that many bytes, read by a reader of their own (`change batch
    /// (column hlc)`) that reports positions in this one's terms. `nameZh` is `name` in Simplified
    /// Chinese, for errors.
    mutating func block(_ name: String, zh nameZh: String) throws -> ByteReader {
        let n = try length(of: name, zh: nameZh)
        let start = origin + offset
        return ByteReader(try bytes(n), subject: "\(subject) (\(name))", zh: "\(subjectZh)（\(nameZh)）",
                          origin: start, frame: frame, frameZh: frameZh)
    }

    /// Throws unless every byte was read.
    func expectEnd() throws {
        guard isAtEnd else { throw error("\(remaining) unexpected trailing bytes", zh: "末尾有 \(remaining) 个多余的字节") }
    }
}
