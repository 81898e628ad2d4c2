/// The `packet:` part of `nft monitor trace` (nftables 1.0.6, `trace_print_packet`): the devices,
/// then the dumped headers as payload statements in each protocol's print order, fields nft filters
/// out (version, header length, fragment offset, checksums, TCP sequence numbers) left out, bytes
/// past the known fields as a raw `@nh`/`@th` value. Every statement is followed by a space.
/// Checked against the real nft's lines (Tests/APITests/Cases/nft_trace_*.txt).
public enum NFTraceText {
    /// `llEther`: the link header is Ethernet's; another device type's (lo's) nft prints as raw `@ll` bytes.
    public static func packet(family: String, iif: String?, oif: String?, ll: [UInt8], nh: [UInt8], th: [UInt8]?, ipv6: Bool, llEther: Bool = true) -> String {
        var out = ""
        var l4: UInt8? = nil
        func put(_ s: String) { out += s; out += " " }
        if let iif { put("iif \"\(iif)\"") }
        if let oif { put("oif \"\(oif)\"") }
        if !llEther, !ll.isEmpty {
            put(raw("ll", 0, ll))
        } else if ll.count >= 14 {
            // `ether type` is the network header's dependency: nft drops it.
            put("ether saddr \(mac(ll, 6))")
            put("ether daddr \(mac(ll, 0))")
            if ll.count >= 18, be16(ll, 12) == 0x8100 {
                let tci = be16(ll, 14)
                put("vlan pcp \(tci >> 13)")
                put("vlan dei \((tci >> 12) & 1)")
                put("vlan id \(tci & 0xfff)")
            }
        }
        // In the ip and ip6 families the transport header implies the protocol; nft drops it there.
        let impliedByFamily = family == "ip" || family == "ip6"
        if !ipv6, nh.count >= 20 {
            let p = nh[9]
            l4 = p
            put("ip saddr \(nh[12]).\(nh[13]).\(nh[14]).\(nh[15])")
            put("ip daddr \(nh[16]).\(nh[17]).\(nh[18]).\(nh[19])")
            put("ip dscp \(dscp(nh[1] >> 2))")
            put("ip ecn \(ecn(nh[1] & 3))")
            put("ip ttl \(nh[8])")
            put("ip id \(be16(nh, 4))")
            if !(impliedByFamily && th != nil && described(p)) { put("ip protocol \(NFConstants.protocolName(UInt64(p)))") }
            put("ip length \(be16(nh, 2))")
            if nh.count > 20 { put(raw("nh", 160, Array(nh[20...]))) }
        } else if ipv6, nh.count >= 40 {
            let p = nh[6]
            l4 = p
            put("ip6 saddr \(IPv6Text.text(u128(nh, 8)))")
            put("ip6 daddr \(IPv6Text.text(u128(nh, 24)))")
            let tc = UInt8((be16(nh, 0) >> 4) & 0xff)
            put("ip6 dscp \(dscp(tc >> 2))")
            put("ip6 ecn \(ecn(tc & 3))")
            put("ip6 hoplimit \(nh[7])")
            put("ip6 flowlabel \(UInt32(nh[1] & 0x0f) << 16 | UInt32(be16(nh, 2)))")
            if !(impliedByFamily && th != nil && described(p)) { put("ip6 nexthdr \(NFConstants.protocolName(UInt64(p)))") }
            put("ip6 length \(be16(nh, 4))")
            if nh.count > 40 { put(raw("nh", 320, Array(nh[40...]))) }
        }
        // nft decodes the transport header by the network header's protocol field (an IPv6
        // extension header's bytes come out raw), not by what the kernel found past them.
        guard let th, !th.isEmpty, let l4 else { return out }
        var used = 0
        switch l4 {
        case 17, 136 where th.count >= 8:
            let name = l4 == 17 ? "udp" : "udplite"
            put("\(name) sport \(be16(th, 0))")
            put("\(name) dport \(be16(th, 2))")
            put(l4 == 17 ? "udp length \(be16(th, 4))" : "udplite csumcov \(be16(th, 4))")
            used = 8
        case 6 where th.count >= 20:
            put("tcp sport \(be16(th, 0))")
            put("tcp dport \(be16(th, 2))")
            put("tcp flags == \(tcpFlags(th[13]))")
            put("tcp window \(be16(th, 14))")
            used = 20
        case 1 where th.count >= 8:
            put("icmp type \(name(UInt64(th[0]), NFConstants.icmpTypes.map { ($0.key, $0.value) }))")
            put("icmp code \(name(UInt64(th[1]), NFConstants.icmpCodes.map { ($0.key, $0.value) }))")
            put("icmp id \(be16(th, 4))")
            put("icmp sequence \(be16(th, 6))")
            used = 8
        case 132 where th.count >= 12:
            // The checksum is not printed; the chunks follow raw (recorded: sctp_set_1).
            put("sctp sport \(be16(th, 0))")
            put("sctp dport \(be16(th, 2))")
            put("sctp vtag \(UInt32(be16(th, 4)) << 16 | UInt32(be16(th, 6)))")
            used = 12
        case 58 where th.count >= 8:
            put("icmpv6 type \(name(UInt64(th[0]), NFConstants.icmp6TypeList))")
            put("icmpv6 code \(name(UInt64(th[1]), NFConstants.icmp6CodeList))")
            // nft's ICMPv6 template has parameter-problem (32 bits) first at offset 32.
            put("icmpv6 parameter-problem \(UInt32(be16(th, 4)) << 16 | UInt32(be16(th, 6)))")
            used = 8
        default:
            break
        }
        if th.count > used { put(raw("th", used * 8, Array(th[used...]))) }
        return out
    }

    /// Transport protocols nft 1.0.6 has a description for.
    static func described(_ p: UInt8) -> Bool { [1, 2, 6, 17, 33, 50, 51, 58, 108, 132, 136].contains(p) }

    static func be16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) << 8 | UInt16(b[o + 1]) }
    static func u128(_ b: [UInt8], _ o: Int) -> UInt128 { b[o..<(o + 16)].reduce(UInt128(0)) { $0 << 8 | UInt128($1) } }

    static func mac(_ b: [UInt8], _ o: Int) -> String {
        (o..<(o + 6)).map { String(b[$0], radix: 16).leftPad(2) }.joined(separator: ":")
    }

    static func dscp(_ v: UInt8) -> String {
        NFConstants.dscp.first { $0.value == UInt64(v) }?.key ?? "0x" + String(v, radix: 16).leftPad(2)
    }

    static func ecn(_ v: UInt8) -> String { NFConstants.ecn.first { $0.value == UInt64(v) }?.key ?? String(v) }

    static func name(_ v: UInt64, _ table: [(String, UInt64)]) -> String { table.first { $0.1 == v }?.0 ?? String(v) }

    /// A bitmask value: one flag by its name, several as a hex number.
    static func tcpFlags(_ v: UInt8) -> String {
        NFConstants.tcpFlags.first { $0.value == UInt64(v) }?.key ?? "0x" + String(v, radix: 16)
    }

    /// `@base,offset,length 0x...`: an integer, so without leading zeros.
    static func raw(_ base: String, _ offset: Int, _ bytes: [UInt8]) -> String {
        var hex = bytes.map { String($0, radix: 16).leftPad(2) }.joined()
        while hex.count > 1 && hex.hasPrefix("0") { hex.removeFirst() }
        return "@\(base),\(offset),\(bytes.count * 8) 0x\(hex)"
    }
}

private extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
