import Foundation
import Hummingbird
import YuqingCases
import YuqingCore
import YuqingReplica

extension Console {
    func registerConflicts(on group: RouterGroup<ConsoleRequestContext>) {
        group.get("conflicts") { request, context in try await self.conflictQueue(request, context) }
        group.get("conflicts/{id}") { request, context in
            let v = try await self.viewer(request, context)
            return try await self.conflictPage(v, id: try context.parameters.require("id"))
        }
        group.post("conflicts/{id}/resolve") { request, context in
            try await self.resolve(request, context, id: try context.parameters.require("id"))
        }
    }

    func conflictQueue(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let v = try await viewer(request, context)
        try v.require(v.isOperator, "The conflict queue", zh: "冲突队列")
        let l = v.language
        let conflicts = try await hub.conflicts()
        let rows = conflicts.map { c -> [String: Any] in
            ["id": c.id, "href": "/console/conflicts/\(Self.pathID(c.id))", "record": c.record.description, "field": c.field.description,
             "values": c.candidates.count, "provisional": Self.shown(c.provisional)]
        }
        let done = try await accounts.resolutions().map { r -> [String: Any] in
            ["record": r.record, "field": r.field, "value": r.value, "note": r.note, "by": r.by, "time": v.time(r.at)]
        }
        return page(v, language: l, title: l.t("Conflicts", "冲突"), template: "conflicts",
                    data: ["rows": rows, "count": rows.count, "resolved": done, "resolved_now": request.uri.queryParameters.get("resolved") == "1"],
                    path: "/console/conflicts")
    }

    /// Conflict ids hold `/` and `:`; in a path they are percent-encoded.
    static func pathID(_ id: String) -> String { id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? id }

    static func shown(_ v: FieldValue?) -> String { v.map { $0.description } ?? "∅" }


    func conflict(_ id: String) async throws -> Conflict? {
        let decoded = id.removingPercentEncoding ?? id
        return try await hub.conflicts().first { $0.id == decoded }
    }

