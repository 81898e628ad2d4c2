import Wire

// net/ipv4/icmp.c
extension Stack {
    /// `icmp_rcv`: checksum, type range, broadcast echo, then the per-type handler.
    func icmp_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.icmp_rcv, skb)
        snmp.icmp.InMsgs += 1
        let th = skb.transportHeader
        let len = skb.len - th
        if Checksum.compute(skb.data, from: th, count: len) != 0 {
            snmp.icmp.InCsumErrors += 1
            snmp.icmp.InErrors += 1
            return drop(.ICMP_CSUM, "ICMP checksum does not verify")
        }
        guard len >= ICMPv4Packet.headerLength else {
            snmp.icmp.InErrors += 1
            return drop(.NOT_SPECIFIED, "\(len) bytes cannot hold an ICMP header")
        }
        let type = skb.data[th]
        guard type <= 18 else {
            snmp.icmp.InErrors += 1
            return drop(.UNHANDLED_PROTO, "ICMP type \(type) is above NR_ICMP_TYPES")
        }
        if type == ICMPv4Repr.echoRequest {
            snmp.icmp.InEchos += 1
            if isBroadcastRoute(skb) && sysctl(.icmp_echo_ignore_broadcasts) != 0 {
                return consume("broadcast echo ignored (icmp_echo_ignore_broadcasts)")
            }
            icmp_echo_reply(skb)
            return consume("echo request answered")
        }
        return consume("ICMP type \(type) handled")
    }
}
