/// A form as the page template draws it (`form` partial): every field with its label, the value
/// the user typed (kept when the form is refused), and the message next to the field that was
/// wrong. Described in Swift, drawn by one template, so every form behaves alike.
struct FormSpec {
    enum Kind { case text, textarea, select, checkboxes, datetime, number, password }

    struct Field {
        var name: String
        var label: String
        var kind: Kind = .text
        var value = ""
        var options: [(value: String, label: String)] = []
        var selected: Set<String> = []
        var required = false
        var hint: String?
        var error: String?
    }

    var id: String
    var title: String
    var action: String
    var submit: String
    var fields: [Field] = []
    var hidden: [(String, String)] = []
    var error: String?
    /// A form that asks before it is sent (revocation).
    var danger = false

    /// Puts back what the user typed.
    mutating func fill(_ typed: [String: String], all: (String) -> [String]) {
        for i in fields.indices {
            switch fields[i].kind {
            case .checkboxes: fields[i].selected = Set(all(fields[i].name))
            case .password: break
            default: if let v = typed[fields[i].name] { fields[i].value = v }
            }
        }
    }

    /// Puts `message` next to field `name` (or at the top when no field has that name).
    mutating func fail(_ name: String?, _ message: String) {
        if let name, let i = fields.firstIndex(where: { $0.name == name }) { fields[i].error = message } else { error = message }
    }

    var data: [String: Any] {
        var d: [String: Any] = [
            "form_id": id, "form_title": title, "form_action": action, "form_submit": submit, "form_danger": danger,
            "form_hidden": hidden.map { ["hidden_name": $0.0, "hidden_value": $0.1] },
            "fields": fields.map { f -> [String: Any] in
                let selected = f.kind == .select ? [f.value] : Array(f.selected)
                var o: [String: Any] = [
                    "field_name": f.name, "field_id": "\(id)-\(f.name)", "field_label": f.label, "field_value": f.value,
                    "field_required": f.required, "is_text": f.kind == .text, "is_textarea": f.kind == .textarea,
                    "is_select": f.kind == .select, "is_checks": f.kind == .checkboxes, "is_datetime": f.kind == .datetime,
                    "is_number": f.kind == .number, "is_password": f.kind == .password,
                    "options": f.options.map { ["option_value": $0.value, "option_label": $0.label, "option_selected": selected.contains($0.value)] },
                ]
                if let e = f.error { o["field_error"] = e }
                if let h = f.hint { o["field_hint"] = h }
                return o
            },
        ]
        if let error { d["form_error"] = error }
        return d
    }
}
