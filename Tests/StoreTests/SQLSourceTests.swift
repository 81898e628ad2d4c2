import Foundation
import Store
import XCTest

/// No SQL is built from request strings: every statement is a literal prepared once (values are
/// bound), and only the Store module links SQLite. Hostile text round-trips as data.
final class SQLSourceTests: XCTestCase {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources").standardized

    func testEveryStatementIsALiteral() throws {
        var calls = 0
        let files = FileManager.default.enumerator(atPath: Self.sources.path)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        for f in files.sorted() {
            let text = try String(contentsOf: Self.sources.appendingPathComponent(f), encoding: .utf8)
            if text.contains("import CSQLite") { XCTAssertTrue(f.hasPrefix("Store/"), "\(f) links SQLite") }
            guard f.hasPrefix("Store/") else { continue }
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                guard let r = line.range(of: #"\b(prepare|exec)\("#, options: .regularExpression), !line.contains("func ") else { continue }
                calls += 1
                let arg = line[r.upperBound...]
                // A string literal (interpolating only a constant), the migration's own file text,
                // or a multi-line literal that starts on the next line.
                let literal = arg.hasPrefix("\"") && (!arg.contains("\\(") || arg.contains("\\(Store.deleteBatch)"))
                // A trace query: pieces of the TraceSQL enum only (checked below).
                let pieces = f == "Store/Store.swift" && arg.hasPrefix("q.sql)")
                XCTAssertTrue(literal || pieces || arg.hasPrefix("m.sql)") || arg.hasPrefix("\"\"\""), "\(f):\(n + 1): \(line)")
            }
        }
        XCTAssertEqual(calls, 74, "statements found (update when adding one)")
    }

    /// Trace queries are built only from the raw values of `TraceSQL` (literals by the language's
    /// rule): the one place that appends to a query's text appends a piece's raw value.
    func testTraceQueriesAreMadeOfLiteralPieces() throws {
        for (file, n) in [("Store/TraceQuery.swift", 2), ("Store/PackSQL.swift", 1)] {
            let text = try String(contentsOf: Self.sources.appendingPathComponent(file), encoding: .utf8)
            let appends = text.split(separator: "\n").filter { $0.contains("sql +=") || $0.contains("sql.append") }
            XCTAssertEqual(appends.map { $0.trimmingCharacters(in: .whitespaces) }, Array(repeating: "sql += piece.rawValue", count: n), file)
            XCTAssertFalse(text.contains("case ") && text.range(of: #"case \w+ = "[^"]*\\\("#, options: .regularExpression) != nil, "a piece interpolates")
        }
    }

    func testHostileTextIsStoredAsData() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-sql-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = try Store(path: dir.appendingPathComponent("s.db").path)
        let evil = "x'); DROP TABLE stacks; --"
        let st = try s.insertStack(name: evil, config: "{\"a\":\"' OR 1=1 --\"}")
        let v = try s.addRulesetVersion(stackID: st.id, summary: evil, ruleset: "table ip t { comment \"'; DELETE FROM traces; --\" }")
        XCTAssertEqual(try s.stacks().map(\.name), [evil])
        XCTAssertEqual(try s.rulesetVersion(stackID: st.id, version: v.version)?.summary, evil)
        XCTAssertEqual(try s.traces(TraceFilter(stack: "' OR '1'='1")).count, 0)
        XCTAssertEqual(try s.traces(TraceFilter(outcome: "x' OR 1=1 --")).count, 0)
        s.close()
    }
}
