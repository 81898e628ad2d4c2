@testable import Kernel
import NFTables
import Wire
import XCTest

/// TCP over IPv6 beyond the recorded conversations (TCPAgreementTests.testOverIPv6): ICMPv6
/// errors for a connection (tcp_v6_err) and checkpoints of IPv6 connections.
final class TCP6Tests: XCTestCase {
    typealias Pair = TCPAgreementTests.Pair
    let srvAddr = TCPAgreementTests.six(2)

    /// A connected pair over IPv6: SRV listens on [::]:5000 (socket 1, its accepted child
    /// `child`), CLI's socket 1 connected from port 40000.
    func connected() throws -> (Pair, child: Int) {
        let p = try Pair(ipv6: true)
        XCTAssertNil(p.srv.bind(SocketConfig(id: 1, proto: .tcp, address6: .any, port: 5000)))
        var cfg = SocketConfig(id: 1, proto: .tcp, address6: .any, port: 40000)
        cfg.listen = false
        XCTAssertNil(p.cli.bind(cfg))
        p.ferry(p.cli.tcpCalls([.connect6(socket: 1, to: srvAddr, port: 5000)]), from: p.cli)
        return (p, try XCTUnwrap(p.srv.tcpAccept(listener: 1)))
    }

    /// An ICMPv6 error from SRV's address quoting the first 48 bytes of a frame CLI sent.
    func icmp6(_ type: UInt8, code: UInt8 = 0, info: UInt32 = 0, quoting sent: [UInt8]) -> [UInt8] {
        FrameRepr(ethernet: EthernetRepr(dst: MACAddress(2, 0, 0, 0, 0, 1), src: MACAddress(2, 0, 0, 0, 0, 2), ethertype: EtherType.ipv6),
                  network: .ipv6(IPv6Repr(src: srvAddr, dst: TCPAgreementTests.six(1), nextHeader: IPProtocol.icmpv6, hopLimit: 64), [],
                                 .icmpv6(ICMPv6Repr(type: type, code: code, restOfHeader: info, data: Array(sent[14..<(14 + 60)]))))).emit()
    }

    /// RFC 6069 over IPv6 (Cases/rto_revert.txt: the kernel's IPv6 times are its IPv4 ones): a no
    /// route (ICMPv6 1/0) quoting snd_una during the backoff undoes one doubling; an address
    /// unreachable (1/3) does not.
    func testNoRouteRevertsOneBackoff() throws {
        let (p, _) = try connected()
        let t0 = p.cli.clockNs
        let sent = p.cli.tcpCalls([.send(socket: 1, bytes: Array("hello".utf8))])[0].emitted.map(\.frame)
        func resent(until ms: UInt64) -> [UInt64] { p.cli.advance(toNs: t0 + ms * 1_000_000).map { ($0.timeNs - t0) / 1_000_000 } }
        XCTAssertEqual(resent(until: 700), [200, 600])
        _ = p.cli.inject(frame: icmp6(ICMPv6Repr.destUnreachable, code: 3, quoting: sent[0]), device: p.cli.devices[0], atNs: t0 + 650_000_000)
        _ = p.cli.inject(frame: icmp6(ICMPv6Repr.destUnreachable, code: 0, quoting: sent[0]), device: p.cli.devices[0], atNs: t0 + 700_000_000)
        XCTAssertEqual(resent(until: 2_000), [1_000, 1_800])
    }

