@testable import Kernel
import NFTables
import Wire
import XCTest

/// Interval sets whose elements expire, as `scripts/record_interval_timeout.sh` recorded them on
/// Linux 6.18: a prefix and a range with 2 s to live (IPv4, and an IPv6 prefix) match a datagram
/// at 0.5 s and none at 3 s, and are listed no more; what has no timeout of its own takes the
/// set's (or none). Before, a range's timeout was listed and never applied: it matched forever.
final class IntervalTimeoutTests: XCTestCase {
    static let ruleset = """
    table inet t {
    \tset v4 { type ipv4_addr; flags interval,timeout; timeout 1h; elements = { 192.0.2.0/24 timeout 2s, 10.0.0.1-10.0.0.9 timeout 2s, 198.51.100.7 } }
    \tset v6 { type ipv6_addr; flags interval,timeout; elements = { 2001:db8:9::/48 timeout 2s, 2001:db8:8::1 } }
    \tchain c {
    \t\ttype filter hook prerouting priority filter; policy accept;
    \t\tip saddr @v4 counter
    \t\tip6 saddr @v6 counter
    \t}
    }
    """

    /// `nft list ruleset` on the kernel after the 3 s datagrams (the time left varies: masked).
    static let recorded = """
    table inet t {
    \tset v4 {
    \t\ttype ipv4_addr
    \t\tflags interval,timeout
    \t\ttimeout 1h
    \t\telements = { 198.51.100.7 expires 59m56s768ms }
    \t}

    \tset v6 {
    \t\ttype ipv6_addr
    \t\tflags interval,timeout
    \t\telements = { 2001:db8:8::1 }
    \t}

    \tchain c {
    \t\ttype filter hook prerouting priority filter; policy accept;
    \t\tip saddr @v4 counter packets 2 bytes 62
    \t\tip6 saddr @v6 counter packets 1 bytes 51
    \t}
    }

    """

    func testRangesAndPrefixesExpireAsRecorded() throws {
        let dev = DeviceConfig(name: "vb", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        let s = try Stack(config: StackConfig(name: "kb", devices: [dev], neighbours: [NeighbourConfig(address: peerIP, mac: peerMAC, dev: "vb")]))
        s.loadRuleset(try NFParser.parse(Self.ruleset))
        let t0 = s.clockNs
        let udp = TransportRepr.udp(UDPRepr(srcPort: 1000, dstPort: 9, payload: Array("ttl".utf8)))
        let v6 = FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.ipv6),
                           network: .ipv6(IPv6Repr(src: try IPv6Address(parsing: "2001:db8:9::5"), dst: try IPv6Address(parsing: "2001:db8::1"),
                                                   nextHeader: IPProtocol.udp, hopLimit: 64), [], udp)).emit()
        for at: UInt64 in [500_000_000, 3_000_000_000] {
            for src in [IPv4Address(192, 0, 2, 5), IPv4Address(10, 0, 0, 5)] {
                _ = s.inject(frame: frame(src: src, udp), device: s.devices[0], atNs: t0 + at)
            }
            _ = s.inject(frame: v6, device: s.devices[0], atNs: t0 + at)
            if at == 500_000_000 {
                // Listed with their time left while they live, as nft lists them (the clock is a few
                // microseconds past 0.5 s once the datagrams are through).
                XCTAssertTrue(s.listRuleset(handles: false).contains("elements = { 10.0.0.1-10.0.0.9 timeout 2s expires 1s499ms, 192.0.2.0/24 timeout 2s expires 1s499ms,"), s.listRuleset(handles: false))
            }
        }
        let masked = { (t: String) in t.replacingOccurrences(of: #" expires [0-9a-z]+"#, with: " expires X", options: .regularExpression) }
        XCTAssertEqual(masked(s.listRuleset(handles: false)), masked(Self.recorded))
        XCTAssertTrue(s.listRuleset(handles: false).contains("198.51.100.7 expires 59m56s999ms }"), s.listRuleset(handles: false))
    }
}
