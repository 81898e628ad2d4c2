import Foundation
@testable import Kernel
import Wire
import TestSupport
import XCTest

/// The oracle's router: eth0 198.18.0.2/24, eth1 198.18.1.1/24, default via 198.18.1.2.
func routerStack(forward: Bool = true, neighbours: Bool = true) throws -> Stack {
    let d0 = DeviceConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 2), addresses: [try IPv4CIDR(parsing: "198.18.0.2/24")])
    let d1 = DeviceConfig(name: "eth1", mac: MACAddress(2, 0, 0, 0, 1, 1), addresses: [try IPv4CIDR(parsing: "198.18.1.1/24")])
    var n: [NeighbourConfig] = []
    if neighbours {
        n = [NeighbourConfig(address: IPv4Address(198, 18, 0, 1), mac: MACAddress(2, 0, 0, 0, 0, 1), dev: "eth0"),
             NeighbourConfig(address: IPv4Address(198, 18, 1, 2), mac: MACAddress(2, 0, 0, 0, 1, 2), dev: "eth1")]
    }
    return try Stack(config: StackConfig(name: "r", devices: [d0, d1],
                                         routes: [RouteConfig(dst: try IPv4CIDR(parsing: "0.0.0.0/0"), via: IPv4Address(198, 18, 1, 2), dev: "eth1")],
                                         neighbours: n, sysctls: ["net.ipv4.ip_forward": forward ? 1 : 0]))
}

