import YuqingCore

/// The unit tree, the users with their roles, and the office's settings: configuration that
/// syncs like any data (records `unit/…`, `user/…`, `settings/office`). A node that is offline
/// uses what it last received.
public struct Organisation: Hashable, Sendable {
    public struct Unit: Hashable, Sendable {
        public var id: String
        public var name: String
        public var parent: String?

        public init(id: String, name: String, parent: String?) {
            self.id = id
            self.name = name
            self.parent = parent
        }
    }

    public struct User: Hashable, Sendable {
        public var id: String
        public var name: String
        public var unit: String
        public var roles: Set<Role>

        public init(id: String, name: String, unit: String, roles: Set<Role>) {
            self.id = id
            self.name = name
            self.unit = unit
            self.roles = roles
        }
    }

    /// What the office configures for everyone.
    public struct Settings: Hashable, Sendable {
        public var levelScheme: LevelScheme = .four
        /// The office's time zone, as minutes east of UTC (China: +480).
        public var utcOffsetMinutes: Int64 = 480
        public var deadlines = DeadlineTable()
        /// The largest evidence file accepted.
        public var evidenceMaxBytes: Int64 = 20 * 1024 * 1024
        /// Holidays that move report deadlines (节假日顺延).
        public var holidays: Set<CivilDate> = []
        /// The monthly report is due within this many first days of the month.
        public var monthlyReportDays: Int64 = 3

        public init() {}

        /// The office's calendar: time zone, holidays, the monthly report's window.
        public var calendar: OfficeCalendar {
            OfficeCalendar(utcOffsetMinutes: utcOffsetMinutes, holidays: holidays, monthlyReportDays: Int(clamping: monthlyReportDays))
        }
    }

    public var units: [String: Unit] = [:]
    public var users: [String: User] = [:]
    public var settings = Settings()

    public init() {}

    /// The id of the one settings record.
    public static let settingsID = "office"

    /// Reads the organisation from the records that hold it (others are ignored).
    public init(_ views: [RecordView]) {
        for view in views {
            let id = view.record.id
            switch view.record.kind {
            case CaseSchema.Kind.unit:
                units[id] = Unit(id: id, name: view.value("name")?.description ?? id, parent: view.value("parent")?.description)
            case CaseSchema.Kind.user:
                users[id] = User(id: id, name: view.value("name")?.description ?? id, unit: view.value("unit")?.description ?? "",
                                 roles: Set(view.elements("roles").compactMap { Role(rawValue: $0) }))
            case CaseSchema.Kind.settings where id == Self.settingsID:
                if let s = view.value("level_scheme").flatMap({ LevelScheme(rawValue: $0.description) }) { settings.levelScheme = s }
                if case .integer(let n)? = view.value("utc_offset_minutes") { settings.utcOffsetMinutes = n }
                if case .integer(let n)? = view.value("evidence_max_bytes") { settings.evidenceMaxBytes = n }
                if case .integer(let n)? = view.value(CaseSchema.SettingsField.monthlyReportDays) { settings.monthlyReportDays = n }
                settings.holidays = Set(view.elements(CaseSchema.SettingsField.holidays).compactMap(CivilDate.init))
                var minutes: [DeadlineClock: Int64] = [:]
                for key in view.fields.keys where key.name == "deadline_minutes" {
                    if let clock = DeadlineClock(rawValue: key.element), case .integer(let n)? = view.fields[key]?.shown { minutes[clock] = n }
                }
                settings.deadlines = DeadlineTable(minutes: minutes)
            default: break
            }
        }
    }

    /// Applies one change of a `unit` or `user` record (for a check of the rest of its push).
    mutating func apply(_ change: Change) {
        let id = change.record.id
        switch (change.record.kind, change.field.name) {
        case (CaseSchema.Kind.unit, "name"):
            units[id, default: Unit(id: id, name: id, parent: nil)].name = change.value?.description ?? id
        case (CaseSchema.Kind.unit, "parent"):
            units[id, default: Unit(id: id, name: id, parent: nil)].parent = change.value?.description
        case (CaseSchema.Kind.user, "name"):
            users[id, default: User(id: id, name: id, unit: "", roles: [])].name = change.value?.description ?? id
        case (CaseSchema.Kind.user, "unit"):
            users[id, default: User(id: id, name: id, unit: "", roles: [])].unit = change.value?.description ?? ""
        case (CaseSchema.Kind.user, "roles"):
            guard let role = Role(rawValue: change.field.element) else { return }
            if change.value == nil { users[id]?.roles.remove(role) } else { users[id, default: User(id: id, name: id, unit: "", roles: [])].roles.insert(role) }
        default: break
        }
    }

