/// The largest pieces a change may carry (`Protocol/sync.md` §3.4). Nodes refuse to make a change
/// beyond them and the hub refuses to store one, so every change, and therefore every batch of a
/// bounded count, has a bounded size. Large content (screenshots, saved pages) is not a field
/// value: it belongs in evidence blobs.
public enum ChangeLimits {
    /// A text value: 64 KiB of UTF-8.
    public static let maxValueBytes = 64 * 1024
    /// A record kind, record id, field name, element or author: 256 bytes of UTF-8.
    public static let maxNameBytes = 256
    /// Dots in one change's context: the values of one field it supersedes.
    public static let maxContextDots = 1024

    /// Why a change is beyond the limits, or nil.
    public static func problem(with change: Change) -> String? { check(change)?.message }

    /// ``problem(with:)`` in Chinese.
    public static func chineseProblem(with change: Change) -> String? { check(change)?.chinese }

    /// Why a change is beyond the limits, in English and in Chinese, or nil.
    static func check(_ change: Change) -> (message: String, chinese: String)? {
        let names: [(String, String, String)] = [
            ("record kind", "记录类型", change.record.kind), ("record id", "记录ID", change.record.id),
            ("field name", "字段名", change.field.name), ("element", "元素", change.field.element), ("author", "作者", change.author),
        ]
        for (what, whatZh, s) in names where s.utf8.count > maxNameBytes {
            return ("change \(change.dot): the \(what) is \(s.utf8.count) bytes; at most \(maxNameBytes) are allowed",
                    "变更 \(change.dot)：\(whatZh)的大小为 \(s.utf8.count) 字节；最多允许 \(maxNameBytes) 字节")
        }
        for (what, whatZh, s) in names where s.containsNUL {
            return ("change \(change.dot): the \(what) contains the character U+0000, which no text may hold",
                    "变更 \(change.dot)：\(whatZh)含有字符 U+0000，任何文本都不能包含该字符")
        }
        if case .text(let s)? = change.value, s.containsNUL {
            return ("change \(change.dot): the value contains the character U+0000, which no text may hold",
                    "变更 \(change.dot)：值含有字符 U+0000，任何文本都不能包含该字符")
        }
        if case .text(let s)? = change.value, s.utf8.count > maxValueBytes {
            return ("change \(change.dot): the value is \(s.utf8.count) bytes; a field value holds at most \(maxValueBytes) bytes (attach large content as evidence)",
                    "变更 \(change.dot)：值的大小为 \(s.utf8.count) 字节；字段值最多 \(maxValueBytes) 字节（较大的内容请作为证据附加）")
        }
        if change.context.count > maxContextDots {
            return ("change \(change.dot): its context names \(change.context.count) values; at most \(maxContextDots) are allowed",
                    "变更 \(change.dot)：其上下文列出了 \(change.context.count) 个值；最多允许 \(maxContextDots) 个")
        }
        return nil
    }

    /// About how many bytes a change takes in a message: used to bound batches by size as well
    /// as by count. An estimate from the lengths of its strings, not an exact encoding size.
    public static func estimatedBytes(_ change: Change) -> Int {
        var n = 48 + change.dot.replica.rawValue.utf8.count + change.record.kind.utf8.count + change.record.id.utf8.count
            + change.field.name.utf8.count + change.field.element.utf8.count + change.author.utf8.count
        if case .text(let s)? = change.value { n += s.utf8.count }
        for d in change.context { n += 12 + d.replica.rawValue.utf8.count }
        return n
    }
}

extension String {
    /// Whether the text holds U+0000 (NUL), which no stored text may: one pass over the UTF-8
    /// bytes in place (the hub checks every value of every push).
    package var containsNUL: Bool {
        var s = self
        return s.withUTF8 { bytes in
            for b in bytes where b == 0 { return true }
            return false
        }
    }
}
