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
        return m
    }

    /// Moves a version-1 replica's rows into the version-2 tables.
    static func migrateV1Data(_ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO replica_name (name)
            SELECT replica FROM seen_dot UNION SELECT replica FROM pending_change UNION SELECT replica FROM version_vector
            """)
        var book = try Bookkeeping.load(db, schema: .standard)
        func context(_ text: String) throws -> Data? {
            let dots = try text.split(separator: " ").map { part -> Dot in
                guard let d = Dot(part) else { throw ReplicaError(.corrupt, "unreadable dot '\(part)' in the change log") }
                return d
            }
            return dots.isEmpty ? nil : Data(try ContextBlob.encode(dots, &book, db))
        }
        let seen = try Row.fetchCursor(db, sql: "SELECT replica, counter FROM seen_dot ORDER BY replica, counter")
        while let row = try seen.next() {
            book.markSeen(book.ridByName[ReplicaID(row["replica"] as String)]!, UInt64(row["counter"] as Int64))
        }
        let role: String = try Meta.get(db, "role") ?? "node"
        let logged = try Row.fetchCursor(db, sql: """
            SELECT seq, replica, counter, hlc, kind, record, field, elem, value, context, author FROM change_log
            \(role == "hub" ? "" : "WHERE from_hub = 0") ORDER BY seq
            """)
        while let row = try logged.next() {
            try db.execute(sql: """
                INSERT INTO log (seq, rid, counter, hlc, kind, record, field, elem, value, context, author)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [row["seq"], try book.rid(ReplicaID(row["replica"] as String), db), row["counter"], row["hlc"],
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
                """, arguments: [try book.rid(ReplicaID(row["replica"] as String), db), row["counter"], row["hlc"],
                                 row["kind"], row["record"], row["field"], row["elem"], row["value"],
                                 try context(row["context"]), row["author"], (row["from_hub"] as Int64) == 0 ? 1 : 0])
        }
        try book.flush(db)
        try db.execute(sql: "DELETE FROM meta WHERE key = 'open_conflicts'")  // counted on first open
    }
}
