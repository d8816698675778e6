import Crypto

/// The Merkle tree over a run's change hashes that a seal signs the root of
/// (`Protocol/security.md` §3.2), shaped as RFC 6962's: a run of n > 1 leaves splits into the first
/// k leaves, k the largest power of two below n, and the rest. A leaf is SHA-256(0x00 ‖ hash), an
/// inner node SHA-256(0x01 ‖ left ‖ right), so no leaf can pass for a node.
///
/// A reader that holds only some of a run's changes (a unit that may not see the others) checks
/// them with a proof: the hashes of the largest subtrees in which it holds no change, left to
/// right. Both sides walk the tree the same way, so the proof needs no positions.
public enum MerkleTree {
    /// The root over `count` leaves (0 leaves: SHA-256 of nothing).
    ///
    /// Computed level by level in one buffer, pairing neighbours and carrying an odd last node up
    /// unchanged: for this tree shape that is the same root as the recursive definition (the left
    /// part of every split is a complete tree), without an allocation per node.
    public static func root(count: Int, leaf: (Int) -> [UInt8]) -> [UInt8] {
        root(count: count, writeLeaf: { i, slot in
            let h = leaf(i)
            let n = min(32, h.count)
            h.withUnsafeBytes { slot.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
            return n
        })
    }

    /// The root over `count` leaves whose hashes `writeLeaf(i, slot)` writes into `slot` (32
    /// bytes), returning how many it wrote: the leaves' hashes are never arrays of their own.
    public static func root(count: Int, writeLeaf: (Int, UnsafeMutableRawBufferPointer) -> Int) -> [UInt8] {
        guard count > 0 else { return Array(Crypto.SHA256.hash(data: [UInt8]())) }
        var level = [UInt8](repeating: 0, count: count * 32)
        var message = [UInt8](repeating: 0, count: 65)
        level.withUnsafeMutableBytes { out in
            message.withUnsafeMutableBytes { msg in
                func hash(_ length: Int, into slot: Int) {
                    OneShotSHA256.hash(UnsafeRawBufferPointer(rebasing: msg[0..<length]), into: out.baseAddress!.advanced(by: slot * 32))
                }
                msg[0] = 0
                for i in 0..<count {
                    let n = writeLeaf(i, UnsafeMutableRawBufferPointer(rebasing: msg[1..<33]))
                    hash(1 + min(32, max(0, n)), into: i)
                }
                var width = count
                msg[0] = 1
                while width > 1 {
                    var next = 0, i = 0
                    while i + 1 < width {
                        msg.baseAddress!.advanced(by: 1).copyMemory(from: out.baseAddress!.advanced(by: i * 32), byteCount: 64)
                        hash(65, into: next)
                        next += 1
                        i += 2
                    }
                    if i < width {
                        out.baseAddress!.advanced(by: next * 32).copyMemory(from: out.baseAddress!.advanced(by: i * 32), byteCount: 32)
                        next += 1
                    }
                    width = next
                }
            }
        }
        return Array(level[0..<32])
    }

    /// The root of a run of which the leaves where `present` holds are given by `leaf`, and each
    /// largest subtree without one by the next hash of `proof`; nil when `proof` does not fit
    /// (too short, or hashes left over).
    public static func root(count: Int, present: (Int) -> Bool, leaf: (Int) -> [UInt8], proof: [[UInt8]]) -> [UInt8]? {
        guard count > 0 else { return proof.isEmpty ? root(count: 0, leaf: leaf) : nil }
        var next = 0
        func walk(_ range: Range<Int>) -> [UInt8]? {
            if !range.contains(where: present) {
                guard next < proof.count, proof[next].count == 32 else { return nil }
                next += 1
                return proof[next - 1]
            }
            if range.count == 1 { return hashLeaf(leaf(range.lowerBound)) }
            let k = split(range.count)
            guard let l = walk(range.lowerBound..<range.lowerBound + k), let r = walk(range.lowerBound + k..<range.upperBound) else { return nil }
            return hashNode(l, r)
        }
        guard let r = walk(0..<count), next == proof.count else { return nil }
        return r
    }

    /// The proof for a reader holding the leaves where `present` holds: the hash of each largest
    /// subtree without one, left to right, computed from `leaf` (only those leaves are asked for).
    public static func proof(count: Int, present: (Int) -> Bool, leaf: (Int) -> [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        func walk(_ range: Range<Int>) {
            if !range.contains(where: present) { out.append(subtree(range, leaf: leaf)); return }
            if range.count == 1 { return }
            let k = split(range.count)
            walk(range.lowerBound..<range.lowerBound + k)
            walk(range.lowerBound + k..<range.upperBound)
        }
        if count > 0 { walk(0..<count) }
        return out
    }

    static func subtree(_ range: Range<Int>, leaf: (Int) -> [UInt8]) -> [UInt8] {
        if range.count == 1 { return hashLeaf(leaf(range.lowerBound)) }
        let k = split(range.count)
        return hashNode(subtree(range.lowerBound..<range.lowerBound + k, leaf: leaf), subtree(range.lowerBound + k..<range.upperBound, leaf: leaf))
    }

    /// The largest power of two below `n` (n > 1).
    static func split(_ n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    static func hashLeaf(_ h: [UInt8]) -> [UInt8] {
        var d = Crypto.SHA256()
        d.update(data: [0])
        d.update(data: h)
        return Array(d.finalize())
    }

    static func hashNode(_ l: [UInt8], _ r: [UInt8]) -> [UInt8] {
        var d = Crypto.SHA256()
        d.update(data: [1])
        d.update(data: l)
        d.update(data: r)
        return Array(d.finalize())
    }
}
