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
    public func binary(compression: WireCompression = .default) -> [UInt8] {
        var message = BinaryEnvelope.begin(.pushRequest, capacity: 16 * changes.count)
        message.string(replica.rawValue)
        BinaryChanges.writeBatch(changes, positions: nil, to: &message)
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
                guard batch.positions == nil else { throw reader.error("unexpected log positions") }
                return PushRequest(replica: replica, changes: batch.changes)
            }
        }
    }
}

extension PullResponse {
    /// The binary form: message type 3, the hub's id, `next`, `more`, `head`, `hubTime`, then the
    /// entries as a batch with positions.
    public func binary(compression: WireCompression = .default) -> [UInt8] {
        var message = BinaryEnvelope.begin(.pullResponse, capacity: 16 * entries.count + 32)
        message.string(hub.rawValue)
        message.signed(next)
        message.byte(more ? 1 : 0)
        message.signed(head)
        message.varint(hubTime)
        BinaryChanges.writeBatch(entries.map(\.change), positions: entries.map(\.pos), to: &message)
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
                case let b: throw reader.error("'more' must be 0 or 1, not \(b)")
                }
                let head = try reader.signed()
                let hubTime = try reader.varint()
                let batch = try BinaryChanges.readBatch(from: &reader)
                guard let positions = batch.positions else { throw reader.error("missing log positions") }
                let entries = zip(positions, batch.changes).map { LogEntry(pos: $0, change: $1) }
                return PullResponse(hub: hub, entries: entries, next: next, more: more, head: head, hubTime: hubTime)
            }
        }
    }
}
