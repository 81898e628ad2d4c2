import NFTables
import XCTest

/// Inputs libFuzzer found that trapped (scripts/fuzz.sh), each with what the real nft 1.0.6 does
/// with it. The inputs themselves are also kept in Tests/Fuzz/Corpus as crash-* files.
final class FuzzFindingTests: XCTestCase {
    /// nft multiplies a date's seconds by 10^9 in 64 bits and wraps; it lists what it stored.
    func testMetaTimePast2554WrapsAsNftDoes() throws {
        let rs = try NFParser.parse("table ip t {\n\tchain c {\n\t\tmeta time < \"4044-07-01 11:00:00\" accept\n\t}\n}\n")
        XCTAssertEqual(NFPrinter.ruleset(rs), "table ip t {\n\tchain c {\n\t\tmeta time < \"2290-11-02 12:16:18\" accept\n\t}\n}\n")
    }

    /// Times past 2^64 ms are refused (nft: "value too large"), not multiplied into a trap.
    func testHugeTimesAreRefused() {
        for v in ["99999999999999999999d", "307445734561825861m", "18446744073709551616ms"] {
            XCTAssertThrowsError(try NFParser.parse("table ip t {\n\tchain c {\n\t\tct expiration \(v) accept\n\t}\n}\n"), v)
        }
    }

    /// nft 1.0.6: "Range has zero or negative size" for reversed NAT address and port ranges.
    func testReversedNATRangesAreRefused() throws {
        for target in ["193.168.3.2-192.168.3.4:8080-8999", "192.168.3.2:8999-8080", ":90-80", "192.168.3.2:80-x", "1.2.3.4-"] {
            let text = "table ip t {\n\tchain c {\n\t\ttype nat hook prerouting priority 1;\n\t\ttcp dport 81 dnat to \(target)\n\t}\n}\n"
            XCTAssertThrowsError(try NFParser.parse(text), target)
        }
        let ok = "table ip t {\n\tchain c {\n\t\ttype nat hook prerouting priority filter + 1; policy accept;\n\t\ttcp dport 81 dnat to 192.168.3.2-192.168.3.4:8080-8999\n\t}\n}\n"
        XCTAssertEqual(NFPrinter.ruleset(try NFParser.parse(ok)), ok)
    }

    /// `add chain ip t c{` at the end of the text spun for ever (found through the iptables harness:
    /// a chain named `PREROUTINOC{`); an unclosed chain body is refused as nft refuses it.
    func testUnclosedChainBodyAtTheEndIsRefused() {
        for text in ["add table ip t\nadd chain ip t c{\n", "add table ip t\nadd chain ip t c {", "add table ip t\nadd chain ip t c { counter\n"] {
            XCTAssertThrowsError(try NFParser.parse(text), text) { XCTAssertTrue("\($0)".contains("expected '}'"), "\($0)") }
        }
    }
}
