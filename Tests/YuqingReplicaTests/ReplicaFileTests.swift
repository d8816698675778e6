import Foundation
import GRDB
import Testing
@testable import YuqingCore
@testable import YuqingReplica
import YuqingTestSupport

/// A replica whose last process died holding it opens as it was at that process's last commit.
@Suite struct ReplicaFileTests {
    /// The frames of a write-ahead log: each frame's page number and page.
    static func frames(ofLog path: String) throws -> (pageSize: Int, frames: [(page: UInt32, bytes: Data)]) {
        let log = try Data(contentsOf: URL(fileURLWithPath: path))
        func u32(_ at: Int) -> UInt32 { log[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        let pageSize = Int(u32(8))
        var frames: [(UInt32, Data)] = []
        var at = 32
        while at + 24 + pageSize <= log.count {
            frames.append((u32(at), log[(at + 24)..<(at + 24 + pageSize)]))
            at += 24 + pageSize
        }
        return (pageSize, frames)
    }

    /// The replica's file and its log as a process killed part-way through a checkpoint leaves
    /// them: the checkpoint copies pages in their order, so page 1 (the header, which gives the
    /// database's new size, and the root of its schema) reached the file, and the pages after it,
    /// some beyond the file's old end, did not. Everything is still in the log.
    @Test func aReplicaLeftMidCheckpointOpensAsItsLogHasIt() throws {
        let dir = try TempDir()
        let path = dir.path("a.sqlite")
        do {
            let r = try Replica.create(at: path, role: .node, unit: "town-a", schema: .sample)
            _ = try r.write([Replica.Write(.case("YQ-0"), FieldKey("title"), .text("第一件"))])
            try r.close()
        }
        let r = try Replica.open(at: path, schema: .sample)
        // About 200 pages: under the 1,000 at which SQLite would checkpoint on its own.
        _ = try r.write((0..<400).map { i in
            Replica.Write(.case("YQ-\(i + 1)"), FieldKey("title"), .text("网帖 \(i)：" + String(repeating: "舆情", count: 20)))
        })
        let digest = try r.digest()
        // The files as the process leaves them, while it still holds them (no checkpoint on close).
        let left = dir.path("left.sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: left)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: left + "-wal")
        try r.close()
        let (pageSize, frames) = try Self.frames(ofLog: left + "-wal")
        let fileSize = try FileManager.default.attributesOfItem(atPath: left)[.size] as! Int
        let grown = frames.contains { Int($0.page) > fileSize / pageSize }
        #expect(grown, "the writes took the database past the file's end")
        let pageOne = try #require(frames.last { $0.page == 1 }?.bytes)
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: left))
        try file.seek(toOffset: 0)
        try file.write(contentsOf: pageOne)
        try file.close()

        // The database file alone is not readable as it stands...
        var config = Configuration()
        config.readonly = true
        #expect(throws: DatabaseError.self, "the file alone reads as damaged") {
            try DatabaseQueue(path: ReplicaFile.immutableURI(left), configuration: config).read { db in
                try Int32.fetchOne(db, sql: "PRAGMA application_id")
            }
        }
        // ...but with its log it is the replica as it was at its last commit, to read and to write.
        let reading = try Replica.open(at: left, mode: .readOnly, schema: .sample)
        #expect(try reading.digest() == digest)
        try reading.close()
        let writing = try Replica.open(at: left, schema: .sample)
        #expect(try writing.digest() == digest)
        _ = try writing.write([Replica.Write(.case("YQ-0"), FieldKey("level"), .text("II"))])
        try writing.close()
    }

    /// A file that is not a replica is still refused when a log lies beside it.
    @Test func anotherProgramsDatabaseWithALogIsStillRefused() throws {
        let dir = try TempDir()
        let path = dir.path("other.sqlite")
        let other = try DatabaseQueue(path: path)
        try other.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            try db.execute(sql: "CREATE TABLE t (x)")
            try db.execute(sql: "INSERT INTO t VALUES (1)")
        }
        let copy = dir.path("copy.sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
        try other.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: copy))
        #expect {
            try Replica.open(at: copy, schema: .sample)
        } throws: { error in
            "\(error)".contains("another program") || "\(error)".contains("not a Yuqing replica")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == before, "the file was left unchanged")
    }
}
