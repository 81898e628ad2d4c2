@testable import Kernel
import NFTables
import Wire
import XCTest

/// ct helper, timeout and expectation objects, and the ftp helper (recorded on the kernel:
/// `ftp_helper_1`, `ct_expect_1`; these check what the oracle cannot see: timeouts, the parsers'
/// other commands, a command cut short).
final class ConntrackObjectTests: XCTestCase {
    func load(_ s: Stack, _ text: String) throws { s.loadRuleset(try NFParser.parse(text)) }

    func udp(_ dport: UInt16) -> [UInt8] { frame(.udp(UDPRepr(srcPort: 1000, dstPort: dport, payload: [1]))) }

    /// nft_ct_timeout_obj_eval: a new entry takes the policy's first state's timeout; later
    /// packets refresh it with the policy's values, not the defaults. A confirmed entry is left alone.
    func testATimeoutPolicySetsTheEntrysTimeouts() throws {
        let s = try makeStack()
        try load(s, """
        table ip t {
        \tct timeout u {
        \t\tprotocol udp; policy = { unreplied : 10, replied : 20 };
        \t}
        \tchain i {
        \t\ttype filter hook input priority 0;
        \t\tct timeout set udp dport map { 9 : "u" }
        \t}
        }

        """)
        _ = s.inject(frame: udp(9), device: s.devices[0])
        XCTAssertEqual(s.conntrackEntries.map(\.timeout), [10])
        // Unreplied: refreshed with the policy's 10 s, so still there at 15 s and gone at 19 s.
        _ = s.inject(frame: udp(9), device: s.devices[0], atNs: 5_000_000_000)
        XCTAssertEqual(s.conntrackEntries.map(\.timeout), [10])
        s.advance(toNs: 14_000_000_000)
        XCTAssertEqual(s.conntrackEntries.count, 1)
        s.advance(toNs: 16_000_000_000)
        XCTAssertEqual(s.conntrackEntries.count, 0)
        // The entry a UDP packet to 10 makes keeps the default.
        _ = s.inject(frame: udp(10), device: s.devices[0], atNs: 20_000_000_000)
        XCTAssertEqual(s.conntrackEntries.map(\.timeout), [30])
    }

    /// nft_ct_expect_obj_eval: only the first packet of an entry sets an expectation (a later
    /// one breaks the rule), and no more than `size` are held at once.
    func testAnExpectationIsSetFromTheFirstPacketOnly() throws {
        let s = try makeStack()
        try load(s, """
        table ip t {
        \tct expectation e {
        \t\tprotocol udp; dport 5004; timeout 1m; size 1; l3proto ip;
        \t}
        \tchain i {
        \t\ttype filter hook input priority 0;
        \t\tudp dport 5060 ct expectation set "e" counter
        \t\tct state related counter
        \t}
        }

        """)
        _ = s.inject(frame: udp(5060), device: s.devices[0])
        _ = s.inject(frame: udp(5060), device: s.devices[0])
        XCTAssertEqual(s.ctExpectations.count, 1)
        // Expected from the original destination (the reply tuple's source, here us) to the
        // original source's 5004: the peer's own flow to 5004 is not related.
        XCTAssertEqual(s.ctExpectations.map { "\($0.src) \($0.dst) \($0.dport)" }, ["\(UInt128(ourIP.raw)) \(UInt128(peerIP.raw)) 5004"])
        _ = s.inject(frame: frame(.udp(UDPRepr(srcPort: 7000, dstPort: 5004, payload: [1]))), device: s.devices[0])
        XCTAssertEqual(s.ctExpectations.count, 1)
        let listed = s.listRuleset(handles: false).split(separator: "\n").filter { $0.contains("counter") }.map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(listed, ["udp dport 5060 ct expectation set \"e\" counter packets 1 bytes 29", "ct state related counter packets 0 bytes 0"])
    }