    func conflictPage(_ v: Viewer, id: String, failure: (message: String, field: String?)? = nil, typed: Form? = nil,
                      status: HTTPResponse.Status = .ok) async throws -> Response {
        try v.require(v.isOperator, "Resolving conflicts", zh: "解决冲突")
        let l = v.language
        guard let c = try await conflict(id) else {
            throw ConsoleError(.notFound, "there is no open conflict \(id): it was resolved already, or a new value changed it; see the queue",
                               zh: "没有未解决的冲突\(id)：它已被解决，或被新的值改变；请查看冲突队列")
        }
        // The value both sides started from: the latest change of the field that every side's
        // context had seen.
        let history = try await replica.offload { r in try r.history(of: c.record) }.filter { $0.field == c.field }
        let byDot = Dictionary(history.map { ($0.dot, $0) }, uniquingKeysWith: { a, _ in a })
        let contexts = c.candidates.map { Set(byDot[$0.dot]?.context ?? []) }
        let base = history.filter { h in contexts.allSatisfy { $0.contains(h.dot) } }.max { $0.hlc < $1.hlc }
        let devices = try await replica.offload { r in
            Dictionary(try r.views(kinds: [CaseSchema.Kind.device]).compactMap(Device.init).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        }
        let sides = c.candidates.enumerated().map { i, s -> [String: Any] in
            let actor = Actor(author: s.author)
            return ["n": i + 1, "value": Self.shown(s.value), "author": s.author, "unit": actor.map { v.unitName($0.unit) } ?? "-",
                    "device": s.dot.replica.rawValue, "device_user": devices[s.dot.replica.rawValue].map { "\($0.user)@\($0.unit)" } ?? "",
                    "time": v.time(Int64(s.hlc.wallMillis)), "dot": "\(s.dot)", "choice": "side-\(i)"]
        }
        let choices = c.candidates.enumerated().map { i, s in ("side-\(i)", "\(i + 1): \(Self.shown(s.value))") } + [("custom", l.t("another value (below)", "其他值（见下）"))]
        var form = FormSpec(id: "resolve", title: l.t("Resolve", "裁决"), action: "/console/conflicts/\(Self.pathID(c.id))/resolve",
                            submit: l.t("Resolve for everyone", "裁决（对所有节点生效）"), fields: [
            .init(name: "choice", label: l.t("The value that stands", "采用的值"), kind: .select, value: "side-0", options: choices, required: true),
            .init(name: "custom", label: l.t("Another value (when chosen above)", "其他值（上面选择“其他值”时）"), kind: .textarea),
            .init(name: "note", label: l.t("Note (why)", "裁决说明（理由）"), kind: .textarea, required: true),
        ], hidden: [("record", c.record.description), ("field", c.field.description)])
        if let typed { form.fill(typed.typed, all: typed.all) }
        if let failure { form.fail(failure.field, failure.message) }
        let data: [String: Any] = [
            "id": c.id, "record": c.record.description, "field": c.field.description, "provisional": Self.shown(c.provisional),
            "sides": sides, "base": base.map { Self.shown($0.value) } ?? l.t("none: each side wrote the field first", "无：双方都是首次写入该字段"),
            "base_author": base?.author ?? "", "base_time": base.map { v.time(Int64($0.hlc.wallMillis)) } ?? "",
            "case_href": c.record.kind == CaseSchema.Kind.case ? "/console/cases/\(c.record.id)" : "",
            "forms": [form.data],
        ]
        return page(v, language: l, title: l.t("Conflict ", "冲突 ") + c.id, template: "conflict", data: data, status: status, path: "/console/conflicts/\(Self.pathID(c.id))")
    }

    func resolve(_ request: Request, _ context: ConsoleRequestContext, id: String) async throws -> Response {
        let v = try await viewer(request, context)
        let form = try await self.form(request, context, csrf: v.csrf)
        try v.require(v.isOperator, "Resolving conflicts", zh: "解决冲突")
        let l = v.language
        // A conflict's id names the values in conflict (``YuqingCore/Conflict/id``): a page whose
        // id is no longer open is out of date.
        guard let c = try await conflict(id) else {
            // A new concurrent value makes a new conflict of the same field: show it, apply nothing.
            if let record = form["record"], let field = form["field"],
               let now = try await hub.conflicts().first(where: { $0.record.description == record && $0.field.description == field }) {
                return try await conflictPage(v, id: now.id, failure: (Self.changedMessage(l), nil), typed: Self.noteOnly(form), status: .conflict)
            }
            return page(v, language: l, title: l.t("Conflict", "冲突"), template: "error", data: [
                "message": l.t("Nothing was applied: this conflict was resolved meanwhile (by another operator, or by a node's newer value). See the queue for what is open now.",
                               "未作任何更改：该冲突在此期间已被解决（由其他运维人员，或由节点写入的新值）。请在冲突队列中查看当前未解决的冲突。"),
                "status": 409, "back_href": "/console/conflicts"], status: .conflict, path: "/console/conflicts")
        }
        guard let note = form["note"] else {
            return try await conflictPage(v, id: id, failure: (l.t("Say why: the note is kept with the resolution.", "请说明理由：裁决说明将与裁决一并保存。"), "note"),
                                          typed: form, status: .unprocessableContent)
        }
        let value: FieldValue
        switch form["choice"] ?? "" {
        case "custom":
            guard let text = form["custom"] else {
                return try await conflictPage(v, id: id, failure: (l.t("Write the other value, or choose one of the sides.", "请填写其他值，或选择一方的值。"), "custom"),
                                              typed: form, status: .unprocessableContent)
            }
            guard let typed = Self.sameKind(text, as: c.provisional) else {
                return try await conflictPage(v, id: id, failure: (l.t("This field holds a whole number: write one (or choose a side).", "该字段的值为整数：请填写整数（或选择一方的值）。"), "custom"),
                                              typed: form, status: .unprocessableContent)
            }
            value = typed
        case let choice where choice.hasPrefix("side-"):
            guard let i = Int(choice.dropFirst(5)), c.candidates.indices.contains(i) else {
                return try await conflictPage(v, id: id, failure: (l.t("Choose one of the values shown.", "请选择所列的值之一。"), "choice"), typed: form, status: .unprocessableContent)
            }
            value = c.candidates[i].value
        default:
            return try await conflictPage(v, id: id, failure: (l.t("Choose the value that stands.", "请选择采用的值。"), "choice"), typed: form, status: .unprocessableContent)
        }
        let by = v.actor.author
        do { _ = try await hub.resolve(conflictID: c.id, value: value, resolvedBy: by) } catch let e as ReplicaError where e.code == .notFound {
            // Resolved, or changed, between the check above and the write: nothing was applied.
            return try await conflictPage(v, id: id, failure: (Self.changedMessage(l), nil), typed: Self.noteOnly(form), status: .conflict)
        }
        try await accounts.recordResolution(.init(conflict: c.id, record: c.record.description, field: c.field.description,
                                                  value: Self.shown(value), note: note, by: by, at: v.now))
        logger.notice("conflict resolved in the console", metadata: ["console.user": "\(v.user.id)", "hub.conflict": "\(c.id)"])
        return Self.seeOther("/console/conflicts?resolved=1")
    }

    static func changedMessage(_ l: Language) -> String {
        l.t("Nothing was applied: the conflict changed since you opened the page (a new value arrived). Review the values below and choose again.",
            "未作任何更改：自您打开页面以来该冲突已发生变化（收到了新的值）。请查看下面的值后重新选择。")
    }

    /// A typed value as the same kind as the conflict's values (an integer field stays one),
    /// or nil when it cannot be.
    static func sameKind(_ text: String, as sample: FieldValue) -> FieldValue? {
        if case .integer = sample { return Int64(text).map(FieldValue.integer) }
        return .text(text)
    }

    /// What to put back when the values changed under the page: the note, not the choice.
    static func noteOnly(_ form: Form) -> Form {
        var kept = form
        kept.values = form.values.filter { $0.0 == "note" }
        return kept
    }
}
