@testable import NFTables
import XCTest

/// nft -f commands on a running ruleset, as nft 1.0.6 applies them (each expectation was listed
/// by the real nft with `nft -a list ruleset` after the same commands).
final class CommandTests: XCTestCase {
    func rules(_ rs: NFRuleset, _ chain: String) -> [String] {
        rs.tables[0].chains.first { $0.name == chain }!.rules.map { "\($0.text) # handle \($0.handle)" }
    }

    /// `include` takes the files the request carries: a glob every match in name order (none is
    /// fine), a plain name exactly one; errors point into the file they are in.
    func testIncludeSplicesTheNamedFiles() throws {
        let main = "define lan = eth0\ntable inet f {\n\tchain c {\n\t\tinclude \"/etc/nftables.d/*.nft\"\n\t}\n}\ninclude \"extra.nft\"\ninclude \"/etc/none/*.nft\"\n"
        let files = ["nftables.d/20-dns.nft": "udp dport 53 accept\n", "nftables.d/10-ssh.nft": "iifname $lan tcp dport 22 accept\n",
                     "extra.nft": "table ip t {\n}\n"]
        let rs = try NFParser.parse(main, files: files)
        XCTAssertEqual(NFPrinter.ruleset(rs), "table inet f {\n\tchain c {\n\t\tiifname \"eth0\" tcp dport 22 accept\n\t\tudp dport 53 accept\n\t}\n}\ntable ip t {\n}\n")
        XCTAssertThrowsError(try NFParser.parse(main, files: ["extra.nft": "table ip t {\n\tchain c {\n\t\ttcp dport bogus\n\t}\n}\n"])) {
            let e = $0 as! NFSyntaxError
            XCTAssertEqual([e.file, "\(e.line):\(e.column)"], ["extra.nft", "3:13"])
        }
        XCTAssertThrowsError(try NFParser.parse("include \"missing.nft\"\n", files: [:])) {
            XCTAssertEqual("\($0)", "line 1, column 1: File not found: missing.nft (the request carries no other files)")
        }
        // A bare file name is not taken by a glob over a directory.
        XCTAssertEqual(NFInclude.matches("/etc/nftables.d/*.nft", in: ["extra.nft": "", "nftables.d/a.nft": ""]), ["nftables.d/a.nft"])
        XCTAssertThrowsError(try NFParser.parse("include \"a.nft\"\n", files: ["a.nft": "include \"a.nft\"\n"])) {
            XCTAssertTrue("\($0)".contains("Include nested too deeply, max 16 levels"), "\($0)")
        }
    }

    /// `list` commands print once the batch is in (nft -f lists after the commit); what they name must exist.
    func testListCommandsAreRecorded() throws {
        let rs = try NFParser.parse("add table ip t\nlist ruleset\nadd chain ip t c\nlist chain ip t c\nlist tables ip\n")
        XCTAssertEqual(rs.lists, [.ruleset(nil), .chain(.ip, "t", "c"), .tables(.ip)])
        XCTAssertThrowsError(try NFParser.parse("add table ip t\nlist chain ip t nope\n")) {
            XCTAssertEqual("\($0)", "line 2, column 17: No such file or directory; no chain nope in table ip t")
        }
    }

    func testInsertAddAtPositionsAndReplace() throws {
        var rs = try NFParser.parse("table ip t {\n\tchain c {\n\t\ttcp dport 1 accept\n\t\ttcp dport 2 accept\n\t\ttcp dport 3 accept\n\t}\n}\n")
        for cmd in ["insert rule ip t c tcp dport 10 drop", "add rule ip t c position 3 tcp dport 11 drop", "insert rule ip t c position 3 tcp dport 12 drop",
                    "add rule ip t c index 0 tcp dport 13 drop", "insert rule ip t c index 0 tcp dport 14 drop",
                    "replace rule ip t c handle 3 tcp dport 99 counter"] {
            rs = try NFParser.parse(cmd, onto: rs)
        }
        XCTAssertEqual(rules(rs, "c"), ["tcp dport 14 drop # handle 9", "tcp dport 10 drop # handle 5", "tcp dport 13 drop # handle 8",
                                        "tcp dport 1 accept # handle 2", "tcp dport 12 drop # handle 7", "tcp dport 99 counter packets 0 bytes 0 # handle 3",
                                        "tcp dport 11 drop # handle 6", "tcp dport 3 accept # handle 4"])
        for (cmd, message) in [("add rule ip t c index 9 accept", "No such file or directory"), ("add rule ip t c handle 42 accept", "No such file or directory"),
                               ("replace rule ip t c handle 42 accept", "No such file or directory")] {
            XCTAssertThrowsError(try NFParser.parse(cmd, onto: rs), cmd) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
        }
    }

