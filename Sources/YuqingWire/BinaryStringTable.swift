/// The string table of a change batch being written: strings in first-seen order, compared and
/// deduplicated by their UTF-8 bytes, not by Unicode canonical equivalence (which would let one
/// spelling of a text replace another on the wire, and change the state digest downstream).
///
/// Looking a string up is the encoder's main cost, so it goes through three levels: the column's
/// previous string (a record's fields, one author, one kind), then a small direct-mapped cache
/// under a cheap hash (field names, values from a short list), then a `Dictionary` whose seeded
/// hash keeps a batch of hostile strings from degrading it.
struct StringTable: ~Copyable {
    /// The most recent string of one column and its index.
    struct Run {
        var string: String? = nil
        var index = 0
    }

    private struct Slot {
        var string = ""
        var index = -1
    }

    private static let cacheSize = 256
    private var cache = [Slot](repeating: Slot(), count: cacheSize)
    private var indices: [ExactString: Int] = [:]
    /// The table as it goes on the wire: each string's length and bytes.
    private(set) var bytes = ByteWriter()
    private(set) var count = 0
    /// Whether each string is written as the bytes it shares with the one before it and the rest
    /// (a packed batch, `Protocol/sync.md` §3.3), and the bytes of the one before it.
    private let frontCoded: Bool
    private var previous: [UInt8] = []

    init(frontCoded: Bool = false) { self.frontCoded = frontCoded }

    @inline(__always) mutating func index(_ s: String, run: inout Run) -> Int {
        if let last = run.string, ExactString.sameBytes(last, s) { return run.index }
        let i = index(s)
        run = Run(string: s, index: i)
        return i
    }

    mutating func index(_ s: String) -> Int {
        let slot = Int(truncatingIfNeeded: ExactString.quickHash(s)) & (Self.cacheSize - 1)
        let cached = cache[slot]
        if cached.index >= 0, ExactString.sameBytes(cached.string, s) { return cached.index }
        let key = ExactString(s)
        let i: Int
        if let found = indices[key] {
            i = found
        } else {
            i = count
            indices[key] = i
            if frontCoded { writeFrontCoded(s) } else { bytes.string(s) }
            count += 1
        }
        cache[slot] = Slot(string: s, index: i)
        return i
    }

    /// The string as the length of the prefix it shares with the previous one, then the length
    /// and bytes of the rest.
    private mutating func writeFrontCoded(_ s: String) {
        var utf8 = Array(s.utf8)
        var shared = 0
        let limit = min(utf8.count, previous.count)
        while shared < limit, utf8[shared] == previous[shared] { shared += 1 }
        bytes.varint(shared)
        bytes.varint(utf8.count - shared)
        utf8.withUnsafeBytes { bytes.append(UnsafeRawBufferPointer(rebasing: $0[shared...])) }
        swap(&previous, &utf8)
    }
}

/// A string hashed and compared by its UTF-8 bytes.
struct ExactString: Hashable {
    let value: String
    init(_ value: String) { self.value = value }

    static func == (a: ExactString, b: ExactString) -> Bool { sameBytes(a.value, b.value) }

    func hash(into hasher: inout Hasher) {
        let utf8 = value.utf8
        if utf8.withContiguousStorageIfAvailable({ hasher.combine(bytes: UnsafeRawBufferPointer($0)) }) == nil {
            for b in utf8 { hasher.combine(b) }
        }
    }

    /// Whether `a` and `b` are the same bytes.
    @inline(__always) static func sameBytes(_ a: String, _ b: String) -> Bool {
        // The same representation (one small string's inline bytes, or one shared buffer) is the
        // common case in a batch, and needs no look at the bytes.
        if MemoryLayout<String>.size == 16,
           unsafeBitCast(a, to: (UInt64, UInt64).self) == unsafeBitCast(b, to: (UInt64, UInt64).self) { return true }
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        if let same = x.withContiguousStorageIfAvailable({ xs in
            y.withContiguousStorageIfAvailable { ys in equal(UnsafeRawBufferPointer(xs), UnsafeRawBufferPointer(ys)) }
        }), let same { return same }
        return x.elementsEqual(y)
    }

    /// Compares two buffers of the same size eight bytes at a time.
    @inline(__always) static func equal(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i + 8 <= x.count {
            if x.loadUnaligned(fromByteOffset: i, as: UInt64.self) != y.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < x.count {
            if x[i] != y[i] { return false }
            i += 1
        }
        return true
    }

    /// A cheap hash of the length and the first and last eight bytes: good enough to pick a cache
    /// slot, where a collision only costs a dictionary lookup.
    @inline(__always) static func quickHash(_ s: String) -> UInt64 {
        let utf8 = s.utf8
        let h = utf8.withContiguousStorageIfAvailable { p -> UInt64 in
            let raw = UnsafeRawBufferPointer(p)
            let n = raw.count
            var h = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
            if n >= 8 {
                h ^= raw.loadUnaligned(as: UInt64.self)
                h = (h &* 0xBF58_476D_1CE4_E5B9) ^ raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            } else {
                var w: UInt64 = 0
                for i in 0..<n { w |= UInt64(raw[i]) << (8 * UInt64(i)) }
                h ^= w
            }
            h = (h ^ (h >> 31)) &* 0x94D0_49BB_1331_11EB
            return h ^ (h >> 29)
        }
        return h ?? UInt64(truncatingIfNeeded: utf8.count)
    }
}