final class ForwardTests: XCTestCase {
    /// A burst GRO merges into one skb is forwarded (ip_exceeds_mtu exempts a GSO skb whose segments
    /// fit) and cut back into its segments on the way out (skb_gso_segment): the other side gets
    /// the original segments byte for byte, TTL one lower.
    func testAGROMergedBurstLeavesAsTheOriginalSegments() throws {
        let s = try routerStack()
        func seg(_ i: Int, from: MACAddress, to: MACAddress, ttl: UInt8, df: Bool) -> [UInt8] {
            FrameRepr(ethernet: EthernetRepr(dst: to, src: from, ethertype: EtherType.ipv4),
                      network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 1), dst: IPv4Address(198, 18, 1, 2), proto: IPProtocol.tcp, ttl: ttl,
                                              ident: UInt16(100 + i), dontFragment: df, payloadLength: 0),
                                     .tcp(TCPRepr(srcPort: 40000, dstPort: 80, seq: UInt32(1000 + i * 1400), ack: 1, flags: i == 7 ? [.ack, .psh] : .ack,
                                                  payload: [UInt8](repeating: UInt8(i), count: 1400))))).emit()
        }
        for df in [false, true] {
            let rs = s.inject((0..<8).map { Injection(device: 0, frame: seg($0, from: MACAddress(2, 0, 0, 0, 0, 1), to: MACAddress(2, 0, 0, 0, 0, 2), ttl: 64, df: df),
                                                      atNs: s.clockNs) })
            XCTAssertEqual(rs[0].segments, 8)
            XCTAssertEqual(rs[0].outcome, .forwarded)
            XCTAssertTrue(rs[0].stageNames.suffix(6).elementsEqual(["ip_finish_output", "neigh_output", "dev_queue_xmit", "sch_direct_xmit", "dev_hard_start_xmit", "skb_gso_segment"]), "\(rs[0].stageNames)")
            XCTAssertEqual(rs.flatMap { $0.emitted.map(\.frame) },
                           (0..<8).map { seg($0, from: MACAddress(2, 0, 0, 0, 1, 1), to: MACAddress(2, 0, 0, 0, 1, 2), ttl: 63, df: df) }, "DF \(df)")
            XCTAssertEqual(rs.flatMap { $0.emitted.map(\.device) }, Array(repeating: "eth1", count: 8))
        }
    }

    /// Frames from ../shared/oracle/corpus/public/ttl_expire_1.json and what the kernel emitted.
    func testTTLExpiryMatchesTheKernelByteForByte() throws {
        let s = try routerStack()
        let sent = try Hex.decode("0200000000020200000000010800450000220001000001112d8dc6120001c6130017829a829b000e31236f7261636c65")
        let r = s.inject(frame: sent, device: s.devices[0])
        XCTAssertEqual(r.dropReason, .IP_INHDR)
        XCTAssertEqual(r.stageNames.suffix(11), ["ip_rcv_finish", "ip_forward", "icmp_send", "ip_local_out", "ip_output", "ip_finish_output", "neigh_output", "dev_queue_xmit", "sch_direct_xmit", "dev_hard_start_xmit", "kfree_skb_reason"])
        // The kernel's frame with the IP ID masked to 0 as the oracle masks it; ours masked the same way.
        XCTAssertEqual(r.emitted.map { Hex.encode(maskedIPID($0.frame, injected: sent)) },
                       ["020000000001020000000002080045c0003e000000004001edd7c6120002c61200010b00815d00000000450000220001000001112d8dc6120001c6130017829a829b000e31236f7261636c65"])
        XCTAssertEqual(r.emitted.first?.device, "eth0")
        XCTAssertEqual(s.snmp.icmp.OutTimeExcds, 1)
    }

    func testForwardingDecrementsTTLWithTheKernelsChecksumUpdate() throws {
        let s = try routerStack()
        let sent = try Hex.decode("0200000000020200000000010800450000220002000002112c8cc6120001c6130017829a829c000e31226f7261636c65")
        let r = s.inject(frame: sent, device: s.devices[0])
        XCTAssertEqual(r.outcome, .forwarded)
        var want = sent
        want.replaceSubrange(0..<12, with: [2, 0, 0, 0, 1, 2, 2, 0, 0, 0, 1, 1])
        want[14 + 8] = 1
        var p = try IPv4Packet(checking: want, at: 14)
        p.fillChecksum()
        XCTAssertEqual(r.emitted.map(\.frame), [p.buffer])
        XCTAssertEqual(r.emitted.first?.device, "eth1")
        XCTAssertEqual(s.snmp.ip.ForwDatagrams, 1)
        XCTAssertEqual(s.devices[1].stats.tx_packets, 1)
    }

    func testWithoutForwardingItIsAnAddressErrorAndWithoutANeighbourItWaitsForARP() throws {
        let off = try routerStack(forward: false)
        let sent = try Hex.decode("0200000000020200000000010800450000220002000002112c8cc6120001c6130017829a829c000e31226f7261636c65")
        XCTAssertEqual(off.inject(frame: sent, device: off.devices[0]).dropReason, .IP_INADDRERRORS)
        let noNeigh = try routerStack(neighbours: false)
        let r = noNeigh.inject(frame: sent, device: noNeigh.devices[0])
        XCTAssertEqual(r.outcome, .queued)
        // The ARP request goes through the device's qdisc (arp_xmit → dev_queue_xmit).
        XCTAssertEqual(r.stageNames.suffix(5), ["neigh_output", "arp_send", "dev_queue_xmit", "sch_direct_xmit", "dev_hard_start_xmit"])
        let arp = FrameRepr(ethernet: EthernetRepr(dst: .broadcast, src: MACAddress(2, 0, 0, 0, 1, 1), ethertype: EtherType.arp),
                            network: .arp(ARPRepr(operation: 1, senderMAC: MACAddress(2, 0, 0, 0, 1, 1), senderIP: IPv4Address(198, 18, 1, 1),
                                                  targetMAC: .zero, targetIP: IPv4Address(198, 18, 1, 2)))).emit()
        XCTAssertEqual(r.emitted.map(\.frame), [arp])
        // The reply resolves the neighbour and the queued packet leaves.
        let reply = FrameRepr(ethernet: EthernetRepr(dst: MACAddress(2, 0, 0, 0, 1, 1), src: MACAddress(2, 0, 0, 0, 1, 2), ethertype: EtherType.arp),
                              network: .arp(ARPRepr(operation: 2, senderMAC: MACAddress(2, 0, 0, 0, 1, 2), senderIP: IPv4Address(198, 18, 1, 2),
                                                    targetMAC: MACAddress(2, 0, 0, 0, 1, 1), targetIP: IPv4Address(198, 18, 1, 1)))).emit()
        let rr = noNeigh.inject(frame: reply, device: noNeigh.devices[1])
        XCTAssertEqual(rr.outcome, .consumed)
        XCTAssertEqual(rr.emitted.count, 1)
        XCTAssertEqual(Array(rr.emitted[0].frame[0..<6]), [2, 0, 0, 0, 1, 2])
        XCTAssertEqual(noNeigh.neighbourEntries.first { $0.address == IPv4Address(198, 18, 1, 2) }?.state, .reachable)
    }

    func testARPRequestsForOurAddressAreAnswered() throws {
        let s = try makeStack()
        let req = FrameRepr(ethernet: EthernetRepr(dst: .broadcast, src: MACAddress(2, 0, 0, 0, 9, 9), ethertype: EtherType.arp),
                            network: .arp(ARPRepr(operation: 1, senderMAC: MACAddress(2, 0, 0, 0, 9, 9), senderIP: IPv4Address(198, 18, 0, 77),
                                                  targetMAC: .zero, targetIP: ourIP))).emit()
        let r = s.inject(frame: req, device: s.devices[0])
        let reply = FrameRepr(ethernet: EthernetRepr(dst: MACAddress(2, 0, 0, 0, 9, 9), src: ourMAC, ethertype: EtherType.arp),
                              network: .arp(ARPRepr(operation: 2, senderMAC: ourMAC, senderIP: ourIP, targetMAC: MACAddress(2, 0, 0, 0, 9, 9),
                                                    targetIP: IPv4Address(198, 18, 0, 77)))).emit()
        XCTAssertEqual(r.emitted.map(\.frame), [reply])
        XCTAssertEqual(s.neighbourEntries.first { $0.address == IPv4Address(198, 18, 0, 77) }?.mac, MACAddress(2, 0, 0, 0, 9, 9))
        // The sender's entry is STALE, as this kernel showed in `ip neigh` after a scapy request
        // (neigh_event_ns): a request is no confirmation.
        XCTAssertEqual(s.neighbourEntries.first { $0.address == IPv4Address(198, 18, 0, 77) }?.state, .stale)
        func state() -> NUDState? { s.neighbourEntries.first { $0.address == IPv4Address(198, 18, 0, 77) }?.state }
        func arpFrom(_ mac: MACAddress, op: UInt16, to dst: MACAddress) -> [UInt8] {
            FrameRepr(ethernet: EthernetRepr(dst: dst, src: mac, ethertype: EtherType.arp),
                      network: .arp(ARPRepr(operation: op, senderMAC: mac, senderIP: IPv4Address(198, 18, 0, 77), targetMAC: dst == .broadcast ? .zero : ourMAC,
                                            targetIP: ourIP))).emit()
        }
        // A reply sent to us confirms it; the same MAC told again by a request (STALE) leaves it REACHABLE
        // (neigh_update keeps a valid state then); a broadcast reply with a new MAC, past the 1 s
        // locktime, makes it STALE at that MAC.
        _ = s.inject(frame: arpFrom(MACAddress(2, 0, 0, 0, 9, 9), op: 2, to: ourMAC), device: s.devices[0])
        XCTAssertEqual(state(), .reachable)
        _ = s.inject(frame: arpFrom(MACAddress(2, 0, 0, 0, 9, 9), op: 1, to: .broadcast), device: s.devices[0])
        XCTAssertEqual(state(), .reachable)
        _ = s.inject(frame: arpFrom(MACAddress(2, 0, 0, 0, 9, 8), op: 2, to: .broadcast), device: s.devices[0], atNs: 2_000_000_000)
        XCTAssertEqual(state(), .stale)
        XCTAssertEqual(s.neighbourEntries.first { $0.address == IPv4Address(198, 18, 0, 77) }?.mac, MACAddress(2, 0, 0, 0, 9, 8))
    }

    /// NUD for ARP, as this kernel showed it (scripts/record_arp_nud.py, there with shorter times):
    /// a reply sent to us confirms the neighbour for a random 15-45 s; a packet sent to it later
    /// leaves at once to the MAC it has, and the entry is DELAY; delay_first_probe_time (5 s) on
    /// comes PROBE, an ARP request to that MAC itself (target MAC zero), and a reply makes it
    /// REACHABLE; unanswered, three such requests retrans_time (1 s) apart, then FAILED.
    func testARPProbesANeighbourThatWentQuiet() throws {
        let dev = DeviceConfig(name: "eth0", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        let s = try Stack(config: StackConfig(name: "t", devices: [dev]))
        func echo(_ seq: UInt32, at ns: UInt64) -> PacketResult {
            s.inject(frame: frame(.icmp(ICMPv4Repr(type: 8, code: 0, restOfHeader: 0x0001_0000 | seq))), device: s.devices[0], atNs: ns)
        }
        func state() -> String { s.neighbourEntries.map { "\($0.address) \($0.state.rawValue) \($0.mac.map { "\($0)" } ?? "-")" }.joined() }
        let reply = FrameRepr(ethernet: EthernetRepr(dst: ourMAC, src: peerMAC, ethertype: EtherType.arp),
                              network: .arp(ARPRepr(operation: 2, senderMAC: peerMAC, senderIP: peerIP, targetMAC: ourMAC, targetIP: ourIP))).emit()
        let probe = FrameRepr(ethernet: EthernetRepr(dst: peerMAC, src: ourMAC, ethertype: EtherType.arp),
                              network: .arp(ARPRepr(operation: 1, senderMAC: ourMAC, senderIP: ourIP, targetMAC: .zero, targetIP: peerIP))).emit()
        XCTAssertEqual(echo(1, at: 0).emitted.count, 1)   // the broadcast request; the echo reply waits
        XCTAssertEqual(s.inject(frame: reply, device: s.devices[0], atNs: 1_000_000).emitted.count, 1)   // the echo reply
        XCTAssertEqual(state(), "198.18.0.9 REACHABLE 02:00:00:00:ff:01")
        // 50 s on, past any reachable time: the reply goes straight to the MAC it has; NUD starts.
        XCTAssertEqual(echo(2, at: 50_000_000_000).emitted.map { try! FrameRepr.parse($0.frame).ethernet.dst }, [peerMAC])
        XCTAssertEqual(state(), "198.18.0.9 DELAY 02:00:00:00:ff:01")
        let first = s.advance(toNs: 56_000_000_000)
        XCTAssertEqual(first.map(\.frame), [probe])
        XCTAssertEqual(first.map(\.timeNs), [55_008_000_120])   // the timer wheel's granularity, 120 ns to the wire
        XCTAssertEqual(state(), "198.18.0.9 PROBE 02:00:00:00:ff:01")
        _ = s.inject(frame: reply, device: s.devices[0], atNs: 56_000_000_000)
        XCTAssertEqual(state(), "198.18.0.9 REACHABLE 02:00:00:00:ff:01")
        // Quiet again, and this time nobody answers.
        XCTAssertEqual(echo(3, at: 120_000_000_000).emitted.count, 1)
        XCTAssertEqual(state(), "198.18.0.9 DELAY 02:00:00:00:ff:01")
        let unanswered = s.advance(toNs: 130_000_000_000)
        XCTAssertEqual(unanswered.map(\.frame), [probe, probe, probe])
        XCTAssertEqual(unanswered.map(\.timeNs), [125_152_000_120, 126_176_000_120, 127_200_000_120])
        XCTAssertEqual(state(), "198.18.0.9 FAILED -")
        XCTAssertEqual(s.neighbourFailures, 1)
    }

    /// Which ARP frames change a known neighbour's MAC, as this kernel showed
    /// (scripts/record_arp_locktime.py): a reply with another MAC within the 1 s locktime of the
    /// entry's last change is ignored, after it taken; a gratuitous request or reply (sender and
    /// target address the same; a reply's target MAC the sender's) is taken within it, STALE as
    /// broadcast; an unsolicited reply from an address without an entry makes none (arp_accept 0).
    func testARPLocktimeAndGratuitousFrames() throws {
        let dev = DeviceConfig(name: "eth0", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        let s = try Stack(config: StackConfig(name: "t", devices: [dev]))
        func arp(_ op: UInt16, _ mac: MACAddress, from ip: IPv4Address = peerIP, target: MACAddress = ourMAC, targetIP: IPv4Address = ourIP,
                 to dst: MACAddress = ourMAC, at ms: UInt64) {
            let f = FrameRepr(ethernet: EthernetRepr(dst: dst, src: mac, ethertype: EtherType.arp),
                              network: .arp(ARPRepr(operation: op, senderMAC: mac, senderIP: ip, targetMAC: target, targetIP: targetIP))).emit()
            _ = s.inject(frame: f, device: s.devices[0], atNs: ms * 1_000_000)
        }
        func state() -> String { s.neighbourEntries.map { "\($0.address) \($0.state.rawValue) \($0.mac.map { "\($0)" } ?? "-")" }.joined(separator: ", ") }
        let x = MACAddress(2, 0, 0, 0, 0, 0x0a), y = MACAddress(2, 0, 0, 0, 0, 0x0b), z = MACAddress(2, 0, 0, 0, 0, 0x0c)
        _ = s.inject(frame: frame(.icmp(ICMPv4Repr(type: 8, code: 0, restOfHeader: 0x0001_0001))), device: s.devices[0], atNs: 0)
        arp(2, peerMAC, at: 1)
        XCTAssertEqual(state(), "198.18.0.9 REACHABLE 02:00:00:00:ff:01")
        arp(2, x, at: 300)
        XCTAssertEqual(state(), "198.18.0.9 REACHABLE 02:00:00:00:ff:01")
        arp(2, x, at: 1_700)
        XCTAssertEqual(state(), "198.18.0.9 REACHABLE 02:00:00:00:00:0a")
        arp(1, y, target: .zero, targetIP: peerIP, to: .broadcast, at: 1_750)
        XCTAssertEqual(state(), "198.18.0.9 STALE 02:00:00:00:00:0b")
        arp(2, z, target: z, targetIP: peerIP, to: .broadcast, at: 1_800)
        XCTAssertEqual(state(), "198.18.0.9 STALE 02:00:00:00:00:0c")
        arp(2, MACAddress(2, 0, 0, 0, 0, 0x4d), from: IPv4Address(198, 18, 0, 77), at: 1_850)
        XCTAssertEqual(state(), "198.18.0.9 STALE 02:00:00:00:00:0c")
    }

    /// The host-wide limit (icmp_msgs_burst 50, icmp_msgs_per_sec 1,000), as this kernel showed
    /// it (scripts/record_icmp_global_limit.py: 46-59 of a burst of 200 datagrams from 200
    /// sources answered, 72-79 of two bursts 30 ms apart): each error sent costs a random 0-2
    /// credits; the credit refills only 20 ms after the last refill. The per-destination limit
    /// never bites here (one datagram per source).
    func testICMPErrorsHaveAHostWideLimit() throws {
        let s = try makeStack()
        // Port unreachables sent (they go through the gateway, whose MAC is not known: they wait on ARP).
        func burst(_ base: Int, at ns: UInt64) -> Int {
            let before = s.snmp.icmp.OutDestUnreachs
            _ = s.inject((0..<200).map { k in
                Injection(device: 0, frame: frame(src: IPv4Address(198, 18, UInt8(1 + (base + k) / 250), UInt8(1 + (base + k) % 250)), .udp(UDPRepr(srcPort: 4000, dstPort: 9))), atNs: ns)
            })
            return s.snmp.icmp.OutDestUnreachs - before
        }
        XCTAssertEqual(burst(0, at: 0), 58)
        XCTAssertEqual(s.snmp.icmp.OutRateLimitGlobal, 142)
        XCTAssertEqual(burst(200, at: 30_000_000), 25)
        XCTAssertEqual(s.snmp.icmp.OutRateLimitGlobal, 317)
        XCTAssertEqual(s.snmp.icmp.OutRateLimitHost, 0)
        // net.ipv4.icmp_msgs_burst 0: a refill leaves no credit but lets its own message through
        // (icmp_global_allow answers true when it refills), so one every 20 ms goes.
        let none = try makeStack(sysctls: ["net.ipv4.icmp_msgs_burst": 0])
        _ = none.inject((0..<10).map { k in Injection(device: 0, frame: frame(.udp(UDPRepr(srcPort: UInt16(k), dstPort: 9))), atNs: UInt64(k) * 4_000_000) })
        XCTAssertEqual(none.snmp.icmp.OutDestUnreachs, 2)   // at 0 and at 20 ms
        XCTAssertEqual(none.snmp.icmp.OutRateLimitGlobal, 8)
    }

    /// A checkpoint from before the counters took the kernel's names (RateLimitHost) and before
    /// OutRateLimitGlobal still reads; a new one writes the kernel's names.
    func testICMPCountersOfOlderCheckpointsRead() throws {
        let old = #"{"InMsgs":1,"InErrors":0,"InCsumErrors":0,"InEchos":1,"OutMsgs":5,"OutEchoReps":1,"OutTimeExcds":0,"OutDestUnreachs":4,"OutRedirects":0,"RateLimitHost":3}"#
        let icmp = try JSONDecoder().decode(SNMPStats.ICMP.self, from: Data(old.utf8))
        XCTAssertEqual([icmp.OutDestUnreachs, icmp.OutRateLimitHost, icmp.OutRateLimitGlobal], [4, 3, 0])
        let again = String(decoding: try JSONEncoder().encode(icmp), as: UTF8.self)
        XCTAssertTrue(again.contains(#""OutRateLimitGlobal":0"#) && again.contains(#""OutRateLimitHost":3"#) && !again.contains(#""RateLimitHost""#), again)
        let old6 = #"{"InMsgs":0,"InErrors":0,"InCsumErrors":0,"OutMsgs":2,"OutErrors":0,"RateLimitHost":7,"InType":{},"OutType":{"1":2}}"#
        XCTAssertEqual(try JSONDecoder().decode(SNMPStats.ICMP6.self, from: Data(old6.utf8)).OutRateLimitHost, 7)
    }

    func testICMPErrorsAreRateLimitedPerDestination() throws {
        let s = try makeStack()
        let rs = s.inject((0..<10).map { Injection(device: 0, frame: frame(.udp(UDPRepr(srcPort: UInt16($0), dstPort: 9))), atNs: 0) })
        XCTAssertEqual(rs.filter { !$0.emitted.isEmpty }.count, 6, "burst of 6 (XRLIM_BURST_FACTOR), then one per icmp_ratelimit ms")
        XCTAssertEqual(s.snmp.icmp.OutRateLimitHost, 4)
    }
}

final class NeighbourTimerTests: XCTestCase {
    /// An unanswered next hop is asked mcast_solicit (3) times, one second apart, then fails: its queue is dropped.
    func testUnansweredNeighbourFailsAfterThreeRetransmits() throws {
        let s = try routerStack(neighbours: false)
        let sent = try Hex.decode("0200000000020200000000010800450000220002000002112c8cc6120001c6130017829a829c000e31226f7261636c65")
        XCTAssertEqual(s.inject(frame: sent, device: s.devices[0]).outcome, .queued)
        XCTAssertEqual(s.devices[1].stats.tx_packets, 1, "the first ARP request")
        s.advance(toNs: 2_500_000_000)
        XCTAssertEqual(s.devices[1].stats.tx_packets, 3)
        XCTAssertEqual(s.neighbourEntries.first?.state, .incomplete)
        s.advance(toNs: 10_000_000_000)
        XCTAssertEqual(s.devices[1].stats.tx_packets, 3, "mcast_solicit: three requests in all")
        XCTAssertEqual(s.devices[1].stats.tx_dropped, 0)
        // The forwarded packet's sender is told: ICMP host unreachable, which waits in turn for
        // the sender's MAC (unknown here: three requests on eth0 from 3 s, and that fails at 6 s).
        XCTAssertEqual(s.snmp.icmp.OutDestUnreachs, 1)
        XCTAssertEqual(s.devices[0].stats.tx_packets, 3)
        XCTAssertEqual(s.neighbourFailures, 2)
        // Both entries stay, FAILED (as `ip neigh` shows them), until something is sent to them again.
        XCTAssertEqual(s.neighbourEntries.map { "\($0.address) \($0.state.rawValue) \($0.mac.map { "\($0)" } ?? "-")" }, ["198.18.0.1 FAILED -", "198.18.1.2 FAILED -"])
    }
}

extension NeighbourTimerTests {
    /// With the sender's MAC known, its ICMP host unreachable leaves on eth0 when the next hop
    /// fails (3.072 s: three timers of 256 jiffies); a second packet to the same place is limited by icmp_ratelimit's bucket
    /// only after the burst, so both are told.
    func testAFailedNextHopSendsHostUnreachableToTheSender() throws {
        let s = try routerStack()
        func toward(_ id: UInt16) -> [UInt8] {
            FrameRepr(ethernet: EthernetRepr(dst: MACAddress(2, 0, 0, 0, 0, 2), src: MACAddress(2, 0, 0, 0, 0, 1), ethertype: EtherType.ipv4),
                      network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 1), dst: IPv4Address(198, 18, 1, 77), proto: IPProtocol.udp, ttl: 64, ident: id, payloadLength: 0),
                                     .udp(UDPRepr(srcPort: 1, dstPort: 2)))).emit()
        }
        let rs = s.inject([Injection(device: 0, frame: toward(1), atNs: 0), Injection(device: 0, frame: toward(2), atNs: 0)])
        XCTAssertEqual(rs.map(\.outcome), [.queued, .queued])
        s.advance(toNs: 3_071_000_000)
        XCTAssertEqual(s.snmp.icmp.OutDestUnreachs, 0, "the entry has not failed yet")
        s.advance(toNs: 3_072_000_000)
        XCTAssertEqual(s.neighbourFailures, 1)
        XCTAssertEqual(s.snmp.icmp.OutDestUnreachs, 2)
        XCTAssertEqual(s.devices[0].stats.tx_packets, 2, "both ICMP errors left toward the sender")
    }
}

