import Foundation

/// Who a user is in the handling of cases (`domain.md` §1). A user may hold several roles.
public enum Role: String, CaseIterable, Codable, Hashable, Sendable, Comparable {
    /// 监测员 / 信息员: watches sites, registers reports, follows them up.
    case monitor
    /// 网评员: posts guidance replies online.
    case commentator
    /// 单位负责人: signs the unit's reply material.
    case unitHead = "unit_head"
    /// 舆情工作办公室: assesses, dispatches, supervises, approves replies, archives.
    case office
    /// 领导: grades major cases, gives instructions, approves replies of wide impact.
    case leader
    /// 新闻发言人: the official statement for major cases.
    case spokesperson
    /// The hub operator: the organisation, devices, conflicts.
    case `operator`

    /// The role's name in Chinese.
    public var chinese: String {
        switch self {
        case .monitor: "监测员"
        case .commentator: "网评员"
        case .unitHead: "单位负责人"
        case .office: "舆情工作办公室"
        case .leader: "领导"
        case .spokesperson: "新闻发言人"
        case .operator: "运维人员"
        }
    }

    /// Roles of a field unit, which act only on cases their unit is concerned by.
    public var isUnitRole: Bool { self == .monitor || self == .commentator || self == .unitHead }

    /// Parses `monitor`, `unit-head`, `unit_head` and the like.
    public init?(name: String) {
        self.init(rawValue: name.lowercased().replacingOccurrences(of: "-", with: "_"))
    }

    public static func < (a: Role, b: Role) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// `monitor, commentator, unit_head, …` for help and error text.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// Who makes a change: a user of a unit. Written in each change's `author` as `user@unit`.
public struct Actor: Hashable, Sendable, CustomStringConvertible {
    public var user: String
    public var unit: String

    public init(user: String, unit: String) {
        self.user = user
        self.unit = unit
    }

    /// Reads `user@unit` (the last `@` separates them; neither part may be empty).
    public init?(author: String) {
        guard let at = author.lastIndex(of: "@") else { return nil }
        let user = String(author[..<at]), unit = String(author[author.index(after: at)...])
        guard !user.isEmpty, !unit.isEmpty else { return nil }
        self.init(user: user, unit: unit)
    }

    /// The `author` of the changes this actor makes.
    public var author: String { "\(user)@\(unit)" }
    public var description: String { author }
}

/// Checks a user or unit id: at most 64 bytes, printable, no `@` or `/`, no space at either end.
public enum Identifier {
    /// Why `id` is not a valid user or unit id, or nil when it is.
    public static func problem(_ id: String, what: String) -> String? { check(id, what: what)?.message }

    /// ``problem(_:what:)`` in Chinese.
    public static func chineseProblem(_ id: String, what: String) -> String? { check(id, what: what)?.chinese }

    /// ``problem(_:what:)`` as an error of `code`, in both languages; nil when `id` is valid.
    public static func error(_ id: String, what: String, code: WorkflowError.Code = .input) -> WorkflowError? {
        check(id, what: what).map { WorkflowError(code, $0.message, zh: $0.chinese) }
    }

    static func check(_ id: String, what: String) -> (message: String, chinese: String)? {
        let zh = chineseName(what) + "ID"
        if id.isEmpty { return ("a \(what) id cannot be empty", "\(zh)不能为空") }
        if id.utf8.count > 64 { return ("the \(what) id '\(id.prefix(20))…' is longer than 64 bytes", "\(zh)“\(id.prefix(20))…”超过 64 字节") }
        if id.unicodeScalars.contains(where: { $0 == "@" || $0 == "/" || $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }) {
            return ("the \(what) id '\(id)' may not hold '@', '/' or control characters", "\(zh)“\(id)”不能包含“@”“/”或控制字符")
        }
        if id.first!.isWhitespace || id.last!.isWhitespace {
            return ("the \(what) id '\(id)' may not begin or end with a space", "\(zh)“\(id)”的开头和结尾不能有空格")
        }
        return nil
    }

    /// What an id names (`unit`, `user` or another record kind), in Chinese.
    static func chineseName(_ what: String) -> String {
        switch what {
        case CaseSchema.Kind.unit: "单位"
        case CaseSchema.Kind.user: "用户"
        case CaseSchema.Kind.case: "案件"
        case CaseSchema.Kind.settings: "设置"
        case CaseSchema.Kind.device: "设备"
        case CaseSchema.Kind.report: "报告"
        case CaseSchema.Kind.keyword: "关键词"
        default: what + " "
        }
    }
}

extension Role {
    /// Whether `roles` include one above the unit's own (office, leader, spokesperson, operator):
    /// such a user acts on every case, not only those its unit is concerned by.
    public static func isOfficeLevel(_ roles: Set<Role>) -> Bool {
        roles.contains { $0 != .monitor && $0 != .commentator && $0 != .unitHead }
    }
}
