import ArgumentParser
import Foundation
import Logging
import YuqingCases
import YuqingCore
import YuqingHub
import YuqingPostgres

/// Where the hub stores: an SQLite file (`--db`, the default, zero set-up) or a PostgreSQL
/// database (`--postgres`) that several hub instances share, with its files (keys, evidence)
/// named after `--files`.
struct HubStoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp(L("The hub's SQLite database file.", zh: "中心的SQLite数据库文件。"), valueName: "path")) var db: String?
    @Option(help: ArgumentHelp(L("Store in this PostgreSQL database instead (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE); several hub instances may serve from one.",
                                 zh: "改用此PostgreSQL数据库存储（postgres://用户[:密码]@主机[:端口]/数据库）；多个中心实例可共用一个数据库。"), valueName: "url"))
    var postgres: String?
    @Option(help: ArgumentHelp(L("With --postgres, for `hub serve`: where the hub keeps its files, PATH.hub.key, PATH.operator.key and the evidence in PATH.blobs/. Give every instance the same (shared storage).",
                                 zh: "与 --postgres 一起用于 `hub serve`：中心文件的存放位置，即 PATH.hub.key、PATH.operator.key 及证据目录 PATH.blobs/。所有实例须使用同一位置（共享存储）。"), valueName: "path"))
    var files: String?

    func validate() throws {
        switch (db, postgres) {
        case (nil, nil):
            throw ValidationError(L("say where the hub stores: --db FILE (SQLite), or --postgres URL with --files PATH",
                                    zh: "请指明中心的存储位置：--db 文件（SQLite），或 --postgres URL 加 --files PATH"))
        case (.some, .some):
            throw ValidationError(L("give --db or --postgres, not both", zh: "--db 与 --postgres 只能给出其一"))
        case (nil, .some):
            break
        case (.some, nil):
            if files != nil { throw ValidationError(L("--files goes with --postgres; with --db the files sit beside the database", zh: "--files 与 --postgres 一起使用；使用 --db 时文件位于数据库旁")) }
        }
    }

    /// The path the hub's files are named after (its keys, its evidence directory).
    var base: String { db ?? files ?? "" }

    /// For `hub serve`: a hub on PostgreSQL must be told where its files are.
    func validateFiles() throws {
        if postgres != nil, files == nil {
            throw ValidationError(L("--postgres needs --files PATH: where the hub's keys and evidence are kept, the same for every instance",
                                    zh: "--postgres 须与 --files PATH 一起使用：中心密钥和证据的存放位置，所有实例相同"))
        }
    }

    /// What the hub's log lines call its storage.
    var described: String { postgres.map { "PostgreSQL \(PostgresURL.redacted($0))" } ?? "database \(db ?? "")" }

    /// Runs `body` with the PostgreSQL store (then closes it), or returns nil when the hub stores
    /// in SQLite.
    func withPostgres<T>(waitingLimits: WaitingLimits = WaitingLimits(), logger: Logger,
                         _ body: (PostgresHubStore) async throws -> T) async throws -> T? {
        guard let postgres else { return nil }
        let store: PostgresHubStore
        do { store = try await PostgresHubStore.connect(url: postgres, schema: CaseSchema.schema, waitingLimits: waitingLimits, logger: logger) } catch let e as PostgresHubError {
            throw CLIError(e.message, zh: e.chinese)
        }
        defer { store.close() }
        return try await body(store)
    }

    /// Runs `body` on the hub's storage, whichever it is.
    func withStorage<T>(logger: Logger = Logger(label: "yuqing.hub"), _ body: (any HubStorage) async throws -> T) async throws -> T {
        if let out = try await withPostgres(logger: logger, { try await body($0) }) { return out }
        return try await body(SQLiteHubStorage(replica: try HubCommand.openHub(db ?? "")))
    }
}
