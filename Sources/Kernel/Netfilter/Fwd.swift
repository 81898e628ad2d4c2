import NFTables
import Wire

// net/netfilter/nft_fwd_netdev.c, nf_dup_netdev.c: nft's `fwd` in a netdev ingress chain.
// Recorded on the kernel: scripts/record_fwd.sh (NetfilterConstructTests' fwd test replays it).
extension Stack {
    /// `fwd to DEVICE` (nf_do_netdev_egress): the frame as it came, MAC header and all, into the
    /// device's `dev_queue_xmit`; `fwd ip|ip6 to ADDR device DEVICE` (neigh_xmit): one hop less
    /// (`ip_decrease_ttl`, the checksum with it), then to that neighbour (resolved as any next
    /// hop). A device that is gone frees the packet.
    func nft_fwd_xmit(_ skb: SkBuff, _ f: NFFwd) -> PathEnd {
        skb.fwd = nil
        guard let dev = devices.firstIndex(where: { $0.name == f.device }) else {
            return drop(.NOT_SPECIFIED, "fwd to \(f.device): no such device")
        }
        let nh = skb.networkHeader
        if let a = f.addr {
            enter(.neigh_xmit, skb)
            let old: UInt16 = skb.data.be16(nh + 8)
            skb.data[nh + 8] &-= 1
            skb.data.setBE16(nh + 10, Checksum.update(skb.data.be16(nh + 10), old: old, new: skb.data.be16(nh + 8)))
            return neigh_output(skb, dev: dev, nexthop: IPv4Address(raw: a), outcome: .forwarded)
        }
        if let a = f.addr6 {
            enter(.neigh_xmit, skb)
            skb.data[nh + 7] &-= 1
            return neigh6_output(skb, dev: dev, nexthop: IPv6Address(raw: a), outcome: .forwarded)
        }
        enter(.nf_do_netdev_egress, skb)
        // dev_xmit_recursion: XMIT_RECURSION_LIMIT nested transmits.
        guard xmitRecursion < 8 else { return drop(.NOT_SPECIFIED, "fwd: recursion limit reached (8 nested dev_queue_xmit)") }
        xmitRecursion += 1
        defer { xmitRecursion -= 1 }
        return __dev_queue_xmit(skb, dev: dev, outcome: .forwarded)
    }
}
