@testable import Kernel
import NFTables
import Wire
import XCTest

/// Constructs that used to be accepted and ignored now act on packets.
final class NetfilterConstructTests: XCTestCase {
    func udp(_ dport: UInt16, payload: Int = 0) -> [UInt8] { frame(.udp(UDPRepr(srcPort: 1000, dstPort: dport, payload: [UInt8](repeating: 0, count: payload)))) }

    func load(_ s: Stack, _ text: String) throws { s.loadRuleset(try NFParser.parse(text)) }

    /// The listed rules that count, as nft lists them with their counters.
    func counted(_ s: Stack, _ word: String = "counter") -> [String] {
        s.listRuleset(handles: false).split(separator: "\n").filter { $0.contains(word) }.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func testADormantTableDoesNotRun() throws {
        let s = try makeStack()
        let rules = "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0; policy drop;\n\t}\n}\n"
        try load(s, rules.replacingOccurrences(of: "table ip t {\n", with: "table ip t {\n\tflags dormant\n"))
        XCTAssertEqual(s.inject(frame: udp(9), device: s.devices[0]).dropReason, .NO_SOCKET)
        try load(s, rules)
        XCTAssertEqual(s.inject(frame: udp(9), device: s.devices[0]).dropReason, .NETFILTER_DROP)
    }

    /// IPv6 rules never match IPv4 packets (their nfproto ipv6 dependency fails, `!=` included);
    /// an ip6 table's chains see no IPv4 packet at all.
    func testIPv6RulesNeverMatchIPv4Packets() throws {
        let s = try makeStack()
        try load(s, """
        table inet t {
        \tchain i {
        \t\ttype filter hook input priority 0; policy accept;
        \t\tip6 saddr ::1 counter drop
        \t\tip6 saddr != ::1 counter drop
        \t\tmeta nfproto ipv6 counter drop
        \t\tip6 daddr { fe80::/10, ::1 } counter drop
        \t\tip6 nexthdr udp counter drop
        \t\tcounter
        \t}
        }
        table ip6 six {
        \tchain i {
        \t\ttype filter hook input priority 0; policy drop;
        \t\tcounter
        \t}
        }

        """)
        XCTAssertEqual(s.inject(frame: udp(9), device: s.devices[0]).dropReason, .NO_SOCKET)
        XCTAssertEqual(counted(s), ["ip6 saddr ::1 counter packets 0 bytes 0 drop", "ip6 saddr != ::1 counter packets 0 bytes 0 drop",
                                    "meta nfproto ipv6 counter packets 0 bytes 0 drop", "ip6 daddr { ::1, fe80::/10 } counter packets 0 bytes 0 drop",
                                    "ip6 nexthdr udp counter packets 0 bytes 0 drop", "counter packets 1 bytes 28", "counter packets 0 bytes 0"])
    }

    /// `numgen random` draws from the stack's seed: the same seed, the same spread (seed 0: these 16 verdicts).
    func testNumgenRandomRepeatsForASeed() throws {
        var runs: [[Bool]] = []
        for _ in 0..<2 {
            let s = try makeStack()
            try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tnumgen random mod 2 vmap { 0 : accept, 1 : drop }\n\t}\n}\n")
            runs.append((0..<16).map { _ in s.inject(frame: udp(9), device: s.devices[0]).dropReason == .NETFILTER_DROP })
        }
        XCTAssertEqual(runs[0], runs[1])
        XCTAssertEqual(runs[0].map { $0 ? "d" : "a" }.joined(), "daaadaaaaddadaad")
    }

    /// A compared generator acts: `numgen inc mod 2 0` every other packet; `numgen random mod 2^31 < 2^29`
    /// (iptables' `--probability 0.25`) a seeded quarter of them.
    func testGeneratorComparesAct() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tnumgen inc mod 2 0 counter\n"
            + "\t\tnumgen random mod 2147483648 < 536870912 counter\n\t\tnumgen inc mod 3 != 1 counter\n\t}\n}\n")
        for _ in 0..<400 { _ = s.inject(frame: udp(9), device: s.devices[0]) }
        XCTAssertEqual(counted(s), ["numgen inc mod 2 0 counter packets 200 bytes 5600", "numgen random mod 2147483648 < 536870912 counter packets 110 bytes 3080",
                                    "numgen inc mod 3 != 1 counter packets 267 bytes 7476"])
    }

    /// Raw payload bits act: the IP protocol byte (@nh,72,8), the UDP destination port (@th,16,16 as
    /// th dport), bits off byte boundaries under their mask (@nh,0,4: the IP version).
    func testRawPayloadsAct() throws {
        let s = try makeStack()
        try load(s, "table inet t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\t@nh,72,8 0x11 counter\n"
            + "\t\t@nh,72,8 0x6 counter\n\t\t@th,16,16 9 counter\n\t\t@nh,0,4 4 counter\n\t\t@ll,96,16 0x800 counter\n\t}\n}\n")
        _ = s.inject(frame: udp(9), device: s.devices[0])
        _ = s.inject(frame: udp(10), device: s.devices[0])
        XCTAssertEqual(counted(s), ["@nh,72,8 0x11 counter packets 2 bytes 56", "@nh,72,8 0x6 counter packets 0 bytes 0", "th dport 9 counter packets 1 bytes 28",
                                    "@nh,0,8 & 0xf0 == 0x40 counter packets 2 bytes 56", "@ll,96,16 0x800 counter packets 2 bytes 56"])
    }

    /// `@ih` (NFT_PAYLOAD_INNER_HEADER) reads after the UDP header, or after the TCP header and
    /// its options; ICMP has none, so the rule breaks.
    func testInnerHeaderPayloadIsWhatFollowsTheTransportHeader() throws {
        let s = try makeStack()
        try load(s, "table inet t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\t@ih,0,16 0x6869 counter\n\t\t@ih,8,8 != 0x69 counter\n\t}\n}\n")
        _ = s.inject(frame: frame(.udp(UDPRepr(srcPort: 1, dstPort: 9, payload: Array("hi".utf8)))), device: s.devices[0])
        // A TCP header with a 4-byte option (MSS): the payload starts 24 bytes in.
        _ = s.inject(frame: frame(.tcp(TCPRepr(srcPort: 1, dstPort: 9, seq: 1, flags: [.psh, .ack], options: [2, 4, 5, 0xb4], payload: Array("hi".utf8)))), device: s.devices[0])
        _ = s.inject(frame: frame(.icmp(ICMPv4Repr(type: 8, code: 0, data: Array("hi".utf8)))), device: s.devices[0])
        XCTAssertEqual(counted(s), ["@ih,0,16 0x6869 counter packets 2 bytes 76", "@ih,8,8 != 0x69 counter packets 0 bytes 0"])
    }

    /// `tcp option @KIND,OFFSET,LENGTH`: the bits of the first option of that kind (here the MSS
    /// option's length byte and value), nothing when the segment has none.
    func testRawTCPOptionFields() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\ttcp option @2,8,8 4 counter\n\t\ttcp option @2,16,16 { 1400, 1460 } counter\n\t\ttcp option @255,8,8 != 0 counter\n\t}\n}\n")
        _ = s.inject(frame: frame(.tcp(TCPRepr(srcPort: 1, dstPort: 9, seq: 1, flags: .syn, options: [2, 4, 5, 0xb4]))), device: s.devices[0])
        _ = s.inject(frame: frame(.tcp(TCPRepr(srcPort: 2, dstPort: 9, seq: 1, flags: .syn))), device: s.devices[0])
        XCTAssertEqual(counted(s), ["tcp option @2,8,8 4 counter packets 1 bytes 44", "tcp option @2,16,16 { 1400, 1460 } counter packets 1 bytes 44",
                                    "tcp option @255,8,8 != 0 counter packets 0 bytes 0"])
    }

    /// A raw payload of 128 bits: the Ethernet addresses, type and the first IP bytes in one compare.
    func testWideRawPayloads() throws {
        let s = try makeStack()
        try load(s, "table netdev t {\n\tchain i {\n\t\ttype filter hook ingress device \"eth0\" priority 0;\n"
            + "\t\t@ll,0,128 0x02000000000102000000ff0108004500 counter\n\t\t@ll,8,72 != 0x102000000ff counter\n\t\t@ll,0,96 0x1 counter\n\t}\n}\n")
        _ = s.inject(frame: udp(9), device: s.devices[0])
        XCTAssertEqual(counted(s), ["@ll,0,128 0x2000000000102000000ff0108004500 counter packets 1 bytes 28", "@ll,8,72 != 0x102000000ff counter packets 1 bytes 28",
                                    "@ll,0,96 0x1 counter packets 0 bytes 0"])
    }

    /// A verdict map's `continue` goes on to the rule's next statement; a key without an entry ends the rule.
    func testVerdictMapContinueRunsTheRestOfTheRule() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tudp dport vmap { 9 : continue, 10 : drop } counter\n\t}\n}\n")
        _ = s.inject(frame: udp(9), device: s.devices[0])
        _ = s.inject(frame: udp(11), device: s.devices[0])
        XCTAssertEqual(s.inject(frame: udp(10), device: s.devices[0]).dropReason, .NETFILTER_DROP)
        XCTAssertEqual(counted(s), ["udp dport vmap { 9 : continue, 10 : drop } counter packets 1 bytes 28"])
    }

    /// `meta mark set KEY map { K : V }` sets the entry's value; a key without an entry ends the rule.
    func testMarkFromAMap() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n"
            + "\t\tmeta mark set ip saddr map { 198.18.0.9 : 0x17, 198.18.0.10 : 0x2a } counter\n"
            + "\t\tmeta mark set udp dport map { 1 : 0x1 } counter\n\t\tmeta mark 0x17 counter\n\t}\n}\n")
        _ = s.inject(frame: udp(9), device: s.devices[0])
        XCTAssertEqual(counted(s), ["meta mark set ip saddr map { 198.18.0.9 : 0x00000017, 198.18.0.10 : 0x0000002a } counter packets 1 bytes 28",
                                    "meta mark set udp dport map { 1 : 0x00000001 } counter packets 0 bytes 0", "meta mark 0x00000017 counter packets 1 bytes 28"])
    }

    /// Sets rules add to: elements live in virtual time, list with their time left as nft lists
    /// them, expire, and a full set ends the rule (nft_dynset).
    func testDynamicSetsExpireInVirtualTime() throws {
        let s = try makeStack()
        try load(s, """
        table ip t {
        \tset s {
        \t\ttype ipv4_addr
        \t\tflags dynamic,timeout
        \t\ttimeout 1m
        \t}

        \tchain i {
        \t\ttype filter hook input priority 0; policy accept;
        \t\tip saddr @s udp dport 11 counter
        \t\tudp dport 9 add @s { ip saddr }
        \t\tudp dport 10 update @s { ip saddr timeout 10s }
        \t}
        }

        """)
        _ = s.inject(frame: udp(11), device: s.devices[0])
        _ = s.inject(frame: udp(9), device: s.devices[0])
        _ = s.inject(frame: udp(11), device: s.devices[0])
        s.advance(toNs: 2_500_000_000)
        XCTAssertTrue(s.listRuleset(handles: false).contains("\t\telements = { 198.18.0.9 expires 57s500ms }"), s.listRuleset(handles: false))
        _ = s.inject(frame: udp(10), device: s.devices[0])
        XCTAssertTrue(s.listRuleset(handles: false).contains("\t\telements = { 198.18.0.9 timeout 10s expires 10s }"), s.listRuleset(handles: false))
        s.advance(toNs: 13_000_000_000)
        _ = s.inject(frame: udp(11), device: s.devices[0])
        XCTAssertEqual(counted(s), ["ip saddr @s udp dport 11 counter packets 1 bytes 28"])
        XCTAssertFalse(s.listRuleset(handles: false).contains("elements"))
    }

    func testCountersStartFromTheirGivenValues() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tcounter packets 5 bytes 100\n\t}\n}\n")
        _ = s.inject(frame: udp(9), device: s.devices[0])
        XCTAssertEqual(s.listRuleset(handles: false).contains("counter packets 6 bytes 128"), true, s.listRuleset(handles: false))
        s.resetCounters()
        XCTAssertEqual(s.listRuleset(handles: false).contains("counter packets 0 bytes 0"), true)
    }

    func testNamedVerdictMapsAndIfnameSets() throws {
        let s = try makeStack()
        try load(s, """
        table ip t {
        \tset ifs {
        \t\ttype ifname
        \t\telements = { "eth0" }
        \t}

        \tmap ports {
        \t\ttype inet_service : verdict
        \t\tflags interval
        \t\telements = { 10-20 : drop, 53 : accept }
        \t}

        \tchain i {
        \t\ttype filter hook input priority 0;
        \t\tiifname @ifs udp dport vmap @ports
        \t}
        }

        """)
        let r15 = s.inject(frame: udp(15), device: s.devices[0])
        XCTAssertEqual(r15.dropReason, .NETFILTER_DROP)
        XCTAssertEqual(r15.nfEvents.map(\.verdict), ["drop"])
        XCTAssertEqual(s.inject(frame: udp(53), device: s.devices[0]).nfEvents.map(\.verdict), ["accept"])
        XCTAssertEqual(s.inject(frame: udp(30), device: s.devices[0]).nfEvents.map(\.verdict), ["accept"], "no element: the policy")
    }

    /// `limit rate 1 kbytes/second burst 100 bytes`: the bucket holds 1024+100 bytes, and each
    /// packet costs its IP length (28 + payload).
    func testByteLimitsCountBytes() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tlimit rate over 1 kbytes/second burst 100 bytes drop\n\t}\n}\n")
        let rs = s.inject((0..<4).map { Injection(device: 0, frame: udp(9, payload: 372), atNs: UInt64($0)) })
        // 400 bytes each: 400, 800 fit in 1124; the third (1200) is over.
        XCTAssertEqual(rs.map { $0.dropReason == .NETFILTER_DROP }, [false, false, true, true])
    }

    func testALogGroupSendsToNflogInsteadOfTheKernelLog() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tlog prefix \"x \" group 2\n\t\tlog level debug flags ether\n\t}\n}\n")
        let ev = s.inject(frame: udp(9), device: s.devices[0]).nfEvents.filter { $0.kind == .log }
        XCTAssertEqual(ev.map(\.verdict), ["group 2", "level debug"])
        XCTAssertEqual(ev.map(\.rule), ["x ", "IN=eth0 OUT= MACSRC=02:00:00:00:ff:01 MACDST=02:00:00:00:00:01 MACPROTO=0800 SRC=198.18.0.9 DST=198.18.0.1 "
                                         + "LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=0 PROTO=UDP SPT=1000 DPT=9 LEN=8 "])
    }

    /// A `type route` output chain that changes the mark routes the packet again
    /// (ip_route_me_harder); one that changes nothing does not.
    func testRouteChainsRerouteWhatTheyChange() throws {
        let s = try makeStack()
        func stages(_ rule: String) throws -> [String] {
            try load(s, "table ip t {\n\tchain o {\n\t\ttype route hook output priority 0;\n\t\t\(rule)\n\t}\n}\n")
            let r = s.inject(frame: udp(9), device: s.devices[0])   // no socket: an ICMP error goes out
            XCTAssertEqual(r.emitted.count, 1)
            return Array(r.stageNames.drop { $0 != "ip_local_out" })
        }
        XCTAssertEqual(try stages("meta mark set 0x1"),
                       ["ip_local_out", "nf_hook_slow", "ip_route_me_harder", "ip_output", "ip_finish_output", "neigh_output", "dev_queue_xmit", "sch_direct_xmit", "dev_hard_start_xmit", "kfree_skb_reason"])
        XCTAssertEqual(try stages("meta mark 0x1 counter"),
                       ["ip_local_out", "nf_hook_slow", "ip_output", "ip_finish_output", "neigh_output", "dev_queue_xmit", "sch_direct_xmit", "dev_hard_start_xmit", "kfree_skb_reason"])
    }

    /// A SYN-ACK, a SYN and an ACK, in that order.
    func injectSynAckSynAck(_ s: Stack) {
        for (flags, ack) in [([.syn, .ack], 1), (.syn, 0), (.ack, 1)] as [(TCPFlags, UInt32)] {
            _ = s.inject(frame: frame(.tcp(TCPRepr(srcPort: 1, dstPort: 2, seq: 0, ack: ack, flags: flags))), device: s.devices[0])
        }
    }

    /// `tcp flags syn` is any of the bits; `tcp flags == syn` the whole byte; `tcp flags ! syn` none.
    func testFlagMatchesAsTheKernelEvaluatesThem() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\ttcp flags == syn counter\n\t\ttcp flags syn counter\n\t\ttcp flags ! syn counter\n\t}\n}\n")
        injectSynAckSynAck(s)
        XCTAssertEqual(s.ruleCounters().map(\.packets), [1, 2, 1])
    }

    /// Parenthesised flag groups compare as one value under a mask, and a set element may join
    /// flags with `|` (nft's `tcp flags & (fin | syn | rst | ack) == (syn | ack)`, `{ syn, syn | ack }`):
    /// the SYN-ACK matches both, the SYN only the set, the ACK neither.
    func testFlagGroupsInParenthesesAndSets() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\ttcp flags & (fin | syn | rst | ack) == (syn | ack) counter\n\t\ttcp flags { syn, syn | ack } counter\n\t\ttcp flags & (syn | ack) != (syn | ack) counter\n\t}\n}\n")
        injectSynAckSynAck(s)
        XCTAssertEqual(s.ruleCounters().map(\.packets), [1, 2, 2])
    }

    /// Address masks written as numbers or addresses, a mask and address that make a prefix (listed
    /// as one, as nft lists it), sets inside a set (flattened), and a range of tc handles.
    func testAddressMasksNestedSetsAndHandleRanges() throws {
        let s = try makeStack()
        let text = "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tip saddr & 0xff == 9 counter\n\t\tip saddr & 0.0.0.255 < 0.0.0.8 counter\n"
            + "\t\tip saddr & 255.255.255.0 == 198.18.0.0 counter\n\t\tip saddr { { 198.18.0.9, 10.0.0.1 }, 10.0.0.2 } counter\n\t\tmeta priority != bcad:dada-bcad:dadc counter\n\t}\n}\n"
        let rs = try NFParser.parse(text)
        XCTAssertEqual(NFPrinter.ruleset(rs).split(separator: "\n").filter { $0.hasPrefix("\t\t") && !$0.contains("type filter") }, [
            "\t\tip saddr & 0.0.0.255 == 0.0.0.9 counter packets 0 bytes 0", "\t\tip saddr & 0.0.0.255 < 0.0.0.8 counter packets 0 bytes 0",
            "\t\tip saddr 198.18.0.0/24 counter packets 0 bytes 0", "\t\tip saddr { 10.0.0.1, 10.0.0.2, 198.18.0.9 } counter packets 0 bytes 0",
            "\t\tmeta priority != bcad:dada-bcad:dadc counter packets 0 bytes 0"])
        try load(s, text)
        _ = s.inject(frame: frame(.udp(UDPRepr(srcPort: 1, dstPort: 9))), device: s.devices[0])
        XCTAssertEqual(s.ruleCounters().map { "\($0.handle):\($0.packets)" }, ["2:1", "4:1", "6:1", "7:1"])   // all but `< 0.0.0.8` (handle 3; the anonymous set took 5)
    }

    /// `reset tcp option mptcp` on a router: the option's four bytes leave as NOPs, the MSS before it
    /// untouched, the checksum fixed; a packet without the option passes as it came.
    func testResetTCPOptionLeavesNOPsInItsPlace() throws {
        let s = try routerStack()
        try load(s, "table ip t {\n\tchain f {\n\t\ttype filter hook forward priority 0;\n\t\treset tcp option mptcp\n\t}\n}\n")
        func syn(_ options: [UInt8], ttl: UInt8 = 64, dst: MACAddress = MACAddress(2, 0, 0, 0, 0, 2), from: MACAddress = MACAddress(2, 0, 0, 0, 0, 1)) -> [UInt8] {
            FrameRepr(ethernet: EthernetRepr(dst: dst, src: from, ethertype: EtherType.ipv4),
                      network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 1), dst: IPv4Address(198, 18, 1, 2), proto: IPProtocol.tcp, ttl: ttl, ident: 7, payloadLength: 0),
                                     .tcp(TCPRepr(srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: .syn, options: options)))).emit()
        }
        let out = MACAddress(2, 0, 0, 0, 1, 1), next = MACAddress(2, 0, 0, 0, 1, 2)
        let r = s.inject(frame: syn([2, 4, 0x05, 0xb4, 30, 4, 0x00, 0x81]), device: s.devices[0])
        XCTAssertEqual(r.emitted.map(\.frame), [syn([2, 4, 0x05, 0xb4, 1, 1, 1, 1], ttl: 63, dst: next, from: out)])
        let plain = s.inject(frame: syn([2, 4, 0x05, 0xb4]), device: s.devices[0])
        XCTAssertEqual(plain.emitted.map(\.frame), [syn([2, 4, 0x05, 0xb4], ttl: 63, dst: next, from: out)])
        XCTAssertEqual(NFPrinter.statement(.resetTCPOption(2)), "reset tcp option maxseg")
        XCTAssertEqual(NFPrinter.statement(.resetTCPOption(123)), "reset tcp option 123")
    }

    /// TCP options by number: kinds nft names list by name (2 is maxseg), others by number.
    func testTCPOptionsByNumber() throws {
        let s = try makeStack()
        let text = "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\ttcp option 6 exists counter\n\t\ttcp option 255 missing counter\n\t\ttcp option 2 exists counter\n\t\ttcp option 7 exists counter\n\t}\n}\n"
        XCTAssertEqual(NFPrinter.ruleset(try NFParser.parse(text)).split(separator: "\n").filter { $0.hasPrefix("\t\ttcp") }.map { $0.replacingOccurrences(of: " counter packets 0 bytes 0", with: "") },
                       ["\t\ttcp option 6 exists", "\t\ttcp option 255 missing", "\t\ttcp option maxseg exists", "\t\ttcp option 7 exists"])
        try load(s, text)
        _ = s.inject(frame: frame(.tcp(TCPRepr(srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: .syn, options: [2, 4, 0x05, 0xb4, 6, 6, 0, 0, 0, 0, 1, 1]))), device: s.devices[0])
        XCTAssertEqual(s.ruleCounters().map { "\($0.handle):\($0.packets)" }, ["2:1", "3:1", "4:1"])   // not kind 7 (handle 5)
    }

    /// Header fields read from nft's header templates (offset and length), for protocols the stack
    /// does not dissect itself: SCTP, DCCP (a 4-bit field), AH, and what IGMP carries.
    func testTableDrivenHeaderFieldsMatchTheirBits() throws {
        let s = try makeStack()
        try load(s, """
        table ip t {
        \tchain i {
        \t\ttype filter hook input priority 0;
        \t\tsctp dport 80 counter
        \t\tsctp vtag 0x01020304 counter
        \t\tdccp type request counter
        \t\tdccp type response counter
        \t\tah spi 5 counter
        \t\tigmp group 224.0.0.251 counter
        \t}
        }

        """)
        func inject(_ proto: UInt8, _ l4: [UInt8]) {
            _ = s.inject(frame: frame(.raw(l4), proto: proto), device: s.devices[0])
        }
        inject(132, [0x13, 0x88, 0x00, 0x50, 1, 2, 3, 4, 0, 0, 0, 0])                 // SCTP 5000 -> 80, vtag 0x01020304
        inject(33, [0x13, 0x88, 0x00, 0x50, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]) // DCCP, byte 8 = 0: type request (bits 67-70)
        inject(2, [0x16, 0x00, 0x00, 0x00, 224, 0, 0, 251])                              // IGMPv2 report for 224.0.0.251
        XCTAssertEqual(counted(s), ["sctp dport 80 counter packets 1 bytes 32", "sctp vtag 16909060 counter packets 1 bytes 32",
                                 "dccp type request counter packets 1 bytes 32", "dccp type response counter packets 0 bytes 0",
                                 "ah spi 5 counter packets 0 bytes 0", "igmp group 224.0.0.251 counter packets 1 bytes 28"])
    }

    /// Meta keys on the packet path: the CPU, the interface type and group, the ethertype, the
    /// real-time clock from the stack's epoch (2019-06-21 16:59:59 UTC, a Friday), and the socket
    /// owner, which no received packet has.
    func testMetaKeysReadTheStackAndTheClock() throws {
        var c = try makeStack().config
        c.epochNs = 1_561_136_399 * 1_000_000_000
        let s = try Stack(config: c)
        try load(s, """
        table ip t {
        \tchain i {
        \t\ttype filter hook input priority 0;
        \t\tmeta cpu 0 meta iiftype ether iifgroup "default" meta protocol ip counter
        \t\tmeta day "Friday" meta hour "16:59:59" counter
        \t\tmeta time < "2019-06-21 17:00:00" counter
        \t\tmeta skuid 0 counter
        \t\tmeta skuid != 0 counter
        \t}
        }

        """)
        _ = s.inject(frame: udp(9), device: s.devices[0])
        let late = s.inject(frame: udp(9), device: s.devices[0], atNs: 2_000_000_000)   // 17:00:01
        XCTAssertEqual(late.outcome, .dropped)
        XCTAssertEqual(counted(s), ["meta cpu 0 meta iiftype ether iifgroup \"default\" meta protocol ip counter packets 2 bytes 56",
                                 "meta day \"Friday\" meta hour \"16:59:59\" counter packets 1 bytes 28",
                                 "meta time < \"2019-06-21 17:00:00\" counter packets 1 bytes 28",
                                 "meta skuid 0 counter packets 0 bytes 0", "meta skuid != 0 counter packets 0 bytes 0"])
    }

    /// Hour ranges in quoted values, one across midnight being nft's negated other range (so
    /// 17:00:01 is in `"17:00"-"08:00"` and 16:59:59 is not), on the same clock as above.
    func testHourRangesAcrossMidnight() throws {
        var c = try makeStack().config
        c.epochNs = 1_561_136_399 * 1_000_000_000
        let s = try Stack(config: c)
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tmeta hour \"08:00\"-\"17:00\" counter\n"
            + "\t\tmeta hour \"17:00\"-\"08:00\" counter\n\t\tmeta hour \"16:59:59\"-\"17:00:01\" counter\n\t}\n}\n")
        _ = s.inject(frame: udp(9), device: s.devices[0])
        _ = s.inject(frame: udp(9), device: s.devices[0], atNs: 2_000_000_000)   // 17:00:01
        XCTAssertEqual(counted(s), ["meta hour \"08:00\"-\"17:00\" counter packets 1 bytes 28",
                                 "meta hour != \"08:00\"-\"17:00\" counter packets 1 bytes 28",
                                 "meta hour \"16:59:59\"-\"17:00:01\" counter packets 2 bytes 56"])
    }

    /// A netdev chain on several devices (`devices = { ... }`) sees the frames of each; another
    /// device's chain only its own.
    func testANetdevChainOnSeveralDevices() throws {
        var c = try makeStack().config
        var second = c.devices[0]
        second.name = "eth1"; second.mac = MACAddress(0x02, 0, 0, 0, 0, 0x02); second.addresses = [try IPv4CIDR(parsing: "198.18.1.1/24")]
        c.devices.append(second)
        let s = try Stack(config: c)
        try load(s, "table netdev t {\n\tchain both {\n\t\ttype filter hook ingress devices = { eth1, eth0 } priority 0;\n\t\tcounter\n\t}\n"
            + "\tchain one {\n\t\ttype filter hook ingress device \"eth1\" priority 0;\n\t\tcounter\n\t}\n}\n")
        _ = s.inject(frame: udp(9), device: s.devices[0])
        _ = s.inject(frame: udp(9), device: s.devices[1])
        XCTAssertEqual(counted(s), ["counter packets 2 bytes 56", "counter packets 1 bytes 28"])
    }

    /// A mark set from a conntrack key is a use of conntrack (nft_ct's get expression registers
    /// it), so the packet has an entry for it to read even with no other ct expression.
    func testAMarkFromAConntrackKeyTracksTheConnection() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tmeta mark set ct zone | 0x100\n\t\tmeta mark 0x100 counter\n\t}\n}\n")
        _ = s.inject(frame: udp(9), device: s.devices[0])
        XCTAssertEqual(counted(s), ["meta mark 0x00000100 counter packets 1 bytes 28"])
    }

    /// Raw matches nft lists as header fields (RawExpandTests) match what the raw bits match: the
    /// fields' equalities, a field cut short as its prefix, the rest raw.
    func testRawMatchesListedAsFieldsMatchAsTheRawBits() throws {
        let s = try makeStack()
        try load(s, """
        table ip t {
        \tchain i {
        \t\ttype filter hook input priority 0;
        \t\t@nh,0,24 0x450000 counter
        \t\t@nh,64,16 0x4011 counter
        \t\t@nh,0,8 & 0xf0 == 0x40 counter
        \t\tmeta l4proto udp @th,0,32 0x03e80009 counter
        \t}
        }

        """)
        _ = s.inject(frame: udp(9), device: s.devices[0])
        _ = s.inject(frame: frame(ttl: 63, .udp(UDPRepr(srcPort: 1000, dstPort: 9))), device: s.devices[0])
        _ = s.inject(frame: udp(10, payload: 300), device: s.devices[0])
        XCTAssertEqual(counted(s), ["ip version 4 ip hdrlength 5 ip dscp cs0 ip ecn not-ect ip length 0/8 counter packets 2 bytes 56",
                                    "ip ttl 64 ip protocol udp counter packets 2 bytes 356", "ip version 4 counter packets 3 bytes 384",
                                    "udp sport 1000 udp dport 9 counter packets 2 bytes 56"])
    }

    /// Conntrack keys read the packet's entry: its original tuple, protocol and time left; loading
    /// `ct bytes` turned accounting on, so the entry counts (APITests/ConntrackAcctTests has the recording).
    func testConntrackKeysReadTheEntry() throws {
        let s = try makeStack()
        try load(s, """
        table ip t {
        \tchain i {
        \t\ttype filter hook input priority 0;
        \t\tct original ip saddr 198.18.0.9 ct protocol udp ct original proto-dst 9 counter
        \t\tct reply ip daddr 198.18.0.9 ct expiration 29s-30s counter
        \t\tct expiration < 1s counter
        \t\tct packets 2 ct bytes 56 counter
        \t}
        }

        """)
        // The first packet's entry is not confirmed yet (expiration 0); the second finds 30 s
        // less the time since prerouting refreshed it.
        _ = s.inject(frame: udp(9), device: s.devices[0])
        _ = s.inject(frame: udp(9), device: s.devices[0], atNs: 1_000_000_000)
        XCTAssertEqual(counted(s), ["ct original ip saddr 198.18.0.9 ct protocol udp ct original proto-dst 9 counter packets 2 bytes 56",
                                 "ct reply ip daddr 198.18.0.9 ct expiration 29s-30s counter packets 1 bytes 28",
                                 "ct expiration < 1s counter packets 1 bytes 28", "ct packets 2 ct bytes 56 counter packets 1 bytes 28"])
    }

    /// TCP options found by walking the option list (nft_exthdr): MSS 1460, SACK permitted,
    /// window scale 7, no timestamp.
    func testTCPOptionsAreFoundInTheOptionList() throws {
        let s = try makeStack()
        try load(s, """
        table ip t {
        \tchain i {
        \t\ttype filter hook input priority 0;
        \t\ttcp option maxseg size 1460 counter
        \t\ttcp option sack-perm exists counter
        \t\ttcp option window count 7 counter
        \t\ttcp option timestamp missing counter
        \t\ttcp option timestamp exists counter
        \t}
        }

        """)
        let opts: [UInt8] = [2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 0, 0]   // MSS, NOP, WS 7, SACK-perm, EOL padding
        _ = s.inject(frame: frame(.tcp(TCPRepr(srcPort: 1, dstPort: 9, seq: 1, flags: .syn, options: opts))), device: s.devices[0])
        XCTAssertEqual(counted(s), ["tcp option maxseg size 1460 counter packets 1 bytes 52", "tcp option sack-perm exists counter packets 1 bytes 52",
                                 "tcp option window count 7 counter packets 1 bytes 52", "tcp option timestamp missing counter packets 1 bytes 52",
                                 "tcp option timestamp exists counter packets 0 bytes 0"])
    }

    /// `meta mark set meta mark | 0x4000` (the Docker/kube-proxy idiom) and friends change the mark as nft_bitwise does.
    func testMarkExpressionsSetTheMark() throws {
        let s = try makeStack()
        try load(s, """
        table ip t {
        \tchain p {
        \t\ttype filter hook prerouting priority 0;
        \t\tmeta mark set 0x00000f0f
        \t\tmeta mark set meta mark & 0x0000ff00 | 0x00000001
        \t\tmeta mark set meta mark ^ 0x00004000
        \t}
        \tchain i {
        \t\ttype filter hook input priority 0;
        \t\tmeta mark 0x00004f01 counter
        \t}
        }

        """)
        _ = s.inject(frame: udp(9), device: s.devices[0])
        XCTAssertEqual(s.listRuleset(handles: false).contains("meta mark 0x00004f01 counter packets 1 bytes 28"), true, s.listRuleset(handles: false))
    }

    /// Ethernet header fields of a received frame; `iiftype ether` before them is implied (and
    /// dropped from the listing, as nft drops it).
    func testEthernetFieldsOfReceivedFrames() throws {
        let s = try makeStack()
        try load(s, """
        table ip t {
        \tchain i {
        \t\ttype filter hook input priority 0;
        \t\tiiftype ether ether saddr 02:00:00:00:ff:01 ether type ip counter
        \t\tether daddr 02:00:00:00:00:02 counter
        \t}
        }

        """)
        _ = s.inject(frame: udp(9), device: s.devices[0])
        XCTAssertEqual(counted(s), ["ether saddr 02:00:00:00:ff:01 ether type ip counter packets 1 bytes 28", "ether daddr 02:00:00:00:00:02 counter packets 0 bytes 0"])
    }

    /// `quota 100 bytes` passes packets until 100 bytes have been counted (28-byte datagrams:
    /// three), `quota over` the rest; the listing shows what was used, no more than the quota
    /// (nft_quota_do_dump caps it, as the kernel recording objects_1 shows).
    func testQuotaCountsBytes() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tquota 100 bytes counter\n\t\tquota over 100 bytes counter\n\t}\n}\n")
        _ = s.inject((0..<5).map { Injection(device: 0, frame: udp(9), atNs: UInt64($0) * 1000) })
        XCTAssertEqual(counted(s, "quota"), ["quota 100 bytes used 100 bytes counter packets 3 bytes 84", "quota over 100 bytes used 100 bytes counter packets 2 bytes 56"])
    }

    /// Concatenated keys: every part must match its part of one element.
    func testConcatenationsMatchPartByPart() throws {
        let s = try makeStack()
        try load(s, """
        table ip t {
        \tchain i {
        \t\ttype filter hook input priority 0;
        \t\tip saddr . udp dport { 198.18.0.9 . 9, 198.18.0.10 . 53 } counter
        \t\tip saddr . udp dport { 198.18.0.9 . 53, 198.18.0.10 . 9 } counter
        \t\tiifname . ip saddr . udp dport vmap { "eth0" . 198.18.0.9 . 9 : drop }
        \t}
        }

        """)
        let r = s.inject(frame: udp(9), device: s.devices[0])
        XCTAssertEqual(r.dropReason, .NETFILTER_DROP)
        XCTAssertEqual(counted(s), ["ip saddr . udp dport { 198.18.0.9 . 9, 198.18.0.10 . 53 } counter packets 1 bytes 28",
                                 // Listed in nft's order (the real nft lists this set so).
                                 "ip saddr . udp dport { 198.18.0.10 . 9, 198.18.0.9 . 53 } counter packets 0 bytes 0"])
    }

    /// kube-proxy's nftables mode: a named map on `ip daddr . meta l4proto . th dport` jumping to
    /// per-service chains (with '/' in their names), and a named concatenated set.
    func testKubeProxyStyleServiceMap() throws {
        let s = try makeStack()
        try load(s, """
        table ip kube-proxy {
        \tset allowed {
        \t\ttype ipv4_addr . inet_service
        \t\telements = { 198.18.0.9 . 9 }
        \t}

        \tmap service-ips {
        \t\ttype ipv4_addr . inet_proto . inet_service : verdict
        \t\telements = { 198.18.0.1 . udp . 9 : goto service-ABC/ns/udp/p9, 198.18.0.1 . tcp . 80 : drop }
        \t}

        \tchain input {
        \t\ttype filter hook input priority 0; policy accept;
        \t\tip saddr . udp dport @allowed counter
        \t\tip daddr . meta l4proto . th dport vmap @service-ips
        \t}

        \tchain service-ABC/ns/udp/p9 {
        \t\tcounter drop
        \t}
        }

        """)
        let r = s.inject(frame: udp(9), device: s.devices[0])
        XCTAssertEqual(r.dropReason, .NETFILTER_DROP)
        XCTAssertEqual(r.nfEvents.map { "\($0.chain) \($0.verdict)" }, ["input continue", "input goto service-ABC/ns/udp/p9", "service-ABC/ns/udp/p9 drop"])
        XCTAssertEqual(s.inject(frame: udp(10), device: s.devices[0]).dropReason, .NO_SOCKET, "no element: on to the policy")
        let text = s.listRuleset(handles: false)
        XCTAssertEqual(NFPrinter.ruleset(try NFParser.parse(text)), text, "the listing, live counters included, loads back as itself")
    }

    /// firewalld's reverse-path filter and Docker's local-destination test, on a router: the
    /// source 198.18.0.1 routes back out of eth0 (where it came in), 198.18.9.9 does not.
    func testFibLookups() throws {
        let s = try routerStack()
        s.loadRuleset(try NFParser.parse("""
        table inet t {
        \tchain p {
        \t\ttype filter hook prerouting priority 0;
        \t\tfib saddr . iif oif missing counter drop
        \t\tfib daddr type local counter
        \t\tfib daddr type unicast counter
        \t}
        }

        """))
        func send(from src: IPv4Address, to dst: IPv4Address) -> PacketResult {
            s.inject(frame: FrameRepr(ethernet: EthernetRepr(dst: MACAddress(2, 0, 0, 0, 0, 2), src: MACAddress(2, 0, 0, 0, 0, 1), ethertype: EtherType.ipv4),
                                      network: .ipv4(IPv4Repr(src: src, dst: dst, proto: IPProtocol.udp, payloadLength: 0),
                                                     .udp(UDPRepr(srcPort: 1, dstPort: 9)))).emit(), device: s.devices[0])
        }
        XCTAssertEqual(send(from: IPv4Address(198, 18, 9, 9), to: IPv4Address(198, 18, 0, 2)).dropReason, .NETFILTER_DROP, "its route leaves by eth1: spoofed")
        _ = send(from: IPv4Address(198, 18, 0, 1), to: IPv4Address(198, 18, 0, 2))
        _ = send(from: IPv4Address(198, 18, 0, 1), to: IPv4Address(198, 18, 1, 2))
        XCTAssertEqual(counted(s), ["fib saddr . iif oif missing counter packets 1 bytes 28 drop", "fib daddr type local counter packets 1 bytes 28",
                                 "fib daddr type unicast counter packets 1 bytes 28"])
    }

    /// SCTP chunks found by walking the chunk list: a DATA chunk on stream 7 behind a 5-byte chunk padded to 8.
    func testSCTPChunksAreFoundInTheChunkList() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tsctp chunk data stream 7 counter\n"
                    + "\t\tsctp chunk init exists counter\n\t\tsctp chunk init missing counter\n\t}\n}\n")
        let common: [UInt8] = [0x13, 0x88, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0]
        let odd: [UInt8] = [11, 0, 0, 5, 0xaa, 0, 0, 0]                                  // a 5-byte chunk, padded to 8
        let data: [UInt8] = [0, 3, 0, 17, 0, 0, 0, 1, 0, 7, 0, 0, 0, 0, 0, 0, 0x61, 0, 0, 0]   // DATA, stream 7
        _ = s.inject(frame: frame(.raw(common + odd + data), proto: 132), device: s.devices[0])
        XCTAssertEqual(counted(s), ["sctp chunk data stream 7 counter packets 1 bytes 60", "sctp chunk init exists counter packets 0 bytes 0",
                                 "sctp chunk init missing counter packets 1 bytes 60"])
    }

    /// Matches through and, or and xor on the mark (0x5 here), listed as nft lists them.
    func testBitwiseMatches() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tmeta mark set 0x5\n"
                    + "\t\tmeta mark and 0x4 == 0x4 counter\n\t\tmeta mark or 0x2 == 0x7 counter\n\t\tmeta mark xor 0x1 == 0x4 counter\n"
                    + "\t\tmeta mark or 0x2 != 0x7 counter\n\t}\n}\n")
        _ = s.inject(frame: udp(9), device: s.devices[0])
        XCTAssertEqual(counted(s), ["meta mark & 0x00000004 == 0x00000004 counter packets 1 bytes 28", "meta mark | 0x00000002 == 0x00000007 counter packets 1 bytes 28",
                                 "meta mark 0x00000005 counter packets 1 bytes 28", "meta mark | 0x00000002 != 0x00000007 counter packets 0 bytes 0"])
    }

    /// `icmp id 7` holds only for echo messages (nft adds and lists that dependency): a port
    /// unreachable whose bytes 4-5 read 7 does not match.
    func testICMPIdentifierImpliesAnEchoMessage() throws {
        let s = try makeStack()
        try load(s, "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\ticmp id 7 counter\n\t}\n}\n")
        XCTAssertEqual(s.ruleset.tables[0].chains[0].rules[0].text, "icmp type { echo-reply, echo-request } icmp id 7 counter packets 0 bytes 0")
        _ = s.inject(frame: frame(.icmp(ICMPv4Repr(type: 3, code: 3, restOfHeader: 0x0007_0000, data: []))), device: s.devices[0])
        _ = s.inject(frame: frame(.icmp(ICMPv4Repr(type: 8, code: 0, restOfHeader: 0x0007_0001, data: []))), device: s.devices[0])
        XCTAssertEqual(s.listRuleset(handles: false).contains("icmp id 7 counter packets 1 bytes 28"), true, s.listRuleset(handles: false))
    }
}
