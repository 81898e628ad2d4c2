@testable import Kernel
import NFTables
import Wire
import XCTest

/// `tproxy` (nft_tproxy) as recorded on Linux 6.18 with `scripts/record_tproxy.sh`: the DUT's
/// roles here are the script's with the addresses swapped (our 198.18.0.1 is its 198.18.0.9).
final class TProxyTests: XCTestCase {
    let ruleset = """
    table ip t {
      chain pre { type filter hook prerouting priority mangle
        udp dport 80 tproxy to :50080 meta mark set 1 counter
        udp dport 81 tproxy to 198.18.0.1:50081 counter
        tcp dport 80 tproxy to :50080 counter
        udp dport 82 tproxy to :50082 counter
      }
      chain inp { type filter hook input priority 0
        socket transparent 1 counter
        meta mark 1 counter
      }
      chain fw { type filter hook forward priority 0
        udp dport 80 counter
        udp dport 81 counter
      }
    }
    """

    func sock(_ id: Int, _ p: SocketConfig.Proto, _ port: UInt16, transparent: Bool, address: IPv4Address = .any) -> SocketConfig {
        var c = SocketConfig(id: id, proto: p, address: address, port: port)
        c.transparent = transparent
        return c
    }

    func tcpFrame(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, payload: [UInt8] = []) -> [UInt8] {
        frame(.tcp(TCPRepr(srcPort: 35010, dstPort: 80, seq: seq, ack: ack, flags: flags, payload: payload)))
    }

