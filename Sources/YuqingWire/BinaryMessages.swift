import YuqingCore

/// The media types of the two encodings. JSON is the default and the readable one; the binary
/// form (`Protocol/sync.md` §3.3) carries the bulk messages, push requests and pull responses.
public enum WireMedia {
    public static let json = "application/json"
    public static let binary = "application/vnd.yuqing.v1+binary"

    /// Whether a `Content-Type` names `type`: compared without regard to case, parameters ignored.
    public static func names(_ contentType: String?, _ type: String) -> Bool {
        guard let contentType else { return false }
        return essence(contentType) == type
    }

    /// Whether an `Accept` header asks for the binary form over JSON: the binary type has a
    /// non-zero `q` weight at least that of JSON (`application/json`, else `application/*`,
    /// else `*/*`). Types compare without regard to case.
    public static func prefersBinary(_ accept: String?) -> Bool {
        guard let accept else { return false }
        var weights: [String: Double] = [:]
        for item in accept.split(separator: ",") {
            let parts = item.split(separator: ";")
            guard let first = parts.first else { continue }
            var q = 1.0
            for p in parts.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                if kv.count == 2, kv[0] == "q" { q = Double(kv[1]).map { min(max($0, 0), 1) } ?? 0 }
            }
            let type = essence(String(first))
            weights[type] = max(weights[type] ?? 0, q)
        }
        let binaryQ = weights[binary] ?? 0
        let jsonQ = weights[json] ?? weights["application/*"] ?? weights["*/*"] ?? 0
        return binaryQ > 0 && binaryQ >= jsonQ
    }

    private static func essence(_ s: String) -> String {
        (s.split(separator: ";", maxSplits: 1).first.map(String.init) ?? "").trimmingCharacters(in: .whitespaces).lowercased()
    }
}

extension PushRequest {
    /// The binary form: message type 2, the pushing replica's id, then the changes as a batch
    /// without positions.
    public func binary(compression: WireCompression = .default, revision: Int = BinaryChanges.revision) -> [UInt8] {
        var message = BinaryEnvelope.begin(.pushRequest, capacity: 16 * changes.count)
        message.string(replica.rawValue)
        BinaryChanges.writeBatch(changes, positions: nil, packed: revision >= 2, to: &message)
        BinarySeals.write(seals, to: &message)
        return BinaryEnvelope.seal(message, compression: compression)
    }

    /// Reads the binary form.
    ///
    /// - Throws: ``WireDecodingError`` when the bytes are not a well-formed push request.
    public init(binary bytes: some Sequence<UInt8>, maxPayloadBytes: Int = BinaryChanges.defaultMaxPayloadBytes) throws {
        self = try withContiguousBytes(bytes) { raw in
            try BinaryEnvelope.open(raw, as: .pushRequest, maxPayloadBytes: maxPayloadBytes) { reader in
                let replica = ReplicaID(try reader.string())
                let batch = try BinaryChanges.readBatch(from: &reader)
                guard batch.positions == nil else { throw reader.error("unexpected log positions", zh: "出现了不应有的日志位置") }
                return PushRequest(replica: replica, changes: batch.changes, seals: try BinarySeals.read(from: &reader))
            }
        }
    }
}

extension PullResponse {
    /// The binary form: message type 3, the hub's id, `next`, `more`, `head`, `hubTime`, then the
    /// entries as a batch with positions.
    public func binary(compression: WireCompression = .default, revision: Int = BinaryChanges.revision) -> [UInt8] {
        var message = BinaryEnvelope.begin(.pullResponse, capacity: 16 * entries.count + 32)
        message.string(hub.rawValue)
        message.signed(next)
        message.byte(more ? 1 : 0)
        message.signed(head)
        message.varint(hubTime)
        BinaryChanges.writeBatch(entries.map(\.change), positions: entries.map(\.pos), packed: revision >= 2, to: &message)
        if !seals.isEmpty || !proofs.isEmpty || !purged.isEmpty || !restored.isEmpty {
            BinarySeals.write(seals, to: &message, always: true)
            BinarySeals.write(proofs, to: &message)
            for list in [purged, restored] {
                message.varint(list.count)
                for r in list {
                    message.string(r.kind)
                    message.string(r.id)
                }
            }
        }
        return BinaryEnvelope.seal(message, compression: compression)
    }

    /// Reads the binary form.
    ///
    /// - Throws: ``WireDecodingError`` when the bytes are not a well-formed pull response.
    public init(binary bytes: some Sequence<UInt8>, maxPayloadBytes: Int = BinaryChanges.defaultMaxPayloadBytes) throws {
        self = try withContiguousBytes(bytes) { raw in
            try BinaryEnvelope.open(raw, as: .pullResponse, maxPayloadBytes: maxPayloadBytes) { reader in
                let hub = ReplicaID(try reader.string())
                let next = try reader.signed()
                let more: Bool
                switch try reader.byte() {
                case 0: more = false
                case 1: more = true
                case let b: throw reader.error("'more' must be 0 or 1, not \(b)", zh: "“more”必须为 0 或 1，而不是 \(b)")
                }
                let head = try reader.signed()
                let hubTime = try reader.varint()
                let batch = try BinaryChanges.readBatch(from: &reader)
                guard let positions = batch.positions else { throw reader.error("missing log positions", zh: "缺少日志位置") }
                let entries = zip(positions, batch.changes).map { LogEntry(pos: $0, change: $1) }
                let seals = try BinarySeals.read(from: &reader)
                var proofs: [SealProof] = [], purged: [RecordRef] = [], restored: [RecordRef] = []
                if !reader.isAtEnd {
                    proofs = try BinarySeals.readProofs(from: &reader)
                    for (name, nameZh) in [("purged records", "待清除记录的数量"), ("restored records", "已恢复记录的数量")] {
                        let n = try reader.count(atMost: reader.remaining / 2, name, zh: nameZh)
                        var list: [RecordRef] = []
                        for _ in 0..<n { list.append(RecordRef(kind: try reader.string(), id: try reader.string())) }
                        if name == "purged records" { purged = list } else { restored = list }
                    }
                }
                return PullResponse(hub: hub, entries: entries, next: next, more: more, head: head, hubTime: hubTime,
                                    seals: seals, proofs: proofs, purged: purged, restored: restored)
            }
        }
    }
}

