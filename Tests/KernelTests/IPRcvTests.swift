import Kernel
import Wire
import XCTest

/// `ip_rcv_core`'s checks in the kernel's order, each with its drop reason and MIB counter.
final class IPRcvTests: XCTestCase {
    func testUDPWithoutSocketIsNoSocketAfterTheWholePath() throws {
        let s = try makeStack()
        let r = s.inject(frame: frame(.udp(UDPRepr(srcPort: 5353, dstPort: 53, payload: [0xab, 0xcd]))), device: s.devices[0])
        XCTAssertEqual(r.outcome, .dropped)
        XCTAssertEqual(r.dropReason, .NO_SOCKET)
        XCTAssertEqual(r.stageNames, rxToLocal + ["udp_rcv"] + icmpError + ["kfree_skb_reason"])
        // IRQ (500) and net_rx_action (100) come before the poll; then each stage's default cost.
        XCTAssertEqual(r.stages.map(\.timeNs), [0, 600, 620, 660, 680, 710, 740, 780, 840, 920, 940, 970, 1090, 1290, 1310, 1350, 1390, 1430, 1490, 1510, 1550])
        XCTAssertEqual(r.endNs, 1560)
        // ICMP port unreachable, quoting the whole datagram, from the address it was sent to.
        let quoted = Array(frame(.udp(UDPRepr(srcPort: 5353, dstPort: 53, payload: [0xab, 0xcd])))[14...])
        let icmp = FrameRepr(ethernet: EthernetRepr(dst: peerMAC, src: ourMAC, ethertype: EtherType.ipv4),
                             network: .ipv4(IPv4Repr(src: ourIP, dst: peerIP, proto: IPProtocol.icmp, tos: 0xc0, ident: firstICMPIdent, payloadLength: 0),
                                            .icmp(ICMPv4Repr(type: 3, code: 3, data: quoted)))).emit()
        XCTAssertEqual(r.emitted.map(\.frame), [icmp])
        XCTAssertEqual(s.snmp.icmp.OutDestUnreachs, 1)
        XCTAssertEqual(s.devices[0].stats.tx_packets, 1)
        XCTAssertEqual(s.snmp.ip.InReceives, 1)
        XCTAssertEqual(s.snmp.ip.InDelivers, 1)
        XCTAssertEqual(s.snmp.udp.NoPorts, 1)
        XCTAssertEqual(s.devices[0].stats.rx_packets, 1)
        XCTAssertEqual(s.devices[0].stats.rx_bytes, 44)
    }

    func testOtherHostIsDroppedInIPRcvBeforeCounting() throws {
        let s = try makeStack()
        let r = s.inject(frame: frame(dstMAC: MACAddress(0x02, 0, 0, 0, 0, 0x99), .udp(UDPRepr(srcPort: 1, dstPort: 2))), device: s.devices[0])
        XCTAssertEqual(r.dropReason, .OTHERHOST)
        XCTAssertEqual(r.stageNames, rxToCore + ["ip_rcv", "kfree_skb_reason"])
        XCTAssertEqual(s.snmp.ip.InReceives, 0)
        XCTAssertEqual(s.devices[0].stats.rx_otherhost_dropped, 1)
    }

    func testRuntFrameIsALengthError() throws {
        let s = try makeStack()
        let r = s.inject(frame: [0x02, 0, 0, 0, 0, 1, 0x02], device: s.devices[0])
        XCTAssertEqual(r.dropReason, .PKT_TOO_SMALL)
        XCTAssertEqual(r.stageNames, ["nic_receive", "napi_poll", "napi_alloc_skb", "eth_type_trans", "kfree_skb_reason"])
        XCTAssertEqual(s.devices[0].stats.rx_length_errors, 1)
        XCTAssertEqual(s.devices[0].stats.rx_packets, 0)
    }

