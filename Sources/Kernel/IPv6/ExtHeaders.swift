import Wire

// net/ipv6/exthdrs.c: hop-by-hop (before PREROUTING), destination options and routing headers
// (as protocols of ip6_input_finish). Each returns how the path ends, or nil to go on with the
// transport header moved past it and `nhoff` at its next-header byte.
extension Stack {
    /// `ipv6_parse_hopopts`: the hop-by-hop header right after the fixed header.
    func ipv6_parse_hopopts(_ skb: SkBuff) -> PathEnd? {
        let th = skb.transportHeader
        guard skb.len >= th + 8, skb.len >= th + (Int(skb.data[th + 1]) + 1) * 8 else {
            return drop(.NOT_SPECIFIED, "hop-by-hop header truncated")
        }
        let extlen = (Int(skb.data[th + 1]) + 1) * 8
        if let end = ip6_parse_tlv(skb, hopByHop: true, maxCount: sysctl(.max_hbh_opts_number)) { return end }
        skb.nhoff = th
        skb.transportHeader = th + extlen
        return nil
    }

    /// `ipv6_destopt_rcv`.
    func ipv6_destopt_rcv(_ skb: SkBuff) -> PathEnd? {
        enter(.ipv6_destopt_rcv, skb)
        let th = skb.transportHeader
        guard skb.len >= th + 8, skb.len >= th + (Int(skb.data[th + 1]) + 1) * 8 else {
            snmp.ip6.InHdrErrors += 1
            return drop(.NOT_SPECIFIED, "destination options header truncated")
        }
        let extlen = (Int(skb.data[th + 1]) + 1) * 8
        if let end = ip6_parse_tlv(skb, hopByHop: false, maxCount: sysctl(.max_dst_opts_number)) {
            snmp.ip6.InHdrErrors += 1
            return end
        }
        skb.nhoff = th
        skb.transportHeader = th + extlen
        return nil
    }

    /// `ip6_parse_tlv`: padding at most 7 bytes in a row and all zero, at most `maxCount` other
    /// options (a negative count: unknown options are dropped silently), a router alert of
    /// length 2, a jumbo payload only with payload length 0; unknown ones by their action bits.
    func ip6_parse_tlv(_ skb: SkBuff, hopByHop: Bool, maxCount: Int) -> PathEnd? {
        let b = skb.data, nh = skb.networkHeader, th = skb.transportHeader
        let disallowUnknowns = maxCount < 0
        let maxCount = abs(maxCount)
        var off = th + 2
        var len = (Int(b[th + 1]) + 1) * 8 - 2
        var tlvCount = 0, padlen = 0
        let bad = { [unowned self] (why: String) -> PathEnd in self.drop(.IP_INHDR, why) }
        while len > 0 {
            if b[off] == 0 {
                padlen += 1
                if padlen > 7 { return bad("more than 7 bytes of padding in a row") }
                off += 1; len -= 1
                continue
            }
            if len < 2 { return bad("option at \(off - nh) overruns its header") }
            let optlen = Int(b[off + 1]) + 2
            if optlen > len { return bad("option at \(off - nh) overruns its header") }
            if b[off] == IPv6Option.padNType {
                padlen += optlen
                if padlen > 7 { return bad("more than 7 bytes of padding in a row") }
                if b[(off + 2)..<(off + optlen)].contains(where: { $0 != 0 }) { return bad("PadN with non-zero bytes (RFC 4942)") }
            } else {
                tlvCount += 1
                if tlvCount > maxCount { return bad("more than \(maxCount) options (net.ipv6.max_\(hopByHop ? "hbh" : "dst")_opts_number)") }
                if hopByHop && b[off] == IPv6Option.routerAlertType {
                    if b[off + 1] != 2 { return bad("router alert of length \(b[off + 1])") }
                } else if hopByHop && b[off] == IPv6Option.jumboType {
                    if let end = ipv6_hop_jumbo(skb, off) { return end }
                } else if let end = ip6_tlvopt_unknown(skb, off, disallowUnknowns: disallowUnknowns) {
                    return end
                }
                padlen = 0
            }
            off += optlen; len -= optlen
        }
        return nil
    }

