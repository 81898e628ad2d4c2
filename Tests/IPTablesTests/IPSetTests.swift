import IPTables
import JSON
import Kernel
import NFTables
import Wire
import XCTest

/// ipsets and iptables' `-m set` as the kernel runs them (scripts/record_ipset.sh recorded them).
final class IPSetTests: XCTestCase {
    static let sets = """
    create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 600
    add f2b-sshd 198.18.0.9 timeout 3
    create nets hash:net family inet hashsize 1024 maxelem 65536 counters comment
    add nets 198.18.0.0/24 comment "lab"
    add nets 198.18.0.12/30 nomatch
    create nport hash:net,port family inet hashsize 1024 maxelem 65536
    add nport 198.18.0.0/28,udp:53
    add nport 198.18.0.12/30,udp:53 nomatch
    create ipn hash:ip,port,net family inet hashsize 1024 maxelem 65536
    add ipn 198.18.0.1,tcp:80,198.18.0.0/24
    create svc hash:ip,port family inet hashsize 1024 maxelem 65536 counters
    add svc 198.18.0.1,udp:53
    add svc 198.18.0.1,tcp:80
    add svc 198.18.0.1,icmp:echo-request
    create pairs hash:ip,port,ip family inet hashsize 1024 maxelem 65536
    add pairs 198.18.0.1,udp:7,198.18.0.9

    """
    static let rules = """
    *filter
    :INPUT ACCEPT [0:0]
    -A INPUT -i vb -m set --match-set f2b-sshd src
    -A INPUT -i vb -m set --match-set nets src
    -A INPUT -i vb -m set --match-set nets src --return-nomatch
    -A INPUT -i vb -m set ! --match-set nets src ! --update-counters
    -A INPUT -i vb -m set --match-set svc dst,dst
    -A INPUT -i vb -m set --match-set svc dst,dst --packets-gt 2
    -A INPUT -i vb -m set --match-set svc dst,dst ! --update-counters --bytes-lt 100
    -A INPUT -i vb -m set --match-set pairs dst,dst,src
    -A INPUT -i vb -m set --match-set svc src,dst
    -A INPUT -i vb -m set --match-set svc dst,dst --packets-eq 2
    -A INPUT -i vb -m set --match-set nport src,dst
    -A INPUT -i vb -m set --match-set ipn dst,dst,src
    COMMIT

    """