    /// The ftp helper's parsers (nf_conntrack_ftp.c): PORT and EPRT from the client, 227 and 229
    /// from the server, any case; a command cut short is -1 (the kernel drops the packet).
    func testTheFTPCommandParsers() {
        func parse(_ line: String, dir: Int, v6: Bool = false) -> (Int, FTPCommand) {
            var cmd = FTPCommand(addr: 7, v6: v6, port: 0)
            for p in FTPCommand.search[dir] {
                switch FTPCommand.findPattern(Array(line.utf8), p, &cmd) {
                case .none: continue
                case .partial: return (-1, cmd)
                case .command: return (1, cmd)
                }
            }
            return (0, cmd)
        }
        // Where the numbers are (what nf_nat_ftp replaces).
        func place(_ line: String, dir: Int, index: Int) -> FTPCommand.Found {
            var cmd = FTPCommand(addr: 7, v6: false, port: 0)
            return FTPCommand.findPattern(Array(line.utf8), FTPCommand.search[dir][index], &cmd)
        }
        XCTAssertEqual(place("PORT 198,18,0,1,39,16\r\n", dir: 0, index: 0), .command(offset: 5, length: 16))
        XCTAssertEqual(place("EPRT |1|198.18.0.1|6275|\r\n", dir: 0, index: 1), .command(offset: 5, length: 19))
        XCTAssertEqual(place("227 Entering Passive Mode (198,18,1,2,78,32).\r\n", dir: 1, index: 0), .command(offset: 27, length: 16))
        XCTAssertEqual(place("229 Entering Extended Passive Mode (|||6446|)\r\n", dir: 1, index: 1), .command(offset: 36, length: 8))
        // nf_nat_ftp_fmt_cmd: what goes in their place.
        XCTAssertEqual(FTPCommand.format(.pasv, addr: 0xC612_0002, v6: false, port: 20000), "198,18,0,2,78,32")
        XCTAssertEqual(FTPCommand.format(.eprt, addr: 0xC612_0002, v6: false, port: 20000), "|1|198.18.0.2|20000|")
        XCTAssertEqual(FTPCommand.format(.eprt, addr: IPv6Address.parse("2001:db8::1")!, v6: true, port: 5), "|2|2001:0db8:0000:0000:0000:0000:0000:0001|5|")
        XCTAssertEqual(FTPCommand.format(.epsv, addr: 0, v6: false, port: 6446), "|||6446|")
        var (found, cmd) = parse("PORT 198,18,0,1,39,16\r\n", dir: 0)
        XCTAssertEqual([found, Int(cmd.addr), Int(cmd.port)], [1, 0xC612_0001, 10000])
        (found, cmd) = parse("port 10,0,0,9,0,21\r\n", dir: 0)
        XCTAssertEqual([found, Int(cmd.addr), Int(cmd.port)], [1, 0x0A00_0009, 21])
        (found, cmd) = parse("EPRT |1|198.18.0.1|6275|\r\n", dir: 0)
        XCTAssertEqual([found, Int(cmd.addr), Int(cmd.port)], [1, 0xC612_0001, 6275])
        (found, cmd) = parse("EPRT |2|2001:db8::1|6275|\r\n", dir: 0, v6: true)
        XCTAssertEqual([found, Int(cmd.port)], [1, 6275])
        XCTAssertEqual(cmd.addr, IPv6Address.parse("2001:db8::1"))
        // EPRT of the other family: no command.
        XCTAssertEqual(parse("EPRT |2|2001:db8::1|6275|\r\n", dir: 0).0, -1)
        (found, cmd) = parse("227 Entering Passive Mode (198,18,1,2,78,32).\r\n", dir: 1)
        XCTAssertEqual([found, Int(cmd.addr), Int(cmd.port)], [1, 0xC612_0102, 20000])
        // 229 names no address: the server's own stays.
        (found, cmd) = parse("229 Entering Extended Passive Mode (|||6446|)\r\n", dir: 1)
        XCTAssertEqual([found, Int(cmd.addr), Int(cmd.port)], [1, 7, 6446])
        XCTAssertEqual(parse("PORT 198,18,0,1,39", dir: 0).0, -1)
        XCTAssertEqual(parse("POR", dir: 0).0, -1)
        XCTAssertEqual(parse("USER anonymous\r\n", dir: 0).0, 0)
        XCTAssertEqual(parse("230 Login successful.\r\n", dir: 1).0, 0)
        // A server's PORT is no command in its direction.
        XCTAssertEqual(parse("PORT 198,18,0,1,39,16\r\n", dir: 1).0, 0)
    }

