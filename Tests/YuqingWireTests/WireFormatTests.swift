import Foundation
import Testing
import YuqingCore
import YuqingTestSupport
import YuqingWire

/// The JSON encoding is part of the protocol (`Protocol/sync.md`): these tests pin it.
@Suite struct WireFormatTests {
    static let change = Change(
        dot: Dot(replica: ReplicaID("node-1"), counter: 7), hlc: HLC(wallMillis: 1_800_000_000_000, logical: 2),
        record: .case("YQ-1"), field: FieldKey("co_units", element: "Bureau B"), value: .integer(1),
        context: [Dot(replica: ReplicaID("hub"), counter: 3), Dot(replica: ReplicaID("node-1"), counter: 5)], author: "Township A")

    @Test func changeHasAStableJSONForm() throws {
        let json = String(decoding: try WireJSON.encode(Self.change), as: UTF8.self)
        #expect(json == #"{"author":"Township A","context":["hub:3","node-1:5"],"dot":"node-1:7","field":{"element":"Bureau B","name":"co_units"},"hlc":117964800000000002,"record":{"id":"YQ-1","kind":"case"},"value":1}"#)
        #expect(try WireJSON.decode(Change.self, from: Data(json.utf8)) == Self.change)
    }

    @Test func removalOmitsTheValueAndTextStaysText() throws {
        var removal = Self.change
        removal.value = nil
        let json = String(decoding: try WireJSON.encode(removal), as: UTF8.self)
        #expect(!json.contains("\"value\""))
        #expect(try WireJSON.decode(Change.self, from: Data(json.utf8)).value == nil)
        var text = Self.change
        text.value = .text("12")
        #expect(try WireJSON.decode(Change.self, from: try WireJSON.encode(text)).value == .text("12"))
    }

    @Test func messagesRoundTrip() throws {
        let push = PushRequest(replica: ReplicaID("node-1"), changes: [Self.change])
        #expect(try WireJSON.decode(PushRequest.self, from: try WireJSON.encode(push)) == push)
        let pull = PullResponse(hub: ReplicaID("hub"), entries: [LogEntry(pos: 9, change: Self.change)], next: 9, more: false,
                                head: 12, hubTime: 1)
        #expect(try WireJSON.decode(PullResponse.self, from: try WireJSON.encode(pull)) == pull)
        let status = HubStatus(hub: ReplicaID("hub"), protocolVersion: protocolVersion, head: 3,
                               versionVector: VersionVector([ReplicaID("a"): 2]), openConflicts: 0, hubTime: 5)
        let statusJSON = String(decoding: try WireJSON.encode(status), as: UTF8.self)
        #expect(statusJSON.contains(#""versionVector":{"a":2}"#))
        #expect(try WireJSON.decode(HubStatus.self, from: Data(statusJSON.utf8)) == status)
    }

    /// The answer to a long poll, as `Protocol/sync.md` §5.7 prints it (without the spaces).
    @Test func waitResponseHasTheFormOfTheProtocolExample() throws {
        let wait = WaitResponse(hub: ReplicaID("c0ffee0000000001"), head: 1290, hubTime: 1_767_225_600_412)
        let json = String(decoding: try WireJSON.encode(wait), as: UTF8.self)
        #expect(json == #"{"head":1290,"hub":"c0ffee0000000001","hubTime":1767225600412}"#)
        #expect(try WireJSON.decode(WaitResponse.self, from: Data(#"{"head": 1290, "hub": "c0ffee0000000001", "hubTime": 1767225600412, "later": 1}"#.utf8)) == wait)
    }

    @Test func malformedChangesAreNamed() {
        var c = Self.change
        #expect(WireValidation.problem(with: c) == nil)
        c.dot = Dot(replica: ReplicaID("bad id"), counter: 1)
        #expect(WireValidation.problem(with: c)?.contains("replica id") == true)
        c = Self.change
        c.dot.counter = 0
        #expect(WireValidation.problem(with: c)?.contains("start at 1") == true)
        c = Self.change
        c.context = [c.dot]
        #expect(WireValidation.problem(with: c)?.contains("supersede itself") == true)
        #expect(throws: DecodingError.self) { try WireJSON.decode(Dot.self, from: Data(#""nocolon""#.utf8)) }
    }
}
