import Foundation
import Hummingbird
import YuqingCases
import YuqingCore
import YuqingHub
import YuqingReplica
import YuqingSecurity

extension Console {
    func registerAdministration(on group: RouterGroup<ConsoleRequestContext>) {
        group.get("devices") { request, context in
            let v = try await self.viewer(request, context)
            return try await self.devicesPage(v)
        }
        group.post("devices/enrol") { request, context in try await self.enrol(request, context) }
        group.post("devices/{id}/revoke") { request, context in try await self.revoke(request, context, id: try context.parameters.require("id")) }
        group.get("organisation") { request, context in
            let v = try await self.viewer(request, context)
            return try await self.organisationPage(v, saved: request.uri.queryParameters.get("saved").map { _ in v.language.t("Saved.", "已保存。") })
        }
        group.post("organisation/{what}") { request, context in
            try await self.editOrganisation(request, context, what: try context.parameters.require("what"))
        }
    }

    // MARK: Devices

    func enrolForm(_ v: Viewer) -> FormSpec {
        let l = v.language
        return FormSpec(id: "enrol", title: l.t("Enrol a device", "注册设备"), action: "/console/devices/enrol", submit: l.t("Make a one-time code", "生成一次性注册码"), fields: [
            .init(name: "unit", label: l.t("Unit", "单位"), kind: .select, options: v.org.units.values.sorted { $0.id < $1.id }.map { ($0.id, "\($0.name) (\($0.id))") }, required: true),
            .init(name: "user", label: l.t("User id", "用户ID"), required: true, hint: l.t("an existing user of the unit, or a new one (then give roles)", "该单位已有用户，或新用户（须给出角色）")),
            .init(name: "name", label: l.t("Name (new user)", "姓名（新用户）")),
            .init(name: "role", label: l.t("Roles (new user)", "角色（新用户）"), kind: .checkboxes, options: Role.allCases.map { ($0.rawValue, l == .zh ? $0.chinese : $0.rawValue) }),
            .init(name: "hours", label: l.t("Valid for (hours)", "有效期（小时）"), kind: .number, value: "72", required: true),
        ])
    }

    func devicesPage(_ v: Viewer, enrol: FormSpec? = nil, code: (String, String)? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        try v.require(v.isOperator, "Devices", zh: "设备管理")
        let l = v.language
        let seen = try await accounts.lastSeen()
        let devices = try await replica.offload { r in try r.views(kinds: [CaseSchema.Kind.device]).compactMap(Device.init) }.sorted { $0.id < $1.id }
        let rows = devices.map { d -> [String: Any] in
            ["id": d.id, "user": d.user, "unit": v.unitName(d.unit), "key": (try? PublicKey(base64: d.publicKey).fingerprint) ?? "?",
             "enrolled": v.time(d.enrolledAt), "seen": v.time(seen[d.id]), "revoked": d.isRevoked, "revoked_at": v.time(d.revokedAt),
             "revoke_action": "/console/devices/\(d.id)/revoke"]
        }
        var data: [String: Any] = ["rows": rows, "forms": [(enrol ?? enrolForm(v)).data]]
        if let code { data["code"] = ["code": code.0, "for": code.1] }
        return page(v, language: l, title: l.t("Devices", "设备"), template: "devices", data: data, status: status, path: "/console/devices")
    }

    func enrol(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let v = try await viewer(request, context)
        let form = try await self.form(request, context, csrf: v.csrf)
        try v.require(v.isOperator, "Enrolling devices", zh: "注册设备")
        let l = v.language
        var spec = enrolForm(v)
        spec.fill(form.typed, all: form.all)
        func refuse(_ field: String?, _ en: String, _ zh: String) async throws -> Response {
            spec.fail(field, l.t(en, zh))
            return try await devicesPage(v, enrol: spec, status: .unprocessableContent)
        }
        guard let unit = form["unit"] else { return try await refuse("unit", "choose the unit", "请选择单位") }
        guard let user = form["user"] else { return try await refuse("user", "give the user's id", "请填写用户ID") }
        guard let hours = form["hours"].flatMap({ Int($0) }), (1...2160).contains(hours) else {
            return try await refuse("hours", "a code is valid for 1 to 2160 hours", "有效期须为1至2160小时")
        }
        let roles = form.all("role").compactMap(Role.init(name:))
        // What a field can be blamed for is checked here, by field; `issue` checks it all again.
        if let e = Identifier.error(user, what: "user") { return try await refuse("user", e.message, e.chinese) }
        if let known = v.org.users[user], known.unit != unit {
            return try await refuse("user", "user \(user) belongs to \(known.unit), not \(unit)", "用户\(user)属于\(known.unit)，不属于\(unit)")
        }
        if v.org.users[user] == nil, roles.isEmpty {
            return try await refuse("role", "\(user) is a new user: tick their roles", "\(user)是新用户：请勾选其角色")
        }
        let name = form["name"], now = v.now, author = HubEnrolment.operatorAuthor
        do {
            let code = try await HubEnrolment.issue(on: hub, unit: unit, user: user, roles: roles, name: name, validHours: hours, now: now, author: author)
            logger.notice("enrolment code made in the console", metadata: ["console.user": "\(v.user.id)", "hub.unit": "\(unit)", "hub.user": "\(user)"])
            return try await devicesPage(v, code: (code, "\(user)@\(unit)"))
        } catch let e as WorkflowError {
            return try await refuse(nil, e.message, e.chinese)
        }
    }

