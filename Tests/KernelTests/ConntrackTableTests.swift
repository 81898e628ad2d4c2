@testable import Kernel
import XCTest

/// glibc's malloc_usable_size (malloc.h, which the Glibc module leaves out).
@_silgen_name("malloc_usable_size") private func mallocUsableSize(_ p: UnsafeMutableRawPointer?) -> Int

/// The conntrack index against a Dictionary of both tuples: random confirms and removals (the
/// backward shift of removal is where open addressing goes wrong) leave the same lookups.
final class ConntrackTableTests: XCTestCase {
    func testAgreesWithADictionaryOfBothDirections() {
        var rng = StackRandom(seed: 11)
        let table = ConntrackTable()
        var reference: [CTTuple: (Conn, Bool)] = [:]
        var live: [Conn] = []
        // Few distinct tuples, so probe runs collide and wrap; IPv6 and ICMP tuples among them.
        func tuple() -> CTTuple {
            let k = rng.next()
            switch k % 3 {
            case 0: return CTTuple(proto: 17, src: UInt128(0xc612_0000 | (k >> 8) % 40), dst: 0xc612_0001, sport: UInt16((k >> 16) % 5 + 1000), dport: 53,
                                   zone: UInt16((k >> 28) % 3))   // the same tuple in three zones
            case 1: return CTTuple(proto: 6, src: UInt128((k >> 8) % 30) << 64 | 1, dst: 2, sport: 443, dport: UInt16((k >> 20) % 7 + 1), v6: true)
            default: return CTTuple(proto: 1, src: UInt32((k >> 8) % 20), dst: 9, sport: UInt16((k >> 24) % 4), dport: 8)
            }
        }
        for step in 0..<6000 {
            if rng.next() % 3 == 0, !live.isEmpty {
                let c = live.remove(at: Int(rng.next() % UInt64(live.count)))
                table.remove(c)
                reference[c.orig] = nil; reference[c.reply] = nil
            } else {
                let t = tuple()
                guard reference[t] == nil, reference[t.inverted(zone: t.zone)] == nil else { continue }
                let c = Conn(orig: t, zone: CTZone(id: t.zone))
                table.insert(c)
                live.append(c)
                reference[c.orig] = (c, false); reference[c.reply] = (c, true)
            }
            if step % 50 == 0 {
                for _ in 0..<100 {
                    let t = tuple()
                    let got = table.lookup(t), want = reference[t]
                    XCTAssertTrue(got?.0 === want?.0 && got?.1 == want?.1, "step \(step): \(t)")
                }
                for c in live { XCTAssertTrue(table.lookup(c.reply)?.0 === c && table.lookup(c.orig)?.1 == false) }
            }
        }
        XCTAssertEqual(table.count, live.count)
        XCTAssertEqual(Set(table.all.map(ObjectIdentifier.init)), Set(live.map(ObjectIdentifier.init)))
        for c in live { table.remove(c) }
        XCTAssertEqual(table.count, 0)
        XCTAssertTrue(table.all.isEmpty)
    }
    /// The checkpoint's binary form gives back every kind of entry as it was (TCP state, IPv6,
    /// ICMP, both NAT bindings, a zone, labels, marks, times) in its order; bytes that are not one restore nothing.
    func testTheCheckpointFormRestoresEveryEntry() throws {
        let s = try makeStack()
        let v4 = { (a: UInt32, b: UInt32, sp: UInt16, dp: UInt16) in ConnRecord.Tuple(src: UInt128(a), dst: UInt128(b), sport: sp, dport: dp) }
        let a6: UInt128 = 0x2001_0db8 << 96 | 7, b6: UInt128 = 0x2001_0db8 << 96 | 1
        let records = [
            ConnRecord(proto: 6, v6: false, orig: v4(0xc612_0009, 0xc612_0001, 40000, 80), reply: v4(0x0a00_0005, 0xc612_0009, 8080, 40000),
                       status: 0x1ae, mark: 0xdead_beef, tcp: "ESTABLISHED", created: 5, expires: 432_000_000_000_005, snat: nil, dnat: (0x0a00_0005, 8080)),
            ConnRecord(proto: 17, v6: false, orig: v4(0x0a00_0002, 0x0808_0808, 5353, 53), reply: v4(0x0808_0808, 0xc612_0001, 53, 61000),
                       status: 0x9a, mark: 0, tcp: nil, created: 7, expires: 30_000_000_007, snat: (0xc612_0001, 61000), dnat: nil),
            ConnRecord(proto: 1, v6: false, orig: v4(1, 2, 77, 8), reply: v4(2, 1, 77, 0), status: 8, mark: 1, tcp: nil, created: 9, expires: 30_000_000_009, snat: nil, dnat: nil,
                       zone: 5, zoneDir: 2, labels: 1 << 127 | 1 << 5),
            ConnRecord(proto: 6, v6: true, orig: .init(src: a6, dst: b6, sport: 1, dport: 22), reply: .init(src: b6, dst: a6, sport: 22, dport: 1),
                       status: 8, mark: 0, tcp: "SYN_SENT", created: 11, expires: 120_000_000_011, snat: (b6, 2), dnat: (a6, 3)),
        ]
        s.restoreConntrack(records)
        XCTAssertEqual(s.conntrackRecords(), records)
        let bytes = s.conntrackCheckpoint()
        XCTAssertEqual(bytes.count, 4 + 4 * 100 + 4 * 18 + 3 + 16)
        XCTAssertEqual(Array(bytes[0..<8]), Array("PSC1".utf8) + [6, 2 | 8, 2, 0])   // TCP, state and DNAT; ESTABLISHED is state 2
        let back = try makeStack()
        XCTAssertTrue(back.restoreConntrack(checkpoint: bytes))
        XCTAssertEqual(back.conntrackRecords(), records)
        XCTAssertEqual(back.conntrackListing, s.conntrackListing)
        XCTAssertEqual(back.conntrackCheckpoint(), bytes)
        for damaged in [Array(bytes.dropLast()), Array("PSC2".utf8) + bytes.dropFirst(4), Array(bytes[0..<5]) + [0x10] + bytes.dropFirst(6)] {
            let none = try makeStack()
            XCTAssertFalse(none.restoreConntrack(checkpoint: damaged))
            XCTAssertEqual(none.conntrackRecords(), [])
        }
    }

    /// A connection is one 160-byte malloc chunk (152 usable bytes): a million of them are the
    /// bulk of a full table, and a field added out of place grows every one by 16 bytes.
    func testAConnectionIsOne160ByteChunk() {
        let c = Conn(orig: CTTuple(proto: 17, src: 1, dst: 2, sport: 3, dport: 4))
        XCTAssertEqual(mallocUsableSize(Unmanaged.passUnretained(c).toOpaque()), 152)
        XCTAssertEqual(MemoryLayout<CTTuple>.size, 40)
    }
}
