import Foundation
import Hummingbird
import YuqingCases
import YuqingCore
import YuqingOffice
import YuqingReplica

extension Console {
    func registerCases(on group: RouterGroup<ConsoleRequestContext>) {
        group.get("cases") { request, context in try await self.caseList(request, context) }
        group.get("cases/{id}") { request, context in
            let v = try await self.viewer(request, context)
            let done = request.uri.queryParameters.get("done").map { _ in v.language.t("Saved: the nodes receive it at their next sync.", "已保存：各节点将在下次同步时收到。") }
            return try await self.casePage(v, id: try context.parameters.require("id"), path: request.uri.path, saved: done)
        }
        group.get("cases/{id}/evidence/{digest}") { request, context in
            try await self.evidence(request, context, id: try context.parameters.require("id"), digest: try context.parameters.require("digest"))
        }
        group.post("cases/{id}/steps/{step}") { request, context in
            try await self.takeStep(request, context, id: try context.parameters.require("id"), step: try context.parameters.require("step"))
        }
    }

    // MARK: The list

    func caseList(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let v = try await viewer(request, context)
        let l = v.language, q = request.uri.queryParameters
        var query = CaseListQuery()
        query.text = q.get("q") ?? ""
        query.level = q.get("level").flatMap { $0.isEmpty || $0 == "none" ? nil : $0 }
        query.ungraded = q.get("level") == "none"
        query.category = q.get("category").flatMap { Int($0) }
        query.status = q.get("status").flatMap(CaseStatus.init(rawValue:))
        query.overdue = q.get("overdue") == "1"
        let chosenUnit = q.get("unit").flatMap { $0.isEmpty ? nil : $0 }
        // A unit's user sees only what the unit may see, whatever the address asks.
        query.unit = v.seesAll ? chosenUnit : v.user.unit
        let pageNumber = min(max(1, q.get("page").flatMap { Int($0) } ?? 1), 100_000)
        query.openOnly = q.get("open") == "1"
        query.limit = configuration.pageSize
        query.offset = (pageNumber - 1) * configuration.pageSize
        let index = try await freshIndex()
        let now = v.now, fixed = query
        let result: CaseListPage
        var searchError: String?
        do { result = try await replica.offload { _ in try index.caseList(fixed, now: now) } } catch let e as OfficeError where e.code == .input {
            result = CaseListPage(rows: [], total: 0, capped: false)
            searchError = l == .zh ? e.chinese : e.message
        }
        let pages = max(1, (result.total + configuration.pageSize - 1) / configuration.pageSize)
        func link(_ page: Int) -> String {
            var items = [("q", query.text), ("level", query.ungraded ? "none" : query.level ?? ""), ("category", query.category.map(String.init) ?? ""),
                         ("status", query.status?.rawValue ?? ""), ("unit", chosenUnit ?? ""), ("overdue", query.overdue ? "1" : ""),
                         ("open", query.openOnly ? "1" : "")]
                .filter { !$0.1.isEmpty }
            items.append(("page", String(page)))
            var c = URLComponents()
            c.queryItems = items.map { URLQueryItem(name: $0.0, value: $0.1) }
            return "/console/cases" + (c.percentEncodedQuery.map { "?" + $0 } ?? "")
        }
        let scheme = v.org.settings.levelScheme
        func options(_ all: [(String, String)], _ chosen: String?) -> [[String: Any]] {
            [["option_value": "", "option_label": l.t("all", "全部"), "option_selected": chosen == nil]]
                + all.map { ["option_value": $0.0, "option_label": $0.1, "option_selected": chosen == $0.0] }
        }
        let data: [String: Any] = [
            "rows": result.rows.map { caseRow($0, v) }, "total": result.capped ? "\(result.total)+" : "\(result.total)",
            "page": pageNumber, "pages": result.capped ? "\(pages)+" : "\(pages)",
            "prev": pageNumber > 1 ? link(pageNumber - 1) : "", "next": link(pageNumber + 1),
            "has_prev": pageNumber > 1, "has_next": pageNumber < pages || (result.capped && result.rows.count == configuration.pageSize),
            "q": query.text, "overdue_checked": query.overdue, "open_checked": query.openOnly, "search_error": searchError as Any,
            "level_options": options(scheme.levels.map { ($0, l.level($0, scheme: scheme)) }, query.level),
            "category_options": options(Category.allCases.map { (String($0.rawValue), l.category($0.rawValue)) }, query.category.map(String.init)),
            "status_options": options(CaseStatus.allCases.map { ($0.rawValue, l.status($0)) }, query.status?.rawValue),
            "unit_filter": v.seesAll,
            "unit_options": options(v.org.units.values.sorted { $0.id < $1.id }.map { ($0.id, $0.name.isEmpty ? $0.id : $0.name) }, chosenUnit),
        ]
        return page(v, language: l, title: l.t("Cases", "案件"), template: "cases", data: data, path: request.uri.description)
    }

