import GRDB

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
        return m
    }
}
