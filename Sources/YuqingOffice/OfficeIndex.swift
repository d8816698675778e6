import Foundation
import GRDB
import YuqingCases
import YuqingCore
import YuqingReplica

/// An error of the office's work (index, search, statistics, export), with what to do next, in
/// English and in Simplified Chinese.
public struct OfficeError: BilingualError, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// The user's input cannot be used (a query, a period, a filter).
        public static let input = Code(name: "input")
        /// The replica's file could not be read or the index written.
        public static let storage = Code(name: "storage")
        /// Over a limit of a format: 4 GiB in a ZIP without ZIP64, Excel's rows and columns.
        public static let tooLarge = Code(name: "too_large")
        /// zlib refused to compress.
        public static let compression = Code(name: "compression")
    }

    public var code: Code
    public var message: String
    /// The message in Simplified Chinese.
    public var chinese: String
    /// The underlying error, when there is one.
    public var cause: String?

    public init(_ code: Code, _ message: String, zh chinese: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.chinese = chinese
        self.cause = cause.map { String(describing: $0) }
    }

    public var description: String { cause.map { "\(message) (\($0))" } ?? message }

    /// ``description`` in Simplified Chinese: ``chinese``, then the cause in parentheses.
    public var chineseDescription: String { cause.map { "\(chinese)（\($0)）" } ?? chinese }
}

/// The office's index of a replica, kept in the replica's own file beside (never inside) the
/// replicated tables: a flat summary of every case for the statistics, the routine reports, and
/// full-text search over cases, replies and reports (SQLite FTS5: a trigram index for terms of
/// three characters or more, a one-character index for shorter ones, so Chinese substrings of
/// any length are found).
///
/// Derived data only: it can be dropped at any time and is rebuilt from the replica. It is
/// brought up to date by ``refresh()``, which re-reads only the records changed since: on the hub
/// the log says which (its positions), on a node triggers on the value table note them.
public final class OfficeIndex: Sendable {
    public let replica: Replica
    /// Bumped whenever what the index derives changes: an older index is dropped and rebuilt.
    static let version = 4
    static let kinds = [CaseSchema.Kind.case, CaseSchema.Kind.report]

    public init(_ replica: Replica) {
        self.replica = replica
    }

    var db: DatabasePool { replica.database }

    // MARK: - Keeping it current

    /// What a refresh did.
    public struct Refresh: Sendable, Hashable {
        /// True when the index was built from nothing (first use, or a new version).
        public var rebuilt = false
        /// Records read again.
        public var records = 0
    }

