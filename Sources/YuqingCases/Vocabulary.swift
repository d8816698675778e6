import Foundation

/// Severity levels (分级, `domain.md` §2). Stored as `I` … `IV`; the three-level scheme uses
/// `I` … `III` and names them 一级/二级/三级.
public enum LevelScheme: String, CaseIterable, Codable, Hashable, Sendable {
    /// 特别重大 / 重大 / 一般 / 影响较小 (the default).
    case four
    /// 一级 / 二级 / 三级.
    case three

    /// Every level a case may hold under this scheme, most severe first.
    public var levels: [String] { self == .four ? ["I", "II", "III", "IV"] : ["I", "II", "III"] }

    /// A level's name in Chinese under this scheme.
    public func chinese(_ level: String) -> String {
        switch (self, level) {
        case (.four, "I"): "特别重大"
        case (.four, "II"): "重大"
        case (.four, "III"): "一般"
        case (.four, "IV"): "影响较小"
        case (.three, "I"): "一级"
        case (.three, "II"): "二级"
        case (.three, "III"): "三级"
        default: level
        }
    }

    /// Reads a level as a user types it (`ii`, `2`, `二级`); nil when the scheme has no such level.
    public func parse(_ text: String) -> String? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let aliases: [String: String] = ["1": "I", "2": "II", "3": "III", "4": "IV", "一级": "I", "二级": "II", "三级": "III"]
        let level = aliases[t] ?? t
        return levels.contains(level) ? level : nil
    }
}

/// Every level known to any scheme, from least to most severe (the max-wins scale).
public enum Level {
    public static let scale = ["IV", "III", "II", "I"]

    /// Levels I and II are major: the leading group grades them, a leader approves their replies,
    /// and they carry the 2-hour written report, the 4-hour special report and the 12-hour statement.
    public static func isMajor(_ level: String?) -> Bool { level == "I" || level == "II" }

    /// True when `a` is more severe than `b`.
    public static func isHigher(_ a: String, than b: String?) -> Bool {
        guard let b else { return true }
        return (scale.firstIndex(of: a) ?? -1) > (scale.firstIndex(of: b) ?? -1)
    }

    /// Who is notified when a case reaches `level` (response by level, 分级响应).
    public static func notified(_ level: String) -> [String] {
        switch level {
        case "I": ["top leaders", "upper propaganda and internet offices"]
        case "II": ["upper propaganda and internet offices"]
        case "III": ["office (filed upward)"]
        default: ["office"]
        }
    }
}

/// How a case is handled (分类处置, `domain.md` §2).
public enum Category: Int, CaseIterable, Codable, Hashable, Sendable {
    /// 建议类: adopt it and reply.
    case suggestion = 1
    /// 询问、质疑、诉求类: the competent unit answers; a handling opinion the day it is found.
    case inquiry = 2
    /// 恶意传播、炒作类: state the facts; refer if it continues.
    case hype = 3
    /// 捏造、诽谤、煽动、违法类: clarify and refer to law enforcement.
    case unlawful = 4

    public var chinese: String {
        switch self {
        case .suggestion: "建议类"
        case .inquiry: "询问、质疑、诉求类"
        case .hype: "恶意传播、炒作类"
        case .unlawful: "捏造、诽谤、煽动、违法类"
        }
    }

    /// The handling path the category decides.
    public var path: String {
        switch self {
        case .suggestion: "adopt it and reply"
        case .inquiry: "the competent unit answers; handling opinion on the day found, reply with the result"
        case .hype: "state the facts; refer to discipline or law enforcement if it continues"
        case .unlawful: "clarify the facts and refer to law enforcement"
        }
    }

    /// `1 (suggestion), 2 (inquiry), …` for help text.
    public static var names: String { allCases.map { "\($0.rawValue) (\($0))" }.joined(separator: ", ") }
}

/// Where a post appeared (`domain.md` §2, source).
public enum Platform: String, CaseIterable, Codable, Hashable, Sendable {
    case news, forum, weibo, wechat, tieba, blog, group, video, other

    public var chinese: String {
        switch self {
        case .news: "新闻网站"
        case .forum: "论坛/BBS"
        case .weibo: "微博"
        case .wechat: "微信"
        case .tieba: "贴吧"
        case .blog: "博客"
        case .group: "QQ/微信群"
        case .video: "短视频"
        case .other: "其他"
        }
    }

    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
