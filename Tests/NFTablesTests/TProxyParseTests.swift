import JSON
@testable import NFTables
import XCTest

/// `tproxy` as nft 1.0.6 reads, refuses and prints it (the suite's tproxy.t cases load and list
/// through SuiteTests; TProxyTests in KernelTests has what it does to packets).
final class TProxyParseTests: XCTestCase {
    /// What nft 1.0.6 refuses (checked on it): no transport protocol, another family than the
    /// rule's, an address without a family in inet, a port range, any hook but prerouting; and
    /// what the model does not take yet (an address or port from a map).
    func testRefusals() {
        func error(_ family: String, _ rule: String, hook: String = "prerouting") -> String {
            do {
                _ = try NFParser.parse("table \(family) x {\n chain y {\n type filter hook \(hook) priority 0\n \(rule)\n }\n}\n")
                return "loaded"
            } catch { return "\(error)" }
        }
        let cases: [(String, String, String)] = [
            ("ip", "tproxy to 192.0.2.1", "Transparent proxy support requires transport protocol match"),
            ("ip", "th dport 80 tproxy to :1", "Transparent proxy support requires transport protocol match"),
            ("ip", "meta l4proto 17 tproxy ip6 to [::1]", "conflicting protocols specified: ip vs. ip6. You must specify ip or ip6 family in tproxy statement"),
            ("inet", "ip protocol 6 tproxy to :80", "conflicting protocols specified: ip vs. unknown. You must specify ip or ip6 family in tproxy statement"),
            ("inet", "meta l4proto 17 tproxy to 192.0.2.1", "ip or ip6 must be specified with address for inet tables."),
            ("inet", "meta l4proto tcp tproxy ip to 1.2.3.4:80-90", "Port ranges are not supported for tproxy."),
            ("ip6", "meta l4proto tcp tproxy to 1.2.3.4", "Could not resolve hostname: Address family for hostname not supported"),
            ("inet", "meta l4proto tcp tproxy ip to ip saddr map { 1.1.1.1 : 2.2.2.2 }", "not supported yet: tproxy to an address or port from a map"),
        ]
        for (family, rule, want) in cases { XCTAssertTrue(error(family, rule).contains(want), "\(rule): \(error(family, rule))") }
        XCTAssertTrue(error("ip", "meta l4proto 17 tproxy to :50080", hook: "input").contains("Operation not supported"))
        XCTAssertThrowsError(try NFParser.parse("table netdev x { chain y { type filter hook ingress device \"eth0\" priority 0; meta l4proto 17 tproxy to :50080; }; }")) {
            XCTAssertTrue("\($0)".contains("tproxy is only supported for IPv4/IPv6/INET"), "\($0)")
        }
    }

    /// nft -j's form, and back.
    func testJSON() throws {
        let rs = try NFParser.parse("""
        table inet x { chain y { type filter hook prerouting priority 0; meta l4proto tcp tproxy ip to 1.2.3.4:80; meta l4proto tcp tproxy ip6 to [::1]; meta l4proto tcp tproxy to :80; }; }
        """)
        XCTAssertEqual(rs.tables[0].chains[0].rules.map { NFJSON.statement($0.statements[1], counter: nil, family: .inet).rendered() }, [
            #"{"tproxy":{"family":"ip","addr":"1.2.3.4","port":80}}"#,
            #"{"tproxy":{"family":"ip6","addr":"::1"}}"#,
            #"{"tproxy":{"port":80}}"#])
        XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(NFJSON.encode(rs).rendered()))), NFPrinter.ruleset(rs))
    }

    /// nft_chain_validate checks a chain's expressions at the hooks of the base chains that reach
    /// it (nft 1.0.6 points at the jump): tproxy through input, `socket` through forward are
    /// refused; through prerouting, or in a chain nothing reaches, they load.
    func testHooksOfJumpedToChains() throws {
        func load(_ sub: String, _ hook: String?) -> String {
            let base = hook.map { "chain y {\n type filter hook \($0) priority 0\n jump sub\n }\n" } ?? ""
            do { _ = try NFParser.parse("table ip x {\n chain sub {\n \(sub)\n }\n \(base)}\n"); return "ok" } catch { return "\(error)" }
        }
        XCTAssertTrue(load("meta l4proto tcp tproxy to :1", "input").contains("line 7, column 7: Could not process rule: Operation not supported"), load("meta l4proto tcp tproxy to :1", "input"))
        XCTAssertEqual(load("meta l4proto tcp tproxy to :1", "prerouting"), "ok")
        XCTAssertTrue(load("socket transparent 1", "forward").contains("Operation not supported"))
        XCTAssertEqual(load("socket transparent 1", nil), "ok")
    }
}

