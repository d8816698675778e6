import Crypto
import Foundation
import YuqingCore

/// The canonical bytes of a change, and their SHA-256: what a device's seal covers
/// (`Protocol/security.md` §3).
///
/// Every field of the change is in it, so a change altered anywhere (value, context, author,
/// timestamp) no longer matches the seal its device signed.
public enum ChangeHash {
    /// `YQC1`, then: the dot (replica id, counter), the packed HLC, the record kind and id, the
    /// field name and element, the value (0 none, 1 text, 2 integer), the context dots in order,
    /// and the author. Strings are a 4-byte big-endian length and UTF-8; integers 8 bytes big-endian.
    public static func canonicalBytes(_ c: Change) -> [UInt8] {
        var out: [UInt8] = []
        canonical(c, into: &out)
        return out
    }

    /// ``canonicalBytes(_:)`` into `buffer` (emptied first, its storage reused).
    static func canonical(_ c: Change, into buffer: inout [UInt8]) {
        var w = CanonicalWriter(out: buffer)
        buffer = []
        w.out.removeAll(keepingCapacity: true)
        w.out.reserveCapacity(96 + c.author.utf8.count + c.record.id.utf8.count + c.field.element.utf8.count
                              + (c.value.map { if case .text(let t) = $0 { t.utf8.count } else { 8 } } ?? 0) + 24 * c.context.count)
        let value: CanonicalValue<String> = switch c.value {
        case nil: .none
        case .text(let t)?: .text(t)
        case .integer(let n)?: .integer(n)
        }
        w.change(replica: c.dot.replica.rawValue, counter: c.dot.counter, hlc: c.hlc.packed, kind: c.record.kind, record: c.record.id,
                 field: c.field.name, element: c.field.element, value: value, context: c.context, author: c.author)
        buffer = w.out
    }

    /// SHA-256 of ``canonicalBytes(_:)``, built in `buffer` (its storage reused from one change to the next).
    public static func hash(_ c: Change, buffer: inout [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { _ = hash(c, buffer: &buffer, into: $0) }
        return out
    }

    /// ``hash(_:buffer:)`` written into `slot` (32 bytes) instead of an array of its own.
    static func hash(_ c: Change, buffer: inout [UInt8], into slot: UnsafeMutableRawBufferPointer) -> Int {
        canonical(c, into: &buffer)
        buffer.withUnsafeBytes { OneShotSHA256.hash($0, into: slot.baseAddress!) }
        return 32
    }
}

extension Seal {
    /// The digest of a run from its changes' hashes, in counter order: the root of their Merkle
    /// tree (``MerkleTree``), so a reader holding only some of a run's changes checks them with the
    /// hashes of the subtrees it lacks (a ``SealProof``).
    public static func digest(hashes: [[UInt8]]) -> [UInt8] {
        MerkleTree.root(count: hashes.count, leaf: { hashes[$0] })
    }

    /// Checks that `key` signed this seal over changes with these hashes (their run, in counter order).
    public func verify(hashes: [[UInt8]], key: PublicKey) throws(SecurityError) {
        guard hashes.count == Int(clamping: count) else {
            throw SecurityError(.badSeal, "the seal of \(replica) \(first)...\(last) covers \(count) changes, not \(hashes.count)",
                                zh: "\(replica) \(first)...\(last) 的封签涵盖 \(count) 条变更，而不是 \(hashes.count) 条")
        }
        try verify(digest: Self.digest(hashes: hashes), key: key)
    }

    /// Checks a run of which only the changes of `leaves` (hashes by counter) are at hand: `proof`
    /// holds the hashes of the subtrees without any of them (``MerkleTree/proof(count:present:subtree:)``).
    public func verify(leaves: [UInt64: [UInt8]], proof: [[UInt8]], key: PublicKey) throws(SecurityError) {
        guard count <= UInt64(Int.max), leaves.keys.allSatisfy({ first <= $0 && $0 <= last }) else {
            throw SecurityError(.badSeal, "the seal of \(replica) \(first)...\(last) was given changes outside its run",
                                zh: "\(replica) \(first)...\(last) 的封签收到了其范围以外的变更")
        }
        let start = first
        if proof.isEmpty, UInt64(leaves.count) == count {
            // The whole run is at hand: the root without a proof walk.
            return try verify(digest: MerkleTree.root(count: leaves.count, leaf: { leaves[start + UInt64($0)]! }), key: key)
        }
        guard let root = MerkleTree.root(count: Int(count), present: { leaves[start + UInt64($0)] != nil },
                                         leaf: { leaves[start + UInt64($0)]! }, proof: proof) else {
            throw SecurityError(.badSeal, "the proof for the seal of \(replica) \(first)...\(last) does not fit the changes it came with: they were altered or forged",
                                zh: "\(replica) \(first)...\(last) 封签的证明与随附的变更不符：这些变更已被篡改或伪造")
        }
        try verify(digest: root, key: key)
    }