/// The optional last section of a push request or a pull response (`Protocol/sync.md` §3.3): the
/// seals, as a count, then each seal's replica id, first and last counters (varints) and its
/// 64-byte signature. A message without seals ends after its batch. A pull response may go on
/// with its proofs (a count, then each one's replica id, first and last counters, a count of
/// hashes and the 32-byte hashes), the records to purge and the records restored (each a count,
/// then kind and id of each).
enum BinarySeals {
    static func write(_ seals: [Seal], to w: inout ByteWriter, always: Bool = false) {
        guard !seals.isEmpty || always else { return }
        w.varint(seals.count)
        for s in seals {
            w.string(s.replica.rawValue)
            w.varint(s.first)
            w.varint(s.last)
            var raw = Base64.decode(s.signature) ?? []
            raw += [UInt8](repeating: 0, count: max(0, 64 - raw.count))
            raw.prefix(64).withUnsafeBytes { w.append(UnsafeRawBufferPointer(rebasing: $0[0..<64])) }
        }
    }

    static func read(from r: inout ByteReader) throws -> [Seal] {
        guard !r.isAtEnd else { return [] }
        let n = try r.count(atMost: r.remaining / 67, "seals", zh: "封签数量")
        var out: [Seal] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            let replica = ReplicaID(try r.string())
            let first = try r.varint(), last = try r.varint()
            guard first >= 1, first <= last else { throw r.error("seal range \(first)...\(last) is empty or starts at 0", zh: "封签范围 \(first)...\(last) 为空或从 0 开始") }
            let signature = Base64.encode(Array(try r.bytes(64)))
            out.append(Seal(replica: replica, first: first, last: last, signature: signature))
        }
        return out
    }
}

extension BinarySeals {
    static func write(_ proofs: [SealProof], to w: inout ByteWriter) {
        w.varint(proofs.count)
        for p in proofs {
            w.string(p.replica.rawValue)
            w.varint(p.first)
            w.varint(p.last)
            w.varint(p.hashes.count)
            for h in p.hashes {
                var raw = h
                raw += [UInt8](repeating: 0, count: max(0, 32 - raw.count))
                raw.prefix(32).withUnsafeBytes { w.append(UnsafeRawBufferPointer(rebasing: $0[0..<32])) }
            }
        }
    }

    static func readProofs(from r: inout ByteReader) throws -> [SealProof] {
        let n = try r.count(atMost: r.remaining / 4, "proofs", zh: "证明数量")
        var out: [SealProof] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            let replica = ReplicaID(try r.string())
            let first = try r.varint(), last = try r.varint()
            guard first >= 1, first <= last else { throw r.error("proof range \(first)...\(last) is empty or starts at 0", zh: "证明范围 \(first)...\(last) 为空或从 0 开始") }
            let count = try r.count(atMost: r.remaining / 32, "proof hashes", zh: "证明哈希的数量")
            var hashes: [[UInt8]] = []
            hashes.reserveCapacity(count)
            for _ in 0..<count { hashes.append(Array(try r.bytes(32))) }
            out.append(SealProof(replica: replica, first: first, last: last, hashes: hashes))
        }
        return out
    }
}

/// Standard base64 (RFC 4648, with padding), without Foundation.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 3) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 15) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var lookup = [Int16](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { lookup[Int(c)] = Int16(i) }
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            var v = [Int16](repeating: 0, count: 4)
            var pad = 0
            for j in 0..<4 {
                let c = chars[i + j]
                if c == UInt8(ascii: "=") { pad += 1; continue }
                guard pad == 0, lookup[Int(c)] >= 0 else { return nil }
                v[j] = lookup[Int(c)]
            }
            let n = Int(v[0]) << 18 | Int(v[1]) << 12 | Int(v[2]) << 6 | Int(v[3])
            out.append(UInt8(n >> 16 & 255))
            if pad < 2 { out.append(UInt8(n >> 8 & 255)) }
            if pad < 1 { out.append(UInt8(n & 255)) }
            i += 4
        }
        return out
    }
}

extension BinaryChanges {
    /// The batch revision a binary message (change batch, push request or pull response) was
    /// written in: 1, or 2 when its batch is packed. For diagnostics and tests; decoding needs
    /// no such step.
    ///
    /// - Throws: ``WireDecodingError`` when the bytes are not such a message.
    public static func batchRevision(of bytes: some Sequence<UInt8>, maxPayloadBytes: Int = defaultMaxPayloadBytes) throws -> Int {
        try withContiguousBytes(bytes) { raw in
            let kind = raw.count > 3 ? BinaryEnvelope.Kind(rawValue: raw[3]) ?? .changeBatch : .changeBatch
            return try BinaryEnvelope.open(raw, as: kind, maxPayloadBytes: maxPayloadBytes, wholly: false) { reader in
                switch kind {
                case .changeBatch: break
                case .pushRequest: _ = try reader.string()
                case .pullResponse:
                    _ = try reader.string()
                    _ = try reader.signed()
                    _ = try reader.byte()
                    _ = try reader.signed()
                    _ = try reader.varint()
                }
                _ = try reader.varint()
                return try reader.byte() & packedOption != 0 ? 2 : 1
            }
        }
    }
}
