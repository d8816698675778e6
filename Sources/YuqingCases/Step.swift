import Foundation
import YuqingCore

/// The kinds of workflow step (`domain.md` §3). Each step is an immutable entry of a case's
/// `steps` log: two steps taken at once on two nodes are two entries, never a conflict.
public enum StepKind: String, CaseIterable, Codable, Hashable, Sendable {
    /// 发现、受理: a monitor registers the report.
    case register
    /// 快报: the quick report to the office (30 minutes).
    case quickReport = "quick_report"
    /// 研判: the office confirms or changes category and level and writes a handling opinion.
    case assess
    /// A level raised or lowered (raising escalates: 逐级上报).
    case level
    /// 批办/交办: one lead unit, any co-units, an instruction and a deadline. Again = reassignment.
    case assign
    /// 批示: a leader's instruction on the case.
    case instruction
    /// 续报 and the clocked reports: progress, written report, special report, handling record, opinion.
    case report
    /// Heat observed at a follow-up: views, comments, reposts.
    case heat
    /// 催办: an overdue assignment urged.
    case urge
    /// 通报: a unit named for neither answering nor explaining.
    case notice
    /// A reply drafted by a unit (a returned draft is revised as a new draft).
    case draft
    /// The unit head's sign-off of a draft.
    case sign
    /// The office (or a leader, for levels I–II) approves a signed draft.
    case approve
    /// The office sends a signed draft back, with a reason.
    case `return`
    /// The approved reply published, with its link.
    case publish
    /// The spokesperson's statement (wide impact, 12 hours).
    case statement
    /// New doubts after a reply: a new round of handling.
    case reopen
    /// 立卷归档: the case becomes read-only.
    case archive
    /// 总结评估: the written review.
    case review
    /// Into the case library (案例库).
    case library
    /// This report is merged into another case.
    case link

    /// The step's name in Chinese.
    public var chinese: String {
        switch self {
        case .register: "受理登记"
        case .quickReport: "快报"
        case .assess: "研判"
        case .level: "调整级别"
        case .assign: "交办"
        case .instruction: "批示"
        case .report: "续报"
        case .heat: "热度"
        case .urge: "催办"
        case .notice: "通报"
        case .draft: "回复草稿"
        case .sign: "负责人签字"
        case .approve: "审定通过"
        case .return: "退回"
        case .publish: "发布"
        case .statement: "发言人声明"
        case .reopen: "重新办理"
        case .archive: "归档"
        case .review: "总结评估"
        case .library: "入案例库"
        case .link: "合并"
        }
    }
}

/// Which report a `report` step is: each satisfies its own deadline clock.
public enum ReportKind: String, CaseIterable, Codable, Hashable, Sendable {
    /// 续报: a progress report.
    case progress
    /// The unit's objective written report (levels I–II, 2 hours after assignment).
    case written
    /// 特报: a special report (major or sudden events, 4 hours after discovery).
    case special
    /// 处置情况登记表: the handling record (levels III–IV, 24 hours after assignment).
    case handling
    /// The handling opinion for an inquiry (by the end of the day it was found).
    case opinion
}

/// One immutable workflow step, stored as JSON in the case's `steps` log under its own id.
public struct Step: Codable, Hashable, Sendable {
    public var kind: StepKind
    /// When it was taken (milliseconds since 1970, UTC).
    public var at: Int64
    /// Who took it.
    public var by: String
    public var unit: String
    /// The role it was taken in.
    public var role: Role
    /// Free text: an opinion, a report, an instruction, a reason, a statement, a review.
    public var text: String?
    public var level: String?
    /// The level before a `level` step.
    public var from: String?
    public var category: Int?
    /// The lead unit of an assignment.
    public var lead: String?
    public var coUnits: [String]?
    /// An assignment's deadline.
    public var deadline: Int64?
    /// The unit urged or noticed; the draft signed, approved, returned or published; the case linked to.
    public var target: String?
    public var report: ReportKind?
    /// A published reply's link.
    public var link: String?
    public var views: Int64?
    public var comments: Int64?
    public var reposts: Int64?
    /// Who must be told of a raised level.
    public var notify: [String]?

    public init(kind: StepKind, at: Int64, by actor: Actor, role: Role) {
        self.kind = kind
        self.at = at
        self.by = actor.user
        self.unit = actor.unit
        self.role = role
    }

    public var actor: Actor { Actor(user: by, unit: unit) }
}

/// A record stored as the JSON text of a log entry: sorted keys and unescaped slashes, so equal
/// values are equal bytes.
public protocol StoredJSON: Codable {}

extension StoredJSON {
    /// The stored form.
    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    /// Reads a stored value; nil when the text is not one.
    public static func decode(_ text: String) -> Self? {
        try? JSONDecoder().decode(Self.self, from: Data(text.utf8))
    }
}

extension Step: StoredJSON {
    /// Reads a stored step; nil when the text is not one (``FlatJSON``: the hub reads every pushed step).
    public static func decode(_ text: String) -> Step? { Step(flat: text) }
}
extension Evidence: StoredJSON {}

/// A piece of evidence (取证): a screenshot or saved page, named by the SHA-256 of its bytes.
public struct Evidence: Codable, Hashable, Sendable {
    public var name: String
    public var bytes: Int64
    public var mediaType: String
    public var at: Int64
    public var by: String
    public var unit: String

    public init(name: String, bytes: Int64, mediaType: String, at: Int64, by actor: Actor) {
        self.name = name
        self.bytes = bytes
        self.mediaType = mediaType
        self.at = at
        self.by = actor.user
        self.unit = actor.unit
    }

    /// True for a SHA-256 digest in lowercase hex, the key of an evidence entry.
    public static func isDigest(_ s: String) -> Bool { SHA256.isHexDigest(s) }
}
