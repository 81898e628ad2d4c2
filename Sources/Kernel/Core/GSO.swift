import Wire

// net/core/gso.c, net/ipv4/af_inet.c (inet_gso_segment), net/ipv6/ip6_offload.c (ipv6_gso_segment),
// net/ipv4/tcp_offload.c (tcp_gso_segment)
extension Stack {
    /// `skb_gso_segment` for a TCP/IPv4 GSO skb on a device without TSO: back into segments of
    /// gso_size bytes. Each gets the IP header with its length, an ID counting up from the first
    /// (or the same ID with SKB_GSO_TCP_FIXEDID) and a fresh checksum; the TCP header with its
    /// sequence number, FIN and PSH on the last segment only, CWR on the first only, and its checksum.
    /// Over IPv6 each segment gets its payload length (there is no ID or header checksum).
    /// `offloaded`: the NIC cuts them (TSO); the frames are the same, the CPU does no work.
    func skb_gso_segment(_ skb: SkBuff, offloaded: Bool = false) -> [SkBuff] {
        if !offloaded { enter(.skb_gso_segment, skb) }
        if skb.gsoUDP { return udp4_gso_segment(skb) }
        let nh = skb.networkHeader, b = skb.data
        let v6 = skb.protocolType == EtherType.ipv6
        let ihl = v6 ? 40 : Int(b[nh] & 0x0f) * 4, th = nh + ihl
        let doff = Int(b[th + 12] >> 4) * 4
        let payload = th + doff
        let mss = skb.gsoSize
        let firstID = b.be16(nh + 4), firstSeq = b.be32(th + 4)
        let flags = b[th + 13]
        let pseudoHeader: PseudoHeader = v6 ? .v6(IPv6Address(array: b, at: nh + 8), IPv6Address(array: b, at: nh + 24))
            : .v4(IPv4Address(raw: b.be32(nh + 12)), IPv4Address(raw: b.be32(nh + 16)))
        var out: [SkBuff] = []
        var off = payload, k = 0
        while off < skb.len {
            let n = min(mss, skb.len - off)
            let last = off + n >= skb.len
            var f = Array(b[0..<payload]) + b[off..<(off + n)]
            if v6 {
                f.setBE16(nh + 4, UInt16(doff + n))
            } else {
                f.setBE16(nh + 2, UInt16(ihl + doff + n))
                f.setBE16(nh + 4, skb.gsoFixedID ? firstID : firstID &+ UInt16(truncatingIfNeeded: k))
                f.setBE16(nh + 10, 0)
                f.setBE16(nh + 10, Checksum.compute(f, from: nh, count: ihl))
            }
            f.setBE32(th + 4, firstSeq &+ UInt32(off - payload))
            var fl = flags
            if !last { fl &= ~(TCPFlags.fin.rawValue | TCPFlags.psh.rawValue) }
            if k > 0 { fl &= ~TCPFlags.cwr.rawValue }
            f[th + 13] = fl
            f.setBE16(th + 16, 0)
            let pseudo = pseudoHeader.sum(proto: IPProtocol.tcp, length: doff + n)
            f.setBE16(th + 16, Checksum.finish(Checksum.sum(f, from: th, count: doff + n, initial: pseudo)))
            let seg = SkBuff(frame: f, dev: skb.dev, packet: skb.packet)
            seg.networkHeader = nh; seg.transportHeader = th; seg.cpu = skb.cpu; seg.protocolType = skb.protocolType
            seg.mark = skb.mark; seg.conn = skb.conn; seg.ctInfo = skb.ctInfo
            // Offloaded checksums stay CHECKSUM_PARTIAL for the device (a veth leaves them so on the wire).
            seg.csumPartialOffset = th + 16
            out.append(seg)
            off += n; k += 1
        }
        return out
    }
}

extension Stack {
    /// `__udp_gso_segment` (UDP_SEGMENT): gso_size bytes of payload per datagram, the last one
    /// shorter; each its IP header with its length, the next ID and a fresh checksum, and its UDP
    /// header with its length and checksum (CHECKSUM_PARTIAL: a veth leaves the pseudo-header sum).
    func udp4_gso_segment(_ skb: SkBuff) -> [SkBuff] {
        let nh = skb.networkHeader, b = skb.data
        let ihl = Int(b[nh] & 0x0f) * 4, th = nh + ihl
        let firstID = b.be16(nh + 4)
        let src = IPv4Address(raw: b.be32(nh + 12)), dst = IPv4Address(raw: b.be32(nh + 16))
        var out: [SkBuff] = []
        var off = th + 8, k = 0
        while off < skb.len {
            let n = min(skb.gsoSize, skb.len - off)
            var f = Array(b[0..<(th + 8)]) + b[off..<(off + n)]
            f.setBE16(nh + 2, UInt16(ihl + 8 + n))
            f.setBE16(nh + 4, firstID &+ UInt16(truncatingIfNeeded: k))
            f.setBE16(nh + 10, 0)
            f.setBE16(nh + 10, Checksum.compute(f, from: nh, count: ihl))
            f.setBE16(th + 4, UInt16(8 + n))
            f.setBE16(th + 6, 0)
            var c = Checksum.finish(Checksum.sum(f, from: th, count: 8 + n, initial: Checksum.pseudoHeaderSum(src: src, dst: dst, proto: IPProtocol.udp, length: 8 + n)))
            if c == 0 { c = 0xffff }
            f.setBE16(th + 6, c)
            let seg = SkBuff(frame: f, dev: skb.dev, packet: skb.packet)
            seg.networkHeader = nh; seg.transportHeader = th; seg.cpu = skb.cpu; seg.protocolType = skb.protocolType
            seg.mark = skb.mark; seg.priority = skb.priority; seg.conn = skb.conn; seg.ctInfo = skb.ctInfo
            seg.csumPartialOffset = th + 6
            out.append(seg)
            off += n; k += 1
        }
        return out
    }
}

extension SkBuff {
    /// The transport header each segment repeats: UDP's 8 bytes (SKB_GSO_UDP_L4) or TCP's.
    var gsoTransportHeaderLength: Int {
        let ihl = protocolType == EtherType.ipv6 ? 40 : Int(data[networkHeader] & 0x0f) * 4
        return gsoUDP ? 8 : Int(data[networkHeader + ihl + 12] >> 4) * 4
    }

    /// The IP length of each segment a GSO skb would be cut into (`skb_gso_validate_network_len`).
    var gsoNetworkSegmentLength: Int {
        let ihl = protocolType == EtherType.ipv6 ? 40 : Int(data[networkHeader] & 0x0f) * 4
        return ihl + gsoTransportHeaderLength + gsoSize
    }

    /// `skb_shinfo(skb)->gso_segs`: how many frames it leaves as (1 when not GSO).
    var gsoSegs: Int {
        guard gsoSize > 0 else { return 1 }
        let ihl = protocolType == EtherType.ipv6 ? 40 : Int(data[networkHeader] & 0x0f) * 4
        let payload = len - networkHeader - ihl - gsoTransportHeaderLength
        return max(1, (payload + gsoSize - 1) / gsoSize)
    }

    /// `qdisc_pkt_len_init`: the L2 length, plus the headers each further GSO segment repeats.
    var l2LengthWithSegmentHeaders: Int {
        let l2 = len - networkHeader + 14
        guard gsoSize > 0 else { return l2 }
        let hdr = gsoNetworkSegmentLength - gsoSize + 14
        return l2 + (gsoSegs - 1) * hdr
    }
}
