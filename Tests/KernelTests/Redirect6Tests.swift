@testable import Kernel
import Wire
import XCTest

/// ICMPv6 redirects a host receives (ndisc_redirect_rcv, rt6_do_redirect), as
/// scripts/record_redirect6.sh recorded them on Linux 6.18: we are 2001:db8::1 with
/// 2001:db8:99::/64 via the router's link-local address and a UDP socket on port 5000 (the
/// redirected header's datagram is its). The route `ip -6 route get` answers after each, and where
/// a datagram to the destination goes.
final class Redirect6Tests: XCTestCase {
    let router = try! IPv6Address(parsing: "fe80::ff:fe00:ff01")   // the EUI-64 address of peerMAC
    let us = try! IPv6Address(parsing: "2001:db8::1")

    func stack() throws -> Stack {
        var c = StackConfig(name: "r6", devices: [DeviceConfig(name: "eth0", mac: ourMAC)])
        c.devices[0].addresses6 = [try IPv6CIDR(parsing: "2001:db8::1/64")]
        c.routes6 = [Route6Config(dst: try IPv6CIDR(parsing: "2001:db8:99::/64"), via: router, dev: "eth0")]
        c.neighbours6 = [Neighbour6Config(address: router, mac: peerMAC, dev: "eth0")]
        c.sockets = [SocketConfig(id: 1, proto: .udp, address6: .any, port: 5000)]
        return try Stack(config: c)
    }

