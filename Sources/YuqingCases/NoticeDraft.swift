/// The draft of a notice (季度通报, or a month's) generated from the statistics: the totals, the
/// on-time rates, the units named for late, missed or concealed reports and for missing zero
/// reports, and those commended for full compliance. A draft: the office edits it before issuing.
public enum NoticeDraft {
    public static func render(_ s: Statistics, org: Organisation, language l: Language, generatedAt: Int64) -> String {
        let cal = org.settings.calendar
        func name(_ unit: String) -> String { org.units[unit]?.name ?? unit }
        var out: [String] = []
        let t = s.total
        let all = t.allClocks
        let named = s.units.filter { $0.lateReports + $0.missedReports + $0.concealedReports > 0 || $0.noticed > 0 }
        let commended = s.units.filter { $0.monthly.due > 0 && $0.monthly.onTime == $0.monthly.due && $0.lateReports + $0.missedReports + $0.concealedReports == 0 }
        let missing = s.monthly.filter { $0.standing == .missing }
        let lateMonthly = s.monthly.filter { $0.standing == .late }
        if l == .zh {
            out.append("关于\(s.period.label)网络舆情工作情况的通报（草稿）")
            out.append("")
            out.append("一、总体情况")
            out.append("\(s.period.label)（\(s.period.first)至\(s.period.last)），共发现网络舆情\(t.cases)件，其中"
                + Level.scale.reversed().map { "\(l.level($0, scheme: org.settings.levelScheme))\(t.byLevel[$0] ?? 0)件" }.joined(separator: "、") + "。"
                + "已发布回复\(t.repliesPublished)条，催办\(t.urged)次，通报\(t.noticed)次。")
            out.append("各项时限按时率\(l.percent(all.rate))（按时\(all.onTime)、超时\(all.late)、未完成\(all.missed)），当前逾期\(t.overdue)项。")
            out.append("零报告按时率\(l.percent(t.monthly.rate))（按时\(t.monthly.onTime)、迟报\(t.monthly.late)、未报\(t.monthly.missing)）。")
            out.append("")
            out.append("二、存在的问题")
            if named.isEmpty && missing.isEmpty { out.append("本期未发现迟报、漏报、瞒报情况。") }
            for r in named {
                out.append("\(name(r.unit ?? ""))：迟报\(r.lateReports)次，漏报\(r.missedReports)次，瞒报\(r.concealedReports)次，被通报\(r.noticed)次。")
            }
            for m in missing { out.append("\(name(m.unit))未报送\(m.month)月报告（截止\(cal.show(m.deadline))）。") }
            for m in lateMonthly { out.append("\(name(m.unit))\(m.month)月报告迟报（\(m.filedAt.map(cal.show) ?? "")报送，截止\(cal.show(m.deadline))）。") }
            out.append("")
            out.append("三、表扬")
            out.append(commended.isEmpty ? "本期无。" : commended.map { name($0.unit ?? "") }.joined(separator: "、") + "按时报送全部报告，无迟报、漏报、瞒报。")
            out.append("")
            out.append("四、工作要求")
            out.append("各单位要落实零报告制度，每月前3日内报送上月报告（遇节假日顺延），无舆情也须报送；对逾期未办结事项，牵头单位要加快办理并及时反馈。")
            out.append("")
            out.append("生成时间：\(cal.show(generatedAt))")
        } else {
            out.append("Notice on the handling of online public opinion, \(s.period.label) (draft)")
            out.append("")
            out.append("1. Overview")
            out.append("From \(s.period.first) to \(s.period.last), \(t.cases) cases were found: "
                + Level.scale.reversed().map { "level \($0): \(t.byLevel[$0] ?? 0)" }.joined(separator: ", ") + ". "
                + "\(t.repliesPublished) replies were published; units were urged \(t.urged) times and noticed \(t.noticed) times.")
            out.append("Deadlines met on time: \(l.percent(all.rate)) (\(all.onTime) on time, \(all.late) late, \(all.missed) missed); \(t.overdue) overdue now.")
            out.append("Zero-report compliance: \(l.percent(t.monthly.rate)) (\(t.monthly.onTime) on time, \(t.monthly.late) late, \(t.monthly.missing) missing).")
            out.append("")
            out.append("2. Problems")
            if named.isEmpty && missing.isEmpty { out.append("No late, missed or concealed reports in this period.") }
            for r in named {
                out.append("\(name(r.unit ?? "")): \(r.lateReports) late, \(r.missedReports) missed, \(r.concealedReports) concealed reports; noticed \(r.noticed) times.")
            }
            for m in missing { out.append("\(name(m.unit)) did not file its monthly report for \(m.month) (due \(cal.show(m.deadline))).") }
            for m in lateMonthly { out.append("\(name(m.unit)) filed its monthly report for \(m.month) late (\(m.filedAt.map(cal.show) ?? ""), due \(cal.show(m.deadline))).") }
            out.append("")
            out.append("3. Commended")
            out.append(commended.isEmpty ? "None this period." : commended.map { name($0.unit ?? "") }.joined(separator: ", ") + ": every report on time, none late, missed or concealed.")
            out.append("")
            out.append("4. Requirements")
            out.append("Every unit files its monthly report within the first 3 days of the month (moved past holidays), also when there was nothing to report; lead units finish overdue assignments and report back.")
            out.append("")
            out.append("Generated: \(cal.show(generatedAt))")
        }
        return out.joined(separator: "\n")
    }
}
