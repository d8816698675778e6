import Foundation
import GRDB
import HummingbirdBcrypt
import Synchronization
import YuqingCases

/// The console's own database, beside the hub's (`HUB.sqlite.console`): people's passwords
/// (bcrypt), failed sign-ins and lock-outs, when each device last reached the hub, and the notes
/// operators gave with their resolutions. None of it replicates: a password hash never leaves
/// the hub.
public final class ConsoleAccounts: Sendable {
    /// Sign-ins that fail this many times in a row lock the account for ``lockFor``.
    public static let maxFailures = 5
    public static let lockFor: Int64 = 15 * 60_000
    /// The shortest password accepted.
    public static let minPasswordLength = 10

    let db: DatabaseQueue
    let seen = SeenThrottle()
    /// bcrypt's cost: 12 (about a quarter of a second a check) unless a test asks for less.
    let cost: UInt8
    /// Checked for an unknown user, so that the answer takes as long as for a known one; made at
    /// the first such sign-in, not at start-up.
    private let decoyHash = Mutex<String?>(nil)
    var decoy: String {
        decoyHash.withLock { h in
            if let h { return h }
            let made = Bcrypt.hash("not a password of anyone", cost: cost)
            h = made
            return made
        }
    }

    /// Where the console keeps its accounts for the hub database at `hubPath`.
    public static func path(forHubDatabase hubPath: String) -> String { hubPath + ".console" }

    /// Opens (creating on first use) the accounts database at `path`; readable by its owner only.
    public init(path: String, bcryptCost: UInt8 = 12) throws {
        cost = bcryptCost
        do {
            db = try DatabaseQueue(path: path)
            chmod(path, 0o600)
            try Self.migrator.migrate(db)
        } catch {
            throw ConsoleError(.storage, "cannot open the console's accounts at \(path): \(error)",
                               zh: "无法打开控制台账户数据库 \(path)：\(error)", cause: error)
        }
    }

