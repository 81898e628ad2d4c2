import Foundation
@testable import Store
import XCTest

/// Summary rows live in packs (migration 12); full rows in the traces table. The same random rows
/// stored each way must answer every query, count, delete and retention cut alike.
final class TracePackTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-pack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A deterministic generator (SplitMix64), so a failure repeats.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
    }

    static func v4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> [UInt8] { [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d] }
    static func v6(_ last: UInt8, net: UInt8) -> [UInt8] { [0x20, 0x01, 0x0d, 0xb8, 0, net, 0, 0, 0, 0, 0, 0, 0, 0, 0, last] }

    static func row(_ id: Int64, stack: Int64, _ g: inout Random) -> TraceRecord {
        var x = TraceIndex()
        let v6 = g.below(5) == 0
        func addr() -> [UInt8] { v6 ? Self.v6(UInt8(g.below(4)), net: UInt8(g.below(3))) : Self.v4(198, 18, UInt8(g.below(3)), UInt8(g.below(6))) }
        if g.below(10) > 0 {
            x.proto = Int64(g.pick([6, 17, 1]))
            x.saddr = addr(); x.daddr = addr()
            if x.proto != 1 { x.sport = Int64(1000 + g.below(4)); x.dport = Int64(g.pick([22, 53, 80, 443])) }
            if g.below(3) > 0 {
                x.natSaddr = g.below(4) == 0 ? addr() : x.saddr; x.natDaddr = g.below(4) == 0 ? addr() : x.daddr
                x.natSport = g.below(4) == 0 ? 2000 : x.sport; x.natDport = g.below(4) == 0 ? Int64(g.pick([8080, 53])) : x.dport
            }
        }
        x.startNs = g.below(8) == 0 ? nil : Int64(g.below(1000)) * 1000
        x.endNs = x.startNs.map { $0 + 500 }
        x.length = Int64(60 + g.below(3))
        x.lastStage = g.below(9) == 0 ? nil : g.pick(["udp_queue_rcv_skb", "kfree_skb_reason", "ip_forward"])
        x.stagesLo = Int64(g.below(16)); x.stagesHi = g.below(4) == 0 ? 1 : 0
        for _ in 0..<g.below(3) {
            x.rules.append(TraceRuleHit(hook: g.pick(["input", "forward"]), family: g.pick(["inet", "ip"]), table: g.pick(["f", "g"]), chain: g.pick(["input", "c"]),
                                        handle: g.below(3) == 0 ? nil : Int64(1 + g.below(3)), verdict: g.pick(["accept", "drop", "continue"])))
        }
        let outcome = g.pick(["delivered", "dropped", "forwarded"])
        let reason = outcome == "dropped" ? g.pick(["NO_SOCKET", "NETFILTER_DROP"]) : nil
        let body = "{\"trace_id\":\(id),\"outcome\":\"\(outcome)\",\"start_ns\":\(x.startNs ?? -1)}"
        return TraceRecord(id: id, stackID: stack, stackName: "", device: g.pick(["eth0", "eth1"]), outcome: outcome, dropReason: reason,
                           createdAt: "2026-12-08T00:00:0\(g.below(10)).000Z", body: body, index: x)
    }

    /// Two stores with the same rows: `full` keeps them in the traces table (each given parts),
    /// `packed` in packs. Writer batches interleave the stacks, so packs' id spans overlap; small
    /// batches make many packs, so common values are in more than 256 (a key condition checked
    /// per pack) and rare ones in fewer (their packs listed from the keys' index).
    func stores(seed: UInt64, rows: Int = 1500, batch: Int = 300) throws -> (full: Store, packed: Store) {
        let full = try Store(path: dir.appendingPathComponent("full-\(seed).db").path)
        let packed = try Store(path: dir.appendingPathComponent("packed-\(seed).db").path)
        for s in [full, packed] { for n in ["a", "b"] { _ = try s.insertStack(name: n, config: "{}") } }
        var g = Random(state: seed)
        var id: Int64 = 0
        while id < rows {
            let n = 1 + g.below(batch)
            var batch: [TraceRecord] = []
            for _ in 0..<n {
                id += 1
                batch.append(Self.row(id, stack: g.below(3) == 0 ? 2 : 1, &g))
            }
            XCTAssertEqual(full.allocateTraceIDs(n), batch[0].id)
            XCTAssertEqual(packed.allocateTraceIDs(n), batch[0].id)
            full.enqueueTraces(batch.map { var r = $0; r.parts = TraceParts(); return r })
            packed.enqueueTraces(batch)
            full.flush(); packed.flush()
        }
        return (full, packed)
    }

    /// Equal rows; the traces table's reads leave the stages reached and the rules hit out of the
    /// index (filters and counts use them, nothing reads them back), a pack's keep them.
    static func same(_ a: [TraceRecord], _ b: [TraceRecord]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            var x = x, y = y
            x.parts = nil; y.index.rules = []; y.index.stagesLo = 0; y.index.stagesHi = 0
            if x != y { print("differ:\n  \(x)\n  \(y)") }
            return x == y
        }
    }

    static func filters(_ g: inout Random) -> TraceFilter {
        var f = TraceFilter(limit: 1 + g.below(150))
        f.newestFirst = g.below(2) == 0
        if g.below(4) == 0 { f.stack = g.pick(["a", "b"]) }
        if g.below(5) == 0 { f.outcome = g.pick(["delivered", "dropped"]) }
        if g.below(6) == 0 { f.dropReason = "NO_SOCKET" }
        if g.below(6) == 0 { f.device = "eth1" }
        if g.below(6) == 0 { f.lastStage = "ip_forward" }
        if g.below(6) == 0 { f.stage = g.pick([1, 2, 64]) }
        if g.below(6) == 0 { f.startFrom = Int64(g.below(1000)) * 1000 }
        if g.below(6) == 0 { f.startTo = Int64(g.below(1000)) * 1000 }
        if g.below(8) == 0 { f.wallFrom = "2026-12-08T00:00:05.000Z" }
        if g.below(8) == 0 { f.wallTo = "2026-12-08T00:00:03.000Z" }
        if g.below(6) == 0 { f.proto = Int64(g.pick([6, 17, 1])) }
        let ranges = [AddressRange(lo: v4(198, 18, 1, 0), hi: v4(198, 18, 1, 255)), AddressRange(lo: v4(198, 18, 2, 3), hi: v4(198, 18, 2, 3)),
                      AddressRange(lo: v6(0, net: 1), hi: v6(255, net: 1)), AddressRange(lo: [UInt8](repeating: 0, count: 16), hi: [UInt8](repeating: 0xff, count: 16))]
        if g.below(6) == 0 { f.addr = g.pick(ranges) }
        if g.below(6) == 0 { f.src = g.pick(ranges) }
        if g.below(6) == 0 { f.dst = g.pick(ranges) }
        if g.below(6) == 0 { f.port = Int64(g.pick([53, 2000, 1001])) }
        if g.below(6) == 0 { f.sport = Int64(g.pick([2000, 1001])) }
        if g.below(6) == 0 { f.dport = Int64(g.pick([53, 8080, 22])) }
        if g.below(5) == 0 {
            if g.below(2) == 0 { f.hook = g.pick(["input", "forward"]) }
            if g.below(2) == 0 { f.family = g.pick(["inet", "ip"]) }
            if g.below(2) == 0 { f.table = g.pick(["f", "g"]) }
            if g.below(2) == 0 { f.chain = g.pick(["input", "c"]) }
            if g.below(2) == 0 { f.handle = Int64(1 + g.below(3)) } else if g.below(3) == 0 { f.policy = true }
        }
        return f
    }

    func testPacksAnswerQueriesAndCountsAsTheTracesTableDoes() throws {
        let (full, packed) = try stores(seed: 1, batch: 8)
        func sparse(_ f: TraceFilter) throws -> [Bool] { try packed.locked { () throws(StoreError) -> [Bool] in try packed.sparseKeys(f) } }
        XCTAssertEqual(try sparse(TraceFilter(outcome: "delivered")), [false])
        XCTAssertEqual(try sparse({ var f = TraceFilter(); f.src = AddressRange(lo: Self.v4(198, 18, 2, 3), hi: Self.v4(198, 18, 2, 3)); f.handle = 2; f.table = "g"; f.chain = "c"; f.family = "ip"; return f }()), [false, true])
        var g = Random(state: 99)
        var nonEmpty = 0
        for k in 0..<250 {
            var f = Self.filters(&g)
            // Pages through the cursor: every page equal.
            for _ in 0..<3 {
                let a = try full.traces(f, parts: false), b = try packed.traces(f, parts: false)
                XCTAssertTrue(Self.same(a, b), "query \(k): \(a.map(\.id)) vs \(b.map(\.id))")
                guard let last = a.last else { break }
                nonEmpty += 1
                f.afterID = last.id
            }
            f.afterID = 0
            let by = g.pick(TraceAggregate.allCases)
            let ca = try full.aggregateTraces(by: by, f), cb = try packed.aggregateTraces(by: by, f)
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: ca.map { ($0.value, $0.count) }), Dictionary(uniqueKeysWithValues: cb.map { ($0.value, $0.count) }), "count \(k) by \(by)")
        }
        XCTAssertGreaterThan(nonEmpty, 200, "the filters select something")
        // Every count by the keys alone (no filter, or the stack), every group.
        for by in TraceAggregate.allCases {
            for stack in [nil, "a", "b"] {
                let f = TraceFilter(stack: stack)
                let ca = try full.aggregateTraces(by: by, f), cb = try packed.aggregateTraces(by: by, f)
                XCTAssertEqual(Dictionary(uniqueKeysWithValues: ca.map { ($0.value, $0.count) }), Dictionary(uniqueKeysWithValues: cb.map { ($0.value, $0.count) }), "\(by) \(stack ?? "-")")
            }
        }
        for id in [Int64(1), 77, 1499, 1500, 1501] {
            XCTAssertTrue(Self.same(try full.trace(id: id).map { [$0] } ?? [], try packed.trace(id: id).map { [$0] } ?? []), "trace \(id)")
        }
        XCTAssertEqual(try full.traceCounts(), try packed.traceCounts())
        XCTAssertEqual(try packed.traceCounts().values.reduce(0, +), Int(packed.lastAllocatedTraceID))
    }

    func testPacksDeleteAndKeepRetentionAsTheTracesTableDoes() throws {
        let (full, packed) = try stores(seed: 2)
        var g = Random(state: 7)
        for k in 0..<12 {
            var f = Self.filters(&g)
            f.limit = 100_000
            f.maxID = g.below(2) == 0 ? nil : Int64(g.below(1500))
            XCTAssertEqual(try full.deleteTraces(f), try packed.deleteTraces(f), "delete \(k)")
            let all = TraceFilter(limit: 100_000)
            XCTAssertTrue(Self.same(try full.traces(all, parts: false), try packed.traces(all, parts: false)), "after delete \(k)")
        }
        for (maxTraces, older) in [(400, nil), (100, nil), (nil, "2026-12-08T00:00:04.000Z"), (10, "2026-12-08T00:00:09.000Z")] as [(Int?, String?)] {
            for stack: Int64 in [1, 2] {
                let cut = try full.retentionCut(stackID: stack, maxTraces: maxTraces, olderThan: older)
                XCTAssertEqual(cut, try packed.retentionCut(stackID: stack, maxTraces: maxTraces, olderThan: older), "cut \(stack) \(maxTraces ?? -1)")
                if let cut { XCTAssertEqual(try full.deleteTraces(stackID: stack, upTo: cut), try packed.deleteTraces(stackID: stack, upTo: cut)) }
            }
            XCTAssertEqual(try full.traceCounts(), try packed.traceCounts())
        }
        // A stack's delete takes its packs and their keys.
        XCTAssertTrue(try packed.deleteStack(name: "a"))
        XCTAssertEqual(try packed.traceCounts()[1], nil)
        XCTAssertEqual(try packed.aggregateTraces(by: .outcome, TraceFilter(stack: nil)).reduce(0) { $0 + $1.count }, try packed.traceCounts()[2] ?? 0)
    }

    func testRowsRoundTripThroughAPackAndDamageIsAnError() throws {
        var g = Random(state: 5)
        let rows = (1...300).map { Self.row(Int64($0), stack: 3, &g) }
        let blob = TracePack.encode(rows[...])
        XCTAssertEqual(try TracePack.decode(blob, stackID: 3, stackName: ""), rows)
        // A flow's consecutive rows (the id, times and body's digits change) cost a few bytes each.
        let flow = (0..<300).map { k -> TraceRecord in
            var r = rows[0]
            r.id = 1000 + Int64(k); r.index.startNs = 5_000_000 + Int64(k) * 1000; r.index.endNs = r.index.startNs! + 700
            r.body = "{\"trace_id\":\(r.id),\"stack\":\"h\",\"device\":\"eth0\",\"trace\":\"summary\",\"outcome\":\"delivered\",\"start_ns\":\(r.index.startNs!)}"
            return r
        }
        let packedFlow = TracePack.encode(flow[...])
        XCTAssertEqual(try TracePack.decode(packedFlow, stackID: 3, stackName: ""), flow)
        XCTAssertEqual(packedFlow.count, 8466)   // 28 bytes a row; each whole is over 200
        // Every 7th packet dropped (another shape of body and columns): written against the last
        // row of its own shape, not the row before.
        let mixed = flow.enumerated().map { k, r -> TraceRecord in
            guard k % 7 == 0 else { return r }
            var d = r
            d.outcome = "dropped"; d.dropReason = "NETFILTER_DROP"
            d.body = r.body.replacingOccurrences(of: "\"delivered\"", with: "\"dropped\",\"drop_reason\":\"NETFILTER_DROP\"")
            return d
        }
        let packedMixed = TracePack.encode(mixed[...])
        XCTAssertEqual(try TracePack.decode(packedMixed, stackID: 3, stackName: ""), mixed)
        XCTAssertEqual(packedMixed.count, 8696)   // 29 bytes a row
        for cut in stride(from: 1, to: blob.count, by: 97) {
            var damaged = blob
            damaged[cut] ^= 0xff
            _ = try? TracePack.decode(damaged, stackID: 3, stackName: "")   // no crash, whatever it answers
            _ = try? TracePack.decode(Array(blob.prefix(cut)), stackID: 3, stackName: "")
        }
        XCTAssertThrowsError(try TracePack.decode(Array(blob.dropLast()), stackID: 3, stackName: ""))
        XCTAssertThrowsError(try TracePack.decode([3], stackID: 3, stackName: ""))
        // Version 1 wrote each row against the one before when their lengths agreed: rows of one
        // shape are the same bytes, and read alike.
        var v1 = packedFlow
        v1[0] = 1
        XCTAssertEqual(try TracePack.decode(v1, stackID: 3, stackName: ""), flow)
    }
}
