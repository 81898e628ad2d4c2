import Wire

// net/ethernet/eth.c and net/core/dev.c: from the driver to the protocol handler.
extension Stack {
    /// `eth_type_trans`: classify the frame by destination MAC (pkt_type) and read the EtherType.
    /// Returns how the path ends when the frame cannot go on (a runt), else nil.
    func eth_type_trans(_ skb: SkBuff) -> PathEnd? {
        enter(.eth_type_trans, skb)
        let dev = devices[skb.dev]
        guard skb.len >= EthernetFrame.headerLength else {
            // Drivers drop runts before the stack sees them and count a length error.
            dev.stats.rx_length_errors += 1
            dev.stats.rx_errors += 1
            return drop(.PKT_TOO_SMALL, "frame of \(skb.len) bytes is shorter than an Ethernet header")
        }
        // Native XDP counted the frame already, as the driver does.
        if dev.xdp?.mode != .native {
            dev.stats.rx_packets += 1
            dev.stats.rx_bytes += skb.len
        }
        eth_classify(skb)
        if skb.pktType == .multicast { dev.stats.multicast += 1 }
        skb.macHeaderSet = true
        return nil
    }

    /// What `eth_type_trans` decides from the Ethernet header (pkt_type, protocol), without
    /// counting the frame: generic XDP classifies again what its program left.
    func eth_classify(_ skb: SkBuff) {
        skb.pktType = .host
        if skb.data[0] & 1 == 1 {
            skb.pktType = skb.data[0..<6].allSatisfy({ $0 == 0xff }) ? .broadcast : .multicast
        } else if !devices[skb.dev].mac.matches(skb.data, at: 0) {
            skb.pktType = .otherhost
        }
        skb.protocolType = UInt16(skb.data[12]) << 8 | UInt16(skb.data[13])
        skb.networkHeader = EthernetFrame.headerLength
    }

    /// `netif_receive_skb` (`netif_receive_skb_internal`): with RPS configured the flow goes through
    /// the backlog of the CPU `get_rps_cpu` picks, else straight to the core.
    func netif_receive_skb(_ skb: SkBuff) -> PathEnd {
        enter(.netif_receive_skb, skb)
        let q = devices[skb.dev].queues[skb.rxQueue]
        if !q.rpsCPUs.isEmpty || !q.flowTable.isEmpty {
            enter(.get_rps_cpu, skb)
            skb.hashComputed = true
            if let target = get_rps_cpu(skb, q) { return enqueue_to_backlog(skb, cpu: target, queue: q) }
        }
        return __netif_receive_skb_core(skb)
    }

    /// `__netif_receive_skb_core`: untag VLANs, then hand the skb to the handler of its protocol.
    func __netif_receive_skb_core(_ skb: SkBuff) -> PathEnd {
        enter(.__netif_receive_skb_core, skb)
        cpus[skb.cpu].processed += 1
        if let x = devices[skb.dev].xdp, x.mode == .generic, !skb.redirected, let end = do_xdp_generic(skb, x) { return end }
        if skb.protocolType == EtherType.vlan {
            guard skb.len >= skb.networkHeader + VLANTagRepr.length else {
                return drop(.NOT_SPECIFIED, "802.1Q tag truncated (skb_vlan_untag)")
            }
            let tci = skb.data.be16(skb.networkHeader)
            skb.vlanID = tci & 0x0fff
            skb.vlanTagged = true
            skb.protocolType = skb.data.be16(skb.networkHeader + 2)
            skb.networkHeader += VLANTagRepr.length
        }
        if let c = devices[skb.dev].clsact, !c.ingress.isEmpty, let end = sch_handle_ingress(skb, c) { return end }
        // nf_ingress: netdev-family chains on this device see every frame before the protocol handlers.
        if netfilter.hasIngress {
            let v = nf_hook(.ingress, skb, inDev: skb.dev, outDev: nil)
            if case .consumed = v, let f = skb.fwd { return nft_fwd_xmit(skb, f) }
            if let end = netfilterVerdict(v, at: "ingress") { return end }
        }
        // vlan_do_receive, after the ingress hooks (which may have rewritten the tag): no VLAN
        // device carries it, so a non-zero VID is someone else's.
        if let vid = skb.vlanID, vid != 0 { skb.pktType = .otherhost }
        skb.vlanTagged = false
        switch skb.protocolType {
        case EtherType.ipv4: return ip_rcv(skb)
        case EtherType.ipv6: return ipv6_rcv(skb)
        case EtherType.arp: return arp_rcv(skb)
        default:
            // Not deliver_exact (no bonding or team master): the core counts rx_dropped, as the
            // kernel oracle sees it in `ip -s link` (xdp_abort_guard_1).
            devices[skb.dev].stats.rx_dropped += 1
            return drop(.UNHANDLED_PROTO, "no packet handler for EtherType 0x\(String(skb.protocolType, radix: 16))")
        }
    }

