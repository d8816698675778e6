import Foundation
import YuqingCore

/// Checks on what arrives from the network, before anything is stored.
public enum WireValidation {
    /// Replica ids: 1–64 letters, digits, `-` or `_`.
    public static func isValidReplicaID(_ id: ReplicaID) -> Bool {
        let s = id.rawValue.utf8
        return (1...64).contains(s.count) && s.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
        }
    }

    /// Returns why a change is malformed, or nil when it is well formed.
    public static func problem(with change: Change) -> String? {
        if !isValidReplicaID(change.dot.replica) { return "change \(change.dot): replica id must be 1-64 letters, digits, '-' or '_'" }
        if change.dot.counter == 0 { return "change \(change.dot): counters start at 1" }
        if change.dot.counter > UInt64(Int64.max) { return "change \(change.dot): counter out of range" }
        if change.hlc.packed > UInt64(Int64.max) { return "change \(change.dot): hlc out of range" }
        if change.record.kind.isEmpty || change.record.id.isEmpty { return "change \(change.dot): record kind and id must not be empty" }
        if change.field.name.isEmpty { return "change \(change.dot): field name must not be empty" }
        if change.context.contains(change.dot) { return "change \(change.dot): a change cannot supersede itself" }
        if let bad = change.context.first(where: { !isValidReplicaID($0.replica) || $0.counter == 0 || $0.counter > UInt64(Int64.max) }) {
            return "change \(change.dot): malformed context dot \(bad)"
        }
        if let problem = ChangeLimits.problem(with: change) { return problem }
        for (what, s) in [("record kind", change.record.kind), ("record id", change.record.id),
                          ("field name", change.field.name), ("element", change.field.element)] where !isNFC(s) {
            return "change \(change.dot): the \(what) is not in Unicode normalisation form C; names are sent in NFC (§3.1)"
        }
        return nil
    }

    /// Whether `s` is in Unicode normalisation form C. Text made only of characters that never
    /// combine (below U+0300, the CJK ideographs and punctuation, Hangul syllables, full-width
    /// forms) is checked without normalising it.
    public static func isNFC(_ s: String) -> Bool {
        let stable = s.unicodeScalars.allSatisfy { c in
            let v = c.value
            return v < 0x300 || (0x3000...0x3098).contains(v) || (0x309B...0x9FFF).contains(v)
                || (0xAC00...0xD7A3).contains(v) || (0xFF00...0xFFEF).contains(v)
        }
        return stable || s.precomposedStringWithCanonicalMapping.utf8.elementsEqual(s.utf8)
    }

    /// How far ahead of the receiver's clock a change's timestamp may be: seven days. A device
    /// whose clock runs further ahead is set wrong; its changes are refused (§5.2).
    public static let maxTimestampAheadMillis: UInt64 = 7 * 24 * 3600 * 1000

    /// Why a change's timestamp is unacceptable at `now` (ms since 1970), or nil.
    public static func timestampProblem(with change: Change, now: UInt64) -> String? {
        guard change.hlc.wallMillis > now &+ maxTimestampAheadMillis else { return nil }
        let days = (change.hlc.wallMillis - now) / 86_400_000
        return "change \(change.dot) is stamped \(days) days ahead of the hub's clock: the clock of the device that made it is set wrong. Set it right, then run `yuqing node reissue` on that node to send its unsynced work with new timestamps"
    }
}
