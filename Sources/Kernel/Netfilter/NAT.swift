import NFTables
import Wire

// net/netfilter/nf_nat_core.c, nf_nat_proto.c, nft_nat.c, nft_masq.c, nft_redir.c
extension Stack {
    /// A NAT statement on a connection's first packet (nft_nat_eval, nft_masq_eval, nft_redir_eval):
    /// `nf_nat_setup_info` picks the new tuple and records the binding (the chain's verdict is
    /// accept). Later packets never reach nat chains; `nf_nat_packet` rewrites them from the binding.
    func nat(_ s: NFStatement, hook: NFHook, _ skb: SkBuff, outDev: Int?) -> RuleVerdict? {
        let v6 = skb.protocolType == EtherType.ipv6
        // An address of the other family carries a `meta nfproto` dependency the packet fails.
        switch s {
        case .snat(let a, _, _, _, _), .dnat(let a, _, _, _, _): if v6 && a != nil { return nil }
        case .nat6: if !v6 { return nil }
        default: break
        }
        // A new connection, or an expected one's first packets (RELATED).
        guard let c = skb.conn, skb.ctInfo == .new || isExpectedOriginal(skb, c) else { return .nf(.accept) }
        var r: NATRange
        switch s {
        case .snat(let a, let ah, let p, let ph, let f), .dnat(let a, let ah, let p, let ph, let f):
            r = NATRange(addrs: a.map { (UInt128($0), UInt128(ah ?? $0)) }, ports: p.map { ($0, ph ?? $0) }, flags: f)
        case .nat6(_, let a, let ah, let p, let ph, let f):
            r = NATRange(addrs: (a, ah ?? a), ports: p.map { ($0, ph ?? $0) }, flags: f, v6: true)
        case .masquerade(let p, let ph, let f):
            // nf_nat_masquerade_ipv4: the address of the device the packet leaves by;
            // nf_nat_masquerade_ipv6: the source address selection picks toward the destination there.
            guard let od = outDev else { return .nf(.drop) }
            let addr: UInt128
            if v6 {
                guard let a = fib6.sourceAddress(for: IPv6Address(raw: c.orig.dst), dev: od) else { return .nf(.drop) }
                addr = a.raw
            } else {
                guard let a = devices[od].config.addresses.first?.address.raw else { return .nf(.drop) }
                addr = UInt128(a)
            }
            r = NATRange(addrs: (addr, addr), ports: p.map { ($0, ph ?? $0) }, flags: f, v6: v6)
        case .redirect(let p, let ph, let f):
            // nf_nat_redirect_ipv4/ipv6: in LOCAL_OUT the loopback address (127.0.0.1, ::1: lo
            // takes it back in; recorded: scripts/record_output_redirect.sh), else the (first
            // global) address of the device the packet came in on.
            let addr: UInt128
            if hook == .output {
                addr = v6 ? IPv6Address.loopback.raw : UInt128(IPv4Address(127, 0, 0, 1).raw)
            } else if v6 {
                guard let a = fib6.addresses[skb.dev].first(where: { !$0.address.isLinkLocal }) ?? fib6.addresses[skb.dev].first else { return .nf(.drop) }
                addr = a.address.raw
            } else {
                guard let a = devices[skb.dev].config.addresses.first?.address.raw else { return .nf(.drop) }
                addr = UInt128(a)
            }
            r = NATRange(addrs: (addr, addr), ports: p.map { ($0, ph ?? $0) }, flags: f, v6: v6)
        default:
            return nil
        }
        let source: Bool
        switch s {
        case .snat, .masquerade: source = true
        case .nat6(let src, _, _, _, _, _): source = src
        default: source = false
        }
        // The tuple as the packet stands now: the original one with a destination NAT already bound.
        var current = c.orig
        if let d = c.dnat { current.dst = d.addr; current.dport = d.port }
        if r.flags.contains(.netmap), let (lo, hi) = r.addrs { r.addrs = nft_nat_setup_netmap(source ? current.src : current.dst, lo, hi) }
        let replyZone = c.zone.id(reply: true)
        // A tuple still in use (a single-port DNAT, a range used up) is a clash the confirm finds.
        let t = get_unique_tuple(current, r, source: source, replyZone: replyZone)
        if source { c.snat = (t.src, t.sport) } else { c.dnat = (t.dst, t.dport) }
        c.reply = t.inverted(zone: replyZone)
        c.status |= source ? IPS.srcNAT : IPS.dstNAT
        return .nf(.accept)
    }