    func revoke(_ request: Request, _ context: ConsoleRequestContext, id: String) async throws -> Response {
        let v = try await viewer(request, context)
        _ = try await form(request, context, csrf: v.csrf)
        try v.require(v.isOperator, "Revoking devices", zh: "吊销设备")
        let now = v.now
        do {
            _ = try await HubEnrolment.revoke(on: hub, device: id, now: now)
        } catch let e as WorkflowError { throw ConsoleError(.notFound, e.message, zh: e.chinese) }
        logger.notice("device revoked in the console", metadata: ["console.user": "\(v.user.id)", "hub.device": "\(id)"])
        return Self.seeOther("/console/devices")
    }

    // MARK: Organisation

    func organisationForms(_ v: Viewer) -> [FormSpec] {
        let l = v.language
        let units = v.org.units.values.sorted { $0.id < $1.id }.map { ($0.id, "\($0.name) (\($0.id))") }
        var forms: [FormSpec] = []
        if v.isOperator {
            forms.append(FormSpec(id: "unit", title: l.t("Add or rename a unit", "添加或更名单位"), action: "/console/organisation/unit", submit: l.t("Save the unit", "保存单位"), fields: [
                .init(name: "id", label: l.t("Unit id", "单位ID"), required: true),
                .init(name: "name", label: l.t("Name", "名称"), required: true),
                .init(name: "parent", label: l.t("Unit above", "上级单位"), kind: .select, options: [("", "-")] + units),
            ]))
            forms.append(FormSpec(id: "user", title: l.t("Add a user, or give roles", "添加用户或授予角色"), action: "/console/organisation/user", submit: l.t("Save the user", "保存用户"), fields: [
                .init(name: "id", label: l.t("User id", "用户ID"), required: true),
                .init(name: "name", label: l.t("Name", "姓名")),
                .init(name: "unit", label: l.t("Unit", "单位"), kind: .select, options: units, required: true),
                .init(name: "role", label: l.t("Roles", "角色"), kind: .checkboxes, options: Role.allCases.map { ($0.rawValue, l == .zh ? $0.chinese : $0.rawValue) }),
            ]))
            let s = v.org.settings
            var fields: [FormSpec.Field] = [
                .init(name: "scheme", label: l.t("Level scheme", "分级方案"), kind: .select, value: s.levelScheme.rawValue,
                      options: [("four", l.t("four levels (I–IV)", "四级（I–IV）")), ("three", l.t("three levels (一级/二级/三级)", "三级（一级/二级/三级）"))]),
                .init(name: "utc_offset", label: l.t("Office time zone (minutes east of UTC)", "舆情办时区（比UTC早的分钟数）"), kind: .number, value: String(s.utcOffsetMinutes)),
                .init(name: "monthly_days", label: l.t("Monthly report due within the first days", "月报告须在每月前几天内报送"), kind: .number, value: String(s.monthlyReportDays)),
            ]
            // The clocks counted in minutes (the inquiry's opinion is due the day it was found).
            for c in Self.minuteClocks {
                fields.append(.init(name: "deadline_\(c.rawValue)", label: l.t("Deadline: ", "时限：") + l.clock(c.rawValue) + l.t(" (minutes)", "（分钟）"),
                                    kind: .number, value: String(s.deadlines.minutes[c] ?? DeadlineTable.defaults[c] ?? 0)))
            }
            fields.append(.init(name: "holiday", label: l.t("Add holidays (2026-10-01 or 2026-10-01..2026-10-07)", "新增节假日（如2026-10-01或2026-10-01..2026-10-07）")))
            fields.append(.init(name: "not_holiday", label: l.t("Remove holidays", "取消节假日")))
            forms.append(FormSpec(id: "settings", title: l.t("Settings", "设置"), action: "/console/organisation/settings", submit: l.t("Save the settings", "保存设置"), fields: fields))
        }
        if v.editsKeywords {
            forms.append(FormSpec(id: "keyword", title: l.t("Add a keyword", "添加关键词"), action: "/console/organisation/keyword", submit: l.t("Add the keyword", "添加关键词"), fields: [
                .init(name: "word", label: l.t("Keyword", "关键词"), required: true),
                .init(name: "topic", label: l.t("Topic", "专题")),
                .init(name: "unit", label: l.t("Watched by", "监测单位"), kind: .select, options: [("", l.t("the whole organisation", "全组织"))] + units),
            ]))
        }
        return forms
    }