    func testHeaderChecksInKernelOrder() throws {
        let good = frame(.udp(UDPRepr(srcPort: 1, dstPort: 2, payload: [1, 2, 3, 4])))
        struct Case { var name: String; var mutate: ([UInt8]) -> [UInt8]; var reason: DropReason; var hdr: Int; var csum: Int; var trunc: Int }
        let cases: [Case] = [
            Case(name: "shorter than 20 bytes", mutate: { Array($0[0..<(14 + 19)]) }, reason: .IP_INHDR, hdr: 1, csum: 0, trunc: 0),
            Case(name: "version 6", mutate: { var b = $0; b[14] = 0x65; return b }, reason: .IP_INHDR, hdr: 1, csum: 0, trunc: 0),
            // Bad version AND bad checksum: the version check comes first.
            Case(name: "ihl 4", mutate: { var b = $0; b[14] = 0x44; return b }, reason: .IP_INHDR, hdr: 1, csum: 0, trunc: 0),
            Case(name: "ihl beyond data", mutate: { var b = Array($0[0..<(14 + 22)]); b[14] = 0x46; return b }, reason: .IP_INHDR, hdr: 1, csum: 0, trunc: 0),
            Case(name: "bad checksum", mutate: { var b = $0; b[24] ^= 0xff; return b }, reason: .IP_CSUM, hdr: 1, csum: 1, trunc: 0),
            Case(name: "total length beyond data", mutate: { refill(setTotLen($0, 200)) }, reason: .PKT_TOO_SMALL, hdr: 0, csum: 0, trunc: 1),
            Case(name: "total length below ihl", mutate: { refill(setTotLen($0, 12)) }, reason: .IP_INHDR, hdr: 1, csum: 0, trunc: 0),
        ]
        for c in cases {
            let s = try makeStack()
            let r = s.inject(frame: c.mutate(good), device: s.devices[0])
            XCTAssertEqual(r.dropReason, c.reason, c.name)
            XCTAssertEqual(r.stageNames, rxToCore + ["ip_rcv", "kfree_skb_reason"], c.name)
            XCTAssertEqual(s.snmp.ip.InReceives, 1, c.name)
            XCTAssertEqual(s.snmp.ip.InHdrErrors, c.hdr, c.name)
            XCTAssertEqual(s.snmp.ip.InCsumErrors, c.csum, c.name)
            XCTAssertEqual(s.snmp.ip.InTruncatedPkts, c.trunc, c.name)
        }
    }

    func testEthernetPaddingIsTrimmed() throws {
        let s = try makeStack()
        let r = s.inject(frame: frame(.udp(UDPRepr(srcPort: 1, dstPort: 2))) + [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], device: s.devices[0])
        XCTAssertEqual(r.dropReason, .NO_SOCKET)
    }

    func testNotLocalWithoutForwardingIsAnAddressError() throws {
        let s = try makeStack()
        let r = s.inject(frame: frame(dst: IPv4Address(8, 8, 8, 8), .udp(UDPRepr(srcPort: 1, dstPort: 2))), device: s.devices[0])
        XCTAssertEqual(r.dropReason, .IP_INADDRERRORS)
        XCTAssertEqual(r.stageNames, rxToCore + ["ip_rcv", "ip_rcv_finish", "kfree_skb_reason"])
        XCTAssertEqual(s.snmp.ip.InAddrErrors, 1)
    }

    func testMartians() throws {
        let cases: [(IPv4Address, IPv4Address, DropReason)] = [
            (IPv4Address(224, 0, 0, 5), ourIP, .IP_INVALID_SOURCE),
            (IPv4Address(0, 1, 2, 3), ourIP, .IP_INVALID_SOURCE),
            (peerIP, IPv4Address(0, 0, 0, 7), .IP_INVALID_DEST),
            (peerIP, IPv4Address(127, 0, 0, 1), .IP_INVALID_DEST),
            (IPv4Address(127, 0, 0, 1), ourIP, .IP_INVALID_SOURCE),
            (ourIP, ourIP, .IP_LOCAL_SOURCE),
        ]
        for (src, dst, reason) in cases {
            let s = try makeStack()
            let r = s.inject(frame: frame(src: src, dst: dst, .udp(UDPRepr(srcPort: 1, dstPort: 2))), device: s.devices[0])
            XCTAssertEqual(r.dropReason, reason, "\(src) -> \(dst)")
        }
    }

