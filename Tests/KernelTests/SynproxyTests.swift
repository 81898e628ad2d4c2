@testable import Kernel
import NFTables
import Wire
import XCTest

/// nft synproxy (nft_synproxy.c, nf_synproxy_core.c) as `scripts/record_synproxy.sh` recorded it
/// on Linux 6.18; the IPv4 exchange is replayed whole through the API in SynproxyAPITests.
final class SynproxyTests: XCTestCase {
    static func ruleset(_ family: String, _ statement: String = "synproxy mss 1460 wscale 7 timestamp sack-perm", objects: String = "") -> String {
        """
        table \(family) sp {
          \(objects)
          chain pre { type filter hook prerouting priority raw; policy accept; tcp flags syn notrack; }
          chain in {
            type filter hook input priority filter; policy accept;
            tcp dport 80 ct state invalid,untracked \(statement)
            ct state invalid drop
          }
        }
        """
    }

    func stack(_ ruleset: String) throws -> Stack {
        let s = try makeStack(sysctls: ["net.netfilter.nf_conntrack_tcp_loose": 0, "net.ipv4.tcp_rmem[2]": 33_554_432])
        s.loadRuleset(try NFParser.parse(ruleset))
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .tcp, address: .any, port: 80)))
        return s
    }

    func tcp(_ flags: TCPFlags, sport: UInt16 = 40000, seq: UInt32, ack: UInt32 = 0, window: UInt16, options: [UInt8], payload: [UInt8] = []) -> [UInt8] {
        frame(ident: 1, .tcp(TCPRepr(srcPort: sport, dstPort: 80, seq: seq, ack: ack, flags: flags, window: window, options: options, payload: payload)))
    }
    static let synOptions: [UInt8] = [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7]
    static func ts(_ v: UInt32, _ e: UInt32) -> [UInt8] {
        var out: [UInt8] = [1, 1, 8, 10]
        for w in [v, e] { out += [UInt8(w >> 24), UInt8(w >> 16 & 0xff), UInt8(w >> 8 & 0xff), UInt8(w & 0xff)] }
        return out
    }

    /// SipHash-2-4 against the reference vectors (key 00..0f, messages 00.., lengths 0, 7, 8 and
    /// 15), and the three-word form the stack already used.
    func testSipHashIsTheReferenceOne() {
        let key: (UInt64, UInt64) = (0x0706050403020100, 0x0f0e0d0c0b0a0908)
        XCTAssertEqual([0, 7, 8, 15].map { SipHash.hash((0..<$0).map(UInt8.init), key: key) },
                       [0x726fdb47dd0e0e31, 0xab0200f58b01d137, 0x93f5f5799a932462, 0xa129ca6149be45e5])
        XCTAssertEqual(SipHash.hash([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0], key: key), SipHash.hash3(1, 2, 3, key: key))
    }

    /// The SYN-ACK's cookie decodes to the client's MSS (the table's largest not above it) for
    /// two minutes of the clock, then not (cookie_invalid); options the rule leaves out are not
    /// passed on, and without `timestamp` the window scale and SACK go too.
    func testCookiesCarryTheMSSForTwoMinutes() throws {
        for (mss, expected) in [(1460, 1460), (1400, 1300), (1300, 1300), (600, 536), (100, 536)] as [(UInt16, Int)] {
            let s = try stack(Self.ruleset("ip"))
            let syn = s.inject(frame: tcp(.syn, seq: 1000, window: 64240, options: [2, 4, UInt8(mss >> 8), UInt8(mss & 0xff)]), device: s.devices[0])
            let cookie = try XCTUnwrap(syn.emitted.first).frame.be32(38)
            _ = s.inject(frame: tcp(.ack, seq: 1001, ack: cookie &+ 1, window: 502, options: []), device: s.devices[0])
            // No timestamps: the server's ACK goes through and the connection is made with the MSS.
            let conn = try XCTUnwrap(s.sockets.allConns.first { $0.key.rport == 40000 })
            XCTAssertEqual([conn.state == .established ? 1 : 0, conn.mssClamp], [1, expected], "MSS \(mss)")
        }
        let s = try stack(Self.ruleset("ip", "synproxy mss 1400"))
        s.advance(toNs: 30_000_000_000)
        let syn = s.inject(frame: tcp(.syn, seq: 1000, window: 64240, options: Self.synOptions), device: s.devices[0])
        // Only the MSS the rule gives: no timestamps, so no window scale or SACK either.
        XCTAssertEqual(try XCTUnwrap(syn.emitted.first).frame[54...].map { $0 }, [2, 4, 0x05, 0x78])
        let cookie = try XCTUnwrap(syn.emitted.first).frame.be32(38)
        // 30 s + 2 min: the cookie's minute and the next have passed.
        s.advance(toNs: 150_000_000_000)
        let late = s.inject(frame: tcp(.ack, seq: 1001, ack: cookie &+ 1, window: 502, options: []), device: s.devices[0])
        XCTAssertEqual(["\(late.outcome)", late.dropReason.map { "\($0)" } ?? "-"], ["dropped", "NETFILTER_DROP"])
        XCTAssertEqual(s.synproxyStats[0], SynproxyStats(syn_received: 1, cookie_invalid: 1))
    }

    /// A named synproxy object, by name and through a map, answers as the statement does; a
    /// segment with neither SYN nor ACK goes on through the rule (nothing is sent) and a non-TCP
    /// packet breaks it.
    func testObjectsAnswerAsTheStatement() throws {
        let objects = "synproxy s7 { mss 1460; wscale 7; timestamp sack-perm; }\n  synproxy s3 { mss 1300; wscale 3; }"
        let s = try stack(Self.ruleset("ip", "synproxy name tcp dport map { 80 : \"s7\" } counter", objects: objects))
        let syn = s.inject(frame: tcp(.syn, seq: 1000, window: 64240, options: Self.synOptions), device: s.devices[0])
        let options = try XCTUnwrap(syn.emitted.first).frame[54...].map { $0 }
        XCTAssertEqual(Array(options.prefix(8)) + Array(options.suffix(4)), [2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 3, 3, 7])
        XCTAssertEqual(syn.nfEvents.last?.verdict, "stolen")
        let fin = s.inject(frame: tcp(.fin, seq: 1000, window: 0, options: []), device: s.devices[0])
        XCTAssertEqual(fin.emitted.count, 0)
        // The counter after the map counts what went on (the FIN, dropped as invalid next).
        XCTAssertTrue(s.listRuleset(handles: false).contains("synproxy name tcp dport map { 80 : \"s7\" } counter packets 1 bytes 40"), s.listRuleset(handles: false))
        XCTAssertEqual(fin.nfEvents.last?.rule, "ct state invalid drop")
        let t = try stack(Self.ruleset("ip", "synproxy name \"s3\"", objects: objects))
        let syn3 = t.inject(frame: tcp(.syn, seq: 1000, window: 64240, options: Self.synOptions), device: t.devices[0])
        XCTAssertEqual(try XCTUnwrap(syn3.emitted.first).frame.be16(48), 0)
        XCTAssertEqual(Array(try XCTUnwrap(syn3.emitted.first).frame[54...]), [2, 4, 0x05, 0x14])
    }

    /// IPv6 as the kernel client of the recording (IPV6=1 CLIENT=kernel): MSS 1440, window scale 10;
    /// its segments come CHECKSUM_PARTIAL over the veth, so the checksum counts as verified. The
    /// cookie carries 1440 (IPv6's table), the server's SYN on lo says so, and the client's window
    /// is the server's 64260 scaled by 10 (62). A SYN whose checksum is wrong is dropped by the rule.
    func testIPv6GoesTheSameWayWhenTheChecksumIsVerified() throws {
        try ipv6(rxChecksumOffload: true)
        try ipv6(rxChecksumOffload: false)
    }

    /// `nf_ip_checksum` as nft_synproxy calls it for either family: a good IPv4 segment passes; a
    /// good IPv6 one does not unless its checksum was already verified (the IPv6 header summed
    /// with bytes of its addresses as an IPv4 pseudo-header). The recording's scapy SYN came over
    /// a veth without GRO, CHECKSUM_NONE, and was dropped; the model's devices (its veths too)
    /// run GRO, which verifies a good checksum first, so here the skb is made by hand.
    func testSynproxysChecksumCheckIsIPv4sForBothFamilies() throws {
        let s = try makeStack()
        let v4 = SkBuff(frame: tcp(.syn, seq: 1000, window: 64240, options: Self.synOptions), dev: 0, packet: -1)
        v4.networkHeader = 14; v4.protocolType = EtherType.ipv4
        XCTAssertTrue(s.nf_ip_checksum(v4, thoff: 34))
        let a = try IPv6Address(parsing: "2001:db8::9"), b = try IPv6Address(parsing: "2001:db8::1")
        let f6 = FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.ipv6),
                           network: .ipv6(IPv6Repr(src: a, dst: b, nextHeader: IPProtocol.tcp, hopLimit: 64), [],
                                          .tcp(TCPRepr(srcPort: 40000, dstPort: 80, seq: 7, flags: .syn, window: 64800, options: Self.synOptions)))).emit()
        let v6 = SkBuff(frame: f6, dev: 0, packet: -1)
        v6.networkHeader = 14; v6.protocolType = EtherType.ipv6
        XCTAssertFalse(s.nf_ip_checksum(v6, thoff: 54))
        v6.ipSummed = .unnecessary
        XCTAssertTrue(s.nf_ip_checksum(v6, thoff: 54))
    }

    func ipv6(rxChecksumOffload: Bool) throws {
        let a = try IPv6Address(parsing: "2001:db8::9"), b = try IPv6Address(parsing: "2001:db8::1")
        var c = StackConfig(name: "t6", devices: [DeviceConfig(name: "eth0", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])])
        c.devices[0].addresses6 = [try IPv6CIDR(parsing: "2001:db8::1/64")]
        c.devices[0].rxChecksumOffload = rxChecksumOffload
        c.neighbours6 = [Neighbour6Config(address: a, mac: peerMAC, dev: "eth0")]
        c.sysctls = ["net.netfilter.nf_conntrack_tcp_loose": 0, "net.ipv4.tcp_rmem[2]": 33_554_432]
        let s = try Stack(config: c)
        s.loadRuleset(try NFParser.parse(Self.ruleset("ip6")))
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .tcp, address6: .any, port: 80)))
        func segment(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, window: UInt16, options: [UInt8]) -> [UInt8] {
            FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.ipv6),
                      network: .ipv6(IPv6Repr(src: a, dst: b, nextHeader: IPProtocol.tcp, hopLimit: 64), [],
                                     .tcp(TCPRepr(srcPort: 40000, dstPort: 80, seq: seq, ack: ack, flags: flags, window: window, options: options)))).emit()
        }
        let synOptions: [UInt8] = [2, 4, 5, 0xa0, 4, 2, 8, 10, 0x82, 0x29, 0xe1, 0x4c, 0, 0, 0, 0, 1, 3, 3, 10]
        let syn = s.inject([Injection(device: 0, frame: segment(.syn, seq: 0x9057dee6, window: 64800, options: synOptions), csumPartial: true)])[0]
        let synack = try XCTUnwrap(syn.emitted.first).frame
        XCTAssertEqual(Array(synack[74...77]), [2, 4, 5, 0xb4])
        XCTAssertEqual(synack[74 + 11] & 0x3f, 0x1a)   // window scale 10, SACK-permitted
        let ack = s.inject([Injection(device: 0, frame: segment(.ack, seq: 0x9057dee7, ack: synack.be32(58) &+ 1, window: 64,
                                                               options: Self.ts(0x8229e14c, synack.be32(74 + 8))), csumPartial: true)])[0]
        XCTAssertEqual(ack.emitted.map(\.device), ["lo", "lo", "eth0", "eth0"])
        let serverSYN = ack.emitted[0].frame
        XCTAssertEqual(Array(serverSYN[74...77]), [2, 4, 5, 0xa0])
        XCTAssertEqual([serverSYN.be32(58), serverSYN.be32(62), UInt32(serverSYN.be16(68))], [0x9057dee6, synack.be32(58), 64])
        XCTAssertEqual([ack.emitted[2].frame.be32(58), UInt32(ack.emitted[2].frame.be16(68))], [synack.be32(58) &+ 1, 62])
        XCTAssertEqual(s.snmp.tcpExt.TSEcrRejected, 1)

        // A SYN whose checksum is wrong: no device vouches for it, and the rule drops it.
        var bad = segment(.syn, seq: 7, window: 64800, options: synOptions)
        bad[54 + 16] ^= 0xff
        let unverified = s.inject(frame: bad, device: s.devices[0])
        XCTAssertEqual(["\(unverified.outcome)", unverified.dropReason.map { "\($0)" } ?? "-", "\(unverified.emitted.count)"], ["dropped", "NETFILTER_DROP", "0"])
        XCTAssertEqual(unverified.nfEvents.last?.verdict, "drop")
    }

    /// The listing nft gives (mss and wscale together when either was given, an object's flags
    /// line with its space), what a checkpoint keeps (as given), nft -j, and the hooks it may be
    /// used at (input and forward: elsewhere EOPNOTSUPP, as nft said for ip/objects.t:58).
    func testListingsAndWhereItMayBeUsed() throws {
        let text = """
        table ip t {
          synproxy a { mss 1460; wscale 7; timestamp; }
          synproxy b { mss 1460; wscale 7; sack-perm; }
          chain c { type filter hook forward priority 0;
            synproxy mss 5
            synproxy sack-perm timestamp wscale 3
            synproxy mss 70000 wscale 300
            synproxy
          }
        }
        """
        let rs = try NFParser.parse(text)
        XCTAssertEqual(NFPrinter.ruleset(rs), """
        table ip t {
        \tsynproxy a {
        \t\tmss 1460
        \t\twscale 7
        \t\ttimestamp 
        \t}

        \tsynproxy b {
        \t\tmss 1460
        \t\twscale 7
        \t\t sack-perm
        \t}

        \tchain c {
        \t\ttype filter hook forward priority filter; policy accept;
        \t\tsynproxy mss 5 wscale 0
        \t\tsynproxy mss 0 wscale 3 timestamp sack-perm
        \t\tsynproxy mss 4464 wscale 44
        \t\tsynproxy
        \t}
        }

        """)
        XCTAssertTrue(NFPrinter.ruleset(rs, handles: true, origins: true).contains("\t\tsynproxy mss 5 # handle"))
        XCTAssertEqual(NFJSON.encode(rs).rendered().components(separatedBy: #"{"synproxy":"#).dropFirst().map { String($0[..<$0.range(of: "}")!.upperBound]) }, [
            #"{"family":"ip","name":"a","table":"t","handle":2,"mss":1460,"wscale":7,"flags":["timestamp"]}"#,
            #"{"family":"ip","name":"b","table":"t","handle":3,"mss":1460,"wscale":7,"flags":["sack-perm"]}"#,
            #"{"mss":5}"#, #"{"wscale":3,"flags":["timestamp","sack-perm"]}"#, #"{"mss":4464,"wscale":44}"#, "null}",
        ])
        for hook in ["output", "prerouting", "postrouting"] {
            XCTAssertThrowsError(try NFParser.parse("table ip t { chain c { type filter hook \(hook) priority 0; synproxy; } }")) { e in
                XCTAssertEqual((e as? NFSyntaxError)?.message, "Could not process rule: Operation not supported")
            }
        }
        XCTAssertThrowsError(try NFParser.parse("table ip t { synproxy s { mss 1460; wscale 7; }\n chain o { type filter hook output priority 0; synproxy name tcp dport map { 443 : \"s\" }; } }"))
        XCTAssertNoThrow(try NFParser.parse("table inet t { chain i { type filter hook input priority 0; synproxy; }\n}"))
    }
}