    func organisationPage(_ v: Viewer, failed: (id: String, field: String?, message: String, typed: Form)? = nil, saved: String? = nil,
                          status: HTTPResponse.Status = .ok) async throws -> Response {
        try v.require(v.isOperator || v.editsKeywords, "The organisation", zh: "组织与设置")
        let l = v.language
        var forms = organisationForms(v)
        if let failed, let i = forms.firstIndex(where: { $0.id == failed.id }) {
            forms[i].fill(failed.typed.typed, all: failed.typed.all)
            forms[i].fail(failed.field, failed.message)
        }
        let keywords = try await replica.offload { r in try r.views(kinds: [CaseSchema.Kind.keyword]).compactMap(Keyword.init) }
            .sorted { ($0.unit ?? "", $0.word) < ($1.unit ?? "", $1.word) }
        let data: [String: Any] = [
            "units": v.org.units.values.sorted { $0.id < $1.id }.map { ["id": $0.id, "name": $0.name, "parent": $0.parent.map(v.unitName) ?? "-"] },
            "users": v.org.users.values.sorted { $0.id < $1.id }.map {
                ["id": $0.id, "name": $0.name, "unit": v.unitName($0.unit), "roles": $0.roles.sorted().map { l == .zh ? $0.chinese : $0.rawValue }.joined(separator: ", ")]
            },
            "keywords": keywords.map {
                ["word": $0.word, "topic": $0.topic ?? "", "unit": $0.unit.map(v.unitName) ?? l.t("everyone", "全组织"), "active": $0.active,
                 "retire_word": $0.word, "retire_unit": $0.unit ?? ""]
            },
            "holidays": v.org.settings.holidays.sorted().map(\.description).joined(separator: ", "),
            "forms": forms.map(\.data), "saved": saved as Any, "operator": v.isOperator, "edits_keywords": v.editsKeywords,
        ]
        return page(v, language: l, title: l.t("Organisation and settings", "组织与设置"), template: "organisation", data: data, status: status, path: "/console/organisation")
    }

