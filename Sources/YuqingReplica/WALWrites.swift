import CSQLiteWAL
import GRDBSQLite

/// Every SQLite file this process opens goes through a VFS that writes each write-ahead log's
/// appended frames together, in calls of 120 KiB, where SQLite makes two calls a page
/// (`Sources/CSQLiteWAL`). What is written, synced and published, and when, is unchanged; a
/// commit of 1,700 pages (a hub taking a push of 1,000 changes to scattered cases) makes about 60
/// writes instead of 3,400. `bench/machine/pwrite.c` measures what the calls cost on a machine.
/// It also keeps a savepoint's journal in memory up to 32 MiB (SQLite's default spills it to a
/// file past 64 KiB): the hub merges a group of pushes again, each push in a savepoint of its
/// own, when one of them is refused.
public enum WALWrites {
    /// Makes the VFS SQLite's default for this process. A replica's creation (`makePool`) and
    /// every opening of a file as a replica (`ReplicaFile.requireReplica`, the first thing
    /// `Replica.open` and a snapshot's opening do) call it before SQLite opens the file. Fails
    /// only if SQLite cannot register a VFS.
    public static func install() throws {
        let rc = yuqing_wal_install()  // once per process; later calls give the first one's result
        guard rc == SQLITE_OK else {
            throw ReplicaError(.storage, "SQLite could not register Yuqing's write-ahead log writer (error \(rc)); the SQLite library may be damaged: reinstall libsqlite3",
                               zh: "SQLite 无法注册 Yuqing 的预写日志写入器（错误 \(rc)）；SQLite 库可能已损坏：请重新安装 libsqlite3")
        }
    }

    /// The bytes of a savepoint's journal kept in memory before it goes to a file: 32 MiB, or
    /// SQLite's 64 KiB when something in the process used SQLite before the first replica opened
    /// (SQLite takes the setting only before its first use).
    public static var statementJournalLimit: Int { Int(yuqing_wal_statement_journal_limit()) }

    /// Writes SQLite made to write-ahead logs in this process, the system writes they became,
    /// and the savepoints' journals that outgrew memory and went to a file.
    public static var counts: (writes: Int, systemWrites: Int, spilledJournals: Int) {
        var writes: Int64 = 0, flushes: Int64 = 0, spills: Int64 = 0
        yuqing_wal_counts(&writes, &flushes, &spills)
        return (Int(writes), Int(flushes), Int(spills))
    }
}
