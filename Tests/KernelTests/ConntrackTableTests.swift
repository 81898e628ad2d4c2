@testable import Kernel
import XCTest

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
            case 0: return CTTuple(proto: 17, src: UInt32(0xc612_0000 | (k >> 8) % 40), dst: 0xc612_0001, sport: UInt16((k >> 16) % 5 + 1000), dport: 53)
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
                guard reference[t] == nil, reference[t.inverted] == nil else { continue }
                let c = Conn(orig: t)
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
}
