import Kernel
import Wire
import XCTest

/// Arbitrary frames through the whole RX path: every one ends with a known outcome, none traps.
final class KernelFuzzTests: XCTestCase {
    func testRandomFramesAlwaysEndWithAnOutcome() throws {
        let s = try makeStack()
        s.tracing = false
        var g = SystemRandomNumberGenerator()
        let seed = frame(.udp(UDPRepr(srcPort: 1, dstPort: 2, payload: [1, 2, 3])))
        var dropped = 0
        for i in 0..<20_000 {
            var f = seed
            if i % 3 == 0 { f = (0..<Int.random(in: 0...80, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) } }
            else { f[Int.random(in: 0..<f.count, using: &g)] = UInt8.random(in: 0...255, using: &g) }
            if i % 5 == 0 && f.count > 20 { f.removeLast(Int.random(in: 1...20, using: &g)) }
            let r = s.inject(frame: f, device: s.devices[0])
            XCTAssertTrue(r.outcome == .dropped ? r.dropReason != nil : r.dropReason == nil)
            if r.outcome == .dropped { dropped += 1 }
        }
        XCTAssertGreaterThan(dropped, 10_000)
    }
}
