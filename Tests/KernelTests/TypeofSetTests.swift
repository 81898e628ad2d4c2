@testable import Kernel
import NFTables
import Wire
import XCTest

/// Sets and maps declared with `typeof` hold what their expressions read, and act as ones
/// declared with `type`.
final class TypeofSetTests: XCTestCase {
    func testTypeofSetsAndMapsMatch() throws {
        let s = try makeStack()
        s.loadRuleset(try NFParser.parse("""
        table inet t {
          set s { typeof ip saddr . udp dport; elements = { 198.18.0.9 . 9 } }
          map m { typeof udp dport : meta mark; elements = { 9 : 7 } }
          chain c { type filter hook input priority 0; ip saddr . udp dport @s counter; meta mark set udp dport map @m; meta mark 7 counter
          }
        }
        """))
        _ = s.inject(frame: frame(.udp(UDPRepr(srcPort: 5000, dstPort: 9, payload: [1]))), device: s.devices[0])
        _ = s.inject(frame: frame(.udp(UDPRepr(srcPort: 5000, dstPort: 10, payload: [1]))), device: s.devices[0])
        let listing = s.listRuleset(handles: false)
        XCTAssertTrue(listing.contains("ip saddr . udp dport @s counter packets 1 bytes 29"), listing)
        XCTAssertTrue(listing.contains("meta mark 0x00000007 counter packets 1 bytes 29"), listing)
    }
}