    // MARK: One case

    /// The case `id` as `v` may see it, or not found (the same answer for a case that exists
    /// but is another unit's: a unit's user learns nothing of it).
    func file(_ id: String, for v: Viewer) async throws -> CaseFile {
        let view = try await replica.offload { r in try r.view(CaseSchema.caseRef(id)) }
        guard let view, view.value(CaseSchema.Field.title) != nil else { throw Self.noCase(id) }
        let file = CaseFile(view)
        guard v.sees(file) else { throw Self.noCase(id) }
        return file
    }

    static func noCase(_ id: String) -> ConsoleError {
        ConsoleError(.notFound, "there is no case \(id) that you may see", zh: "没有您可查看的案件\(id)")
    }

    func casePage(_ v: Viewer, id: String, path: String, forms failed: [String: (error: ConsoleError, field: String?, typed: Form)] = [:],
                  notice: String? = nil, saved: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let file = try await self.file(id, for: v)
        let l = v.language, scheme = v.org.settings.levelScheme
        let summary = CaseSummary(file)
        let state = file.state
        let entries = file.entries.map { e -> [String: Any] in
            let s = e.step
            var detail: [String] = []
            if let t = s.text { detail.append(t) }
            if let level = s.level { detail.append(l.t("level ", "级别：") + l.level(level, scheme: scheme)) }
            if let c = s.category { detail.append(l.category(c)) }
            if let lead = s.lead { detail.append(l.t("lead unit ", "牵头单位：") + v.unitName(lead)) }
            if let co = s.coUnits, !co.isEmpty { detail.append(l.t("co-units ", "协办单位：") + co.map(v.unitName).joined(separator: ", ")) }
            if let d = s.deadline { detail.append(l.t("deadline ", "期限：") + v.time(d)) }
            if let t = s.target { detail.append(l.t("about ", "对象：") + (v.org.units[t] != nil ? v.unitName(t) : t)) }
            if let link = s.link { detail.append(link) }
            if let views = s.views { detail.append(l.t("views \(views), comments \(s.comments ?? 0), reposts \(s.reposts ?? 0)",
                                                       "浏览\(views)，评论\(s.comments ?? 0)，转发\(s.reposts ?? 0)")) }
            return ["time": v.time(s.at), "step": l == .zh ? s.kind.chinese : s.kind.rawValue.replacingOccurrences(of: "_", with: " "),
                    "by": "\(s.by)@\(s.unit)", "role": l == .zh ? s.role.chinese : s.role.rawValue, "device": e.dot.replica.rawValue,
                    "detail": detail.joined(separator: " · "), "moot": !e.effective]
        }
        let clocks = summary.clocks.sorted { $0.due < $1.due }.map { c -> [String: Any] in
            ["clock": l.clock(c.clock), "unit": v.unitName(c.unit), "due": v.time(c.due), "met": c.met.map(v.time) ?? "",
             "overdue": c.met == nil && c.due < v.now, "late": (c.met ?? 0) > c.due]
        }
        let replies = state.replies.map { r -> [String: Any] in
            ["id": r.id, "unit": v.unitName(r.unit), "text": r.text, "version": r.version, "stage": l == .zh ? r.stage.chinese : r.stage.rawValue,
             "signed_by": r.signedBy ?? "", "reason": r.reason ?? "", "link": r.link ?? ""]
        }
        let reports = file.entries.filter { $0.step.kind == .report }.map { e -> [String: Any] in
            ["time": v.time(e.step.at), "kind": e.step.report.map { Self.reportKind($0, l) } ?? "", "unit": v.unitName(e.step.unit),
             "text": e.step.text ?? ""]
        }
        let held = blobs
        let evidence = file.evidence.map { d, e -> [String: Any] in
            ["name": e.name, "bytes": e.bytes, "type": e.mediaType, "digest": String(d.prefix(16)), "time": v.time(e.at), "by": e.by,
             "href": "/console/cases/\(id)/evidence/\(d)", "held": held?.has(d) ?? false]
        }
        var forms = stepForms(file, v)
        for i in forms.indices {
            if let f = failed[forms[i].id] {
                forms[i].fill(f.typed.typed, all: f.typed.all)
                forms[i].fail(f.field, l == .zh ? f.error.chinese : f.error.message)
            }
        }
        let data: [String: Any] = [
            "id": file.id, "title": file.title, "status": l.status(state.status), "level": l.level(file.level, scheme: scheme),
            "category": l.category(file.category?.rawValue), "platform": l.platform(file.text(CaseSchema.Field.platform)),
            "url": file.text(CaseSchema.Field.url) ?? "", "poster": file.text(CaseSchema.Field.poster) ?? "",
            "site": file.text(CaseSchema.Field.site) ?? "", "summary": file.text(CaseSchema.Field.summary) ?? "",
            "excerpt": file.text(CaseSchema.Field.excerpt) ?? "", "discovered": v.time(file.discoveredAt),
            "unit": file.unit.map(v.unitName) ?? "-", "concerned": file.unitsConcerned.map(v.unitName).joined(separator: ", "),
            "lead": file.leadUnit.map(v.unitName) ?? "-", "co_units": file.coUnits.map(v.unitName).joined(separator: ", "),
            "keywords": file.keywords.joined(separator: ", "), "entries": entries, "clocks": clocks, "replies": replies,
            "reports": reports, "evidence": evidence, "forms": forms.map(\.data), "notice": notice as Any, "saved": saved as Any,
            "conflicts": file.conflicts.count, "has_conflicts": !file.conflicts.isEmpty, "conflicts_link": v.isOperator,
        ]
        return page(v, language: l, title: "\(file.id) \(file.title)", template: "case", data: data, status: status, path: path)
    }

