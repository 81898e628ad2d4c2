import CSQLite

/// What SQLite said, with the statement or step that failed.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    public var description: String { "sqlite error \(code): \(message)" }
    /// A constraint failed (SQLITE_CONSTRAINT, any extended code): only the statement was undone.
    var isConstraint: Bool { code & 0xff == SQLITE_CONSTRAINT }
    /// Stored bytes that do not decode (SQLITE_CORRUPT: a pack damaged outside the store).
    static func damaged(_ m: String) -> StoreError { StoreError(code: SQLITE_CORRUPT, message: m) }
}

/// SQLITE_TRANSIENT is a macro that does not import: SQLite copies the bound bytes.
let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection. Not thread-safe by itself: `Store` serializes access.
final class SQLiteConnection {
    let handle: OpaquePointer

    init(path: String) throws(StoreError) {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open \(path)"
            sqlite3_close(db)
            throw StoreError(code: rc, message: msg)
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)
    }

    deinit { sqlite3_close_v2(handle) }

    func error(_ rc: Int32) -> StoreError { StoreError(code: rc, message: String(cString: sqlite3_errmsg(handle))) }

    /// Runs SQL text without parameters (migrations, pragmas, transaction control).
    func exec(_ sql: String) throws(StoreError) {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "exec failed"
            sqlite3_free(err)
            throw StoreError(code: rc, message: msg)
        }
    }

    func prepare(_ sql: String) throws(StoreError) -> Statement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc) }
        return Statement(stmt, connection: self)
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
}

/// A prepared statement; values are always bound, never spliced into SQL.
final class Statement {
    let stmt: OpaquePointer
    unowned let connection: SQLiteConnection

    init(_ stmt: OpaquePointer, connection: SQLiteConnection) { self.stmt = stmt; self.connection = connection }
    deinit { sqlite3_finalize(stmt) }

    enum Value: Hashable {
        case int(Int64), text(String), blob([UInt8]), null
    }

    func reset(_ values: [Value]) throws(StoreError) {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        for (i, v) in values.enumerated() {
            let rc = bindValue(Int32(i + 1), v)
            guard rc == SQLITE_OK else { throw connection.error(rc) }
        }
    }

    /// One parameter. Text and blobs are copied (TRANSIENT), their length given; an empty blob is
    /// bound as zero-length, not NULL (an empty array has no base address, and a null pointer binds NULL).
    private func bindValue(_ idx: Int32, _ v: Value) -> Int32 {
        switch v {
        case .int(let n): return sqlite3_bind_int64(stmt, idx, n)
        case .text(var t): return t.withUTF8 { sqlite3_bind_text(stmt, idx, $0.baseAddress ?? UnsafePointer(bitPattern: 1), Int32($0.count), SQLITE_TRANSIENT) }
        case .blob(let b):
            return b.isEmpty ? sqlite3_bind_zeroblob(stmt, idx, 0) : b.withUnsafeBytes { sqlite3_bind_blob(stmt, idx, $0.baseAddress, Int32(b.count), SQLITE_TRANSIENT) }
        case .null: return sqlite3_bind_null(stmt, idx)
        }
    }

    /// The hot inserts bind in place, without an array of values: `bind`s (every parameter, each
    /// time: the statement keeps the last values), then `insert()`.
    func bind(_ idx: Int32, _ n: Int64?) { note(bindValue(idx, n.map { .int($0) } ?? .null)) }
    func bind(_ idx: Int32, _ text: String?) { note(bindValue(idx, text.map { .text($0) } ?? .null)) }
    func bind(_ idx: Int32, blob b: [UInt8]?) { note(bindValue(idx, b.map { .blob($0) } ?? .null)) }
    private func note(_ rc: Int32) { bound = bound && rc == SQLITE_OK }

    /// Runs the statement with what was bound since the last run (a row-less statement).
    func insert() throws(StoreError) {
        defer { bound = true }
        guard bound else { sqlite3_reset(stmt); throw StoreError(code: SQLITE_MISUSE, message: "a value could not be bound") }
        let rc = sqlite3_step(stmt)
        sqlite3_reset(stmt)
        guard rc == SQLITE_DONE else { throw connection.error(rc) }
    }
    private var bound = true

    /// Steps once: true while a row is available.
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        let e = connection.error(rc)
        sqlite3_reset(stmt)
        throw e
    }

    /// Runs a statement that returns no rows.
    func run(_ values: [Value]) throws(StoreError) {
        try reset(values)
        while try step() {}
        sqlite3_reset(stmt)
        // Bound values stay with the statement until cleared: a checkpoint's conntrack text would
        // stay resident (SQLite's copy of it) until the next one.
        sqlite3_clear_bindings(stmt)
    }

    /// Ends the current execution so the statement holds no read transaction open.
    func done() { sqlite3_reset(stmt) }

    var columnCount: Int32 { sqlite3_column_count(stmt) }
    func int(_ col: Int32) -> Int64 { sqlite3_column_int64(stmt, col) }
    func isNull(_ col: Int32) -> Bool { sqlite3_column_type(stmt, col) == SQLITE_NULL }
    func optInt(_ col: Int32) -> Int64? { isNull(col) ? nil : int(col) }
    func isBlob(_ col: Int32) -> Bool { sqlite3_column_type(stmt, col) == SQLITE_BLOB }
    func blob(_ col: Int32) -> [UInt8]? {
        guard !isNull(col) else { return nil }
        let n = Int(sqlite3_column_bytes(stmt, col))
        guard n > 0, let p = sqlite3_column_blob(stmt, col) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
    /// A column as whatever type it holds.
    func value(_ col: Int32) -> TraceValue {
        switch sqlite3_column_type(stmt, col) {
        case SQLITE_NULL: .null
        case SQLITE_INTEGER: .int(int(col))
        case SQLITE_BLOB: .blob(blob(col) ?? [])
        default: .text(text(col) ?? "")
        }
    }
    func text(_ col: Int32) -> String? {
        guard let p = sqlite3_column_text(stmt, col) else { return nil }
        return String(cString: p)
    }
}
