import NFTables
import Wire

// net/netfilter/nf_nat_core.c, nf_nat_proto.c, nft_nat.c, nft_masq.c, nft_redir.c
extension Stack {
    /// A NAT statement on a connection's first packet (nft_nat_eval, nft_masq_eval, nft_redir_eval):
    /// `nf_nat_setup_info` picks the new tuple and records the binding (the chain's verdict is
    /// accept). Later packets never reach nat chains; `nf_nat_packet` rewrites them from the binding.
    func nat(_ s: NFStatement, hook: NFHook, _ skb: SkBuff, outDev: Int?) -> RuleVerdict? {
        guard let c = skb.conn, skb.ctInfo == .new else { return .nf(.accept) }
        if c.orig.v6 {
            if tracing, skb.packet >= 0 { packets[skb.packet].note = "NAT for IPv6 (NAT66) is not modelled yet: the packet is dropped rather than passed unchanged" }
            return .nf(.drop)
        }
        var r: NATRange
        switch s {
        case .snat(let a, let ah, let p, let ph, let f), .dnat(let a, let ah, let p, let ph, let f):
            r = NATRange(addrs: a.map { ($0, ah ?? $0) }, ports: p.map { ($0, ph ?? $0) }, flags: f)
        case .masquerade(let p, let ph, let f):
            // nf_nat_masquerade_ipv4: the address of the device the packet leaves by.
            guard let od = outDev, let addr = devices[od].config.addresses.first?.address.raw else { return .nf(.drop) }
            r = NATRange(addrs: (addr, addr), ports: p.map { ($0, ph ?? $0) }, flags: f)
        case .redirect(let p, let ph, let f):
            // nf_nat_redirect_ipv4: the address of the device the packet came in on.
            guard let addr = devices[skb.dev].config.addresses.first?.address.raw else { return .nf(.drop) }
            r = NATRange(addrs: (addr, addr), ports: p.map { ($0, ph ?? $0) }, flags: f)
        default:
            return nil
        }
        let source: Bool
        switch s { case .snat, .masquerade: source = true; default: source = false }
        // The tuple as the packet stands now: the original one with a destination NAT already bound.
        var current = c.orig
        if let d = c.dnat { current.dst = UInt128(d.addr); current.dport = d.port }
        let t = get_unique_tuple(current, r, source: source)
        // A tuple still in use is a clash the conntrack insert refuses: the packet is dropped.
        if t.hasPorts && conntrack.byTuple[t.inverted] != nil { return .nf(.drop) }
        if source { c.snat = (t.src4, t.sport) } else { c.dnat = (t.dst4, t.dport) }
        c.reply = t.inverted
        c.status |= source ? IPS.srcNAT : IPS.dstNAT
        return .nf(.accept)
    }

    /// `get_unique_tuple`: for source NAT, keep the tuple (or the mapping this source already has)
    /// when it is in the range and free, unless a random flag asks otherwise; then pick the address
    /// (`find_best_ips_proto`) and, if the port is out of range or taken, a free one.
    /// ICMP ids are not remapped here, so ICMP keeps its id.
    func get_unique_tuple(_ orig: CTTuple, _ r: NATRange, source: Bool) -> CTTuple {
        func used(_ t: CTTuple) -> Bool { t.hasPorts && conntrack.byTuple[t.inverted] != nil }
        func portInRange(_ t: CTTuple) -> Bool {
            guard let (lo, hi) = r.ports, t.hasPorts else { return true }
            let p = source ? t.sport : t.dport
            return p >= lo && p <= hi
        }
        if source && !r.flags.randomPort {
            if r.contains(orig.src4) && portInRange(orig) {
                if !used(orig) { return orig }
            } else if let t = find_appropriate_src(orig, r), !used(t) {
                return t
            }
        }
        var t = orig
        find_best_ips_proto(&t, r, source: source)
        if !r.flags.randomPort {
            if let (lo, hi) = r.ports {
                if portInRange(t) && (lo == hi || !used(t)) { return t }
            } else if !used(t) {
                return t
            }
        }
        if t.hasPorts { nf_nat_l4proto_unique_tuple(&t, r, source: source) }
        return t
    }

    /// `find_appropriate_src`: a connection from the same source address and port already mapped
    /// by source NAT (most recent first); its mapping, towards this destination, if in the range.
    private func find_appropriate_src(_ orig: CTTuple, _ r: NATRange) -> CTTuple? {
        for c in (conntrack.bySource[orig.sourceKey] ?? []).reversed() {
            guard let sn = c.snat else { continue }
            let t = CTTuple(proto: orig.proto, src: UInt128(sn.addr), dst: orig.dst, sport: sn.port, dport: orig.dport)
            if r.contains(t.src4), r.ports.map({ t.sport >= $0.0 && t.sport <= $0.1 }) ?? true { return t }
        }
        return nil
    }

    /// `find_best_ips_proto`: one address of the range by jhash2 of the source, seeded with the
    /// destination unless `persistent` (so a client keeps its address across restarts, as the
    /// kernel's comment says). Words as an x86-64 kernel holds them: network-order addresses
    /// read as little-endian u32.
    private func find_best_ips_proto(_ t: inout CTTuple, _ r: NATRange, source: Bool) {
        guard let (lo, hi) = r.addrs else { return }
        let pick: UInt32
        if lo == hi {
            pick = lo
        } else {
            let j = Jhash.jhash2([t.src4.byteSwapped, 0, 0, 0], initval: r.flags.contains(.persistent) ? 0 : t.dst4.byteSwapped)
            pick = lo &+ reciprocal_scale(j, hi &- lo &+ 1)
        }
        if source { t.src = UInt128(pick) } else { t.dst = UInt128(pick) }
    }