    /// The office's steps this user may take on `file` now.
    func stepForms(_ file: CaseFile, _ v: Viewer) -> [FormSpec] {
        let l = v.language, scheme = v.org.settings.levelScheme
        let action = { (step: String) in "/console/cases/\(file.id)/steps/\(step)" }
        let archived = file.state.status == .archived
        var forms: [FormSpec] = []
        let units = v.org.units.values.sorted { $0.id < $1.id }.map { ($0.id, $0.name.isEmpty ? $0.id : "\($0.name) (\($0.id))") }
        let levelOptions = [("", l.t("unchanged", "不变"))] + scheme.levels.map { ($0, l.level($0, scheme: scheme)) }
        let categoryOptions = [("", l.t("unchanged", "不变"))] + Category.allCases.map { (String($0.rawValue), l.category($0.rawValue)) }
        if archived { return [] }
        if v.may(.assess) {
            forms.append(FormSpec(id: "assess", title: l.t("Assess (研判)", "研判"), action: action("assess"), submit: l.t("Save the assessment", "保存研判"), fields: [
                .init(name: "category", label: l.t("Category", "分类"), kind: .select, value: file.category.map { String($0.rawValue) } ?? "", options: categoryOptions),
                .init(name: "level", label: l.t("Level", "级别"), kind: .select, value: file.level ?? "", options: levelOptions),
                .init(name: "opinion", label: l.t("Handling opinion", "处置意见"), kind: .textarea, required: true),
            ]))
        }
        if v.may(.assign) {
            forms.append(FormSpec(id: "assign", title: l.t("Assign (交办)", "交办"), action: action("assign"), submit: l.t("Assign", "交办"), fields: [
                .init(name: "lead", label: l.t("Lead unit", "牵头单位"), kind: .select, value: file.leadUnit ?? "", options: [("", "-")] + units, required: true),
                .init(name: "co", label: l.t("Co-units", "协办单位"), kind: .checkboxes, options: units, selected: Set(file.coUnits)),
                .init(name: "deadline", label: l.t("Deadline (office time)", "办理期限（舆情办时间）"), kind: .datetime,
                      value: ConsoleTime.local(v.now + 24 * 3_600_000, calendar: v.org.settings.calendar), required: true),
                .init(name: "instruction", label: l.t("Instruction", "批示或交办意见"), kind: .textarea),
            ]))
        }
        let concerned = Array(file.scope).sorted().map { ($0, v.unitName($0)) }
        if v.may(.urge) {
            forms.append(FormSpec(id: "urge", title: l.t("Urge a unit (催办)", "催办"), action: action("urge"), submit: l.t("Urge", "催办"), fields: [
                .init(name: "unit", label: l.t("Unit", "单位"), kind: .select, value: file.leadUnit ?? "", options: concerned, required: true),
                .init(name: "note", label: l.t("Note", "说明"), kind: .textarea),
            ]))
        }
        if v.may(.notice) {
            forms.append(FormSpec(id: "notice", title: l.t("Name a unit in a notice (通报)", "通报"), action: action("notice"), submit: l.t("Record the notice", "记录通报"), fields: [
                .init(name: "unit", label: l.t("Unit", "单位"), kind: .select, value: file.leadUnit ?? "", options: concerned, required: true),
                .init(name: "note", label: l.t("Note", "说明"), kind: .textarea),
            ]))
        }
        for r in file.state.replies {
            let label = "\(r.id) (\(v.unitName(r.unit)), v\(r.version))"
            if r.stage == .signed, v.may(.approve) {
                forms.append(FormSpec(id: "approve-\(r.id)", title: l.t("Approve reply ", "审定回复 ") + label, action: action("approve"),
                                      submit: l.t("Approve", "审定通过"), fields: [.init(name: "note", label: l.t("Note", "说明"), kind: .textarea)],
                                      hidden: [("draft", r.id)]))
                forms.append(FormSpec(id: "return-\(r.id)", title: l.t("Return reply ", "退回回复 ") + label, action: action("return"),
                                      submit: l.t("Return for revision", "退回修改"), fields: [.init(name: "reason", label: l.t("Reason", "退回理由"), kind: .textarea, required: true)],
                                      hidden: [("draft", r.id)]))
            }
            if r.stage == .approved, v.may(.publish) {
                forms.append(FormSpec(id: "publish-\(r.id)", title: l.t("Publish reply ", "发布回复 ") + label, action: action("publish"),
                                      submit: l.t("Record publication", "登记发布"),
                                      fields: [.init(name: "link", label: l.t("Where it was published (link)", "发布地址（链接）"), required: true)],
                                      hidden: [("draft", r.id)]))
            }
        }
        if v.may(.archive) {
            forms.append(FormSpec(id: "archive", title: l.t("Archive (立卷归档)", "立卷归档"), action: action("archive"), submit: l.t("Archive", "归档"),
                                  fields: [.init(name: "note", label: l.t("Note", "说明"), kind: .textarea)]))
        }
        return forms
    }