    /// A forwarded ftp control connection with a tcp timeout policy: a PORT line cut off at the
    /// packet's end is dropped by the helper (NF_DROP at nf_confirm); the whole line then opens
    /// the data connection.
    func testAPartialCommandIsDroppedAndTheWholeOneExpects() throws {
        let s = try routerStack()
        try load(s, """
        table ip t {
        \tct helper f {
        \t\ttype "ftp" protocol tcp;
        \t}
        \tct timeout tc {
        \t\tprotocol tcp; policy = { syn_sent : 7, established : 122 };
        \t}
        \tchain p {
        \t\ttype filter hook prerouting priority 0;
        \t\ttcp dport 21 ct helper set "f" ct timeout set "tc"
        \t}
        }

        """)
        let client = IPv4Address(198, 18, 0, 1), server = IPv4Address(198, 18, 1, 2)
        func c(_ seq: UInt32, _ ack: UInt32, _ flags: TCPFlags, _ text: String = "") -> PacketResult {
            s.inject(frame: frame(dstMAC: MACAddress(2, 0, 0, 0, 0, 2), src: client, dst: server,
                                  .tcp(TCPRepr(srcPort: 40100, dstPort: 21, seq: seq, ack: ack, flags: flags, payload: Array(text.utf8)))), device: s.devices[0])
        }
        func fromServer(_ sport: UInt16, _ dport: UInt16, _ seq: UInt32, _ ack: UInt32, _ flags: TCPFlags) -> PacketResult {
            s.inject(frame: frame(dstMAC: MACAddress(2, 0, 0, 0, 1, 1), src: server, dst: client,
                                  .tcp(TCPRepr(srcPort: sport, dstPort: dport, seq: seq, ack: ack, flags: flags))), device: s.devices[1])
        }
        // The policy's syn_sent (the default is 120 s), then its established (432000).
        _ = c(1000, 0, .syn)
        XCTAssertEqual(s.conntrackEntries.map { "\($0.state ?? "") \($0.timeout)" }, ["SYN_SENT 7"])
        _ = fromServer(21, 40100, 5000, 1001, [.syn, .ack])
        _ = c(1001, 5001, .ack)
        XCTAssertEqual(s.conntrackEntries.map { "\($0.state ?? "") \($0.timeout)" }, ["ESTABLISHED 122"])
        XCTAssertEqual(c(1001, 5001, [.psh, .ack], "USER a\r\n").outcome, .forwarded)
        let partial = c(1009, 5001, [.psh, .ack], "PORT 198,18,0,1,39")
        XCTAssertEqual(partial.dropReason, .NETFILTER_DROP)
        XCTAssertEqual(s.ctExpectations.count, 0)
        XCTAssertEqual(c(1009, 5001, [.psh, .ack], "PORT 198,18,0,1,39,16\r\n").outcome, .forwarded)
        XCTAssertEqual(s.ctExpectations.map { "\($0.src) \($0.dst) \($0.dport)" }, ["\(UInt128(server.raw)) \(UInt128(client.raw)) 10000"])
        // A checkpoint keeps the helper, its line positions, the policy and the expectation.
        let saved = s.conntrackCheckpoint()
        let t = try routerStack()
        t.advance(toNs: s.clockNs)
        XCTAssertTrue(t.restoreConntrack(checkpoint: saved))
        XCTAssertEqual(t.conntrackCheckpoint(), saved)
        XCTAssertEqual(t.ctExpectations.map { "\($0.src) \($0.dst) \($0.dport)" }, s.ctExpectations.map { "\($0.src) \($0.dst) \($0.dport)" })
        XCTAssertFalse(try routerStack().restoreConntrack(checkpoint: Array(saved.dropLast())))
        // The data connection: related, its entry made from the expectation (no helper of its own),
        // the same in the restored stack.
        _ = fromServer(20, 10000, 9000, 0, .syn)
        XCTAssertEqual(s.conntrackEntries.map { "\($0.original.sport ?? 0) \($0.helper ?? "-")" }, ["40100 ftp", "20 -"])
        XCTAssertEqual(s.conntrackListing[0].hasSuffix("mark=0 helper=ftp use=1"), true)
        try load(t, "table ip r {\n\tchain f {\n\t\ttype filter hook forward priority 0;\n\t\tct state related ct helper \"ftp\" counter\n\t}\n}\n")
        _ = t.inject(frame: frame(dstMAC: MACAddress(2, 0, 0, 0, 1, 1), src: server, dst: client,
                                  .tcp(TCPRepr(srcPort: 20, dstPort: 10000, seq: 9000, flags: .syn))), device: t.devices[1])
        XCTAssertEqual(t.conntrackListing, s.conntrackListing)
        XCTAssertTrue(t.listRuleset(handles: false).contains("ct state related ct helper \"ftp\" counter packets 1 bytes 40"))
    }

