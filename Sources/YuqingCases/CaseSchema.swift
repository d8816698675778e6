import YuqingCore

/// The record kinds the replicas hold, with every field's shape, kind and conflict rule
/// (`Protocol/workflow.md` has the same table for people).
public enum CaseSchema {
    /// Record kinds.
    public enum Kind {
        /// A case (`YQ-…`).
        public static let `case` = "case"
        /// A unit of the organisation.
        public static let unit = "unit"
        /// A user.
        public static let user = "user"
        /// The office's settings (one record, id `office`).
        public static let settings = "settings"
        /// An enrolled device, named by its replica id; written by the hub only.
        public static let device = "device"
        /// A routine report of a unit for a period (`monthly:2026-10:UNIT`, `daily:2026-10-03:UNIT`).
        public static let report = "report"
        /// A keyword or topic to watch (`*/WORD` office-wide, `UNIT/WORD` a unit's own).
        public static let keyword = "keyword"
    }

    /// Field names of a case.
    public enum Field {
        public static let title = "title", summary = "summary", excerpt = "excerpt"
        public static let platform = "platform", url = "url", poster = "poster", site = "site", publishedAt = "published_at"
        public static let discoveredAt = "discovered_at", discoveredBy = "discovered_by", unit = "unit"
        public static let keywords = "keywords", units = "units", coUnits = "co_units"
        public static let category = "category", level = "level", leadUnit = "lead_unit"
        public static let deadline = "deadline", instruction = "instruction", due = "due"
        public static let linkedTo = "linked_to", decision = "decision"
        public static let steps = "steps", evidence = "evidence"
        /// Written by replicas from before the workflow: a status set by hand, and progress notes.
        public static let legacyStatus = "status", legacyNotes = "notes"
    }

    /// Values of a reply's decision.
    public static let decisions = ["approved", "returned"]

    static let caseRecord = RecordSchema(kind: Kind.case, fields: [
        FieldSpec(Field.title, rule: .lastWriterWins, summary: "title"),
        FieldSpec(Field.summary, rule: .flag, summary: "summary (摘要)"),
        FieldSpec(Field.excerpt, rule: .lastWriterWins, summary: "excerpt of the original content"),
        FieldSpec(Field.platform, rule: .flag, allowedValues: Platform.allCases.map(\.rawValue), summary: "source platform"),
        FieldSpec(Field.url, rule: .lastWriterWins, summary: "source URL"),
        FieldSpec(Field.poster, rule: .lastWriterWins, summary: "author or poster"),
        FieldSpec(Field.site, rule: .lastWriterWins, summary: "site name"),
        FieldSpec(Field.publishedAt, rule: .lastWriterWins, kind: .timestamp, summary: "when the post was published"),
        FieldSpec(Field.discoveredAt, rule: .immutable, kind: .timestamp, editable: false, summary: "when it was found"),
        FieldSpec(Field.discoveredBy, rule: .immutable, editable: false, summary: "who found it (user@unit)"),
        FieldSpec(Field.unit, rule: .immutable, editable: false, summary: "the unit that registered it"),
        FieldSpec(Field.keywords, shape: .set, rule: .addWins, summary: "keywords or topics matched"),
        FieldSpec(Field.units, shape: .set, rule: .addWins, summary: "units concerned (涉事单位)"),
        FieldSpec(Field.coUnits, shape: .set, rule: .addWins, summary: "co-units (协办单位)"),
        FieldSpec(Field.category, rule: .flag, allowedValues: Category.allCases.map { String($0.rawValue) },
                  summary: "category 1–4 (分类), which decides the handling path"),
        FieldSpec(Field.level, rule: .maxWins(scale: Level.scale), allowedValues: Level.scale, summary: "severity level (分级)"),
        FieldSpec(Field.leadUnit, rule: .flag, summary: "lead unit (牵头单位); concurrent reassignments go to the operator"),
        FieldSpec(Field.deadline, shape: .map, rule: .lastWriterWins, kind: .timestamp, summary: "assignment deadline per unit"),
        FieldSpec(Field.instruction, shape: .map, rule: .lastWriterWins, summary: "the leader's instruction (批示) per assigned unit"),
        FieldSpec(Field.due, shape: .map, rule: .lastWriterWins, kind: .timestamp, summary: "deadline clocks (时限) by clock name"),
        FieldSpec(Field.linkedTo, rule: .flag, summary: "the case this report was merged into"),
        FieldSpec(Field.decision, shape: .map, rule: .flag, allowedValues: decisions,
                  summary: "the office's decision per reply draft; a concurrent approve and return go to the operator"),
        FieldSpec(Field.steps, shape: .log, rule: .immutable, summary: "workflow steps, immutable (JSON, see Step)"),
        FieldSpec(Field.evidence, shape: .log, rule: .immutable, summary: "evidence by SHA-256, immutable (JSON, see Evidence)"),
        FieldSpec(Field.legacyStatus, rule: .flag, editable: false, summary: "status set by hand before the workflow (read-only)"),
        FieldSpec(Field.legacyNotes, shape: .log, rule: .immutable, editable: false, summary: "progress notes from before the workflow"),
    ], visibleTo: visibleTo)