    /// Takes one of the office's steps through the domain's planner (the same rules as every
    /// node), writes it at the hub as the signed-in user, and shows the case again.
    func takeStep(_ request: Request, _ context: ConsoleRequestContext, id: String, step: String) async throws -> Response {
        let v = try await viewer(request, context)
        let form = try await self.form(request, context, csrf: v.csrf)
        let l = v.language
        let file = try await self.file(id, for: v)
        let formID = ["approve", "return", "publish"].contains(step) ? "\(step)-\(form["draft"] ?? "")" : step
        func fail(_ field: String?, _ en: String, _ zh: String) -> ConsoleError { ConsoleError(.input, en, zh: zh) }
        do {
            let action: CaseAction
            switch step {
            case "assess":
                guard let opinion = form["opinion"] else { throw Refused(field: "opinion", error: fail("opinion", "write the handling opinion", "请填写处置意见")) }
                action = .assess(category: form["category"].flatMap { Int($0) }.flatMap(Category.init(rawValue:)), level: form["level"], opinion: opinion)
            case "assign":
                guard let lead = form["lead"] else { throw Refused(field: "lead", error: fail("lead", "choose the lead unit", "请选择牵头单位")) }
                guard v.org.units[lead] != nil else { throw Refused(field: "lead", error: fail("lead", "\(lead) is not a unit of the organisation", "\(lead)不是组织中的单位")) }
                guard let text = form["deadline"], let deadline = ConsoleTime.parseLocal(text, utcOffsetMinutes: v.offset) else {
                    throw Refused(field: "deadline", error: fail("deadline", "give the deadline as a date and time (2026-11-22T18:00)", "请以日期和时间给出期限（如2026-11-22T18:00）"))
                }
                guard deadline > v.now else {
                    throw Refused(field: "deadline", error: fail("deadline", "the deadline \(text) has passed already; give a later one", "期限\(text)已过；请给出更晚的时间"))
                }
                let co = form.all("co").filter { $0 != lead }
                if let unknown = co.first(where: { v.org.units[$0] == nil }) {
                    throw Refused(field: "co", error: fail("co", "\(unknown) is not a unit of the organisation", "\(unknown)不是组织中的单位"))
                }
                action = .assign(lead: lead, coUnits: co, deadline: deadline, instruction: form["instruction"])
            case "urge", "notice":
                guard let unit = form["unit"] else { throw Refused(field: "unit", error: fail("unit", "choose the unit", "请选择单位")) }
                action = step == "urge" ? .urge(unit: unit, note: form["note"]) : .notice(unit: unit, note: form["note"])
            case "approve":
                action = .approve(draft: form["draft"] ?? "", note: form["note"])
            case "return":
                guard let reason = form["reason"] else { throw Refused(field: "reason", error: fail("reason", "say why the reply goes back", "请说明退回理由")) }
                action = .returnDraft(draft: form["draft"] ?? "", reason: reason)
            case "publish":
                guard let link = form["link"] else { throw Refused(field: "link", error: fail("link", "give the link where the reply was published", "请给出回复发布的链接")) }
                guard link.hasPrefix("http://") || link.hasPrefix("https://") else {
                    throw Refused(field: "link", error: fail("link", "a link starts with http:// or https://", "链接须以http://或https://开头"))
                }
                action = .publish(draft: form["draft"] ?? "", link: link)
            case "archive":
                action = .archive(note: form["note"])
            default:
                throw ConsoleError(.notFound, "there is no step \(step) in the console", zh: "控制台中没有“\(step)”这一步骤")
            }
            let plan: (caseID: String, writes: [FieldWrite])
            do { plan = try v.planner().plan(action, on: file) } catch { throw Refused(field: nil, error: ConsoleError(.input, error.message, zh: error.chinese)) }
            let author = v.actor.author
            _ = try await replica.offload { r in try r.write(plan.writes.map { Replica.Write($0.record, $0.field, $0.value) }, author: author) }
            logger.info("console step", metadata: ["console.user": "\(v.user.id)", "console.case": "\(id)", "console.step": "\(step)"])
            return Self.seeOther("/console/cases/\(id)?done=\(step)")
        } catch let r as Refused {
            return try await casePage(v, id: id, path: "/console/cases/\(id)", forms: [formID: (r.error, r.field, form)],
                                      notice: l.t("Nothing was saved: correct the form below.", "未保存任何内容：请更正下面的表单。"),
                                      status: .unprocessableContent)
        }
    }

