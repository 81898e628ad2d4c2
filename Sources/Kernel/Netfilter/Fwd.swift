import NFTables
import Wire

// net/netfilter/nft_fwd_netdev.c, nf_dup_netdev.c: nft's `fwd` and `dup` in netdev chains.
// Recorded on the kernel: scripts/record_fwd.sh (NetfilterConstructTests' fwd test replays it),
// scripts/record_dup_netdev.sh (NetdevEgressTests).
extension Stack {
    /// `nf_dup_netdev_egress`: a copy of the frame as it stands, MAC header and all (at egress the
    /// one just built), into the device's `dev_queue_xmit`; the original goes on. A device that is
    /// gone, or a copy made by a copy (nf_dup_skb_recursion), makes none.
    func nf_dup_netdev_egress(_ device: String, hook: NFHook, _ skb: SkBuff, _ p: PktInfo) {
        guard !skb.duplicated, let dev = devices.firstIndex(where: { $0.name == device }), let (base, _) = macHeader(skb, p) else { return }
        let copy = generatedSkb(Array(skb.data[base..<skb.len]), dev: dev, cause: skb, protocolType: skb.protocolType,
                                transportHeader: skb.transportHeader - base, csumPartialOffset: skb.csumPartialOffset.map { $0 - base }, attachConntrack: false)
        copy.networkHeader = skb.networkHeader - base
        copy.macHeaderSet = true
        copy.duplicated = true
        let end = nf_do_netdev_egress(copy, dev: dev)
        if case .stolen = end {} else { finish(copy, end) }
    }

    /// `nf_do_netdev_egress`: the frame into the device's `dev_queue_xmit`, within
    /// dev_xmit_recursion's XMIT_RECURSION_LIMIT nested transmits (fwd's and dup's way out).
    func nf_do_netdev_egress(_ skb: SkBuff, dev: Int) -> PathEnd {
        enter(.nf_do_netdev_egress, skb)
        guard xmitRecursion < 8 else { return drop(.NOT_SPECIFIED, "recursion limit reached (8 nested dev_queue_xmit)") }
        xmitRecursion += 1
        defer { xmitRecursion -= 1 }
        return __dev_queue_xmit(skb, dev: dev, outcome: .forwarded)
    }

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
        return nf_do_netdev_egress(skb, dev: dev)
    }
}
