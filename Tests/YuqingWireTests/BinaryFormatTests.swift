import Foundation
import Testing
import YuqingCore
import YuqingTestSupport
import YuqingWire

/// The binary form is part of the protocol (`Protocol/sync.md` §3.3): these tests pin its bytes,
/// round-trip what it must carry, and feed it what a hostile peer could send.
@Suite struct BinaryFormatTests {
    // MARK: - The worked example of §3.3

    static let n1 = ReplicaID("n1"), hub = ReplicaID("hub")
    static let example: [Change] = [
        Change(dot: Dot(replica: n1, counter: 7), hlc: HLC(wallMillis: 1_767_225_600_000, logical: 3), record: .case("YQ-1"),
               field: FieldKey("level"), value: .text("II"), context: [Dot(replica: n1, counter: 5)], author: "Unit A"),
        Change(dot: Dot(replica: n1, counter: 8), hlc: HLC(wallMillis: 1_767_225_600_000, logical: 4), record: .case("YQ-1"),
               field: FieldKey("co_units", element: "Bureau B"), value: .integer(1), context: [], author: "Unit A"),
        Change(dot: Dot(replica: hub, counter: 3), hlc: HLC(wallMillis: 1_767_225_600_005), record: .case("YQ-1"),
               field: FieldKey("co_units", element: "Bureau B"), value: nil, context: [Dot(replica: n1, counter: 8)], author: "operator"),
    ]
    static let examplePositions: [Int64] = [40, 41, 43]
    /// The example's bytes, 16 to a line, exactly as `Protocol/sync.md` prints them.
    static let exampleHex = """
        59 51 01 01 00 03 01 0b 02 6e 31 04 63 61 73 65
        04 59 51 2d 31 05 6c 65 76 65 6c 00 02 49 49 06
        55 6e 69 74 20 41 08 63 6f 5f 75 6e 69 74 73 08
        42 75 72 65 61 75 20 42 03 68 75 62 08 6f 70 65
        72 61 74 6f 72 03 50 02 04 03 00 00 09 03 0e 02
        06 0d 86 80 80 80 d5 b6 bb 9b 03 02 f8 ff 27 03
        01 01 01 03 02 02 02 03 03 07 07 03 04 08 08 05
        01 05 02 02 00 07 01 00 03 00 01 00 0a 03 06 06
        0a
        """

