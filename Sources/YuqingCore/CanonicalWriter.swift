/// Writes the canonical bytes of a change (`Protocol/security.md` §3.1): strings as a 4-byte
/// big-endian length and their UTF-8, integers as 8 (or 4) bytes big-endian. The one writer of the
/// format: ``ChangeHash`` writes a ``Change`` with it, and a snapshot's check writes rows straight
/// from the database with it, so both hash the same bytes.
@frozen @usableFromInline package struct CanonicalWriter {
    @usableFromInline package var out: [UInt8]

    @inlinable package init(out: [UInt8] = []) { self.out = out }

    /// `YQC1`: every change's bytes begin with it.
    @usableFromInline package static let magic: [UInt8] = [0x59, 0x51, 0x43, 0x31]

    @inlinable @inline(__always) package mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { bytes in
            integer32(UInt32(truncatingIfNeeded: bytes.count))
            out.append(contentsOf: bytes)
        }
    }

    /// A string given as its UTF-8 bytes.
    @inlinable @inline(__always) package mutating func string(utf8 bytes: UnsafeRawBufferPointer) {
        integer32(UInt32(truncatingIfNeeded: bytes.count))
        out.append(contentsOf: bytes)
    }

    @inlinable @inline(__always) package mutating func integer32(_ n: UInt32) {
        withUnsafeBytes(of: n.bigEndian) { out.append(contentsOf: $0) }
    }

    @inlinable @inline(__always) package mutating func integer64(_ n: UInt64) {
        withUnsafeBytes(of: n.bigEndian) { out.append(contentsOf: $0) }
    }

    /// A change's canonical bytes, in the order §3.1 gives, after `YQC1`: the one place that
    /// order is written, for a ``Change`` (``ChangeHash``) and for a snapshot's rows alike.
    @inlinable package mutating func change<Text: CanonicalText>(replica: Text, counter: UInt64, hlc: UInt64, kind: Text, record: Text, field: Text,
                                                      element: Text, value: CanonicalValue<Text>, context: [Dot], author: Text) {
        out.append(contentsOf: Self.magic)
        replica.write(into: &self)
        integer64(counter)
        integer64(hlc)
        kind.write(into: &self)
        record.write(into: &self)
        field.write(into: &self)
        element.write(into: &self)
        switch value {
        case .none: out.append(0)
        case .text(let t): out.append(1); t.write(into: &self)
        case .integer(let n): out.append(2); integer64(UInt64(bitPattern: n))
        }
        integer32(UInt32(truncatingIfNeeded: context.count))
        for d in context {
            string(d.replica.rawValue)
            integer64(d.counter)
        }
        author.write(into: &self)
    }
}

/// A change's value as ``CanonicalWriter/change(replica:counter:hlc:kind:record:field:element:value:context:author:)`` writes it.
@frozen @usableFromInline package enum CanonicalValue<Text: CanonicalText> {
    case none
    case text(Text)
    case integer(Int64)
}

/// Text the canonical bytes hold: a `String`, or UTF-8 bytes read in place (a database row).
@usableFromInline package protocol CanonicalText {
    func write(into writer: inout CanonicalWriter)
}

extension String: CanonicalText {
    @inlinable @inline(__always) package func write(into writer: inout CanonicalWriter) { writer.string(self) }
}

extension UnsafeRawBufferPointer: CanonicalText {
    @inlinable @inline(__always) package func write(into writer: inout CanonicalWriter) { writer.string(utf8: self) }
}
