@testable import Kernel
import NFTables
import Wire
import XCTest

/// What nft 1.0.6's payload merge does to packets (scripts/record_neq_merge.sh, on the kernel).
final class PayloadMergeTests: XCTestCase {
    /// `tcp sport != 22 tcp dport != 23` is one `cmp neq` of both ports in 1.0.6's bytecode: a
    /// segment from 22 to 80 matches (one port differs), only 22 to 23 does not. The UDP rule's
    /// matches merge across its first counter, which then counts after both, as the kernel's did.
    func testMergedInequalitiesMatchWhenAnyFieldDiffers() throws {
        let s = try makeStack()
        s.loadRuleset(try NFParser.parse("""
        table ip t {
          chain i { type filter hook input priority 0
            tcp sport != 22 tcp dport != 23 counter
            udp sport != 22 counter udp dport != 23 counter
          }
        }
        """))
        for (sport, dport) in [(22, 80), (22, 23), (1000, 80)] as [(UInt16, UInt16)] {
            _ = s.inject(frame: frame(.tcp(TCPRepr(srcPort: sport, dstPort: dport, flags: .syn))), device: s.devices[0])
            _ = s.inject(frame: frame(.udp(UDPRepr(srcPort: sport, dstPort: dport, payload: Array("x".utf8)))), device: s.devices[0])
        }
        XCTAssertEqual(s.listRuleset(handles: false), """
        table ip t {
        \tchain i {
        \t\ttype filter hook input priority filter; policy accept;
        \t\ttcp sport != 22 tcp dport != 23 counter packets 2 bytes 80
        \t\tudp sport != 22 udp dport != 23 counter packets 2 bytes 58 counter packets 2 bytes 58
        \t}
        }

        """)
    }

    /// Each counter, quota and limit of a rule has its own state, as each nft expression does:
    /// the first counter sees both datagrams, the one after `udp dport 9` one; the quota after it
    /// counts that one only. Kept across `nft add rule` (the rule stays) and in JSON.
    func testEachCounterOfARuleCountsForItself() throws {
        let s = try makeStack()
        s.loadRuleset(try NFParser.parse("""
        table ip t {
          chain i { type filter hook input priority 0
            counter quota 1000 bytes udp dport 9 counter quota over 5000 bytes
          }
        }
        """))
        for port in [9, 10] as [UInt16] { _ = s.inject(frame: frame(.udp(UDPRepr(srcPort: 1, dstPort: port))), device: s.devices[0]) }
        let want = "counter packets 2 bytes 56 quota 1000 bytes used 56 bytes udp dport 9 counter packets 1 bytes 28 quota over 5000 bytes used 28 bytes"
        XCTAssertEqual(s.listRuleset(handles: false).split(separator: "\n")[3].trimmingCharacters(in: .whitespaces), want)
        var rs = s.ruleset
        rs.tables[0].chains[0].rules.append(try NFParser.parse("table ip t { chain i { type filter hook input priority 0; counter; }; }").tables[0].chains[0].rules[0])
        rs.tables[0].chains[0].rules[1].handle = 9
        s.loadRuleset(rs, keepingRuleState: true)
        XCTAssertEqual(s.listRuleset(handles: false).split(separator: "\n")[3].trimmingCharacters(in: .whitespaces), want)
    }
}