    /// `nf_nat_l4proto_unique_tuple`: try ports from a random offset (from the start of the range
    /// for destination NAT without a random flag), at most 128 then half as many again; no range
    /// given, a source port stays in its class (1-511, 600-1023, 1024-65535) and a destination
    /// port cannot change.
    private func nf_nat_l4proto_unique_tuple(_ t: inout CTTuple, _ r: NATRange, source: Bool) {
        let key = source ? t.sport : t.dport
        let min: UInt32, size: UInt32
        if let (lo, hi) = r.ports {
            min = UInt32(Swift.min(lo, hi)); size = UInt32(Swift.max(lo, hi)) - min + 1
        } else {
            guard source else { return }
            if key < 512 { min = 1; size = 511 } else if key < 1024 { min = 600; size = 424 } else { min = 1024; size = 64512 }
        }
        var off: UInt16 = r.flags.randomPort || source ? UInt16(truncatingIfNeeded: random.next()) : 0
        var attempts = Swift.min(size, 128)
        while true {
            for _ in 0..<attempts {
                let port = UInt16(min + UInt32(off) % size)
                if source { t.sport = port } else { t.dport = port }
                if conntrack.byTuple[t.inverted] == nil { return }
                off &+= 1
            }
            if attempts >= size || attempts < 16 { return }
            attempts /= 2
            off = UInt16(truncatingIfNeeded: random.next())
        }
    }

    /// `nf_nat_packet`: destination rewrites at PREROUTING/OUTPUT, source rewrites at POSTROUTING/INPUT,
    /// in both directions, fixing the IPv4 and TCP/UDP checksums incrementally.
    func nf_nat_packet(_ skb: SkBuff, hook: NFHook) {
        guard let c = skb.conn, c.snat != nil || c.dnat != nil else { return }
        let reply = skb.ctInfo == .reply
        let manipDst = hook == .prerouting || hook == .output
        if manipDst {
            if !reply, let d = c.dnat { rewrite(skb, addr: d.addr, port: d.port, dst: true) }
            if reply, c.snat != nil { rewrite(skb, addr: c.orig.src4, port: c.orig.sport, dst: true) }
        } else {
            if !reply, let sn = c.snat { rewrite(skb, addr: sn.addr, port: sn.port, dst: false) }
            if reply, c.dnat != nil { rewrite(skb, addr: c.orig.dst4, port: c.orig.dport, dst: false) }
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

/// `struct nf_nat_range2` as the NAT expressions fill it: addresses (NF_NAT_RANGE_MAP_IPS), ports
/// (NF_NAT_RANGE_PROTO_SPECIFIED) and flags.
struct NATRange {
    var addrs: (UInt32, UInt32)?
    var ports: (UInt16, UInt16)?
    var flags: NFNATFlags
    /// Inside the address range, or no addresses to map.
    func contains(_ a: UInt32) -> Bool { addrs.map { a >= $0.0 && a <= $0.1 } ?? true }
}

/// include/linux/jhash.h (Bob Jenkins' lookup3), as nf_nat_core hashes addresses with it.
enum Jhash {
    static func rol(_ x: UInt32, _ k: UInt32) -> UInt32 { x << k | x >> (32 - k) }

    /// `jhash` over bytes, the words read little-endian as an x86-64 kernel reads them.
    static func jhash(_ k: [UInt8], initval: UInt32) -> UInt32 {
        var a = 0xdead_beef &+ UInt32(k.count) &+ initval
        var b = a, c = a
        func word(_ i: Int) -> UInt32 { UInt32(k[i]) | UInt32(k[i + 1]) << 8 | UInt32(k[i + 2]) << 16 | UInt32(k[i + 3]) << 24 }
        var i = 0, n = k.count
        while n > 12 {
            a &+= word(i); b &+= word(i + 4); c &+= word(i + 8)
            mix(&a, &b, &c)
            n -= 12; i += 12
        }
        guard n > 0 else { return c }
        for j in stride(from: n - 1, through: 0, by: -1) {
            let v = UInt32(k[i + j]) << UInt32(8 * (j % 4))
            switch j / 4 { case 0: a &+= v; case 1: b &+= v; default: c &+= v }
        }
        final(&a, &b, &c)
        return c
    }

    static func mix(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        a &-= c; a ^= rol(c, 4); c &+= b
        b &-= a; b ^= rol(a, 6); a &+= c
        c &-= b; c ^= rol(b, 8); b &+= a
        a &-= c; a ^= rol(c, 16); c &+= b
        b &-= a; b ^= rol(a, 19); a &+= c
        c &-= b; c ^= rol(b, 4); b &+= a
    }

    static func final(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32) {
        c ^= b; c &-= rol(b, 14)
        a ^= c; a &-= rol(c, 11)
        b ^= a; b &-= rol(a, 25)
        c ^= b; c &-= rol(b, 16)
        a ^= c; a &-= rol(c, 4)
        b ^= a; b &-= rol(a, 14)
        c ^= b; c &-= rol(b, 24)
    }

    static func jhash2(_ k: [UInt32], initval: UInt32) -> UInt32 {
        var a = 0xdead_beef &+ UInt32(k.count << 2) &+ initval
        var b = a, c = a
        var i = 0, n = k.count
        while n > 3 {
            a &+= k[i]; b &+= k[i + 1]; c &+= k[i + 2]
            mix(&a, &b, &c)
            n -= 3; i += 3
        }
        guard n > 0 else { return c }
        if n == 3 { c &+= k[i + 2] }
        if n >= 2 { b &+= k[i + 1] }
        a &+= k[i]
        final(&a, &b, &c)
        return c
    }
}
