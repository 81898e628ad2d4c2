import Wire
import XCTest

final class AddressTests: XCTestCase {
    func testParseAndPrint() throws {
        XCTAssertEqual(try MACAddress(parsing: "02:00:00:00:00:0A").description, "02:00:00:00:00:0a")
        XCTAssertEqual(try IPv4Address(parsing: "198.18.0.1").raw, 0xc612_0001)
        let c = try IPv4CIDR(parsing: "198.18.0.77/24")
        XCTAssertEqual(c.network.description, "198.18.0.0")
        XCTAssertEqual(c.broadcast.description, "198.18.0.255")
        XCTAssertTrue(c.contains(IPv4Address(198, 18, 0, 3)))
        XCTAssertFalse(c.contains(IPv4Address(198, 18, 1, 3)))
        XCTAssertEqual(try IPv4CIDR(parsing: "0.0.0.0/0").mask, 0)
    }

    func testRejectsBadText() {
        for s in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "a.b.c.d", "1..2.3", "1.2.3.4.", ".1.2.3",
                  "1.2.3.1000", "1.2.3.00", "1.2.3.-4", "1.2.3.٤", " 1.2.3.4", "1.2.3.4 "] {
            XCTAssertThrowsError(try IPv4Address(parsing: s), s)
        }
        XCTAssertEqual(try ["0.0.0.0", "255.255.255.255", "10.0.0.1", "1.20.255.0"].map { try IPv4Address(parsing: $0).raw },
                       [0, 0xffff_ffff, 0x0a00_0001, 0x0114_ff00])
        for s in ["", "02:00:00:00:00", "zz:00:00:00:00:00", "020000000000"] {
            XCTAssertThrowsError(try MACAddress(parsing: s), s)
        }
        for s in ["1.2.3.4", "1.2.3.4/33", "1.2.3.4/-1", "1.2.3.4/x"] {
            XCTAssertThrowsError(try IPv4CIDR(parsing: s), s)
        }
        XCTAssertThrowsError(try Hex.decode("abc"))
        XCTAssertThrowsError(try Hex.decode("zz"))
        XCTAssertEqual(try Hex.decode("de ad:BE\nef"), [0xde, 0xad, 0xbe, 0xef])
    }
}
