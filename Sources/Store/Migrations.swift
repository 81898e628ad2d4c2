/// One numbered schema change from `migrations/NNNN_name.sql`.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
    public init(version: Int, name: String, sql: String) { self.version = version; self.name = name; self.sql = sql }
}

extension SQLiteConnection {
    /// Applies every migration not yet recorded, in order, each in its own transaction.
    /// Returns the versions applied now.
    func migrate(_ migrations: [Migration]) throws(StoreError) -> [Int] {
        try exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        let q = try prepare("SELECT version FROM schema_migrations")
        try q.reset([])
        var done = Set<Int64>()
        while try q.step() { done.insert(q.int(0)) }
        q.done()
        let record = try prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)")
        var applied: [Int] = []
        for m in migrations.sorted(by: { $0.version < $1.version }) where !done.contains(Int64(m.version)) {
            try exec("BEGIN IMMEDIATE")
            do {
                try exec(m.sql)
                try record.run([.int(Int64(m.version)), .text(m.name), .text(Timestamp.now())])
                try exec("COMMIT")
            } catch {
                try? exec("ROLLBACK")
                throw StoreError(code: error.code, message: "migration \(m.version)_\(m.name): \(error.message)")
            }
            applied.append(m.version)
        }
        return applied
    }
}
