@testable import Kernel
import NFTables
import XCTest

/// Plural and object `list` commands (`list counters`, `list sets inet`, `list ct helpers table
/// inet f`, `list quota ip g q1`...), each answer as nft 1.0.6 printed it here for the same
/// ruleset (read off nft in a namespace): every table of the family, only that kind of thing in
/// it, one after another without a blank line, chains without their rules, meters apart from sets.
final class ListCommandTests: XCTestCase {
    static let ruleset = """
        table inet f {
        \tcounter c1 {
        \t\tpackets 0 bytes 0
        \t}

        \tquota q {
        \t\tover 10 mbytes
        \t}

        \tct helper h {
        \t\ttype "ftp" protocol tcp
        \t\tl3proto inet
        \t}

        \tset s {
        \t\ttype ipv4_addr
        \t\tflags interval
        \t\telements = { 10.0.0.0/8 }
        \t}

        \tmap m {
        \t\ttype ipv4_addr : mark
        \t\telements = { 1.1.1.1 : 0x00000001 }
        \t}

        \tchain input {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tcounter name "c1"
        \t}
        }
        table ip g {
        \tcounter k {
        \t\tpackets 0 bytes 0
        \t}

        \tcounter k2 {
        \t\tpackets 0 bytes 0
        \t}

        \tquota q1 {
        \t\t1 mbytes
        \t}

        \tquota q2 {
        \t\t2 mbytes
        \t}

        \tset s2 {
        \t\ttype inet_service
        \t}

        \tset s3 {
        \t\ttype ipv4_addr
        \t}

        \tmap mm2 {
        \t\ttype ipv4_addr : mark
        \t}

        \tmap mm3 {
        \t\ttype ipv4_addr : mark
        \t}

        \tchain c {
        \t}

        \tchain c2 {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tmeter mm size 128 { ip saddr limit rate 10/second }
        \t}
        }
        """

    static let recorded: [(String, String)] = [
        ("list counters", """
        table inet f {
        \tcounter c1 {
        \t\tpackets 0 bytes 0
        \t}
        }
        table ip g {
        \tcounter k {
        \t\tpackets 0 bytes 0
        \t}
        \tcounter k2 {
        \t\tpackets 0 bytes 0
        \t}
        }

        """),
        ("list quotas", """
        table inet f {
        \tquota q {
        \t\tover 10 mbytes
        \t}
        }
        table ip g {
        \tquota q1 {
        \t\t1 mbytes
        \t}
        \tquota q2 {
        \t\t2 mbytes
        \t}
        }

        """),
        ("list sets", """
        table inet f {
        \tset s {
        \t\ttype ipv4_addr
        \t\tflags interval
        \t\telements = { 10.0.0.0/8 }
        \t}
        }
        table ip g {
        \tset s2 {
        \t\ttype inet_service
        \t}
        \tset s3 {
        \t\ttype ipv4_addr
        \t}
        }

        """),
        ("list maps", """
        table inet f {
        \tmap m {
        \t\ttype ipv4_addr : mark
        \t\telements = { 1.1.1.1 : 0x00000001 }
        \t}
        }
        table ip g {
        \tmap mm2 {
        \t\ttype ipv4_addr : mark
        \t}
        \tmap mm3 {
        \t\ttype ipv4_addr : mark
        \t}
        }

        """),
        ("list chains", """
        table inet f {
        \tchain input {
        \t\ttype filter hook input priority filter; policy accept;
        \t}
        }
        table ip g {
        \tchain c {
        \t}
        \tchain c2 {
        \t\ttype filter hook input priority filter; policy accept;
        \t}
        }

        """),
        ("list meters", """
        table inet f {
        }
        table ip g {
        \tmeter mm {
        \t\ttype ipv4_addr
        \t\tsize 128
        \t\tflags dynamic
        \t}
        }

        """),
        ("list counter inet f c1", """
        table inet f {
        \tcounter c1 {
        \t\tpackets 0 bytes 0
        \t}
        }

        """),
        ("list counters table inet f", """
        table inet f {
        \tcounter c1 {
        \t\tpackets 0 bytes 0
        \t}
        }

        """),
        ("list sets inet", """
        table inet f {
        \tset s {
        \t\ttype ipv4_addr
        \t\tflags interval
        \t\telements = { 10.0.0.0/8 }
        \t}
        }

        """),
        ("list ct helpers table inet f", """
        table inet f {
        \tct helper h {
        \t\ttype "ftp" protocol tcp
        \t\tl3proto inet
        \t}
        }

        """),
        ("list quota ip g q1", """
        table ip g {
        \tquota q1 {
        \t\t1 mbytes
        \t}
        }

        """)
    ]

    func testListCommandsPrintAsNft() throws {
        let s = try makeStack()
        s.loadRuleset(try NFParser.parse(Self.ruleset))
        for (cmd, printed) in Self.recorded {
            let rs = try NFParser.parse(cmd, onto: s.ruleset)
            XCTAssertEqual(rs.lists.map(s.list).joined(), printed, cmd)
        }
    }
}