    /// `ipv6_hop_jumbo`: a jumbo payload option must be 4 bytes at 4n+2, above 65535, with a zero
    /// payload length, and the packet must hold it.
    private func ipv6_hop_jumbo(_ skb: SkBuff, _ off: Int) -> PathEnd? {
        let b = skb.data, nh = skb.networkHeader
        guard b[off + 1] == 4, (off - nh) & 3 == 2 else { return drop(.IP_INHDR, "jumbo payload option of wrong length or alignment") }
        let pktLen = Int(b.be32(off + 2))
        if pktLen <= 65535 {
            icmp6_send(skb, type: ICMPv6Repr.parameterProblem, code: 0, info: UInt32(off + 2 - nh))
            return drop(.IP_INHDR, "jumbo payload length \(pktLen) is not above 65535")
        }
        if b.be16(nh + 4) != 0 {
            icmp6_send(skb, type: ICMPv6Repr.parameterProblem, code: 0, info: UInt32(off - nh))
            return drop(.IP_INHDR, "jumbo payload option with a non-zero payload length")
        }
        return drop(.PKT_TOO_SMALL, "jumbo payload of \(pktLen) bytes exceeds the \(skb.len - nh - 40) received")
    }

    /// `ip6_tlvopt_unknown`: the top two bits of the type say what to do (RFC 8200 4.2): skip;
    /// drop; drop with parameter problem (code 2) pointing at it; the same unless the
    /// destination is multicast.
    private func ip6_tlvopt_unknown(_ skb: SkBuff, _ off: Int, disallowUnknowns: Bool) -> PathEnd? {
        let type = skb.data[off]
        if disallowUnknowns { return drop(.UNHANDLED_PROTO, "unknown option 0x\(String(type, radix: 16)) (unknown options disallowed)") }
        switch type >> 6 {
        case 0: return nil
        case 1: return drop(.UNHANDLED_PROTO, "unknown option 0x\(String(type, radix: 16)) says discard")
        case 3 where IPv6Address(array: skb.data, at: skb.networkHeader + 24).isMulticast:
            return drop(.UNHANDLED_PROTO, "unknown option 0x\(String(type, radix: 16)) says discard (no ICMPv6 to a multicast destination)")
        default:
            icmp6_send(skb, type: ICMPv6Repr.parameterProblem, code: 2, info: UInt32(off - skb.networkHeader))
            return drop(.UNHANDLED_PROTO, "unknown option 0x\(String(type, radix: 16)) says discard and report")
        }
    }

    /// `ipv6_rthdr_rcv`: a routing header with no segments left is passed over; with segments left
    /// its type must be one this host processes: type 0 is deprecated (RFC 5095) and, like any
    /// unknown type, gets parameter problem (code 0) pointing at the type; segment routing (4) and
    /// RPL (3) are dropped while seg6_enabled/rpl_seg_enabled are 0 (their defaults).
    func ipv6_rthdr_rcv(_ skb: SkBuff) -> PathEnd? {
        enter(.ipv6_rthdr_rcv, skb)
        let b = skb.data, nh = skb.networkHeader, th = skb.transportHeader
        guard skb.len >= th + 8, skb.len >= th + (Int(b[th + 1]) + 1) * 8 else {
            snmp.ip6.InHdrErrors += 1
            return drop(.NOT_SPECIFIED, "routing header truncated")
        }
        if IPv6Address(array: b, at: nh + 24).isMulticast || skb.pktType != .host {
            snmp.ip6.InAddrErrors += 1
            return drop(.NOT_SPECIFIED, "routing header in a packet to a multicast address")
        }
        let type = b[th + 2], left = b[th + 3]
        if type == 4 || type == 3 {
            return drop(.NOT_SPECIFIED, "\(type == 4 ? "segment routing" : "RPL") header while net.ipv6.conf.*.\(type == 4 ? "seg6_enabled" : "rpl_seg_enabled") is 0")
        }
        if left == 0 {
            skb.nhoff = th
            skb.transportHeader = th + (Int(b[th + 1]) + 1) * 8
            return nil
        }
        snmp.ip6.InHdrErrors += 1
        icmp6_send(skb, type: ICMPv6Repr.parameterProblem, code: 0, info: UInt32(th + 2 - nh))
        return drop(.NOT_SPECIFIED, "routing header type \(type) with \(left) segments left")
    }
}
