/// How a field holds its data.
public enum FieldShape: Hashable, Sendable {
    /// One value.
    case scalar
    /// A set of names; each element is its own field key and merges on its own.
    case set
    /// Append-only entries (progress notes); each entry is its own field key, written once.
    case log
    /// Named scalars (a deadline per unit); each element is its own field key and merges on its
    /// own under the field's rule.
    case map
}

/// What kind of value a field holds. The wire carries text and integers; a kind says which, and
/// what an integer means.
public enum ValueKind: String, Hashable, Sendable {
    /// Text (UTF-8, NFC-insensitive comparison is the application's business).
    case text
    /// A signed 64-bit integer.
    case integer
    /// An absolute time: milliseconds since 1970-01-01T00:00:00Z, as an integer ≥ 0.
    case timestamp
    /// Set membership: the integer 1 while present (removal writes no value).
    case membership
}

/// One field's declaration: its shape, its conflict rule and the values it accepts.
public struct FieldSpec: Hashable, Sendable {
    public var name: String
    public var shape: FieldShape
    public var rule: ConflictRule
    /// When set, the only values accepted.
    public var allowedValues: [String]?
    /// Whether users may write it after creation (fields fixed at registration are not).
    public var editable: Bool
    public var summary: String
    /// The kind of value; a set's elements are memberships, everything else text unless declared.
    public var kind: ValueKind

    public init(_ name: String, shape: FieldShape = .scalar, rule: ConflictRule, kind: ValueKind? = nil,
                allowedValues: [String]? = nil, editable: Bool = true, summary: String) {
        self.name = name
        self.shape = shape
        self.rule = rule
        self.kind = kind ?? (shape == .set ? .membership : .text)
        self.allowedValues = allowedValues
        self.editable = editable
        self.summary = summary
    }
}

/// The declared fields of one kind of record.
public struct RecordSchema: Hashable, Sendable {
    public let kind: String
    public let fields: [FieldSpec]
    /// Who may see a record of this kind, for partial replication: the units named by these
    /// fields (a scalar field's values, a set's or a map's elements). Nil: everyone.
    public let visibleTo: [String]?
    /// Fields by name: every merge and every check looks a field up.
    private let byName: [String: FieldSpec]

