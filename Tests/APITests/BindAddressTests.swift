import API
import XCTest

/// bind() takes the stack's own addresses, broadcast, multicast, loopback and INADDR_ANY; any
/// other address is EADDRNOTAVAIL unless the socket is IP_TRANSPARENT or
/// net.ipv4.ip_nonlocal_bind is 1. Recorded on the kernel with scripts/record_bind_nonlocal.sh.
final class BindAddressTests: AppTestCase {
    static let stack = #"{"name":"b","devices":[{"name":"eth0","mac":"02:00:00:00:00:01","addresses":["198.18.0.1/24"]}]}"#

    func testBindTakesTheAddressesTheKernelTakes() {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        // address: UDP, TCP, UDP with IP_TRANSPARENT (the kernel's answers, as recorded).
        let recorded: [(String, [String])] = [
            ("198.18.0.1", ["ok", "ok", "ok"]), ("198.18.0.9", ["EADDRNOTAVAIL", "EADDRNOTAVAIL", "ok"]),
            ("198.18.0.0", ["EADDRNOTAVAIL", "EADDRNOTAVAIL", "ok"]), ("198.18.0.255", ["ok", "ok", "ok"]),
            ("127.0.0.1", ["ok", "ok", "ok"]), ("127.1.2.3", ["ok", "ok", "ok"]), ("0.0.0.0", ["ok", "ok", "ok"]),
            ("255.255.255.255", ["ok", "ok", "ok"]), ("224.0.0.1", ["ok", "ok", "ok"]), ("10.1.1.1", ["EADDRNOTAVAIL", "EADDRNOTAVAIL", "ok"]),
        ]
        var port = 5000
        for (address, answers) in recorded {
            var got: [String] = []
            for (proto, transparent) in [("udp", false), ("tcp", false), ("udp", true)] {
                port += 1
                let r = call("POST", "/v1/stacks/b/sockets", #"{"protocol":"\#(proto)","address":"\#(address)","port":\#(port),"transparent":\#(transparent)}"#)
                got.append(r.status == 201 ? "ok" : r.raw.contains("(EADDRNOTAVAIL)") && r.status == 422 ? "EADDRNOTAVAIL" : "\(r.status) \(r.raw)")
            }
            XCTAssertEqual(got, answers, address)
        }
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