    /// Packet too big for data in flight: the path MTU (1280) is learnt, the send MSS drops from
    /// 1428 to 1208 (1280 less 40, 20 and the 12 of timestamps) and the segments longer than it go
    /// again at once, cut to it (three segments); an error quoting a sequence already acknowledged is out of window.
    func testPacketTooBigLowersTheMSS() throws {
        let (p, _) = try connected()
        let c = try XCTUnwrap(p.cli.socket(1)?.tcp)
        XCTAssertEqual(c.mssCache, 1428)
        let sent = p.cli.tcpCalls([.send(socket: 1, bytes: [UInt8](repeating: 0x62, count: 3000))])
        XCTAssertEqual(sent[0].emitted.map { $0.frame.count - 14 - 40 - 32 }, [1428, 1428, 144])
        let ptb = p.cli.inject(frame: icmp6(ICMPv6Repr.packetTooBig, info: 1280, quoting: sent[0].emitted[0].frame), device: p.cli.devices[0])
        XCTAssertEqual(ptb.note, "path MTU 1280 to 2001:db8::2: send MSS 1208, 3 segment(s) sent again")
        XCTAssertEqual(Array(ptb.stages.map(\.stage.name).drop { $0 != "icmpv6_notify" }.prefix(3)), ["icmpv6_notify", "tcp_v6_err", "tcp_v6_mtu_reduced"])
        XCTAssertEqual(ptb.emitted.map { $0.frame.count - 14 - 40 - 32 }, [1208, 1208, 440])
        XCTAssertEqual(p.cli.rt6Exceptions[srvAddr]?.mtu, 1280)
        p.ferry([ptb], from: p.cli)
        let stale = p.cli.inject(frame: icmp6(ICMPv6Repr.destUnreachable, code: 1, quoting: sent[0].emitted[0].frame), device: p.cli.devices[0])
        XCTAssertEqual(stale.note?.hasSuffix("(OutOfWindowIcmps)"), true, stale.note ?? "")
        XCTAssertEqual(p.cli.snmp.tcpExt.OutOfWindowIcmps, 1)
    }

    /// A connect whose SYN draws administratively prohibited fails with EACCES (tcp_v6_err in
    /// SYN-SENT); an established connection takes an error as soft unless IPV6_RECVERR; an error
    /// for no connection is an Icmp6InErrors.
    func testErrorsByState() throws {
        let p = try Pair(ipv6: true)
        var cfg = SocketConfig(id: 1, proto: .tcp, address6: .any, port: 40000)
        cfg.listen = false
        XCTAssertNil(p.cli.bind(cfg))
        let syn = p.cli.tcpCalls([.connect6(socket: 1, to: srvAddr, port: 5000)])[0].emitted[0].frame
        let r = p.cli.inject(frame: icmp6(ICMPv6Repr.destUnreachable, code: 1, quoting: syn), device: p.cli.devices[0])
        XCTAssertEqual(r.note, "[2001:db8::1]:40000 > [2001:db8::2]:5000 fails with EACCES")
        XCTAssertEqual(p.cli.socket(1)?.tcp?.error, "EACCES")
        let none = p.cli.inject(frame: icmp6(ICMPv6Repr.destUnreachable, code: 1, quoting: syn), device: p.cli.devices[0])
        XCTAssertEqual(none.note, "ICMPv6 type 1: no TCP connection sent the quoted segment ([2001:db8::1]:40000 > [2001:db8::2]:5000)")
        XCTAssertEqual(p.cli.snmp.icmp6.InErrors, 1)

        let (q, _) = try connected()
        let data = q.cli.tcpCalls([.send(socket: 1, bytes: Array("hello".utf8))])[0].emitted[0].frame
        let soft = q.cli.inject(frame: icmp6(ICMPv6Repr.destUnreachable, code: 3, quoting: data), device: q.cli.devices[0])
        XCTAssertEqual(soft.note, "[2001:db8::1]:40000 > [2001:db8::2]:5000: soft error EHOSTUNREACH, reported if the connection times out")
        _ = q.cli.setsockopt(socket: 1, recverr6: true)
        let hard = q.cli.inject(frame: icmp6(ICMPv6Repr.destUnreachable, code: 3, quoting: data), device: q.cli.devices[0])
        XCTAssertEqual(hard.note, "[2001:db8::1]:40000 > [2001:db8::2]:5000: EHOSTUNREACH for the next call (IPV6_RECVERR)")
        XCTAssertEqual(q.cli.tcpCalls([.send(socket: 1, bytes: [1])])[0].errno, "EHOSTUNREACH")
    }

