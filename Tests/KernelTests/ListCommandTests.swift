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
            XCTAssertEqual(rs.lists.map { s.list($0) }.joined(), printed, cmd)
        }
    }
    /// `get element` (nft 1.0.6 here): the set with the element holding each value asked for, in
    /// the order asked (a range for an interval set's); a value none holds is ENOENT under the
    /// whole command (carets one past it, as nft draws them), checked against the live set.
    func testGetElementPrintsAsNft() throws {
        let s = try makeStack()
        s.loadRuleset(try NFParser.parse("""
            table ip t {
            \tset s {
            \t\ttype ipv4_addr
            \t\tflags interval
            \t\telements = { 10.0.0.0/8, 192.168.1.1 }
            \t}

            \tset h {
            \t\ttype ipv4_addr
            \t\telements = { 1.1.1.1, 2.2.2.2 }
            \t}

            \tmap m {
            \t\ttype ipv4_addr : mark
            \t\telements = { 1.1.1.1 : 0x00000005 }
            \t}
            }
            """))
        for (cmd, printed) in [
            ("get element ip t s { 10.1.2.3 }", """
            table ip t {
            \tset s {
            \t\ttype ipv4_addr
            \t\tflags interval
            \t\telements = { 10.0.0.0/8 }
            \t}
            }

            """),
            ("get element ip t s { 192.168.1.1, 10.0.0.1 }", """
            table ip t {
            \tset s {
            \t\ttype ipv4_addr
            \t\tflags interval
            \t\telements = { 192.168.1.1, 10.0.0.0/8 }
            \t}
            }

            """),
            ("get element ip t h { 1.1.1.1 }", """
            table ip t {
            \tset h {
            \t\ttype ipv4_addr
            \t\telements = { 1.1.1.1 }
            \t}
            }

            """),
            ("get element ip t m { 1.1.1.1 }", """
            table ip t {
            \tmap m {
            \t\ttype ipv4_addr : mark
            \t\telements = { 1.1.1.1 : 0x00000005 }
            \t}
            }

            """)] {
            let rs = try NFParser.parse(cmd, onto: s.ruleset)
            XCTAssertNil(s.missingElement(rs), cmd)
            XCTAssertEqual(rs.lists.map { s.list($0) }.joined(), printed, cmd)
        }
        let missing = s.missingElement(try NFParser.parse("get element ip t h { 3.3.3.3 }", onto: s.ruleset))
        XCTAssertEqual(missing?.message, "Could not process rule: No such file or directory")
        XCTAssertEqual(missing.map { [$0.column, $0.length] }, [1, 31])
    }
}
