import Wire

// drivers/net/loopback.c and __netif_rx in net/core/dev.c: what the stack sends to itself
// (127/8, ::1, its own addresses) leaves by lo and comes straight back in on the same CPU.
extension Stack {
    /// `loopback_xmit`: the skb gives its socket charge back (skb_orphan), keeps its output route
    /// (skb_dst_force: input routing is skipped) and its conntrack entry, is classified as
    /// received on lo (`eth_type_trans`: the zero MAC is lo's own, so PACKET_HOST) and goes to
    /// this CPU's backlog. lo counts it, without the MAC header, on both sides once the backlog took it.
    func loopback_xmit(_ skb: SkBuff, dev: Int) -> PathEnd {
        // xmit_one's dev_queue_xmit_nit first: a capture on lo sees the frame leave (its
        // CHECKSUM_PARTIAL checksum unfinished, as recorded) and come back; tcpdump shows it once.
        let partial = skb.csumPartialOffset != nil
        tapFrame(wireFrame(skb, partial: partial), dev: dev, cause: skb, csumPartial: partial)
        enter(.loopback_xmit, skb)
        // skb_orphan: it comes back in with no socket (early demux may find one again).
        sock_wfree(skb)
        skb.skOwner = .none
        skb.dev = dev
        skb.rxQueue = 0
        eth_classify(skb)
        skb.macHeaderSet = true
        skb.looped = true
        let nh = skb.networkHeader
        skb.loopedDst = skb.protocolType == EtherType.ipv6 ? IPv6Address(array: skb.data, at: nh + 24).raw : UInt128(skb.data.be32(nh + 16))
        // CHECKSUM_PARTIAL counts as verified on the way in (skb_csum_unnecessary).
        if skb.csumPartialOffset != nil { skb.ipSummed = .unnecessary }
        let len = skb.len - nh
        enter(.__netif_rx, skb)
        let end = enqueue_to_backlog(skb, cpu: skb.cpu, queue: devices[dev].queues[0])
        guard case .stolen = end else { return end }
        // dev_lstats_add: lo's get_stats64 reports the same counts for RX and TX.
        let d = devices[dev]
        d.stats.tx_packets += 1; d.stats.tx_bytes += len
        d.stats.rx_packets += 1; d.stats.rx_bytes += len
        return .stolen
    }

    /// What the host sends to a multicast group it has joined on the device comes back to it too
    /// (IP_MULTICAST_LOOP and IPV6_MULTICAST_LOOP, on by default; a packet without a socket
    /// loops as well, sk_mc_loop), and so does an IPv4 broadcast, whatever those options say
    /// (RTCF_BROADCAST in ip_mc_output): a clone passes POSTROUTING, then `dev_loopback_xmit`
    /// makes it received on that same device as PACKET_LOOPBACK, its checksum unnecessary,
    /// through this CPU's backlog. No tap sees it (af_packet skips PACKET_LOOPBACK) and the
    /// device counts nothing. Recorded: scripts/record_mc_loop.sh.
    func mc_loop(_ skb: SkBuff, dev: Int) {
        let nh = skb.networkHeader
        guard !devices[dev].isLoopback else { return }
        if skb.protocolType == EtherType.ipv6 {
            guard skb.sock.map(\.config.mcLoop) ?? true, ipv6_chk_mcast_addr(dev, IPv6Address(array: skb.data, at: nh + 24)) else { return }
        } else if skb.data[nh + 16] & 0xf0 == 0xe0 {
            guard skb.sock.map(\.config.mcLoop) ?? true, ip_check_mc(dev, IPv4Address(raw: skb.data.be32(nh + 16))) else { return }
        }
        let copy = generatedSkb(Array(skb.data[0..<skb.len]), dev: dev, cause: skb, protocolType: skb.protocolType,
                                transportHeader: skb.transportHeader, csumPartialOffset: nil, attachConntrack: false)
        copy.nhoff = skb.nhoff
        copy.mark = skb.mark
        copy.conn = skb.conn; copy.ctInfo = skb.ctInfo
        if let end = netfilterVerdict(nf_hook(.postrouting, copy, inDev: nil, outDev: dev), at: "postrouting") { return finish(copy, end) }
        enter(.dev_loopback_xmit, copy)
        copy.pktType = .loopback
        copy.ipSummed = .unnecessary
        // skb_dst_force: it keeps its output route, so input routing is skipped (a broadcast
        // from our own address would not pass fib_validate_source).
        copy.looped = true
        copy.loopedDst = copy.protocolType == EtherType.ipv6 ? IPv6Address(array: copy.data, at: nh + 24).raw : UInt128(copy.data.be32(nh + 16))
        copy.macHeaderSet = true
        copy.rxQueue = 0
        enter(.__netif_rx, copy)
        let end = enqueue_to_backlog(copy, cpu: copy.cpu, queue: devices[dev].queues[0])
        if case .stolen = end {} else { finish(copy, end) }
    }

    /// Whether a looped skb still has the route it left with: its destination is unchanged (NAT
    /// in PREROUTING drops the route when it rewrites the destination: nf_nat_ipv4_in).
    func keepsLoopRoute(_ skb: SkBuff, dst: UInt128) -> Bool { skb.looped && skb.loopedDst == dst }
}
