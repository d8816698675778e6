import Foundation
import GRDB

/// Checks made on a file before it is opened as a replica, so that another program's database
/// is never touched and a damaged replica never takes writes.
package enum ReplicaFile {
    /// Written in the SQLite header of every replica (`PRAGMA application_id`): "YUQG".
    static let applicationID: Int32 = 0x5955_5147

    /// Whether this process may write the file.
    package static func isWritable(_ path: String) -> Bool { access(path, W_OK) == 0 }

    /// An SQLite URI that reads `path` without creating, locking or changing anything beside it
    /// (no `-wal`, no `-shm`): SQLite is told the file cannot change while it is open.
    static func immutableURI(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        return "file:" + (absolute.addingPercentEncoding(withAllowedCharacters: allowed) ?? absolute) + "?immutable=1"
    }

    /// Reads the file's header and table names without writing anything, and refuses a file that
    /// is not a Yuqing replica. Replicas made before the application id was written are
    /// recognised by their tables.
    ///
    /// The file is read as it stands, without its write-ahead log (SQLite's `immutable`), so
    /// that nothing is made beside another program's database. A replica whose last writer
    /// ended without closing it keeps recent pages in its `-wal` file, and its database file
    /// alone may be mid-way between two states (a checkpoint under way in another process, or
    /// cut short). So when that read fails or finds no replica:
    /// - with a `-wal` file holding frames beside a file this user may write, the file is read
    ///   again as SQLite reads it in use, through its log and under its locks (SQLite may then
    ///   make a `-shm` file beside it, as for any database in use);
    /// - with none, the file alone is read once more: another process's last close may have just
    ///   copied the log in and deleted it.
    static func requireReplica(_ path: String) throws {
        try WALWrites.install()
        let verdict: Bool
        do {
            var again = isWritable(path)
            while true {
                let alone = Result { try isReplica(immutableURI(path)) }
                if case .success(true) = alone { verdict = true; break }
                if hasLog(path) { verdict = try isReplica(path); break }
                if again { again = false; continue }
                verdict = try alone.get()  // the file alone's answer, or its error
                break
            }
        } catch let error as DatabaseError where [.SQLITE_NOTADB, .SQLITE_CORRUPT].contains(error.resultCode.primaryResultCode) {
            throw ReplicaError(.notAReplica, "\(path) is not a Yuqing replica (not an SQLite database, or damaged); it was left unchanged. Check the --db path",
                               zh: "\(path) 不是 Yuqing 副本（不是 SQLite 数据库，或已损坏）；文件未作改动。请检查 `--db` 路径", cause: error)
        } catch let error as DatabaseError where [.SQLITE_CANTOPEN, .SQLITE_PERM].contains(error.resultCode.primaryResultCode) {
            throw ReplicaError(.storage, "cannot read \(path): check that it is a file you may read",
                               zh: "无法读取 \(path)：请确认它是文件，且当前用户有权读取", cause: error)
        }
        guard verdict else {
            throw ReplicaError(.notAReplica, "\(path) is an SQLite database of another program, not a Yuqing replica; it was left unchanged. Check the --db path",
                               zh: "\(path) 是其他程序的 SQLite 数据库，不是 Yuqing 副本；文件未作改动。请检查 `--db` 路径")
        }
    }

    /// Whether the database at `location` (a path or an SQLite URI), opened only to read, is a
    /// Yuqing replica.
    private static func isReplica(_ location: String) throws -> Bool {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(15)
        let queue = try DatabaseQueue(path: location, configuration: config)
        defer { try? queue.close() }
        return try queue.read { db in
            if try Int32.fetchOne(db, sql: "PRAGMA application_id") == applicationID { return true }
            let tables = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
            guard tables.isSuperset(of: ["meta", "grdb_migrations"]) else { return false }
            return try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'replica_id'") != nil
        }
    }

    /// A write-ahead log with frames in it lies beside `path`, and this process may write the
    /// file (a file it may not write was not written by it in use: it is read as it stands).
    private static func hasLog(_ path: String) -> Bool {
        guard isWritable(path), let attributes = try? FileManager.default.attributesOfItem(atPath: path + "-wal") else { return false }
        return ((attributes[.size] as? NSNumber)?.intValue ?? 0) > 0
    }

    /// Runs SQLite's quick integrity check on a read-only connection; a damaged file is refused
    /// before anything opens it for writing.
    static func requireIntact(_ path: String) throws {
        var config = Configuration()
        config.readonly = true
        let queue = try DatabaseQueue(path: isWritable(path) ? path : immutableURI(path), configuration: config)
        let report = try queue.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(5)") }
        try queue.close()
        guard report != ["ok"] else { return }
        throw ReplicaError(.corrupt, "\(path) is damaged (SQLite's integrity check reports: \(report.joined(separator: "; "))). Nothing was written. Keep the file aside for inspection; on a node, create a new replica with `yuqing node init` and sync it (work not yet synced must be entered again), on the hub restore the latest backup",
                           zh: "\(path) 已损坏（SQLite 完整性检查报告：\(report.joined(separator: "; "))）。未写入任何内容。请将该文件另行保存以备检查；在节点上，用 `yuqing node init` 新建副本并同步（尚未同步的工作需重新录入）；在中心上，恢复最近一次备份")
    }

    /// Names the file that stops a write: the replica, or its `-wal` or `-shm` beside it (SQLite
    /// makes those with the replica's permissions, so a file once read-only leaves them so).
    static func unwritablePart(of path: String) -> String? {
        for candidate in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: candidate) {
            if !isWritable(candidate) { return candidate }
        }
        let dir = (path as NSString).deletingLastPathComponent
        return isWritable(dir.isEmpty ? "." : dir) ? nil : (dir.isEmpty ? "." : dir)
    }
}
