@testable import Kernel
import NFTables
import Wire
import XCTest

/// IPv6 on one device (2001:db8::1/64 and its EUI-64 link-local address): neighbour discovery,
/// its timing, MIB counters, reassembly and what a disabled IPv6 does. The oracle corpus
/// (OracleTests, ../shared/oracle/corpus/public6) holds the rest against the real kernel.
final class IPv6Tests: XCTestCase {
    static let our6 = try! IPv6Address(parsing: "2001:db8::1")
    static let peer6 = try! IPv6Address(parsing: "2001:db8::9")

    func stack6(sysctls: [String: Int] = [:], peerKnown: Bool = true) throws -> Stack {
        var c = StackConfig(name: "t6", devices: [DeviceConfig(name: "eth0", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])])
        c.devices[0].addresses6 = [try IPv6CIDR(parsing: "2001:db8::1/64")]
        if peerKnown { c.neighbours6 = [Neighbour6Config(address: Self.peer6, mac: peerMAC, dev: "eth0")] }
        c.sysctls = sysctls
        return try Stack(config: c)
    }

    func frame6(src: IPv6Address = peer6, dst: IPv6Address = our6, dstMAC: MACAddress = ourMAC, hop: UInt8 = 64,
                exts: [IPv6ExtensionHeader] = [], _ l4: TransportRepr, next: UInt8? = nil) -> [UInt8] {
        let proto: UInt8 = switch l4 { case .udp: IPProtocol.udp; case .tcp: IPProtocol.tcp; case .icmpv6: IPProtocol.icmpv6; default: IPProtocol.noNextHeader }
        return FrameRepr(ethernet: EthernetRepr(dst: dstMAC, src: peerMAC, ethertype: EtherType.ipv6),
                         network: .ipv6(IPv6Repr(src: src, dst: dst, nextHeader: next ?? exts.first?.kind ?? proto, hopLimit: hop), exts, l4)).emit()
    }

    func echo(_ seq: UInt16 = 1) -> TransportRepr { .icmpv6(ICMPv6Repr(type: ICMPv6Repr.echoRequest, code: 0, restOfHeader: 0x0042_0000 | UInt32(seq), data: Array("ping".utf8))) }

    func testEchoIsAnsweredAndCountedAsSnmp6Names() throws {
        let s = try stack6()
        let r = s.inject(frame: frame6(echo()), device: s.devices[0])
        XCTAssertEqual(r.outcome, .consumed)
        // The NIC vouches for TCP and UDP checksums only: ICMPv6's is verified in software.
        XCTAssertEqual(r.stageNames, rxToCore + ["ipv6_rcv", "ip6_rcv_finish", "ip6_input", "ip6_input_finish", "icmpv6_rcv", "__skb_checksum_complete", "icmpv6_echo_reply",
                                                 "ip6_local_out", "ip6_output", "ip6_finish_output", "neigh_output", "dev_queue_xmit", "sch_direct_xmit", "dev_hard_start_xmit", "consume_skb"])
        let reply = try FrameRepr.parse(r.emitted[0].frame)
        guard case .ipv6(let ip, [], .icmpv6(let m)) = reply.network else { return XCTFail("not an ICMPv6 reply") }
        XCTAssertEqual([ip.src, ip.dst], [Self.our6, Self.peer6])
        XCTAssertEqual(ip.hopLimit, 64)
        XCTAssertEqual(m, ICMPv6Repr(type: ICMPv6Repr.echoReply, code: 0, restOfHeader: 0x0042_0001, data: Array("ping".utf8)))
        XCTAssertEqual(reply.ethernet.dst, peerMAC)
        let counters = Dictionary(uniqueKeysWithValues: s.snmp.snmp6.map { ($0.name, $0.value) })
        XCTAssertEqual([counters["Ip6InReceives"], counters["Ip6InDelivers"], counters["Ip6OutRequests"], counters["Icmp6InMsgs"],
                        counters["Icmp6OutMsgs"], counters["Icmp6InType128"], counters["Icmp6OutType129"]], [1, 1, 1, 1, 1, 1, 1])
    }

    /// A multicast solicitation for our address: the sender is learned (STALE) and answered with a
    /// solicited, overriding advertisement carrying our MAC, from the target, hop limit 255, flow label 0.
    func testNeighbourSolicitationIsAnswered() throws {
        let s = try stack6(peerKnown: false)
        let ll = try IPv6Address(parsing: "fe80::ff:fe00:9")
        let ns = NDPRepr.neighbourSolicitation(target: Self.our6, options: [.sourceLinkLayer(peerMAC)])
        let f = frame6(src: ll, dst: Self.our6.solicitedNode, dstMAC: Self.our6.solicitedNode.multicastMAC, hop: 255, .icmpv6(ns.icmp))
        let r = s.inject(frame: f, device: s.devices[0])
        XCTAssertEqual(r.outcome, .consumed)
        XCTAssertEqual(r.stageNames.suffix(12), ["icmpv6_rcv", "__skb_checksum_complete", "ndisc_rcv", "ndisc_send_na", "ip6_local_out", "ip6_output", "ip6_finish_output",
                                                 "neigh_output", "dev_queue_xmit", "sch_direct_xmit", "dev_hard_start_xmit", "consume_skb"])
        let na = NDPRepr.neighbourAdvertisement(router: false, solicited: true, override: true, target: Self.our6, options: [.targetLinkLayer(ourMAC)])
        let want = FrameRepr(ethernet: EthernetRepr(dst: peerMAC, src: ourMAC, ethertype: EtherType.ipv6),
                             network: .ipv6(IPv6Repr(src: Self.our6, dst: ll, nextHeader: IPProtocol.icmpv6, hopLimit: 255), [], .icmpv6(na.icmp))).emit()
        XCTAssertEqual(r.emitted.map { Hex.encode($0.frame) }, [Hex.encode(want)])
        // Learned STALE; sending the advertisement to it starts NUD (DELAY), as `ip -6 neigh` then shows.
        XCTAssertEqual(s.neighbour6Entries.map { "\($0.address) \($0.state.rawValue) \($0.mac!)" }, ["fe80::ff:fe00:9 DELAY 02:00:00:00:ff:01"])
        // Hop limit 64: ndisc_rcv ignores it (RFC 4861 7.1.1).
        let bad = s.inject(frame: frame6(src: ll, dst: Self.our6.solicitedNode, dstMAC: Self.our6.solicitedNode.multicastMAC, hop: 64, .icmpv6(ns.icmp)),
                           device: s.devices[0])
        XCTAssertEqual(bad.dropReason, .IPV6_NDISC_HOP_LIMIT)
        // Someone else's address: IPV6_NDISC_NS_OTHERHOST.
        let other = NDPRepr.neighbourSolicitation(target: try IPv6Address(parsing: "2001:db8::77"), options: [.sourceLinkLayer(peerMAC)])
        XCTAssertEqual(s.inject(frame: frame6(src: ll, hop: 255, .icmpv6(other.icmp)), device: s.devices[0]).dropReason, .IPV6_NDISC_NS_OTHERHOST)
    }

    /// A reply to an unknown on-link address waits for neighbour discovery: a solicitation to its
    /// solicited-node group at once, then one a second; an advertisement sends what waited, and
    /// without one the entry fails after 3 s (NEIGH_FAILED).
    func testResolutionSolicitsLearnsAndFails() throws {
        let s = try stack6(peerKnown: false)
        let r = s.inject(frame: frame6(echo()), device: s.devices[0])
        XCTAssertEqual(r.outcome, .consumed)
        XCTAssertEqual(r.emitted.count, 1)
        let ns = try FrameRepr.parse(r.emitted[0].frame)
        XCTAssertEqual(ns.ethernet.dst.description, "33:33:ff:00:00:09")
        guard case .ipv6(let ip, [], .icmpv6(let m)) = ns.network else { return XCTFail("not a solicitation") }
        XCTAssertEqual([ip.src.description, ip.dst.description, String(ip.hopLimit)], ["2001:db8::1", "ff02::1:ff00:9", "255"])
        XCTAssertEqual(try NDPRepr.parse(m), .neighbourSolicitation(target: Self.peer6, options: [.sourceLinkLayer(ourMAC)]))
        XCTAssertEqual(s.neighbour6Entries.map { "\($0.address) \($0.state.rawValue) \($0.queueLength)" }, ["2001:db8::9 INCOMPLETE 1"])
        // The advertisement: the waiting echo reply leaves with it.
        let na = NDPRepr.neighbourAdvertisement(router: false, solicited: true, override: true, target: Self.peer6, options: [.targetLinkLayer(peerMAC)])
        let a = s.inject(frame: frame6(hop: 255, .icmpv6(na.icmp)), device: s.devices[0])
        XCTAssertEqual(a.outcome, .consumed)
        XCTAssertEqual(a.emitted.count, 1)
        guard case .ipv6(_, _, .icmpv6(let reply)) = try FrameRepr.parse(a.emitted[0].frame).network else { return XCTFail("no reply") }
        XCTAssertEqual(reply.type, ICMPv6Repr.echoReply)
        XCTAssertEqual(s.neighbour6Entries.map { "\($0.address) \($0.state.rawValue) \($0.queueLength)" }, ["2001:db8::9 REACHABLE 0"])
        // Nobody answers for ::77: solicitations at 0, about 1 and 2 s (the timer wheel's 1.024 s), failure at about 3 s.
        let quiet = try IPv6Address(parsing: "2001:db8::77")
        let q = s.inject(frame: frame6(src: quiet, echo()), device: s.devices[0], atNs: 10_000_000_000)
        XCTAssertEqual(q.emitted.count, 1)
        s.advance(toNs: 12_900_000_000)
        XCTAssertEqual(s.neighbour6Entries.first { $0.address == quiet }?.probes, 3)
        XCTAssertEqual(s.devices[0].stats.tx_packets, 5)   // reply, 3 solicitations, and the first NS for ::9
        s.advance(toNs: 13_100_000_000)
        XCTAssertEqual(s.neighbour6Entries.first { $0.address == quiet }?.state, .failed)
        XCTAssertEqual(s.neighbourFailures, 1)
        XCTAssertEqual(s.devices[0].stats.tx_dropped, 0, "neigh_invalidate moves no device counter")
    }

    /// NUD (RFC 4861 7.3): a confirmation holds a random 15-45 s; sending to the neighbour after
    /// that goes on with the MAC it has (DELAY), 5 s later unicast probes follow (PROBE, 1 s
    /// apart), and after three unanswered ones the entry is FAILED; a solicited advertisement
    /// makes it REACHABLE again.
    func testNeighbourUnreachabilityDetection() throws {
        let s = try stack6(peerKnown: false)
        _ = s.inject(frame: frame6(echo()), device: s.devices[0])
        let na = NDPRepr.neighbourAdvertisement(router: false, solicited: true, override: true, target: Self.peer6, options: [.targetLinkLayer(peerMAC)])
        _ = s.inject(frame: frame6(hop: 255, .icmpv6(na.icmp)), device: s.devices[0])
        XCTAssertEqual(s.neighbour6Entries.first?.state, .reachable)
        // 50 s on: past any reachable time; the reply still goes to the known MAC, and NUD starts.
        let later = s.inject(frame: frame6(echo(2)), device: s.devices[0], atNs: 50_000_000_000)
        XCTAssertEqual(later.emitted.map { try! FrameRepr.parse($0.frame).ethernet.dst }, [peerMAC])
        XCTAssertEqual(s.neighbour6Entries.first?.state, .delay)
        let sent = s.devices[0].stats.tx_packets
        s.advance(toNs: 55_100_000_000)
        XCTAssertEqual(s.neighbour6Entries.first?.state, .probe)
        XCTAssertEqual(s.devices[0].stats.tx_packets, sent + 1)   // the first unicast probe
        s.advance(toNs: 58_200_000_000)
        XCTAssertEqual(s.neighbour6Entries.first.map { "\($0.state.rawValue) \($0.mac.map(\.description) ?? "-")" }, "FAILED -")
        XCTAssertEqual(s.devices[0].stats.tx_packets, sent + 3)   // three probes in all
        // An advertisement brings it back.
        _ = s.inject(frame: frame6(hop: 255, .icmpv6(na.icmp)), device: s.devices[0])
        XCTAssertEqual(s.neighbour6Entries.first?.state, .failed)   // a FAILED entry ignores advertisements
        let again = s.inject(frame: frame6(echo(3)), device: s.devices[0])
        XCTAssertEqual(again.emitted.count, 1)   // a multicast solicitation: INCOMPLETE again
        XCTAssertEqual(s.neighbour6Entries.first?.state, .incomplete)
        _ = s.inject(frame: frame6(hop: 255, .icmpv6(na.icmp)), device: s.devices[0])
        XCTAssertEqual(s.neighbour6Entries.first?.state, .reachable)
    }

    /// An advertisement naming another MAC without the override flag (ndisc_recv_na's
    /// NEIGH_UPDATE_F_WEAK_OVERRIDE): a REACHABLE entry keeps its MAC but becomes STALE, any other
    /// ignores it; with the flag the MAC is taken.
    func testAdvertisementsWithoutOverrideKeepTheMAC() throws {
        let s = try stack6(peerKnown: false)
        _ = s.inject(frame: frame6(echo()), device: s.devices[0])
        func na(_ mac: MACAddress, solicited: Bool, override: Bool) {
            let m = NDPRepr.neighbourAdvertisement(router: false, solicited: solicited, override: override, target: Self.peer6, options: [.targetLinkLayer(mac)])
            _ = s.inject(frame: frame6(hop: 255, .icmpv6(m.icmp)), device: s.devices[0])
        }
        func state() -> String { s.neighbour6Entries.map { "\($0.state.rawValue) \($0.mac.map { "\($0)" } ?? "-")" }.joined() }
        let other = MACAddress(2, 0, 0, 0, 0, 0x77)
        na(peerMAC, solicited: true, override: true)
        XCTAssertEqual(state(), "REACHABLE 02:00:00:00:ff:01")
        na(other, solicited: false, override: false)
        XCTAssertEqual(state(), "STALE 02:00:00:00:ff:01")
        na(other, solicited: true, override: false)
        XCTAssertEqual(state(), "STALE 02:00:00:00:ff:01")
        na(other, solicited: false, override: true)
        XCTAssertEqual(state(), "STALE 02:00:00:00:00:77")
    }

    /// A router forwarding a packet back out the link it came in on tells the sender (RFC 4861 8.2):
    /// a redirect from its link-local address naming the better first hop (here the on-link
    /// destination itself) with its MAC and the start of the packet, cut to a multiple of 8 bytes;
    /// limited per destination and per source by inet_peer's bucket (a burst of 6, then one a second).
    func testRedirectForPacketsBackOutTheirLink() throws {
        let s = try stack6(sysctls: ["net.ipv6.conf.all.forwarding": 1])
        let other = try IPv6Address(parsing: "2001:db8::55"), omac = MACAddress(2, 0, 0, 0, 0, 0x55)
        XCTAssertTrue(s.addNeighbour6(Neighbour6Config(address: other, mac: omac, dev: "eth0")))
        let f = frame6(dst: other, .udp(UDPRepr(srcPort: 1, dstPort: 2, payload: [9, 9])))
        let r = s.inject(frame: f, device: s.devices[0])
        XCTAssertEqual(r.outcome, .forwarded)
        XCTAssertEqual(r.emitted.count, 2)
        let redirect = try FrameRepr.parse(r.emitted[0].frame)
        guard case .ipv6(let ip, [], .icmpv6(let m)) = redirect.network else { return XCTFail("not ICMPv6") }
        XCTAssertEqual([ip.src.description, ip.dst.description, String(ip.hopLimit)], ["fe80::ff:fe00:1", "2001:db8::9", "255"])
        XCTAssertEqual(redirect.ethernet.dst, peerMAC)
        let quoted = Array(f[14..<(14 + 48)])   // 50 bytes of packet: rd_len (58) rounded down to 56, less the option's 8
        XCTAssertEqual(try NDPRepr.parse(m), .redirect(target: other, destination: other, options: [
            .targetLinkLayer(omac), .other(type: 4, data: [0, 0, 0, 0, 0, 0] + quoted),
        ]))
        XCTAssertEqual(try FrameRepr.parse(r.emitted[1].frame).ethernet.dst, omac)   // and the packet goes on
        // Six more at once: five redirects (a burst of six in all), then none until time refills the bucket.
        let burst = s.inject((0..<6).map { _ in Injection(device: 0, frame: f) })
        XCTAssertEqual(burst.map(\.emitted.count), [2, 2, 2, 2, 2, 1])
        XCTAssertEqual(s.snmp.icmp6.OutType[137], 6)
        XCTAssertEqual(s.inject(frame: f, device: s.devices[0], atNs: s.clockNs + 1_000_000_000).emitted.count, 2)
    }

    /// RFC 5722: an overlapping fragment kills the whole queue; a lone first fragment expires after
    /// net.ipv6.ip6frag_time with time exceeded (fragment reassembly) to its source.
    func testReassemblyOverlapAndTimeout() throws {
        let s = try stack6()
        let udp = UDPRepr(srcPort: 7, dstPort: 9, payload: [UInt8](repeating: 0x41, count: 40))
        var whole = [UInt8](repeating: 0, count: 48)
        udp.emit(into: &whole, at: 0, pseudo: .v6(Self.peer6, Self.our6))
        func frag(_ off: Int, _ bytes: ArraySlice<UInt8>, more: Bool, id: UInt32) -> [UInt8] {
            frame6(exts: [.fragment(next: IPProtocol.udp, offset: off, more: more, ident: id)], .raw(Array(bytes)))
        }
        XCTAssertEqual(s.inject(frame: frag(0, whole[0..<24], more: true, id: 1), device: s.devices[0]).outcome, .queued)
        let overlap = s.inject(frame: frag(16, whole[16..<48], more: false, id: 1), device: s.devices[0])
        XCTAssertEqual(overlap.dropReason, .NOT_SPECIFIED)
        XCTAssertEqual(s.snmp.ip6.ReasmFails, 1)
        // In order: reassembled and delivered (port unreachable: no IPv6 socket).
        _ = s.inject(frame: frag(0, whole[0..<24], more: true, id: 2), device: s.devices[0])
        let last = s.inject(frame: frag(24, whole[24..<48], more: false, id: 2), device: s.devices[0])
        XCTAssertEqual(last.dropReason, .NO_SOCKET)
        XCTAssertEqual(s.snmp.ip6.ReasmOKs, 1)
        // A lone first fragment: after 60 s, ICMPv6 time exceeded code 1.
        let lone = s.inject(frame: frag(0, whole[0..<24], more: true, id: 3), device: s.devices[0], atNs: 1_000_000_000)
        XCTAssertEqual(lone.outcome, .queued, "\(lone.stageNames) \(String(describing: lone.note))")
        let before = s.devices[0].stats.tx_packets
        s.advance(toNs: 61_000_000_000)   // the queue was made 500 ns after 1 s (the stages before it)
        XCTAssertEqual(s.snmp.ip6.ReasmTimeout, 0)
        s.advance(toNs: 61_000_000_500)
        XCTAssertEqual(s.snmp.ip6.ReasmTimeout, 1)
        XCTAssertEqual(s.devices[0].stats.tx_packets, before + 1)
        XCTAssertTrue(s.frags6.queues.isEmpty)
    }

    /// An IPv6 reassembly queue comes back from `runtimeState()` with its timer: the last piece
    /// completes it in the rebuilt stack as in the first, and a lone one expires alike.
    func testRuntimeStateKeepsIPv6ReassemblyQueues() throws {
        let udp = UDPRepr(srcPort: 7, dstPort: 9, payload: [UInt8](repeating: 0x41, count: 40))
        var whole = [UInt8](repeating: 0, count: 48)
        udp.emit(into: &whole, at: 0, pseudo: .v6(Self.peer6, Self.our6))
        func frag(_ off: Int, _ bytes: ArraySlice<UInt8>, more: Bool, id: UInt32) -> [UInt8] {
            frame6(exts: [.fragment(next: IPProtocol.udp, offset: off, more: more, ident: id)], .raw(Array(bytes)))
        }
        let s = try stack6()
        XCTAssertEqual(s.inject([frag(0, whole[0..<24], more: true, id: 2), frag(0, whole[0..<24], more: true, id: 3)].map {
            Injection(device: 0, frame: $0, atNs: 1_000_000_000)
        }).map(\.outcome), [.queued, .queued])
        let saved = s.runtimeState()
        XCTAssertEqual(saved.fragments.map { "\($0.v6) \($0.id) \($0.meat) \($0.timersNs)" }, ["true 2 24 [61000000500]", "true 3 24 [61000000500]"])
        let t = try restoredCopy(of: s, saved, { try stack6() })
        for x in [s, t] {
            x.captureWire = true
            XCTAssertEqual(x.inject(frame: frag(24, whole[24..<48], more: false, id: 2), device: x.devices[0], atNs: 2_000_000_000).dropReason, .NO_SOCKET)
            x.advance(toNs: 62_000_000_000)
        }
        XCTAssertEqual(s.wire.count, 2)   // the port unreachable, then id 3's time exceeded
        XCTAssertEqual(t.wire, s.wire)
        XCTAssertEqual(t.snmp, s.snmp)
    }

    /// AF_INET6 sockets: `::` takes IPv6 and (IPV6_V6ONLY off, the default) IPv4 as v4-mapped
    /// addresses, after an AF_INET socket on the port; with v6only, IPv4 finds no socket; binds
    /// that overlap are EADDRINUSE.
    func testDualStackSockets() throws {
        let s = try stack6()
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, address6: .any, port: 53)))
        let six = s.inject(frame: frame6(.udp(UDPRepr(srcPort: 1000, dstPort: 53, payload: [1]))), device: s.devices[0])
        XCTAssertEqual(six.outcome, .delivered)
        XCTAssertEqual(six.stageNames.suffix(2), ["udpv6_rcv", "udp_queue_rcv_skb"])
        let four = s.inject(frame: frame(.udp(UDPRepr(srcPort: 1001, dstPort: 53, payload: [2]))), device: s.devices[0])
        XCTAssertEqual(four.outcome, .delivered)
        let got = s.recv(socket: 1, max: 10, cpu: 0)!
        XCTAssertEqual(got.map { "\($0.src) \($0.srcPort) > \($0.dst)" }, ["2001:db8::9 1000 > 2001:db8::1", "::ffff:198.18.0.9 1001 > ::ffff:198.18.0.1"])
        XCTAssertEqual([s.snmp.udp6.InDatagrams, s.snmp.udp.InDatagrams], [1, 1])
        // An AF_INET socket on 0.0.0.0:53 clashes with the dual-stack one; a v6only one on 54 does not.
        XCTAssertEqual(s.bind(SocketConfig(id: 2, proto: .udp, port: 53)), "address 0.0.0.0:53 already in use (EADDRINUSE)")
        XCTAssertNil(s.bind(SocketConfig(id: 3, proto: .udp, address6: .any, v6only: true, port: 54)))
        XCTAssertNil(s.bind(SocketConfig(id: 4, proto: .udp, port: 54)))
        XCTAssertEqual(s.inject(frame: frame(.udp(UDPRepr(srcPort: 1, dstPort: 54))), device: s.devices[0]).outcome, .delivered)
        XCTAssertEqual(s.socket(4)?.queue.count, 1)
        XCTAssertEqual(s.socket(3)?.queue.count, 0)
        // A zero UDP checksum over IPv6 is refused even with a socket.
        var zero = frame6(.udp(UDPRepr(srcPort: 1, dstPort: 53)))
        zero[14 + 40 + 6] = 0; zero[14 + 40 + 7] = 0
        XCTAssertEqual(s.inject(frame: zero, device: s.devices[0]).dropReason, .UDP_CSUM)
        // A TCP listener on [::]:80 takes an IPv6 SYN: a request sock, and a SYN-ACK (MSS 1440).
        XCTAssertNil(s.bind(SocketConfig(id: 5, proto: .tcp, address6: .any, port: 80)))
        let syn = s.inject(frame: frame6(.tcp(TCPRepr(srcPort: 4000, dstPort: 80, flags: .syn))), device: s.devices[0])
        XCTAssertEqual([syn.outcome.rawValue, syn.note ?? ""], ["consumed", "SYN to listener 5: request sock made, SYN-ACK sent"])
        guard case .ipv6(_, [], .tcp(let synack))? = try syn.emitted.first.map({ try FrameRepr.parse($0.frame, verifyChecksums: true).network }) else { return XCTFail("no SYN-ACK") }
        XCTAssertEqual([synack.flags.rawValue, UInt8(synack.options.count)], [TCPFlags([.syn, .ack]).rawValue, 4])
        XCTAssertEqual(Array(synack.options.prefix(4)), [2, 4, 0x05, 0xa0])
        XCTAssertEqual(s.socket(5)?.synReceived, 1)
        XCTAssertEqual(s.ssTCP.map(\.local), ["*:80", "[2001:db8::1]:80"])
    }

    /// A router advertisement (accept_ra 1, not forwarding): the default route via the router, its
    /// MAC, the on-link prefix and a SLAAC address, each until its lifetime runs out; accept_ra 0,
    /// or forwarding with accept_ra 1, leaves it unheard.
    /// fe80::1's advertisement: default router for 1800 s, hop limit 60, MTU 1400, and 2001:db8:5::/64
    /// on-link and autonomous for 100 s.
    static let router = IPv6Address(raw: 0xfe80 << 112 | 1), routerMAC = MACAddress(2, 0, 0, 0, 0, 0xfe)
    func raFrame() -> [UInt8] {
        let ra = NDPRepr.routerAdvertisement(curHopLimit: 60, flags: 0, routerLifetime: 1800, reachableTime: 0, retransTimer: 0, options: [
            .sourceLinkLayer(Self.routerMAC), .mtu(1400),
            .prefixInformation(prefixLength: 64, onLink: true, autonomous: true, validLifetime: 100, preferredLifetime: 50, prefix: IPv6Address(raw: 0x2001_0db8_0005 << 80)),
        ])
        return FrameRepr(ethernet: EthernetRepr(dst: IPv6Address.allNodes.multicastMAC, src: Self.routerMAC, ethertype: EtherType.ipv6),
                         network: .ipv6(IPv6Repr(src: Self.router, dst: .allNodes, nextHeader: IPProtocol.icmpv6, hopLimit: 255), [], .icmpv6(ra.icmp))).emit()
    }

    func testRouterAdvertisementsTeachRoutesAndAddresses() throws {
        let s = try stack6(peerKnown: false)
        let router = Self.router, rmac = Self.routerMAC
        let far = try IPv6Address(parsing: "2001:db8:99::5")
        XCTAssertTrue(s.inject(frame: frame6(src: far, echo()), device: s.devices[0]).emitted.isEmpty)   // no route back yet
        let r = s.inject(frame: raFrame(), device: s.devices[0])
        XCTAssertEqual(r.outcome, .consumed)
        XCTAssertEqual(r.note, "RA from fe80::1: default route via fe80::1 for 1800 s, hop limit 60, MTU 1400, on-link 2001:db8:5::/64, address 2001:db8:5::ff:fe00:1/64")
        XCTAssertEqual(s.fib6.main.map { "\($0.prefix) \($0.gateway.map(\.description) ?? "-") \($0.metric) \($0.proto)" },
                       ["fe80::/64 - 256 kernel", "2001:db8::/64 - 256 kernel", "2001:db8:5::/64 - 256 kernel", "::/0 fe80::1 1024 ra"])
        // The reply to the far host now leaves via the router, to the MAC the advertisement gave.
        let reply = s.inject(frame: frame6(src: far, echo(2)), device: s.devices[0])
        XCTAssertEqual(reply.emitted.map { try! FrameRepr.parse($0.frame).ethernet.dst }, [rmac])
        guard case .ipv6(let rip, _, _) = try FrameRepr.parse(reply.emitted[0].frame).network else { return XCTFail("not IPv6") }
        XCTAssertEqual(rip.hopLimit, 60)   // the advertised hop limit
        // The advertised MTU: a 1,450-byte reply leaves in fragments.
        let big = ICMPv6Repr(type: ICMPv6Repr.echoRequest, code: 0, restOfHeader: 1, data: [UInt8](repeating: 1, count: 1402))
        XCTAssertEqual(s.inject(frame: frame6(src: far, .icmpv6(big)), device: s.devices[0]).emitted.count, 2)
        // The SLAAC address answers.
        let slaac = try IPv6Address(parsing: "2001:db8:5::ff:fe00:1")
        XCTAssertEqual(s.inject(frame: frame6(dst: slaac, echo(3)), device: s.devices[0]).emitted.count, 1)
        // 100 s on, the prefix and the address are gone (the default route lasts 1800 s).
        s.advance(toNs: 101_000_000_000)
        XCTAssertEqual(s.fib6.main.map { "\($0.prefix)" }, ["fe80::/64", "2001:db8::/64", "::/0"])
        XCTAssertEqual(s.inject(frame: frame6(dst: slaac, echo(4)), device: s.devices[0]).dropReason, .IP_INADDRERRORS)
        // An advertisement with no options (16 bytes) and router lifetime 0 withdraws the default route.
        let bye = NDPRepr.routerAdvertisement(curHopLimit: 0, flags: 0, routerLifetime: 0, reachableTime: 0, retransTimer: 0, options: [])
        let w = s.inject(frame: FrameRepr(ethernet: EthernetRepr(dst: IPv6Address.allNodes.multicastMAC, src: rmac, ethertype: EtherType.ipv6),
                                          network: .ipv6(IPv6Repr(src: router, dst: .allNodes, nextHeader: IPProtocol.icmpv6, hopLimit: 255), [],
                                                         .icmpv6(bye.icmp))).emit(), device: s.devices[0])
        XCTAssertEqual(w.note, "RA from fe80::1: nothing learned")
        XCTAssertEqual(s.fib6.main.map { "\($0.prefix)" }, ["fe80::/64", "2001:db8::/64"])
        // accept_ra 0, and a router (forwarding) with accept_ra 1: not taken.
        for sysctls in [["net.ipv6.conf.all.accept_ra": 0], ["net.ipv6.conf.all.forwarding": 1]] {
            let t = try stack6(sysctls: sysctls)
            XCTAssertEqual(t.inject(frame: raFrame(), device: t.devices[0]).dropReason, .NOT_SPECIFIED)
            XCTAssertTrue(t.fib6.main.allSatisfy { $0.proto != .ra })
        }
    }

    /// An advertisement's retrans timer and reachable time become the link's neighbour discovery
    /// parameters in whole jiffies, as this kernel took them (net.ipv6.neigh.DEV.retrans_time_ms
    /// and base_reachable_time_ms read after RAs from scapy: 2003 -> 2000 and 5000; 5 -> 8 and
    /// 50 -> 100, the floors; 0 leaves them): solicitations for an unknown neighbour go 2 s
    /// apart and the entry fails after the third.
    func testAdvertisedRetransTimerAndReachableTime() throws {
        let s = try stack6(peerKnown: false)
        func advertise(reachable: UInt32, retrans: UInt32) -> String? {
            let ra = NDPRepr.routerAdvertisement(curHopLimit: 0, flags: 0, routerLifetime: 0, reachableTime: reachable, retransTimer: retrans, options: [])
            return s.inject(frame: FrameRepr(ethernet: EthernetRepr(dst: IPv6Address.allNodes.multicastMAC, src: Self.routerMAC, ethertype: EtherType.ipv6),
                                             network: .ipv6(IPv6Repr(src: Self.router, dst: .allNodes, nextHeader: IPProtocol.icmpv6, hopLimit: 255), [],
                                                            .icmpv6(ra.icmp))).emit(), device: s.devices[0]).note
        }
        XCTAssertEqual(advertise(reachable: 50, retrans: 5), "RA from fe80::1: retrans timer 8 ms, reachable time 100 ms")
        XCTAssertEqual(advertise(reachable: 0, retrans: 0), "RA from fe80::1: nothing learned")
        XCTAssertEqual(advertise(reachable: 5000, retrans: 2003), "RA from fe80::1: retrans timer 2000 ms, reachable time 5000 ms")
        XCTAssertEqual([s.runtimeState().devices[0].ndRetransNs, s.runtimeState().devices[0].ndBaseReachableMs], [2_000_000_000, 5000])
        let quiet = try IPv6Address(parsing: "2001:db8::77")
        let q = s.inject(frame: frame6(src: quiet, echo()), device: s.devices[0], atNs: 10_000_000_000)
        XCTAssertEqual(q.emitted.count, 1)
        // The first solicitation went with the echo at 10 s; the timer (2 s on the timer wheel's
        // 32 ms steps at that range) sends two more, then the entry fails.
        XCTAssertEqual(s.advance(toNs: 16_000_000_000).map(\.timeNs), [12_032_000_260, 14_048_000_260])
        XCTAssertEqual(s.neighbour6Entries.first { $0.address == quiet }?.state, .incomplete)
        XCTAssertEqual(s.advance(toNs: 16_100_000_000), [])
        XCTAssertEqual(s.neighbour6Entries.first { $0.address == quiet }?.state, .failed)
        // A solicited advertisement now confirms for a random 2.5 to 7.5 s (half to one and a half of 5 s).
        _ = s.inject(frame: frame6(echo(2)), device: s.devices[0], atNs: 20_000_000_000)
        let na = NDPRepr.neighbourAdvertisement(router: false, solicited: true, override: true, target: Self.peer6, options: [.targetLinkLayer(peerMAC)])
        _ = s.inject(frame: frame6(hop: 255, .icmpv6(na.icmp)), device: s.devices[0])
        XCTAssertEqual(s.neighbours6.lookup(Self.peer6, dev: 0)?.reachableNs, 3_179_000_000)
    }

    /// What an advertisement taught, the neighbours neighbour discovery learnt (with their NUD
    /// timers) and the counters come back whole in a stack rebuilt from `runtimeState()`, and it
    /// goes on as the first: the prefix runs out at the same time, the probe leaves at the same time.
    func testRuntimeStateRebuildsTheStackAsItWas() throws {
        let s = try stack6(peerKnown: false)
        XCTAssertEqual(s.inject(frame: raFrame(), device: s.devices[0]).outcome, .consumed)
        // An echo from afar: the reply goes to the router, whose entry (STALE from the RA) enters DELAY with its 5 s timer.
        let far = try IPv6Address(parsing: "2001:db8:99::5")
        XCTAssertEqual(s.inject(frame: frame6(src: far, echo()), device: s.devices[0]).emitted.count, 1)
        let saved = s.runtimeState()
        XCTAssertEqual(saved.neighbours.map { "\($0.address) \($0.state) \($0.timersNs)" }, ["fe800000000000000000000000000001 DELAY [5088000000]"])
        XCTAssertEqual(saved.raRoutes.map { "\($0.prefix)/\($0.length) \($0.expiresNs)" }, ["0/0 1800000000500", "20010db8000500000000000000000000/64 100000000500"])
        XCTAssertEqual(saved.devices.map { "\($0.name) \($0.hopLimit6) \($0.mtu6)" }, ["eth0 60 1400", "lo 64 65536"])

        let t = try restoredCopy(of: s, saved, { try stack6(peerKnown: false) })
        XCTAssertEqual(t.fib6.main.map { "\($0.prefix) \($0.proto)" }, s.fib6.main.map { "\($0.prefix) \($0.proto)" })
        XCTAssertEqual(t.snmp, s.snmp)
        // Both go on alike: the unicast probe at 5 s, the prefix and address gone after 100 s.
        for x in [s, t] { x.captureWire = true; x.advance(toNs: 101_000_000_000) }
        XCTAssertEqual(t.wire.map(\.frame), s.wire.map(\.frame))
        XCTAssertEqual(t.wire.map(\.timeNs), s.wire.map(\.timeNs))
        XCTAssertEqual(s.wire.count, 3)   // three unicast probes, 1 s apart
        XCTAssertEqual(t.fib6.main.map { "\($0.prefix)" }, ["fe80::/64", "2001:db8::/64", "::/0"])
        XCTAssertEqual(t.runtimeState(), s.runtimeState())
    }

    /// GRO for TCP over IPv6 (`ipv6_gro_receive`): a burst of one flow goes up as one skb, and
    /// forwarded it leaves cut back into its segments with their payload lengths and checksums; a
    /// different hop limit or flow label does not merge.
    func testGROMergesTCPOverIPv6AndGSOCutsItBack() throws {
        var c = StackConfig(name: "g6", devices: [DeviceConfig(name: "eth0", mac: ourMAC), DeviceConfig(name: "eth1", mac: MACAddress(2, 0, 0, 0, 1, 1))],
                            sysctls: ["net.ipv6.conf.all.forwarding": 1])
        c.devices[0].addresses6 = [try IPv6CIDR(parsing: "2001:db8::1/64")]
        c.devices[1].addresses6 = [try IPv6CIDR(parsing: "2001:db8:1::1/64")]
        let far = try IPv6Address(parsing: "2001:db8:1::5")
        c.neighbours6 = [Neighbour6Config(address: far, mac: MACAddress(2, 0, 0, 0, 1, 2), dev: "eth1")]
        let s = try Stack(config: c)
        func seg(_ i: Int, hop: UInt8 = 64, flow: UInt32 = 7) -> [UInt8] {
            FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.ipv6),
                      network: .ipv6(IPv6Repr(src: Self.peer6, dst: far, nextHeader: IPProtocol.tcp, hopLimit: hop, flowLabel: flow), [],
                                     .tcp(TCPRepr(srcPort: 40000, dstPort: 80, seq: UInt32(1000 + i * 100), ack: 1, flags: .ack,
                                                  payload: [UInt8](repeating: UInt8(i), count: 100))))).emit()
        }
        let frames = (0..<4).map { seg($0) }
        let rs = s.inject(frames.map { Injection(device: 0, frame: $0, atNs: 0) })
        XCTAssertEqual(rs[0].segments, 4)
        XCTAssertEqual(rs[0].outcome, .forwarded)
        XCTAssertEqual(rs.dropFirst().map(\.outcome), [.consumed, .consumed, .consumed])
        XCTAssertEqual(s.devices[0].stats.rx_gro_packets, 3)
        // Out as four frames: each what arrived, hop limit 63, Ethernet addresses of this hop.
        XCTAssertEqual(rs[0].emitted.count, 4)
        for (k, e) in rs[0].emitted.enumerated() {
            var want = frames[k]
            want[14 + 7] = 63
            for (j, x) in (MACAddress(2, 0, 0, 0, 1, 2).array + MACAddress(2, 0, 0, 0, 1, 1).array).enumerated() { want[j] = x }
            XCTAssertEqual(Hex.encode(e.frame), Hex.encode(want), "segment \(k)")
        }
        // A different hop limit or flow label is not the same flow: nothing merges.
        for other in [seg(1, hop: 63), seg(1, flow: 8)] {
            let t = try Stack(config: c)
            let r = t.inject([Injection(device: 0, frame: seg(0), atNs: 0), Injection(device: 0, frame: other, atNs: 0)])
            XCTAssertEqual(r.map(\.segments), [1, 1])
        }
    }

    /// `ct original|reply ip6 saddr|daddr` read the connection's IPv6 tuples (nft_ct_get_eval); in
    /// inet, `meta nfproto ipv4` gives a family-less `ct original saddr` its family, and nft lists
    /// the pair as `ct original ip saddr`; without it nft's refusal.
    func testConntrackIPv6Addresses() throws {
        let s = try stack6()
        s.loadRuleset(try NFParser.parse("""
        table inet t {
        \tchain input {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tct original ip6 saddr 2001:db8::9 counter
        \t\tct reply ip6 saddr 2001:db8::1 counter
        \t\tct original ip6 daddr 2001:db8::/64 counter
        \t\tct original ip6 saddr 2001:db8::7 counter
        \t\tmeta nfproto ipv4 ct original saddr 1.2.3.4 counter
        \t}
        }
        """))
        _ = s.inject(frame: frame6(.udp(UDPRepr(srcPort: 5000, dstPort: 9, payload: [1]))), device: s.devices[0])
        let counters = s.listRuleset(handles: false).split(separator: "\n").filter { $0.contains("counter") }.map { String($0.drop { $0 == "\t" }) }
        XCTAssertEqual(counters, ["ct original ip6 saddr 2001:db8::9 counter packets 1 bytes 49", "ct reply ip6 saddr 2001:db8::1 counter packets 1 bytes 49",
                                  "ct original ip6 daddr 2001:db8::/64 counter packets 1 bytes 49", "ct original ip6 saddr 2001:db8::7 counter packets 0 bytes 0",
                                  "ct original ip saddr 1.2.3.4 counter packets 0 bytes 0"])
        XCTAssertThrowsError(try NFParser.parse("table inet t { chain c { ct original saddr ::1; }; }")) {
            XCTAssertTrue("\($0)".contains("cannot determine ip protocol version"), "\($0)")
        }
    }

    /// IPv6 addresses in concatenations, anonymous and named verdict maps and named sets match.
    func testIPv6KeysInConcatenationsMapsAndSets() throws {
        let s = try stack6()
        s.loadRuleset(try NFParser.parse("""
        table inet t {
        \tset six {
        \t\ttype ipv6_addr
        \t\tflags interval
        \t\telements = { 2001:db8::/64 }
        \t}

        \tmap m {
        \t\ttype ipv6_addr : verdict
        \t\telements = { 2001:db8::9 : drop }
        \t}

        \tchain input {
        \t\ttype filter hook input priority filter; policy accept;
        \t\tudp dport 1 ip6 saddr . udp dport { 2001:db8::9 . 1 } drop
        \t\tudp dport 2 ip6 saddr vmap { 2001:db8::9 : drop }
        \t\tudp dport 3 ip6 saddr vmap @m
        \t\tudp dport 4 ip6 saddr @six drop
        \t\tudp dport 5 ip6 saddr . udp dport { 2001:db8::8 . 5 } drop
        \t}
        }

        """))
        let reasons = (1...5).map { s.inject(frame: frame6(.udp(UDPRepr(srcPort: 9, dstPort: UInt16($0)))), device: s.devices[0]).dropReason }
        XCTAssertEqual(reasons, [.NETFILTER_DROP, .NETFILTER_DROP, .NETFILTER_DROP, .NETFILTER_DROP, .NO_SOCKET])
    }

    /// A reply bigger than the egress MTU leaves fragmented (`ip6_fragment`): the fixed header,
    /// a fragment header with one identification and the M flag, pieces of a multiple of 8 bytes.
    func testLocalOutputIsFragmentedToTheMTU() throws {
        var c = StackConfig(name: "f6", devices: [DeviceConfig(name: "eth0", mac: ourMAC, mtu: 1280)])
        c.devices[0].addresses6 = [try IPv6CIDR(parsing: "2001:db8::1/64")]
        c.neighbours6 = [Neighbour6Config(address: Self.peer6, mac: peerMAC, dev: "eth0")]
        let s = try Stack(config: c)
        let big = ICMPv6Repr(type: ICMPv6Repr.echoRequest, code: 0, restOfHeader: 0x0001_0001, data: [UInt8](repeating: 0x70, count: 1392))
        let r = s.inject(frame: frame6(.icmpv6(big)), device: s.devices[0])
        XCTAssertEqual(r.emitted.count, 2)
        var ids: [UInt32] = [], pieces: [Int] = [], offsets: [Int] = [], more: [Bool] = []
        var reassembled: [UInt8] = []
        for e in r.emitted {
            guard case .ipv6(let ip, let exts, .raw(let data)) = try FrameRepr.parse(e.frame).network,
                  case .fragment(let off, let m, let id, _)? = exts.first?.body else { return XCTFail("not a fragment") }
            XCTAssertEqual(exts.first?.nextHeader, IPProtocol.icmpv6)
            XCTAssertEqual(ip.nextHeader, IPProtocol.fragment)
            XCTAssertLessThanOrEqual(e.frame.count - 14, 1280)
            ids.append(id); pieces.append(data.count); offsets.append(off); more.append(m)
            reassembled += data
        }
        XCTAssertEqual(ids[0], ids[1])
        XCTAssertEqual(pieces, [1232, 168])   // 1,400 bytes of ICMPv6: (1280 - 40 - 8) rounded down to 8, then the rest
        XCTAssertEqual(offsets, [0, 1232])
        XCTAssertEqual(more, [true, false])
        XCTAssertEqual(Array(reassembled.dropFirst(8)), big.data)
        XCTAssertEqual([s.snmp.ip6.FragOKs, s.snmp.ip6.FragCreates], [1, 2])
    }

    func testDisabledIPv6AndHeaderChecks() throws {
        let off = try makeStack(sysctls: ["net.ipv6.conf.all.disable_ipv6": 1])
        let r = off.inject(frame: frame6(echo()), device: off.devices[0])
        XCTAssertEqual(r.dropReason, .IPV6DISABLED)
        XCTAssertEqual(off.snmp.ip6.InDiscards, 1)
        XCTAssertThrowsError(try Stack(config: {
            var c = StackConfig(name: "x", devices: [DeviceConfig(name: "eth0", mac: ourMAC)], sysctls: ["net.ipv6.conf.all.disable_ipv6": 1])
            c.devices[0].addresses6 = [try! IPv6CIDR(parsing: "2001:db8::1/64")]
            return c
        }()))
        let s = try stack6()
        // Multicast source, loopback destination, interface-local multicast: IP_INHDR, Ip6InHdrErrors.
        for f in [frame6(src: try IPv6Address(parsing: "ff02::1"), echo()), frame6(dst: .loopback, echo()),
                  frame6(dst: try IPv6Address(parsing: "ff01::1"), dstMAC: MACAddress(0x33, 0x33, 0, 0, 0, 1), echo())] {
            XCTAssertEqual(s.inject(frame: f, device: s.devices[0]).dropReason, .IP_INHDR)
        }
        XCTAssertEqual(s.snmp.ip6.InHdrErrors, 3)
        // A group the device has not joined.
        let g = try IPv6Address(parsing: "ff02::1:ff00:77")
        XCTAssertEqual(s.inject(frame: frame6(dst: g, dstMAC: g.multicastMAC, echo()), device: s.devices[0]).note, "multicast group ff02::1:ff00:77 not joined on eth0")
        // With forwarding off, a packet for another host vanishes (Ip6InAddrErrors), even at hop limit 1.
        let other = s.inject(frame: frame6(dst: try IPv6Address(parsing: "2001:db8::55"), hop: 1, echo()), device: s.devices[0])
        XCTAssertEqual(other.dropReason, .IP_INADDRERRORS)
        XCTAssertTrue(other.emitted.isEmpty)
        // No route at all (this stack has no default route): ICMPv6 no route (ip6_pkt_drop).
        let far = s.inject(frame: frame6(dst: try IPv6Address(parsing: "2001:db8:5::1"), echo()), device: s.devices[0])
        XCTAssertEqual(far.dropReason, .IP_INNOROUTES)
        guard case .ipv6(_, _, .icmpv6(let m))? = try far.emitted.first.map({ try FrameRepr.parse($0.frame).network }) else { return XCTFail("no ICMPv6") }
        XCTAssertEqual([m.type, m.code], [ICMPv6Repr.destUnreachable, 0])
    }
}

