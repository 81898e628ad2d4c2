import JSON
import NFTables
import XCTest

/// Conntrack helper, timeout and expectation objects as nft 1.0.6 takes and lists them (each
/// listing and message below read off the real nft on Linux 6.18).
final class CtObjectTests: XCTestCase {
    /// Written tersely, listed as `nft list ruleset` printed it: one setting a line, the family
    /// spelled out, a timeout policy with the states whose value is not the default, in the
    /// kernel's order; rules attach them with `set`, by name or through a map.
    func testObjectsListAsNft() throws {
        let rs = try NFParser.parse("""
        table inet t {
          ct helper ftp-std { type "ftp" protocol tcp; l3proto ip; }
          ct helper h6 { type "ftp" protocol tcp; }
          ct timeout tt { protocol tcp; l3proto ip; policy = { close: 5, established: 122, syn_sent: 120 }; }
          ct timeout tu { protocol udp; policy = { unreplied: 10, replied: 20 }; }
          ct expectation e { protocol tcp; dport 1234; timeout 2m; size 300; l3proto ip; }
          chain c { type filter hook prerouting priority 0;
            tcp dport 21 ct helper set "ftp-std"
            ct timeout set "tt"
            ct expectation set "e"
            ct helper "ftp" counter
            ct helper set tcp dport map { 21 : "ftp-std" }
          }
        }
        """)
        let want = """
        table inet t {
        \tct helper ftp-std {
        \t\ttype "ftp" protocol tcp
        \t\tl3proto ip
        \t}

        \tct helper h6 {
        \t\ttype "ftp" protocol tcp
        \t\tl3proto inet
        \t}

        \tct timeout tt {
        \t\tprotocol tcp
        \t\tl3proto ip
        \t\tpolicy = { established : 122, close : 5 }
        \t}

        \tct timeout tu {
        \t\tprotocol udp
        \t\tl3proto inet
        \t\tpolicy = { unreplied : 10, replied : 20 }
        \t}

        \tct expectation e {
        \t\tprotocol tcp
        \t\tdport 1234
        \t\ttimeout 2m
        \t\tsize 44
        \t\tl3proto ip
        \t}

        \tchain c {
        \t\ttype filter hook prerouting priority filter; policy accept;
        \t\ttcp dport 21 ct helper set "ftp-std"
        \t\tct timeout set "tt"
        \t\tct expectation set "e"
        \t\tct helper "ftp" counter packets 0 bytes 0
        \t\tct helper set tcp dport map { 21 : "ftp-std" }
        \t}
        }

        """
        XCTAssertEqual(NFPrinter.ruleset(rs), want)
        // nft -j: {"ct helper": {"type", "protocol", "l3proto"}}, {"ct timeout": {..., "policy": {...}}},
        // {"ct expectation": {..., "timeout": ms}}; rules {"ct helper": "name"}.
        let json = NFJSON.encode(rs).rendered()
        XCTAssertTrue(json.contains(#""ct expectation":{"family":"inet","name":"e","table":"t","handle":6,"protocol":"tcp","dport":1234,"timeout":120000,"size":44,"l3proto":"ip"}"#), json)
        XCTAssertTrue(json.contains(#""policy":{"established":122,"close":5}"#), json)
        XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(json))), want)
    }

    /// nft -j lists a table's objects, then its sets, chains and rules (read off nft -j).
    func testJSONListsObjectsSetsChainsThenRules() throws {
        let rs = try NFParser.parse("table ip t {\n set s { type ipv4_addr; }\n counter c1 { }\n chain a { type filter hook input priority 0; counter; }\n chain b { counter; }\n}\n")
        guard case .array(let items) = NFJSON.encode(rs)["nftables"] ?? .null else { return XCTFail("no array") }
        XCTAssertEqual(items.map { if case .object(let kv) = $0 { kv[0].0 } else { "" } }, ["metainfo", "table", "counter", "set", "chain", "chain", "rule", "rule"])
    }

    func testWhatNftRefuses() {
        func refusal(_ body: String, _ msg: String, column: Int, line: UInt = #line) {
            do {
                _ = try NFParser.parse("table inet t {\n \(body)\n}\n")
                XCTFail("accepted: \(body)", line: line)
            } catch {
                XCTAssertTrue(error.message.contains(msg), "\(error)", line: line)
                XCTAssertEqual([error.line, error.column], [2, column], "\(error)", line: line)
            }
        }
        // The kernel knows no such helper, or not for that protocol (ENOENT, at the name).
        refusal(#"ct helper h { type "nope" protocol tcp; }"#, "No such file or directory", column: 12)
        refusal(#"ct helper h { type "ftp" protocol udp; }"#, "No such file or directory", column: 12)
        refusal(#"ct helper h { type "ftp"; }"#, "expecting protocol", column: 26)
        refusal(#"ct timeout t1 { protocol udp; policy = { established: 5 }; }"#, "invalid state for this protocol", column: 43)
        refusal(#"ct timeout t1 { protocol icmp; }"#, "expecting udp or tcp", column: 27)
        refusal(#"ct expectation e { protocol tcp; dport 1; }"#, "missing options", column: 17)
        // An expectation in an inet table must name its family (EAFNOSUPPORT).
        refusal(#"ct expectation e { protocol udp; dport 53; timeout 1s; size 1; }"#, "Address family not supported by protocol", column: 17)
        // Every setting ends with a separator, the last one too.
        refusal(#"ct timeout t1 { protocol udp; policy = { unreplied: 10 } }"#, "expecting newline or semicolon", column: 59)
        // Helpers the kernel has that the model does not run are refused, not ignored.
        refusal(#"ct helper h { type "sip" protocol udp; }"#, "not supported yet: ct helper type \"sip\"", column: 12)
        // `ct helper set` names an object of the table.
        refusal("chain c { type filter hook input priority 0; ct helper set \"x\"; }", "No such file or directory", column: 61)
    }
}
