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
                               ("replace rule ip t c handle 42 accept", "No such file or directory"), ("destroy table ip t", "expected a command")] {
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
