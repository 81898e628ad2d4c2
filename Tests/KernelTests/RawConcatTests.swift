@testable import Kernel
import NFTables
import Wire
import XCTest

/// Raw payload bits inside concatenated keys (the nft suite's inet/vmap.t:9,10), as
/// `scripts/record_raw_concat.sh` recorded them on Linux 6.18: `@ih` starts after the UDP header,
/// or after the TCP header and its options; a 128-bit `@th` part is matched whole.
final class RawConcatTests: XCTestCase {
    func testRawBitsInAKeyMatchAsTheKernelCounted() throws {
        let s = try makeStack()
        s.loadRuleset(try NFParser.parse("""
        table inet t {
          chain input {
            type filter hook input priority 0; policy accept;
            ip saddr . @ih,32,32 { 198.18.0.9 . 0x14, 2.2.2.2 . 0x1e } counter
            udp length . @th,160,128 vmap { 47-63 . 0xe373135363130333131303735353203 : jump c }
          }
          chain c { counter; }
        }
        """))
        let value = try Hex.decode("0e373135363130333131303735353203")
        func udp(_ payload: [UInt8]) -> [UInt8] { frame(ident: 1, .udp(UDPRepr(srcPort: 5000, dstPort: 9, payload: payload))) }
        let eight: (UInt8) -> [UInt8] = { [0, 0, 0, 0, 0, 0, 0, $0] }
        let frames = [
            udp(eight(0x14)),                                                  // a
            udp(eight(0x1e)),                                                  // b: 0x1e goes with 2.2.2.2
            udp(eight(0x14) + [0, 0, 0, 0] + value + [UInt8](repeating: 0, count: 12)),   // c: both, UDP length 48
            frame(ident: 1, .tcp(TCPRepr(srcPort: 5000, dstPort: 9, flags: .syn, window: 8192, options: [2, 4, 5, 0xb4, 1, 1, 0, 0],
                                         payload: eight(0x14)))),              // d: after the options
            udp(eight(0x15) + [0, 0, 0, 0] + value + [UInt8](repeating: 0, count: 40)),   // e: length 76
            udp([UInt8](repeating: 0, count: 12) + value + [0, 0, 0, 0, 0]),  // f: length 41
        ]
        for f in frames { _ = s.inject(frame: f, device: s.devices[0]) }
        let listing = s.listRuleset(handles: false)
        XCTAssertTrue(listing.contains("ip saddr . @ih,32,32 { 198.18.0.9 . 0x14, 2.2.2.2 . 0x1e } counter packets 3 bytes 160"), listing)
        XCTAssertTrue(listing.contains("udp length . @th,160,128 vmap { 47-63 . 0xe373135363130333131303735353203 : jump c }"), listing)
        XCTAssertTrue(listing.contains("\t\tcounter packets 1 bytes 68\n"), listing)
    }
}