    func testBroadcastUDPWithNoSocketIsConsumedAndCountedAsIgnoredMulti() throws {
        for dst in [IPv4Address.broadcast, IPv4Address(198, 18, 0, 255)] {
            let s = try makeStack()
            let r = s.inject(frame: frame(dstMAC: .broadcast, dst: dst, .udp(UDPRepr(srcPort: 68, dstPort: 67))), device: s.devices[0])
            XCTAssertEqual(r.outcome, .consumed, "\(dst)")
            XCTAssertEqual(r.stageNames, rxToLocal + ["udp_rcv", "consume_skb"])
            XCTAssertEqual(s.snmp.udp.IgnoredMulti, 1)
            XCTAssertEqual(s.snmp.udp.NoPorts, 0)
        }
    }

    func testUDPChecksumAndLengthErrors() throws {
        var f = frame(.udp(UDPRepr(srcPort: 1, dstPort: 2, payload: [9, 9])))
        f[f.count - 3] ^= 0x55 // a checksum byte
        let s = try makeStack()
        XCTAssertEqual(s.inject(frame: f, device: s.devices[0]).dropReason, .UDP_CSUM)
        XCTAssertEqual(s.snmp.udp.InCsumErrors, 1)
        XCTAssertEqual(s.snmp.udp.InErrors, 1)
        var g = frame(.udp(UDPRepr(srcPort: 1, dstPort: 2, payload: [9, 9])))
        g[14 + 20 + 5] = 50 // UDP length beyond the IP payload
        XCTAssertEqual(s.inject(frame: g, device: s.devices[0]).dropReason, .PKT_TOO_SMALL)
        XCTAssertEqual(s.snmp.udp.InErrors, 2)
    }

    func testTCPNoSocketAndBadChecksum() throws {
        let s = try makeStack()
        let syn = frame(.tcp(TCPRepr(srcPort: 40000, dstPort: 80, seq: 1, flags: .syn)))
        let r = s.inject(frame: syn, device: s.devices[0])
        XCTAssertEqual(r.dropReason, .NO_SOCKET)
        XCTAssertEqual(r.stageNames, rxToCore.prefix(5) + ["dev_gro_receive"] + rxToCore.suffix(2) + ["ip_rcv", "ip_rcv_finish", "ip_local_deliver", "ip_local_deliver_finish", "tcp_v4_rcv", "tcp_v4_send_reset", "ip_local_out", "ip_output", "ip_finish_output",
                                      "neigh_output", "dev_queue_xmit", "sch_direct_xmit", "dev_hard_start_xmit", "kfree_skb_reason"])
        // RST|ACK acknowledging the SYN, from the address it was sent to, DF, TTL 64.
        let rst = FrameRepr(ethernet: EthernetRepr(dst: peerMAC, src: ourMAC, ethertype: EtherType.ipv4),
                            network: .ipv4(IPv4Repr(src: ourIP, dst: peerIP, proto: IPProtocol.tcp, dontFragment: true, payloadLength: 0),
                                           .tcp(TCPRepr(srcPort: 80, dstPort: 40000, seq: 0, ack: 2, flags: [.rst, .ack], window: 0)))).emit()
        XCTAssertEqual(r.emitted.map(\.frame), [rst])
        XCTAssertEqual(s.snmp.tcp.OutRsts, 1)
        var bad = syn
        bad[bad.count - 1] ^= 1
        XCTAssertEqual(s.inject(frame: bad, device: s.devices[0]).dropReason, .TCP_CSUM)
        XCTAssertEqual(s.snmp.tcp.InSegs, 2)
        XCTAssertEqual(s.snmp.tcp.InCsumErrors, 1)
        XCTAssertEqual(s.snmp.tcp.InErrs, 1)
    }

