import Foundation
import GRDB
import GRDBSQLite
import Testing
@testable import YuqingReplica
import YuqingTestSupport

/// The VFS that writes a commit's WAL frames together (`Sources/CSQLiteWAL`): what a commit
/// writes reaches the file before any other connection can see the commit, whatever
/// `synchronous` is, and in far fewer system writes than SQLite asks for.
@Suite struct WALWritesTests {
    /// A connection through SQLite's own VFS ("unix"), which reads only what is in the file.
    final class SystemReader {
        let db: OpaquePointer

        init(_ path: String) throws {
            var handle: OpaquePointer?
            guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY, "unix") == SQLITE_OK, let handle else {
                throw ReplicaError(.storage, "cannot open \(path)", zh: "无法打开 \(path)")
            }
            db = handle
        }

        deinit { sqlite3_close_v2(db) }

        /// SQLite's `PRAGMA integrity_check` of the file: "ok" when it is whole.
        func integrity() -> String {
            var q: OpaquePointer?
            sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, nil)
            defer { sqlite3_finalize(q) }
            guard sqlite3_step(q) == SQLITE_ROW, let text = sqlite3_column_text(q, 0) else { return "no answer" }
            return String(cString: text)
        }

        /// The rows and the sum of their lengths, in one read transaction.
        func rows() -> (count: Int64, bytes: Int64) {
            var q: OpaquePointer?
            sqlite3_prepare_v2(db, "SELECT count(*), coalesce(sum(length(body)), 0) FROM t", -1, &q, nil)
            defer { sqlite3_finalize(q) }
            guard sqlite3_step(q) == SQLITE_ROW else { return (-1, -1) }
            return (sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1))
        }
    }

    /// A writer through the installed VFS, with the given `synchronous` (OFF: no commit syncs the
    /// WAL, so only the barrier before the index header is published puts the frames in the file).
    /// With `exclusive`, in SQLite's exclusive locking mode.
    func writer(_ path: String, synchronous: String, exclusive: Bool = false) throws -> DatabaseQueue {
        try WALWrites.install()
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            if exclusive { try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE") }
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        }
        return queue
    }

    /// Inserts `n` rows of `body(i)`, counting them and their characters into `expected`.
    func insert(_ db: Database, _ n: Int, into expected: inout (count: Int64, bytes: Int64), body: (Int) -> String) throws {
        for i in 0..<n {
            let text = body(i)
            try db.execute(sql: "INSERT INTO t (body) VALUES (?)", arguments: [text])
            expected.count += 1
            expected.bytes += Int64(text.count)
        }
    }

    /// Opened through the system VFS alone, the file is whole and holds `expected`.
    func expectWhole(_ path: String, holding expected: (count: Int64, bytes: Int64), sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reader = try SystemReader(path)
        #expect(reader.integrity() == "ok", sourceLocation: sourceLocation)
        #expect(reader.rows() == expected, sourceLocation: sourceLocation)
    }

    @Test(arguments: ["OFF", "NORMAL", "FULL"])
    func everyCommitIsInTheFileWhenAnotherConnectionSeesIt(synchronous: String) throws {
        let dir = try TempDir()
        let path = dir.path("wal.sqlite")
        let queue = try writer(path, synchronous: synchronous)
        let reader = try SystemReader(path)
        var expected: (count: Int64, bytes: Int64) = (0, 0)
        for round in 0..<30 {
            // Rounds of different sizes: a few frames, and more than the VFS gathers at once (8 MiB).
            let n = round % 10 == 9 ? 60_000 : 1 + round * 37
            try queue.write { db in
                try insert(db, n, into: &expected) { i in "第\(round)轮第\(i)行：" + String(repeating: "舆情", count: (i % 50) + 1) }
            }
            let seen = reader.rows()
            #expect(seen == expected, "round \(round), synchronous = \(synchronous): the system VFS read \(seen), committed \(expected)")
        }
        try queue.close()
        try expectWhole(path, holding: expected)
    }

    @Test func aLargeCommitIsFewSystemWrites() throws {
        let dir = try TempDir()
        let queue = try writer(dir.path("wal.sqlite"), synchronous: "FULL")
        let before = WALWrites.counts
        // About 4,000 pages: SQLite asks for two writes a frame. (The counts are the process's:
        // other tests' small commits, a few writes each, may fall in the window.)
        try queue.write { db in
            for i in 0..<40_000 {
                try db.execute(sql: "INSERT INTO t (body) VALUES (?)", arguments: ["\(i) " + String(repeating: "舆", count: 120)])
            }
        }
        let after = WALWrites.counts
        let asked = after.writes - before.writes, made = after.systemWrites - before.systemWrites
        #expect(asked >= 8_000, "SQLite asked for \(asked) writes")
        #expect(made * 10 < asked, "\(asked) writes asked for became \(made) system writes")
    }

    /// Frames a large transaction spilled to the WAL before it rolled back are in the file before
    /// another writer may write over them: left gathered, they would overwrite its commit later.
    @Test func framesSpilledByARollbackNeverOverwriteAnotherWritersCommit() throws {
        let dir = try TempDir()
        let path = dir.path("wal.sqlite")
        let a = try writer(path, synchronous: "NORMAL"), b = try writer(path, synchronous: "NORMAL")
        var expected: (count: Int64, bytes: Int64) = (0, 0)
        try a.writeWithoutTransaction { db in
            try insert(db, 3_000, into: &expected) { "before \($0) " + String(repeating: "舆情", count: 50) }
            _ = try db.checkpoint(.truncate)
            // A transaction that changes every page, spilling to the WAL after ten, then rolls back:
            // its last spilled frames are still gathered when it ends.
            try db.execute(sql: "PRAGMA cache_size = 10")
            try db.execute(sql: "BEGIN IMMEDIATE")
            try db.execute(sql: "UPDATE t SET body = body || '。'")
            try db.execute(sql: "ROLLBACK")
        }
        // The other writer's frames go where the rolled-back ones were, and past them.
        try b.write { db in try insert(db, 10_000, into: &expected) { "kept \($0) " + String(repeating: "舆情", count: 50) } }
        // The first connection reads again (a barrier, a read of the WAL) and closes.
        _ = try a.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM t") }
        try a.close()
        try b.close()
        try expectWhole(path, holding: expected)
    }

    /// What recovery reads after a crash: a copy of the file and its WAL taken after each commit
    /// (the WAL-index left behind) is rebuilt by SQLite's own VFS from the WAL's checksummed
    /// frames, and holds every commit. The transactions spill to the WAL and change spilled
    /// pages again, so SQLite overwrites frames in place and rewrites their checksums after the
    /// commit frame.
    @Test func aCopyTakenAfterEachCommitRecoversEveryCommit() throws {
        let dir = try TempDir()
        let path = dir.path("wal.sqlite")
        let queue = try writer(path, synchronous: "NORMAL")
        var expected: (count: Int64, bytes: Int64) = (0, 0)
        for round in 0..<6 {
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA cache_size = 8")
                try db.execute(sql: "BEGIN IMMEDIATE")
                try insert(db, 800, into: &expected) { "第\(round)轮 \($0) " + String(repeating: "舆", count: 60) }
                // Pages spilled above are changed again before the commit.
                try db.execute(sql: "UPDATE t SET body = body || '。' WHERE id % 7 = ?", arguments: [round])
                try db.execute(sql: "COMMIT")
            }
            expected.bytes = try queue.read { db in try Int64.fetchOne(db, sql: "SELECT sum(length(body)) FROM t") ?? 0 }
            let copy = dir.path("copy-\(round).sqlite")
            for suffix in ["", "-wal"] { try FileManager.default.copyItem(atPath: path + suffix, toPath: copy + suffix) }
            try expectWhole(copy, holding: expected)
        }
    }

    /// In exclusive locking mode SQLite keeps the WAL's index in its own memory and calls no
    /// barrier: a commit is in the file when it returns all the same (written with its commit frame).
    @Test func aCommitIsInTheFileWhenItReturnsInExclusiveMode() throws {
        let dir = try TempDir()
        let path = dir.path("wal.sqlite")
        let queue = try writer(path, synchronous: "OFF", exclusive: true)
        var bytes = 0
        try queue.write { db in
            for i in 0..<2_000 {
                let body = "\(i) " + String(repeating: "舆", count: 100)
                try db.execute(sql: "INSERT INTO t (body) VALUES (?)", arguments: [body])
                bytes += body.utf8.count
            }
        }
        let walSize = try #require(try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int)
        #expect(walSize > bytes, "the WAL holds \(walSize) bytes after a commit of \(bytes) bytes of text")
        try queue.close()
    }

    @Test func aSavepointsJournalStaysInMemoryWhereSQLiteTookTheSetting() throws {
        let dir = try TempDir()
        let queue = try writer(dir.path("wal.sqlite"), synchronous: "FULL")
        try queue.write { db in
            for i in 0..<20_000 {
                try db.execute(sql: "INSERT INTO t (body) VALUES (?)", arguments: ["\(i) " + String(repeating: "舆", count: 120)])
            }
        }
        let before = WALWrites.counts.spilledJournals
        // Every page of the table changed inside a savepoint: its journal holds them all (8 MB).
        try queue.write { db in
            try db.execute(sql: "SAVEPOINT push")
            try db.execute(sql: "UPDATE t SET body = body || '。'")
            try db.execute(sql: "RELEASE push")
        }
        let spilled = WALWrites.counts.spilledJournals - before
        // 32 MiB when the process configured SQLite before its first use (every Yuqing process
        // does: the hub's /metrics shows it); SQLite's 64 KiB if a test used SQLite before.
        if WALWrites.statementJournalLimit >= 32 << 20 {
            #expect(spilled == 0, "the journal stayed in memory")
        } else {
            #expect(spilled >= 1, "past 64 KiB the journal went to a file, and was counted")
        }
    }

    @Test func aReplicaWritesThroughIt() throws {
        let dir = try TempDir()
        let r = try Replica.create(at: dir.path("node.sqlite"), role: .node, unit: "Township A", schema: .sample)
        let name = try r.pool.write { db -> String in
            var name: UnsafeMutablePointer<CChar>?
            guard sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_VFSNAME, &name) == SQLITE_OK, let name else { return "" }
            defer { sqlite3_free(name) }
            return String(cString: name)
        }
        // Unless this run asked for SQLite's own (YUQING_WAL_WRITES=system, to compare).
        if ProcessInfo.processInfo.environment["YUQING_WAL_WRITES"] != "system" {
            #expect(name == "yuqing-wal/unix")
        }
    }
}