    func editOrganisation(_ request: Request, _ context: ConsoleRequestContext, what: String) async throws -> Response {
        let v = try await viewer(request, context)
        let form = try await self.form(request, context, csrf: v.csrf)
        let l = v.language
        func refuse(_ field: String?, _ en: String, _ zh: String) async throws -> Response {
            try await organisationPage(v, failed: (what == "retire" ? "keyword" : what, field, l.t(en, zh), form), status: .unprocessableContent)
        }
        var writes: [FieldWrite]
        do {
            switch what {
            case "unit":
                try v.require(v.isOperator, "Editing units", zh: "编辑单位")
                guard let id = form["id"] else { return try await refuse("id", "give the unit's id", "请填写单位ID") }
                guard let name = form["name"] else { return try await refuse("name", "give the unit's name", "请填写单位名称") }
                if let p = form["parent"], p == id { return try await refuse("parent", "a unit cannot be above itself", "单位不能是自己的上级") }
                writes = try OrganisationWrites.unit(id, name: name, parent: form["parent"])
            case "user":
                try v.require(v.isOperator, "Editing users", zh: "编辑用户")
                guard let id = form["id"] else { return try await refuse("id", "give the user's id", "请填写用户ID") }
                guard let unit = form["unit"], v.org.units[unit] != nil else { return try await refuse("unit", "choose the user's unit", "请选择用户所属单位") }
                let roles = form.all("role").compactMap(Role.init(name:))
                guard !roles.isEmpty else { return try await refuse("role", "give at least one role", "请至少选择一个角色") }
                if let known = v.org.users[id], known.unit != unit {
                    return try await refuse("unit", "user \(id) belongs to \(known.unit); a user keeps their unit", "用户\(id)属于\(known.unit)；用户不能更换单位")
                }
                writes = try OrganisationWrites.user(id, name: form["name"] ?? v.org.users[id]?.name, unit: unit, roles: roles)
            case "settings":
                try v.require(v.isOperator, "Editing settings", zh: "编辑设置")
                let scheme = form["scheme"].flatMap(LevelScheme.init(rawValue:))
                guard let offset = form["utc_offset"].flatMap({ Int64($0) }), (-720...840).contains(offset) else {
                    return try await refuse("utc_offset", "the time zone is -720 to 840 minutes east of UTC (480 for China)", "时区须为比UTC早-720至840分钟（中国为480）")
                }
                guard let days = form["monthly_days"].flatMap({ Int64($0) }), (1...28).contains(days) else {
                    return try await refuse("monthly_days", "the monthly report is due within 1 to 28 days", "月报告报送天数须为1至28天")
                }
                var table: [DeadlineClock: Int64] = [:]
                for c in Self.minuteClocks {
                    guard let m = form["deadline_\(c.rawValue)"].flatMap({ Int64($0) }), m > 0, m <= 525_600 else {
                        return try await refuse("deadline_\(c.rawValue)", "a deadline is 1 to 525600 minutes", "时限须为1至525600分钟")
                    }
                    if m != (v.org.settings.deadlines.minutes[c] ?? DeadlineTable.defaults[c]) { table[c] = m }
                }
                var add: [CivilDate] = [], remove: [CivilDate] = []
                for field in ["holiday", "not_holiday"] {
                    guard let text = form[field] else { continue }
                    guard let span = CivilDate.days(text) else {
                        return try await refuse(field, "'\(text)' is not a day (2026-10-01) or a span of at most a year (2026-10-01..2026-10-07)",
                                                "“\(text)”不是日期（如2026-10-01），也不是不超过一年的一段日期（如2026-10-01..2026-10-07）")
                    }
                    if field == "holiday" { add = span } else { remove = span }
                }
                writes = OrganisationWrites.settings(scheme: scheme == v.org.settings.levelScheme ? nil : scheme,
                                                     utcOffsetMinutes: offset == v.org.settings.utcOffsetMinutes ? nil : offset, deadlines: table,
                                                     evidenceMaxBytes: nil, holidays: add, removeHolidays: remove,
                                                     monthlyReportDays: days == v.org.settings.monthlyReportDays ? nil : days)
            case "keyword", "retire":
                try v.require(v.editsKeywords, "Editing keywords", zh: "编辑关键词")
                guard let word = form["word"] else { return try await refuse("word", "give the keyword", "请填写关键词") }
                let unit = form["unit"]
                if let unit, v.org.units[unit] == nil { return try await refuse("unit", "\(unit) is not a unit", "\(unit)不是单位") }
                let held = try await replica.offload { r in try r.view(RecordRef(kind: CaseSchema.Kind.keyword, id: Keyword.id(word: word, unit: unit))) }
                    .flatMap(Keyword.init)
                if what == "retire", held == nil { return try await refuse("word", "there is no keyword \(word) to retire", "没有可停用的关键词\(word)") }
                writes = try Keyword.writes(Keyword(word: word, unit: unit, topic: what == "retire" ? held?.topic : form["topic"], active: what != "retire"), over: held)
            default:
                throw ConsoleError(.notFound, "there is no such form", zh: "没有这个表单")
            }
        } catch let e as WorkflowError {
            return try await refuse(nil, e.message, e.chinese)
        }
        if writes.isEmpty { return try await organisationPage(v, saved: l.t("Nothing changed.", "没有变更。")) }
        let author = v.isOperator && what != "keyword" && what != "retire" ? HubEnrolment.operatorAuthor : v.actor.author
        let batch = writes
        _ = try await replica.offload { r in try r.write(batch.map { Replica.Write($0.record, $0.field, $0.value) }, author: author) }
        logger.notice("organisation edited in the console", metadata: ["console.user": "\(v.user.id)", "console.form": "\(what)"])
        return Self.seeOther("/console/organisation?saved=\(what)")
    }

    static var minuteClocks: [DeadlineClock] { DeadlineClock.allCases.filter { DeadlineTable.defaults[$0] != nil } }

}
