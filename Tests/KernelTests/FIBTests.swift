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

    /// `ip rule`s (fib_rules_lookup): tried by priority, each whose selectors hold looking its table
    /// up; a table without a route for the destination passes on to the next rule; the local rule
    /// (0) comes first, main (32766) and default (32767) last.
    func testPolicyRulesPickTheTable() throws {
        let devs = [DeviceConfig(name: "eth0", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")]),
                    DeviceConfig(name: "eth1", mac: peerMAC, addresses: [try IPv4CIDR(parsing: "198.18.1.1/24")])]
        let any = try IPv4CIDR(parsing: "0.0.0.0/0")
        let fib = try FIB(devices: devs, routes: [
            RouteConfig(dst: any, via: IPv4Address(198, 18, 0, 9), dev: "eth0"),
            RouteConfig(dst: any, dev: "lo", table: 100, type: .local),
            RouteConfig(dst: try IPv4CIDR(parsing: "10.0.0.0/8"), via: IPv4Address(198, 18, 1, 2), dev: "eth1", table: 200),
            RouteConfig(dst: any, via: IPv4Address(198, 18, 1, 3), dev: "eth1", table: FIB.defaultTable),
        ], rules: [
            RuleConfig(priority: 100, fwmark: 0x10, fwmask: 0xf0, table: 100),
            RuleConfig(priority: 200, from: try IPv4CIDR(parsing: "192.0.2.0/24"), table: 200),
            RuleConfig(priority: 300, iif: "eth1", table: 200),
        ])
        XCTAssertEqual(fib.rules.map(\.priority), [0, 100, 200, 300, 32766, 32767])
        let dst = IPv4Address(10, 1, 1, 1)
        XCTAssertEqual(fib.lookup(dst, mark: 0x1f)?.type, .local)          // (0x1f ^ 0x10) & 0xf0 == 0
        XCTAssertEqual(fib.lookup(dst, mark: 0x20)?.gateway, IPv4Address(198, 18, 0, 9))
        XCTAssertEqual(fib.lookup(dst, src: IPv4Address(192, 0, 2, 5))?.gateway, IPv4Address(198, 18, 1, 2))
        XCTAssertEqual(fib.lookup(dst, iif: 1)?.gateway, IPv4Address(198, 18, 1, 2))
        XCTAssertEqual(fib.lookup(dst, iif: 0)?.gateway, IPv4Address(198, 18, 0, 9))

        // Table 200 has no route to 8.8.8.8: on to main.
        XCTAssertEqual(fib.lookup(IPv4Address(8, 8, 8, 8), iif: 1)?.gateway, IPv4Address(198, 18, 0, 9))
        // Our own addresses stay local whatever the mark: rule 0 comes first.
        XCTAssertEqual(fib.lookup(IPv4Address(198, 18, 1, 1), mark: 0x10)?.dev, 1)
        // `iif lo`: what the stack sends (the default iif), and what came in on lo, its device (fib.lo).
        let fromLo = try FIB(devices: devs, routes: [RouteConfig(dst: any, via: IPv4Address(198, 18, 0, 9), dev: "eth0"),
                                                    RouteConfig(dst: any, via: IPv4Address(198, 18, 1, 2), dev: "eth1", table: 200)],
                             rules: [RuleConfig(priority: 400, iif: "lo", table: 200)])
        XCTAssertEqual([fromLo.lookup(dst)?.gateway, fromLo.lookup(dst, iif: fromLo.lo)?.gateway, fromLo.lookup(dst, iif: 0)?.gateway],
                       [IPv4Address(198, 18, 1, 2), IPv4Address(198, 18, 1, 2), IPv4Address(198, 18, 0, 9)])
        // Without the user's rules, main then default answer (fib_lookup without custom rules); table 100 never.
        let plain = try FIB(devices: devs, routes: [RouteConfig(dst: any, via: IPv4Address(198, 18, 1, 3), dev: "eth1", table: FIB.defaultTable),
                                                   RouteConfig(dst: any, via: IPv4Address(198, 18, 1, 4), dev: "eth1", table: 100)])
        XCTAssertEqual(plain.lookup(IPv4Address(8, 8, 8, 8))?.gateway, IPv4Address(198, 18, 1, 3))
        XCTAssertThrowsError(try FIB(devices: devs, routes: [RouteConfig(dst: any, dev: "lo", table: 100)])) {
            XCTAssertEqual(($0 as? ConfigError)?.message, "not supported yet: routes through lo other than local ones")
        }
        XCTAssertThrowsError(try FIB(devices: devs, routes: [], rules: [RuleConfig(priority: 1, iif: "eth7", table: 100)])) {
            XCTAssertEqual(($0 as? ConfigError)?.path, "/rules/0/iif")
        }
    }

    func testSysctlsAreValidated() throws {
        XCTAssertThrowsError(try Stack(config: StackConfig(name: "r", sysctls: ["net.ipv4.ip_forward": 2]))) {
            XCTAssertEqual(($0 as? ConfigError)?.path, "/sysctls/net.ipv4.ip_forward")
        }
        XCTAssertThrowsError(try Stack(config: StackConfig(name: "r", sysctls: ["net.ipv4.nope": 1])))
        XCTAssertNoThrow(try Stack(config: StackConfig(name: "r", sysctls: ["net.ipv4.ip_forward": 1])))
    }
}
