import Foundation
import Testing
import YuqingCore
import YuqingTestSupport
import YuqingWire

/// The binary decoder against mutated messages: every input is either read or refused with a
/// `WireDecodingError`, never a crash, a hang or another error. `YUQING_FUZZ=N` runs N mutations
/// per message kind (default 5,000; the heavy run is 200,000).
@Suite struct BinaryFuzzTests {
    static let iterations = ProcessInfo.processInfo.environment["YUQING_FUZZ"].flatMap { Int($0) } ?? 5_000

    static func seals(_ changes: [Change]) -> [Seal] {
        let sig = Data((0..<64).map { UInt8($0) }).base64EncodedString()
        return Dictionary(grouping: changes, by: \.dot.replica).map { replica, cs in
            Seal(replica: replica, first: cs.map(\.dot.counter).min()!, last: cs.map(\.dot.counter).max()!, signature: sig)
        }.sorted { $0.replica < $1.replica }
    }

    @Test func sealsRoundTripInBothForms() throws {
        let (changes, positions) = BinaryFormatTests.randomBatch(seed: 41, count: 120)
        let seals = Self.seals(changes)
        let push = PushRequest(replica: ReplicaID("n1"), changes: changes, seals: seals)
        #expect(try PushRequest(binary: push.binary()) == push)
        #expect(try WireJSON.decode(PushRequest.self, from: WireJSON.encode(push)) == push)
        let pull = PullResponse(hub: ReplicaID("hub"), entries: zip(positions, changes).map { LogEntry(pos: $0, change: $1) },
                                next: 9, more: true, head: 99, hubTime: 1, seals: seals)
        #expect(try PullResponse(binary: pull.binary(compression: .none)) == pull)
        #expect(try WireJSON.decode(PullResponse.self, from: WireJSON.encode(pull)) == pull)
        // Without seals, a message is byte for byte what it was before seals existed.
        let bare = PushRequest(replica: ReplicaID("n1"), changes: changes)
        #expect(bare.binary(compression: .none).count < push.binary(compression: .none).count)
        #expect(!String(decoding: try WireJSON.encode(bare), as: UTF8.self).contains("seals"))
    }

    enum Mutation: CaseIterable { case flip, insert, delete, duplicate, truncate, splice }

    static func mutate(_ message: [UInt8], with other: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
        var bytes = message
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !bytes.isEmpty else { break }
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            switch Mutation.allCases.randomElement(using: &rng)! {
            case .flip: bytes[i] ^= UInt8.random(in: 1...255, using: &rng)
            case .insert: bytes.insert(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: i)
            case .delete: bytes.removeSubrange(i..<min(bytes.count, i + Int.random(in: 1...8, using: &rng)))
            case .duplicate: bytes.insert(contentsOf: bytes[i..<min(bytes.count, i + Int.random(in: 1...16, using: &rng))], at: i)
            case .truncate: bytes.removeSubrange(i...)
            case .splice:
                let j = Int.random(in: 0..<other.count, using: &rng)
                bytes.replaceSubrange(i..<min(bytes.count, i + 16), with: other[j..<min(other.count, j + 16)])
            }
        }
        return bytes
    }

    @Test(arguments: [false, true])
    func mutatedMessagesAreReadOrRefusedNeverCrash(compressed: Bool) {
        var rng = SeededRandom(seed: compressed ? 51 : 52)
        let (changes, positions) = BinaryFormatTests.randomBatch(seed: 53, count: 60)
        let compression: WireCompression = compressed ? .default : .none
        let push = PushRequest(replica: ReplicaID("n1"), changes: changes, seals: Self.seals(changes)).binary(compression: compression)
        let pull = PullResponse(hub: ReplicaID("hub"), entries: zip(positions, changes).map { LogEntry(pos: $0, change: $1) },
                                next: 9, more: false, head: 99, hubTime: 1, seals: Self.seals(changes)).binary(compression: compression)
        var decoded = 0, refused = 0
        for (message, other, isPush) in [(push, pull, true), (pull, push, false)] {
            for _ in 0..<Self.iterations {
                let bytes = Self.mutate(message, with: other, &rng)
                do {
                    if isPush { _ = try PushRequest(binary: bytes, maxPayloadBytes: 1 << 20) } else { _ = try PullResponse(binary: bytes, maxPayloadBytes: 1 << 20) }
                    decoded += 1
                } catch is WireDecodingError {
                    refused += 1
                } catch {
                    Issue.record("threw \(error), not a WireDecodingError")
                }
            }
        }
        #expect(refused > 0 && decoded + refused == 2 * Self.iterations)
    }
}
