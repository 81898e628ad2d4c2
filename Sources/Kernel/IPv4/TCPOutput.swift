import Wire

// net/ipv4/tcp_ipv4.c (tcp_v4_send_reset), also used by nf_reject_ipv4.c (nf_send_reset)
extension Stack {
    /// A RST answering `skb`: seq from its ACK, or RST|ACK acknowledging what it carried; DF, TTL ip_default_ttl.
    /// `fromReject`: nf_send_reset's, which leaves CHECKSUM_PARTIAL and carries the cause's
    /// connection as related (nf_ct_attach).
    func tcp_v4_send_reset(_ skb: SkBuff, fromReject: Bool = false) {
        enter(.tcp_v4_send_reset, skb)
        let b = skb.data, nh = skb.networkHeader
        let th = nh + Int(b[nh] & 0x0f) * 4
        guard skb.len >= th + 20 else { return }
        guard let rst = Stack.resetAnswering(b, th: th, end: skb.len) else { return }
        let src = IPv4Address(raw: b.be32(nh + 12)), dst = IPv4Address(raw: b.be32(nh + 16))
        guard let route = routeOutput(src) else { return }
        // The reply socket does PMTU discovery: DF is set, so ip_select_ident gives 0.
        let ip = IPv4Repr(src: dst, dst: src, proto: IPProtocol.tcp, ttl: UInt8(sysctl(.ip_default_ttl)),
                          ident: ip_select_ident(src: dst, dst: src, proto: IPProtocol.tcp, dontFragment: true),
                          dontFragment: true, payloadLength: 20)
        var bytes = [UInt8](repeating: 0, count: 14 + 40)
        rst.emit(into: &bytes, at: 34, src: dst, dst: src)
        ip.emit(into: &bytes, at: 14)
        // tcp_v4_send_reset counts a segment and a reset; nf_send_reset counts neither.
        if !fromReject { snmp.tcp.OutSegs += 1; snmp.tcp.OutRsts += 1 }
        // (nf_send_reset builds its reset without a socket; tcp_v4_send_reset sends from TCP's.)
        ip_local_out(bytes, route: route, cause: skb, csumPartialOffset: fromReject ? 34 + 16 : nil, attachConntrack: fromReject, kernelSock: !fromReject)
    }
}

extension Stack {
    /// The reset answering a received segment, by its family (`tcp_v4_send_reset`, `tcp_v6_send_reset`).
    func tcp_send_reset(_ skb: SkBuff) {
        if skb.protocolType == EtherType.ipv6 { tcp_v6_send_reset(skb) } else { tcp_v4_send_reset(skb) }
    }

    /// The RST answering the segment at `th` (tcp_v4_send_reset / tcp_v6_send_reset alike): none to
    /// a RST; with ACK, seq from its ack; else RST|ACK acknowledging what it carried (SYN and FIN count one).
    static func resetAnswering(_ b: [UInt8], th: Int, end: Int) -> TCPRepr? {
        let flags = TCPFlags(rawValue: b[th + 13])
        if flags.contains(.rst) { return nil }
        if flags.contains(.ack) {
            return TCPRepr(srcPort: b.be16(th + 2), dstPort: b.be16(th), seq: b.be32(th + 8), ack: 0, flags: .rst, window: 0)
        }
        let dataLen = max(0, end - th - Int(b[th + 12] >> 4) * 4)
        let ack = b.be32(th + 4) &+ UInt32(dataLen) &+ (flags.contains(.syn) ? 1 : 0) &+ (flags.contains(.fin) ? 1 : 0)
        return TCPRepr(srcPort: b.be16(th + 2), dstPort: b.be16(th), seq: 0, ack: ack, flags: [.rst, .ack], window: 0)
    }
}
