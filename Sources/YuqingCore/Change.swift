/// A record: a kind (`case`) and an id unique within the kind.
public struct RecordRef: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var kind: String
    public var id: String

    public init(kind: String, id: String) {
        self.kind = kind
        self.id = id
    }

    public static func < (lhs: RecordRef, rhs: RecordRef) -> Bool { (lhs.kind, lhs.id) < (rhs.kind, rhs.id) }
    public var description: String { "\(kind)/\(id)" }
}

/// One field of a record. Scalars have an empty `element`; a set, a log or a map has one field
/// per element (a set's member, a log entry's id, a map's key), so each element merges on its own.
public struct FieldKey: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var name: String
    public var element: String

    public init(_ name: String, element: String = "") {
        self.name = name
        self.element = element
    }

    public static func < (lhs: FieldKey, rhs: FieldKey) -> Bool { (lhs.name, lhs.element) < (rhs.name, rhs.element) }
    public var description: String { element.isEmpty ? name : "\(name)[\(element)]" }
}

/// One write of one field: the unit of replication.
///
/// `context` lists the dots of the values of this field that the writer had seen when it wrote:
/// exactly the values this write supersedes. Values of the field whose dots are not in it were
/// written concurrently and survive as siblings, for the field's rule to decide.
public struct Change: Hashable, Sendable, Codable {
    public var dot: Dot
    public var hlc: HLC
    public var record: RecordRef
    public var field: FieldKey
    /// The new value; `nil` removes the field's current values (a set element's removal).
    public var value: FieldValue?
    /// Sorted, without duplicates.
    public var context: [Dot]
    /// Who made the change (attribution); its form is the application's.
    public var author: String

    public init(dot: Dot, hlc: HLC, record: RecordRef, field: FieldKey, value: FieldValue?, context: [Dot], author: String) {
        self.dot = dot
        self.hlc = hlc
        self.record = record
        self.field = field
        self.value = value
        self.context = Change.normalized(context)
        self.author = author
    }

    /// `context` sorted and without duplicates. Contexts are small and usually arrive sorted (every
    /// writer sends them so), so a strictly increasing one is kept as is, without a set or a sort.
    static func normalized(_ context: [Dot]) -> [Dot] {
        if context.count < 2 { return context }
        var i = 1
        while i < context.count {
            guard context[i - 1] < context[i] else { return Array(Set(context)).sorted() }
            i += 1
        }
        return context
    }

    private enum CodingKeys: String, CodingKey { case dot, hlc, record, field, value, context, author }

    /// Decodes through the initialiser, so a received context is sorted and free of duplicates too.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(dot: try c.decode(Dot.self, forKey: .dot), hlc: try c.decode(HLC.self, forKey: .hlc),
                  record: try c.decode(RecordRef.self, forKey: .record), field: try c.decode(FieldKey.self, forKey: .field),
                  value: try c.decodeIfPresent(FieldValue.self, forKey: .value),
                  context: try c.decode([Dot].self, forKey: .context), author: try c.decode(String.self, forKey: .author))
    }
}

/// One value a field holds, with the dot and time of the write that put it there.
public struct Sibling: Hashable, Sendable, Codable {
    public var dot: Dot
    public var hlc: HLC
    public var value: FieldValue
    public var author: String

    public init(dot: Dot, hlc: HLC, value: FieldValue, author: String) {
        self.dot = dot
        self.hlc = hlc
        self.value = value
        self.author = author
    }

    /// Last-writer-wins order: timestamp, then dot, so ties break the same way everywhere.
    static func lwwOrder(_ a: Sibling, _ b: Sibling) -> Bool { (a.hlc, a.dot) < (b.hlc, b.dot) }
}

extension Change {
    /// Equal byte for byte. (`==` compares text as Swift does, by canonical equivalence, so a
    /// composed and a decomposed spelling are `==`; two changes under one dot must be identical.)
    public func isIdentical(to other: Change) -> Bool {
        func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
        func sameValue(_ a: FieldValue?, _ b: FieldValue?) -> Bool {
            switch (a, b) {
            case (nil, nil): true
            case (.text(let x)?, .text(let y)?): same(x, y)
            case (.integer(let x)?, .integer(let y)?): x == y
            default: false
            }
        }
        return dot == other.dot && hlc == other.hlc && same(record.kind, other.record.kind) && same(record.id, other.record.id)
            && same(field.name, other.field.name) && same(field.element, other.field.element) && sameValue(value, other.value)
            && context == other.context && same(author, other.author)
    }
}
