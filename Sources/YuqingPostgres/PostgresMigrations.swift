import Logging
import PostgresNIO

/// The PostgreSQL hub's schema: append-only migrations, each run once, in order, in its own
/// transaction, recorded in `hub_migration`. They are SQL only and never call application code.
enum PostgresMigrations {
    static let all: [String] = [
        // 1: the log, the merged values, the changes that wait, the hub's settings.
        """
        CREATE TABLE log (seq bigserial PRIMARY KEY, rid text NOT NULL, counter bigint NOT NULL, body text NOT NULL, UNIQUE (rid, counter));
        CREATE TABLE field_value (kind text NOT NULL, record text NOT NULL, field text NOT NULL, elem text NOT NULL,
          rid text NOT NULL, counter bigint NOT NULL, body text NOT NULL, PRIMARY KEY (kind, record, field, elem, rid, counter));
        CREATE TABLE waiting_change (rid text NOT NULL, counter bigint NOT NULL, body text NOT NULL, logged boolean NOT NULL,
          origin text NOT NULL, need_rid text NOT NULL, need_counter bigint NOT NULL, PRIMARY KEY (rid, counter));
        CREATE INDEX waiting_change_need ON waiting_change (need_rid, need_counter);
        CREATE TABLE hub_meta (key text PRIMARY KEY, value text NOT NULL);
        """,
        // 2: what the hub of cases needs besides the merge: the log by record (partial
        // replication reads a unit's records through it), the seals of the devices' runs, the
        // grants of partial replication, one-time settings (enrolment codes), and an index for
        // the evidence a case names. The records of rows logged before are taken from their bodies.
        """
        ALTER TABLE log ADD COLUMN kind text NOT NULL DEFAULT '', ADD COLUMN record text NOT NULL DEFAULT '';
        UPDATE log SET kind = (body::jsonb) -> 'record' ->> 'kind', record = (body::jsonb) -> 'record' ->> 'id';
        CREATE INDEX log_record ON log (kind, record, seq);
        CREATE INDEX log_kind ON log (kind, seq);
        CREATE INDEX field_value_elem ON field_value (kind, field, elem);
        CREATE TABLE seal (replica text NOT NULL, first bigint NOT NULL, last bigint NOT NULL, signature text NOT NULL,
          PRIMARY KEY (replica, first, last));
        CREATE TABLE scope_grant (unit text NOT NULL, kind text NOT NULL, record text NOT NULL, granted bigint NOT NULL, revoked bigint,
          PRIMARY KEY (unit, kind, record));
        CREATE INDEX scope_grant_record ON scope_grant (kind, record);
        CREATE TABLE hub_setting (key text PRIMARY KEY, value text NOT NULL);
        """,
    ]

    static func run(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { db in
            // One instance migrates at a time; the others wait and find it done.
            try await db.query("SELECT pg_advisory_xact_lock(\(Int64(0x5971_4D67)))", logger: logger)
            try await db.query("CREATE TABLE IF NOT EXISTS hub_migration (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", logger: logger)
            var done = 0
            for try await v in try await db.query("SELECT coalesce(max(version), 0) FROM hub_migration", logger: logger).decode(Int32.self) { done = Int(v) }
            guard done <= all.count else {
                throw PostgresHubError("the database was migrated by a newer yuqing (version \(done), this one knows \(all.count)); run the newer yuqing",
                                       zh: "数据库已由更新版本的 yuqing 迁移（版本 \(done)，本程序只认识 \(all.count)）；请使用更新的 yuqing")
            }
            for (i, sql) in all.enumerated() where i + 1 > done {
                for statement in sql.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
                    try await db.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await db.query("INSERT INTO hub_migration (version) VALUES (\(Int32(i + 1)))", logger: logger)
            }
        }
    }
}
