import Testing
import YuqingCore
import YuqingTestSupport

/// A change's context is sorted and free of duplicates however it was given (the initialiser
/// skips the work when it already is).
@Suite struct ChangeContextTests {
    func change(_ context: [Dot]) -> Change {
        Change(dot: Dot(replica: ReplicaID("z"), counter: 9), hlc: HLC(wallMillis: 1), record: .case("c1"),
               field: FieldKey("title"), value: .text("t"), context: context, author: "u")
    }

    func dot(_ s: String) -> Dot { Dot(s)! }

    @Test func contextIsSortedAndDeduplicated() {
        #expect(change([]).context == [])
        #expect(change([dot("b:2")]).context == [dot("b:2")])
        #expect(change([dot("a:1"), dot("a:2"), dot("b:1")]).context == [dot("a:1"), dot("a:2"), dot("b:1")])
        #expect(change([dot("b:1"), dot("a:2"), dot("a:1")]).context == [dot("a:1"), dot("a:2"), dot("b:1")])
        #expect(change([dot("a:1"), dot("a:1")]).context == [dot("a:1")])
        #expect(change([dot("a:1"), dot("b:3"), dot("b:3"), dot("c:1")]).context == [dot("a:1"), dot("b:3"), dot("c:1")])
        #expect(change([dot("a:10"), dot("a:9")]).context == [dot("a:9"), dot("a:10")])
    }
}
