import Foundation
import YuqingCases
import YuqingCore

/// JSON renderings of cases, deadlines and conflicts: every field, exact.
enum CaseJSON {
    static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func time(_ hlc: HLC) -> String { time(Int64(hlc.wallMillis)) }

    static func time(_ millis: Int64) -> String {
        timeStyle.format(Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    static func value(_ v: FieldValue?) -> Any {
        switch v {
        case nil: NSNull()
        case .text(let s)?: s
        case .integer(let n)?: n
        }
    }

    static func object(_ file: CaseFile, now: Int64) -> [String: Any] {
        let F = CaseSchema.Field.self
        var o: [String: Any] = ["id": file.id, "status": file.state.status.rawValue, "round": file.state.round]
        for name in [F.title, F.summary, F.excerpt, F.platform, F.url, F.poster, F.site, F.unit, F.discoveredBy, F.level,
                     F.leadUnit, F.linkedTo] {
            o[name] = value(file.view.value(name))
        }
        if let legacy = file.view.value(F.legacyStatus) { o["legacy_status"] = value(legacy) }
        for name in [F.publishedAt, F.discoveredAt] { o[name] = file.integer(name).map(time) ?? NSNull() }
        o[F.category] = file.category.map { $0.rawValue } ?? NSNull()
        o[F.coUnits] = file.coUnits
        o[F.units] = file.unitsConcerned
        o[F.keywords] = file.keywords
        o["assignments"] = Dictionary(uniqueKeysWithValues: file.map(F.deadline).map { unit, v -> (String, Any) in
            (unit, ["deadline": { if case .integer(let n) = v { return time(n) as Any } else { return value(v) } }(),
                    "instruction": value(file.map(F.instruction)[unit])])
        })
        o["deadlines"] = Deadlines.items(file, now: now).map(item)
        o["replies"] = file.state.replies.map { r -> [String: Any] in
            ["id": r.id, "unit": r.unit, "text": r.text, "version": r.version, "round": r.round, "revises": r.revises as Any,
             "signed_by": r.signedBy as Any, "stage": r.stage.rawValue, "reason": r.reason as Any, "link": r.link as Any,
             "contested": r.contested]
        }
        o["evidence"] = file.evidence.map { d, e -> [String: Any] in
            ["sha256": d, "name": e.name, "bytes": e.bytes, "media_type": e.mediaType, "at": time(e.at), "by": "\(e.by)@\(e.unit)"]
        }
        o["steps"] = file.entries.map { e -> [String: Any] in
            var s = (try? JSONSerialization.jsonObject(with: Data(e.step.encoded().utf8))) as? [String: Any] ?? [:]
            s["id"] = e.id
            s["dot"] = e.dot.description
            s["effective"] = e.effective
            return s
        }
        o["notes"] = file.view.entries(F.legacyNotes).map { entry -> [String: Any] in
            ["id": entry.key.element, "text": entry.sibling.value.description, "author": entry.sibling.author,
             "at": time(entry.sibling.hlc), "dot": entry.sibling.dot.description]
        }
        o["conflicts"] = file.conflicts.map(conflict)
        return o
    }

    static func item(_ i: Deadlines.Item) -> [String: Any] {
        ["case": i.caseID, "clock": i.clock, "unit": i.unit, "due": time(i.due), "met_at": i.metAt.map(time) as Any,
         "standing": i.standing.rawValue]
    }

    static func conflict(_ c: Conflict) -> [String: Any] {
        conflict(id: c.id, record: c.record, field: c.field, provisional: c.provisional, candidates: c.candidates)
    }

    static func conflict(id: String, record: RecordRef, field: FieldKey, provisional: FieldValue,
                         candidates: [Sibling]) -> [String: Any] {
        [
            "id": id, "kind": record.kind, "case": record.id, "field": field.name, "element": field.element,
            "provisional": value(provisional),
            "candidates": candidates.map { s -> [String: Any] in
                ["value": value(s.value), "author": s.author, "at": time(s.hlc), "dot": s.dot.description]
            },
        ]
    }
}

/// The human rendering of a case, with control characters neutralised, in the run's language.
enum CaseText {
    static func render(_ file: CaseFile, org: Organisation, now: Int64) -> String {
        let F = CaseSchema.Field.self
        let lang = processLanguage
        let zh = lang == .zh
        let offset = org.settings.utcOffsetMinutes
        func t(_ ms: Int64?) -> String { ms.map { TimeInput.show($0, utcOffsetMinutes: offset) } ?? "-" }
        func line(_ label: String, _ value: String?) -> String {
            guard zh else { return "  " + (label + ":").padding(toLength: 13, withPad: " ", startingAt: 0) + (value?.terminalSafe ?? "-") }
            let head = label + "："
            return "  " + head + String(repeating: " ", count: max(1, 12 - TextTable.width(head))) + (value?.terminalSafe ?? "-")
        }
        let conflicted = Dictionary(file.conflicts.map { ($0.field, $0) }, uniquingKeysWith: { a, _ in a })
        var lines: [String]
        if zh {
            lines = ["案件 \(file.id.terminalSafe)  【\(file.state.status.chinese)" + (file.state.round > 1 ? "，第 \(file.state.round) 轮" : "") + "】"]
        } else {
            lines = ["case \(file.id.terminalSafe)  [\(file.state.status.rawValue) \(file.state.status.chinese)"
                     + (file.state.round > 1 ? ", round \(file.state.round)" : "") + "]"]
        }
        let separator = zh ? "、" : ", "
        let platform: String? = zh ? file.text(F.platform).map { lang.platform($0) } : file.text(F.platform)
        let category: String? = file.category.map { c in
            zh ? "\(c.rawValue) \(c.chinese)：\(pathZH(c))" : "\(c.rawValue) \(c.chinese): \(c.path)"
        }
        let finder = file.text(F.discoveredBy) ?? "-"
        let discovered: String = zh ? "\(t(file.discoveredAt))，发现人 \(finder)" : "\(t(file.discoveredAt)) by \(finder)"
        var fields: [(String, String?)] = [
            ("title", file.text(F.title)), ("summary", file.text(F.summary)), ("excerpt", file.text(F.excerpt)),
            ("level", file.level.map { "\($0) \(org.settings.levelScheme.chinese($0))" }),
            ("category", category),
            ("source", [platform, file.text(F.site), file.text(F.url), file.text(F.poster)].compactMap { $0 }.joined(separator: " · ")),
            ("published", file.integer(F.publishedAt).map { t($0) }),
            ("discovered", discovered),
            ("unit", file.unit), ("concerns", file.unitsConcerned.joined(separator: separator)),
            ("keywords", file.keywords.joined(separator: separator)),
            ("lead unit", file.leadUnit), ("co-units", file.coUnits.joined(separator: separator)),
            ("merged into", file.text(F.linkedTo)),
        ]
        if let legacy = file.text(F.legacyStatus) { fields.append(("old status", legacy)) }
        for (label, value) in fields where !(value ?? "").isEmpty || ["title", "level", "unit"].contains(label) {
            var l = line(zh ? labelZH[label] ?? label : label, value)
            let key = ["level": F.level, "category": F.category, "summary": F.summary, "lead unit": F.leadUnit][label]
            if let key, let c = conflicted[FieldKey(key)] {
                l += zh ? "   （冲突 \(c.id)：\(c.candidates.count) 个不同的值；运维人员处理前为暂定值）"
                        : "   (conflict \(c.id): \(c.candidates.count) values; provisional until the operator resolves it)"
            }
            lines.append(l)
        }
        let items = Deadlines.items(file, now: now)
        if !items.isEmpty {
            lines.append(zh ? "  时限：" : "  deadlines:")
            for i in items {
                if zh {
                    lines.append("    \(lang.clock(i.clock).terminalSafe)  \(i.unit.terminalSafe)  时限 \(t(i.due))  \(CaseCommand.standing(i.standing))"
                                 + (i.metAt.map { "（\(t($0)) 完成）" } ?? ""))
                } else {
                    lines.append("    \(i.clock.terminalSafe)  \(i.unit.terminalSafe)  due \(t(i.due))  \(i.standing.rawValue)" + (i.metAt.map { " at \(t($0))" } ?? ""))
                }
            }
        }
        if !file.state.replies.isEmpty {
            lines.append(zh ? "  回复：" : "  replies:")
            for r in file.state.replies {
                if zh {
                    lines.append("    \(r.id)  \(r.unit.terminalSafe) 第 \(r.version) 稿（第 \(r.round) 轮）  \(stageZH(r.stage))" + (r.contested ? "（审定结果存在冲突）" : "")
                                 + (r.reason.map { "：\($0.terminalSafe)" } ?? "") + (r.link.map { "  \($0.terminalSafe)" } ?? ""))
                } else {
                    lines.append("    \(r.id)  \(r.unit.terminalSafe) v\(r.version) (round \(r.round))  \(r.stage.rawValue)" + (r.contested ? " (decision in conflict)" : "")
                                 + (r.reason.map { ": \($0.terminalSafe)" } ?? "") + (r.link.map { "  \($0.terminalSafe)" } ?? ""))
                }
                lines.append("      \(r.text.terminalSafe)")
            }
        }
        if !file.evidence.isEmpty {
            lines.append(zh ? "  证据：" : "  evidence:")
            for (d, e) in file.evidence {
                lines.append("    \(d.prefix(16))…  \(e.name.terminalSafe)  \(e.bytes)\(zh ? " 字节" : " bytes")  \(e.by.terminalSafe)@\(e.unit.terminalSafe)")
            }
        }
        lines.append(zh ? "  办理过程：" : "  timeline:")
        for e in file.entries {
            let s = e.step
            var what: String
            if zh {
                what = s.report.map(reportZH) ?? s.kind.chinese
                if let l = s.level { what += " \(s.from.map { "\($0) → " } ?? "")\(l)" }
                if let lead = s.lead { what += "，牵头单位 \(lead)" + ((s.coUnits ?? []).isEmpty ? "" : "，协办单位 \(s.coUnits!.joined(separator: "、"))") }
                if let target = s.target { what += " \(target)" }
                if let text = s.text { what += "：\(text)" }
                if let link = s.link { what += " \(link)" }
                if s.views != nil { what += "，浏览 \(s.views ?? 0)，评论 \(s.comments ?? 0)，转发 \(s.reposts ?? 0)" }
                lines.append("    \(t(s.at))  \(s.by.terminalSafe)@\(s.unit.terminalSafe)（\(s.role.chinese)）  \(what.terminalSafe)" + (e.effective ? "" : "  【同时办理，未生效】"))
            } else {
                what = s.kind.rawValue + (s.report.map { " (\($0.rawValue))" } ?? "")
                if let l = s.level { what += " \(s.from.map { "\($0) → " } ?? "")\(l)" }
                if let lead = s.lead { what += " lead \(lead)" + ((s.coUnits ?? []).isEmpty ? "" : ", co \(s.coUnits!.joined(separator: ", "))") }
                if let target = s.target { what += " \(target)" }
                if let text = s.text { what += ": \(text)" }
                if let link = s.link { what += " \(link)" }
                if s.views != nil { what += " views \(s.views ?? 0), comments \(s.comments ?? 0), reposts \(s.reposts ?? 0)" }
                lines.append("    \(t(s.at))  \(s.by.terminalSafe)@\(s.unit.terminalSafe) (\(s.role.rawValue))  \(what.terminalSafe)" + (e.effective ? "" : "  [without effect: taken concurrently]"))
            }
        }
        for n in file.view.entries(F.legacyNotes) {
            lines.append("    \(CaseJSON.time(n.sibling.hlc))  \(n.sibling.author.terminalSafe)  \(zh ? "备注：" : "note: ")\(n.sibling.value.description.terminalSafe)")
        }
        for c in file.conflicts {
            lines.append(zh ? "  冲突 \(c.id)（字段 \(c.field)）：" : "  conflict \(c.id) on \(c.field):")
            for s in c.candidates {
                lines.append(zh ? "    - “\(s.value.description.terminalSafe)”，\(s.author.terminalSafe)，\(CaseJSON.time(s.hlc))"
                                : "    - \"\(s.value.description.terminalSafe)\" by \(s.author.terminalSafe) at \(CaseJSON.time(s.hlc))")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The labels of ``render(_:org:now:)`` in Chinese, by their English names.
    static let labelZH: [String: String] = [
        "title": "标题", "summary": "摘要", "excerpt": "摘录", "level": "级别", "category": "分类", "source": "来源",
        "published": "发布时间", "discovered": "发现时间", "unit": "单位", "concerns": "涉事单位", "keywords": "关键词",
        "lead unit": "牵头单位", "co-units": "协办单位", "merged into": "并入案件", "old status": "原状态",
    ]

    /// The handling path a category decides, in Chinese.
    static func pathZH(_ c: Category) -> String {
        switch c {
        case .suggestion: "采纳并回复"
        case .inquiry: "由主管单位答复；发现当日提出处置意见，办结后回复结果"
        case .hype: "说明事实真相；持续发酵、影响恶劣的，移交纪检或执法机关"
        case .unlawful: "澄清事实，移交执法机关"
        }
    }

    /// A reply's stage in Chinese.
    static func stageZH(_ s: Reply.Stage) -> String {
        switch s {
        case .drafted: "已起草"
        case .signed: "已签字"
        case .approved: "已审定"
        case .returned: "已退回"
        case .published: "已发布"
        }
    }

    /// A report's kind in Chinese.
    static func reportZH(_ k: ReportKind) -> String {
        switch k {
        case .progress: "续报"
        case .written: "书面报告"
        case .special: "特报"
        case .handling: "处置情况登记表"
        case .opinion: "处置意见"
        }
    }
}
