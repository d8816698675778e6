import YuqingCore

/// Where a case is in the workflow (`domain.md` §3). Derived from the steps, never stored.
public enum CaseStatus: String, CaseIterable, Codable, Hashable, Sendable, Comparable {
    /// Registered by a monitor (受理).
    case registered
    /// Assessed by the office (研判).
    case assessed
    /// Assigned to a lead unit (交办).
    case assigned
    /// A unit reported progress (办理).
    case handling
    /// A reply is being drafted, signed or approved (审定).
    case replying
    /// A reply was published; the case is followed up (跟踪).
    case replied
    /// Archived (归档): read-only.
    case archived

    public var chinese: String {
        switch self {
        case .registered: "已受理"
        case .assessed: "已研判"
        case .assigned: "已交办"
        case .handling: "办理中"
        case .replying: "审定中"
        case .replied: "已回复"
        case .archived: "已归档"
        }
    }

    public static func < (a: CaseStatus, b: CaseStatus) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A reply draft and what became of it.
public struct Reply: Hashable, Sendable {
    public enum Stage: String, Codable, Hashable, Sendable {
        case drafted, signed, approved, returned, published

        /// The stage's name in Chinese.
        public var chinese: String {
            switch self {
            case .drafted: "已起草"
            case .signed: "已签字"
            case .approved: "已审定"
            case .returned: "已退回"
            case .published: "已发布"
            }
        }
    }

    /// The draft step's id.
    public var id: String
    public var unit: String
    public var text: String
    /// 1 for a unit's first draft in a round, 2 for its revision, …
    public var version: Int
    public var round: Int
    /// The returned draft this one revises.
    public var revises: String?
    public var signedBy: String?
    public var stage: Stage
    /// The reason it was returned.
    public var reason: String?
    public var link: String?
    /// True while a concurrent approve and return of it wait for the operator.
    public var contested = false
}

/// What a case's steps amount to: status, round, replies, and the steps that count for deadlines.
public struct CaseState: Hashable, Sendable {
    public var status: CaseStatus = .registered
    public var registered = false
    /// 1, plus one per reopen.
    public var round = 1
    public var replies: [Reply] = []
    /// Every unit the case was ever assigned to.
    public var everAssigned: Set<String> = []
    /// When the case was first assigned, and last (re)assigned.
    public var firstAssignedAt: Int64?
    public var assignedAt: Int64?
    public var reviewed = false
    public var inLibrary = false
    /// Raised levels, for response by level: (from, to, at, notify).
    public var escalations: [Step] = []
    /// Steps that count for deadline clocks: (clock name, unit, time).
    public var met: [Met] = []
    public var urged: [Step] = []
    public var noticed: [Step] = []

    /// A clock met by a step.
    public struct Met: Hashable, Sendable {
        public var clock: String
        public var unit: String
        public var at: Int64
    }

    /// The office's decision per draft, as the `decision` field shows it.
    var decisions: [String: String] = [:]

    init(file view: RecordView) {
        for (key, decision) in view.fields where key.name == CaseSchema.Field.decision && !key.element.isEmpty {
            if let shown = decision.shown?.description { decisions[key.element] = shown }
        }
    }

    public var isArchived: Bool { status == .archived }

    /// Marks the drafts whose decision waits for the operator (a concurrent approve and return).
    mutating func finish(_ view: RecordView) {
        for i in replies.indices {
            if case .conflict? = view.fields[FieldKey(CaseSchema.Field.decision, element: replies[i].id)] {
                replies[i].contested = true
            }
        }
    }

    public func reply(_ id: String) -> Reply? { replies.first { $0.id == id } }
}
