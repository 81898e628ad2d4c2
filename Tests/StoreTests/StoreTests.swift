import Foundation
@testable import Store
import XCTest

final class StoreTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    var dbPath: String { dir.appendingPathComponent("t.db").path }

    /// The copy compiled into the binary equals migrations/ file for file.
    func testTimestampsAreRFC3339WithMilliseconds() {
        XCTAssertEqual(Timestamp.format(Date(timeIntervalSince1970: 1_700_000_000.5)), "2023-11-14T22:13:20.500Z")
        XCTAssertEqual(Timestamp.format(Date(timeIntervalSince1970: 981_173_106.25)), "2001-02-03T04:05:06.250Z")
        XCTAssertEqual(Timestamp.format(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00.000Z")
        // Outside 0...9999 and before 1970, as printf prints them.
        XCTAssertEqual(Timestamp.format(Date(timeIntervalSince1970: -1.5)), "1969-12-31T23:59:59.-500Z")
        XCTAssertEqual(Timestamp.format(Date(timeIntervalSince1970: 253_402_300_800)), "10000-01-01T00:00:00.000Z")
    }

    func testEmbeddedMigrationsEqualTheFolder() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../migrations").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        XCTAssertEqual(files.count, EmbeddedMigrations.all.count, "run scripts/embed.sh")
        for (file, m) in zip(files, EmbeddedMigrations.all.sorted { $0.version < $1.version }) {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            XCTAssertEqual(String(format: "%04d_%@.sql", m.version, m.name), file)
            XCTAssertEqual(m.sql + "\n", text, "\(file) differs from the embedded copy: run scripts/embed.sh")
        }
    }

    func testWALAndMigrationsRecordedOnce() throws {
        let s = try Store(path: dbPath)
        XCTAssertEqual(s.appliedMigrations, EmbeddedMigrations.all.map(\.version))
        s.close()
        let again = try Store(path: dbPath)
        XCTAssertEqual(again.appliedMigrations, [])
        again.close()
        XCTAssertTrue(FileManager.default.fileExists(atPath: dbPath))
        let header = try Data(contentsOf: URL(fileURLWithPath: dbPath)).prefix(20)
        XCTAssertEqual(header[18], 2, "file format write version 2 means WAL")
    }

    func testAFailingMigrationRollsBackAndKeepsData() throws {
        let s = try Store(path: dbPath)
        _ = try s.insertStack(name: "keep", config: "{}")
        s.close()
        let bad = EmbeddedMigrations.all + [Migration(version: 99, name: "broken", sql: "CREATE TABLE x (a); INSERT INTO nope VALUES (1);")]
        XCTAssertThrowsError(try Store(path: dbPath, migrations: bad))
        let again = try Store(path: dbPath)
        XCTAssertEqual(try again.stacks().map(\.name), ["keep"])
        XCTAssertEqual(again.appliedMigrations, [])
        again.close()
    }

    func testStacksSurviveReopenAndDuplicateNamesFail() throws {
        let s = try Store(path: dbPath)
        let a = try s.insertStack(name: "a", config: "{\"name\":\"a\"}")
        _ = try s.insertStack(name: "b", config: "{\"name\":\"b\"}")
        XCTAssertThrowsError(try s.insertStack(name: "a", config: "{}"))
        s.close()
        let r = try Store(path: dbPath)
        let stacks = try r.stacks()
        XCTAssertEqual(stacks.map(\.name), ["a", "b"])
        XCTAssertEqual(stacks[0], a)
        XCTAssertTrue(try r.deleteStack(name: "a"))
        XCTAssertFalse(try r.deleteStack(name: "a"))
        r.close()
    }

    func testTracesFilterPaginateAndCascade() throws {
        let s = try Store(path: dbPath)
        let a = try s.insertStack(name: "a", config: "{}")
        let b = try s.insertStack(name: "b", config: "{}")
        let first = s.allocateTraceIDs(6)
        XCTAssertEqual(first, 1)
        var rows: [TraceRecord] = []
        for k in 0..<6 {
            let st = k % 2 == 0 ? a : b
            rows.append(TraceRecord(id: first + Int64(k), stackID: st.id, stackName: st.name, device: "eth0",
                                    outcome: k == 5 ? "consumed" : "dropped", dropReason: k == 5 ? nil : (k < 3 ? "NO_SOCKET" : "IP_CSUM"),
                                    createdAt: "2026-01-01T00:00:00.000Z", body: "{\"k\":\(k)}"))
        }
        s.enqueueTraces(rows)
        XCTAssertEqual(try s.traces(TraceFilter()).map(\.id), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try s.traces(TraceFilter(stack: "a")).map(\.id), [1, 3, 5])
        XCTAssertEqual(try s.traces(TraceFilter(dropReason: "IP_CSUM")).map(\.id), [4, 5])
        XCTAssertEqual(try s.traces(TraceFilter(outcome: "consumed")).map(\.id), [6])
        XCTAssertEqual(try s.traces(TraceFilter(afterID: 2, limit: 2)).map(\.id), [3, 4])
        XCTAssertEqual(try s.trace(id: 4)?.body, "{\"k\":3}")
        XCTAssertNil(try s.trace(id: 99))
        try s.deleteStack(name: "a")
        XCTAssertEqual(try s.traces(TraceFilter()).map(\.id), [2, 4, 6])
        s.close()
        // Ids continue after a restart.
        let r = try Store(path: dbPath)
        XCTAssertEqual(r.allocateTraceIDs(1), 7)
        r.close()
    }

    /// A stack's traces up to an id, in batches: the other stack's rows and later ids stay.
    func testDeleteTracesInBatchesUpToAnID() throws {
        let s = try Store(path: dbPath)
        let a = try s.insertStack(name: "a", config: "{}")
        let b = try s.insertStack(name: "b", config: "{}")
        let n = Store.deleteBatch * 2 + 7
        let first = s.allocateTraceIDs(n + 3)
        var rows: [TraceRecord] = []
        for k in 0..<(n + 3) {
            let st = k < n || k == n + 2 ? a : b
            rows.append(TraceRecord(id: first + Int64(k), stackID: st.id, stackName: st.name, device: "eth0", outcome: "dropped",
                                    dropReason: "NO_SOCKET", createdAt: "2026-01-01T00:00:00.000Z", body: "{}"))
        }
        s.enqueueTraces(rows)
        // Up to the id before the last row: a's last row (id n+3) is after it and stays.
        XCTAssertEqual(try s.deleteTraces(stackID: a.id, upTo: first + Int64(n + 1)), n)
        XCTAssertEqual(try s.traces(TraceFilter(limit: 10)).map(\.id), [first + Int64(n), first + Int64(n + 1), first + Int64(n + 2)])
        XCTAssertEqual(s.lastAllocatedTraceID, first + Int64(n + 2))
        s.close()
    }

    func testClosedStoreFailsCleanly() throws {
        let s = try Store(path: dbPath)
        s.close()
        XCTAssertThrowsError(try s.stacks())
    }

    func testUnopenablePathIsAnError() {
        XCTAssertThrowsError(try Store(path: "/nonexistent-dir/x/y.db"))
    }

    /// A row that fails (its stack is gone) is left out alone: the other stacks' rows in the same
    /// batch commit, and a flush that checks the failed ids says so.
    func testAFailingRowDoesNotTakeTheBatchWithIt() throws {
        let s = try Store(path: dbPath)
        defer { s.close() }
        let a = try s.insertStack(name: "a", config: "{}")
        let b = try s.insertStack(name: "b", config: "{}")
        let first = s.allocateTraceIDs(3)
        func row(_ k: Int64, _ st: StackRecord) -> TraceRecord {
            TraceRecord(id: first + k, stackID: st.id, stackName: st.name, device: "eth0", outcome: "delivered", dropReason: nil,
                        createdAt: "2026-01-01T00:00:00Z", body: "{}")
        }
        XCTAssertTrue(try s.deleteStack(name: "b"))
        s.enqueueTraces([row(0, a), row(1, b), row(2, a)])
        XCTAssertFalse(s.flush(ids: first..<(first + 3)))
        XCTAssertTrue(s.flush(ids: first..<(first + 1)))
        XCTAssertEqual(try s.traces(TraceFilter(stack: nil, outcome: nil, dropReason: nil, afterID: 0, limit: 10)).map(\.id), [first, first + 2])
    }

    /// Past the number of failed ids the writer keeps, a flush never answers "stored" for an id it
    /// may have forgotten (70,000 rows of a deleted stack fail; the first of them is still "not stored").
    func testForgottenFailuresNeverReadAsDurable() throws {
        let s = try Store(path: dbPath)
        defer { s.close() }
        let a = try s.insertStack(name: "a", config: "{}")
        let b = try s.insertStack(name: "b", config: "{}")
        XCTAssertTrue(try s.deleteStack(name: "b"))
        let n = 70_000
        let first = s.allocateTraceIDs(n)
        s.enqueueTraces((0..<Int64(n)).map {
            TraceRecord(id: first + $0, stackID: b.id, stackName: "b", device: "eth0", outcome: "delivered", dropReason: nil,
                        createdAt: "2026-01-01T00:00:00Z", body: "{}")
        })
        XCTAssertFalse(s.flush(ids: first..<(first + 1)))
        XCTAssertFalse(s.flush(ids: (first + Int64(n) - 1)..<(first + Int64(n))))
        let later = s.allocateTraceIDs(1)
        s.enqueueTraces([TraceRecord(id: later, stackID: a.id, stackName: "a", device: "eth0", outcome: "delivered", dropReason: nil,
                                     createdAt: "2026-01-01T00:00:00Z", body: "{}")])
        XCTAssertTrue(s.flush(ids: later..<(later + 1)))
    }

    /// Deleting the stack that holds the newest traces does not let a restart hand their ids out
    /// again; a database made by the schema before the watermark (0001-0002) upgrades keeping its rows.
    func testTraceIDsAreNotReusedAfterADeleteAndARestart() throws {
        do {
            let old = try SQLiteConnection(path: dbPath)
            _ = try old.migrate(EmbeddedMigrations.all.filter { $0.version <= 2 })
            try old.exec("""
                INSERT INTO stacks (id, name, config, created_at) VALUES (1, 'a', '{}', 'x');
                INSERT INTO traces (id, stack_id, device, outcome, created_at, body) VALUES (7, 1, 'eth0', 'delivered', 'x', '{}');
                """)
        }
        let s = try Store(path: dbPath)
        XCTAssertEqual(s.appliedMigrations, [3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(try s.trace(id: 7)?.stackName, "a")
        XCTAssertEqual(s.allocateTraceIDs(3), 8)   // 8, 9 and 10 handed out, none stored
        XCTAssertTrue(try s.deleteStack(name: "a"))
        s.close()
        let again = try Store(path: dbPath)
        defer { again.close() }
        XCTAssertEqual(again.allocateTraceIDs(1), 11)
    }

    /// A writer held up by the disk: with `.drop`, rows past the queue's capacity are dropped and
    /// counted, never durable; with `.block`, the enqueuer waits until the queue has room.
    func testWriterOverflowDropsOrBlocks() throws {
        let gate = DispatchSemaphore(value: 0)
        func rows(_ ids: ClosedRange<Int64>) -> [TraceRecord] {
            ids.map { TraceRecord(id: $0, stackID: 1, stackName: "a", device: "eth0", outcome: "delivered", dropReason: nil, createdAt: "x", body: "{}") }
        }
        let dropping = TraceWriter(capacity: 2, overflow: .drop) { _ in gate.wait(); return [] }
        XCTAssertEqual(dropping.enqueue(rows(1...1)), 0)
        while dropping.snapshot().queued > 0 { usleep(100) }   // the writer holds row 1, waiting on the gate
        XCTAssertEqual(dropping.enqueue(rows(2...5)), 2)      // 2 and 3 fit; 4 and 5 dropped
        XCTAssertEqual(dropping.snapshot().dropped, 2)
        gate.signal(); gate.signal()
        XCTAssertTrue(dropping.flush(checking: 1..<4))
        XCTAssertFalse(dropping.flush(checking: 4..<5))
        XCTAssertFalse(dropping.flush(checking: 5..<6))
        dropping.stop()

        let blocking = TraceWriter(capacity: 2, overflow: .block) { _ in gate.wait(); return [] }
        blocking.enqueue(rows(1...1))
        while blocking.snapshot().queued > 0 { usleep(100) }
        blocking.enqueue(rows(2...4))                         // over capacity: the next enqueue waits
        let done = DispatchSemaphore(value: 0)
        let fifth = rows(5...5)
        Thread { XCTAssertEqual(blocking.enqueue(fifth), 0); done.signal() }.start()
        XCTAssertEqual(done.wait(timeout: .now() + 0.2), .timedOut)
        gate.signal()                                          // row 1 commits; the writer takes 2-4 and waits again
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        for _ in 0..<3 { gate.signal() }
        XCTAssertTrue(blocking.flush(checking: 1..<6))
        XCTAssertEqual(blocking.snapshot().dropped, 0)
        blocking.stop()

        // The byte bound: rows of 744 bytes (a 488-byte body and 256 for the rest) in 2,000 bytes
        // hold two; the third is dropped, though the row bound (100) has room.
        func big(_ ids: ClosedRange<Int64>) -> [TraceRecord] {
            ids.map { TraceRecord(id: $0, stackID: 1, stackName: "a", device: "eth0", outcome: "delivered", dropReason: nil, createdAt: "x", body: String(repeating: "x", count: 488)) }
        }
        let held = DispatchSemaphore(value: 0)
        let bounded = TraceWriter(capacity: 100, capacityBytes: 2000, overflow: .drop) { _ in held.wait(); return [] }
        XCTAssertEqual(bounded.enqueue(big(1...1)), 0)
        while bounded.snapshot().queued > 0 { usleep(100) }
        XCTAssertEqual(bounded.enqueue(big(2...4)), 1)
        XCTAssertEqual([bounded.snapshot().queued, bounded.snapshot().queuedBytes, bounded.snapshot().dropped], [2, 1488, 1])
        for _ in 0..<2 { held.signal() }
        XCTAssertTrue(bounded.flush(checking: 1..<4))
        XCTAssertEqual(bounded.snapshot().queuedBytes, 0)
        bounded.stop()
    }
}