    /// Datagrams to ports 80 and 81 reach the transparent sockets on 50080 (any address) and
    /// 50081 (ours, given in the rule); port 82's socket is not transparent, so the rule breaks and
    /// the datagram finds no socket on 82 (port unreachable). A TCP handshake to port 80 goes to
    /// the transparent listener on 50080: the SYN-ACK comes from port 80 and the connection it
    /// accepts is 198.18.0.1:80 with the listener's IP_TRANSPARENT; its ACK and data meet the
    /// request sock and the connection (established lookup first). Datagrams routed through us
    /// get their sockets too (the lookup is at the rule's address and port), and ip_forward drops
    /// them. The counters are the kernel's but for TCP (its client sent options, and two more segments).
    func testTransparentSocketsTakeWhatTproxyHandsThem() throws {
        let s = try makeStack(sysctls: ["net.ipv4.ip_forward": 1])
        for c in [sock(1, .udp, 50080, transparent: true), sock(2, .udp, 50081, transparent: true, address: ourIP),
                  sock(3, .udp, 50082, transparent: false), sock(4, .tcp, 50080, transparent: true)] { XCTAssertNil(s.bind(c)) }
        s.loadRuleset(try NFParser.parse(ruleset))
        var ends: [String] = []
        for port in [80, 81, 82] as [UInt16] {
            let r = s.inject(frame: frame(.udp(UDPRepr(srcPort: 46317, dstPort: port, payload: Array("hi\(port)".utf8)))), device: s.devices[0])
            ends.append("\(r.outcome) \(r.dropReason.map { "\($0)" } ?? "-") \(r.emitted.count)")
        }
        XCTAssertEqual(ends, ["delivered - 0", "delivered - 0", "dropped NO_SOCKET 1"])
        XCTAssertEqual(s.socket(1)?.queue.map { String(decoding: $0.payload, as: UTF8.self) }, ["hi80"])
        XCTAssertEqual(s.socket(2)?.queue.map { String(decoding: $0.payload, as: UTF8.self) }, ["hi81"])
        XCTAssertEqual(s.socket(1)?.queue.first?.dst, .v4(ourIP))
        XCTAssertEqual(s.socket(3)?.queue.count, 0)

        let syn = s.inject(frame: tcpFrame(.syn, seq: 1000), device: s.devices[0])
        XCTAssertEqual(syn.emitted.count, 1)
        let synack = try TCPPacket(checking: syn.emitted[0].frame, at: 34)
        XCTAssertEqual([synack.srcPort, synack.dstPort], [80, 35010])
        XCTAssertEqual(synack.flags, [.syn, .ack])
        XCTAssertEqual(try IPv4Packet(checking: syn.emitted[0].frame, at: 14).src, ourIP)
        let ack = s.inject(frame: tcpFrame(.ack, seq: 1001, ack: synack.seq &+ 1), device: s.devices[0])
        XCTAssertEqual(ack.outcome, .consumed)
        _ = s.inject(frame: tcpFrame([.psh, .ack], seq: 1001, ack: synack.seq &+ 1, payload: Array("tcpdata".utf8)), device: s.devices[0])
        let child = try XCTUnwrap(s.allSockets.first { $0.config.id == 5 })
        XCTAssertEqual([child.config.address.description, "\(child.config.port)", "\(child.config.transparent)"], ["198.18.0.1", "80", "true"])
        XCTAssertEqual(child.tcp?.state, .established)
        XCTAssertEqual(s.socket(4)?.listening, true)
        for port in [80, 81] as [UInt16] {
            let r = s.inject(frame: frame(dst: IPv4Address(203, 0, 113, 7), .udp(UDPRepr(srcPort: 46317, dstPort: port, payload: Array("far".utf8)))), device: s.devices[0])
            XCTAssertEqual(r.stages.suffix(2).map(\.stage.name), ["ip_forward", "kfree_skb_reason"])
            XCTAssertEqual(r.dropReason, .NOT_SPECIFIED)
        }
        XCTAssertEqual(s.socket(1)?.queue.count, 1)
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip t {
        \tchain pre {
        \t\ttype filter hook prerouting priority mangle; policy accept;
        \t\tudp dport 80 tproxy to :50080 meta mark set 0x00000001 counter packets 2 bytes 63
        \t\tudp dport 81 tproxy to 198.18.0.1:50081 counter packets 2 bytes 63
        \t\ttcp dport 80 tproxy to :50080 counter packets 3 bytes 127
        \t\tudp dport 82 tproxy to :50082 counter packets 0 bytes 0
        \t}

        \tchain inp {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tsocket transparent 1 counter packets 5 bytes 191
        \t\tmeta mark 0x00000001 counter packets 1 bytes 32
        \t}

        \tchain fw {
        \t\ttype filter hook forward priority filter; policy accept;
        \t\tudp dport 80 counter packets 0 bytes 0
        \t\tudp dport 81 counter packets 0 bytes 0
        \t}
        }

        """)
        XCTAssertEqual(s.snmp.udp.NoPorts, 1)
        XCTAssertEqual(s.snmp.udp.InDatagrams, 2)
        XCTAssertEqual(s.snmp.tcp.PassiveOpens, 1)
        XCTAssertEqual(s.snmp.ip.ForwDatagrams, 0)
    }

    /// A packet for another host that tproxy gave a socket is not forwarded (ip_forward drops an
    /// skb with a socket: without a policy route to deliver it locally it goes nowhere); one whose
    /// rule found no transparent socket is forwarded as usual.
    func testForwardingDropsAPacketWithASocket() throws {
        let s = try makeStack(sysctls: ["net.ipv4.ip_forward": 1])
        XCTAssertNil(s.bind(sock(1, .udp, 50080, transparent: true)))
        s.loadRuleset(try NFParser.parse("""
        table inet t { chain pre { type filter hook prerouting priority mangle; udp dport 80 tproxy ip to :50080; udp dport 81 tproxy ip to :50081; }; }
        """))
        let far = IPv4Address(203, 0, 113, 7)
        let a = s.inject(frame: frame(dst: far, .udp(UDPRepr(srcPort: 5000, dstPort: 80, payload: [1]))), device: s.devices[0])
        XCTAssertEqual([a.outcome.rawValue, a.dropReason.map { "\($0)" } ?? "-"], ["dropped", "NOT_SPECIFIED"])
        XCTAssertEqual(a.stages.suffix(2).map(\.stage.name), ["ip_forward", "kfree_skb_reason"])
        XCTAssertEqual(s.socket(1)?.queue.count, 0)
        let b = s.inject(frame: frame(dst: far, .udp(UDPRepr(srcPort: 5000, dstPort: 81, payload: [1]))), device: s.devices[0])
        XCTAssertTrue(b.stages.contains { $0.stage.name == "ip_forward_finish" })
    }

    /// The transparent proxy recipe (scripts/record_tproxy_policy.sh, on the kernel): tproxy marks
    /// what it gives a socket, `ip rule fwmark 1 lookup 100` with `local 0.0.0.0/0 dev lo table 100`
    /// delivers it although it is for 203.0.113.7. The datagram reaches the socket for 203.0.113.7:53;
    /// the connection to 203.0.113.7:443 is answered from there and accepted as it; the segments
    /// after the SYN find their request sock (`socket transparent 1`). Counters as the kernel's but
    /// for TCP (options, and the two closing segments, there).
    func testThePolicyRoutingRecipe() throws {
        let s = try makeStack(sysctls: ["net.ipv4.ip_forward": 1])
        XCTAssertNil(s.bind(sock(1, .udp, 50080, transparent: true)))
        XCTAssertNil(s.bind(sock(2, .tcp, 50080, transparent: true)))
        try s.setRoutes(s.config.routes + [RouteConfig(dst: try IPv4CIDR(parsing: "0.0.0.0/0"), dev: "lo", table: 100, type: .local)])
        try s.setRules([RuleConfig(priority: 32765, fwmark: 1, table: 100)])
        s.loadRuleset(try NFParser.parse("""
        table ip t {
          chain pre { type filter hook prerouting priority mangle
            meta l4proto tcp socket transparent 1 meta mark set 1 counter accept
            ip daddr 203.0.113.0/24 meta l4proto { tcp, udp } th dport { 53, 443 } tproxy to :50080 meta mark set 1 counter accept
          }
        }
        """))
        let far = IPv4Address(203, 0, 113, 7)
        let q = s.inject(frame: frame(dst: far, .udp(UDPRepr(srcPort: 36447, dstPort: 53, payload: Array("query".utf8)))), device: s.devices[0])
        XCTAssertEqual(q.outcome, .delivered)
        XCTAssertEqual(s.socket(1)?.queue.map { "\($0.src):\($0.srcPort) -> \($0.dst)" }, ["198.18.0.9:36447 -> 203.0.113.7"])
        func seg(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, payload: [UInt8] = []) -> [UInt8] {
            frame(dst: far, .tcp(TCPRepr(srcPort: 46984, dstPort: 443, seq: seq, ack: ack, flags: flags, payload: payload)))
        }
        let syn = s.inject(frame: seg(.syn, seq: 7), device: s.devices[0])
        XCTAssertEqual(syn.emitted.count, 1)
        let synack = try TCPPacket(checking: syn.emitted[0].frame, at: 34)
        XCTAssertEqual(try IPv4Packet(checking: syn.emitted[0].frame, at: 14).src, far)
        XCTAssertEqual([synack.srcPort, synack.dstPort], [443, 46984])
        _ = s.inject(frame: seg(.ack, seq: 8, ack: synack.seq &+ 1), device: s.devices[0])
        _ = s.inject(frame: seg([.psh, .ack], seq: 8, ack: synack.seq &+ 1, payload: Array("hello".utf8)), device: s.devices[0])
        let child = try XCTUnwrap(s.allSockets.first { $0.config.id == 3 })
        XCTAssertEqual("\(child.config.address):\(child.config.port) \(child.tcp?.state.rawValue ?? "-")", "203.0.113.7:443 ESTAB")
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip t {
        \tchain pre {
        \t\ttype filter hook prerouting priority mangle; policy accept;
        \t\tmeta l4proto tcp socket transparent 1 meta mark set 0x00000001 counter packets 2 bytes 85 accept
        \t\tip daddr 203.0.113.0/24 meta l4proto { tcp, udp } th dport { 53, 443 } tproxy to :50080 meta mark set 0x00000001 counter packets 2 bytes 73 accept
        \t}
        }

        """)
        XCTAssertEqual([s.snmp.ip.ForwDatagrams, s.snmp.udp.InDatagrams, s.snmp.tcp.PassiveOpens], [0, 1, 1])
        // Without the mark the rule is not taken: the main table forwards.
        XCTAssertEqual(s.fib.lookup(far, src: peerIP, mark: 0, iif: 0)?.type, .unicast)
        XCTAssertEqual(s.fib.lookup(far, src: peerIP, mark: 1, iif: 0)?.type, .local)
    }

    /// A tproxy rule brings nf_defrag_ipv4 (nft_tproxy_init) without conntrack: a prerouting
    /// counter beside it sees one reassembled datagram (2,028 bytes) where, beside another rule, it
    /// sees the two fragments (2,048 bytes), as recorded (scripts/record_tproxy_defrag.sh).
    func testTproxyBringsDefragmentation() throws {
        let whole = frame(ident: 77, .udp(UDPRepr(srcPort: 5000, dstPort: 9, payload: [UInt8](repeating: 0x78, count: 2000))))
        let payload = Array(whole[34...])
        let pieces = [(0, 1480, true), (1480, 2008, false)].map { (a, b, mf) in
            FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.ipv4),
                      network: .ipv4(IPv4Repr(src: peerIP, dst: ourIP, proto: IPProtocol.udp, ident: 77, moreFragments: mf, fragmentOffset: a, payloadLength: 0),
                                     .raw(Array(payload[a..<b])))).emit()
        }
        var seen: [String] = []
        for other in ["meta l4proto udp udp dport 7 tproxy to :50080", "socket transparent 1 counter", "meta mark 7 counter"] {
            let s = try makeStack()
            s.loadRuleset(try NFParser.parse("table ip t { chain p { type filter hook prerouting priority 0; ip protocol udp counter; \(other); }; }"))
            for f in pieces { _ = s.inject(frame: f, device: s.devices[0]) }
            seen.append(s.listRuleset(handles: false).split(separator: "\n").first { $0.contains("ip protocol") }.map { $0.trimmingCharacters(in: .whitespaces) } ?? "-")
        }
        XCTAssertEqual(seen, ["ip protocol udp counter packets 1 bytes 2028", "ip protocol udp counter packets 2 bytes 2048", "ip protocol udp counter packets 2 bytes 2048"])
    }
}