    /// A redirect from `src` naming `target` for `dest`, with the target's MAC and the redirected
    /// header (a datagram from our port 5000) when asked.
    func redirect(from src: IPv6Address, target: String, dest: String, mac: MACAddress? = nil, header: Bool = true, hop: UInt8 = 255) -> [UInt8] {
        let dst = try! IPv6Address(parsing: dest)
        var options: [NDPOption] = mac.map { [.targetLinkLayer($0)] } ?? []
        if header {
            let quoted = FrameRepr(ethernet: EthernetRepr(dst: peerMAC, src: ourMAC, ethertype: EtherType.ipv6),
                                   network: .ipv6(IPv6Repr(src: us, dst: dst, nextHeader: IPProtocol.udp, hopLimit: 64), [],
                                                  .udp(UDPRepr(srcPort: 5000, dstPort: 9, payload: Array("x".utf8))))).emit()
            let inner = Array(quoted[14...]) + [UInt8](repeating: 0, count: (8 - (quoted.count - 14) % 8) % 8)
            options.append(.other(type: 4, data: [UInt8](repeating: 0, count: 6) + inner))
        }
        let m = NDPRepr.redirect(target: try! IPv6Address(parsing: target), destination: dst, options: options).icmp
        return FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.ipv6),
                         network: .ipv6(IPv6Repr(src: src, dst: us, nextHeader: IPProtocol.icmpv6, hopLimit: hop), [], .icmpv6(m))).emit()
    }

    func testRedirectsAsTheKernelTookThem() throws {
        let s = try stack()
        func after(_ frame: [UInt8], _ dest: String, send: Bool = false) -> String {
            _ = s.inject(frame: frame, device: s.devices[0])
            let d = try! IPv6Address(parsing: dest)
            var out = s.ip6_route_get(d)?.gateway.map { "via \($0)" } ?? "dev eth0"
            if send {
                let r = s.send([Send(socket: 1, dst6: d, port: 9, payload: [0x78])])[0]
                let f = r.emitted.first?.frame ?? []
                out += f.count > 54 && f[20] == IPProtocol.udp ? ", sent to \(MACAddress(array: f, at: 0))" : ", waiting for its neighbour"
            }
            return out
        }
        let ll = router
        let other = try IPv6Address(parsing: "fe80::77")
        let viaRouter = "via \(ll)"
        // With the redirected header: the unbound socket matches no route (A, B, C, G, I), nor does
        // a global source (D) or a hop limit under 255 (F).
        XCTAssertEqual(after(redirect(from: ll, target: "fe80::2", dest: "2001:db8:99::5", mac: MACAddress(2, 0, 0, 0, 0, 0x22)), "2001:db8:99::5", send: true),
                       viaRouter + ", sent to \(peerMAC)")
        XCTAssertEqual(after(redirect(from: other, target: "fe80::2", dest: "2001:db8:99::6", mac: MACAddress(2, 0, 0, 0, 0, 0x22)), "2001:db8:99::6"), viaRouter)
        XCTAssertEqual(after(redirect(from: ll, target: "2001:db8:99::7", dest: "2001:db8:99::7", mac: MACAddress(2, 0, 0, 0, 0, 0x77)), "2001:db8:99::7"), viaRouter)
        XCTAssertEqual(after(redirect(from: try IPv6Address(parsing: "2001:db8::9"), target: "fe80::2", dest: "2001:db8:99::8", mac: MACAddress(2, 0, 0, 0, 0, 0x22)), "2001:db8:99::8"), viaRouter)
        // E: without the header, from the router: taken; the target's MAC is not known yet.
        XCTAssertEqual(after(redirect(from: ll, target: "fe80::3", dest: "2001:db8:99::9", header: false), "2001:db8:99::9", send: true), "via fe80::3, waiting for its neighbour")
        XCTAssertEqual(after(redirect(from: ll, target: "fe80::2", dest: "2001:db8:99::10", mac: MACAddress(2, 0, 0, 0, 0, 0x22), hop: 64), "2001:db8:99::10"), viaRouter)
        XCTAssertEqual(after(redirect(from: ll, target: "2001:db8::20", dest: "2001:db8:99::11", mac: MACAddress(2, 0, 0, 0, 0, 0x22)), "2001:db8:99::11"), viaRouter)
        // J-N without the header: not from the first hop, ignored; on-link, the destination itself
        // (its MAC STALE); a link-local target with its MAC; a global target, ignored; the new first
        // hop redirecting on.
        XCTAssertEqual(after(redirect(from: other, target: "fe80::2", dest: "2001:db8:99::14", mac: MACAddress(2, 0, 0, 0, 0, 0x22), header: false), "2001:db8:99::14"), viaRouter)
        XCTAssertEqual(after(redirect(from: ll, target: "2001:db8:99::15", dest: "2001:db8:99::15", mac: MACAddress(2, 0, 0, 0, 0, 0x77), header: false), "2001:db8:99::15", send: true),
                       "dev eth0, sent to 02:00:00:00:00:77")
        // STALE as the redirect left it (recorded), then DELAY once the datagram went to it.
        XCTAssertEqual(s.neighbours6.lookup(try IPv6Address(parsing: "2001:db8:99::15"), dev: 0)?.state, .delay)
        XCTAssertEqual(after(redirect(from: ll, target: "fe80::2", dest: "2001:db8:99::16", mac: MACAddress(2, 0, 0, 0, 0, 0x22), header: false), "2001:db8:99::16", send: true),
                       "via fe80::2, sent to 02:00:00:00:00:22")
        XCTAssertEqual(after(redirect(from: ll, target: "2001:db8::20", dest: "2001:db8:99::17", mac: MACAddress(2, 0, 0, 0, 0, 0x22), header: false), "2001:db8:99::17"), viaRouter)
        XCTAssertEqual(after(redirect(from: try IPv6Address(parsing: "fe80::2"), target: "fe80::4", dest: "2001:db8:99::16", header: false), "2001:db8:99::16"), "via fe80::4")
        XCTAssertEqual(s.snmp.icmp6.InType[137], 12)
        // A checkpoint keeps what redirects taught.
        let saved = s.runtimeState()
        XCTAssertEqual(saved.redirects6?.count, 3, "::9, ::15 and ::16")
        let t = try restoredCopy(of: s, saved, { try stack() })
        XCTAssertEqual(t.ip6_route_get(try IPv6Address(parsing: "2001:db8:99::16"))?.gateway, try IPv6Address(parsing: "fe80::4"))
        // I: no socket sent the quoted datagram: Icmp6InErrors.
        XCTAssertEqual(s.snmp.icmp6.InErrors, 0)
        XCTAssertTrue(s.closeSocket(1))
        XCTAssertEqual(after(redirect(from: ll, target: "fe80::2", dest: "2001:db8:99::13", mac: MACAddress(2, 0, 0, 0, 0, 0x22)), "2001:db8:99::13"), viaRouter)
        XCTAssertEqual(s.snmp.icmp6.InErrors, 1)
        // O: accept_redirects 0 (H likewise): ignored.
        let off = try Stack(config: { var c = try stack().config; c.sysctls = ["net.ipv6.conf.all.accept_redirects": 0]; return c }())
        _ = off.inject(frame: redirect(from: ll, target: "fe80::2", dest: "2001:db8:99::18", mac: MACAddress(2, 0, 0, 0, 0, 0x22), header: false), device: off.devices[0])
        XCTAssertEqual(off.ip6_route_get(try IPv6Address(parsing: "2001:db8:99::18"))?.gateway, ll)
    }
}
