import Wire

// net/ipv4/arp.c
extension Stack {
    /// `arp_rcv`: Ethernet/IPv4 ARP only; frames for other hosts are consumed, not dropped.
    func arp_rcv(_ skb: SkBuff) -> PathEnd {
        enter(.arp_rcv, skb)
        guard skb.len - skb.networkHeader >= ARPPacket.length else {
            return drop(.PKT_TOO_SMALL, "ARP packet shorter than 28 bytes")
        }
        if skb.pktType == .otherhost { return consume("ARP frame for another host") }
        return arp_process(skb)
    }

    /// `arp_process`: learn the sender when the request is for us (or update it when we already
    /// have an entry), answer requests for our addresses with `arp_send`.
    func arp_process(_ skb: SkBuff) -> PathEnd {
        enter(.arp_process, skb)
        let p = try! ARPPacket(checking: skb.data, at: skb.networkHeader)
        guard let arp = try? ARPRepr.parse(p) else { return drop(.NOT_SPECIFIED, "ARP is not Ethernet/IPv4") }
        guard !arp.targetIP.isMulticast, !arp.senderIP.isMulticast else { return drop(.NOT_SPECIFIED, "multicast address in ARP") }
        let dev = skb.dev
        let forUs = fib.lookup(arp.targetIP, src: arp.senderIP, iif: dev)?.type == .local
        // A request for us makes its sender's entry STALE (neigh_event_ns); a reply sent to us
        // confirms it (REACHABLE), a broadcast one only tells its MAC (STALE).
        if arp.operation == ARPRepr.request && forUs {
            if arp.senderIP != .any { neighbourResolved(arp.senderIP, dev: dev, mac: arp.senderMAC, state: .stale, by: skb) }
            arp_send(ARPRepr(operation: ARPRepr.reply, senderMAC: devices[dev].mac, senderIP: arp.targetIP,
                             targetMAC: arp.senderMAC, targetIP: arp.senderIP), dstMAC: arp.senderMAC, dev: dev, cause: skb)
            return consume("ARP request for our \(arp.targetIP): replied")
        }
        // Only a neighbour with an entry is updated (arp_accept 0: unsolicited ARP creates none,
        // recorded on this kernel, scripts/record_arp_locktime.py).
        if let known = neighbours.lookup(arp.senderIP, dev: dev) {
            let state: NUDState = arp.operation == ARPRepr.reply && skb.pktType == .host ? .reachable : .stale
            // Another MAC within the locktime of the entry's last change is ignored, unless the
            // frame is gratuitous (arp_is_garp: sender and target address the same, not ours, and
            // for a reply the target MAC the sender's).
            let garp = arp.senderIP == arp.targetIP && (arp.operation != ARPRepr.reply || arp.targetMAC == arp.senderMAC)
                && fib.lookup(arp.senderIP)?.type != .local
            let override = clockNs > known.updatedNs &+ NeighbourTable<IPv4Address>.locktimeNs || garp
            neighbourResolved(arp.senderIP, dev: dev, mac: arp.senderMAC, state: state, how: override ? .override : .keep, by: skb)
            return consume("neighbour \(arp.senderIP) is at \(arp.senderMAC)")
        }
        return consume("ARP \(arp.operation == ARPRepr.reply ? "reply" : "request") not for us")
    }

    /// `arp_send` → `arp_xmit`: an ARP frame through the device's qdisc (`dev_queue_xmit`), as
    /// the kernel sends it; `cause` is the packet whose trace it belongs to (none for a timer's).
    func arp_send(_ a: ARPRepr, dstMAC: MACAddress, dev: Int, cause: SkBuff?) {
        if let cause { enter(.arp_send, cause) }
        let f = FrameRepr(ethernet: EthernetRepr(dst: dstMAC, src: devices[dev].mac, ethertype: EtherType.arp), network: .arp(a)).emit()
        let skb = SkBuff(frame: f, dev: dev, packet: cause?.packet ?? -1)
        skb.networkHeader = 14; skb.protocolType = EtherType.arp; skb.generated = true
        skb.cpu = cause?.cpu ?? devices[dev].tx.cpu
        // A timer's request goes at the timer's time.
        if cause == nil && clocks[skb.cpu] < clockNs { clocks[skb.cpu] = clockNs }
        let end = dev_queue_xmit(skb, dev: dev, dstMAC: dstMAC, outcome: .transmitted)
        if case .stolen = end {} else { finish(skb, end) }
    }

    /// `arp_solicit`: who-has for a next hop, from the device's address on that network; to all,
    /// or (NUD probing) to the neighbour's own MAC.
    func arp_solicit(_ target: IPv4Address, dev: Int, to mac: MACAddress? = nil, cause: SkBuff?) {
        arp_send(ARPRepr(operation: ARPRepr.request, senderMAC: devices[dev].mac, senderIP: inet_select_addr(dev, target), targetMAC: .zero, targetIP: target),
                 dstMAC: mac ?? .broadcast, dev: dev, cause: cause)
    }
}
