import CZlib
import Foundation

/// A minimal ZIP archive writer, enough for Office files: entries deflated with zlib (or stored
/// when that is not smaller), UTF-8 names, and a fixed timestamp (1980-01-01 00:00) so the same
/// entries always make the same bytes. No ZIP64: an archive over 4 GiB is refused.
struct ZipWriter {
    private struct Entry {
        var name: [UInt8]
        var method: UInt16
        var crc: UInt32
        var compressedSize: UInt32
        var size: UInt32
        var offset: UInt32
    }

    private var archive = Data()
    private var entries: [Entry] = []
    private var names: Set<String> = []

    /// The largest size or offset a ZIP without ZIP64 holds (0xFFFFFFFF itself marks ZIP64).
    static let limit = Int(UInt32.max) - 1
    private static let utf8Names: UInt16 = 1 << 11
    private static let dosTime: UInt16 = 0
    private static let dosDate: UInt16 = 1 << 5 | 1  // 1980-01-01
    private static let version: UInt16 = 20  // 2.0: deflate

    /// Appends the file `path` (with `/` between folders) holding `data`.
    mutating func add(path: String, data: Data) throws {
        let name = Array(path.utf8)
        guard !name.isEmpty, name.count <= Int(UInt16.max), !path.hasPrefix("/") else {
            throw OfficeError(.input, "'\(path)' cannot name a file in a ZIP archive", zh: "“\(path)”不能用作 ZIP 压缩包中的文件名")
        }
        guard names.insert(path).inserted else {
            throw OfficeError(.input, "the ZIP archive already holds '\(path)'", zh: "ZIP 压缩包中已有“\(path)”")
        }
        guard entries.count < Int(UInt16.max) else {
            throw OfficeError(.tooLarge, "a ZIP archive without ZIP64 holds at most 65,535 files", zh: "不使用 ZIP64 的 ZIP 压缩包最多容纳 65535 个文件")
        }
        guard data.count <= Self.limit else { throw Self.tooLarge("'\(path)' has \(data.count) bytes", zh: "“\(path)”有 \(data.count) 字节") }
        guard archive.count <= Self.limit else { throw Self.tooLarge("the archive reaches \(archive.count) bytes", zh: "压缩包已达 \(archive.count) 字节") }

        let crc = Self.crc(data)
        let deflated = try Self.deflate(data)
        let (method, stored): (UInt16, Data) = deflated.count < data.count ? (8, deflated) : (0, data)
        let entry = Entry(name: name, method: method, crc: crc, compressedSize: UInt32(stored.count),
                          size: UInt32(data.count), offset: UInt32(archive.count))
        entries.append(entry)

        archive.le32(0x0403_4B50)
        archive.le16(Self.version)
        Self.appendCommon(entry, to: &archive)
        archive.le16(0)  // extra field length
        archive.append(contentsOf: name)
        archive.append(stored)
    }

    /// The archive: the entries, then the central directory and its end record.
    func finish() throws -> Data {
        var out = archive
        let directoryOffset = out.count
        for entry in entries {
            out.le32(0x0201_4B50)
            out.le16(Self.version)  // made by: MS-DOS attributes, 2.0
            out.le16(Self.version)  // needed to extract
            Self.appendCommon(entry, to: &out)
            out.le16(0)  // extra field length
            out.le16(0)  // comment length
            out.le16(0)  // disk number
            out.le16(0)  // internal attributes
            out.le32(0)  // external attributes
            out.le32(entry.offset)
            out.append(contentsOf: entry.name)
        }
        let directorySize = out.count - directoryOffset
        guard directoryOffset <= Self.limit, directorySize <= Self.limit else {
            throw Self.tooLarge("the archive reaches \(out.count) bytes", zh: "压缩包已达 \(out.count) 字节")
        }
        out.le32(0x0605_4B50)
        out.le16(0)  // this disk
        out.le16(0)  // the directory's disk
        out.le16(UInt16(entries.count))
        out.le16(UInt16(entries.count))
        out.le32(UInt32(directorySize))
        out.le32(UInt32(directoryOffset))
        out.le16(0)  // comment length
        return out
    }

    /// The fields the local header and the central directory share, from the flags on.
    private static func appendCommon(_ entry: Entry, to out: inout Data) {
        out.le16(utf8Names)
        out.le16(entry.method)
        out.le16(dosTime)
        out.le16(dosDate)
        out.le32(entry.crc)
        out.le32(entry.compressedSize)
        out.le32(entry.size)
        out.le16(UInt16(entry.name.count))
    }

    private static func tooLarge(_ what: String, zh whatZh: String) -> OfficeError {
        OfficeError(.tooLarge, "\(what): over the 4 GiB a ZIP archive holds without ZIP64",
                    zh: "\(whatZh)：超过了不使用 ZIP64 的 ZIP 压缩包所能容纳的 4 GiB")
    }

    /// The CRC-32 of `data` (zlib's).
    static func crc(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { raw in
            UInt32(crc32(0, raw.bindMemory(to: Bytef.self).baseAddress, uInt(raw.count)))
        }
    }

    /// `data` as raw DEFLATE (no zlib header or checksum), as ZIP's method 8 wants.
    static func deflate(_ data: Data) throws -> Data {
        var stream = z_stream()
        var status = deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            throw OfficeError(.compression, "zlib could not start deflating (status \(status))", zh: "zlib 无法开始压缩（状态码 \(status)）")
        }
        defer { deflateEnd(&stream) }

        let bound = Int(deflateBound(&stream, uLong(data.count)))
        var out = Data(count: bound)
        var produced = 0
        status = data.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { output in
                stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = output.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(output.count)
                let status = CZlib.deflate(&stream, Z_FINISH)
                produced = output.count - Int(stream.avail_out)
                return status
            }
        }
        guard status == Z_STREAM_END else {
            throw OfficeError(.compression, "zlib could not deflate (status \(status))", zh: "zlib 压缩失败（状态码 \(status)）")
        }
        out.count = produced
        return out
    }
}

extension Data {
    /// Appends `value` little-endian, as ZIP stores its numbers.
    fileprivate mutating func le16(_ value: UInt16) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    fileprivate mutating func le32(_ value: UInt32) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
