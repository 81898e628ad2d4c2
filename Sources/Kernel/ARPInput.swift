import Wire

// net/ipv4/arp.c
extension Stack {
    /// `arp_rcv`: Ethernet/IPv4 ARP only; frames for other hosts are consumed, not dropped.
    func arp_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.arp_rcv, skb)
        guard skb.len - skb.networkHeader >= ARPPacket.length else {
            return .drop(.PKT_TOO_SMALL, "ARP packet shorter than 28 bytes")
        }
        if skb.pktType == .otherhost { return .consume("ARP frame for another host") }
        let p = try! ARPPacket(checking: skb.data, at: skb.networkHeader)
        guard let arp = try? ARPRepr.parse(p) else { return .drop(.NOT_SPECIFIED, "ARP is not Ethernet/IPv4") }
        if arp.operation == ARPRepr.request && fib.isLocal(arp.targetIP) {
            return .consume("ARP request for our \(arp.targetIP) (the reply and the neighbour table are due with the RX issue)")
        }
        return .consume("ARP \(arp.operation == ARPRepr.reply ? "reply" : "request") not for us")
    }
}