    /// An evidence file of a case the user may see, as the hub holds it.
    func evidence(_ request: Request, _ context: ConsoleRequestContext, id: String, digest: String) async throws -> Response {
        let v = try await viewer(request, context)
        let file = try await self.file(id, for: v)
        guard let entry = file.evidence.first(where: { $0.digest == digest }), let blobs, blobs.has(digest), let size = blobs.size(digest) else {
            throw ConsoleError(.notFound, "the hub holds no such evidence file of \(id) (yet: it arrives when the node that took it syncs)",
                               zh: "中心（暂）无\(id)的这一证据文件（拍摄该证据的节点同步后才会送达）")
        }
        let data = try blobs.read(digest, offset: 0, length: Int(size))
        let type = entry.evidence.mediaType.allSatisfy { $0.isLetter || $0.isNumber || "/+-.".contains($0) } ? entry.evidence.mediaType : "application/octet-stream"
        return Response(status: .ok, headers: [.contentType: type, .contentDisposition: "attachment", .init("X-Content-Type-Options")!: "nosniff"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension Console {
    static func reportKind(_ k: ReportKind, _ l: Language) -> String {
        guard l == .zh else { return k.rawValue }
        switch k {
        case .progress: return "续报"
        case .written: return "书面报告"
        case .special: return "特报"
        case .handling: return "处置情况登记表"
        case .opinion: return "处置意见"
        }
    }
}

/// A form refused: which field, and why.
struct Refused: Error {
    let field: String?
    let error: ConsoleError
}
