/// Writes the canonical bytes of a change (`Protocol/security.md` §3.1): strings as a 4-byte
/// big-endian length and their UTF-8, integers as 8 (or 4) bytes big-endian. The one writer of the
/// format: ``ChangeHash`` writes a ``Change`` with it, and a snapshot's check writes rows straight
/// from the database with it, so both hash the same bytes.
package struct CanonicalWriter {
    package var out: [UInt8]

    package init(out: [UInt8] = []) { self.out = out }

    /// `YQC1`: every change's bytes begin with it.
    package static let magic: [UInt8] = [0x59, 0x51, 0x43, 0x31]

    @inline(__always) package mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { bytes in
            integer32(UInt32(truncatingIfNeeded: bytes.count))
            out.append(contentsOf: bytes)
        }
    }

    /// A string given as its UTF-8 bytes.
    @inline(__always) package mutating func string(utf8 bytes: UnsafeRawBufferPointer) {
        integer32(UInt32(truncatingIfNeeded: bytes.count))
        out.append(contentsOf: bytes)
    }

    @inline(__always) package mutating func integer32(_ n: UInt32) {
        withUnsafeBytes(of: n.bigEndian) { out.append(contentsOf: $0) }
    }

    @inline(__always) package mutating func integer64(_ n: UInt64) {
        withUnsafeBytes(of: n.bigEndian) { out.append(contentsOf: $0) }
    }
}
