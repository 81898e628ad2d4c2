@testable import Kernel
import NFTables
import Wire
import XCTest

/// AF_INET6 UDP sockets connecting (ip6_datagram_connect) and meeting ICMPv6 errors
/// (icmpv6_notify, __udp6_lib_err, packet too big), as scripts/record_udp6_connect.sh recorded
/// them on Linux 6.18 with the roles' addresses as here (we are 2001:db8::1, the peer ::9, ::10, ::11).
final class UDP6ConnectTests: XCTestCase {
    let peer = try! IPv6Address(parsing: "2001:db8::9")

    func stack() throws -> Stack {
        var c = StackConfig(name: "c6", devices: [DeviceConfig(name: "eth0", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])])
        c.devices[0].addresses6 = [try IPv6CIDR(parsing: "2001:db8::1/64")]
        c.neighbours6 = try ["2001:db8::9", "2001:db8::10", "2001:db8::11"].map { Neighbour6Config(address: try IPv6Address(parsing: $0), mac: peerMAC, dev: "eth0") }
        c.neighbours = [NeighbourConfig(address: peerIP, mac: peerMAC, dev: "eth0")]
        return try Stack(config: c)
    }

    func frame6(from src: IPv6Address, _ l4: TransportRepr) -> [UInt8] {
        let next: UInt8 = if case .udp = l4 { IPProtocol.udp } else { IPProtocol.icmpv6 }
        return FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.ipv6),
                         network: .ipv6(IPv6Repr(src: src, dst: try! IPv6Address(parsing: "2001:db8::1"), nextHeader: next, hopLimit: 64), [], l4)).emit()
    }

    /// An ICMPv6 error from `from` quoting the first 48 bytes of an IPv6 packet we sent.
    func icmp6Error(type: UInt8, code: UInt8 = 0, info: UInt32 = 0, quoting sent: [UInt8], from: IPv6Address? = nil) -> [UInt8] {
        let to = from ?? IPv6Address(array: sent, at: 14 + 24)
        return frame6(from: to, .icmpv6(ICMPv6Repr(type: type, code: code, restOfHeader: info, data: Array(sent[14..<(14 + 48)]))))
    }

    func testConnectAnswersAsTheKernel() throws {
        let s = try stack()
        var id = 0
        func connect(_ bound: String, _ to: String, v6only: Bool = false) -> String {
            id += 1
            XCTAssertNil(s.bind(SocketConfig(id: id, proto: .udp, address6: try! IPv6Address(parsing: bound), v6only: v6only, port: 4000)))
            defer { _ = s.closeSocket(id) }
            return s.ip6_datagram_connect(socket: id, to6: try! IPv6Address(parsing: to), port: 6000) ?? s.socket(id)!.config.address6!.description
        }
        XCTAssertEqual(connect("::", "2001:db8::9"), "2001:db8::1")
        XCTAssertEqual(connect("2001:db8::1", "::ffff:198.18.0.9"), "ENETUNREACH")
        XCTAssertEqual(connect("::ffff:198.18.0.1", "2001:db8::9"), "EAFNOSUPPORT")
        XCTAssertEqual(connect("::", "::ffff:198.18.0.9"), "::ffff:198.18.0.1")
        XCTAssertEqual(connect("::", "fe80::9"), "EINVAL")
        XCTAssertEqual(connect("::", "ff02::1"), "EINVAL")
        XCTAssertEqual(connect("::", "2001:db9::1"), "ENETUNREACH")
        XCTAssertEqual(connect("::1", "2001:db8::9"), "::1")
        XCTAssertEqual(connect("::", "::ffff:198.18.0.9", v6only: true), "ENETUNREACH")
        XCTAssertEqual(connect("::", "ff0e::1"), "2001:db8::1")
        // `::` is "self": ::1, through lo.
        XCTAssertEqual(connect("::", "::"), "::1")
        XCTAssertEqual(connect("::", "::1"), "::1")
        // An AF_INET socket given an IPv6 peer.
        XCTAssertNil(s.bind(SocketConfig(id: 99, proto: .udp, port: 4001)))
        XCTAssertEqual(s.ip6_datagram_connect(socket: 99, to6: peer, port: 6000), "EAFNOSUPPORT")
    }

    /// The connected socket takes its peer's datagrams only; each send that goes draws the peer's
    /// port unreachable, a hard error the connected socket takes without IPV6_RECVERR: ok,
    /// ECONNREFUSED, ok, then a sendto elsewhere ECONNREFUSED, ok; the error quoting port 7000
    /// finds no socket (Icmp6InErrors).
    func testConnectedSocketTakesItsPeerOnlyAndHardErrors() throws {
        let s = try stack()
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, address6: .any, port: 5000)))
        XCTAssertNil(s.ip6_datagram_connect(socket: 1, to6: peer, port: 6000))
        XCTAssertEqual(s.socket(1).map { "[\($0.config.address6!)]:\($0.config.port) -> [\($0.config.peer6!)]:\($0.config.peerPort)" }, "[2001:db8::1]:5000 -> [2001:db8::9]:6000")
        func udp(_ sport: UInt16) -> [UInt8] { frame6(from: peer, .udp(UDPRepr(srcPort: sport, dstPort: 5000, payload: Array("from\(sport)".utf8)))) }
        XCTAssertEqual(s.inject(frame: udp(6000), device: s.devices[0]).outcome, .delivered)
        let other = s.inject(frame: udp(6001), device: s.devices[0])
        XCTAssertEqual([other.dropReason.map { "\($0)" } ?? "-", "\(other.emitted.count)"], ["NO_SOCKET", "1"])
        XCTAssertEqual(s.socket(1)?.queue.map { String(decoding: $0.payload, as: UTF8.self) }, ["from6000"])
        var answers: [String] = []
        var last: PacketResult?
        for port in [6000, 6000, 6000, 7000, 7000] as [UInt16] {
            let r = s.send([Send(socket: 1, dst6: peer, port: port, payload: Array("ping".utf8))])[0]
            answers.append(r.errno ?? "ok")
            if let sent = r.emitted.first?.frame { last = s.inject(frame: icmp6Error(type: ICMPv6Repr.destUnreachable, code: 4, quoting: sent), device: s.devices[0]) }
        }
        XCTAssertEqual(answers, ["ok", "ECONNREFUSED", "ok", "ECONNREFUSED", "ok"])
        XCTAssertEqual(last?.stageNames.suffix(5), ["icmpv6_rcv", "__skb_checksum_complete", "icmpv6_notify", "udpv6_err", "consume_skb"])
        XCTAssertEqual([s.snmp.udp6.InDatagrams, s.snmp.udp6.NoPorts, s.snmp.udp6.OutDatagrams, s.snmp.icmp6.InErrors], [1, 1, 3, 1])
        XCTAssertNil(s.socket(1)?.pendingError, "the error for port 7000 found no socket (not the peer)")
    }

    /// Unconnected sockets: a port unreachable is no error without IPV6_RECVERR, and IP_RECVERR
    /// does not stand in for it; over IPv4 (v4-mapped) it is IP_RECVERR that counts.
    func testRecverrByFamily() throws {
        let s = try stack()
        func three(_ port: UInt16, to: String, _ set: (inout SocketConfig) -> Void) throws -> [String] {
            var c = SocketConfig(id: Int(port), proto: .udp, address6: .any, port: port)
            set(&c)
            XCTAssertNil(s.bind(c))
            return try (0..<3).map { _ in
                let r = s.send([Send(socket: Int(port), dst6: try IPv6Address(parsing: to), port: 7100 + port, payload: Array("x".utf8))])[0]
                if let sent = r.emitted.first?.frame {
                    let err = sent.be16(12) == EtherType.ipv6 ? icmp6Error(type: ICMPv6Repr.destUnreachable, code: 4, quoting: sent)
                        : frame(.icmp(ICMPv4Repr(type: 3, code: 3, restOfHeader: 0, data: Array(sent[14..<(14 + 28)]))))
                    _ = s.inject(frame: err, device: s.devices[0])
                }
                return r.errno ?? "ok"
            }
        }
        XCTAssertEqual(try three(5002, to: "2001:db8::9") { _ in }, ["ok", "ok", "ok"])
        XCTAssertEqual(try three(5003, to: "2001:db8::9") { $0.recverr6 = true }, ["ok", "ECONNREFUSED", "ok"])
        XCTAssertEqual(try three(5004, to: "2001:db8::9") { $0.recverr = true }, ["ok", "ok", "ok"])
        XCTAssertEqual(try three(5005, to: "::ffff:198.18.0.9") { $0.recverr = true }, ["ok", "ECONNREFUSED", "ok"])
        XCTAssertEqual(try three(5006, to: "::ffff:198.18.0.9") { $0.recverr6 = true }, ["ok", "ok", "ok"])
        XCTAssertEqual([s.snmp.icmp6.InErrors, s.snmp.icmp6.InType[1]], [0, 8])
    }

    /// Packet too big: the path MTU is learnt for the quoted destination (600 s) whatever the
    /// socket, a connected socket's next call fails with EMSGSIZE, and what follows is fragmented
    /// at the new MTU; below 1280 it is ignored; quoting a port with no socket: Icmp6InErrors.
    func testPacketTooBigTeachesThePathMTU() throws {
        let s = try stack()
        let ten = try IPv6Address(parsing: "2001:db8::10"), eleven = try IPv6Address(parsing: "2001:db8::11")
        let big = [UInt8](repeating: 0x79, count: 1400)
        XCTAssertNil(s.bind(SocketConfig(id: 7, proto: .udp, address6: .any, port: 5007)))
        XCTAssertNil(s.ip6_datagram_connect(socket: 7, to6: peer, port: 6007))
        let first = s.send([Send(socket: 7, dst6: peer, port: 6007, payload: big)])[0]
        XCTAssertEqual(first.emitted.map(\.frame.count), [14 + 40 + 8 + 1400])
        let t0 = s.clockNs
        let ptb = s.inject(frame: icmp6Error(type: ICMPv6Repr.packetTooBig, info: 1280, quoting: first.emitted[0].frame), device: s.devices[0])
        XCTAssertEqual(ptb.note, "path MTU 1280 to 2001:db8::9 learnt for 600 s; EMSGSIZE for the socket on port 5007: its sk_err (connected)")
        let f = s.send([Send(socket: 7, dst6: peer, port: 6007, payload: big), Send(socket: 7, dst6: peer, port: 6007, payload: big)])
        XCTAssertEqual(f.map { $0.errno ?? "ok" }, ["EMSGSIZE", "ok"])
        XCTAssertEqual(f[1].emitted.map(\.frame.count), [14 + 40 + 8 + 1232, 14 + 40 + 8 + 176])
        XCTAssertNil(s.bind(SocketConfig(id: 8, proto: .udp, address6: .any, port: 5008)))
        let g0 = s.send([Send(socket: 8, dst6: ten, port: 6008, payload: big)])[0]
        _ = s.inject(frame: icmp6Error(type: ICMPv6Repr.packetTooBig, info: 1300, quoting: g0.emitted[0].frame, from: peer), device: s.devices[0])
        let g = s.send([Send(socket: 8, dst6: ten, port: 6008, payload: big)])[0]
        XCTAssertEqual([g.errno ?? "ok"] + g.emitted.map { "\($0.frame.count)" }, ["ok", "\(14 + 40 + 8 + 1248)", "\(14 + 40 + 8 + 160)"])
        // H: 1000 for ::11 (below 1280); I: quoting port 5999, which has no socket.
        var quoted = g0.emitted[0].frame
        quoted.replaceSubrange((14 + 24)..<(14 + 40), with: eleven.bytes)
        let h = s.inject(frame: icmp6Error(type: ICMPv6Repr.packetTooBig, info: 1000, quoting: quoted, from: peer), device: s.devices[0])
        XCTAssertEqual(h.note, "MTU 1000 is below the IPv6 minimum 1280: ignored; EMSGSIZE for the socket on port 5008: without IPV6_RECVERR it does not see it (it is not connected)")
        quoted.replaceSubrange(54..<56, with: [0x17, 0x6f])
        _ = s.inject(frame: icmp6Error(type: ICMPv6Repr.packetTooBig, info: 1280, quoting: quoted, from: peer), device: s.devices[0])
        XCTAssertEqual(s.rt6Exceptions.mapValues { [$0.mtu, Int($0.expires - t0) / 1_000_000_000] }, [peer: [1280, 600], ten: [1300, 600]])
        XCTAssertEqual([s.snmp.icmp6.InErrors, s.snmp.icmp6.InType[2], s.snmp.ip6.FragCreates, s.snmp.ip6.FragOKs], [1, 4, 4, 2])
        // A checkpoint keeps them; at their expiry the device's MTU is back.
        let restored = try stack()
        XCTAssertNil(restored.bind(SocketConfig(id: 8, proto: .udp, address6: .any, port: 5008)))
        restored.restoreRuntime(s.runtimeState())
        XCTAssertEqual(restored.rt6Exceptions, s.rt6Exceptions)
        func sizes(_ on: Stack, at t: UInt64? = nil) -> [Int] {
            on.send([Send(socket: 8, dst6: ten, port: 6008, payload: big, atNs: t)])[0].emitted.map { $0.frame.count - 14 }
        }
        XCTAssertEqual(sizes(restored), [40 + 8 + 1248, 40 + 8 + 160])
        let expires = try XCTUnwrap(s.rt6Exceptions[ten]).expires
        XCTAssertEqual(sizes(s, at: expires - 1_000_000), [40 + 8 + 1248, 40 + 8 + 160])
        XCTAssertEqual(sizes(s, at: expires), [40 + 8 + 1400])
    }

    /// sendto without a scope id (J): a multicast group leaves by the first device with hop limit
    /// 1 to its 33:33 MAC, from the address source selection picks for its scope; interface-local
    /// multicast never leaves; a link-local peer is resolved on the device like any neighbour.
    func testSendsWithoutAScopeID() throws {
        let s = try stack()
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, address6: .any, port: 4000)))
        func sent(_ to: String) throws -> String {
            let r = s.send([Send(socket: 1, dst6: try IPv6Address(parsing: to), port: 9, payload: Array("x".utf8))])[0]
            guard let f = r.emitted.first?.frame else { return "\(r.errno ?? "ok") \(r.outcome) \(r.dropReason.map { "\($0)" } ?? "-")" }
            return "\(r.errno ?? "ok") dst mac \(MACAddress(array: f, at: 0)) hlim \(f[21]) src \(IPv6Address(array: f, at: 22))"
        }
        let ll = FIB6.linkLocal(ourMAC)
        XCTAssertEqual(try sent("ff0e::1"), "ok dst mac 33:33:00:00:00:01 hlim 1 src 2001:db8::1")
        XCTAssertEqual(try sent("ff02::1"), "ok dst mac 33:33:00:00:00:01 hlim 1 src \(ll)")
        XCTAssertEqual(try sent("ff01::1"), "ok dropped NOT_SPECIFIED")
        // fe80::9 is no neighbour yet: a solicitation goes, the datagram waits.
        let r = s.send([Send(socket: 1, dst6: try IPv6Address(parsing: "fe80::9"), port: 9, payload: [])])[0]
        XCTAssertEqual([r.outcome.rawValue, r.note ?? ""], ["queued", "waiting for the MAC of fe80::9 (neighbour solicitation sent)"])
    }

    /// Hop limits by socket option, as scripts/record_hop_options.sh recorded them: IP_TTL 5 (and a
    /// group, with IP_MULTICAST_TTL at its default, 1; the subnet broadcast IP_TTL's), IPV6_UNICAST_HOPS 7 and IPV6_MULTICAST_HOPS
    /// 3, a dual-stack socket's IPv4 taking IP_TTL (9) and its IPv6 the hops (7), a TCP SYN IP_TTL 11.
    func testHopOptions() throws {
        let s = try stack()
        try s.setRoutes([RouteConfig(dst: try IPv4CIDR(parsing: "224.0.0.0/4"), via: nil, dev: "eth0")])
        func sock(_ id: Int, six: Bool, _ set: (inout SocketConfig) -> Void) {
            var c = six ? SocketConfig(id: id, proto: .udp, address6: .any, port: UInt16(4000 + id)) : SocketConfig(id: id, proto: .udp, port: UInt16(4000 + id))
            set(&c)
            XCTAssertNil(s.bind(c))
        }
        func hop(_ id: Int, _ to: String) throws -> String {
            let dst6 = to.contains(":") ? try IPv6Address(parsing: to) : nil
            let send = try dst6.map { Send(socket: id, dst6: $0, port: 9, payload: [1]) } ?? Send(socket: id, dst: IPv4Address(parsing: to), port: 9, payload: [1])
            let f = try XCTUnwrap(s.send([send])[0].emitted.first, to).frame
            return f.be16(12) == EtherType.ipv4 ? "ttl \(f[22]) \(MACAddress(array: f, at: 0))" : "hlim \(f[21])"
        }
        sock(1, six: false) { $0.ttl = 5; $0.broadcast = true }
        sock(2, six: true) { $0.unicastHops = 7; $0.multicastHops = 3 }
        sock(3, six: true) { $0.ttl = 9; $0.unicastHops = 7 }
        // A group and the subnet's broadcast need no ARP: 01:00:5e and the low 23 bits, ff:ff:ff:ff:ff:ff.
        XCTAssertEqual(try [hop(1, "198.18.0.9"), hop(1, "239.1.1.1"), hop(1, "198.18.0.255"), hop(2, "2001:db8::9"), hop(2, "ff0e::1"), hop(3, "::ffff:198.18.0.9"), hop(3, "2001:db8::9")],
                       ["ttl 5 \(peerMAC)", "ttl 1 01:00:5e:01:01:01", "ttl 5 ff:ff:ff:ff:ff:ff", "hlim 7", "hlim 3", "ttl 9 \(peerMAC)", "hlim 7"])
        var t = SocketConfig(id: 4, proto: .tcp, port: 40000)
        t.listen = false; t.ttl = 11
        XCTAssertNil(s.bind(t))
        XCTAssertEqual(s.tcpCalls([.connect(socket: 4, to: peerIP, port: 5555)])[0].emitted.first?.frame[22], 11)
        // Without SO_BROADCAST the subnet's broadcast address is refused; 255.255.255.255 needs a
        // route (the default one), and leaves by its device.
        XCTAssertEqual(s.send([Send(socket: 3, dst6: try IPv6Address(parsing: "::ffff:198.18.0.255"), port: 9, payload: [1])])[0].errno, "EACCES")
        XCTAssertEqual(s.send([Send(socket: 1, dst: .broadcast, port: 9, payload: [1])])[0].errno, "ENETUNREACH")
        try s.setRoutes([RouteConfig(dst: try IPv4CIDR(parsing: "224.0.0.0/4"), via: nil, dev: "eth0"), RouteConfig(dst: try IPv4CIDR(parsing: "0.0.0.0/0"), via: peerIP, dev: "eth0")])
        XCTAssertEqual(try hop(1, "255.255.255.255"), "ttl 5 ff:ff:ff:ff:ff:ff")
        XCTAssertEqual(s.send([Send(socket: 3, dst6: try IPv6Address(parsing: "::ffff:255.255.255.255"), port: 9, payload: [1])])[0].errno, "EACCES")
        // setsockopt -1 puts a hop option back to its default.
        XCTAssertEqual(s.setsockopt(socket: 1, hops: SocketHops(ttl: -1))?.ttl, nil)
        XCTAssertEqual(try hop(1, "198.18.0.9"), "ttl 64 \(peerMAC)")
    }

    /// IP_TOS and IPV6_TCLASS on AF_INET6 sockets, as scripts/record_tclass.sh recorded them: IP_TOS
    /// marks the IPv4 (v4-mapped) traffic only, IPV6_TCLASS the IPv6 traffic only; a TCP SYN over
    /// IPv6 carries IPV6_TCLASS and not IP_TOS.
    func testTrafficClassIsNotIPTOS() throws {
        let s = try stack()
        func sock(_ id: Int, tos: UInt8, tclass: UInt8) {
            var c = SocketConfig(id: id, proto: .udp, address6: .any, port: UInt16(4000 + id))
            c.tos = tos; c.tclass = tclass
            XCTAssertNil(s.bind(c))
        }
        func mark(_ id: Int, _ to: String) throws -> String {
            let r = s.send([Send(socket: id, dst6: try IPv6Address(parsing: to), port: 9, payload: [1])])[0]
            let f = try XCTUnwrap(r.emitted.first, to).frame
            return f.be16(12) == EtherType.ipv4 ? "tos 0x\(String(f[15], radix: 16))" : "tclass 0x\(String((f[14] & 0x0f) << 4 | f[15] >> 4, radix: 16))"
        }
        sock(1, tos: 0x28, tclass: 0)
        sock(2, tos: 0, tclass: 0x48)
        sock(3, tos: 0x28, tclass: 0x48)
        // The priority the packets carry (sk_priority, SO_PRIORITY's read-back): 2 from IP_TOS 0x28, for either family.
        s.loadRuleset(try NFParser.parse("table inet t {\n\tchain o {\n\t\ttype filter hook output priority 0;\n\t\tmeta priority 0:2 counter\n\t\tmeta priority 0:0 counter\n\t}\n}\n"))
        XCTAssertEqual(try [mark(1, "2001:db8::9"), mark(1, "::ffff:198.18.0.9"), mark(2, "2001:db8::9"), mark(2, "::ffff:198.18.0.9"),
                            mark(3, "2001:db8::9"), mark(3, "::ffff:198.18.0.9")],
                       ["tclass 0x0", "tos 0x28", "tclass 0x48", "tos 0x0", "tclass 0x48", "tos 0x28"])
        XCTAssertEqual(s.ruleCounters().map(\.packets), [4, 2])
        for (id, tos, tclass, want) in [(4, 0, 0x48, 0x48), (5, 0x28, 0, 0)] as [(Int, UInt8, UInt8, UInt8)] {
            var t = SocketConfig(id: id, proto: .tcp, address6: .any, port: UInt16(40000 + id))
            t.listen = false; t.tos = tos; t.tclass = tclass
            XCTAssertNil(s.bind(t))
            let syn = try XCTUnwrap(s.tcpCalls([.connect6(socket: id, to: try IPv6Address(parsing: "2001:db8::9"), port: 5555)])[0].emitted.first).frame
            XCTAssertEqual((syn[14] & 0x0f) << 4 | syn[15] >> 4, want, "SYN with tos \(tos) tclass \(tclass)")
        }
    }
}
