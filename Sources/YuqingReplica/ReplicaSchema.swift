import Foundation
import GRDB
import YuqingCore

/// The replica file's tables, as append-only migrations. A shipped migration is never edited;
/// changes to the layout are new migrations appended below.
enum ReplicaSchema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: replica") { db in
            // Identity, clock, counters and cursors.
            try db.execute(sql: "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID")
            // Every change this replica holds, in arrival order. On the hub, seq is the log position.
            try db.execute(sql: """
                CREATE TABLE change_log (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  replica TEXT NOT NULL, counter INTEGER NOT NULL, hlc INTEGER NOT NULL,
                  kind TEXT NOT NULL, record TEXT NOT NULL, field TEXT NOT NULL, elem TEXT NOT NULL,
                  value, context TEXT NOT NULL, author TEXT NOT NULL,
                  from_hub INTEGER NOT NULL DEFAULT 0,
                  UNIQUE (replica, counter))
                """)
            // The values each field holds: the writes no other write has superseded.
            try db.execute(sql: """
                CREATE TABLE sibling (
                  kind TEXT NOT NULL, record TEXT NOT NULL, field TEXT NOT NULL, elem TEXT NOT NULL,
                  replica TEXT NOT NULL, counter INTEGER NOT NULL, hlc INTEGER NOT NULL,
                  value NOT NULL, author TEXT NOT NULL,
                  PRIMARY KEY (kind, record, field, elem, replica, counter)) WITHOUT ROWID
                """)
            // Changes that arrived before a value their context names: applied once it arrives.
            try db.execute(sql: """
                CREATE TABLE pending_change (
                  replica TEXT NOT NULL, counter INTEGER NOT NULL, hlc INTEGER NOT NULL,
                  kind TEXT NOT NULL, record TEXT NOT NULL, field TEXT NOT NULL, elem TEXT NOT NULL,
                  value, context TEXT NOT NULL, author TEXT NOT NULL, from_hub INTEGER NOT NULL,
                  PRIMARY KEY (replica, counter)) WITHOUT ROWID
                """)
            // Every dot applied here: the exact dedup set.
            try db.execute(sql: """
                CREATE TABLE seen_dot (replica TEXT NOT NULL, counter INTEGER NOT NULL,
                  PRIMARY KEY (replica, counter)) WITHOUT ROWID
                """)
            // The highest counter seen per replica.
            try db.execute(sql: """
                CREATE TABLE version_vector (replica TEXT PRIMARY KEY NOT NULL, counter INTEGER NOT NULL) WITHOUT ROWID
                """)
        }
        // Replica ids interned as integers; the seen set as ranges of counters; a node's log
        // keeps only what it must push (what it pulled is in the hub's log already).
        m.registerMigration("v2: compact replica") { db in
            try db.execute(sql: "CREATE TABLE replica_name (rid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
            try db.execute(sql: """
                CREATE TABLE seen_range (rid INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL,
                  PRIMARY KEY (rid, lo)) WITHOUT ROWID
                """)
            // On the hub, seq is the log position.
            try db.execute(sql: """
                CREATE TABLE log (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  rid INTEGER NOT NULL, counter INTEGER NOT NULL, hlc INTEGER NOT NULL,
                  kind TEXT NOT NULL, record TEXT NOT NULL, field TEXT NOT NULL, elem TEXT NOT NULL,
                  value, context BLOB, author TEXT NOT NULL)
                """)
            try db.execute(sql: "CREATE UNIQUE INDEX log_dot ON log (rid, counter)")
            try db.execute(sql: """
                CREATE TABLE field_value (
                  kind TEXT NOT NULL, record TEXT NOT NULL, field TEXT NOT NULL, elem TEXT NOT NULL,
                  rid INTEGER NOT NULL, counter INTEGER NOT NULL, hlc INTEGER NOT NULL,
                  value NOT NULL, author TEXT NOT NULL,
                  PRIMARY KEY (kind, record, field, elem, rid, counter)) WITHOUT ROWID
                """)
            try db.execute(sql: """
                CREATE TABLE waiting_change (
                  rid INTEGER NOT NULL, counter INTEGER NOT NULL, hlc INTEGER NOT NULL,
                  kind TEXT NOT NULL, record TEXT NOT NULL, field TEXT NOT NULL, elem TEXT NOT NULL,
                  value, context BLOB, author TEXT NOT NULL, logged INTEGER NOT NULL,
                  PRIMARY KEY (rid, counter)) WITHOUT ROWID
                """)
            try migrateV1Data(db)
            for table in ["change_log", "sibling", "pending_change", "seen_dot", "version_vector"] {
                try db.execute(sql: "DROP TABLE \(table)")
            }
            try db.execute(sql: "DELETE FROM meta WHERE key = 'counter'")
        }
        // Waiting changes indexed by the one dot each waits for next, so a merge looks up only the
        // changes its own dots release (never scanning what waits); each counted against the
        // replica that pushed it. The file is marked as a Yuqing replica in its header.
        m.registerMigration("v3: indexed waiting") { db in
            try db.execute(sql: "ALTER TABLE waiting_change ADD COLUMN origin INTEGER NOT NULL DEFAULT 0")
            try db.execute(sql: "ALTER TABLE waiting_change ADD COLUMN need_rid INTEGER")
            try db.execute(sql: "ALTER TABLE waiting_change ADD COLUMN need_counter INTEGER")
            try db.execute(sql: "CREATE INDEX waiting_need ON waiting_change (need_rid, need_counter)")
            try db.execute(sql: "CREATE INDEX waiting_origin ON waiting_change (origin)")
            try db.execute(sql: "PRAGMA application_id = 1498763591")  // 0x59555147, "YUQG"
        }
        // Seals: devices' signatures over runs of their changes (Protocol/security.md §3), and the
        // hashes of received changes whose run has not arrived whole yet.
        m.registerMigration("v4: seals") { db in
            try db.execute(sql: """
                CREATE TABLE seal (replica TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
                  signature TEXT NOT NULL, verified INTEGER NOT NULL, PRIMARY KEY (replica, first, last)) WITHOUT ROWID
                """)
            try db.execute(sql: """
                CREATE TABLE seal_hash (replica TEXT NOT NULL, counter INTEGER NOT NULL, hash BLOB NOT NULL,
                  PRIMARY KEY (replica, counter)) WITHOUT ROWID
                """)
        }
        // Partial replication: a record's log entries found by the record (in log order: the index
        // holds the rowid, which is the position); at the hub, which unit may see which record,
        // since which log position, and since when no longer. Grants of a hub from before are
        // built when it next opens (`scopes_built` in meta), with the partial index of the kinds
        // everyone sees, which depends on the schema.
        m.registerMigration("v5: scopes") { db in
            try db.execute(sql: "CREATE INDEX log_record ON log (record)")
            try db.execute(sql: """
                CREATE TABLE scope_grant (unit TEXT NOT NULL, kind TEXT NOT NULL, record TEXT NOT NULL,
                  granted INTEGER NOT NULL, revoked INTEGER, PRIMARY KEY (unit, kind, record)) WITHOUT ROWID
                """)
            try db.execute(sql: "CREATE INDEX scope_grant_record ON scope_grant (kind, record)")
            try db.execute(sql: "CREATE INDEX scope_grant_changed ON scope_grant (unit, granted)")
        }
        // The log without AUTOINCREMENT: SQLite read and rewrote its `sqlite_sequence` row at
        // every insert, a tenth of a hub's ingest. Nothing deletes from a hub's log, so the next
        // position (the largest plus one) is the one AUTOINCREMENT gave. A node's log may end below
        // its sequence (layout v2 left out what it had pulled; a revoked device empties it): its
        // push cursor is brought down to its largest position, so a new change is never taken for
        // one pushed already. A hub whose sequence ran ahead of its log (none should) keeps the
        // table as it is: positions it handed out are never reused. The log is copied once, in the
        // migration's transaction: a hub with millions of entries takes a while to open the first
        // time (docs/benchmarks.md §8 gives the rate).
        m.registerMigration("v6: log positions without AUTOINCREMENT") { db in
            let sequence = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'log'") ?? 0
            let top = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM log") ?? 0
            let role = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'role'") ?? "node"
            if role == "hub", sequence > top { return }
            try db.execute(sql: """
                CREATE TABLE log_v6 (
                  seq INTEGER PRIMARY KEY,
                  rid INTEGER NOT NULL, counter INTEGER NOT NULL, hlc INTEGER NOT NULL,
                  kind TEXT NOT NULL, record TEXT NOT NULL, field TEXT NOT NULL, elem TEXT NOT NULL,
                  value, context BLOB, author TEXT NOT NULL)
                """)
            try db.execute(sql: """
                INSERT INTO log_v6 (seq, rid, counter, hlc, kind, record, field, elem, value, context, author)
                SELECT seq, rid, counter, hlc, kind, record, field, elem, value, context, author FROM log ORDER BY seq
                """)
            try db.execute(sql: "DROP TABLE log")
            try db.execute(sql: "ALTER TABLE log_v6 RENAME TO log")  // DROP TABLE took its sqlite_sequence row
            try db.execute(sql: "CREATE UNIQUE INDEX log_dot ON log (rid, counter)")
            try db.execute(sql: "CREATE INDEX log_record ON log (record)")
            try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'push_cursor' AND value > ?", arguments: [top, top])
        }
        return m
    }

    /// Moves a version-1 replica's rows into the version-2 tables. Self-contained, as a shipped
    /// migration must be: it calls none of the code that reads and writes replicas today.
    static func migrateV1Data(_ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO replica_name (name)
            SELECT replica FROM seen_dot UNION SELECT replica FROM pending_change UNION SELECT replica FROM version_vector
            """)
        var rids: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT rid, name FROM replica_name") { rids[row["name"]] = row["rid"] }
        func rid(_ name: String) throws -> Int64 {
            if let r = rids[name] { return r }
            try db.execute(sql: "INSERT INTO replica_name (name) VALUES (?)", arguments: [name])
            rids[name] = db.lastInsertedRowID
            return db.lastInsertedRowID
        }
        func varint(_ v: UInt64, _ out: inout [UInt8]) {
            var v = v
            while v >= 0x80 {
                out.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            out.append(UInt8(v))
        }
        // A version-1 context is "replica:counter" dots separated by spaces; version 2 stores a
        // count, then each dot as an interned replica number and a counter, all LEB128 varints.
        func context(_ text: String) throws -> Data? {
            let parts = text.split(separator: " ")
            if parts.isEmpty { return nil }
            var out: [UInt8] = []
            varint(UInt64(parts.count), &out)
            for part in parts {
                guard let colon = part.lastIndex(of: ":"), colon != part.startIndex, let n = UInt64(part[part.index(after: colon)...]) else {
                    throw ReplicaError(.corrupt, "unreadable dot '\(part)' in the change log", zh: "变更日志中的变更标识“\(part)”无法读取")
                }
                varint(UInt64(try rid(String(part[..<colon]))), &out)
                varint(n, &out)
            }
            return Data(out)
        }
        // The seen set as ranges of consecutive counters.
        var open: (rid: Int64, lo: Int64, hi: Int64)?
        func closeRange() throws {
            if let r = open { try db.execute(sql: "INSERT INTO seen_range (rid, lo, hi) VALUES (?, ?, ?)", arguments: [r.rid, r.lo, r.hi]) }
        }
        let seen = try Row.fetchCursor(db, sql: "SELECT replica, counter FROM seen_dot ORDER BY replica, counter")
        while let row = try seen.next() {
            let r = try rid(row["replica"]), c: Int64 = row["counter"]
            if let o = open, o.rid == r, c == o.hi + 1 { open?.hi = c; continue }
            try closeRange()
            open = (r, c, c)
        }
        try closeRange()
        let role = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'role'") ?? "node"
        let logged = try Row.fetchCursor(db, sql: """
            SELECT seq, replica, counter, hlc, kind, record, field, elem, value, context, author FROM change_log
            \(role == "hub" ? "" : "WHERE from_hub = 0") ORDER BY seq
            """)
        while let row = try logged.next() {
            try db.execute(sql: """
                INSERT INTO log (seq, rid, counter, hlc, kind, record, field, elem, value, context, author)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [row["seq"], try rid(row["replica"]), row["counter"], row["hlc"],
                                 row["kind"], row["record"], row["field"], row["elem"], row["value"],
                                 try context(row["context"]), row["author"]])
        }
        // Log positions are never reused: carry the sequence over.
        try db.execute(sql: """
            INSERT INTO sqlite_sequence (name, seq) SELECT 'log', seq FROM sqlite_sequence WHERE name = 'change_log'
            AND seq > coalesce((SELECT max(seq) FROM log), 0)
            """)
        try db.execute(sql: """
            INSERT INTO field_value (kind, record, field, elem, rid, counter, hlc, value, author)
            SELECT kind, record, field, elem, n.rid, counter, hlc, value, author FROM sibling JOIN replica_name n ON n.name = sibling.replica
            """)
        let waiting = try Row.fetchCursor(db, sql: "SELECT * FROM pending_change")
        while let row = try waiting.next() {
            try db.execute(sql: """
                INSERT INTO waiting_change (rid, counter, hlc, kind, record, field, elem, value, context, author, logged)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [try rid(row["replica"]), row["counter"], row["hlc"],
                                 row["kind"], row["record"], row["field"], row["elem"], row["value"],
                                 try context(row["context"]), row["author"], (row["from_hub"] as Int64) == 0 ? 1 : 0])
        }
        try db.execute(sql: "DELETE FROM meta WHERE key = 'open_conflicts'")  // counted on first open
    }
}