/// udpv6_sendmsg: an AF_INET6 socket sends IPv6 (hop limit of the link, an automatic flow label,
/// UDP checksum in full), fragments at the source above the MTU, and sends IPv4 to a v4-mapped
/// address when it is a dual-stack `::` socket (Tests/TCTests' udp6_sends is the recorded case).
final class UDP6SendTests: XCTestCase {
    func testSendsOverIPv6() throws {
        var c = StackConfig(name: "s6", devices: [DeviceConfig(name: "eth0", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])])
        c.devices[0].addresses6 = [try IPv6CIDR(parsing: "2001:db8::1/64")]
        c.neighbours6 = [Neighbour6Config(address: IPv6Tests.peer6, mac: peerMAC, dev: "eth0")]
        c.neighbours = [NeighbourConfig(address: peerIP, mac: peerMAC, dev: "eth0")]
        c.sockets = [SocketConfig(id: 1, proto: .udp, address6: .any, port: 4000)]
        let s = try Stack(config: c)
        let rs = s.send([Send(socket: 1, dst6: IPv6Tests.peer6, port: 53, payload: Array("hi".utf8)),
                         Send(socket: 1, dst6: IPv6Tests.peer6, port: 53, payload: [UInt8](repeating: 7, count: 3000)),
                         Send(socket: 1, dst6: try IPv6Address(parsing: "::ffff:198.18.0.9"), port: 53, payload: Array("v4".utf8)),
                         Send(socket: 1, dst6: try IPv6Address(parsing: "2001:db9::1"), port: 53, payload: [])])
        XCTAssertEqual(rs.map(\.outcome), [.transmitted, .transmitted, .transmitted, .failed])
        XCTAssertEqual(rs[3].errno, "ENETUNREACH")
        XCTAssertEqual(rs[0].stageNames.prefix(5), ["udp_sendmsg", "ip6_make_skb", "udp_v6_send_skb", "ip6_local_out", "ip6_output"])
        guard case .ipv6(let ip, [], .udp(let u)) = try FrameRepr.parse(rs[0].emitted[0].frame, verifyChecksums: true).network else { return XCTFail("not UDP over IPv6") }
        XCTAssertEqual([ip.src.description, ip.dst.description, String(ip.hopLimit), String(u.srcPort), String(u.dstPort)], ["2001:db8::1", "2001:db8::9", "64", "4000", "53"])
        XCTAssertNotEqual(ip.flowLabel, 0, "auto_flowlabels")
        // 8 + 3000 bytes at MTU 1500: fragments of 1448, 1448 and 112 payload bytes, one identification.
        let frags = rs[1].emitted.map(\.frame)
        XCTAssertEqual(frags.map(\.count), [14 + 40 + 8 + 1448, 14 + 40 + 8 + 1448, 14 + 40 + 8 + 112])
        XCTAssertEqual(Set(frags.map { $0.be32(14 + 40 + 4) }).count, 1)
        XCTAssertEqual(frags.map { $0.be16(14 + 40 + 2) }, [1, 1448 | 1, 2896])
        // The v4-mapped destination leaves as IPv4 from the device's address.
        guard case .ipv4(let v4, .udp) = try FrameRepr.parse(rs[2].emitted[0].frame).network else { return XCTFail("not IPv4") }
        XCTAssertEqual([v4.src.description, v4.dst.description], ["198.18.0.1", "198.18.0.9"])
        XCTAssertEqual(s.snmp.udp6.OutDatagrams, 2)
        XCTAssertEqual(s.snmp.udp.OutDatagrams, 1)
        XCTAssertEqual(s.socket(1)?.wmemAlloc, 0)
    }
}
