@testable import Kernel
import JSON
import NFTables
import Wire
import XCTest

/// The nftables wiki's port knocking ruleset, as `scripts/record_portknock.sh` recorded it on
/// Linux 6.18: the keys rules add carry values (`ip saddr . 234`), so a knock on 123, 234 and 345
/// in turn opens 22 for that source, and a source that did not knock is reset. Before, the value
/// in the key was a syntax error.
final class PortKnockTests: XCTestCase {
    static let ruleset = """
    define guarded_ports = {ssh}
    table inet portknock {
    \tset clients_ipv4 {
    \t\ttype ipv4_addr
    \t\tflags timeout
    \t}
    \tset candidates_ipv4 {
    \t\ttype ipv4_addr . inet_service
    \t\tflags timeout
    \t}
    \tchain input {
    \t\ttype filter hook input priority -10; policy accept;
    \t\tiifname "lo" return
    \t\ttcp dport 123 add @candidates_ipv4 {ip  saddr . 234 timeout 1s}
    \t\ttcp dport 234 ip  saddr . tcp dport @candidates_ipv4 add @candidates_ipv4 {ip  saddr . 345 timeout 1s}
    \t\ttcp dport 345 ip  saddr . tcp dport @candidates_ipv4 add @clients_ipv4 {ip  saddr timeout 10s} log prefix "Successful portknock: "
    \t\ttcp dport $guarded_ports ip  saddr @clients_ipv4 counter accept
    \t\ttcp dport $guarded_ports ct state established,related counter accept
    \t\ttcp dport $guarded_ports counter reject with tcp reset
    \t}
    }
    """

    /// `nft list ruleset` on the kernel afterwards (the times left vary: masked).
    static let recorded = """
    table inet portknock {
    \tset clients_ipv4 {
    \t\ttype ipv4_addr
    \t\tsize 65535
    \t\tflags dynamic,timeout
    \t\telements = { 198.18.0.9 timeout 10s expires 9s208ms }
    \t}

    \tset candidates_ipv4 {
    \t\ttype ipv4_addr . inet_service
    \t\tsize 65535
    \t\tflags dynamic,timeout
    \t\telements = { 198.18.0.9 . 345 timeout 1s expires 8ms }
    \t}

    \tchain input {
    \t\ttype filter hook input priority filter - 10; policy accept;
    \t\tiifname "lo" return
    \t\ttcp dport 123 add @candidates_ipv4 { ip saddr . 234 timeout 1s }
    \t\ttcp dport 234 ip saddr . tcp dport @candidates_ipv4 add @candidates_ipv4 { ip saddr . 345 timeout 1s }
    \t\ttcp dport 345 ip saddr . tcp dport @candidates_ipv4 add @clients_ipv4 { ip saddr timeout 10s } log prefix "Successful portknock: "
    \t\ttcp dport 22 ip saddr @clients_ipv4 counter packets 1 bytes 40 accept
    \t\ttcp dport 22 ct state established,related counter packets 0 bytes 0 accept
    \t\ttcp dport 22 counter packets 1 bytes 40 reject with tcp reset
    \t}
    }

    """

    func testKnocksOpenTheGuardedPortAsRecorded() throws {
        let s = try makeStack()
        s.loadRuleset(try NFParser.parse(Self.ruleset))
        let t0 = s.clockNs
        for (src, dport, at): (UInt8, UInt16, UInt64) in [(9, 123, 0), (9, 234, 200), (9, 345, 400), (9, 22, 600), (10, 22, 800), (10, 234, 1000)] {
            _ = s.inject(frame: frame(src: IPv4Address(198, 18, 0, src), .tcp(TCPRepr(srcPort: 40000, dstPort: dport, seq: 1000, flags: .syn))),
                         device: s.devices[0], atNs: t0 + at * 1_000_000)
        }
        // Listed when the kernel listed it (the 345 element had 8 ms left; the 234 one had gone).
        s.advance(toNs: t0 + 1_190_000_000)
        let masked = { (t: String) in t.replacingOccurrences(of: #" expires [0-9a-z]+"#, with: " expires X", options: .regularExpression) }
        XCTAssertEqual(masked(s.listRuleset(handles: false)), masked(Self.recorded))
        // A listing reads back, the values in the keys included; so does nft -j (that failed on the value).
        XCTAssertEqual(NFPrinter.ruleset(try NFParser.parse(NFPrinter.ruleset(s.ruleset))), NFPrinter.ruleset(s.ruleset))
        XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(NFJSON.encode(s.ruleset).rendered()))), NFPrinter.ruleset(s.ruleset))
    }

    /// A value first in the key a rule adds (`add @c { 234 . ip saddr }`) and between two fields,
    /// as `scripts/record_dynset_valuefirst.sh` recorded them on Linux 6.18 (nft 1.0.6): refused
    /// as not supported before.
    func testValuesFirstAndBetweenFieldsAsRecorded() throws {
        let s = try makeStack()
        s.loadRuleset(try NFParser.parse("""
            table ip t {
            \tset c {
            \t\ttype inet_service . ipv4_addr
            \t\tflags dynamic
            \t}
            \tset m {
            \t\ttype ipv4_addr . inet_service . ipv4_addr
            \t\tflags dynamic
            \t}
            \tchain c {
            \t\ttype filter hook prerouting priority filter; policy accept;
            \t\tadd @c { 234 . ip saddr }
            \t\tadd @m { ip saddr . 53 . ip daddr }
            \t\tudp dport . ip saddr @c counter
            \t}
            }
            """))
        for (src, dport): (UInt8, UInt16) in [(9, 234), (7, 235)] {
            _ = s.inject(frame: frame(src: IPv4Address(198, 18, 0, src), .udp(UDPRepr(srcPort: 1000, dstPort: dport, payload: Array("cnt".utf8)))), device: s.devices[0])
        }
        XCTAssertEqual(s.listRuleset(handles: false), """
            table ip t {
            \tset c {
            \t\ttype inet_service . ipv4_addr
            \t\tsize 65535
            \t\tflags dynamic
            \t\telements = { 234 . 198.18.0.7,
            \t\t\t     234 . 198.18.0.9 }
            \t}

            \tset m {
            \t\ttype ipv4_addr . inet_service . ipv4_addr
            \t\tsize 65535
            \t\tflags dynamic
            \t\telements = { 198.18.0.7 . 53 . 198.18.0.1,
            \t\t\t     198.18.0.9 . 53 . 198.18.0.1 }
            \t}

            \tchain c {
            \t\ttype filter hook prerouting priority filter; policy accept;
            \t\tadd @c { 234 . ip saddr }
            \t\tadd @m { ip saddr . 53 . ip daddr }
            \t\tudp dport . ip saddr @c counter packets 1 bytes 31
            \t}
            }

            """)
        XCTAssertEqual(NFPrinter.ruleset(try NFParser.parse(NFPrinter.ruleset(s.ruleset))), NFPrinter.ruleset(s.ruleset))
        // nft -j writes the value in the key's concatenation; it reads back the same.
        let json = NFJSON.encode(s.ruleset).rendered()
        XCTAssertTrue(json.contains(#"{"set":{"op":"add","elem":{"concat":[234,{"payload":{"protocol":"ip","field":"saddr"}}]},"set":"@c"}}"#), json)
        XCTAssertEqual(NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(json))), NFPrinter.ruleset(s.ruleset))
    }
}
