/// A device's signature over a run of its own changes: counters `first...last` of `replica`,
/// every one of them, in counter order (`Protocol/security.md` §3). Made and checked by
/// `YuqingSecurity`; carried and stored as it is here.
///
/// On the wire a seal is only the range and the signature: a reader that holds the changes
/// recomputes their digest, so a seal costs its 64-byte signature and a few bytes more per push,
/// not per change.
public struct Seal: Codable, Hashable, Sendable {
    public var replica: ReplicaID
    public var first: UInt64
    public var last: UInt64
    /// Ed25519, base64 (64 bytes).
    public var signature: String

    public init(replica: ReplicaID, first: UInt64, last: UInt64, signature: String) {
        self.replica = replica
        self.first = first
        self.last = last
        self.signature = signature
    }

    public var count: UInt64 { last &- first &+ 1 }

    public func covers(_ dot: Dot) -> Bool { dot.replica == replica && first <= dot.counter && dot.counter <= last }
}
