import NFTables
import Wire

// net/ipv4/netfilter/nf_dup_ipv4.c: nft's `dup to`.
extension Stack {
    /// `nf_dup_ipv4`: a copy of the packet (untracked; DF set; one hop less of TTL in prerouting
    /// and input) routed to the gateway as its next hop (`nf_dup_ipv4_route`: FLOWI_FLAG_KNOWN_NH;
    /// a gateway that is not on-link goes through its own route's gateway), by `device` if one is
    /// named, then through ip_local_out (the output hooks see it); the original goes on. A copy is
    /// not copied again (nf_skb_duplicated); without a route there is no copy. Answers false when
    /// the map has no entry for the packet (the rule stops, as nft_lookup breaks it).
    func nf_dup_ipv4(_ d: NFDup, hook: NFHook, _ skb: SkBuff, _ p: PktInfo, ti: Int) -> Bool {
        let gw: IPv4Address
        if let a = d.addr { gw = IPv4Address(raw: a) } else {
            guard let key = d.key, let v = read(key, skb, p), let hit = d.entries.first(where: { contains($0.0, v, ti: ti) }) else { return false }
            gw = IPv4Address(raw: hit.1)
        }
        guard p.ipv4, !skb.duplicated, let route = nf_dup_ipv4_route(gw, device: d.device) else { return true }
        var bytes = [UInt8](repeating: 0, count: 14)   // the MAC header neigh_output writes
        bytes.append(contentsOf: skb.data[skb.networkHeader..<skb.len])
        let ihl = Int(bytes[14] & 0x0f) * 4
        bytes[14 + 6] |= 0x40
        if hook == .prerouting || hook == .input { bytes[14 + 8] &-= 1 }
        bytes[14 + 10] = 0; bytes[14 + 11] = 0
        bytes.setBE16(14 + 10, Checksum.compute(bytes, from: 14, count: ihl))
        let out = generatedSkb(bytes, dev: route.dev, cause: skb, protocolType: EtherType.ipv4, transportHeader: 14 + ihl,
                               csumPartialOffset: skb.csumPartialOffset.map { $0 - skb.networkHeader + 14 }, attachConntrack: false)
        out.ctInfo = .untracked
        out.duplicated = true
        ip_local_out(out, route: route)
        return true
    }

    /// The route a copy takes to `gw`: the output route's (the gateway itself the next hop unless
    /// its own route has one), or by `device` when it names another (flowi4_oif: a gateway on that
    /// device's link, or none).
    func nf_dup_ipv4_route(_ gw: IPv4Address, device: String?) -> (dev: Int, nexthop: IPv4Address, src: IPv4Address)? {
        guard !fib.isLocal(gw), let r = routeOutput(gw) else { return nil }
        guard let name = device, devices[r.dev].name != name else { return r }
        guard let i = devices.firstIndex(where: { $0.name == name }), devices[i].config.addresses.contains(where: { $0.contains(gw) }) else { return nil }
        return (i, gw, inet_select_addr(i, gw))
    }
}
