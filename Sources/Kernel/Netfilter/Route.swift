import NFTables
import Wire

// net/netfilter/nft_rt.c
extension Stack {
    /// `nft_rt_get_eval`: keys of the packet's route. Before routing (ingress, prerouting) there is
    /// none and the rule ends (NFT_BREAK). The model's FIB has no realms (classid 0) and no IPsec
    /// policies; IPv6 next hops never apply to the IPv4 packets it carries.
    func nft_rt_get_eval(_ sel: NFSelector, _ skb: SkBuff, _ p: PktInfo) -> UInt64? {
        guard p.ipv4, p.hook != .ingress, p.hook != .prerouting else { return nil }
        let daddr = IPv4Address(raw: skb.data.be32(p.nh + 16))
        // The route the packet took: looked up as ip_route_input or ip_route_output did.
        let input = p.hook == .input || p.hook == .forward
        guard let route = fib.lookup(daddr, src: IPv4Address(raw: skb.data.be32(p.nh + 12)), mark: skb.mark,
                                     iif: input ? p.inDev ?? FIBEntry.loopback : FIBEntry.loopback), route.type != .unreachable else { return nil }
        switch sel {
        case RouteKey.classid, RouteKey.ipsec: return 0
        // rt_nexthop: the gateway, or the destination itself when it is on the link.
        case RouteKey.nexthop: return UInt64((route.gateway ?? daddr).raw)
        case RouteKey.mtu: return UInt64(get_tcpmss(skb, p, route))
        default: return nil
        }
    }

    /// The `rt` selectors, resolved once (the switch above compares ids, not names).
    private enum RouteKey {
        static let classid = NFSelector(rawValue: "rt classid")!
        static let ipsec = NFSelector(rawValue: "rt ipsec")!
        static let nexthop = NFSelector(rawValue: "rt ip nexthop")!
        static let mtu = NFSelector(rawValue: "rt mtu")!
    }

    /// `get_tcpmss`: the smaller of the route's MTU and the MTU towards the packet's source, less
    /// the IPv4 and TCP headers; 536 (TCP_MSS_DEFAULT) when that makes no sense.
    private func get_tcpmss(_ skb: SkBuff, _ p: PktInfo, _ route: FIBEntry) -> UInt16 {
        // A local route's device is the loopback (MTU 65536); others, their device's MTU.
        var mtu = route.type == .local ? 65536 : devices[route.dev].config.mtu
        let saddr = IPv4Address(raw: skb.data.be32(p.nh + 12))
        if let back = fib.lookup(saddr), back.type != .unreachable {
            mtu = min(mtu, back.type == .local ? 65536 : devices[back.dev].config.mtu)
        }
        let minlen = 40
        return mtu <= minlen || mtu > 0xffff ? 536 : UInt16(mtu - minlen)
    }
}
