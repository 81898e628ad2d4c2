import IPTables
import JSON
import Kernel
import NFTables
import Wire
import XCTest

/// iptables rules iptables-nft loads as xtables matches and targets, and what NAT and conntrack do
/// around them, recorded on the real kernel (scripts/record_*.sh named on each test) and replayed:
/// counters, listings, saved lines and connections exactly.
final class XtablesRecordedTests: XCTestCase {
    /// The stack's rules as iptables-nft-save prints them, the lines starting with `prefix`.
    static func saved(_ s: Stack, _ prefix: String) -> [Substring] {
        IPTablesSave.text(s.liveRuleset, policies: [:], header: "t").split(separator: "\n").filter { $0.hasPrefix(prefix) }
    }

    /// scripts/record_iptables_xt.sh: xtables matches and a DNAT to a port alone, whose nft listing
    /// says less than they do, counted on the real kernel (Linux 6.18, iptables-nft 1.8.9): `any`
    /// ICMP type still needs ICMP, a negated whole port range is no match at all, a negated range
    /// from 0 is `>`, a negated nth statistic. Replayed: the kernel's counters, listing and
    /// connections exactly (one source port the kernel drew at random aside).
    func testXtablesRulesRunAsRecorded() throws {
        let s = try IPSetTests.stack()
        s.loadRuleset(try IPTablesRestore.translate("""
        *nat
        :PREROUTING ACCEPT [0:0]
        -A PREROUTING -i vb -p udp --dport 5353 -j DNAT --to-destination :53
        COMMIT
        *filter
        :INPUT ACCEPT [0:0]
        -A INPUT -i vb -p icmp --icmp-type any
        -A INPUT -i vb -p icmp ! --icmp-type any
        -A INPUT -i vb -p udp ! --sport 0:65535
        -A INPUT -i vb -p udp --sport 0:65535
        -A INPUT -i vb -p udp ! --dport :1023
        -A INPUT -i vb -p udp --dport :1023
        -A INPUT -i vb -m statistic --mode nth ! --every 3 --packet 1
        -A INPUT -i vb -p udp -m udp
        -A INPUT -i vb -m comment --comment "x" -p udp --dport 53
        -A INPUT -i vb -p tcp -m tcp ! --tcp-flags ALL NONE
        -A INPUT -i vb -p tcp -m tcp --tcp-flags SYN NONE
        COMMIT

        """))
        let l4: [TransportRepr] = [
            .udp(UDPRepr(srcPort: 1000, dstPort: 53, payload: [0x78])), .udp(UDPRepr(srcPort: 1000, dstPort: 5353, payload: [0x78])),
            .udp(UDPRepr(srcPort: 1000, dstPort: 2000, payload: [0x78])), .udp(UDPRepr(srcPort: 0, dstPort: 7, payload: [0x78])),
            .tcp(TCPRepr(srcPort: 5000, dstPort: 80, flags: .syn, window: 8192)),
            .tcp(TCPRepr(srcPort: 5000, dstPort: 80, flags: .ack, window: 8192)),
            .icmp(ICMPv4Repr(type: 8, code: 0, restOfHeader: 0x0001_0001)),
        ]
        for (k, t) in l4.enumerated() {
            _ = s.inject(frame: IPSetTests.frame(IPv4Address(198, 18, 0, 9), t), device: s.devices[0], atNs: UInt64(k + 1) * 1_000_000)
        }
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip nat {
        \tchain PREROUTING {
        \t\ttype nat hook prerouting priority dstnat; policy accept;
        \t\tiifname "vb" udp dport 5353 counter packets 1 bytes 29 dnat to :53
        \t}
        }
        table ip filter {
        \tchain INPUT {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tiifname "vb" meta l4proto icmp ip protocol icmp counter packets 1 bytes 28
        \t\tiifname "vb" meta l4proto icmp ip protocol icmp counter packets 0 bytes 0
        \t\tiifname "vb" meta l4proto udp counter packets 4 bytes 116
        \t\tiifname "vb" meta l4proto udp  counter packets 4 bytes 116
        \t\tiifname "vb" udp dport > 1023 counter packets 1 bytes 29
        \t\tiifname "vb" udp dport <= 1023 counter packets 3 bytes 87
        \t\tiifname "vb" numgen inc mod 3 != 1 counter packets 5 bytes 155
        \t\tiifname "vb" meta l4proto udp  counter packets 4 bytes 116
        \t\tiifname "vb" meta l4proto udp  udp dport 53 counter packets 2 bytes 58
        \t\tiifname "vb" tcp flags fin,syn,rst,psh,ack,urg counter packets 2 bytes 80
        \t\tiifname "vb" tcp flags ! syn counter packets 1 bytes 40
        \t}
        }

        """)
        // The datagram DNATed onto the first one's tuple is not refused: the null binding at LOCAL_IN
        // moves its source port (the kernel picked 714 at random from 600-1023), so all four UDP
        // datagrams reach udp_rcv (UdpNoPorts 4, four port unreachables; no insert_failed).
        _ = s.advance(toNs: 500_000_000)   // the kernel listed them a few tenths of a second later
        XCTAssertEqual(s.snmp.udp.NoPorts, 4)
        XCTAssertEqual(s.snmp.icmp.OutDestUnreachs, 4)
        let moved = s.conntrackListing.first { $0.contains("dport=5353") }.flatMap { $0.split(separator: " ").last { $0.hasPrefix("dport=") } }
            .flatMap { Int($0.dropFirst("dport=".count)) }
        XCTAssertNotNil(moved)
        XCTAssertTrue((600...1023).contains(moved ?? 0), "\(String(describing: moved))")
        XCTAssertEqual(s.conntrackListing.map { $0.replacingOccurrences(of: "dport=\(moved ?? 0) ", with: "dport=714 ") }.sorted(), [
            "icmp     1 29 src=198.18.0.9 dst=198.18.0.1 type=8 code=0 id=1 src=198.18.0.1 dst=198.18.0.9 type=0 code=0 id=1 mark=0 use=1",
            "udp      17 29 src=198.18.0.9 dst=198.18.0.1 sport=0 dport=7 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=7 dport=0 mark=0 use=1",
            "udp      17 29 src=198.18.0.9 dst=198.18.0.1 sport=1000 dport=2000 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=2000 dport=1000 mark=0 use=1",
            "udp      17 29 src=198.18.0.9 dst=198.18.0.1 sport=1000 dport=53 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=53 dport=1000 mark=0 use=1",
            "udp      17 29 src=198.18.0.9 dst=198.18.0.1 sport=1000 dport=5353 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=53 dport=714 mark=0 use=1",
        ])
        XCTAssertEqual(Self.saved(s, "-A"), [
            "-A INPUT -i vb -p icmp -m icmp --icmp-type any", "-A INPUT -i vb -p icmp -m icmp ! --icmp-type any", "-A INPUT -i vb -p udp",
            "-A INPUT -i vb -p udp -m udp", "-A INPUT -i vb -p udp -m udp --dport 1024:65535", "-A INPUT -i vb -p udp -m udp --dport 0:1023",
            "-A INPUT -i vb -m statistic --mode nth ! --every 3 --packet 1", "-A INPUT -i vb -p udp -m udp",
            "-A INPUT -i vb -p udp -m comment --comment x -m udp --dport 53", "-A INPUT -i vb -p tcp -m tcp ! --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE",
            "-A INPUT -i vb -p tcp -m tcp --tcp-flags SYN NONE", "-A PREROUTING -i vb -p udp -m udp --dport 5353 -j DNAT --to-destination :53",
        ])
    }

    /// scripts/record_connmark_masks.sh: CONNMARK --save-mark/--restore-mark with masks (an xtables
    /// target nft cannot say: `xt target CONNMARK`, or its translation where the masks agree), two
    /// datagrams of one flow. Replayed: the kernel's counters, listing, saved lines and the
    /// connection's mark (0x1000) exactly.
    func testConnmarkMasksAsRecorded() throws {
        let s = try IPSetTests.stack()
        s.loadRuleset(try IPTablesRestore.translate("""
        *mangle
        :PREROUTING ACCEPT [0:0]
        -A PREROUTING -i vb -p udp -j MARK --set-mark 0x1234
        -A PREROUTING -i vb -p udp -j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xf0f0
        -A PREROUTING -i vb -m connmark --mark 0x1200
        -A PREROUTING -i vb -p udp -j MARK --set-mark 0x5
        -A PREROUTING -i vb -p udp -j CONNMARK --restore-mark --nfmask 0x0ff0 --ctmask 0xffff
        -A PREROUTING -i vb -m mark --mark 0x1205
        -A PREROUTING -i vb -p udp -j CONNMARK --save-mark --mask 0xf
        -A PREROUTING -i vb -m connmark --mark 0x1205
        -A PREROUTING -i vb -p udp -j CONNMARK --restore-mark --mask 0xffff0000
        -A PREROUTING -i vb -m mark --mark 0x1205
        COMMIT

        """))
        for k in 0..<2 {
            _ = s.inject(frame: IPSetTests.frame(IPv4Address(198, 18, 0, 9), .udp(UDPRepr(srcPort: 1000, dstPort: 53, payload: [0x78]))),
                         device: s.devices[0], atNs: UInt64(k + 1) * 1_000_000)
        }
        _ = s.advance(toNs: 500_000_000)
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip mangle {
        \tchain PREROUTING {
        \t\ttype filter hook prerouting priority mangle; policy accept;
        \t\tiifname "vb" meta l4proto udp counter packets 2 bytes 58 meta mark set 0x1234
        \t\tiifname "vb" meta l4proto udp counter packets 2 bytes 58 xt target CONNMARK
        \t\tiifname "vb" ct mark 0x1200 counter packets 1 bytes 29
        \t\tiifname "vb" meta l4proto udp counter packets 2 bytes 58 meta mark set 0x5
        \t\tiifname "vb" meta l4proto udp counter packets 2 bytes 58 xt target CONNMARK
        \t\tiifname "vb" meta mark 0x00001205 counter packets 1 bytes 29
        \t\tiifname "vb" meta l4proto udp counter packets 2 bytes 58 ct mark set mark and 0xf
        \t\tiifname "vb" ct mark 0x1205 counter packets 1 bytes 29
        \t\tiifname "vb" meta l4proto udp counter packets 2 bytes 58 meta mark set ct mark and 0xffff0000
        \t\tiifname "vb" meta mark 0x00001205 counter packets 1 bytes 29
        \t}
        }

        """)
        XCTAssertEqual(Self.saved(s, "-A"), [
            "-A PREROUTING -i vb -p udp -j MARK --set-xmark 0x1234/0xffffffff",
            "-A PREROUTING -i vb -p udp -j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xf0f0",
            "-A PREROUTING -i vb -m connmark --mark 0x1200", "-A PREROUTING -i vb -p udp -j MARK --set-xmark 0x5/0xffffffff",
            "-A PREROUTING -i vb -p udp -j CONNMARK --restore-mark --nfmask 0xff0 --ctmask 0xffff", "-A PREROUTING -i vb -m mark --mark 0x1205",
            "-A PREROUTING -i vb -p udp -j CONNMARK --save-mark --nfmask 0xf --ctmask 0xf", "-A PREROUTING -i vb -m connmark --mark 0x1205",
            "-A PREROUTING -i vb -p udp -j CONNMARK --restore-mark --nfmask 0xffff0000 --ctmask 0xffff0000", "-A PREROUTING -i vb -m mark --mark 0x1205",
        ])
        XCTAssertEqual(s.conntrackListing, [
            "udp      17 29 src=198.18.0.9 dst=198.18.0.1 sport=1000 dport=53 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=53 dport=1000 mark=4096 use=1",
        ])
        // Read back from the stored form (a checkpoint), the masks come from the iptables lines.
        var back = try NFParser.parse(NFPrinter.ruleset(s.liveRuleset, handles: true, origins: true), checkpoint: true)
        IPTablesRestore.relist(&back)
        XCTAssertEqual(back.tables[0].chains[0].rules[4].statements.last, .xtConnmark(NFXtConnmark(save: false, nfmask: 0xff0, ctmask: 0xffff)))
    }

    /// scripts/record_ctstate_nat.sh: `--ctstate SNAT|DNAT` (xt_conntrack's NAT status among the
    /// states, listed by a translation that names one status), datagrams to a port DNATed to :53.
    /// The third one's source port moves in the null binding at LOCAL_IN, after the filter rules,
    /// so none counts as SNAT there. Replayed: the kernel's counters and listing exactly.
    func testCtstateNATAsRecorded() throws {
        let s = try IPSetTests.stack()
        s.loadRuleset(try IPTablesRestore.translate("""
        *nat
        :PREROUTING ACCEPT [0:0]
        -A PREROUTING -i vb -p udp --dport 5353 -j DNAT --to-destination :53
        COMMIT
        *filter
        :INPUT ACCEPT [0:0]
        -A INPUT -i vb -m conntrack --ctstate DNAT
        -A INPUT -i vb -m conntrack ! --ctstate DNAT
        -A INPUT -i vb -m conntrack --ctstate NEW,DNAT
        -A INPUT -i vb -m conntrack --ctstate SNAT
        -A INPUT -i vb -m conntrack --ctstate ESTABLISHED,SNAT
        -A INPUT -i vb -m conntrack ! --ctstate NEW,SNAT
        COMMIT

        """))
        for (k, (sport, dport)) in [(UInt16(1000), UInt16(53)), (2000, 5353), (1000, 5353)].enumerated() {
            _ = s.inject(frame: IPSetTests.frame(IPv4Address(198, 18, 0, 9), .udp(UDPRepr(srcPort: sport, dstPort: dport, payload: [0x78]))),
                         device: s.devices[0], atNs: UInt64(k + 1) * 1_000_000)
        }
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip nat {
        \tchain PREROUTING {
        \t\ttype nat hook prerouting priority dstnat; policy accept;
        \t\tiifname "vb" udp dport 5353 counter packets 2 bytes 58 dnat to :53
        \t}
        }
        table ip filter {
        \tchain INPUT {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tiifname "vb" ct status dnat counter packets 2 bytes 58
        \t\tiifname "vb" ct status dnat counter packets 1 bytes 29
        \t\tiifname "vb" ct status dnat counter packets 3 bytes 87
        \t\tiifname "vb" ct status snat counter packets 0 bytes 0
        \t\tiifname "vb" ct status snat counter packets 0 bytes 0
        \t\tiifname "vb" ct status snat counter packets 0 bytes 0
        \t}
        }

        """)
        XCTAssertEqual(Self.saved(s, "-A INPUT"), [
            "-A INPUT -i vb -m conntrack --ctstate DNAT", "-A INPUT -i vb -m conntrack ! --ctstate DNAT", "-A INPUT -i vb -m conntrack --ctstate NEW,DNAT",
            "-A INPUT -i vb -m conntrack --ctstate SNAT", "-A INPUT -i vb -m conntrack --ctstate ESTABLISHED,SNAT",
            "-A INPUT -i vb -m conntrack ! --ctstate NEW,SNAT",
        ])
        // The third datagram's connection: DNATed onto the first one's tuple, its source port moved.
        let third = s.conntrackListing.first { $0.contains("sport=1000 dport=5353") } ?? ""
        XCTAssertTrue(third.hasPrefix("udp      17 30 src=198.18.0.9 dst=198.18.0.1 sport=1000 dport=5353 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=53 dport="), third)
        XCTAssertFalse(third.contains("dport=1000 "), third)
    }

    /// scripts/record_multiport_ports.sh: `-m multiport --ports` (either port; xt_multiport, listed by
    /// a translation that takes a range's ends for two ports and drops the negation). Replayed: the
    /// kernel's counters and listing exactly.
    func testMultiportEitherPortAsRecorded() throws {
        let s = try IPSetTests.stack()
        s.loadRuleset(try IPTablesRestore.translate("""
        *filter
        :INPUT ACCEPT [0:0]
        -A INPUT -i vb -p udp -m multiport --ports 22,80:90
        -A INPUT -i vb -p udp -m multiport ! --ports 53
        -A INPUT -i vb -p udp -m multiport --ports 85
        COMMIT

        """))
        for (k, (sport, dport)) in [(UInt16(22), UInt16(1000)), (1000, 22), (1000, 85), (90, 53), (53, 53), (1000, 2000)].enumerated() {
            _ = s.inject(frame: IPSetTests.frame(IPv4Address(198, 18, 0, 9), .udp(UDPRepr(srcPort: sport, dstPort: dport, payload: [0x78]))),
                         device: s.devices[0], atNs: UInt64(k + 1) * 1_000_000)
        }
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip filter {
        \tchain INPUT {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tiifname "vb" meta l4proto udp udp sport . udp dport { 0-65535 . 22, 22 . 0-65535, 0-65535 . 80, 80 . 0-65535, 0-65535 . 90, 90 . 0-65535 } counter packets 4 bytes 116
        \t\tiifname "vb" meta l4proto udp udp sport . udp dport { 0-65535 . 53, 53 . 0-65535 } counter packets 4 bytes 116
        \t\tiifname "vb" meta l4proto udp udp sport . udp dport { 0-65535 . 85, 85 . 0-65535 } counter packets 1 bytes 29
        \t}
        }

        """)
        XCTAssertEqual(Self.saved(s, "-A"), [
            "-A INPUT -i vb -p udp -m multiport --ports 22,80:90", "-A INPUT -i vb -p udp -m multiport ! --ports 53",
            "-A INPUT -i vb -p udp -m multiport --ports 85",
        ])
    }

    /// scripts/record_nat_chain_conntrack.sh: a nat chain registers the NAT core's hooks but tracks
    /// nothing by itself; the kernel listed no connection.
    func testAnEmptyNatChainTracksNothing() throws {
        let s = try IPSetTests.stack()
        s.loadRuleset(try NFParser.parse("table ip t { chain c { type nat hook prerouting priority -100; }; }\n"))
        _ = s.inject(frame: IPSetTests.frame(IPv4Address(198, 18, 0, 9), .udp(UDPRepr(srcPort: 1000, dstPort: 53, payload: [0x78]))), device: s.devices[0], atNs: 1_000_000)
        XCTAssertEqual(s.conntrackListing, [])
    }

    /// scripts/record_recent.sh: `-m recent` as ufw's `limit` rules write it (xt_recent, listed
    /// as `xt match recent`): four datagrams 50 ms apart, a pause of 2.5 s, two more. Replayed at
    /// the same moments: the kernel's counters, listing and saved lines exactly.
    func testRecentAsRecorded() throws {
        let s = try IPSetTests.stack()
        s.loadRuleset(try IPTablesRestore.translate("""
        *filter
        :INPUT ACCEPT [0:0]
        -A INPUT -i vb -p udp -m recent --set --name DEFAULT --mask 255.255.255.255 --rsource
        -A INPUT -i vb -p udp -m recent --update --seconds 2 --hitcount 3 --name DEFAULT --mask 255.255.255.255 --rsource
        -A INPUT -i vb -p udp -m recent --rcheck --seconds 2 --hitcount 4 --name DEFAULT --rsource
        -A INPUT -i vb -p udp -m recent ! --rcheck --name DEFAULT
        -A INPUT -i vb -p udp -m recent --set --name NET --mask 255.255.255.0 --rdest
        -A INPUT -i vb -p udp -m recent --rcheck --hitcount 2 --name NET --mask 255.255.255.0 --rdest
        -A INPUT -i vb -p udp -m recent --remove --name NONE
        COMMIT

        """))
        for ms in [0, 50, 100, 150, 2_700, 2_750] as [UInt64] {
            _ = s.inject(frame: IPSetTests.frame(IPv4Address(198, 18, 0, 9), .udp(UDPRepr(srcPort: 1000, dstPort: 53, payload: [0x78]))),
                         device: s.devices[0], atNs: 1_000_000 + ms * 1_000_000)
        }
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip filter {
        \tchain INPUT {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tiifname "vb" meta l4proto udp xt match recent counter packets 6 bytes 174
        \t\tiifname "vb" meta l4proto udp xt match recent counter packets 2 bytes 58
        \t\tiifname "vb" meta l4proto udp xt match recent counter packets 2 bytes 58
        \t\tiifname "vb" meta l4proto udp xt match recent counter packets 0 bytes 0
        \t\tiifname "vb" meta l4proto udp xt match recent counter packets 6 bytes 174
        \t\tiifname "vb" meta l4proto udp xt match recent counter packets 5 bytes 145
        \t\tiifname "vb" meta l4proto udp xt match recent counter packets 0 bytes 0
        \t}
        }

        """)
        XCTAssertEqual(Self.saved(s, "-A"), [
            "-A INPUT -i vb -p udp -m recent --set --name DEFAULT --mask 255.255.255.255 --rsource",
            "-A INPUT -i vb -p udp -m recent --update --seconds 2 --hitcount 3 --name DEFAULT --mask 255.255.255.255 --rsource",
            "-A INPUT -i vb -p udp -m recent --rcheck --seconds 2 --hitcount 4 --name DEFAULT --mask 255.255.255.255 --rsource",
            "-A INPUT -i vb -p udp -m recent ! --rcheck --name DEFAULT --mask 255.255.255.255 --rsource",
            "-A INPUT -i vb -p udp -m recent --set --name NET --mask 255.255.255.0 --rdest",
            "-A INPUT -i vb -p udp -m recent --rcheck --hitcount 2 --name NET --mask 255.255.255.0 --rdest",
            "-A INPUT -i vb -p udp -m recent --remove --name NONE --mask 255.255.255.255 --rsource",
        ])
        // A checkpoint keeps the lists: a stack restored from it holds the same entries and stamps,
        // and the next datagram (in the window again: the fourth stamp since 2.7 s) counts alike.
        let state = s.runtimeState()
        XCTAssertEqual(state.recent?.map(\.name), ["DEFAULT", "NET", "NONE"])   // a rule naming a list makes it
        XCTAssertEqual(state.recent?.first?.entries.map(\.nstamps), [8])
        let back = try IPSetTests.stack()
        back.loadRuleset(s.ruleset)
        _ = back.advance(toNs: s.clockNs)
        back.restoreRuntime(state)
        XCTAssertEqual(back.runtimeState().recent, state.recent)
        for stack in [s, back] {
            _ = stack.inject(frame: IPSetTests.frame(IPv4Address(198, 18, 0, 9), .udp(UDPRepr(srcPort: 1000, dstPort: 53, payload: [0x78]))),
                             device: stack.devices[0], atNs: 2_801_000_000)
        }
        // (The restored stack's rule counters start at zero: the ruleset's own checkpoint keeps those.)
        XCTAssertEqual(back.listRuleset(handles: false).split(separator: "\n").filter { $0.contains("recent") }.map { $0.split(separator: " ")[10] },
                       ["1", "1", "1", "0", "1", "1", "0"])
        XCTAssertEqual(s.listRuleset(handles: false).split(separator: "\n").filter { $0.contains("recent") }.map { $0.split(separator: " ")[10] },
                       ["7", "3", "3", "0", "7", "6", "0"])
    }

    /// scripts/record_xt_header_matches.sh: -m length, ttl, pkttype, mac, dscp and tos (xtables
    /// matches in iptables-nft, listed by their translations; tos by none), four datagrams with
    /// other TTLs, TOS bytes and lengths, the last to the broadcast address. Replayed: the kernel's
    /// counters, listing and saved lines exactly.
    func testHeaderMatchesAsRecorded() throws {
        let s = try IPSetTests.stack()
        s.loadRuleset(try IPTablesRestore.translate("""
        *filter
        :INPUT ACCEPT [0:0]
        -A INPUT -i vb -m length --length 100:200
        -A INPUT -i vb -m length ! --length 29
        -A INPUT -i vb -m ttl --ttl-eq 64
        -A INPUT -i vb -m ttl --ttl-gt 10
        -A INPUT -i vb -m ttl --ttl-lt 5
        -A INPUT -i vb -m ttl ! --ttl-eq 1
        -A INPUT -i vb -m pkttype --pkt-type broadcast
        -A INPUT -i vb -m pkttype ! --pkt-type unicast
        -A INPUT -i vb -m mac --mac-source 02:00:00:00:00:09
        -A INPUT -i vb -m mac ! --mac-source 02:00:00:00:00:09
        -A INPUT -i vb -m dscp --dscp 0x02
        -A INPUT -i vb -m dscp ! --dscp-class AF11
        -A INPUT -i vb -m tos --tos 0x10
        -A INPUT -i vb -m tos --tos Minimize-Delay
        -A INPUT -i vb -m tos ! --tos 0x08/0x0f
        COMMIT

        """))
        let sent: [(UInt8, UInt8, Int, IPv4Address)] = [(64, 0x10, 1, IPv4Address(198, 18, 0, 1)), (3, 0x08, 122, IPv4Address(198, 18, 0, 1)),
                                                        (1, 0x13, 36, IPv4Address(198, 18, 0, 1)), (64, 0x28, 1, IPv4Address(198, 18, 0, 255))]
        for (k, (ttl, tos, n, dst)) in sent.enumerated() {
            let ether = EthernetRepr(dst: dst.raw & 0xff == 0xff ? MACAddress(0xff, 0xff, 0xff, 0xff, 0xff, 0xff) : MACAddress(0x02, 0, 0, 0, 0, 0x01),
                                     src: MACAddress(0x02, 0, 0, 0, 0, 0x09), ethertype: EtherType.ipv4)
            var ip = IPv4Repr(src: IPv4Address(198, 18, 0, 9), dst: dst, proto: IPProtocol.udp, ttl: ttl, ident: 1, payloadLength: 0)
            ip.tos = tos
            let frame = FrameRepr(ethernet: ether, network: .ipv4(ip, .udp(UDPRepr(srcPort: 1000, dstPort: 53, payload: [UInt8](repeating: 0x78, count: n))))).emit()
            _ = s.inject(frame: frame, device: s.devices[0], atNs: UInt64(k + 1) * 1_000_000)
        }
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip filter {
        \tchain INPUT {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tiifname "vb" meta length 100-200 counter packets 1 bytes 150
        \t\tiifname "vb" meta length != 29 counter packets 2 bytes 214
        \t\tiifname "vb" ip ttl 64 counter packets 2 bytes 58
        \t\tiifname "vb" ip ttl gt 10 counter packets 2 bytes 58
        \t\tiifname "vb" ip ttl lt 5 counter packets 2 bytes 214
        \t\tiifname "vb" ip ttl != 1 counter packets 3 bytes 208
        \t\tiifname "vb" pkttype broadcast counter packets 1 bytes 29
        \t\tiifname "vb" pkttype != unicast counter packets 1 bytes 29
        \t\tiifname "vb" ether saddr 02:00:00:00:00:09 counter packets 4 bytes 272
        \t\tiifname "vb" ether saddr != 02:00:00:00:00:09 counter packets 0 bytes 0
        \t\tiifname "vb" ip dscp 0x02 counter packets 1 bytes 150
        \t\tiifname "vb" ip dscp != 0x0a counter packets 3 bytes 243
        \t\tiifname "vb" xt match tos counter packets 1 bytes 29
        \t\tiifname "vb" xt match tos counter packets 1 bytes 29
        \t\tiifname "vb" xt match tos counter packets 2 bytes 93
        \t}
        }

        """)
        XCTAssertEqual(Self.saved(s, "-A"), [
            "-A INPUT -i vb -m length --length 100:200", "-A INPUT -i vb -m length ! --length 29", "-A INPUT -i vb -m ttl --ttl-eq 64",
            "-A INPUT -i vb -m ttl --ttl-gt 10", "-A INPUT -i vb -m ttl --ttl-lt 5", "-A INPUT -i vb -m ttl ! --ttl-eq 1",
            "-A INPUT -i vb -m pkttype --pkt-type broadcast", "-A INPUT -i vb -m pkttype ! --pkt-type unicast",
            "-A INPUT -i vb -m mac --mac-source 02:00:00:00:00:09", "-A INPUT -i vb -m mac ! --mac-source 02:00:00:00:00:09",
            "-A INPUT -i vb -m dscp --dscp 0x02", "-A INPUT -i vb -m dscp ! --dscp 0x0a", "-A INPUT -i vb -m tos --tos 0x10/0xff",
            "-A INPUT -i vb -m tos --tos 0x10/0x3f", "-A INPUT -i vb -m tos ! --tos 0x08/0x0f",
        ])
    }

    /// scripts/record_owner.sh: `-m owner` in OUTPUT (xt_owner; one id test alone listed as skuid
    /// or skgid, the rest as `xt match owner`), over a process's datagram, the kernel's port
    /// unreachable and its reset (sockets without a file, so without ids). Replayed: the kernel's
    /// counters, listing and saved lines exactly.
    func testOwnerAsRecorded() throws {
        let dev = DeviceConfig(name: "vb", mac: MACAddress(0x02, 0, 0, 0, 0, 0x01), addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        let s = try Stack(config: StackConfig(name: "kb", devices: [dev], sockets: [SocketConfig(id: 1, proto: .udp, port: 5000)]))
        s.loadRuleset(try IPTablesRestore.translate("""
        *filter
        :OUTPUT ACCEPT [0:0]
        -A OUTPUT -o vb -m owner --uid-owner 0
        -A OUTPUT -o vb -m owner ! --uid-owner 0
        -A OUTPUT -o vb -m owner --socket-exists
        -A OUTPUT -o vb -m owner ! --socket-exists
        -A OUTPUT -o vb -m owner --gid-owner 0-10
        -A OUTPUT -o vb -m owner --uid-owner 1000
        -A OUTPUT -o vb -m owner ! --uid-owner 1000 ! --gid-owner 1000
        COMMIT

        """))
        _ = s.send([Send(socket: 1, dst: IPv4Address(198, 18, 0, 9), port: 9, payload: [0x78], atNs: 1_000_000)])
        _ = s.inject(frame: IPSetTests.frame(IPv4Address(198, 18, 0, 9), .udp(UDPRepr(srcPort: 1000, dstPort: 7, payload: [0x78]))), device: s.devices[0], atNs: 2_000_000)
        _ = s.inject(frame: IPSetTests.frame(IPv4Address(198, 18, 0, 9), .tcp(TCPRepr(srcPort: 1000, dstPort: 7, flags: .syn, window: 8192))), device: s.devices[0], atNs: 3_000_000)
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip filter {
        \tchain OUTPUT {
        \t\ttype filter hook output priority filter; policy accept;
        \t\toifname "vb" skuid 0 counter packets 1 bytes 29
        \t\toifname "vb" skuid != 0 counter packets 2 bytes 97
        \t\toifname "vb" xt match owner counter packets 3 bytes 126
        \t\toifname "vb" xt match owner counter packets 0 bytes 0
        \t\toifname "vb" skgid 0-10 counter packets 1 bytes 29
        \t\toifname "vb" skuid 1000 counter packets 0 bytes 0
        \t\toifname "vb" xt match owner counter packets 3 bytes 126
        \t}
        }

        """)
        XCTAssertEqual(Self.saved(s, "-A"), [
            "-A OUTPUT -o vb -m owner --uid-owner 0", "-A OUTPUT -o vb -m owner ! --uid-owner 0", "-A OUTPUT -o vb -m owner --socket-exists",
            "-A OUTPUT -o vb -m owner ! --socket-exists", "-A OUTPUT -o vb -m owner --gid-owner 0-10", "-A OUTPUT -o vb -m owner --uid-owner 1000",
            "-A OUTPUT -o vb -m owner ! --uid-owner 1000 ! --gid-owner 1000",
        ])
    }

    /// scripts/record_connlimit.sh: `-m connlimit` (xt_connlimit, listed as `xt match connlimit`),
    /// four SYNs to a listener from two addresses of one /24, the connections left open. Replayed:
    /// the kernel's counters, listing and saved lines exactly.
    func testConnlimitAsRecorded() throws {
        let s = try IPSetTests.stack()
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .tcp, port: 22)))
        s.loadRuleset(try IPTablesRestore.translate("""
        *filter
        :INPUT ACCEPT [0:0]
        -A INPUT -i vb -p tcp --syn --dport 22 -m connlimit --connlimit-above 1
        -A INPUT -i vb -p tcp --syn --dport 22 -m connlimit --connlimit-upto 2
        -A INPUT -i vb -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 --connlimit-mask 24
        -A INPUT -i vb -p tcp --syn --dport 22 -m connlimit --connlimit-above 3 --connlimit-daddr
        COMMIT

        """))
        for (k, (last, sport)) in [(UInt8(9), UInt16(1001)), (9, 1002), (10, 1003), (10, 1004)].enumerated() {
            _ = s.inject(frame: IPSetTests.frame(IPv4Address(198, 18, 0, last), .tcp(TCPRepr(srcPort: sport, dstPort: 22, seq: 1, flags: .syn, window: 8192))),
                         device: s.devices[0], atNs: UInt64(k + 1) * 1_000_000)
        }
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip filter {
        \tchain INPUT {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tiifname "vb" tcp flags syn / fin,syn,rst,ack tcp dport 22 xt match connlimit counter packets 2 bytes 80
        \t\tiifname "vb" tcp flags syn / fin,syn,rst,ack tcp dport 22 xt match connlimit counter packets 4 bytes 160
        \t\tiifname "vb" tcp flags syn / fin,syn,rst,ack tcp dport 22 xt match connlimit counter packets 2 bytes 80
        \t\tiifname "vb" tcp flags syn / fin,syn,rst,ack tcp dport 22 xt match connlimit counter packets 1 bytes 40
        \t}
        }

        """)
        XCTAssertEqual(Self.saved(s, "-A"), [
            "-A INPUT -i vb -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 1 --connlimit-mask 32 --connlimit-saddr",
            "-A INPUT -i vb -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-upto 2 --connlimit-mask 32 --connlimit-saddr",
            "-A INPUT -i vb -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 2 --connlimit-mask 24 --connlimit-saddr",
            "-A INPUT -i vb -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 3 --connlimit-mask 32 --connlimit-daddr",
        ])
    }

    /// scripts/record_dscp_target.sh: iptables' DSCP target (xt_DSCP, listed as `ip dscp set`) sets
    /// the DSCP bits of datagrams and keeps their ECN bits; the filter rules see the new TOS byte.
    /// Replayed: the kernel's counters, listing and saved lines exactly.
    func testDSCPTargetAsRecorded() throws {
        let s = try IPSetTests.stack()
        s.loadRuleset(try IPTablesRestore.translate("""
        *mangle
        :PREROUTING ACCEPT [0:0]
        -A PREROUTING -i vb -p udp -j DSCP --set-dscp 0x2e
        -A PREROUTING -i vb -p tcp -j DSCP --set-dscp-class AF11
        COMMIT
        *filter
        :INPUT ACCEPT [0:0]
        -A INPUT -i vb -m dscp --dscp 0x2e
        -A INPUT -i vb -m tos --tos 0xb9/0xff
        -A INPUT -i vb -m dscp --dscp 0x0a
        COMMIT

        """))
        for (k, (tos, proto, l4)) in [(UInt8(0x00), IPProtocol.udp, TransportRepr.udp(UDPRepr(srcPort: 1000, dstPort: 53, payload: [0x78]))),
                                       (0x11, IPProtocol.udp, .udp(UDPRepr(srcPort: 1000, dstPort: 53, payload: [0x78]))),
                                       (0x02, IPProtocol.tcp, .tcp(TCPRepr(srcPort: 1000, dstPort: 22, flags: .syn, window: 8192)))].enumerated() {
            var ip = IPv4Repr(src: IPv4Address(198, 18, 0, 9), dst: IPv4Address(198, 18, 0, 1), proto: proto,
                              ttl: 64, ident: 1, payloadLength: 0)
            ip.tos = tos
            let frame = FrameRepr(ethernet: EthernetRepr(dst: MACAddress(0x02, 0, 0, 0, 0, 0x01), src: MACAddress(0x02, 0, 0, 0, 0xff, 0x01), ethertype: EtherType.ipv4),
                                  network: .ipv4(ip, l4)).emit()
            _ = s.inject(frame: frame, device: s.devices[0], atNs: UInt64(k + 1) * 1_000_000)
        }
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip mangle {
        \tchain PREROUTING {
        \t\ttype filter hook prerouting priority mangle; policy accept;
        \t\tiifname "vb" meta l4proto udp counter packets 2 bytes 58 ip dscp set 0x2e
        \t\tiifname "vb" meta l4proto tcp counter packets 1 bytes 40 ip dscp set 0x0a
        \t}
        }
        table ip filter {
        \tchain INPUT {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tiifname "vb" ip dscp 0x2e counter packets 2 bytes 58
        \t\tiifname "vb" xt match tos counter packets 1 bytes 29
        \t\tiifname "vb" ip dscp 0x0a counter packets 1 bytes 40
        \t}
        }

        """)
        XCTAssertEqual(Self.saved(s, "-A PREROUTING"), [
            "-A PREROUTING -i vb -p udp -j DSCP --set-dscp 0x2e", "-A PREROUTING -i vb -p tcp -j DSCP --set-dscp 0x0a",
        ])
        XCTAssertThrowsError(try IPTablesRestore.translate("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DSCP --set-dscp 1\nCOMMIT\n")) {
            XCTAssertEqual(($0 as? IPTablesError)?.message, "RULE_APPEND failed (Invalid argument): rule in chain INPUT")
        }
    }
}