    /// What RX checksum offload reports: a TCP/UDP checksum over a whole, unfragmented IPv4 or
    /// IPv6 packet that verifies (a zero UDP checksum never does).
    func l4ChecksumVerifies(_ skb: SkBuff) -> Bool {
        guard let l4 = l4Location(skb.data) else { return false }
        if l4.proto == IPProtocol.udp && skb.data.be16(l4.offset + 6) == 0 { return false }
        return Checksum.finish(Checksum.sum(skb.data, from: l4.offset, count: l4.length, initial: l4.pseudo)) == 0
    }

    /// A CHECKSUM_PARTIAL skb from a veth peer: the checksum counts as verified
    /// (`skb_csum_unnecessary`) and stays to be finished on the way out; the model keeps data with
    /// the full sum (as its own senders do), so it is finished here and marked partial again.
    func veth_rx_partial(_ skb: SkBuff) {
        guard let l4 = l4Location(skb.data) else { return }
        let field = l4.offset + (l4.proto == IPProtocol.tcp ? 16 : 6)
        skb.data.setBE16(field, 0)
        skb.data.setBE16(field, Checksum.finish(Checksum.sum(skb.data, from: l4.offset, count: l4.length, initial: l4.pseudo)))
        skb.ipSummed = .unnecessary
        skb.csumPartialOffset = field
    }

    /// Where a whole, unfragmented IPv4 or IPv6 packet's TCP or UDP header is, its length and
    /// pseudo-header sum.
    func l4Location(_ b: [UInt8]) -> (proto: UInt8, offset: Int, length: Int, pseudo: UInt32)? {
        var nh = EthernetFrame.headerLength
        guard b.count >= nh + 20 else { return nil }
        var type = b.be16(12)
        if type == EtherType.vlan { guard b.count >= nh + 24 else { return nil }; type = b.be16(16); nh += 4 }
        if type == EtherType.ipv6 {
            guard b.count >= nh + 40, b[nh] >> 4 == 6 else { return nil }
            let end = nh + 40 + Int(b.be16(nh + 4))
            guard end <= b.count else { return nil }
            let next = b[nh + 6]
            let direct = next == IPProtocol.tcp || next == IPProtocol.udp
            guard direct || ipv6_find_hdr(b, nh: nh, end: end, target: IPProtocol.fragment) == nil,
                  let l4 = direct ? (next, nh + 40, 0) : ipv6_skip_exthdr(b, from: nh, end: end),
                  l4.proto == IPProtocol.tcp || l4.proto == IPProtocol.udp else { return nil }
            let len = end - l4.offset
            guard len >= (l4.proto == IPProtocol.udp ? 8 : 20) else { return nil }
            let s = PseudoHeader.v6(IPv6Address(array: b, at: nh + 8), IPv6Address(array: b, at: nh + 24)).sum(proto: l4.proto, length: len)
            return (l4.proto, l4.offset, len, s)
        }
        guard type == EtherType.ipv4, b[nh] >> 4 == 4 else { return nil }
        let ihl = Int(b[nh] & 0x0f) * 4
        let tot = Int(b.be16(nh + 2))
        guard ihl >= 20, tot >= ihl, b.count >= nh + tot, b.be16(nh + 6) & 0x3fff == 0 else { return nil }
        let proto = b[nh + 9]
        guard proto == IPProtocol.tcp || proto == IPProtocol.udp else { return nil }
        let len = tot - ihl
        guard len >= (proto == IPProtocol.udp ? 8 : 20) else { return nil }
        let src = IPv4Address(raw: b.be32(nh + 12)), dst = IPv4Address(raw: b.be32(nh + 16))
        return (proto, nh + ihl, len, Checksum.pseudoHeaderSum(src: src, dst: dst, proto: proto, length: len))
    }
}

extension MACAddress {
    /// Compares with six bytes in place, without building an address.
    @inline(__always) func matches(_ b: [UInt8], at o: Int) -> Bool {
        bytes.0 == b[o] && bytes.1 == b[o + 1] && bytes.2 == b[o + 2] && bytes.3 == b[o + 3] && bytes.4 == b[o + 4] && bytes.5 == b[o + 5]
    }
}
