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
        return nil
    }
}