    /// A replaced rule keeps its handle; its anonymous set takes the next one, so the next rule gets the one after.
    func testReplaceKeepsTheHandleAndAnonymousSetsTakeNewOnes() throws {
        var rs = try NFParser.parse("table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\telements = { 1.1.1.1 }\n\t}\n\n\tchain c {\n\t\ttcp dport 1 accept\n\t\ttcp dport 2 accept\n\t}\n\n\tchain d {\n\t\tjump c\n\t}\n}\n")
        rs = try NFParser.parse("replace rule ip t c handle 4 tcp dport { 5, 6 } accept", onto: rs)
        rs = try NFParser.parse("add rule ip t c tcp dport 7 accept", onto: rs)
        XCTAssertEqual(rules(rs, "c"), ["tcp dport { 5, 6 } accept # handle 4", "tcp dport 2 accept # handle 5", "tcp dport 7 accept # handle 8"])
        rs = try NFParser.parse("insert rule ip t c index 2 accept", onto: rs)
        XCTAssertEqual(rules(rs, "c").map { String($0.prefix { $0 != "#" }) }, ["tcp dport { 5, 6 } accept ", "tcp dport 2 accept ", "accept ", "tcp dport 7 accept "])
    }

    /// Named objects made and deleted by commands, as nft 1.0.6 took them here (each batch's
    /// listing, message and caret read off nft in a namespace): a body in braces or on the line,
    /// EEXIST for `create` under the name, EBUSY for one a rule names, ENOENT for one not there.
    func testObjectCommandsAsNft() throws {
        var rs = try NFParser.parse("""
            add table inet f
            add chain inet f input { type filter hook input priority filter - 5; policy accept; }
            add counter inet f c1
            add quota inet f q { over 10 mbytes }
            add quota inet f q2 25 mbytes
            add limit inet f l rate 10/second
            add ct helper inet f h { type "ftp" protocol tcp; l3proto inet; }
            add counter inet f c3 packets 1 bytes 2
            add rule inet f input counter name "c1"
            delete quota inet f q2
            """)
        XCTAssertEqual(NFPrinter.ruleset(rs), """
            table inet f {
            \tcounter c1 {
            \t\tpackets 0 bytes 0
            \t}

            \tquota q {
            \t\tover 10 mbytes
            \t}

            \tlimit l {
            \t\trate 10/second
            \t}

            \tct helper h {
            \t\ttype "ftp" protocol tcp
            \t\tl3proto inet
            \t}

            \tcounter c3 {
            \t\tpackets 1 bytes 2
            \t}

            \tchain input {
            \t\ttype filter hook input priority filter - 5; policy accept;
            \t\tcounter name "c1"
            \t}
            }

            """)
        for (cmd, message, column, width) in [("create counter inet f c1", "Could not process rule: File exists", 23, 2),
                                              ("delete counter inet f c1", "Could not process rule: Device or resource busy", 23, 2),
                                              ("delete counter inet f nope", "Could not process rule: No such file or directory", 23, 4),
                                              ("delete quota inet f handle 42", "Could not process rule: No such file or directory", 28, 2),
                                              ("add counter inet nope c9", "No such file or directory", 18, 4)] {
            XCTAssertThrowsError(try NFParser.parse(cmd, onto: rs), cmd) {
                let e = $0 as? NFSyntaxError
                XCTAssertEqual(e?.message, message, cmd)
                XCTAssertEqual(e.map { [$0.column, $0.length] }, [column, width], cmd)
            }
        }
        // `destroy` (nft 1.0.8's; 1.0.6 has none) deletes what is there and passes over what is not.
        rs = try NFParser.parse("""
            destroy quota inet f q
            destroy quota inet f q
            destroy table ip nope
            destroy chain inet f nope
            destroy rule inet f input handle 99
            destroy element inet f nope { 1.1.1.1 }
            """, onto: rs)
        XCTAssertEqual(rs.tables[0].objects.map(\.name), ["c1", "l", "h", "c3"])
        rs = try NFParser.parse("destroy table inet f", onto: rs)
        XCTAssertEqual(rs.tables.count, 0)
    }

