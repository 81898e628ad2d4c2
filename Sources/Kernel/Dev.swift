import Wire

// net/ethernet/eth.c and net/core/dev.c: from the driver to the protocol handler.
extension Stack {
    /// `eth_type_trans`: classify the frame by destination MAC (pkt_type) and read the EtherType.
    func eth_type_trans(_ skb: SkBuff) -> PathEnd {
        enter(.eth_type_trans, skb)
        let dev = devices[skb.dev]
        guard skb.len >= EthernetFrame.headerLength else {
            // Drivers drop runts before the stack sees them and count a length error.
            dev.stats.rx_length_errors += 1
            dev.stats.rx_dropped += 1
            return .drop(.PKT_TOO_SMALL, "frame of \(skb.len) bytes is shorter than an Ethernet header")
        }
        dev.stats.rx_packets += 1
        dev.stats.rx_bytes += skb.len
        let dst = MACAddress(array: skb.data, at: 0)
        if dst.isMulticast {
            skb.pktType = dst.isBroadcast ? .broadcast : .multicast
        } else if dst != dev.mac {
            skb.pktType = .otherhost
        }
        skb.protocolType = UInt16(skb.data[12]) << 8 | UInt16(skb.data[13])
        skb.networkHeader = EthernetFrame.headerLength
        return netif_receive_skb(skb)
    }

    /// `netif_receive_skb`: the entry from NAPI into the core (RPS and backlog come with the RX issue).
    func netif_receive_skb(_ skb: SkBuff) -> PathEnd {
        enter(.netif_receive_skb, skb)
        return __netif_receive_skb_core(skb)
    }

    /// `__netif_receive_skb_core`: untag VLANs, then hand the skb to the handler of its protocol.
    func __netif_receive_skb_core(_ skb: SkBuff) -> PathEnd {
        enter(.__netif_receive_skb_core, skb)
        if skb.protocolType == EtherType.vlan {
            guard let tag = try? VLANTagRepr.parse(Array(skb.data[0..<skb.len]), at: skb.networkHeader) else {
                return .drop(.NOT_SPECIFIED, "802.1Q tag truncated (skb_vlan_untag)")
            }
            skb.vlanID = tag.vid
            skb.protocolType = tag.innerEthertype
            skb.networkHeader += VLANTagRepr.length
            // vlan_do_receive: no VLAN device carries this tag, so a non-zero VID is someone else's.
            if tag.vid != 0 { skb.pktType = .otherhost }
        }
        switch skb.protocolType {
        case EtherType.ipv4: return ip_rcv(skb)
        case EtherType.arp: return arp_rcv(skb)
        default:
            devices[skb.dev].stats.rx_nohandler += 1
            return .drop(.UNHANDLED_PROTO, "no packet handler for EtherType 0x\(String(skb.protocolType, radix: 16))")
        }
    }
}