final class RedirectTests: XCTestCase {
    /// Forwarding back out of the interface it came in on, to a gateway on the sender's own network,
    /// sends an ICMP host redirect (and still forwards); later ones are spaced out per source.
    func testRedirectToTheBetterGatewayIsSentAndRateLimited() throws {
        let s = try routerStack()   // 198.18.2.0/24 via 198.18.0.1 dev eth0 is not there: add it
        try s.setRoutes([RouteConfig(dst: try IPv4CIDR(parsing: "198.18.2.0/24"), via: IPv4Address(198, 18, 0, 1), dev: "eth0"),
                         RouteConfig(dst: try IPv4CIDR(parsing: "0.0.0.0/0"), via: IPv4Address(198, 18, 1, 2), dev: "eth1")])
        XCTAssertTrue(s.addNeighbour(NeighbourConfig(address: IPv4Address(198, 18, 0, 5), mac: MACAddress(2, 0, 0, 0, 0, 5), dev: "eth0")))
        let pkt = FrameRepr(ethernet: EthernetRepr(dst: MACAddress(2, 0, 0, 0, 0, 2), src: MACAddress(2, 0, 0, 0, 0, 1), ethertype: EtherType.ipv4),
                            network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 5), dst: IPv4Address(198, 18, 2, 7), proto: IPProtocol.udp, ident: 3, payloadLength: 0),
                                           .udp(UDPRepr(srcPort: 1, dstPort: 2)))).emit()
        let r = s.inject(frame: pkt, device: s.devices[0])
        XCTAssertEqual(r.outcome, .forwarded)
        XCTAssertEqual(r.emitted.count, 2)
        let redirect = try FrameRepr.parse(r.emitted[0].frame)
        guard case .ipv4(let ip, .icmp(let icmp)) = redirect.network else { return XCTFail("\(redirect.network) \(r.emitted.map { Hex.encode($0.frame) })") }
        XCTAssertEqual([ip.src, ip.dst], [IPv4Address(198, 18, 0, 2), IPv4Address(198, 18, 0, 5)])
        XCTAssertEqual([icmp.type, icmp.code], [5, 1])
        XCTAssertEqual(icmp.restOfHeader, IPv4Address(198, 18, 0, 1).raw)
        // A second packet 1 ms later: forwarded, no redirect (redirect_load is 20 ms).
        let again = s.inject(frame: pkt, device: s.devices[0], atNs: r.endNs + 1_000_000)
        XCTAssertEqual(again.emitted.count, 1)
        XCTAssertEqual(s.snmp.icmp.OutRedirects, 1)
        // Off with send_redirects = 0.
        let quiet = try Stack(config: StackConfig(name: "q", devices: s.config.devices, routes: [RouteConfig(dst: try IPv4CIDR(parsing: "198.18.2.0/24"), via: IPv4Address(198, 18, 0, 1), dev: "eth0")],
                                                 neighbours: s.config.neighbours + [NeighbourConfig(address: IPv4Address(198, 18, 0, 5), mac: MACAddress(2, 0, 0, 0, 0, 5), dev: "eth0")],
                                                 sysctls: ["net.ipv4.ip_forward": 1, "net.ipv4.conf.all.send_redirects": 0]))
        XCTAssertEqual(quiet.inject(frame: pkt, device: quiet.devices[0]).emitted.count, 1)
    }
}