    package func verify(digest: [UInt8], key: PublicKey) throws(SecurityError) {
        guard let sig = Data(base64Encoded: signature),
              key.verify(signature: sig, for: Self.message(replica: replica, first: first, last: last, digest: digest)) else {
            throw SecurityError(.badSeal, "changes \(replica):\(first)...\(last) are not what device \(replica) signed: they were altered or forged after it made them",
                                zh: "变更 \(replica):\(first)...\(last) 与设备 \(replica) 签名的内容不符：它们在生成后被篡改或伪造")
        }
    }

    /// What is signed: `YUQING-SEAL-2`, the replica id, `first` and `last`, and the digest.
    public static func message(replica: ReplicaID, first: UInt64, last: UInt64, digest: [UInt8]) -> [UInt8] {
        var out = Array("YUQING-SEAL-2\n\(replica.rawValue)\n\(first)\n\(last)\n".utf8)
        out.append(contentsOf: digest)
        return out
    }

    /// Seals `changes` (one replica's, consecutive counters, in order) with `key`.
    public static func make(_ changes: [Change], key: SigningKey) throws(SecurityError) -> Seal {
        guard let firstChange = changes.first, let lastChange = changes.last else {
            throw SecurityError(.badSeal, "nothing to seal", zh: "没有需要加封签的变更")
        }
        try checkRun(changes)
        var buffer: [UInt8] = []
        let digest = digest(hashes: changes.map { ChangeHash.hash($0, buffer: &buffer) })
        let signature = key.sign(message(replica: firstChange.dot.replica, first: firstChange.dot.counter, last: lastChange.dot.counter, digest: digest))
        return Seal(replica: firstChange.dot.replica, first: firstChange.dot.counter, last: lastChange.dot.counter,
                    signature: signature.base64EncodedString())
    }

    /// Checks that `key` signed this seal over the changes of its run, found in `changes` by
    /// `index(counter)`: every counter of the run must be there, under this seal's replica.
    /// No change is copied; one buffer serves every change.
    public func verify(in changes: [Change], index: (UInt64) -> Int?, key: PublicKey) throws(SecurityError) {
        // Every counter of the run is found first; then the leaves are hashed straight into the
        // tree's buffer (no array per change).
        var positions: [Int] = []
        positions.reserveCapacity(Int(clamping: count))
        var n = first
        while true {
            guard let i = index(n), changes.indices.contains(i), changes[i].dot.replica == replica, changes[i].dot.counter == n else {
                throw SecurityError(.badSeal, "the seal of \(replica) \(first)...\(last) names change \(replica):\(n), which is not among the changes it came with",
                                    zh: "\(replica) \(first)...\(last) 的封签列出了变更 \(replica):\(n)，但随附的变更中没有它")
            }
            positions.append(i)
            if n == last { break }
            n += 1
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(512)
        let digest = MerkleTree.root(count: positions.count, writeLeaf: { k, slot in ChangeHash.hash(changes[positions[k]], buffer: &buffer, into: slot) })
        try verify(digest: digest, key: key)
    }

    /// Checks that `changes` are exactly this seal's run, in order, and that `key` signed them.
    public func verify(_ changes: [Change], key: PublicKey) throws(SecurityError) {
        guard changes.count == Int(clamping: count) else {
            throw SecurityError(.badSeal, "the seal of \(replica) \(first)...\(last) does not match the \(changes.count) changes given",
                                zh: "\(replica) \(first)...\(last) 的封签与给出的 \(changes.count) 条变更不符")
        }
        try verify(in: changes, index: { n in Int(n - first) }, key: key)
    }

    static func checkRun(_ changes: [Change]) throws(SecurityError) {
        guard let head = changes.first else { return }
        for (i, c) in changes.enumerated() where c.dot.replica != head.dot.replica || c.dot.counter != head.dot.counter &+ UInt64(i) {
            throw SecurityError(.badSeal, "a seal covers one replica's consecutive counters; \(c.dot) breaks the run from \(head.dot)",
                                zh: "一个封签只涵盖同一副本连续的计数；\(c.dot) 打断了从 \(head.dot) 开始的连续段")
        }
    }

    /// Seals for `changes` that belong to `replica`: one per run of consecutive counters.
    public static func runs(of changes: [Change], replica: ReplicaID) -> [[Change]] {
        var out: [[Change]] = []
        for c in changes.filter({ $0.dot.replica == replica }).sorted(by: { $0.dot.counter < $1.dot.counter }) {
            if let last = out.last?.last, last.dot.counter &+ 1 == c.dot.counter { out[out.count - 1].append(c) } else { out.append([c]) }
        }
        return out
    }
}
