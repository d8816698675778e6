import Foundation

/// The languages every listing, message and export of the office's work is given in:
/// Simplified Chinese (the default where the locale is `zh_*`) and English.
public enum Language: String, CaseIterable, Codable, Hashable, Sendable {
    case zh, en

    /// The language the environment asks for: `LC_ALL`, then `LC_MESSAGES`, then `LANG`; Chinese
    /// for `zh_*`, English otherwise.
    public static func from(environment env: [String: String]) -> Language {
        for key in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let v = env[key], !v.isEmpty { return v.lowercased().hasPrefix("zh") ? .zh : .en }
        }
        return .en
    }

    /// Reads `zh`, `zh-Hans`, `zh_CN`, `en`, `en_GB`…
    public init?(name: String) {
        let n = name.lowercased()
        if n.hasPrefix("zh") { self = .zh } else if n.hasPrefix("en") { self = .en } else { return nil }
    }

    /// The term in this language.
    public func callAsFunction(_ key: Term) -> String { self == .zh ? key.zh : key.en }

    /// A status, level, category, platform, clock or role by its stored name.
    public func status(_ s: CaseStatus) -> String { self == .zh ? s.chinese : s.rawValue }

    public func level(_ level: String?, scheme: LevelScheme = .four) -> String {
        guard let level else { return "-" }
        return self == .zh ? scheme.chinese(level) : level
    }

    public func category(_ n: Int?) -> String {
        guard let n, let c = Category(rawValue: n) else { return "-" }
        return self == .zh ? c.chinese : "\(n) \(c)"
    }

    public func platform(_ p: String?) -> String {
        guard let p else { return "-" }
        guard let known = Platform(rawValue: p) else { return p }
        return self == .zh ? known.chinese : p
    }

    public func clock(_ name: String) -> String {
        if name == "assignment" || name.hasPrefix("assignment:") {
            let unit = name.hasPrefix("assignment:") ? " " + name.dropFirst("assignment:".count) : ""
            return (self == .zh ? "交办期限" : "assignment") + unit
        }
        guard let c = DeadlineClock(rawValue: name) else { return name }
        return self == .zh ? c.chinese : c.rawValue.replacingOccurrences(of: "_", with: " ")
    }

    public func form(_ f: ReportForm) -> String {
        switch (self, f) {
        case (.zh, .daily): "网络舆情日报告表"
        case (.zh, .monthly): "月报告"
        case (.en, .daily): "daily report form"
        case (.en, .monthly): "monthly report"
        }
    }

    public func standing(_ s: Statistics.MonthlyStanding.Standing) -> String {
        switch (self, s) {
        case (.zh, .onTime): "按时"
        case (.zh, .late): "迟报"
        case (.zh, .missing): "未报"
        case (.zh, .pending): "未到期"
        case (.en, .onTime): "on time"
        case (.en, .late): "late"
        case (.en, .missing): "missing"
        case (.en, .pending): "not yet due"
        }
    }

    /// A rate as a percentage (`87.5%`), or `-`.
    public func percent(_ rate: Double?) -> String {
        guard let rate else { return "-" }
        let tenths = Int((rate * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }
}

/// The words of the office's listings and exports, in both languages.
public struct Term: Hashable, Sendable {
    public var zh: String
    public var en: String
    public init(_ zh: String, _ en: String) { (self.zh, self.en) = (zh, en) }

    public static let unit = Term("单位", "unit")
    public static let total = Term("合计", "total")
    public static let cases = Term("案件数", "cases")
    public static let caseID = Term("编号", "case")
    public static let title = Term("标题", "title")
    public static let level = Term("级别", "level")
    public static let category = Term("分类", "category")
    public static let platform = Term("来源平台", "platform")
    public static let status = Term("状态", "status")
    public static let discovered = Term("发现时间", "discovered")
    public static let leadUnit = Term("牵头单位", "lead unit")
    public static let keywords = Term("关键词", "keywords")
    public static let onTimeRate = Term("按时率", "on-time rate")
    public static let onTime = Term("按时", "on time")
    public static let late = Term("超时", "late")
    public static let missed = Term("未完成", "missed")
    public static let open = Term("未到期", "open")
    public static let overdue = Term("逾期", "overdue")
    public static let urged = Term("催办", "urged")
    public static let noticed = Term("通报", "noticed")
    public static let repliesPublished = Term("已发布回复", "replies published")
    public static let lateReports = Term("迟报", "late reports")
    public static let missedReports = Term("漏报", "missed reports")
    public static let concealedReports = Term("瞒报", "concealed reports")
    public static let dailyFiled = Term("日报告", "daily forms")
    public static let zeroCompliance = Term("零报告按时率", "zero-report compliance")
    public static let monthlyReport = Term("月报告", "monthly report")
    public static let month = Term("月份", "month")
    public static let deadline = Term("截止时间", "deadline")
    public static let filedAt = Term("报送时间", "filed")
    public static let zeroReport = Term("零报告", "zero report")
    public static let standing = Term("情况", "standing")
    public static let yes = Term("是", "yes")
    public static let no = Term("否", "no")
    public static let period = Term("统计期间", "period")
    public static let statistics = Term("舆情统计", "Statistics")
    public static let byLevel = Term("按级别", "by level")
    public static let byCategory = Term("按分类", "by category")
    public static let byPlatform = Term("按来源", "by platform")
    public static let byStatus = Term("按状态", "by status")
    public static let clock = Term("时限", "clock")
    public static let generated = Term("生成时间", "generated")
    public static let noResults = Term("没有找到匹配的内容。", "Nothing matches.")
    public static let hits = Term("条结果", "results")
    public static let kind = Term("类型", "kind")
    public static let excerpt = Term("摘录", "excerpt")
    public static let summary = Term("摘要", "summary")
    public static let url = Term("链接", "URL")
    public static let poster = Term("发帖人", "poster")
    public static let site = Term("网站", "site")
    public static let word = Term("关键词", "keyword")
    public static let topic = Term("专题", "topic")
    public static let owner = Term("范围", "scope")
    public static let everyone = Term("全体单位", "everyone")
    public static let active = Term("启用", "active")
    public static let form = Term("报表", "form")
    public static let filedBy = Term("报送人", "filed by")
    public static let casesFound = Term("发现舆情", "cases found")
    public static let rounds = Term("巡查次数", "monitoring rounds")
    public static let text = Term("内容", "text")
    public static let reply = Term("回复", "reply")
    public static let report = Term("报告", "report")
    public static let step = Term("步骤", "step")
    public static let by = Term("办理人", "by")
    public static let at = Term("时间", "at")
    public static let device = Term("设备", "device")
}