    public init(kind: String, fields: [FieldSpec], visibleTo: [String]? = nil) {
        self.kind = kind
        self.fields = fields
        self.visibleTo = visibleTo
        self.byName = Dictionary(fields.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func field(_ name: String) -> FieldSpec? { byName[name] }

    /// The units that may see `view` (a record of this kind); nil when everyone may.
    public func units(seeing view: RecordView) -> Set<String>? {
        guard let visibleTo else { return nil }
        var units = Set<String>()
        for (key, siblings) in view.siblings where visibleTo.contains(key.name) {
            for s in siblings { if let u = Self.unit(named: key, s.value) { units.insert(u) } }
        }
        return units
    }

    /// The unit a value of a `visibleTo` field names: a scalar field's text, or a set's or a
    /// map's element.
    public static func unit(named key: FieldKey, _ value: FieldValue) -> String? {
        if !key.element.isEmpty { return key.element }
        if case .text(let t) = value { return t }
        return nil
    }

    public static func == (a: RecordSchema, b: RecordSchema) -> Bool { a.kind == b.kind && a.fields == b.fields && a.visibleTo == b.visibleTo }
    public func hash(into h: inout Hasher) {
        h.combine(kind)
        h.combine(fields)
        h.combine(visibleTo)
    }
}

/// Every kind of record the replicas hold, and the rule for each field.
public struct Schema: Hashable, Sendable {
    public var records: [String: RecordSchema]

    public init(_ records: [RecordSchema]) {
        self.records = Dictionary(uniqueKeysWithValues: records.map { ($0.kind, $0) })
    }

    /// The kinds of record that only some units see (partial replication), sorted.
    public var scopedKinds: [String] { records.values.filter { $0.visibleTo != nil }.map(\.kind).sorted() }
    /// The kinds of record everyone sees, sorted.
    public var unscopedKinds: [String] { records.values.filter { $0.visibleTo == nil }.map(\.kind).sorted() }

    /// The rule for a field; unknown fields (from a newer schema) fall back to flagging, so
    /// nothing is decided silently.
    public func rule(for record: RecordRef, _ field: FieldKey) -> ConflictRule {
        records[record.kind]?.field(field.name)?.rule ?? .flag
    }

    /// Checks a user's write before it becomes a change.
    public func validate(_ record: RecordRef, _ field: FieldKey, _ value: FieldValue?) throws(SchemaError) {
        guard let rs = records[record.kind] else {
            throw SchemaError("unknown record kind '\(record.kind)'", zh: "未知的记录类型“\(record.kind)”")
        }
        guard let spec = rs.field(field.name) else {
            let names = rs.fields.filter(\.editable).map(\.name).joined(separator: ", ")
            let namesZh = rs.fields.filter(\.editable).map(\.name).joined(separator: "、")
            throw SchemaError("unknown field '\(field.name)' on a \(record.kind); fields are: \(names)",
                              zh: "\(record.kind) 记录没有字段“\(field.name)”；可用字段：\(namesZh)")
        }
        switch spec.shape {
        case .scalar where !field.element.isEmpty, .set where field.element.isEmpty, .log where field.element.isEmpty,
             .map where field.element.isEmpty:
            throw SchemaError("field '\(field.name)' is a \(spec.shape) field; write it accordingly",
                              zh: "字段“\(field.name)”是\(spec.shape.chinese)（\(spec.shape)）字段；请按此方式写入")
        default: break
        }
        if spec.shape == .scalar || spec.shape == .map, value == nil {
            throw SchemaError("field '\(field.name)' cannot be removed, only set to another value",
                              zh: "字段“\(field.name)”不能删除，只能改为其他值")
        }
        if spec.rule == .immutable, value == nil {
            throw SchemaError("field '\(field.name)' is immutable: it cannot be removed", zh: "字段“\(field.name)”不可更改：不能删除")
        }
        if let allowed = spec.allowedValues, let v = value, !allowed.contains(v.description) {
            throw SchemaError("'\(v)' is not a valid \(field.name); use one of: \(allowed.joined(separator: ", "))",
                              zh: "“\(v)”不是有效的 \(field.name)；可用值：\(allowed.joined(separator: "、"))")
        }
        if case .text(let s) = value, s.isEmpty {
            throw SchemaError("field '\(field.name)' cannot be empty", zh: "字段“\(field.name)”不能为空")
        }
        if let value, let problem = spec.kind.describe(value) {
            throw SchemaError("field '\(field.name)' \(problem.message)", zh: "字段“\(field.name)”\(problem.chinese)")
        }
        if case .text(let s) = value, s.utf8.count > ChangeLimits.maxValueBytes {
            throw SchemaError("the \(field.name) is \(s.utf8.count) bytes; a field holds at most \(ChangeLimits.maxValueBytes) bytes (attach large content as evidence)",
                              zh: "\(field.name) 的大小为 \(s.utf8.count) 字节；一个字段最多 \(ChangeLimits.maxValueBytes) 字节（较大的内容请作为证据附加）")
        }
        if case .text(let s) = value, s.containsNUL {
            throw SchemaError("the \(field.name) contains the character U+0000 (NUL), which no text may hold; remove it",
                              zh: "\(field.name) 含有字符 U+0000（NUL），任何文本都不能包含该字符；请删除")
        }
        let names = [("record id", "记录ID", record.id), ("element", "元素", field.element)]
        for (what, whatZh, s) in names where s.containsNUL {
            throw SchemaError("the \(what) contains the character U+0000 (NUL), which no text may hold; remove it",
                              zh: "\(whatZh)含有字符 U+0000（NUL），任何文本都不能包含该字符；请删除")
        }
        for (what, whatZh, s) in names where s.utf8.count > ChangeLimits.maxNameBytes {
            throw SchemaError("the \(what) '\(s.prefix(40))…' is \(s.utf8.count) bytes; at most \(ChangeLimits.maxNameBytes) are allowed",
                              zh: "\(whatZh)“\(s.prefix(40))…”的大小为 \(s.utf8.count) 字节；最多允许 \(ChangeLimits.maxNameBytes) 字节")
        }
    }
}

extension FieldShape {
    /// The shape's name in Chinese, for messages.
    var chinese: String {
        switch self {
        case .scalar: "单值"
        case .set: "集合"
        case .log: "只追加日志"
        case .map: "映射"
        }
    }
}

extension ValueKind {
    /// The latest time a timestamp may hold: 9999-12-31T23:59:59.999Z.
    public static let latestTime: Int64 = 253_402_300_799_999

    /// Why `value` is not of this kind, or nil when it is.
    public func problem(with value: FieldValue) -> String? { describe(value)?.message }

    /// ``problem(with:)`` in Chinese.
    public func chineseProblem(with value: FieldValue) -> String? { describe(value)?.chinese }

    /// Why `value` is not of this kind, in English and in Chinese (each to follow the field's
    /// name), or nil when it is.
    func describe(_ value: FieldValue) -> (message: String, chinese: String)? {
        switch (self, value) {
        case (.text, .text), (.integer, .integer), (.membership, .integer(1)):
            return nil
        case (.timestamp, .integer(let n)):
            if n < 0 { return ("holds a time, which cannot be before 1970", "存放的是时间，不能早于 1970 年") }
            if n > ValueKind.latestTime { return ("holds a time after the year 9999", "存放的是时间，不能晚于 9999 年") }
            return nil
        case (.membership, _):
            return ("holds set membership (the integer 1), not \(value.isText ? "text" : "another number")",
                    "存放的是集合成员标记（整数 1），而不是\(value.isText ? "文本" : "其他数字")")
        case (.text, .integer):
            return ("holds text, not a number", "存放的是文本，而不是数字")
        case (.integer, .text), (.timestamp, .text):
            return ("holds \(self == .timestamp ? "a time (milliseconds since 1970)" : "an integer"), not text",
                    "存放的是\(self == .timestamp ? "时间（自 1970 年起的毫秒数）" : "整数")，而不是文本")
        }
    }
}

/// A write the schema does not allow. The message says what is allowed, in English
/// (``message``) and in Simplified Chinese (``chinese``).
public struct SchemaError: BilingualError, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    /// The message in Simplified Chinese.
    public var chinese: String
    public init(_ message: String, zh chinese: String) {
        self.message = message
        self.chinese = chinese
    }
    public var description: String { message }
}
