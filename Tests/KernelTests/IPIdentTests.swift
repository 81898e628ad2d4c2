@testable import Kernel
import Wire
import XCTest

final class IPIdentTests: XCTestCase {
    /// siphash_3u32 is SipHash-2-4 over 12 bytes: the reference vector for 00..0b under key 00..0f.
    func testSipHashReferenceVector() {
        XCTAssertEqual(SipHash.hash3(0x0302_0100, 0x0706_0504, 0x0b0a_0908, key: (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908)), 0x751e_8fbc_860e_e5fb)
    }

    func ids(seed: UInt64, _ n: Int) throws -> [UInt16] {
        var c = try makeStack().config
        c.seed = seed
        let s = try Stack(config: c)
        // UDP to a closed port: each answer is an ICMP port unreachable, built by the stack (no DF).
        let rs = s.inject((0..<n).map { Injection(device: 0, frame: frame(.udp(UDPRepr(srcPort: UInt16(1000 + $0), dstPort: 9))), atNs: UInt64($0) * 1000) })
        return try rs.map { r in try IPv4Packet(checking: r.emitted[0].frame, at: 14).ident }
    }

    /// ip_select_ident: a per-destination counter with a seeded key and random steps between
    /// jiffies; the same seed gives the same IDs, in the same jiffy they count up by one.
    func testICMPErrorsTakeSeededPerDestinationIDs() throws {
        let a = try ids(seed: 0, 3)
        XCTAssertEqual(a, [a[0], a[0] &+ 1, a[0] &+ 2])
        XCTAssertEqual(a[0], 12695)   // seed 0: the first draw for this bucket
        XCTAssertEqual(try ids(seed: 0, 3), a)
        XCTAssertNotEqual(try ids(seed: 7, 3), a)
    }

    /// A TCP reset goes out with DF, so its ID is 0 (as the kernel's reply socket sends it).
    func testResetsCarryDFAndIDZero() throws {
        let s = try makeStack()
        let r = s.inject(frame: frame(.tcp(TCPRepr(srcPort: 1, dstPort: 9, seq: 5, flags: .syn))), device: s.devices[0])
        let ip = try IPv4Packet(checking: r.emitted[0].frame, at: 14)
        XCTAssertEqual(ip.ident, 0)
        XCTAssertTrue(ip.dontFragment)
    }
}