    /// `nf_nat_alloc_null_binding`: no rule bound the connection at this hook, so it keeps its
    /// address, but a source port another connection's reply already uses moves (get_unique_tuple;
    /// a destination's never does without a port range).
    func nf_nat_alloc_null_binding(_ c: Conn, source: Bool) {
        guard source else { return }
        var current = c.orig
        if let d = c.dnat { current.dst = d.addr; current.dport = d.port }
        let r = NATRange(addrs: (current.src, current.src), ports: nil, flags: [], v6: current.v6)
        let replyZone = c.zone.id(reply: true)
        let t = get_unique_tuple(current, r, source: true, replyZone: replyZone)
        guard t != current else { return }
        c.snat = (t.src, t.sport)
        c.reply = t.inverted(zone: replyZone)
        c.status |= IPS.srcNAT
    }

    /// `nft_nat_setup_netmap` (`snat prefix to`): the bits where the range's ends agree are the
    /// network part and replace the packet's; the rest of its address stays. One address results.
    func nft_nat_setup_netmap(_ addr: UInt128, _ lo: UInt128, _ hi: UInt128) -> (UInt128, UInt128) {
        let netmask = ~(lo ^ hi)
        let a = (addr & ~netmask) | (lo & netmask)
        return (a, a)
    }

    /// `get_unique_tuple`: for source NAT, keep the tuple (or the mapping this source already has)
    /// when it is in the range and free, unless a random flag asks otherwise; then pick the address
    /// (`find_best_ips_proto`) and, if the port is out of range or taken, a free one.
    /// ICMP ids are not remapped here, so ICMP keeps its id.
    /// `nf_nat_used_tuple`: another connection already answers to the reply this tuple would have
    /// (in the connection's zone).
    func nf_nat_used_tuple(_ t: CTTuple, replyZone: UInt16) -> Bool { t.hasPorts && conntrack.lookup(t.inverted(zone: replyZone)) != nil }

    func get_unique_tuple(_ orig: CTTuple, _ r: NATRange, source: Bool, replyZone: UInt16) -> CTTuple {
        func used(_ t: CTTuple) -> Bool { nf_nat_used_tuple(t, replyZone: replyZone) }
        func portInRange(_ t: CTTuple) -> Bool {
            guard let (lo, hi) = r.ports, t.hasPorts else { return true }
            let p = source ? t.sport : t.dport
            return p >= lo && p <= hi
        }
        if source && !r.flags.randomPort {
            if r.contains(orig.src) && portInRange(orig) {
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
        if t.hasPorts { nf_nat_l4proto_unique_tuple(&t, r, source: source, replyZone: replyZone) }
        return t
    }

    /// `find_appropriate_src`: a connection from the same source address and port already mapped
    /// by source NAT (most recent first); its mapping, towards this destination, if in the range.
    private func find_appropriate_src(_ orig: CTTuple, _ r: NATRange) -> CTTuple? {
        for c in (conntrack.bySource[orig.sourceKey] ?? []).reversed() {
            guard let sn = c.snat else { continue }
            let t = CTTuple(proto: orig.proto, src: sn.addr, dst: orig.dst, sport: sn.port, dport: orig.dport, v6: orig.v6)
            if r.contains(t.src), r.ports.map({ t.sport >= $0.0 && t.sport <= $0.1 }) ?? true { return t }
        }
        return nil
    }

    /// `find_best_ips_proto`: one address of the range by jhash2 of the source, seeded with the
    /// destination unless `persistent` (so a client keeps its address across restarts, as the
    /// kernel's comment says). Words as an x86-64 kernel holds them: network-order addresses
    /// read as little-endian u32.
    private func find_best_ips_proto(_ t: inout CTTuple, _ r: NATRange, source: Bool) {
        guard let (lo, hi) = r.addrs else { return }
        let pick: UInt128
        if lo == hi {
            pick = lo
        } else if !r.v6 {
            let j = Jhash.jhash2([t.src4.byteSwapped, 0, 0, 0], initval: r.flags.contains(.persistent) ? 0 : t.dst4.byteSwapped)
            pick = UInt128(UInt32(truncatingIfNeeded: lo) &+ reciprocal_scale(j, UInt32(truncatingIfNeeded: hi &- lo) &+ 1))
        } else {
            // IPv6: jhash2 over the four words of the address being mapped, then word by word: the
            // distance within the range while the words so far sit at its top, the full 32 bits after.
            func words(_ a: UInt128) -> [UInt32] { (0..<4).map { UInt32(truncatingIfNeeded: a >> UInt128(96 - 32 * $0)) } }
            let mapped = words(source ? t.src : t.dst), dst = words(t.dst)
            var j = Jhash.jhash2(mapped.map(\.byteSwapped), initval: r.flags.contains(.persistent) ? 0 : dst[3].byteSwapped)
            let los = words(lo), his = words(hi)
            var full = false
            var out: UInt128 = 0
            for k in 0..<4 {
                let minip = full ? 0 : los[k]
                let dist: UInt32 = full ? ~0 : his[k] &- los[k] &+ 1
                let w = minip &+ reciprocal_scale(j, dist)
                out = out << 32 | UInt128(w)
                if w != his[k] { full = true }
                if !r.flags.contains(.persistent) { j ^= dst[k].byteSwapped }
            }
            pick = out
        }
        if source { t.src = pick } else { t.dst = pick }
    }

    /// `nf_nat_l4proto_unique_tuple`: try ports from a random offset (from the start of the range
    /// for destination NAT without a random flag), at most 128 then half as many again; no range
    /// given, a source port stays in its class (1-511, 600-1023, 1024-65535) and a destination
    /// port cannot change.
    private func nf_nat_l4proto_unique_tuple(_ t: inout CTTuple, _ r: NATRange, source: Bool, replyZone: UInt16) {
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
                if !nf_nat_used_tuple(t, replyZone: replyZone) { return }
                off &+= 1
            }
            if attempts >= size || attempts < 16 { return }
            attempts /= 2
            off = UInt16(truncatingIfNeeded: random.next())
        }
    }