    /// Append-only: a shipped migration is never edited, and none calls application code.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: accounts") { db in
            try db.execute(sql: """
                CREATE TABLE account (user TEXT PRIMARY KEY NOT NULL, hash TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0,
                  locked_until INTEGER NOT NULL DEFAULT 0, changed_at INTEGER NOT NULL) WITHOUT ROWID
                """)
            try db.execute(sql: """
                CREATE TABLE device_seen (device TEXT PRIMARY KEY NOT NULL, unit TEXT NOT NULL, user TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID
                """)
            try db.execute(sql: """
                CREATE TABLE resolution (id INTEGER PRIMARY KEY, conflict TEXT NOT NULL, record TEXT NOT NULL, field TEXT NOT NULL,
                  value TEXT NOT NULL, note TEXT NOT NULL, by TEXT NOT NULL, at INTEGER NOT NULL)
                """)
        }
        return m
    }

    /// Sets `user`'s password (bcrypt).
    public func setPassword(user: String, password: String, now: Int64) async throws {
        if let problem = Self.passwordProblem(password) { throw problem }
        let hash = Bcrypt.hash(password, cost: cost)
        try await db.write { db in
            try db.execute(sql: """
                INSERT INTO account (user, hash, failures, locked_until, changed_at) VALUES (?, ?, 0, 0, ?)
                ON CONFLICT (user) DO UPDATE SET hash = excluded.hash, failures = 0, locked_until = 0, changed_at = excluded.changed_at
                """, arguments: [user, hash, now])
        }
    }

    /// Why `password` is refused, or nil.
    public static func passwordProblem(_ password: String) -> ConsoleError? {
        guard password.count >= minPasswordLength else {
            return ConsoleError(.input, "a password has at least \(minPasswordLength) characters", zh: "密码至少须有\(minPasswordLength)个字符")
        }
        guard password.utf8.count <= 72 else {
            return ConsoleError(.input, "a password has at most 72 bytes (bcrypt reads no more)", zh: "密码最多72字节（bcrypt只读取前72字节）")
        }
        return nil
    }

    /// The users who have a password.
    public func users() async throws -> [String] {
        try await db.read { db in try String.fetchAll(db, sql: "SELECT user FROM account ORDER BY user") }
    }

    /// What a sign-in attempt came to.
    public enum SignIn: Sendable, Equatable {
        case accepted
        /// Wrong user or password (the answer does not say which, nor how many tries are left).
        case refused
        /// Too many failures: no attempt is checked until `until`.
        case locked(until: Int64)
    }

    /// Checks `password` for `user`. The failure is counted *before* the password is checked, in
    /// one statement, so attempts made at once each take a turn: at most ``maxFailures`` are ever
    /// checked before the account locks. An unknown user costs the same bcrypt check as a known
    /// one and gets the same answer as a wrong password.
    public func signIn(user: String, password: String, now: Int64) async throws -> SignIn {
        let max = Self.maxFailures, lockFor = Self.lockFor
        let turn: (hash: String, failures: Int, lockedUntil: Int64)? = try await db.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT locked_until FROM account WHERE user = ?", arguments: [user]) else { return nil }
            let lockedUntil: Int64 = row["locked_until"]
            if lockedUntil > now { return ("", 0, lockedUntil) }
            let counted = try Row.fetchOne(db, sql: "UPDATE account SET failures = failures + 1 WHERE user = ? RETURNING hash, failures",
                                           arguments: [user])!
            let failures: Int = counted["failures"]
            if failures > max {
                try db.execute(sql: "UPDATE account SET failures = 0, locked_until = ? WHERE user = ?", arguments: [now + lockFor, user])
                return ("", failures, now + lockFor)
            }
            return (counted["hash"], failures, 0)
        }
        guard let turn else {
            _ = Bcrypt.verify(password, hash: decoy)
            return .refused
        }
        if turn.lockedUntil > 0 { return .locked(until: turn.lockedUntil) }
        if Bcrypt.verify(password, hash: turn.hash) {
            try await db.write { db in try db.execute(sql: "UPDATE account SET failures = 0, locked_until = 0 WHERE user = ?", arguments: [user]) }
            return .accepted
        }
        if turn.failures >= max {
            try await db.write { db in
                try db.execute(sql: "UPDATE account SET failures = 0, locked_until = ? WHERE user = ?", arguments: [now + lockFor, user])
            }
            return .locked(until: now + lockFor)
        }
        return .refused
    }


    /// Notes that `device` reached the hub (written at most once a minute per device).
    public func deviceSeen(_ device: Device, now: Int64) async {
        guard await seen.due(device.id, now: now) else { return }
        try? await db.write { db in
            try db.execute(sql: """
                INSERT INTO device_seen (device, unit, user, at) VALUES (?, ?, ?, ?)
                ON CONFLICT (device) DO UPDATE SET at = excluded.at
                """, arguments: [device.id, device.unit, device.user, now])
        }
    }

    /// When each device last reached the hub.
    public func lastSeen() async throws -> [String: Int64] {
        try await db.read { db in
            Dictionary(try Row.fetchAll(db, sql: "SELECT device, at FROM device_seen").map { ($0["device"], $0["at"]) }, uniquingKeysWith: max)
        }
    }

    /// A resolution made in the console, with its note.
    public struct Resolution: Sendable, Hashable {
        public var conflict: String, record: String, field: String, value: String, note: String, by: String, at: Int64
    }

    func recordResolution(_ r: Resolution) async throws {
        try await db.write { db in
            try db.execute(sql: "INSERT INTO resolution (conflict, record, field, value, note, by, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [r.conflict, r.record, r.field, r.value, r.note, r.by, r.at])
        }
    }

    /// The latest resolutions, newest first.
    public func resolutions(limit: Int = 20) async throws -> [Resolution] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM resolution ORDER BY id DESC LIMIT ?", arguments: [limit]).map {
                Resolution(conflict: $0["conflict"], record: $0["record"], field: $0["field"], value: $0["value"],
                           note: $0["note"], by: $0["by"], at: $0["at"])
            }
        }
    }
}

/// Keeps device-seen writes to one a minute per device.
actor SeenThrottle {
    var last: [String: Int64] = [:]
    func due(_ device: String, now: Int64) -> Bool {
        if let t = last[device], now - t < 60_000 { return false }
        last[device] = now
        return true
    }
}