    /// An object added again keeps its settings unless its kind can be updated (recorded here:
    /// nft 1.0.6 on Linux 6.18 lists the first counter and limit, the second quota).
    func testObjectsAddedAgain() throws {
        let rs = try NFParser.parse("""
            add table inet f
            add counter inet f c1 { packets 3 bytes 30 }
            add counter inet f c1 { packets 5 bytes 50 }
            add quota inet f q { 100 bytes }
            add quota inet f q { over 200 bytes }
            add limit inet f l { rate 5/second }
            add limit inet f l { rate 7/minute }
            table inet f { counter c1 { packets 9 bytes 90 }; }
            """)
        XCTAssertEqual(NFPrinter.ruleset(rs), "table inet f {\n\tcounter c1 {\n\t\tpackets 3 bytes 30\n\t}\n\n\tquota q {\n\t\tover 200 bytes\n\t}\n\n\tlimit l {\n\t\trate 5/second\n\t}\n}\n")
    }

    /// `reset rules` (nft 1.0.8's; 1.0.6 has none) in each scope: the rules whose counters and
    /// quotas the stack zeroes (KernelTests and RulesetAPITests have it on packets).
    func testResetRulesScopes() throws {
        let rs = try NFParser.parse("table ip t {\n\tchain a {\n\t\tcounter\n\t}\n\tchain b {\n\t\tcounter\n\t\tquota 10 bytes\n\t}\n}\ntable ip6 u {\n\tchain c {\n\t\tcounter\n\t}\n}\n")
        for (cmd, resets) in [("reset rules", [[0, 3], [0, 4], [0, 5], [1, 2]]), ("reset rules ip6", [[1, 2]]), ("reset rules table ip t", [[0, 3], [0, 4], [0, 5]]),
                              ("reset rules chain ip t b", [[0, 4], [0, 5]]), ("reset rule ip t b handle 5", [[0, 5]])] {
            XCTAssertEqual(try NFParser.parse(cmd, onto: rs).resets.map { [$0.table, $0.handle] }, resets, cmd)
        }
        XCTAssertThrowsError(try NFParser.parse("reset rule ip t b handle 9", onto: rs)) { XCTAssertTrue("\($0)".contains("No such file or directory"), "\($0)") }
    }

    func testFlushCreateAndRename() throws {
        var rs = try NFParser.parse("table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\telements = { 1.1.1.1 }\n\t}\n\n\tchain c {\n\t\ttcp dport 1 accept\n\t}\n\n\tchain d {\n\t\tjump c\n\t}\n}\n")
        // `flush table` empties every chain and leaves set elements.
        rs = try NFParser.parse("flush table ip t", onto: rs)
        XCTAssertEqual(rs.tables[0].chains.map(\.rules.count), [0, 0])
        XCTAssertEqual(rs.tables[0].sets[0].elements.count, 1)
        for cmd in ["create chain ip t c", "create set ip t s { type ipv4_addr; }", "create table ip t", "rename chain ip t d c"] {
            XCTAssertThrowsError(try NFParser.parse(cmd, onto: rs), cmd) { XCTAssertTrue("\($0)".contains("File exists"), "\($0)") }
        }
        XCTAssertThrowsError(try NFParser.parse("flush map ip t s", onto: rs)) { XCTAssertTrue("\($0)".contains("No such file or directory"), "\($0)") }
        rs = try NFParser.parse("flush set ip t s", onto: rs)
        XCTAssertEqual(rs.tables[0].sets[0].elements, [])
        // A renamed chain keeps its handle and the jumps to it follow.
        rs = try NFParser.parse("add rule ip t d jump c\nrename chain ip t c e", onto: rs)
        XCTAssertEqual(rs.tables[0].chains.map { "\($0.name) \($0.handle)" }, ["e 1", "d 2"])
        XCTAssertEqual(rules(rs, "d").map { String($0.prefix { $0 != "#" }) }, ["jump e "])
        rs = try NFParser.parse("create chain ip t f\nflush chain ip t d", onto: rs)
        XCTAssertEqual(rs.tables[0].chains.map(\.name), ["e", "d", "f"])
        XCTAssertEqual(rules(rs, "d"), [])
    }
}