    /// The record kinds the organisation is read from.
    public static let kinds = [CaseSchema.Kind.unit, CaseSchema.Kind.user, CaseSchema.Kind.settings]

}

/// Writes that change the organisation. Only the operator (or whoever writes the hub's own file)
/// makes them.
public enum OrganisationWrites {
    public static func unit(_ id: String, name: String?, parent: String?) throws(WorkflowError) -> [FieldWrite] {
        if let error = Identifier.error(id, what: "unit") { throw error }
        let r = RecordRef(kind: CaseSchema.Kind.unit, id: id)
        var w = [FieldWrite(r, FieldKey("name"), .text(name ?? id))]
        if let parent { w.append(FieldWrite(r, FieldKey("parent"), .text(parent))) }
        return w
    }

    public static func user(_ id: String, name: String?, unit: String, roles: [Role]) throws(WorkflowError) -> [FieldWrite] {
        if let error = Identifier.error(id, what: "user") { throw error }
        if let error = Identifier.error(unit, what: "unit") { throw error }
        let r = RecordRef(kind: CaseSchema.Kind.user, id: id)
        return [FieldWrite(r, FieldKey("name"), .text(name ?? id)), FieldWrite(r, FieldKey("unit"), .text(unit))]
            + roles.map { FieldWrite(r, FieldKey("roles", element: $0.rawValue), .integer(1)) }
    }

    public static func revokeRole(_ id: String, _ role: Role) -> [FieldWrite] {
        [FieldWrite(RecordRef(kind: CaseSchema.Kind.user, id: id), FieldKey("roles", element: role.rawValue), nil)]
    }

    public static func settings(scheme: LevelScheme?, utcOffsetMinutes: Int64?, deadlines: [DeadlineClock: Int64],
                                evidenceMaxBytes: Int64?, holidays: [CivilDate] = [], removeHolidays: [CivilDate] = [],
                                monthlyReportDays: Int64? = nil) -> [FieldWrite] {
        let r = RecordRef(kind: CaseSchema.Kind.settings, id: Organisation.settingsID)
        var w: [FieldWrite] = []
        for d in holidays { w.append(FieldWrite(r, FieldKey(CaseSchema.SettingsField.holidays, element: d.description), .integer(1))) }
        for d in removeHolidays { w.append(FieldWrite(r, FieldKey(CaseSchema.SettingsField.holidays, element: d.description), nil)) }
        if let monthlyReportDays { w.append(FieldWrite(r, FieldKey(CaseSchema.SettingsField.monthlyReportDays), .integer(monthlyReportDays))) }
        if let scheme { w.append(FieldWrite(r, FieldKey("level_scheme"), .text(scheme.rawValue))) }
        if let utcOffsetMinutes { w.append(FieldWrite(r, FieldKey("utc_offset_minutes"), .integer(utcOffsetMinutes))) }
        if let evidenceMaxBytes { w.append(FieldWrite(r, FieldKey("evidence_max_bytes"), .integer(evidenceMaxBytes))) }
        for (clock, minutes) in deadlines.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            w.append(FieldWrite(r, FieldKey("deadline_minutes", element: clock.rawValue), .integer(minutes)))
        }
        return w
    }
}

/// One field write the domain asks the replica to make (the replica adds dot, time and context).
public struct FieldWrite: Hashable, Sendable {
    public var record: RecordRef
    public var field: FieldKey
    public var value: FieldValue?

    public init(_ record: RecordRef, _ field: FieldKey, _ value: FieldValue?) {
        self.record = record
        self.field = field
        self.value = value
    }
}