    static func hex(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: bytes.count, by: 16).map { start in
            bytes[start..<min(start + 16, bytes.count)].map { String(format: "%02x", $0) }.joined(separator: " ")
        }.joined(separator: "\n")
    }

    /// The same example packed (revision 2): the string table grouped by column and front-coded,
    /// the string columns as differences.
    static let packedExampleHex = """
        59 51 01 01 00 03 03 0b 00 02 6e 31 00 03 68 75
        62 00 04 63 61 73 65 00 04 59 51 2d 31 00 05 6c
        65 76 65 6c 00 08 63 6f 5f 75 6e 69 74 73 00 00
        00 08 42 75 72 65 61 75 20 42 00 02 49 49 00 06
        55 6e 69 74 20 41 00 08 6f 70 65 72 61 74 6f 72
        03 50 02 04 03 00 00 02 03 0e 02 06 0d 86 80 80
        80 d5 b6 bb 9b 03 02 f8 ff 27 03 04 00 00 03 06
        00 00 03 08 02 00 03 0c 02 00 05 01 10 02 02 00
        07 01 00 03 00 01 00 0a 03 12 00 02
        """

    @Test(arguments: [1, 2])
    func exampleHasPinnedBytes(revision: Int) throws {
        let bytes = BinaryChanges.encode(Self.example, positions: Self.examplePositions, compression: .none, revision: revision)
        #expect(Self.hex(bytes) == (revision == 1 ? Self.exampleHex : Self.packedExampleHex))
        let decoded = try BinaryChanges.decode(bytes)
        #expect(decoded.changes == Self.example)
        #expect(decoded.positions == Self.examplePositions)
    }

    @Test func protocolDocumentShowsTheExample() throws {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Protocol/sync.md")
        let text = try String(contentsOf: doc, encoding: .utf8)
        #expect(text.contains(Self.exampleHex))
        #expect(text.contains(Self.packedExampleHex))
    }

    /// Records of their own with distinct text in each (the realistic workload's shape): a packed
    /// batch must be much smaller than a plain one, compressed, or revision 2 is not worth having.
    @Test func packingShrinksDistinctText() throws {
        let changes = (0..<4_000).map { i in
            Change(dot: Dot(replica: Self.n1, counter: UInt64(i + 1)), hlc: HLC(wallMillis: 1_800_000_000_000 + UInt64(i / 8)),
                   record: .case("n1-c\(i / 8)"), field: FieldKey("f\(i % 8)"), value: .text("值1-\(i / 8)-\(i % 8)"), context: [],
                   author: "Unit A")
        }
        let plain = BinaryChanges.encode(changes, revision: 1), packed = BinaryChanges.encode(changes, revision: 2)
        #expect(packed.count * 3 < plain.count, "packed \(packed.count) bytes, plain \(plain.count)")
        try Self.expectExactlyEqual(try BinaryChanges.decode(packed).changes, changes)
    }

    // MARK: - Round trips

    /// Strings that are easy to get wrong: empty, non-ASCII, long, and one text in two Unicode
    /// spellings (precomposed and decomposed `é`), which Swift calls equal but the wire must keep apart.
    static let awkward = ["", "IV", "舆情处置", "café", "cafe\u{301}", "🇨🇳 emoji", "tab\tand\nnewline", "nul\u{0}byte",
                          String(repeating: "long text ", count: 2_000)]
    static let replicas = ["a", "hub", "5f2c9e0a1b3d4c67", "9a41d7c2e8f05b13", String(repeating: "x", count: 64), "node-1_B"]

    static func randomChange(_ rng: inout SeededRandom, previous: Change?) -> Change {
        func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &rng)] }
        let bigCounters: [UInt64] = [1, 2, UInt64(Int64.max), UInt64(Int64.max) - 1, UInt64.max]
        func counter() -> UInt64 {
            Bool.random(using: &rng) ? UInt64.random(in: 1...1_000, using: &rng)
                : Bool.random(using: &rng) ? pick(bigCounters) : UInt64.random(in: 1...UInt64(Int64.max), using: &rng)
        }
        let value: FieldValue? = switch Int.random(in: 0..<4, using: &rng) {
        case 0: nil
        case 1: .integer(pick([0, 1, -1, Int64.min, Int64.max, Int64.random(in: .min ... .max, using: &rng)]))
        default: .text(pick(awkward + ["registered", "assessed"]))
        }
        let context = (0..<Int.random(in: 0...5, using: &rng)).map { _ in Dot(replica: ReplicaID(pick(replicas)), counter: counter()) }
        let hlc: UInt64 = switch Int.random(in: 0..<4, using: &rng) {
        case 0: pick([0, UInt64(Int64.max), UInt64.max])
        case 1: (previous?.hlc.packed ?? 0) &+ 1
        default: UInt64.random(in: (1_700_000_000_000 << 16)...(1_900_000_000_000 << 16), using: &rng)
        }
        return Change(dot: Dot(replica: ReplicaID(pick(replicas)), counter: counter()), hlc: HLC(packed: hlc),
                      record: RecordRef(kind: pick(["case", "other", "案件"]), id: pick(["YQ-1", "YQ-2", "", "c\(Int.random(in: 0..<50, using: &rng))"])),
                      field: FieldKey(pick(["title", "level", "co_units", "notes", ""]), element: pick(["", "Bureau B", "N1"] + awkward)),
                      value: value, context: context, author: pick(["Township A", "operator", ""] + awkward))
    }

    static func randomBatch(seed: UInt64, count: Int) -> (changes: [Change], positions: [Int64]) {
        var rng = SeededRandom(seed: seed)
        var changes: [Change] = []
        for _ in 0..<count { changes.append(randomChange(&rng, previous: changes.last)) }
        var pos = Int64.random(in: 0...1_000, using: &rng)
        let positions = changes.indices.map { i -> Int64 in
            if i % 97 == 5 { return [Int64.min, Int64.max, -1, 0][i % 4] }
            pos += Int64.random(in: 1...20, using: &rng)
            return pos
        }
        return (changes, positions)
    }

    /// Equal as Swift compares them *and* byte for byte: JSON keeps every string's bytes.
    static func expectExactlyEqual(_ a: [Change], _ b: [Change]) throws {
        #expect(a == b)
        #expect(try WireJSON.encode(a) == WireJSON.encode(b))
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomBatchesRoundTrip(seed: UInt64) throws {
        let count = seed == 1 ? 0 : seed == 2 ? 1 : Int(seed) * 150
        let (changes, positions) = Self.randomBatch(seed: seed, count: count)
        for compression in [WireCompression.none, .zlib(level: 1), .default, .zlib(level: 9)] {
            for revision in [1, 2] {
                let without = try BinaryChanges.decode(BinaryChanges.encode(changes, compression: compression, revision: revision))
                try Self.expectExactlyEqual(without.changes, changes)
                #expect(without.positions == nil)
                let with = try BinaryChanges.decode(BinaryChanges.encode(changes, positions: positions, compression: compression,
                                                                         revision: revision))
                try Self.expectExactlyEqual(with.changes, changes)
                #expect(with.positions == positions)
            }
        }
    }

    @Test func bothSpellingsOfATextSurvive() throws {
        let (changes, _) = Self.randomBatch(seed: 9, count: 2)
        var a = changes[0], b = changes[1]
        a.value = .text("café")
        b.value = .text("cafe\u{301}")
        for revision in [1, 2] {
            let decoded = try BinaryChanges.decode(BinaryChanges.encode([a, b, a], revision: revision)).changes
            #expect(decoded.map { Array($0.value!.description.utf8) } == [Array("café".utf8), Array("cafe\u{301}".utf8), Array("café".utf8)])
        }
    }

    @Test func compressionIsUsedWhenItHelps() throws {
        let big = Self.repetitiveBatch(count: 2_000)
        let compressed = BinaryChanges.encode(big)
        let plain = BinaryChanges.encode(big, compression: .none)
        #expect(compressed[4] == 1 && plain[4] == 0)
        #expect(compressed.count * 5 < plain.count)
        #expect(try BinaryChanges.decode(compressed).changes == big)
        // One tiny change does not shrink under zlib, so it goes uncompressed even when asked.
        #expect(BinaryChanges.encode([Self.example[0]])[4] == 0)
    }

    @Test func pushAndPullRoundTrip() throws {
        let (changes, positions) = Self.randomBatch(seed: 11, count: 300)
        let push = PushRequest(replica: ReplicaID("5f2c9e0a1b3d4c67"), changes: changes)
        for compression in [WireCompression.none, .default] {
            #expect(try PushRequest(binary: push.binary(compression: compression)) == push)
            #expect(try PushRequest(binary: push.binary(compression: compression, revision: 1)) == push)
        }
        #expect(try PushRequest(binary: PushRequest(replica: ReplicaID("n"), changes: []).binary()).changes.isEmpty)
        let entries = zip(positions, changes).map { LogEntry(pos: $0, change: $1) }
        for (more, next, head) in [(true, Int64(412), Int64(9_000)), (false, 0, 0), (false, Int64.max, Int64.min)] {
            let pull = PullResponse(hub: ReplicaID("c0ffee0000000001"), entries: entries, next: next, more: more, head: head,
                                    hubTime: 1_767_225_600_500)
            #expect(try PullResponse(binary: pull.binary()) == pull)
            #expect(try PullResponse(binary: pull.binary(revision: 1)) == pull)
            #expect(try PullResponse(binary: Data(pull.binary(compression: .none))) == pull)
        }
        let empty = PullResponse(hub: ReplicaID("h"), entries: [], next: 5, more: false, head: 5, hubTime: .max)
        #expect(try PullResponse(binary: empty.binary()) == empty)
        #expect(WireMedia.binary == "application/vnd.yuqing.v1+binary" && WireMedia.json == "application/json")
    }

    @Test func messagesOfAnotherTypeAreRefused() {
        let push = PushRequest(replica: ReplicaID("n1"), changes: Self.example).binary()
        Self.expectRefusal(try PullResponse(binary: push), mentioning: "expected a pull response, got a push request")
        Self.expectRefusal(try BinaryChanges.decode(push), mentioning: "expected a change batch")
        Self.expectRefusal(try PushRequest(binary: BinaryChanges.encode(Self.example)), mentioning: "got a change batch")
    }

    // MARK: - Hostile input

    static func expectRefusal<T>(_ body: @autoclosure () throws -> T, mentioning text: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try body()
            Issue.record("decoded, but should have been refused for \(text)", sourceLocation: sourceLocation)
        } catch let error as WireDecodingError {
            #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("threw \(error), not a WireDecodingError", sourceLocation: sourceLocation)
        }
    }

    static func repetitiveBatch(count: Int) -> [Change] {
        (0..<count).map { i in
            Change(dot: Dot(replica: n1, counter: UInt64(i + 1)), hlc: HLC(wallMillis: 1_800_000_000_000 + UInt64(i / 8)),
                   record: .case("c\(i / 8)"), field: FieldKey("f\(i % 8)"), value: .text("registered"), context: [], author: "Unit A")
        }
    }

    @Test func everyTruncationIsRefused() throws {
        let (changes, positions) = Self.randomBatch(seed: 21, count: 12)
        let messages = [BinaryChanges.encode(changes, positions: positions, compression: .none),
                        BinaryChanges.encode(changes, positions: positions, compression: .none, revision: 1),
                        BinaryChanges.encode(Self.repetitiveBatch(count: 300)),
                        PullResponse(hub: Self.hub, entries: [LogEntry(pos: 1, change: Self.example[0])], next: 1, more: false,
                                     head: 1, hubTime: 1).binary(compression: .none)]
        for message in messages {
            for length in 0..<message.count {
                #expect(throws: WireDecodingError.self) {
                    if message[3] == 3 { _ = try PullResponse(binary: message[..<length]) } else { _ = try BinaryChanges.decode(message[..<length]) }
                }
            }
        }
        Self.expectRefusal(try BinaryChanges.decode(Array(messages[0].dropLast())), mentioning: "column author of")
        Self.expectRefusal(try BinaryChanges.decode(messages[0] + [0]), mentioning: "trailing bytes")
    }

    @Test func flippedBytesNeverCrash() {
        var rng = SeededRandom(seed: 31)
        let (changes, positions) = Self.randomBatch(seed: 32, count: 40)
        let messages = [BinaryChanges.encode(changes, positions: positions, compression: .none), BinaryChanges.encode(changes, positions: positions),
                        BinaryChanges.encode(changes, positions: positions, compression: .none, revision: 1),
                        PushRequest(replica: Self.n1, changes: changes).binary(compression: .none)]
        var refused = 0, decoded = 0
        for message in messages {
            for _ in 0..<1_500 {
                var bytes = message
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let i = Int.random(in: 0..<bytes.count, using: &rng)
                    bytes[i] ^= UInt8.random(in: 1...255, using: &rng)
                }
                do {
                    if message[3] == 2 { _ = try PushRequest(binary: bytes) } else { _ = try BinaryChanges.decode(bytes) }
                    decoded += 1
                } catch is WireDecodingError {
                    refused += 1
                } catch {
                    Issue.record("threw \(error), not a WireDecodingError")
                }
            }
        }
        #expect(refused > 0 && refused + decoded == 6_000)
    }

    /// A hand-made uncompressed change batch: the header, then `payload`.
    static func batch(_ payload: [UInt8]) -> [UInt8] { [0x59, 0x51, 1, 1, 0] + payload }

    /// One change as a hand-made payload: `n = 1`, no positions, the strings `a`, and the columns
    /// (each one entry) as given.
    static func oneChange(value: [UInt8] = [0], context: [UInt8] = [0], replica: [UInt8] = [0]) -> [UInt8] {
        let columns: [[UInt8]] = [replica, [2], [2], [0], [0], [0], [0], value, context, [0]]
        return batch([1, 0, 1, 1, 0x61] + columns.flatMap { [UInt8($0.count)] + $0 })
    }

    @Test func handMadeBatchesAreReadOrRefusedPrecisely() throws {
        let fine = try BinaryChanges.decode(Self.oneChange())
        #expect(fine.changes == [Change(dot: Dot(replica: ReplicaID("a"), counter: 1), hlc: HLC(packed: 1), record: RecordRef(kind: "a", id: "a"),
                                        field: FieldKey("a", element: "a"), value: nil, context: [], author: "a")])
        Self.expectRefusal(try BinaryChanges.decode(Self.oneChange(value: [3])), mentioning: "unknown value tag 3")
        Self.expectRefusal(try BinaryChanges.decode(Self.oneChange(value: [1, 1])), mentioning: "string index 1 outside the table of 1")
        Self.expectRefusal(try BinaryChanges.decode(Self.oneChange(replica: [0x80])), mentioning: "truncated change batch (column replica)")
        Self.expectRefusal(try BinaryChanges.decode(Self.oneChange(replica: [0, 0])), mentioning: "unexpected trailing bytes in change batch (column replica)")
        Self.expectRefusal(try BinaryChanges.decode(Self.oneChange(context: [0x7F, 0, 2])), mentioning: "context size 127 exceeds")
        Self.expectRefusal(try BinaryChanges.decode(Self.batch([1, 0, 1, 2, 0xC3, 0x28])), mentioning: "invalid UTF-8")
        Self.expectRefusal(try BinaryChanges.decode(Self.batch([1, 4])), mentioning: "unknown batch options")
        // Packed (option 2): a shared prefix longer than the string before it, an index
        // difference that leaves the table.
        let packedFine = Self.batch([1, 2, 2, 0, 1, 0x61, 1, 1, 0x62] + ([[0], [2], [2], [0], [2], [0], [0], [0], [0], [0]] as [[UInt8]]).flatMap { [UInt8($0.count)] + $0 })
        #expect(try BinaryChanges.decode(packedFine).changes[0].record == RecordRef(kind: "a", id: "ab"))
        Self.expectRefusal(try BinaryChanges.decode(Self.batch([1, 2, 1, 1, 1, 0x61])), mentioning: "shares 1 bytes with the 0-byte string before it")
        Self.expectRefusal(try BinaryChanges.decode(Self.batch([1, 2, 1, 0, 1, 0x61] + ([[2], [2], [2], [0], [0], [0], [0], [0], [0], [0]] as [[UInt8]]).flatMap { [UInt8($0.count)] + $0 })),
                           mentioning: "string index 0 + 1 outside the table of 1")
        Self.expectRefusal(try BinaryChanges.decode(Self.batch([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02])),
                           mentioning: "varint longer than 64 bits")
        // Header checks.
        Self.expectRefusal(try BinaryChanges.decode(Array("{\"changes\":[]}".utf8)), mentioning: "does not start with 'YQ'")
        Self.expectRefusal(try BinaryChanges.decode([0x59, 0x51, 2, 1, 0]), mentioning: "version 2 is not supported")
        Self.expectRefusal(try BinaryChanges.decode([0x59, 0x51, 1, 9, 0]), mentioning: "got message type 9")
        Self.expectRefusal(try BinaryChanges.decode([0x59, 0x51, 1, 1, 0x80]), mentioning: "unknown flags 0x80")
        Self.expectRefusal(try BinaryChanges.decode([0x59, 0x51, 1]), mentioning: "truncated change batch at byte 3")
        // A pull response's `more` is a boolean.
        let pull = PullResponse(hub: Self.hub, entries: [], next: 0, more: false, head: 0, hubTime: 0).binary(compression: .none)
        var badMore = pull
        badMore[5 + 4 + 1] = 7   // header, "hub" with its length, next
        Self.expectRefusal(try PullResponse(binary: badMore), mentioning: "'more' must be 0 or 1, not 7")
    }

    @Test func hugeDeclaredCountsAreRefusedBeforeAllocating() {
        let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]   // 2⁶³ − 1
        Self.expectRefusal(try BinaryChanges.decode(Self.batch(huge + [0, 0])), mentioning: "change count 9223372036854775807 exceeds")
        Self.expectRefusal(try BinaryChanges.decode(Self.batch([1, 0] + huge)), mentioning: "string count")
        Self.expectRefusal(try BinaryChanges.decode(Self.batch([1, 0, 1] + huge)), mentioning: "truncated change batch at byte 8: string of 9223372036854775807 bytes, only 0 left")
        Self.expectRefusal(try BinaryChanges.decode(Self.batch([1, 0, 1, 1, 0x61] + huge)), mentioning: "column replica of 9223372036854775807 bytes")
        // A count within the bytes, but more changes than a column holds entries for.
        Self.expectRefusal(try BinaryChanges.decode(Self.batch([10, 0, 1, 1, 0x61] + Array(repeating: [1, 0], count: 10).flatMap { $0 })),
                           mentioning: "truncated change batch (column replica)")
    }

    /// The inflated length a compressed message declares, and where its zlib stream starts.
    static func declared(_ message: [UInt8]) -> (length: UInt64, stream: Int) {
        var i = 5, v: UInt64 = 0, shift: UInt64 = 0
        while true {
            v |= UInt64(message[i] & 0x7F) << shift
            shift += 7
            i += 1
            if message[i - 1] & 0x80 == 0 { return (v, i) }
        }
    }

    /// A compressed message rebuilt with another declared inflated length.
    static func redeclared(_ message: [UInt8], length: UInt64) -> [UInt8] {
        var out = Array(message[..<5])
        var v = length
        while v >= 0x80 { out.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out + message[declared(message).stream...]
    }

    @Test func inflationIsBounded() throws {
        // 100,000 writes of one field: over a megabyte of columns that deflate to a few kilobytes.
        let bomb = BinaryChanges.encode((1...100_000).map { i in
            Change(dot: Dot(replica: Self.n1, counter: UInt64(i)), hlc: HLC(packed: 1), record: .case("c"), field: FieldKey("f"),
                   value: .integer(1), context: [], author: "")
        })
        let inflated = Self.declared(bomb).length
        #expect(bomb[4] == 1 && inflated > 1_000_000 && bomb.count * 200 < inflated)
        #expect(try BinaryChanges.decode(bomb).changes.count == 100_000)
        Self.expectRefusal(try BinaryChanges.decode(bomb, maxPayloadBytes: 64 * 1024), mentioning: "over the limit of 65536")
        // Declaring less than the stream inflates to is caught when the output is full.
        Self.expectRefusal(try BinaryChanges.decode(Self.redeclared(bomb, length: 4_096)), mentioning: "inflates beyond the 4096 bytes")
        // Declaring more than deflate can produce, or than the default cap, is refused before allocating.
        Self.expectRefusal(try BinaryChanges.decode(Self.redeclared(bomb, length: 1 << 40)), mentioning: "over the limit of 536870912")
        Self.expectRefusal(try BinaryChanges.decode(Self.redeclared(bomb, length: 400 << 20)), mentioning: "more than its")
        Self.expectRefusal(try BinaryChanges.decode(Self.redeclared(bomb, length: inflated + 1)), mentioning: "inflates to \(inflated) bytes, not the")
        Self.expectRefusal(try BinaryChanges.decode(bomb + [0]), mentioning: "unexpected bytes after the compressed change batch")
        var corrupt = bomb
        corrupt[corrupt.count / 2] ^= 0xFF
        #expect(throws: WireDecodingError.self) { try BinaryChanges.decode(corrupt) }
    }
}