    /// Who sees a case (partial replication, `Protocol/security.md` §8): the unit that registered
    /// it, the units concerned, its lead unit and its co-units. A unit assigned away stops seeing
    /// it; the office sees every case (decided by role at the hub).
    public static let visibleTo = [Field.unit, Field.units, Field.leadUnit, Field.coUnits]

    static let unitRecord = RecordSchema(kind: Kind.unit, fields: [
        FieldSpec("name", rule: .lastWriterWins, summary: "the unit's name"),
        FieldSpec("parent", rule: .flag, summary: "the parent unit's id (none for the top)"),
    ])

    static let userRecord = RecordSchema(kind: Kind.user, fields: [
        FieldSpec("name", rule: .lastWriterWins, summary: "the person's name"),
        FieldSpec("unit", rule: .flag, summary: "the user's unit"),
        FieldSpec("roles", shape: .set, rule: .addWins, allowedValues: nil, summary: "roles: \(Role.names)"),
    ])

    static let settingsRecord = RecordSchema(kind: Kind.settings, fields: [
        FieldSpec("level_scheme", rule: .flag, allowedValues: LevelScheme.allCases.map(\.rawValue), summary: "four or three levels"),
        FieldSpec("utc_offset_minutes", rule: .lastWriterWins, kind: .integer, summary: "the office's time zone"),
        FieldSpec("deadline_minutes", shape: .map, rule: .lastWriterWins, kind: .integer, summary: "the deadline table, minutes by clock"),
        FieldSpec("evidence_max_bytes", rule: .lastWriterWins, kind: .integer, summary: "largest evidence file accepted"),
        FieldSpec(SettingsField.holidays, shape: .set, rule: .addWins, summary: "holidays (YYYY-MM-DD) that move report deadlines"),
        FieldSpec(SettingsField.monthlyReportDays, rule: .lastWriterWins, kind: .integer,
                  summary: "the monthly report is due within this many first days of the month (3)"),
    ])

    /// Field names of the settings record that the office's calendar reads.
    public enum SettingsField {
        public static let holidays = "holidays", monthlyReportDays = "monthly_report_days"
    }

    static let reportRecord = RecordSchema(kind: Kind.report, fields: [
        FieldSpec(ReportField.form, rule: .immutable, allowedValues: ReportForm.allCases.map(\.rawValue), editable: false,
                  summary: "daily (网络舆情日报告表) or monthly (月报告)"),
        FieldSpec(ReportField.unit, rule: .immutable, editable: false, summary: "the reporting unit"),
        FieldSpec(ReportField.period, rule: .immutable, editable: false, summary: "the day (2026-10-03) or month (2026-10) reported on"),
        FieldSpec(ReportField.filings, shape: .log, rule: .immutable, editable: false, summary: "each filing, immutable (JSON, see Filing)"),
    ], visibleTo: [ReportField.unit])

    static let keywordRecord = RecordSchema(kind: Kind.keyword, fields: [
        FieldSpec(KeywordField.word, rule: .immutable, editable: false, summary: "the keyword"),
        FieldSpec(KeywordField.owner, rule: .immutable, editable: false, summary: "the unit that watches it, * for everyone"),
        FieldSpec(KeywordField.topic, rule: .lastWriterWins, summary: "the topic (专题) it belongs to"),
        FieldSpec(KeywordField.active, rule: .lastWriterWins, kind: .integer, summary: "1 while watched, 0 when retired"),
    ])

    static let deviceRecord = RecordSchema(kind: Kind.device, fields: [
        FieldSpec(DeviceField.publicKey, rule: .immutable, editable: false, summary: "the device's Ed25519 public key (base64)"),
        FieldSpec(DeviceField.unit, rule: .immutable, editable: false, summary: "the unit it was enrolled for"),
        FieldSpec(DeviceField.user, rule: .immutable, editable: false, summary: "the user it was enrolled for"),
        FieldSpec(DeviceField.enrolledAt, rule: .immutable, kind: .timestamp, editable: false, summary: "when it was enrolled"),
        FieldSpec(DeviceField.revokedAt, rule: .lastWriterWins, kind: .timestamp, editable: false, summary: "when it was revoked (absent while in use)"),
    ])

    /// Field names of a device.
    public enum DeviceField {
        public static let publicKey = "public_key", unit = "unit", user = "user", enrolledAt = "enrolled_at", revokedAt = "revoked_at"
    }

    /// The schema every replica and the hub use.
    public static let schema = Schema([caseRecord, unitRecord, userRecord, settingsRecord, deviceRecord, reportRecord, keywordRecord])

    /// A case's record reference.
    public static func caseRef(_ id: String) -> RecordRef { RecordRef(kind: Kind.case, id: id) }
}
