import YuqingCore

/// The compact binary form of a batch of changes (`Protocol/sync.md` §3.3).
///
/// A batch is a string table (every replica id, kind, record id, field name, element, author and
/// text value, once each) followed by one column per attribute of a change, each column holding
/// that attribute for every change in order, with counters, timestamps and positions as
/// differences. Columns of small, repetitive numbers are what deflate compresses best, so the
/// zlib-compressed form of a typical batch takes a few bytes per change.
///
/// Decoding checks the form only; a received change still goes through
/// ``WireValidation/problem(with:)`` like one that arrived as JSON.
public enum BinaryChanges {
    /// The most bytes a compressed message may inflate to unless the caller says otherwise:
    /// 512 MiB, hundreds of times what a batch of the reference's sizes (500 pushed, at most 5,000
    /// pulled) inflates to, yet bounded so that a few compressed kilobytes cannot claim gigabytes.
    public static let defaultMaxPayloadBytes = 512 << 20

    /// The newest revision of the batch that this code reads and writes: 1, columns
    /// (`Protocol/sync.md` §3.3); 2, packed (option bit 1). A writer uses the revision its
    /// reader announced (`HubStatus/binaryRevision`, the pull's `binary` parameter).
    public static let revision = 2

    /// The binary message for `changes`, with each change's log position when `positions` is
    /// given (one per change, in the same order).
    public static func encode(_ changes: [Change], positions: [Int64]? = nil,
                              compression: WireCompression = .default, revision: Int = revision) -> [UInt8] {
        var message = BinaryEnvelope.begin(.changeBatch, capacity: 16 * changes.count)
        writeBatch(changes, positions: positions, packed: revision >= 2, to: &message)
        return BinaryEnvelope.seal(message, compression: compression)
    }

    /// The changes (and positions, when the batch has them) of a binary change batch.
    ///
    /// - Parameter maxPayloadBytes: a compressed message that would inflate to more is refused.
    /// - Throws: ``WireDecodingError`` when the bytes are not a well-formed change batch.
    public static func decode(_ bytes: some Sequence<UInt8>, maxPayloadBytes: Int = defaultMaxPayloadBytes) throws
        -> (changes: [Change], positions: [Int64]?)
    {
        try withContiguousBytes(bytes) { raw in
            try BinaryEnvelope.open(raw, as: .changeBatch, maxPayloadBytes: maxPayloadBytes) { try readBatch(from: &$0) }
        }
    }

    // MARK: - Layout

    /// Option bit 0 of a batch: the positions column is present.
    static let positionsOption: UInt8 = 0x01
    /// Option bit 1: the batch is packed (revision 2): its string table is front-coded and its
    /// string columns are differences.
    static let packedOption: UInt8 = 0x02

    /// The columns, in the order they follow the string table.
    enum Column: Int, CaseIterable {
        case position, replica, counter, hlc, kind, record, field, element, value, context, author
    }

    /// Value tags.
    static let noValue: UInt8 = 0, textValue: UInt8 = 1, integerValue: UInt8 = 2

    // MARK: - Writing

