import Wire

// net/ipv4/icmp.c, the receive side (what each type does recorded: scripts/record_icmp_input.py)
extension Stack {
    /// `icmp_rcv`: checksum, the message counted by type (IcmpMsg), what a broadcast or multicast
    /// may be, echo replies to ping sockets, the type range, then the type's handler.
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
        snmp.icmp.countIn(type)
        // ICMP_EXT_ECHO (PROBE): icmp_build_probe answers only with icmp_echo_enable_probe, which is 0.
        if type == 42 { return consume("extended echo (PROBE) not answered: icmp_echo_enable_probe is 0") }
        if isBroadcastRoute(skb) {
            // RFC 1122 3.2.2.6/3.2.2.8: a broadcast echo or timestamp is ignored by sysctl; other
            // types but address masks may not be broadcast at all.
            if (type == ICMPv4Repr.echoRequest || type == 13) && sysctl(.icmp_echo_ignore_broadcasts) != 0 {
                snmp.icmp.InErrors += 1
                return drop(.INVALID_PROTO, "broadcast ICMP type \(type) ignored (icmp_echo_ignore_broadcasts)")
            }
            if ![ICMPv4Repr.echoRequest, 13, 17, 18].contains(type) {
                snmp.icmp.InErrors += 1
                return drop(.INVALID_PROTO, "ICMP type \(type) to a broadcast or multicast address")
            }
        }
        // ping_rcv: echo replies belong to ping sockets, which the model does not have.
        if type == ICMPv4Repr.echoReply || type == 43 { return drop(.NO_SOCKET, "no ping socket for the echo reply (ping_rcv)") }
        guard type <= 18 else {
            snmp.icmp.InErrors += 1
            return drop(.UNHANDLED_PROTO, "ICMP type \(type) is above NR_ICMP_TYPES")
        }
        switch type {
        case ICMPv4Repr.echoRequest:
            icmp_echo_reply(skb)
            return consume("echo request answered")
        case 13:
            // icmp_timestamp: the originate time must be there.
            guard len >= ICMPv4Packet.headerLength + 4 else {
                snmp.icmp.InErrors += 1
                return drop(.PKT_TOO_SMALL, "timestamp request without its originate time")
            }
            icmp_timestamp(skb)
            return consume("timestamp request answered")
        case ICMPv4Repr.destUnreachable, 4, ICMPv4Repr.timeExceeded, 12: return icmp_unreach(skb, type: type)
        case 5: return icmp_redirect(skb)
        default: return consume("ICMP type \(type) discarded (icmp_discard)")
        }
    }

    /// `icmp_unreach` (destination unreachable, source quench, time exceeded, parameter problem):
    /// the quoted IP header checked, then the error passed to the quoted packet's protocol.
    private func icmp_unreach(_ skb: SkBuff, type: UInt8) -> PathEnd {
        let th = skb.transportHeader, b = skb.data
        let quote = th + ICMPv4Packet.headerLength
        guard skb.len - quote >= 20 else {
            snmp.icmp.InErrors += 1
            return drop(.NOT_SPECIFIED, "the quoted IP header is cut short (\(skb.len - quote) bytes)")
        }
        guard b[quote] & 0x0f >= 5 else {
            snmp.icmp.InErrors += 1
            return drop(.IP_INHDR, "the quoted IP header length is \(Int(b[quote] & 0x0f) * 4)")
        }
        let code = b[th + 1]
        // Codes above NR_ICMP_UNREACH, and reassembly timeouts, go no further.
        if type == ICMPv4Repr.destUnreachable && code > 15 { return consume("destination unreachable code \(code) is above NR_ICMP_UNREACH") }
        if type == ICMPv4Repr.timeExceeded && code == 1 { return consume("fragment reassembly time exceeded: not passed on") }
        return icmp_socket_deliver(skb, type: type)
    }

    /// `icmp_redirect`: the quoted header must be there; then, as for other errors, its socket.
    private func icmp_redirect(_ skb: SkBuff) -> PathEnd {
        guard skb.len - skb.transportHeader - ICMPv4Packet.headerLength >= 20 else {
            snmp.icmp.InErrors += 1
            return drop(.PKT_TOO_SMALL, "redirect without the quoted IP header")
        }
        return icmp_socket_deliver(skb, type: 5)
    }

    /// `icmp_socket_deliver`: the quoted header and 8 bytes of its transport header must be there;
    /// the error goes to the protocol's error handler, which looks for the socket that sent the
    /// quoted packet (udp_err, tcp_v4_err: none is an InErrors).
    private func icmp_socket_deliver(_ skb: SkBuff, type: UInt8) -> PathEnd {
        let quote = skb.transportHeader + ICMPv4Packet.headerLength, b = skb.data
        let ihl = Int(b[quote] & 0x0f) * 4
        guard skb.len - quote >= ihl + 8 else {
            snmp.icmp.InErrors += 1
            return consume("the quoted packet lacks 8 bytes of its transport header")
        }
        let src = IPv4Address(raw: b.be32(quote + 12)), dst = IPv4Address(raw: b.be32(quote + 16))
        let sport = b.be16(quote + ihl), dport = b.be16(quote + ihl + 2)
        let found: Bool
        switch b[quote + 9] {
        case IPProtocol.udp: found = sockets.lookup(.udp, dst: src, port: sport) != nil
        case IPProtocol.tcp: found = sockets.conn(TCPKey(local: src, lport: sport, remote: dst, rport: dport)) != nil
        // icmp_err: a quoted echo goes to ping sockets (none here); other protocols have no handler.
        default: return consume("ICMP type \(type) quoting protocol \(b[quote + 9]): no socket takes it")
        }
        guard found else {
            snmp.icmp.InErrors += 1
            return consume("ICMP type \(type): no socket sent the quoted packet (\(src):\(sport) > \(dst):\(dport))")
        }
        return consume("ICMP type \(type) for the socket of \(src):\(sport); what it does there (socket errors, path MTU, redirects) is not modelled yet")
    }
}