    /// `nf_nat_packet`: destination rewrites at PREROUTING/OUTPUT, source rewrites at POSTROUTING/INPUT,
    /// in both directions, fixing the IPv4 and TCP/UDP (and ICMPv6, whose sum covers the IPv6
    /// pseudo-header) checksums incrementally.
    func nf_nat_packet(_ skb: SkBuff, hook: NFHook) {
        guard let c = skb.conn, c.snat != nil || c.dnat != nil else { return }
        // nf_nat_ipv4_fn / nf_nat_ipv6_fn: an ICMP error about the connection is translated apart.
        if skb.ctInfo == .related || skb.ctInfo == .relatedReply, isICMPError(skb) {
            nf_nat_icmp_reply_translation(skb, c, reply: skb.ctInfo == .relatedReply, hook: hook)
            return
        }
        let reply = skb.ctInfo == .reply
        let (nh, v6) = (skb.networkHeader, c.orig.v6)
        if hook == .prerouting || hook == .output {
            if !reply, let d = c.dnat { nf_nat_manip_pkt(skb, iph: nh, v6: v6, addr: d.addr, port: d.port, dst: true) }
            if reply, c.snat != nil { nf_nat_manip_pkt(skb, iph: nh, v6: v6, addr: c.orig.src, port: c.orig.sport, dst: true) }
        } else {
            if !reply, let sn = c.snat { nf_nat_manip_pkt(skb, iph: nh, v6: v6, addr: sn.addr, port: sn.port, dst: false) }
            if reply, c.dnat != nil { nf_nat_manip_pkt(skb, iph: nh, v6: v6, addr: c.orig.dst, port: c.orig.dport, dst: false) }
        }
        if tracing { noteTuple(skb) }
    }

    /// `nf_nat_icmp_reply_translation` (and its IPv6 twin): an ICMP error travelling in direction
    /// `reply` of a NATed connection is translated where the hook's manipulation (source at
    /// POSTROUTING/INPUT, destination at PREROUTING/OUTPUT), taken from that direction, is one the
    /// connection has: the quoted packet becomes the other direction's tuple as the peer knows it
    /// (the opposite manipulation), the ICMP checksum is computed again, and the outer header is
    /// changed as a reply to that packet would be.
    private func nf_nat_icmp_reply_translation(_ skb: SkBuff, _ c: Conn, reply: Bool, hook: NFHook) {
        let manipSrc = !(hook == .prerouting || hook == .output)
        guard (manipSrc != reply ? c.snat : c.dnat) != nil, let (th, _) = get_l4proto(skb) else { return }
        let other = reply ? c.orig : c.reply
        let v6 = skb.protocolType == EtherType.ipv6
        let inner = th + 8
        guard skb.len >= inner + (v6 ? 40 : 20) else { return }
        // The quoted packet: the other manipulation, to the other direction's tuple.
        if manipSrc {
            nf_nat_manip_pkt(skb, iph: inner, v6: v6, addr: other.dst, port: other.dport, dst: true)
        } else {
            nf_nat_manip_pkt(skb, iph: inner, v6: v6, addr: other.src, port: other.sport, dst: false)
        }
        skb.data.setBE16(th + 2, 0)
        var sum = Checksum.sum(skb.data, from: th, count: skb.len - th)
        if v6 {
            let nh = skb.networkHeader
            sum += PseudoHeader.v6(IPv6Address(array: skb.data, at: nh + 8), IPv6Address(array: skb.data, at: nh + 24))
                .sum(proto: IPProtocol.icmpv6, length: skb.len - th)
        }
        skb.data.setBE16(th + 2, Checksum.finish(sum))
        // The outer header, as the reply to that packet (`nf_ct_invert_tuple`).
        nf_nat_manip_pkt(skb, iph: skb.networkHeader, v6: v6, addr: manipSrc ? other.dst : other.src, port: nil, dst: !manipSrc)
    }