    /// Appends the batch (count, options, string table, columns) to `out`. A `packed` batch
    /// (option bit 1) groups its string table by column, writes each string against the one
    /// before it, and writes each string column as differences from its previous index.
    static func writeBatch(_ changes: [Change], positions: [Int64]?, packed: Bool = false, to out: inout ByteWriter) {
        precondition(positions == nil || positions!.count == changes.count, "one position per change")
        let n = changes.count
        var strings = StringTable(frontCoded: packed)
        // Each change's index of each string attribute; text values that are not text are -1.
        var replicaIndex = [Int32](repeating: 0, count: n), kindIndex = replicaIndex, recordIndex = replicaIndex
        var fieldIndex = replicaIndex, elementIndex = replicaIndex, valueIndex = replicaIndex, authorIndex = replicaIndex
        var contextIndex: [Int32] = []
        // The previous string of each string column, to skip the table lookup for runs (a record's
        // fields, one author, one kind).
        var replicaRun = StringTable.Run(), kindRun = StringTable.Run(), recordRun = StringTable.Run()
        var fieldRun = StringTable.Run(), elementRun = StringTable.Run(), authorRun = StringTable.Run()
        @inline(__always) func text(_ change: Change) -> String? {
            if case .text(let t)? = change.value { return t }
            return nil
        }
        if packed {
            // One column at a time, so that each column's strings sit together in the table.
            for (i, change) in changes.enumerated() {
                replicaIndex[i] = Int32(strings.index(change.dot.replica.rawValue, run: &replicaRun))
                for dot in change.context { contextIndex.append(Int32(strings.index(dot.replica.rawValue, run: &replicaRun))) }
            }
            for (i, change) in changes.enumerated() { kindIndex[i] = Int32(strings.index(change.record.kind, run: &kindRun)) }
            for (i, change) in changes.enumerated() { recordIndex[i] = Int32(strings.index(change.record.id, run: &recordRun)) }
            for (i, change) in changes.enumerated() { fieldIndex[i] = Int32(strings.index(change.field.name, run: &fieldRun)) }
            for (i, change) in changes.enumerated() { elementIndex[i] = Int32(strings.index(change.field.element, run: &elementRun)) }
            for (i, change) in changes.enumerated() { valueIndex[i] = text(change).map { Int32(strings.index($0)) } ?? -1 }
            for (i, change) in changes.enumerated() { authorIndex[i] = Int32(strings.index(change.author, run: &authorRun)) }
        } else {
            // In first-seen order.
            for (i, change) in changes.enumerated() {
                replicaIndex[i] = Int32(strings.index(change.dot.replica.rawValue, run: &replicaRun))
                kindIndex[i] = Int32(strings.index(change.record.kind, run: &kindRun))
                recordIndex[i] = Int32(strings.index(change.record.id, run: &recordRun))
                fieldIndex[i] = Int32(strings.index(change.field.name, run: &fieldRun))
                elementIndex[i] = Int32(strings.index(change.field.element, run: &elementRun))
                valueIndex[i] = text(change).map { Int32(strings.index($0)) } ?? -1
                for dot in change.context { contextIndex.append(Int32(strings.index(dot.replica.rawValue))) }
                authorIndex[i] = Int32(strings.index(change.author, run: &authorRun))
            }
        }

        var positionColumn = ByteWriter(capacity: positions == nil ? 0 : 2 * n), replicaColumn = ByteWriter(capacity: n)
        var counterColumn = ByteWriter(capacity: n), hlcColumn = ByteWriter(capacity: n), kindColumn = ByteWriter(capacity: n)
        var recordColumn = ByteWriter(capacity: 2 * n), fieldColumn = ByteWriter(capacity: n)
        var elementColumn = ByteWriter(capacity: n), valueColumn = ByteWriter(capacity: 2 * n)
        var contextColumn = ByteWriter(capacity: n), authorColumn = ByteWriter(capacity: n)
        // Per string index: the counter of the last change of that replica, which the next one's
        // counter is written against.
        var lastCounter = [UInt64](repeating: 0, count: strings.count)
        var previousHLC: UInt64 = 0
        // The previous index of each string column (packed batches).
        var previous = (replica: Int32(0), kind: Int32(0), record: Int32(0), field: Int32(0), element: Int32(0), value: Int32(0), author: Int32(0))
        @inline(__always) func put(_ index: Int32, _ last: inout Int32, _ column: inout ByteWriter) {
            if packed {
                column.signed(Int64(index) - Int64(last))
                last = index
            } else {
                column.varint(Int(index))
            }
        }

        if let positions {
            var previous: Int64 = 0
            for p in positions {
                positionColumn.signed(p &- previous)
                previous = p
            }
        }
        var nextContext = 0
        for (i, change) in changes.enumerated() {
            let replica = Int(replicaIndex[i])
            put(replicaIndex[i], &previous.replica, &replicaColumn)
            counterColumn.varint(delta(change.dot.counter, from: lastCounter[replica]))
            lastCounter[replica] = change.dot.counter
            hlcColumn.varint(delta(change.hlc.packed, from: previousHLC))
            previousHLC = change.hlc.packed
            put(kindIndex[i], &previous.kind, &kindColumn)
            put(recordIndex[i], &previous.record, &recordColumn)
            put(fieldIndex[i], &previous.field, &fieldColumn)
            put(elementIndex[i], &previous.element, &elementColumn)
            switch change.value {
            case nil:
                valueColumn.byte(noValue)
            case .text?:
                valueColumn.byte(textValue)
                put(valueIndex[i], &previous.value, &valueColumn)
            case .integer(let number)?:
                valueColumn.byte(integerValue)
                valueColumn.signed(number)
            }
            contextColumn.varint(change.context.count)
            for dot in change.context {
                contextColumn.varint(Int(contextIndex[nextContext]))
                nextContext += 1
                contextColumn.varint(delta(dot.counter, from: change.dot.counter))
            }
            put(authorIndex[i], &previous.author, &authorColumn)
        }

        out.varint(n)
        out.byte((positions == nil ? 0 : positionsOption) | (packed ? packedOption : 0))
        out.varint(strings.count)
        strings.bytes.withBytes { out.append($0) }
        if positions != nil { out.block(positionColumn) }
        out.block(replicaColumn)
        out.block(counterColumn)
        out.block(hlcColumn)
        out.block(kindColumn)
        out.block(recordColumn)
        out.block(fieldColumn)
        out.block(elementColumn)
        out.block(valueColumn)
        out.block(contextColumn)
        out.block(authorColumn)
    }

