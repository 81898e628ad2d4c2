import Kernel
import Wire
import XCTest

final class FIBTests: XCTestCase {
    func testLongestPrefixThenMetric() throws {
        let devs = [DeviceConfig(name: "eth0", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")]),
                    DeviceConfig(name: "eth1", mac: peerMAC, addresses: [try IPv4CIDR(parsing: "198.18.1.1/24")])]
        let fib = try FIB(devices: devs, routes: [
            RouteConfig(dst: try IPv4CIDR(parsing: "0.0.0.0/0"), via: IPv4Address(198, 18, 1, 2), dev: "eth1"),
            RouteConfig(dst: try IPv4CIDR(parsing: "10.0.0.0/8"), via: IPv4Address(198, 18, 0, 2), dev: "eth0", metric: 10),
            RouteConfig(dst: try IPv4CIDR(parsing: "10.0.0.0/8"), via: IPv4Address(198, 18, 1, 3), dev: "eth1", metric: 5),
            RouteConfig(dst: try IPv4CIDR(parsing: "10.1.0.0/16"), via: IPv4Address(198, 18, 0, 3), dev: "eth0"),
        ])
        XCTAssertEqual(fib.lookup(IPv4Address(198, 18, 0, 1))?.type, .local)
        XCTAssertEqual(fib.lookup(IPv4Address(198, 18, 0, 255))?.type, .broadcast)
        XCTAssertEqual(fib.lookup(IPv4Address(198, 18, 0, 7))?.gateway, nil)
        XCTAssertEqual(fib.lookup(IPv4Address(10, 1, 2, 3))?.gateway, IPv4Address(198, 18, 0, 3))
        XCTAssertEqual(fib.lookup(IPv4Address(10, 2, 2, 3))?.gateway, IPv4Address(198, 18, 1, 3))
        XCTAssertEqual(fib.lookup(IPv4Address(8, 8, 8, 8))?.gateway, IPv4Address(198, 18, 1, 2))
    }

    func testGatewayMustBeOnLink() throws {
        let devs = [DeviceConfig(name: "eth0", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])]
        XCTAssertThrowsError(try FIB(devices: devs, routes: [RouteConfig(dst: try IPv4CIDR(parsing: "0.0.0.0/0"), via: IPv4Address(10, 0, 0, 1), dev: "eth0")])) {
            XCTAssertEqual(($0 as? ConfigError)?.path, "/routes/0/via")
        }
        XCTAssertThrowsError(try FIB(devices: devs, routes: [RouteConfig(dst: try IPv4CIDR(parsing: "0.0.0.0/0"), dev: "eth9")]))
    }

    func testSysctlsAreValidated() throws {
        XCTAssertThrowsError(try Stack(config: StackConfig(name: "r", sysctls: ["net.ipv4.ip_forward": 2]))) {
            XCTAssertEqual(($0 as? ConfigError)?.path, "/sysctls/net.ipv4.ip_forward")
        }
        XCTAssertThrowsError(try Stack(config: StackConfig(name: "r", sysctls: ["net.ipv4.nope": 1])))
        XCTAssertNoThrow(try Stack(config: StackConfig(name: "r", sysctls: ["net.ipv4.ip_forward": 1])))
    }
}