    /// `nf_nat_manip_pkt` (nf_nat_ipv4_manip_pkt / nf_nat_ipv6_manip_pkt) on the header at `iph`,
    /// a packet's own or the one an ICMP error quotes: the transport checksum first (TCP's only
    /// when the whole header is there, UDP's unless zero; an ICMPv6 one for the pseudo-header),
    /// the port (nil: an ICMP error's own header, which keeps its fields), then the address (and
    /// IPv4's header checksum). Nothing past the address in a later fragment.
    private func nf_nat_manip_pkt(_ skb: SkBuff, iph: Int, v6: Bool, addr: UInt128, port: UInt16?, dst: Bool) {
        let aoff = iph + (v6 ? (dst ? 24 : 8) : (dst ? 16 : 12))
        let width = v6 ? 16 : 4
        guard skb.len >= aoff + width else { return }
        let old = v6 ? IPv6Address(array: skb.data, at: aoff).raw : UInt128(skb.data.be32(aoff))
        let l4: (offset: Int, proto: UInt8)?
        if v6 {
            l4 = ipv6_skip_exthdr(skb.data, from: iph, end: skb.len).flatMap { $0.fragOff == 0 ? ($0.offset, $0.proto) : nil }
        } else {
            l4 = skb.data.be16(iph + 6) & 0x1fff == 0 ? (iph + Int(skb.data[iph] & 0x0f) * 4, skb.data[iph + 9]) : nil
        }
        func addrUpdate(_ check: UInt16) -> UInt16 {
            guard v6 else { return Checksum.update(check, old: UInt32(truncatingIfNeeded: old), new: UInt32(truncatingIfNeeded: addr)) }
            var c = check
            for k in 0..<8 {
                let shift = UInt128(112 - 16 * k)
                c = Checksum.update(c, old: UInt16(truncatingIfNeeded: old >> shift), new: UInt16(truncatingIfNeeded: addr >> shift))
            }
            return c
        }
        if let (th, proto) = l4 {
            let poff = th + (dst ? 2 : 0)
            switch proto {
            case IPProtocol.tcp where port != nil && skb.len >= th + 8:
                let oldPort = skb.data.be16(poff)
                skb.data.setBE16(poff, port!)
                if skb.len >= th + 20 { skb.data.setBE16(th + 16, Checksum.update(addrUpdate(skb.data.be16(th + 16)), old: oldPort, new: port!)) }
            case IPProtocol.udp where port != nil && skb.len >= th + 8:
                if skb.data.be16(th + 6) != 0 {
                    var check = Checksum.update(addrUpdate(skb.data.be16(th + 6)), old: skb.data.be16(poff), new: port!)
                    if check == 0 { check = 0xffff }
                    skb.data.setBE16(th + 6, check)
                }
                skb.data.setBE16(poff, port!)
            case IPProtocol.icmpv6 where skb.len >= th + 4:
                skb.data.setBE16(th + 2, addrUpdate(skb.data.be16(th + 2)))
            default: break
            }
        }
        if v6 {
            IPv6Address(raw: addr).bytes.enumerated().forEach { skb.data[aoff + $0.offset] = $0.element }
        } else {
            let a = UInt32(truncatingIfNeeded: addr)
            skb.data.setBE16(iph + 10, Checksum.update(skb.data.be16(iph + 10), old: UInt32(truncatingIfNeeded: old), new: a))
            skb.data.setBE32(aoff, a)
        }
    }

    /// A traced packet notes where NAT changed its tuple (pwru's tuple before and after): from the
    /// next stage on, it carries the new one.
    private func noteTuple(_ skb: SkBuff) {
        let p = skb.packet
        guard p >= 0, !skb.generated, let now = FlowTuple.network(skb.data, at: skb.networkHeader, ethertype: skb.protocolType),
              now != (packets[p].tupleChanges.last?.tuple ?? packets[p].startTuple) else { return }
        packets[p].flowBox().changes.append((packets[p].stages.count, now))
    }
}

/// `struct nf_nat_range2` as the NAT expressions fill it: addresses (NF_NAT_RANGE_MAP_IPS), ports
/// (NF_NAT_RANGE_PROTO_SPECIFIED) and flags.
struct NATRange {
    /// Addresses: IPv4 in the low 32 bits, or IPv6 (`v6`).
    var addrs: (UInt128, UInt128)?
    var ports: (UInt16, UInt16)?
    var flags: NFNATFlags
    var v6 = false
    /// Inside the address range, or no addresses to map.
    func contains(_ a: UInt128) -> Bool { addrs.map { a >= $0.0 && a <= $0.1 } ?? true }
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