    func testICMPEchoAndBadChecksumAndUnknownProtocol() throws {
        let s = try makeStack()
        let echo = frame(.icmp(ICMPv4Repr(type: 8, code: 0, restOfHeader: 0x0001_0001, data: [1, 2, 3])))
        let r = s.inject(frame: echo, device: s.devices[0])
        XCTAssertEqual(r.outcome, .consumed)
        XCTAssertEqual(r.stageNames, rxToLocal + ["icmp_rcv", "icmp_reply", "ip_local_out", "ip_output", "ip_finish_output", "neigh_output", "dev_queue_xmit", "sch_direct_xmit", "dev_hard_start_xmit", "consume_skb"])
        let reply = FrameRepr(ethernet: EthernetRepr(dst: peerMAC, src: ourMAC, ethertype: EtherType.ipv4),
                              network: .ipv4(IPv4Repr(src: ourIP, dst: peerIP, proto: IPProtocol.icmp, ident: firstICMPIdent, payloadLength: 0),
                                             .icmp(ICMPv4Repr(type: 0, code: 0, restOfHeader: 0x0001_0001, data: [1, 2, 3])))).emit()
        XCTAssertEqual(r.emitted.map(\.frame), [reply])
        var bad = echo
        bad[bad.count - 1] ^= 1
        XCTAssertEqual(s.inject(frame: bad, device: s.devices[0]).dropReason, .ICMP_CSUM)
        XCTAssertEqual(s.snmp.icmp.InMsgs, 2)
        XCTAssertEqual(s.snmp.icmp.InEchos, 1)
        XCTAssertEqual(s.snmp.icmp.InCsumErrors, 1)
        let gre = s.inject(frame: frame(.raw([0, 0, 8, 0]), proto: 47), device: s.devices[0])
        XCTAssertEqual(gre.dropReason, .IP_NOPROTO)
        XCTAssertEqual(gre.stageNames, rxToLocal + icmpError + ["kfree_skb_reason"])
        XCTAssertEqual(gre.emitted.first?.frame[14 + 20], 3, "ICMP destination unreachable")
        XCTAssertEqual(gre.emitted.first?.frame[14 + 21], 2, "code 2: protocol unreachable")
        XCTAssertEqual(s.snmp.ip.InUnknownProtos, 1)
    }

    func testVLANTagWithoutVLANDeviceIsOtherHostButPriorityTagPasses() throws {
        let s = try makeStack()
        let tagged = frame(.udp(UDPRepr(srcPort: 1, dstPort: 2)), vlan: VLANTagRepr(vid: 100, innerEthertype: EtherType.ipv4))
        XCTAssertEqual(s.inject(frame: tagged, device: s.devices[0]).dropReason, .OTHERHOST)
        let prio = frame(.udp(UDPRepr(srcPort: 1, dstPort: 2)), vlan: VLANTagRepr(pcp: 3, vid: 0, innerEthertype: EtherType.ipv4))
        XCTAssertEqual(s.inject(frame: prio, device: s.devices[0]).dropReason, .NO_SOCKET)
    }

    func testUnknownEtherTypeAndARP() throws {
        let s = try makeStack()
        var other = frame(.udp(UDPRepr(srcPort: 1, dstPort: 2)))
        other[12] = 0x88; other[13] = 0xb5   // IEEE 802 local experimental EtherType 1: no handler
        let r = s.inject(frame: other, device: s.devices[0])
        XCTAssertEqual(r.dropReason, .UNHANDLED_PROTO)
        XCTAssertEqual(s.devices[0].stats.rx_dropped, 1)
        XCTAssertEqual(s.devices[0].stats.rx_nohandler, 0)
        // An IPv4 datagram under the IPv6 EtherType: ipv6_rcv cannot pull 40 bytes of header from its 28.
        var v6 = frame(.udp(UDPRepr(srcPort: 1, dstPort: 2)))
        v6[12] = 0x86; v6[13] = 0xdd
        let r6 = s.inject(frame: v6, device: s.devices[0])
        XCTAssertEqual(r6.dropReason, .IP_INHDR)
        XCTAssertEqual(r6.stageNames, rxToCore + ["ipv6_rcv", "kfree_skb_reason"])
        XCTAssertEqual(s.snmp.ip6.InHdrErrors, 1)
        let arp = FrameRepr(ethernet: EthernetRepr(dst: .broadcast, src: peerMAC, ethertype: EtherType.arp),
                            network: .arp(ARPRepr(operation: 1, senderMAC: peerMAC, senderIP: peerIP, targetMAC: .zero, targetIP: ourIP))).emit()
        let a = s.inject(frame: arp, device: s.devices[0])
        XCTAssertEqual(a.outcome, .consumed)
        XCTAssertEqual(a.stageNames, rxToCore + ["arp_rcv", "arp_process", "arp_send", "dev_queue_xmit", "sch_direct_xmit", "dev_hard_start_xmit", "consume_skb"])
    }