    /// A DNATed control connection (the recorded ftp_nat_1's exchange): after the 227 line is
    /// rewritten 3 bytes shorter, a checkpoint keeps the sequence adjustment and the NATed
    /// expectation, so the restored stack moves the next segment's numbers and NATs the data
    /// connection exactly as the original does.
    func testACheckpointKeepsTheSequenceAdjustmentAndTheNATedExpectation() throws {
        func stack() throws -> Stack {
            let s = try routerStack()
            try load(s, """
            table ip nat {
            \tchain p {
            \t\ttype nat hook prerouting priority dstnat;
            \t\tip daddr 198.18.0.2 tcp dport 21 dnat to 203.0.113.100
            \t}
            }
            table ip f {
            \tct helper h {
            \t\ttype "ftp" protocol tcp;
            \t}
            \tchain p {
            \t\ttype filter hook prerouting priority 0;
            \t\ttcp dport 21 ct helper set "h"
            \t}
            }

            """)
            return s
        }
        let s = try stack()
        let client = IPv4Address(198, 18, 0, 1), server = IPv4Address(203, 0, 113, 100)
        func c(_ t: Stack, _ sport: UInt16, _ dport: UInt16, _ seq: UInt32, _ ack: UInt32, _ flags: TCPFlags, _ text: String = "") -> PacketResult {
            t.inject(frame: frame(dstMAC: MACAddress(2, 0, 0, 0, 0, 2), src: client, dst: IPv4Address(198, 18, 0, 2),
                                  .tcp(TCPRepr(srcPort: sport, dstPort: dport, seq: seq, ack: ack, flags: flags, payload: Array(text.utf8)))), device: t.devices[0])
        }
        func sv(_ t: Stack, _ sport: UInt16, _ dport: UInt16, _ seq: UInt32, _ ack: UInt32, _ flags: TCPFlags, _ text: String = "") -> PacketResult {
            t.inject(frame: frame(dstMAC: MACAddress(2, 0, 0, 0, 1, 1), src: server, dst: client,
                                  .tcp(TCPRepr(srcPort: sport, dstPort: dport, seq: seq, ack: ack, flags: flags, payload: Array(text.utf8)))), device: t.devices[1])
        }
        let pasv = "227 Entering Passive Mode (203,0,113,100,78,32)\r\n"
        _ = c(s, 40100, 21, 1000, 0, .syn)
        _ = sv(s, 21, 40100, 5000, 1001, [.syn, .ack])
        _ = c(s, 40100, 21, 1001, 5001, .ack)
        _ = sv(s, 21, 40100, 5001, 1001, [.psh, .ack], "220 ready\r\n")
        let rewritten = sv(s, 21, 40100, 5012, 1001, [.psh, .ack], pasv)
        // The line as the client gets it: the address it connected to, 3 bytes shorter.
        XCTAssertEqual(String(decoding: rewritten.emitted[0].frame.suffix(46), as: UTF8.self), "227 Entering Passive Mode (198,18,0,2,78,32)\r\n")
        let saved = s.conntrackCheckpoint()
        let t = try stack()
        t.advance(toNs: s.clockNs)
        XCTAssertTrue(t.restoreConntrack(checkpoint: saved))
        XCTAssertEqual(t.conntrackCheckpoint(), saved)
        for x in [s, t] {
            // The next server segment: seq 5012 + 49 becomes 5058 toward the client.
            let next = sv(x, 21, 40100, 5012 + UInt32(pasv.utf8.count), 1001, [.psh, .ack], "226 done\r\n")
            XCTAssertEqual(next.emitted.first.map { $0.frame.be32(14 + 20 + 4) }, 5058)
            // The client's acknowledgement of it, with a SACK block in its numbers: both move up 3.
            let sack: [UInt8] = [1, 1, 5, 10, 0, 0, 0x13, 0xc2, 0, 0, 0x13, 0xcc]   // 5058-5068
            let acked = x.inject(frame: frame(dstMAC: MACAddress(2, 0, 0, 0, 0, 2), src: client, dst: IPv4Address(198, 18, 0, 2),
                                              .tcp(TCPRepr(srcPort: 40100, dstPort: 21, seq: 1001, ack: 5058, flags: .ack, options: sack))), device: x.devices[0])
            XCTAssertEqual(acked.emitted.first.map { e in [e.frame.be32(14 + 20 + 8), e.frame.be32(14 + 20 + 24), e.frame.be32(14 + 20 + 28)] }, [5061, 5061, 5071])
            // Its checksum (and the moved 226's) still verify.
            XCTAssertNoThrow(try FrameRepr.parse(acked.emitted[0].frame, verifyChecksums: true))
            XCTAssertNoThrow(try FrameRepr.parse(next.emitted[0].frame, verifyChecksums: true))
            // The passive data connection, DNATed as its master.
            let data = c(x, 40200, 20000, 3000, 0, .syn)
            XCTAssertEqual(data.emitted.first.map { IPv4Address(raw: $0.frame.be32(14 + 16)) }, server)
        }
        XCTAssertEqual(t.conntrackListing, s.conntrackListing)
    }
}