    // MARK: - Reading

    /// Reads a batch written by ``writeBatch(_:positions:to:)``, which must fill `reader` to its end.
    static func readBatch(from reader: inout ByteReader) throws -> (changes: [Change], positions: [Int64]?) {
        let n = try reader.count(atMost: reader.remaining, "change count", zh: "变更数量")
        let options = try reader.byte()
        guard options & ~(positionsOption | packedOption) == 0 else { throw reader.error("unknown batch options 0x\(String(options, radix: 16))", zh: "未知的批次选项 0x\(String(options, radix: 16))") }
        let hasPositions = options & positionsOption != 0
        let packed = options & packedOption != 0

        let m = try reader.count(atMost: reader.remaining, "string count", zh: "字符串数量")
        var strings: [String] = []
        strings.reserveCapacity(m)
        if packed {
            var previous: [UInt8] = []
            for _ in 0..<m { strings.append(try reader.frontCodedString(after: &previous)) }
        } else {
            for _ in 0..<m { strings.append(try reader.string()) }
        }
        let replicas = strings.map(ReplicaID.init(rawValue:))

        var columns: [ByteReader] = []
        for column in Column.allCases where column != .position || hasPositions {
            let c = try reader.block("column \(column)", zh: "\(column) 列")
            // Every entry of every column takes at least one byte.
            guard c.remaining >= n else { throw c.truncated("\(c.remaining) bytes cannot hold \(n) entries", zh: "\(c.remaining) 字节容纳不下 \(n) 项") }
            columns.append(c)
        }
        // What follows the batch (the seals) is the message's; the envelope checks its end.
        if !hasPositions { columns.insert(ByteReader(UnsafeRawBufferPointer(start: nil, count: 0), subject: "", zh: ""), at: 0) }

        var positions: [Int64]? = nil
        if hasPositions {
            var previous: Int64 = 0
            var ps: [Int64] = []
            ps.reserveCapacity(n)
            for _ in 0..<n {
                previous = previous &+ (try columns[Column.position.rawValue].signed())
                ps.append(previous)
            }
            positions = ps
        }

        var changes: [Change] = []
        changes.reserveCapacity(n)
        var lastCounter = [UInt64](repeating: 0, count: m)
        var previousHLC: UInt64 = 0
        // The previous index of each string column (packed batches).
        var previous = (replica: 0, kind: 0, record: 0, field: 0, element: 0, value: 0, author: 0)
        @inline(__always) func index(_ column: inout ByteReader, _ last: inout Int) throws -> Int {
            guard packed else { return try column.index(below: m) }
            last = try column.index(after: last, below: m)
            return last
        }
        try columns.withUnsafeMutableBufferPointer { c in
            for _ in 0..<n {
                let replica = try index(&c[Column.replica.rawValue], &previous.replica)
                let counter = undelta(try c[Column.counter.rawValue].varint(), from: lastCounter[replica])
                lastCounter[replica] = counter
                let hlc = undelta(try c[Column.hlc.rawValue].varint(), from: previousHLC)
                previousHLC = hlc
                let kind = try index(&c[Column.kind.rawValue], &previous.kind)
                let record = try index(&c[Column.record.rawValue], &previous.record)
                let field = try index(&c[Column.field.rawValue], &previous.field)
                let element = try index(&c[Column.element.rawValue], &previous.element)
                let value: FieldValue?
                switch try c[Column.value.rawValue].byte() {
                case noValue: value = nil
                case textValue: value = .text(strings[try index(&c[Column.value.rawValue], &previous.value)])
                case integerValue: value = .integer(try c[Column.value.rawValue].signed())
                case let tag: throw c[Column.value.rawValue].error("unknown value tag \(tag)", zh: "未知的值标记 \(tag)")
                }
                // Each context dot takes at least two bytes.
                let k = try c[Column.context.rawValue].count(atMost: c[Column.context.rawValue].remaining / 2, "context size", zh: "上下文大小")
                var context: [Dot] = []
                if k > 0 {
                    context.reserveCapacity(k)
                    for _ in 0..<k {
                        let r = try c[Column.context.rawValue].index(below: m)
                        let dotCounter = undelta(try c[Column.context.rawValue].varint(), from: counter)
                        context.append(Dot(replica: replicas[r], counter: dotCounter))
                    }
                }
                let author = try index(&c[Column.author.rawValue], &previous.author)
                changes.append(Change(
                    dot: Dot(replica: replicas[replica], counter: counter), hlc: HLC(packed: hlc),
                    record: RecordRef(kind: strings[kind], id: strings[record]),
                    field: FieldKey(strings[field], element: strings[element]),
                    value: value, context: context, author: strings[author]))
            }
            for column in c { try column.expectEnd() }
        }
        return (changes, positions)
    }
}
