import API
import XCTest

/// bind() takes the stack's own addresses, broadcast, multicast, loopback and INADDR_ANY; any
/// other address is EADDRNOTAVAIL unless the socket is IP_TRANSPARENT or IP_FREEBIND or
/// net.ipv4.ip_nonlocal_bind is 1. Recorded on the kernel with scripts/record_bind_nonlocal.sh,
/// and for AF_INET6 with scripts/record_bind6_nonlocal.sh.
final class BindAddressTests: AppTestCase {
    static let stack = #"{"name":"b","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}]}"#

    func testBindTakesTheAddressesTheKernelTakes() {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        // address: UDP, TCP, UDP with IP_TRANSPARENT, UDP with IP_FREEBIND (the kernel's answers, as recorded).
        let recorded: [(String, [String])] = [
            ("198.18.0.1", ["ok", "ok", "ok", "ok"]), ("198.18.0.9", ["EADDRNOTAVAIL", "EADDRNOTAVAIL", "ok", "ok"]),
            ("198.18.0.0", ["EADDRNOTAVAIL", "EADDRNOTAVAIL", "ok", "ok"]), ("198.18.0.255", ["ok", "ok", "ok", "ok"]),
            ("127.0.0.1", ["ok", "ok", "ok", "ok"]), ("127.1.2.3", ["ok", "ok", "ok", "ok"]), ("0.0.0.0", ["ok", "ok", "ok", "ok"]),
            ("255.255.255.255", ["ok", "ok", "ok", "ok"]), ("224.0.0.1", ["ok", "ok", "ok", "ok"]),
            ("10.1.1.1", ["EADDRNOTAVAIL", "EADDRNOTAVAIL", "ok", "ok"]),
        ]
        var port = 5000
        for (address, answers) in recorded {
            var got: [String] = []
            for (proto, option) in [("udp", ""), ("tcp", ""), ("udp", #","transparent":true"#), ("udp", #","freebind":true"#)] {
                port += 1
                let r = call("POST", "/v1/stacks/b/sockets", #"{"protocol":"\#(proto)","address":"\#(address)","port":\#(port)\#(option)}"#)
                got.append(r.status == 201 ? "ok" : r.raw.contains("(EADDRNOTAVAIL)") && r.status == 422 ? "EADDRNOTAVAIL" : "\(r.status) \(r.raw)")
            }
            XCTAssertEqual(got, answers, address)
        }
    }

    func testAnInet6BindTakesTheAddressesTheKernelTakes() {
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"b6","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24","2001:db8::1/64"]}]}"#).status, 201)
        // address: UDP, TCP, UDP with IPV6_TRANSPARENT, UDP with IPV6_FREEBIND (the kernel's
        // answers, as recorded).
        let recorded: [(String, [String])] = [
            ("2001:db8::1", ["ok", "ok", "ok", "ok"]), ("2001:db8::9", ["EADDRNOTAVAIL", "EADDRNOTAVAIL", "ok", "ok"]),
            ("2001:db8::", ["EADDRNOTAVAIL", "EADDRNOTAVAIL", "ok", "ok"]), ("::1", ["ok", "ok", "ok", "ok"]), ("::", ["ok", "ok", "ok", "ok"]),
            ("ff02::1", ["EINVAL", "EINVAL", "EINVAL", "EINVAL"]), ("ff0e::1", ["ok", "EINVAL", "ok", "ok"]),
            ("fe80::1", ["EINVAL", "EINVAL", "EINVAL", "EINVAL"]), ("2001:db8:ffff::1", ["EADDRNOTAVAIL", "EADDRNOTAVAIL", "ok", "ok"]),
            ("::ffff:198.18.0.1", ["ok", "ok", "ok", "ok"]), ("::ffff:10.1.1.1", ["EADDRNOTAVAIL", "EADDRNOTAVAIL", "ok", "ok"]),
            ("::ffff:127.0.0.1", ["ok", "ok", "ok", "ok"]),
        ]
        var port = 5000
        func bind(_ address: String, _ proto: String, option: String = "", stack: String = "b6") -> String {
            port += 1
            let r = call("POST", "/v1/stacks/\(stack)/sockets", #"{"protocol":"\#(proto)","address":"\#(address)","port":\#(port)\#(option)}"#)
            if r.status == 201 { return "ok" }
            for e in ["EADDRNOTAVAIL", "EINVAL", "not supported yet"] where r.status == 422 && r.raw.contains(e.hasPrefix("E") ? "(\(e))" : e) && r.raw.contains(#""pointer":"/address""#) { return e }
            return "\(r.status) \(r.raw)"
        }
        for (address, answers) in recorded {
            XCTAssertEqual([bind(address, "udp"), bind(address, "tcp"), bind(address, "udp", option: #","transparent":true"#),
                            bind(address, "udp", option: #","freebind":true"#)], answers, address)
        }
        // net.ipv6.ip_nonlocal_bind lets a foreign IPv6 address in, not a v4-mapped one (the
        // AF_INET sysctl decides those) nor a link-local one without a scope id.
        let six = #"{"name":"n6","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24","2001:db8::1/64"]}],"sysctls":{"net.ipv6.ip_nonlocal_bind":1}}"#
        XCTAssertEqual(call("POST", "/v1/stacks", six).status, 201)
        XCTAssertEqual(["2001:db8:ffff::1", "::ffff:10.1.1.1", "fe80::1"].map { bind($0, "udp", stack: "n6") }, ["ok", "EADDRNOTAVAIL", "EINVAL"])
        let both = six.replacingOccurrences(of: #""n6""#, with: #""n46""#).replacingOccurrences(of: #"{"net.ipv6"#, with: #"{"net.ipv4.ip_nonlocal_bind":1,"net.ipv6"#)
        XCTAssertEqual(call("POST", "/v1/stacks", both).status, 201)
        XCTAssertEqual(bind("::ffff:10.1.1.1", "udp", stack: "n46"), "ok")
        // A v4-mapped address on an IPV6_V6ONLY socket makes no sense to the kernel either.
        let v6only = call("POST", "/v1/stacks/b6/sockets", #"{"protocol":"udp","address":"::ffff:198.18.0.1","port":7000,"v6only":true}"#)
        XCTAssertEqual(v6only.status, 422, v6only.raw)
        XCTAssertTrue(v6only.raw.contains("(EINVAL): v4-mapped address ::ffff:198.18.0.1 on an IPV6_V6ONLY socket"), v6only.raw)
    }

    func testNonlocalBindSysctlAndTheStackDocument() {
        // A document binding a foreign address is refused at its socket; with ip_nonlocal_bind it is taken.
        let socket = #""sockets":[{"protocol":"tcp","address":"10.1.1.1","port":80,"listen":true}]"#
        let refused = call("POST", "/v1/stacks", #"{"name":"n","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}],"# + socket + "}")
        XCTAssertEqual(refused.status, 422, refused.raw)
        XCTAssertTrue(refused.raw.contains(#""pointer":"/sockets/0""#) && refused.raw.contains("cannot assign requested address 10.1.1.1 (EADDRNOTAVAIL)"), refused.raw)
        let taken = call("POST", "/v1/stacks", #"{"name":"n","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}],"sysctls":{"net.ipv4.ip_nonlocal_bind":1},"# + socket + "}")
        XCTAssertEqual(taken.status, 201, taken.raw)
        XCTAssertEqual(call("POST", "/v1/stacks/n/sockets", #"{"protocol":"udp","address":"10.1.1.1","port":53}"#).status, 201)
    }
}
