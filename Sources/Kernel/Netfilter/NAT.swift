import NFTables
import Wire

// net/netfilter/nf_nat_core.c, nf_nat_proto.c, nft_nat.c, nft_masq.c, nft_redir.c
extension Stack {
    /// A NAT statement on a connection's first packet: record the binding (the chain's verdict is accept).
    /// Later packets never reach nat chains; `nf_nat_packet` rewrites them from the binding.
    func nat(_ s: NFStatement, hook: NFHook, _ skb: SkBuff, outDev: Int?) -> RuleVerdict? {
        guard let c = skb.conn, skb.ctInfo == .new else { return .nf(.accept) }
        let b = skb.data, nh = skb.networkHeader
        let th = nh + Int(b[nh] & 0x0f) * 4
        let hasPorts = c.orig.proto == IPProtocol.tcp || c.orig.proto == IPProtocol.udp
        let origSport = hasPorts ? b.be16(th) : 0, origDport = hasPorts ? b.be16(th + 2) : 0
        // Port ranges: keep the original port when it is inside, else start at the bottom (then clash handling).
        func port(_ orig: UInt16, _ lo: UInt16?, _ hi: UInt16?) -> UInt16 {
            guard let lo else { return orig }
            let top = hi ?? lo
            return orig >= lo && orig <= top ? orig : lo
        }
        var portRange: (UInt16, UInt16)? = nil
        switch s {
        case .snat(let a, let ah, let p, let ph):
            c.snat = (pickAddress(a ?? c.orig.src, ah, for: c.orig), port(origSport, p, ph))
            if let p { portRange = (p, ph ?? p) }
        case .masquerade(let p, let ph):
            guard let od = outDev, let addr = devices[od].config.addresses.first?.address.raw else { return .nf(.drop) }
            c.snat = (addr, port(origSport, p, ph))
            if let p { portRange = (p, ph ?? p) }
        case .dnat(let a, let ah, let p, let ph):
            c.dnat = (pickAddress(a ?? c.orig.dst, ah, for: c.orig), port(origDport, p, ph))
        case .redirect(let p, let ph):
            let dev = skb.dev
            guard let addr = devices[dev].config.addresses.first?.address.raw else { return .nf(.drop) }
            c.dnat = (addr, port(origDport, p, ph))
        default:
            return nil
        }
        // The reply tuple is what the other end will send back after the rewrite.
        var reply = c.orig
        if let d = c.dnat { reply.dst = d.addr; if hasPorts { reply.dport = d.port } }
        if let sn = c.snat { reply.src = sn.addr; if hasPorts { reply.sport = sn.port } }
        // nf_nat_l4proto_unique_tuple: a source port another connection already uses moves on,
        // within the given range (else through 1024...65535).
        if hasPorts, var sn = c.snat {
            let (lo, hi) = portRange ?? (1024, 65535)
            var tries = 0
            let span = Int(hi) - Int(lo) + 1
            while conntrack.byTuple[reply.inverted] != nil && tries < span {
                sn.port = sn.port >= hi || sn.port < lo ? lo : sn.port + 1
                reply.sport = sn.port
                tries += 1
            }
            if conntrack.byTuple[reply.inverted] != nil { return .nf(.drop) }   // the range is exhausted
            c.snat = sn
        }
        c.reply = reply.inverted
        if c.dnat != nil { c.status |= IPS.dstNAT }
        if c.snat != nil { c.status |= IPS.srcNAT }
        return .nf(.accept)
    }

    /// An address from `lo...hi` for this connection: the same source always gets the same one
    /// (a deterministic hash of the original source; the kernel uses jhash, so the pick may differ).
    func pickAddress(_ lo: UInt32, _ hi: UInt32?, for t: CTTuple) -> UInt32 {
        guard let hi, hi > lo else { return lo }
        var h = t.src &* 0x9e37_79b1
        h ^= h >> 15
        return lo &+ UInt32((UInt64(h) * UInt64(hi - lo + 1)) >> 32)
    }

    /// `nf_nat_packet`: destination rewrites at PREROUTING/OUTPUT, source rewrites at POSTROUTING/INPUT,
    /// in both directions, fixing the IPv4 and TCP/UDP checksums incrementally.
    func nf_nat_packet(_ skb: SkBuff, hook: NFHook) {
        guard let c = skb.conn, c.snat != nil || c.dnat != nil else { return }
        let reply = skb.ctInfo == .reply
        let manipDst = hook == .prerouting || hook == .output
        if manipDst {
            if !reply, let d = c.dnat { rewrite(skb, addr: d.addr, port: d.port, dst: true) }
            if reply, c.snat != nil { rewrite(skb, addr: c.orig.src, port: c.orig.sport, dst: true) }
        } else {
            if !reply, let sn = c.snat { rewrite(skb, addr: sn.addr, port: sn.port, dst: false) }
            if reply, c.dnat != nil { rewrite(skb, addr: c.orig.dst, port: c.orig.dport, dst: false) }
        }
    }

    private func rewrite(_ skb: SkBuff, addr: UInt32, port: UInt16, dst: Bool) {
        let nh = skb.networkHeader
        let th = nh + Int(skb.data[nh] & 0x0f) * 4
        let aoff = nh + (dst ? 16 : 12)
        let old = skb.data.be32(aoff)
        skb.data.setBE32(aoff, addr)
        skb.data.setBE16(nh + 10, Checksum.update(skb.data.be16(nh + 10), old: old, new: addr))
        let proto = skb.data[nh + 9]
        guard skb.data.be16(nh + 6) & 0x1fff == 0 else { return }
        let csumOff: Int
        switch proto {
        case IPProtocol.tcp: csumOff = th + 16
        case IPProtocol.udp: csumOff = th + 6
        default: return
        }
        guard skb.len >= csumOff + 2 else { return }
        var check = skb.data.be16(csumOff)
        if proto == IPProtocol.udp && check == 0 { }
        else {
            check = Checksum.update(check, old: old, new: addr)
            let poff = th + (dst ? 2 : 0)
            let oldPort = skb.data.be16(poff)
            check = Checksum.update(check, old: oldPort, new: port)
            if proto == IPProtocol.udp && check == 0 { check = 0xffff }
            skb.data.setBE16(csumOff, check)
        }
        skb.data.setBE16(th + (dst ? 2 : 0), port)
    }
}
