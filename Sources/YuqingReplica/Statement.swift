import GRDB
import GRDBSQLite
import YuqingCore

/// A prepared statement used in the merge's hot loops, bound and stepped through SQLite's C API.
///
/// GRDB prepares and caches it (and finalises it when the connection closes); binding values
/// directly avoids building an argument array of boxed values for every row. Every use ends with
/// ``reset()``, so GRDB always finds the statement idle.
struct FastStatement {
    let handle: OpaquePointer
    let db: Database
    /// Kept so that the handle stays valid while this value lives, even if GRDB empties its cache.
    private let statement: Statement

    init(_ db: Database, _ sql: String) throws {
        self.db = db
        statement = try db.cachedStatement(sql: sql)
        handle = statement.sqliteStatement
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    private static let empty: StaticString = ""

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }

    func bind(_ index: Int32, _ value: String) {
        var value = value
        value.withUTF8 { bytes in
            // An empty buffer may have no address, and a NULL pointer would bind SQL NULL.
            let base = bytes.baseAddress.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(Self.empty.utf8Start)
            _ = sqlite3_bind_text(handle, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), Self.transient)
        }
    }

    func bind(_ index: Int32, blob: [UInt8]) {
        blob.withUnsafeBytes { bytes in
            _ = sqlite3_bind_blob(handle, index, bytes.baseAddress ?? UnsafeRawPointer(Self.empty.utf8Start),
                                  Int32(bytes.count), Self.transient)
        }
    }

    func bindNull(_ index: Int32) { sqlite3_bind_null(handle, index) }

    func bind(_ index: Int32, _ value: FieldValue?) {
        switch value {
        case nil: bindNull(index)
        case .text(let s)?: bind(index, s)
        case .integer(let n)?: bind(index, n)
        }
    }

    /// Steps once: true when a row is available, false when done.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            let message = sqlite3_errmsg(db.sqliteConnection).map { String(cString: $0) }
            sqlite3_reset(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
        }
    }

    /// Runs a statement that returns no row.
    func run() throws {
        defer { reset() }
        _ = try step()
    }

    /// The first column of the first row, as an integer; nil without a row.
    func single() throws -> Int64? {
        defer { reset() }
        return try step() ? int64(0) : nil
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func text(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(handle, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        guard let p = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, column))))
    }

    /// A field value column: NULL, an integer, or text.
    func fieldValue(_ column: Int32) -> FieldValue? {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_NULL: nil
        case SQLITE_INTEGER: .integer(int64(column))
        default: .text(text(column))
        }
    }
}


/// The texts of one row, copied into one buffer that SQLite reads in place while the row is
/// inserted (`SQLITE_STATIC`), instead of SQLite copying each text into an allocation of its own
/// at bind time and freeing it afterwards: the merge's inserts bind six texts a row.
///
/// Begin a row with ``begin()``, add its texts with ``add(_:_:)`` (and bind its other values to
/// the statement as usual, every parameter each row), then ``run(_:)``, which binds the texts,
/// steps and resets the statement before the buffer is reused.
struct TextArena {
    private var bytes: [UInt8] = []
    private var spans: [(index: Int32, start: Int, count: Int)] = []
    private static let empty: StaticString = ""

    /// Starts a row with no texts: those of the row before, and of a row that was never run (an
    /// error came between its first text and ``run(_:)``), are never bound to this one.
    mutating func begin() {
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
    }

    mutating func add(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { b in
            spans.append((index, bytes.count, b.count))
            bytes.append(contentsOf: b)
        }
    }

    /// A value: NULL or an integer bound at once, a text added.
    mutating func add(_ index: Int32, _ value: FieldValue?, to statement: FastStatement) {
        switch value {
        case nil: statement.bindNull(index)
        case .text(let s)?: add(index, s)
        case .integer(let n)?: statement.bind(index, n)
        }
    }

    /// Binds the texts added, steps `statement` once (a statement that returns no row) and
    /// resets it, all while the buffer stays where it is.
    func run(_ statement: FastStatement) throws {
        try bytes.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(Self.empty.utf8Start)
            for s in spans {
                sqlite3_bind_text(statement.handle, s.index, (base + s.start).assumingMemoryBound(to: CChar.self), Int32(s.count), nil)
            }
            defer { statement.reset() }  // unbinds the texts before the buffer can move
            _ = try statement.step()
        }
    }
}