    /// A checkpoint keeps an IPv6 connection (its addresses in full) and its accepted socket.
    func testCheckpointKeepsIPv6Connections() throws {
        let (p, child) = try connected()
        let restored = try TCPAgreementTests.host("srv", 2, 1, ipv6: true)
        XCTAssertNil(restored.bind(SocketConfig(id: 1, proto: .tcp, address6: .any, port: 5000)))
        restored.restoreRuntime(p.srv.runtimeState())
        XCTAssertEqual(restored.ssTCP, p.srv.ssTCP)
        XCTAssertEqual(restored.ssTCP.map(\.local), ["*:5000", "[2001:db8::2]:5000"])
        XCTAssertEqual(restored.socket(child)?.config.address6, srvAddr)
    }

    /// `socket` keys over IPv6: the SYN finds the listener on `::` (wildcard 1), the ACK that
    /// ends the handshake its request sock (not a full socket: neither matches), data the
    /// connection (wildcard 0).
    func testSocketKeysOverIPv6() throws {
        let p = try Pair(ipv6: true)
        XCTAssertNil(p.srv.bind(SocketConfig(id: 1, proto: .tcp, address6: .any, port: 5000)))
        p.srv.loadRuleset(try NFParser.parse("""
        table inet f {
          chain p { type filter hook prerouting priority -150;
            tcp dport 5000 socket wildcard 1 counter
            tcp dport 5000 socket wildcard 0 counter
          }
        }
        """))
        var cfg = SocketConfig(id: 1, proto: .tcp, address6: .any, port: 40000)
        cfg.listen = false
        XCTAssertNil(p.cli.bind(cfg))
        p.ferry(p.cli.tcpCalls([.connect6(socket: 1, to: srvAddr, port: 5000)]), from: p.cli)
        p.ferry(p.cli.tcpCalls([.send(socket: 1, bytes: Array("hello".utf8))]), from: p.cli)
        XCTAssertEqual(p.srv.listRuleset(handles: false), """
        table inet f {
        \tchain p {
        \t\ttype filter hook prerouting priority mangle; policy accept;
        \t\ttcp dport 5000 socket wildcard 1 counter packets 1 bytes 80
        \t\ttcp dport 5000 socket wildcard 0 counter packets 1 bytes 77
        \t}
        }

        """)
    }

    /// AF_INET6 sockets on `::` talking IPv4 (a v4-mapped peer): the segments are IPv4, and ss
    /// prints the ends v4-mapped, as the kernel's did (checked on this kernel with ss -tan).
    func testDualStackSocketsOverIPv4() throws {
        let p = try Pair()
        XCTAssertNil(p.srv.bind(SocketConfig(id: 1, proto: .tcp, address6: .any, port: 5000)))
        var cfg = SocketConfig(id: 1, proto: .tcp, address6: .any, port: 40000)
        cfg.listen = false
        XCTAssertNil(p.cli.bind(cfg))
        p.ferry(p.cli.tcpCalls([.connect6(socket: 1, to: try IPv6Address(parsing: "::ffff:198.18.0.2"), port: 5000)]), from: p.cli)
        XCTAssertEqual(p.log.map { $0.frame.be16(12) }, [EtherType.ipv4, EtherType.ipv4, EtherType.ipv4])
        XCTAssertEqual(p.cli.ssTCP.map { "\($0.state) \($0.local) \($0.peer)" }, ["ESTAB [::ffff:198.18.0.1]:40000 [::ffff:198.18.0.2]:5000"])
        XCTAssertEqual(p.srv.ssTCP.map { "\($0.state) \($0.local) \($0.peer)" }, ["LISTEN *:5000 *:*", "ESTAB [::ffff:198.18.0.2]:5000 [::ffff:198.18.0.1]:40000"])
        let child = try XCTUnwrap(p.srv.tcpAccept(listener: 1))
        XCTAssertEqual(p.srv.socket(child)?.config.address6?.description, "::ffff:198.18.0.2")
    }
}