    func testAFirstFragmentWaitsInItsReassemblyQueue() throws {
        let s = try makeStack()
        let r = s.inject(frame: frame(mf: true, .raw([UInt8](repeating: 0x11, count: 16)), proto: 17), device: s.devices[0])
        XCTAssertEqual(r.outcome, .queued)
        XCTAssertEqual(r.stageNames, rxToLocal.prefix(10) + ["ip_defrag"])
        XCTAssertEqual(s.snmp.ip.ReasmReqds, 1)
        XCTAssertEqual(s.fragmentQueueCount, 1)
    }

    func testSameInputGivesTheSameTracesByteForByte() throws {
        let frames = [frame(.udp(UDPRepr(srcPort: 1, dstPort: 2))), frame(.tcp(TCPRepr(srcPort: 1, dstPort: 2, flags: .syn))),
                      [0x01, 0x02], frame(dst: IPv4Address(9, 9, 9, 9), .icmp(ICMPv4Repr(type: 8, code: 0)))]
        func run() throws -> [String] {
            let s = try makeStack()
            return frames.map { f in
                let r = s.inject(frame: f, device: s.devices[0])
                return "\(r.outcome) \(String(describing: r.dropReason)) \(r.stages)"
            }
        }
        XCTAssertEqual(try run(), try run())
    }

    func testStageCostsOverride() throws {
        let dev = DeviceConfig(name: "eth0", mac: ourMAC, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        let s = try Stack(config: StackConfig(name: "c", devices: [dev], costs: ["ip_rcv": 1000]))
        let r = s.inject(frame: frame(.udp(UDPRepr(srcPort: 1, dstPort: 2))), device: s.devices[0])
        XCTAssertEqual(r.stages[8].timeNs, 780 + 1000)
        XCTAssertThrowsError(try Stack(config: StackConfig(name: "c", devices: [dev], costs: ["nope": 1])))
    }
}

private func setTotLen(_ f: [UInt8], _ n: Int) -> [UInt8] {
    var b = f; b[16] = UInt8(n >> 8); b[17] = UInt8(n & 0xff); return b
}
private func refill(_ f: [UInt8]) -> [UInt8] {
    var p = try! IPv4Packet(checking: f, at: 14)
    p.fillChecksum()
    return p.buffer
}

extension IPRcvTests {
    /// tcp_v4_rcv: a segment too short for the TCP header, or for the header its data offset
    /// claims, fails pskb_may_pull under SKB_DROP_REASON_PKT_TOO_SMALL (counted in InSegs first).
    func testTruncatedTCPHeaderIsTooSmall() throws {
        let s = try makeStack()
        let short = frame(.raw([0, 80, 0, 81, 0, 0, 0, 1, 0, 0]), proto: IPProtocol.tcp)
        let r = s.inject(frame: short, device: s.devices[0])
        XCTAssertEqual(r.dropReason, .PKT_TOO_SMALL)
        XCTAssertEqual(r.stageNames.suffix(2), ["tcp_v4_rcv", "kfree_skb_reason"])
        // A full 20-byte header whose data offset says 60 bytes.
        let claims = frame(.raw([0, 80, 0, 81, 0, 0, 0, 1, 0, 0, 0, 0, 0xf0, 0x02, 0xff, 0xff, 0, 0, 0, 0]), proto: IPProtocol.tcp)
        XCTAssertEqual(s.inject(frame: claims, device: s.devices[0]).dropReason, .PKT_TOO_SMALL)
        XCTAssertEqual(s.snmp.tcp.InSegs, 2)
    }
}
