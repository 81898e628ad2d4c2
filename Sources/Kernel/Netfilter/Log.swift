import NFTables
import Wire

// net/netfilter/nf_log_syslog.c: the line `log` writes, as dmesg shows it.
extension Stack {
    /// `nf_log_packet`: for the kernel log, the line nf_log_ip_packet prints (prefix, IN=/OUT=, MAC=
    /// on input, then dump_ipv4_packet); with a group the packet goes to nflog listeners instead,
    /// and the trace keeps the prefix.
    func nf_log_packet(_ l: NFLog, _ skb: SkBuff, hook: NFHook, inDev: Int?, outDev: Int?) -> String {
        if l.group != nil { return l.prefix ?? "" }
        var m = (l.prefix ?? "") + "IN=\(inDev.map { devices[$0].name } ?? "") OUT=\(outDev.map { devices[$0].name } ?? "") "
        let b = skb.data, nh = skb.networkHeader
        if inDev != nil, nh >= 14 {
            // dump_mac_header: the Ethernet header as received (VLAN tags are already taken off).
            let proto = [UInt8(skb.protocolType >> 8), UInt8(skb.protocolType & 0xff)]
            if l.flags & NFLog.ether != 0 {
                m += "MACSRC=\(MACAddress(b[6], b[7], b[8], b[9], b[10], b[11])) MACDST=\(MACAddress(b[0], b[1], b[2], b[3], b[4], b[5])) "
                m += "MACPROTO=\(hex(proto)) "
            } else {
                m += "MAC=" + (Array(b[0..<12]) + proto).map { hex([$0]) }.joined(separator: ":") + " "
            }
        }
        if skb.protocolType == EtherType.ipv4 { m += dump_ipv4_packet(l, skb, at: nh, inner: false) }
        return m
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// `dump_ipv4_packet`: the IP header fields, then the transport's; an ICMP error's quoted
    /// header in brackets (one level deep, as the kernel dumps it).
    private func dump_ipv4_packet(_ l: NFLog, _ skb: SkBuff, at off: Int, inner: Bool) -> String {
        let b = skb.data, end = skb.len
        guard end - off >= 20 else { return "TRUNCATED=\(end - off) " }
        let ihl = Int(b[off] & 0x0f) * 4, frag = b.be16(off + 6), proto = b[off + 9]
        var m = "SRC=\(IPv4Address(raw: b.be32(off + 12))) DST=\(IPv4Address(raw: b.be32(off + 16))) "
        m += "LEN=\(b.be16(off + 2)) TOS=0x\(hex([b[off + 1] & 0x1e]).uppercased()) PREC=0x\(hex([b[off + 1] & 0xe0]).uppercased()) "
        m += "TTL=\(b[off + 8]) ID=\(b.be16(off + 4)) "
        if frag & 0x8000 != 0 { m += "CE " }
        if frag & 0x4000 != 0 { m += "DF " }
        if frag & 0x2000 != 0 { m += "MF " }
        let fragOff = frag & 0x1fff
        if fragOff != 0 { m += "FRAG:\(fragOff) " }
        if l.flags & NFLog.ipOptions != 0, ihl > 20, end - off >= ihl { m += "OPT (\(hex(Array(b[(off + 20)..<(off + ihl)])).uppercased())) " }
        let th = off + ihl
        switch proto {
        case IPProtocol.tcp:
            m += "PROTO=TCP "
            guard fragOff == 0 else { break }
            guard end - th >= 20 else { m += "INCOMPLETE [\(max(0, end - th)) bytes] "; return m }
            m += "SPT=\(b.be16(th)) DPT=\(b.be16(th + 2)) "
            if l.flags & NFLog.tcpSequence != 0 { m += "SEQ=\(b.be32(th + 4)) ACK=\(b.be32(th + 8)) " }
            m += "WINDOW=\(b.be16(th + 14)) RES=0x\(hex([(b[th + 12] & 0x0f) << 2])) "
            let f = b[th + 13]
            for (bit, name) in [(0x80, "CWR"), (0x40, "ECE"), (0x20, "URG"), (0x10, "ACK"), (0x08, "PSH"), (0x04, "RST"), (0x02, "SYN"), (0x01, "FIN")]
            where Int(f) & bit != 0 { m += name + " " }
            m += "URGP=\(b.be16(th + 18)) "
            let doff = Int(b[th + 12] >> 4) * 4
            if l.flags & NFLog.tcpOptions != 0, doff > 20, end - th >= doff { m += "OPT (\(hex(Array(b[(th + 20)..<(th + doff)])).uppercased())) " }
        case IPProtocol.udp:
            m += "PROTO=UDP "
            guard fragOff == 0 else { break }
            guard end - th >= 8 else { m += "INCOMPLETE [\(max(0, end - th)) bytes] "; return m }
            m += "SPT=\(b.be16(th)) DPT=\(b.be16(th + 2)) LEN=\(b.be16(th + 4)) "
        case IPProtocol.icmp:
            m += "PROTO=ICMP "
            guard fragOff == 0 else { break }
            guard end - th >= 4 else { m += "INCOMPLETE [\(max(0, end - th)) bytes] "; return m }
            let type = b[th], code = b[th + 1]
            m += "TYPE=\(type) CODE=\(code) "
            switch type {
            case 0, 8:
                guard end - th >= 8 else { m += "INCOMPLETE [\(end - th) bytes] "; return m }
                m += "ID=\(b.be16(th + 4)) SEQ=\(b.be16(th + 6)) "
            case 12:
                m += "PARAMETER=\(b[th + 4]) "
            case 5:
                m += "GATEWAY=\(IPv4Address(raw: b.be32(th + 4))) "
            case 3, 4, 11:
                // The quoted datagram, once: the kernel does not recurse into an error inside an error.
                if !inner { m += "[" + dump_ipv4_packet(l, skb, at: th + 8, inner: true) + "] " }
                if type == 3, code == 4 { m += "MTU=\(b.be16(th + 6)) " }
            default: break
            }
        default:
            m += "PROTO=\(proto) "
        }
        // The socket's UID is for local traffic only, and here no socket owns a packet on these hooks.
        if !inner, skb.mark != 0 { m += "MARK=0x\(String(skb.mark, radix: 16)) " }
        return m
    }
}
