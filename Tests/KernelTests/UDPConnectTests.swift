@testable import Kernel
import Wire
import XCTest

/// A connected UDP socket (ip4_datagram_connect), as scripts/record_udp_connect.sh recorded it on
/// Linux 6.18 with the roles' addresses as here (we are 198.18.0.1, the peer 198.18.0.9).
final class UDPConnectTests: XCTestCase {
    func udp(from sport: UInt16, _ text: String) -> [UInt8] { frame(.udp(UDPRepr(srcPort: sport, dstPort: 5000, payload: Array(text.utf8)))) }

    /// connect binds the socket to the route's source address; only the peer's datagrams reach it
    /// (another port of the peer gets a port unreachable); each send that goes draws the peer's
    /// port unreachable, a hard error the connected socket takes without IP_RECVERR, so the next
    /// call fails with ECONNREFUSED without sending: ok, ECONNREFUSED, ok, then a sendto elsewhere
    /// ECONNREFUSED, ok. An error quoting another destination than the peer finds no socket.
    func testConnectedSocketTakesItsPeerOnlyAndHardErrors() throws {
        let s = try makeStack()
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, port: 5000)))
        XCTAssertEqual(s.ip4_datagram_connect(socket: 1, to: peerIP, port: 6000), nil)
        XCTAssertEqual(s.socket(1).map { "\($0.config.address):\($0.config.port) -> \($0.config.peer!):\($0.config.peerPort)" }, "198.18.0.1:5000 -> 198.18.0.9:6000")
        XCTAssertEqual(s.inject(frame: udp(from: 6000, "from6000"), device: s.devices[0]).outcome, .delivered)
        let other = s.inject(frame: udp(from: 6001, "from6001"), device: s.devices[0])
        XCTAssertEqual([other.dropReason.map { "\($0)" } ?? "-", "\(other.emitted.count)"], ["NO_SOCKET", "1"])
        XCTAssertEqual(s.socket(1)?.queue.map { String(decoding: $0.payload, as: UTF8.self) }, ["from6000"])
        var answers: [String] = []
        func send(_ port: UInt16) {
            let r = s.send([Send(socket: 1, dst: peerIP, port: port, payload: Array("ping".utf8))])[0]
            answers.append(r.errno ?? "ok")
            // The peer has no socket there: its port unreachable quotes what came.
            if let sent = r.emitted.first?.frame {
                _ = s.inject(frame: frame(.icmp(ICMPv4Repr(type: 3, code: 3, restOfHeader: 0, data: Array(sent[14..<(14 + 28)])))), device: s.devices[0])
            }
        }
        for port in [6000, 6000, 6000, 7000, 7000] as [UInt16] { send(port) }
        XCTAssertEqual(answers, ["ok", "ECONNREFUSED", "ok", "ECONNREFUSED", "ok"])
        XCTAssertEqual([s.snmp.udp.InDatagrams, s.snmp.udp.NoPorts, s.snmp.udp.OutDatagrams, s.snmp.icmp.InDestUnreachs], [1, 1, 3, 3])
        XCTAssertNil(s.socket(1)?.pendingError, "the error for port 7000 found no socket (not the peer)")
        // connect without a route: ENETUNREACH.
        let lone = try makeStack()
        try lone.setRoutes([])
        XCTAssertNil(lone.bind(SocketConfig(id: 1, proto: .udp, port: 5000)))
        XCTAssertEqual(lone.ip4_datagram_connect(socket: 1, to: IPv4Address(8, 8, 8, 8), port: 53), "ENETUNREACH")
    }

    /// connect to non-unicast addresses, as scripts/record_udp_connect_broadcast.sh recorded them
    /// (no default route): the subnet's broadcast needs SO_BROADCAST (EACCES), 255.255.255.255 and a
    /// group have no route, the network's own address is unicast. A socket connected with
    /// SO_BROADCAST that clears it still sends to its peer (the route cached at connect), but a
    /// sendto naming the address is refused.
    func testConnectToBroadcastNeedsSOBroadcast() throws {
        let s = try makeStack()
        try s.setRoutes([])
        var answers: [String] = [], id = 1
        for dst in [IPv4Address(198, 18, 0, 255), .broadcast, IPv4Address(239, 1, 1, 1), IPv4Address(198, 18, 0, 0)] {
            for bc in [false, true] {
                var c = SocketConfig(id: id, proto: .udp, port: UInt16(5000 + id))
                c.broadcast = bc
                XCTAssertNil(s.bind(c))
                var answer = s.ip4_datagram_connect(socket: id, to: dst, port: 6000) ?? "ok"
                if answer == "ok" {
                    var send = Send(socket: id, dst: dst, port: 6000, payload: [0x78])
                    send.toPeer = true
                    answer += " \(s.socket(id)!.config.address) send \(s.send([send])[0].errno ?? "ok")"
                }
                answers.append("\(dst) \(bc ? "SO_BROADCAST" : "plain") \(answer)")
                id += 1
            }
        }
        XCTAssertEqual(answers, [
            "198.18.0.255 plain EACCES", "198.18.0.255 SO_BROADCAST ok 198.18.0.1 send ok",
            "255.255.255.255 plain ENETUNREACH", "255.255.255.255 SO_BROADCAST ENETUNREACH",
            "239.1.1.1 plain ENETUNREACH", "239.1.1.1 SO_BROADCAST ENETUNREACH",
            "198.18.0.0 plain ok 198.18.0.1 send ok", "198.18.0.0 SO_BROADCAST ok 198.18.0.1 send ok",
        ])
        var c = SocketConfig(id: 20, proto: .udp, port: 6001)
        c.broadcast = true
        XCTAssertNil(s.bind(c))
        XCTAssertNil(s.ip4_datagram_connect(socket: 20, to: IPv4Address(198, 18, 0, 255), port: 6001))
        s.socket(20)!.config.broadcast = false
        var toPeer = Send(socket: 20, dst: IPv4Address(198, 18, 0, 255), port: 6001, payload: [0x79])
        toPeer.toPeer = true
        let sent = s.send([toPeer])[0]
        XCTAssertEqual(sent.errno, nil)
        XCTAssertEqual(sent.emitted.first.map { Array($0.frame[0..<6]) }, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        XCTAssertEqual(s.send([Send(socket: 20, dst: IPv4Address(198, 18, 0, 255), port: 6001, payload: [0x79])])[0].errno, "EACCES")
    }
}