    /// Brings the index up to date with the replica. `progress` is told (done, total) now and then
    /// during a full build.
    @discardableResult
    public func refresh(progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> Refresh {
        do {
            if replica.role == .hub { return try refreshFromLog(progress: progress) }
            return try db.write { db in try self.refreshWithTriggers(db, progress: progress) }
        } catch let error as OfficeError {
            throw error
        } catch {
            throw OfficeError(.storage, "the office's index in \(replica.path) could not be brought up to date; if this persists, run `yuqing index rebuild`",
                              zh: "无法更新 \(replica.path) 中的索引；如果问题持续存在，请运行 `yuqing index rebuild`", cause: error)
        }
    }

    /// Drops the index: the next refresh builds it again.
    public func drop() throws {
        try db.write { db in try Self.dropTables(db) }
    }

    func isCurrent(_ db: Database) throws -> Bool {
        guard try db.tableExists("office_meta") else { return false }
        return try Int.fetchOne(db, sql: "SELECT value FROM office_meta WHERE key = 'version'") == Self.version
    }

    /// A node: every change to the values of cases and reports is noted by triggers; a refresh
    /// re-reads the noted records in the same transaction, so nothing noted meanwhile is lost.
    func refreshWithTriggers(_ db: Database, progress: (@Sendable (Int, Int) -> Void)?) throws -> Refresh {
        var out = Refresh()
        if try !isCurrent(db) {
            try Self.dropTables(db)
            try Self.createTables(db, triggers: true)
            out.rebuilt = true
            out.records = try buildAll(db, progress: progress)
            try db.execute(sql: "DELETE FROM office_dirty")
            return out
        }
        let dirty = try Row.fetchAll(db, sql: "SELECT kind, record FROM office_dirty").map { RecordRef(kind: $0["kind"], id: $0["record"]) }
        var w = try Writer(db)
        for r in dirty { try reindex(db, r, &w) }
        try db.execute(sql: "DELETE FROM office_dirty")
        out.records = dirty.count
        return out
    }

    /// The hub: its log says what changed since the position last indexed. Records are read from
    /// one snapshot and written after, so the hub's ingest is never held up by the read.
    func refreshFromLog(progress: (@Sendable (Int, Int) -> Void)?) throws -> Refresh {
        let current = try db.read { db in try self.isCurrent(db) }
        if !current {
            // Built in one write transaction: the log position read in it is exactly what it holds.
            return try db.write { db in
                try Self.dropTables(db)
                try Self.createTables(db, triggers: false)
                let head = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM log") ?? 0
                let n = try self.buildAll(db, progress: progress)
                try db.execute(sql: "INSERT OR REPLACE INTO office_meta (key, value) VALUES ('seq', ?)", arguments: [head])
                return Refresh(rebuilt: true, records: n)
            }
        }
        var total = 0
        while true {
            let (records, next, last, from): ([RecordView?], [RecordRef], Int64, Int64) = try db.read { db in
                let from = try Int64.fetchOne(db, sql: "SELECT value FROM office_meta WHERE key = 'seq'") ?? 0
                let head = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM log") ?? 0
                let upto = min(head, from + 200_000)
                let refs = try Row.fetchAll(db, sql: """
                    SELECT DISTINCT kind, record FROM log WHERE seq > ? AND seq <= ? AND kind IN ('case', 'report')
                    """, arguments: [from, upto]).map { RecordRef(kind: $0["kind"], id: $0["record"]) }
                return (try refs.map { try self.replica.view(in: db, $0) }, refs, upto, from)
            }
            // Nothing logged since: no write (a page of the console refreshes at every request).
            if last == from { break }
            let done = try db.write { db -> Bool in
                var w = try Writer(db)
                for (r, view) in zip(next, records) { try self.store(db, r, view, &w) }
                let before = try Int64.fetchOne(db, sql: "SELECT value FROM office_meta WHERE key = 'seq'") ?? 0
                try db.execute(sql: "UPDATE office_meta SET value = ? WHERE key = 'seq'", arguments: [max(before, last)])
                let head = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM log") ?? 0
                return last >= head
            }
            total += next.count
            if done { break }
        }
        return Refresh(rebuilt: false, records: total)
    }

    func buildAll(_ db: Database, progress: (@Sendable (Int, Int) -> Void)?) throws -> Int {
        let total = try Int.fetchOne(db, sql: "SELECT count(DISTINCT record) FROM field_value WHERE kind IN ('case', 'report')") ?? 0
        var w = try Writer(db)
        // Cases are indexed in the order they were discovered, so search lists newest first by
        // document number without sorting.
        var files: [(Int64, RecordView)] = []
        try replica.forEachView(in: db, kind: CaseSchema.Kind.case) { view in
            var at: Int64 = 0
            if case .integer(let n)? = view.value(CaseSchema.Field.discoveredAt) { at = n }
            files.append((at, view))
        }
        files.sort { $0.0 < $1.0 }
        var done = 0
        for (_, view) in files {
            try store(db, view.record, view, &w)
            done += 1
            if done % 5000 == 0 { progress?(done, total) }
        }
        try replica.forEachView(in: db, kind: CaseSchema.Kind.report) { view in
            try store(db, view.record, view, &w)
            done += 1
            if done % 5000 == 0 { progress?(done, total) }
        }
        progress?(done, total)
        return done
    }

    func reindex(_ db: Database, _ r: RecordRef, _ w: inout Writer) throws {
        try store(db, r, try replica.view(in: db, r), &w)
    }

    /// Replaces what the index holds of `r` by what `view` shows (nothing when nil: purged).
    func store(_ db: Database, _ r: RecordRef, _ view: RecordView?, _ w: inout Writer) throws {
        try w.removeDocs(r.id, kind: r.kind)
        switch r.kind {
        case CaseSchema.Kind.case:
            try db.execute(sql: "DELETE FROM office_case WHERE record = ?", arguments: [r.id])
            try db.execute(sql: "DELETE FROM office_case_scope WHERE record = ?", arguments: [r.id])
            try db.execute(sql: "DELETE FROM office_event WHERE record = ?", arguments: [r.id])
            guard let view else { return }
            let file = CaseFile(view)
            let s = CaseSummary(file)
            try w.insertCase.execute(arguments: [r.id, s.unit, s.lead, s.level, s.category, s.platform, s.status.rawValue,
                                                 s.discoveredAt, s.nextDue, s.linkedTo == nil ? 0 : 1, try Self.encoder.encode(s)])
            for u in s.scope { try w.insertScope.execute(arguments: [u, r.id]) }
            var times = Set([s.discoveredAt])
            for c in s.clocks { times.insert(c.due) }
            for e in s.events { times.insert(e.at) }
            for t in times { try w.insertEvent.execute(arguments: [t, r.id]) }
            try w.addDoc(kind: "case", record: r.id, elem: "", unit: s.unit, at: s.discoveredAt, title: s.title, body: Self.body(file))
            for reply in file.state.replies where !reply.text.isEmpty {
                try w.addDoc(kind: "reply", record: r.id, elem: reply.id, unit: reply.unit, at: s.discoveredAt, title: s.title, body: reply.text)
            }
        case CaseSchema.Kind.report:
            try db.execute(sql: "DELETE FROM office_report WHERE record = ?", arguments: [r.id])
            guard let view, let report = RoutineReport(view) else { return }
            let s = report.summary
            try db.execute(sql: """
                INSERT INTO office_report (record, form, unit, period, filed_at, summary) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [r.id, s.form.rawValue, s.unit, s.period, s.filedAt, try Self.encoder.encode(s)])
            let text = [s.latest.text ?? "", s.zero ? "零报告 zero report" : ""].joined(separator: "\n")
            try w.addDoc(kind: "report", record: r.id, elem: "", unit: s.unit, at: s.filedAt, title: "\(s.form.rawValue) \(s.period) \(s.unit)", body: text)
        default: break
        }
    }

    /// The searchable text of a case besides its title: what was found, where, and every step's text
    /// (opinions, reports, instructions, reasons, statements, reviews).
    static func body(_ file: CaseFile) -> String {
        var parts: [String] = []
        for f in [CaseSchema.Field.summary, CaseSchema.Field.excerpt, CaseSchema.Field.poster, CaseSchema.Field.site, CaseSchema.Field.url] {
            if let t = file.text(f), !t.isEmpty { parts.append(t) }
        }
        parts += file.keywords
        for e in file.entries where e.step.kind != .draft {
            if let t = e.step.text, !t.isEmpty { parts.append(t) }
        }
        return parts.joined(separator: "\n")
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    /// Prepared statements of one transaction's writes.
    struct Writer {
        let db: Database
        let insertCase: Statement, insertScope: Statement, insertEvent: Statement
        let insertDoc: Statement, insertTri: Statement, insertUni: Statement
        let selectDocs: Statement, deleteTri: Statement, deleteUni: Statement

        init(_ db: Database) throws {
            self.db = db
            insertCase = try db.cachedStatement(sql: """
                INSERT INTO office_case (record, unit, lead, level, category, platform, status, discovered_at, next_due, linked, summary)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            insertScope = try db.cachedStatement(sql: "INSERT OR IGNORE INTO office_case_scope (unit, record) VALUES (?, ?)")
            insertEvent = try db.cachedStatement(sql: "INSERT OR IGNORE INTO office_event (at, record) VALUES (?, ?)")
            insertDoc = try db.cachedStatement(sql: "INSERT INTO office_doc (kind, record, elem, unit, at, title, body) VALUES (?, ?, ?, ?, ?, ?, ?)")
            insertTri = try db.cachedStatement(sql: "INSERT INTO office_fts (rowid, title, body) VALUES (?, ?, ?)")
            insertUni = try db.cachedStatement(sql: "INSERT INTO office_fts1 (rowid, chars) VALUES (?, ?)")
            selectDocs = try db.cachedStatement(sql: "SELECT id, kind, title, body FROM office_doc WHERE record = ? AND kind IN (?, ?)")
            deleteTri = try db.cachedStatement(sql: "INSERT INTO office_fts (office_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)")
            deleteUni = try db.cachedStatement(sql: "INSERT INTO office_fts1 (office_fts1, rowid, chars) VALUES ('delete', ?, ?)")
        }

        /// A reply is found by its own text: its title (the case's) is shown, not searched.
        mutating func addDoc(kind: String, record: String, elem: String, unit: String, at: Int64, title: String, body: String) throws {
            try insertDoc.execute(arguments: [kind, record, elem, unit, at, title, body])
            let id = db.lastInsertedRowID
            let searched = Self.searchedTitle(kind: kind, title)
            try insertTri.execute(arguments: [id, searched, body])
            try insertUni.execute(arguments: [id, SearchText.spaced(searched + "\n" + body)])
        }

        static func searchedTitle(kind: String, _ title: String) -> String { kind == "reply" ? "" : title }

        mutating func removeDocs(_ record: String, kind: String) throws {
            let kinds = kind == CaseSchema.Kind.case ? ("case", "reply") : ("report", "report")
            let rows = try Row.fetchAll(selectDocs, arguments: [record, kinds.0, kinds.1])
            for row in rows {
                let id: Int64 = row["id"], body: String = row["body"]
                let title = Self.searchedTitle(kind: row["kind"], row["title"])
                try deleteTri.execute(arguments: [id, title, body])
                try deleteUni.execute(arguments: [id, SearchText.spaced(title + "\n" + body)])
            }
            try db.execute(sql: "DELETE FROM office_doc WHERE record = ? AND kind IN (?, ?)", arguments: [record, kinds.0, kinds.1])
        }
    }

    static let tables = ["office_meta", "office_dirty", "office_case", "office_case_scope", "office_event", "office_report",
                         "office_doc", "office_fts", "office_fts1"]

    static func dropTables(_ db: Database) throws {
        for t in ["office_dirty_insert", "office_dirty_update", "office_dirty_delete"] { try db.execute(sql: "DROP TRIGGER IF EXISTS \(t)") }
        for t in tables.reversed() { try db.execute(sql: "DROP TABLE IF EXISTS \(t)") }
    }

    static func createTables(_ db: Database, triggers: Bool) throws {
        try db.execute(sql: """
            CREATE TABLE office_meta (key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;
            CREATE TABLE office_dirty (kind TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (kind, record)) WITHOUT ROWID;
            CREATE TABLE office_case (
              record TEXT NOT NULL UNIQUE, unit TEXT NOT NULL, lead TEXT, level TEXT, category INTEGER, platform TEXT,
              status TEXT NOT NULL, discovered_at INTEGER NOT NULL, next_due INTEGER, linked INTEGER NOT NULL, summary BLOB NOT NULL);
            CREATE INDEX office_case_discovered ON office_case (discovered_at);
            CREATE INDEX office_case_due ON office_case (linked, next_due) WHERE next_due IS NOT NULL;
            CREATE INDEX office_case_list ON office_case (linked, discovered_at);
            CREATE INDEX office_case_open ON office_case (linked, status, level);
            CREATE INDEX office_case_level ON office_case (level, linked, discovered_at);
            CREATE INDEX office_case_status ON office_case (status, linked, discovered_at);
            CREATE TABLE office_case_scope (unit TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (unit, record)) WITHOUT ROWID;
            CREATE INDEX office_case_scope_record ON office_case_scope (record);
            CREATE TABLE office_event (at INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (at, record)) WITHOUT ROWID;
            CREATE INDEX office_event_record ON office_event (record);
            CREATE TABLE office_report (record TEXT PRIMARY KEY NOT NULL, form TEXT NOT NULL, unit TEXT NOT NULL, period TEXT NOT NULL,
              filed_at INTEGER NOT NULL, summary BLOB NOT NULL) WITHOUT ROWID;
            CREATE INDEX office_report_period ON office_report (form, period);
            CREATE TABLE office_doc (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, record TEXT NOT NULL, elem TEXT NOT NULL,
              unit TEXT NOT NULL, at INTEGER NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL);
            CREATE INDEX office_doc_record ON office_doc (record);
            CREATE VIRTUAL TABLE office_fts USING fts5 (title, body, content = 'office_doc', content_rowid = 'id', tokenize = 'trigram');
            CREATE VIRTUAL TABLE office_fts1 USING fts5 (chars, content = '', tokenize = 'unicode61');
            """)
        if triggers {
            let when = "IN ('case', 'report')"
            try db.execute(sql: """
                CREATE TRIGGER office_dirty_insert AFTER INSERT ON field_value WHEN NEW.kind \(when)
                  BEGIN INSERT OR IGNORE INTO office_dirty (kind, record) VALUES (NEW.kind, NEW.record); END;
                CREATE TRIGGER office_dirty_update AFTER UPDATE ON field_value WHEN NEW.kind \(when)
                  BEGIN INSERT OR IGNORE INTO office_dirty (kind, record) VALUES (NEW.kind, NEW.record); END;
                CREATE TRIGGER office_dirty_delete AFTER DELETE ON field_value WHEN OLD.kind \(when)
                  BEGIN INSERT OR IGNORE INTO office_dirty (kind, record) VALUES (OLD.kind, OLD.record); END;
                """)
        }
        try db.execute(sql: "INSERT INTO office_meta (key, value) VALUES ('version', ?)", arguments: [version])
    }
}

/// How text is prepared for the one-character index: every character but spaces, each a token.
enum SearchText {
    static func spaced(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.lowercased().unicodeScalars where !s.properties.isWhitespace {
            out.append(s)
            out.append(" ")
        }
        return String(out)
    }
}