    static func stack() throws -> Stack {
        let dev = DeviceConfig(name: "vb", mac: MACAddress(0x02, 0, 0, 0, 0, 0x01), addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        return try Stack(config: StackConfig(name: "kb", devices: [dev]))
    }

    static func frame(_ src: IPv4Address, _ l4: TransportRepr) -> [UInt8] {
        let p: UInt8 = switch l4 { case .udp: IPProtocol.udp; case .tcp: IPProtocol.tcp; default: IPProtocol.icmp }
        return FrameRepr(ethernet: EthernetRepr(dst: MACAddress(0x02, 0, 0, 0, 0, 0x01), src: MACAddress(0x02, 0, 0, 0, 0xff, 0x01), ethertype: EtherType.ipv4),
                         network: .ipv4(IPv4Repr(src: src, dst: IPv4Address(198, 18, 0, 1), proto: p, ttl: 64, ident: 1, payloadLength: 0), l4)).emit()
    }

    /// The recording replayed: the same packets at the same moments give the kernel's rule
    /// counters, listing and set counters exactly.
    func testTheRecordedSetMatches() throws {
        let s = try Self.stack()
        s.setIPSets(try s.preparedIPSets(Self.sets, replace: true), generation: 1)
        s.loadRuleset(try IPTablesRestore.translate(Self.rules, ipsets: s.ipsets.names))
        let a9 = IPv4Address(198, 18, 0, 9), a20 = IPv4Address(198, 18, 0, 20), a12 = IPv4Address(198, 18, 0, 12)
        let dns = TransportRepr.udp(UDPRepr(srcPort: 5000, dstPort: 53, payload: [0x78]))
        let sent: [(IPv4Address, TransportRepr, UInt64)] = [
            (a9, dns, 0), (a20, dns, 100), (a12, dns, 200),
            (a9, .tcp(TCPRepr(srcPort: 5000, dstPort: 80, flags: .syn)), 300),
            (a9, .icmp(ICMPv4Repr(type: 8, code: 0, restOfHeader: 0x0001_0001)), 400),
            (a9, .udp(UDPRepr(srcPort: 5000, dstPort: 7, payload: [0x78])), 500),
            (a9, dns, 4_100),   // after the f2b-sshd element's 3 s
        ]
        for (src, l4, ms) in sent { _ = s.inject(frame: Self.frame(src, l4), device: s.devices[0], atNs: ms * 1_000_000) }
        let counts = ["4 bytes 126", "6 bytes 184", "1 bytes 29", "1 bytes 29", "6 bytes 184", "3 bytes 87", "3 bytes 97", "1 bytes 29",
                      "0 bytes 0", "0 bytes 0", "2 bytes 58", "1 bytes 40"]
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip filter {
        \tchain INPUT {
        \t\ttype filter hook input priority filter; policy accept;

        """ + counts.map { "\t\tiifname \"vb\" xt match set counter packets \($0)\n" }.joined() + "\t}\n}\n")
        // The kernel lists elements in its hash order: compared as sets of lines.
        let saved = s.saveIPSets().split(separator: "\n").map(String.init)
        XCTAssertEqual(Set(saved.filter { $0.hasPrefix("add ") }), [
            "add nets 198.18.0.12/30 nomatch packets 2 bytes 58", "add nets 198.18.0.0/24 packets 12 bytes 368 comment \"lab\"",
            "add nport 198.18.0.0/28,udp:53", "add nport 198.18.0.12/30,udp:53 nomatch", "add ipn 198.18.0.1,tcp:80,198.18.0.0/24",
            "add svc 198.18.0.1,tcp:80 packets 3 bytes 120", "add svc 198.18.0.1,udp:53 packets 12 bytes 348",
            "add svc 198.18.0.1,icmp:echo-request packets 3 bytes 84", "add pairs 198.18.0.1,udp:7,198.18.0.9",
        ])
        XCTAssertEqual(saved.filter { $0.hasPrefix("create ") }.map { $0.replacingOccurrences(of: #" initval 0x[0-9a-f]{8}"#, with: "", options: .regularExpression) }, [
            "create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 600 bucketsize 12",
            "create nets hash:net family inet hashsize 1024 maxelem 65536 counters comment bucketsize 12",
            "create nport hash:net,port family inet hashsize 1024 maxelem 65536 bucketsize 12",
            "create ipn hash:ip,port,net family inet hashsize 1024 maxelem 65536 bucketsize 12",
            "create svc hash:ip,port family inet hashsize 1024 maxelem 65536 counters bucketsize 12",
            "create pairs hash:ip,port,ip family inet hashsize 1024 maxelem 65536 bucketsize 12",
        ])
        // iptables-nft-save -c prints the rules back as the kernel's iptables did.
        let save = IPTablesSave.text(s.liveRuleset, policies: s.policyCounters, header: "t").split(separator: "\n").filter { $0.contains("-A ") }
        XCTAssertEqual(save, Self.rules.split(separator: "\n").filter { $0.hasPrefix("-A ") })
        // nft -j: `{"xt": {"type": "match", "name": "set"}}` after the iifname match.
        guard case .object(let doc) = NFJSON.encode(s.liveRuleset), case .array(let items)? = doc.first(where: { $0.0 == "nftables" })?.1,
              case .object(let rule)? = items.first(where: { if case .object(let o) = $0 { o.first?.0 == "rule" } else { false } }),
              case .object(let r)? = rule.first?.1, case .array(let expr)? = r.first(where: { $0.0 == "expr" })?.1 else { return XCTFail("no rule in the JSON") }
        XCTAssertEqual(expr[1], .object([("xt", .object([("type", .string("match")), ("name", .string("set"))]))]))
    }

    /// Save lines without initval (the kernel draws it at random).
    static func strip(_ save: String) -> [String] {
        save.split(separator: "\n").map { $0.replacingOccurrences(of: #" initval 0x[0-9a-f]{8}"#, with: "", options: .regularExpression) }
    }

    static func save(_ text: String, advanceMs: UInt64 = 0) throws -> [String] {
        let s = try stack()
        s.setIPSets(try s.preparedIPSets(text, replace: true), generation: 1)
        _ = s.advance(toNs: advanceMs * 1_000_000)
        return strip(s.saveIPSets())
    }

    /// Elements and options as ipset 7.17 reads them and saves them back (each read off the real
    /// ipset here): ranges split into prefixes, netmask, ICMP names, default protocol, the order
    /// of an element's extensions, seconds left.
    func testRestoreAndSaveAsIpsetDoes() throws {
        XCTAssertEqual(try Self.save("""
        create z hash:net family inet hashsize 64 maxelem 10 timeout 5 counters comment
        add z 10.9.0.0/16 nomatch timeout 0 comment "c d"
        add z 10.8.0.0-10.8.0.5
        add z 10.0.0.1
        create y hash:ip netmask 24 timeout 9 counters
        add y 9.9.9.9 packets 5 bytes 100
        add y 8.8.8.0/30
        create x hash:ip,port,ip
        add x 1.1.1.1,udp:53,2.2.2.2
        create w hash:ip family inet6 hashsize 3
        add w 2001:DB8::1
        create m hash:ip,port
        add m 1.1.1.1,icmp:3/4
        add m 1.1.1.1,udp:1-3
        add m 1.1.1.1,icmp:echo-reply
        add m 1.1.1.1,tcp:http
        add m 1.1.1.2,80
        add m 1.1.1.1,ipv6:0
        add m 1.1.1.1,icmp:3/16
        """, advanceMs: 1500), [
            "create z hash:net family inet hashsize 64 maxelem 10 timeout 5 counters comment bucketsize 12",
            "add z 10.9.0.0/16 timeout 0 nomatch packets 0 bytes 0 comment \"c d\"",
            "add z 10.8.0.0/30 timeout 3 packets 0 bytes 0", "add z 10.8.0.4/31 timeout 3 packets 0 bytes 0",
            "add z 10.0.0.1 timeout 3 packets 0 bytes 0",
            "create y hash:ip family inet hashsize 1024 maxelem 65536 netmask 24 timeout 9 counters bucketsize 12",
            "add y 9.9.9.0 timeout 7 packets 5 bytes 100", "add y 8.8.8.0 timeout 7 packets 0 bytes 0",
            "create x hash:ip,port,ip family inet hashsize 1024 maxelem 65536 bucketsize 12", "add x 1.1.1.1,udp:53,2.2.2.2",
            "create w hash:ip family inet6 hashsize 64 maxelem 65536 bucketsize 12", "add w 2001:db8::1",
            "create m hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12",
            "add m 1.1.1.1,icmp:fragmentation-needed", "add m 1.1.1.1,udp:1", "add m 1.1.1.1,udp:2", "add m 1.1.1.1,udp:3",
            "add m 1.1.1.1,icmp:echo-reply", "add m 1.1.1.1,tcp:80", "add m 1.1.1.2,tcp:80", "add m 1.1.1.1,ipv6:0", "add m 1.1.1.1,icmp:3/16",
        ])
    }

    /// ipset's messages (read off ipset 7.17 here), with the line; a batch that fails changes nothing.
    func testRefusals() throws {
        let s = try Self.stack()
        for (text, line, message) in [
            ("create a hash:ip\ncreate a hash:ip", 2, "Set cannot be created: set with the same name already exists"),
            ("create b hash:ip\nadd b 1.2.3.4\nadd b 1.2.3.4", 3, "Element cannot be added to the set: it's already added"),
            ("add nosuch 1.2.3.4", 1, "The set with the given name does not exist"),
            ("create c hash:ip\nadd c 1.2.3.400", 2, "Syntax error: cannot parse 1.2.3.400: resolving to IPv4 address failed"),
            ("create d hash:ip maxelem 1\nadd d 1.1.1.1\nadd d 1.1.1.2", 3, "Hash is full, cannot add more elements"),
            ("create e hash:foo", 1, "Syntax error: typename 'hash:foo' is unknown"),
            ("create g hash:ip,port\nadd g 1.1.1.1", 2, "Syntax error: Second element is missing from 1.1.1.1."),
            ("create h hash:net\nadd h 1.1.1.1/0", 2, "The value of the CIDR parameter of the IP address is invalid"),
            ("create h hash:net\nadd h 10.3.0.0/33", 2, "Syntax error: '33' is out of range 0-32"),
            ("create h hash:net\nadd h 10.3.0.0/24 timeout 5", 2, "Timeout cannot be used: set was created without timeout support"),
            ("create c hash:ip\nadd c 1.1.1.1 packets 5", 2, "Packet/byte counters cannot be used: set was created without counter support"),
            ("create c hash:ip\nadd c 1.1.1.1 nomatch", 2, "Unknown argument: `nomatch'"),
            ("create c hash:ip\nadd c 1.1.1.1 comment \"x\"", 2, "Comment cannot be used: set was created without comment support"),
            ("create verylongname_verylongname_123456 hash:ip", 1, "Syntax error: setname 'verylongname_verylongname_123456' is longer than 31 characters"),
            ("create v hash:ip timeout 2147484", 1, "Syntax error: '2147484' is out of range 0-2147483"),
            ("create r hash:ip\ndel r 1.1.1.1", 2, "Element cannot be deleted from the set: it's not added"),
            ("create s hash:ip foo 1", 1, "Unknown argument: `foo'"),
            ("create m hash:ip,port\nadd m 1.1.1.1,icmp:0", 2, "Cannot parse 0 as an ICMP type/code."),
            ("create m hash:ip,port\nadd m 1.1.1.1,gre:5", 2, "Syntax error: Protocol gre can be used with pseudo port value 0 only."),
            ("create w hash:ip family inet6\nadd w 2001:db8::/127", 2, "Syntax error: plain IP address must be supplied: 2001:db8::/127"),
            ("create a hash:ip\nrename a verylongname_verylongname_123456", 2, "Syntax error: setname 'verylongname_verylongname_123456' is longer than 31 characters"),
            ("create o bitmap:port range 0-1000", 1, "not supported yet: ipset type bitmap:port"),
            ("create p hash:ip forceadd", 1, "not supported yet: ipset forceadd"),
            ("create a hash:ip\ncreate c hash:net\nswap a c", 3, "The sets cannot be swapped: their type does not match"),
            ("create a hash:ip\ncreate d hash:ip family inet6\nswap a d", 3, "The sets cannot be swapped: their type does not match"),
            ("create a hash:ip\nswap a zz", 2, "Sets cannot be swapped: the second set does not exist"),
        ] as [(String, Int, String)] {
            XCTAssertThrowsError(try s.preparedIPSets(text, replace: false), text) {
                let e = $0 as! IPSetError
                XCTAssertEqual(e.line, line, text)
                XCTAssertEqual(e.message, message, text)
                XCTAssertEqual(e.unsupported, message.hasPrefix("not supported yet"), text)
            }
        }
        XCTAssertTrue(s.ipsets.sets.isEmpty)
        // -exist: the same create again, an element again (its timeout renewed), a delete of none.
        s.setIPSets(try s.preparedIPSets("create a hash:ip timeout 9\nadd a 1.1.1.1\ncreate a hash:ip timeout 9 -exist\nadd a 1.1.1.1 timeout 60 -exist\ndel a 2.2.2.2 -!", replace: false), generation: 1)
        XCTAssertEqual(s.saveIPSets().split(separator: "\n").last, "add a 1.1.1.1 timeout 60")
        // swap (read off ipset here): names and places exchanged, what each held stays with it.
        s.setIPSets(try s.preparedIPSets("create a hash:ip\ncreate b hash:ip timeout 5\nadd a 1.1.1.1\nadd b 2.2.2.2\nswap a b", replace: true), generation: 2)
        XCTAssertEqual(Self.strip(s.saveIPSets()), ["create a hash:ip family inet hashsize 1024 maxelem 65536 timeout 5 bucketsize 12", "add a 2.2.2.2 timeout 5",
                                                   "create b hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12", "add b 1.1.1.1"])
    }

    /// libxt_set's refusals, with the column of the word at fault; a set named must exist.
    func testSetMatchRefusals() throws {
        for (rule, message) in [
            ("-A INPUT -m set --match-set nosuch src", "Set nosuch doesn't exist."),
            ("-A INPUT -m set --match-set a src,dst,dst,src,dst,src,dst", "Can't be more src/dst options than 6."),
            ("-A INPUT -m set --match-set a foo", "You must spefify (the comma separated list of) 'src' or 'dst'."),
            ("-A INPUT -m set -j ACCEPT", "You must specify `--match-set' with proper arguments"),
            ("-A INPUT -m set --match-set a src --packets-gt x", "Cannot parse x as a counter value"),
            ("-A INPUT -m set --match-set a src ! --packets-gt 3", "--packets-gt option cannot be inverted"),
            ("-A INPUT -m set --match-set a src --packets-gt 3 --packets-lt 9", "only one of the --packets-[eq|lt|gt] is allowed"),
            ("-A INPUT -m set --match-set a src --match-set a dst", "--match-set can be specified only once"),
            ("-A INPUT -m set --match-set a src ! --return-nomatch", "--return-nomatch flag cannot be inverted"),
            ("-A INPUT -m set --match-set a src --bytes-gt 18446744073709551616", "Cannot parse 18446744073709551616 as a counter value"),
        ] {
            XCTAssertThrowsError(try IPTablesRestore.translate("*filter\n\(rule)\nCOMMIT\n", ipsets: ["a"]), rule) {
                XCTAssertEqual(($0 as! IPTablesError).message, message, rule)
            }
        }
        // Printed back in libxt_set's order whatever the order written (`--set` is the old spelling).
        let rs = try IPTablesRestore.translate("*filter\n-A INPUT -m set --packets-gt 5 --set a src,dst,dst ! --update-counters --return-nomatch -j ACCEPT\n"
                                               + "-A INPUT -m set --match-set a src ! --packets-eq 3 ! --bytes-eq 4 ! --update-subcounters\nCOMMIT\n", ipsets: ["a"])
        XCTAssertEqual(IPTablesSave.text(rs, policies: [:], header: "t").split(separator: "\n").filter { $0.hasPrefix("-A") }, [
            "-A INPUT -m set --match-set a src,dst,dst --return-nomatch ! --update-counters --packets-gt 5 -j ACCEPT",
            "-A INPUT -m set --match-set a src ! --update-subcounters ! --packets-eq 3 ! --bytes-eq 4",
        ])
        // A stored version reads back with the match's parameters (from the rule's iptables line).
        let back = try NFParser.parse(NFPrinter.ruleset(rs, handles: true, origins: true), checkpoint: true)
        XCTAssertEqual(back.tables[0].chains[0].rules.map(\.statements), rs.tables[0].chains[0].rules.map(\.statements))
        XCTAssertEqual(back.tables[0].chains[0].rules[0].statements[0], .xtSet({
            var m = NFXtSetMatch(name: "a", source: [true, false, false]); m.returnNomatch = true; m.updateCounters = false; m.packets = (.gt, 5); return m
        }()))
        // A comment that reads like options is one word of the line, not a match.
        let commented = try IPTablesRestore.translate("*filter\n-A INPUT -m comment --comment \"x -m set --match-set b dst\" -m set --match-set a src\nCOMMIT\n", ipsets: ["a"])
        let reread = try NFParser.parse(NFPrinter.ruleset(commented, handles: true, origins: true), checkpoint: true)
        XCTAssertEqual(reread.tables[0].chains[0].rules[0].statements.first, .xtSet(NFXtSetMatch(name: "a", source: [true])))
        // nft itself reads no xt expressions.
        XCTAssertThrowsError(try NFParser.parse("table ip filter { chain INPUT { xt match set counter; }; }"))
    }

    /// -j SET (scripts/record_ipset_target.sh, on the kernel): datagrams to port 54 add their source
    /// to `seen` (timeout 10, counters), to 53 with --exist --timeout 60, to 55 delete it; every
    /// datagram's source and port go into `pairs`. As the kernel did: an added element's counters
    /// start at its packet; --exist renews the timeout and starts the counters again; without it an
    /// element already there is left alone.
    func testTheSetTargetAddsAndDeletes() throws {
        let s = try Self.stack()
        s.setIPSets(try s.preparedIPSets("""
        create seen hash:ip family inet hashsize 1024 maxelem 65536 timeout 10 counters
        create pairs hash:ip,port family inet hashsize 1024 maxelem 65536
        """, replace: true), generation: 1)
        let rules = """
        *filter
        :INPUT ACCEPT [0:0]
        -A INPUT -i vb -m set --match-set seen src
        -A INPUT -i vb -p udp -m udp --dport 54 -j SET --add-set seen src
        -A INPUT -i vb -p udp -m udp --dport 53 -j SET --add-set seen src --exist --timeout 60
        -A INPUT -i vb -p udp -m udp --dport 55 -j SET --del-set seen src
        -A INPUT -i vb -p udp -j SET --add-set pairs src,dst
        -A INPUT -i vb -m set --match-set seen src
        COMMIT

        """
        s.loadRuleset(try IPTablesRestore.translate(rules, ipsets: s.ipsets.names))
        var t: UInt64 = 0
        func step(_ port: UInt16, after ms: UInt64) -> [String] {
            t += ms * 1_000_000
            _ = s.inject(frame: Self.frame(IPv4Address(198, 18, 0, 9), .udp(UDPRepr(srcPort: 5000, dstPort: port, payload: [0x78]))), device: s.devices[0], atNs: t)
            _ = s.advance(toNs: t + 300_000_000)
            return s.saveIPSets().split(separator: "\n").filter { $0.hasPrefix("add seen") }.map(String.init)
        }
        XCTAssertEqual(step(54, after: 0), ["add seen 198.18.0.9 timeout 9 packets 2 bytes 58"])
        XCTAssertEqual(step(53, after: 2_300), ["add seen 198.18.0.9 timeout 59 packets 2 bytes 58"])
        XCTAssertEqual(step(54, after: 300), ["add seen 198.18.0.9 timeout 59 packets 4 bytes 116"])
        XCTAssertEqual(step(55, after: 300), [])
        XCTAssertEqual(step(54, after: 300), ["add seen 198.18.0.9 timeout 9 packets 2 bytes 58"])
        XCTAssertEqual(Set(s.saveIPSets().split(separator: "\n").filter { $0.hasPrefix("add pairs") }),
                       ["add pairs 198.18.0.9,udp:53", "add pairs 198.18.0.9,udp:54", "add pairs 198.18.0.9,udp:55"])
        // The kernel's `nft list chain ip filter INPUT`, word for word.
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip filter {
        \tchain INPUT {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tiifname "vb" xt match set counter packets 3 bytes 87
        \t\tiifname "vb" udp dport 54 counter packets 3 bytes 87 xt target SET
        \t\tiifname "vb" udp dport 53 counter packets 1 bytes 29 xt target SET
        \t\tiifname "vb" udp dport 55 counter packets 1 bytes 29 xt target SET
        \t\tiifname "vb" meta l4proto udp counter packets 5 bytes 145 xt target SET
        \t\tiifname "vb" xt match set counter packets 4 bytes 116
        \t}
        }

        """)
        XCTAssertEqual(IPTablesSave.text(s.liveRuleset, policies: [:], header: "t").split(separator: "\n").filter { $0.hasPrefix("-A") },
                       rules.split(separator: "\n").filter { $0.hasPrefix("-A") })
        // A stored version reads back with the target's parameters.
        let back = try NFParser.parse(NFPrinter.ruleset(s.liveRuleset, handles: true, origins: true), checkpoint: true)
        XCTAssertEqual(back.tables[0].chains[0].rules.map(\.statements), s.liveRuleset.tables[0].chains[0].rules.map(\.statements))
        for (rule, message) in [
            ("-A INPUT -j SET --timeout 5", "You must specify either `--add-set' or `--del-set' or `--map-set'"),
            ("-A INPUT -j SET --add-set nosuch src", "Set nosuch doesn't exist."),
            ("-A INPUT -j SET --add-set seen src --add-set pairs src,dst", "--add-set can be specified only once"),
            ("-A INPUT -j SET --add-set seen foo", "You must spefify (the comma separated list of) 'src' or 'dst'."),
            ("-A INPUT -j SET --map-set seen src --map-mark", "not supported yet: -j SET --map-set (skbinfo)"),
        ] {
            XCTAssertThrowsError(try IPTablesRestore.translate("*filter\n\(rule)\nCOMMIT\n", ipsets: s.ipsets.names), rule) {
                XCTAssertEqual(($0 as! IPTablesError).message, message, rule)
            }
        }
    }
}
