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
        let flags = TCPFlags(rawValue: b[th + 13])
        if flags.contains(.rst) { return }
        let src = IPv4Address(raw: b.be32(nh + 12)), dst = IPv4Address(raw: b.be32(nh + 16))
        guard let route = routeOutput(src) else { return }
        let doff = Int(b[th + 12] >> 4) * 4
        let dataLen = skb.len - th - doff
        var rst: TCPRepr
        if flags.contains(.ack) {
            rst = TCPRepr(srcPort: b.be16(th + 2), dstPort: b.be16(th), seq: b.be32(th + 8), ack: 0, flags: .rst, window: 0)
        } else {
            let ack = b.be32(th + 4) &+ UInt32(dataLen) &+ (flags.contains(.syn) ? 1 : 0) &+ (flags.contains(.fin) ? 1 : 0)
            rst = TCPRepr(srcPort: b.be16(th + 2), dstPort: b.be16(th), seq: 0, ack: ack, flags: [.rst, .ack], window: 0)
        }
        // The reply socket does PMTU discovery: DF is set, so ip_select_ident gives 0.
        let ip = IPv4Repr(src: dst, dst: src, proto: IPProtocol.tcp, ttl: UInt8(sysctl(.ip_default_ttl)),
                          ident: ip_select_ident(src: dst, dst: src, proto: IPProtocol.tcp, dontFragment: true),
                          dontFragment: true, payloadLength: 20)
        var bytes = [UInt8](repeating: 0, count: 14 + 40)
        rst.emit(into: &bytes, at: 34, src: dst, dst: src)
        ip.emit(into: &bytes, at: 14)
        snmp.tcp.OutRsts += 1
        ip_local_out(bytes, route: route, cause: skb, csumPartialOffset: fromReject ? 34 + 16 : nil, attachConntrack: fromReject)
    }
}
