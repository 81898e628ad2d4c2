import NFTables
import Wire

// net/netfilter/nft_payload.c (nft_payload_set_eval) and nft_exthdr.c (nft_exthdr_tcp_set_eval):
// header fields written by `set` statements, with the checksums fixed as the kernel fixes them.
extension Stack {
    /// Writes `value` into the field `sel`; false is NFT_BREAK (the rest of the rule does not run):
    /// another protocol than the rule's dependency (an IPv4 field of an IPv6 packet, or the other
    /// way), a later fragment, or a packet too short. The IPv6 header has no checksum.
    func nft_payload_set_eval(_ sel: NFSelector, _ value: UInt64, _ skb: SkBuff, _ p: PktInfo) -> Bool {
        if let o = sel.tcpOption { return nft_exthdr_tcp_set_eval(o, value, skb, p) }
        guard let w = sel.payloadWrite else { return false }
        if w.base == .link { return nft_payload_set_ll(w, vlan: sel.isVLAN, value, skb, p) }
        guard p.ipv4 || p.ipv6 else { return false }
        if w.base == .network, (sel.payload?.ipv6 ?? false) != p.ipv6 { return false }
        // The rule's dependency (`meta l4proto udp` before `udp dport set`) fails for other protocols.
        if let want = sel.payload?.l4proto, p.proto != want { return false }
        let base: Int
        switch w.base {
        case .network: base = p.nh
        case .transport:
            guard p.fragOff == 0 else { return false }
            base = p.th
        case .link, .inner: return false
        }
        let off = base + w.byteOffset
        guard off + w.size <= p.len else { return false }
        var old: UInt64 = 0
        for k in off..<(off + w.size) { old = old << 8 | UInt64(skb.data[k]) }
        let new = old & ~w.mask | (value << UInt64(w.shift)) & w.mask
        // The checksum is fixed from the old and new words before they are stored; a transport
        // header the device is to checksum (CHECKSUM_PARTIAL) is left to it.
        if let csum = w.csumOffset, w.base == .network || skb.csumPartialOffset == nil {
            let at = base + csum
            guard at + 2 <= p.len else { return false }
            skb.data.setBE16(at, nft_csum_replace(skb.data.be16(at), old: old, new: new, size: w.size))
            if w.pseudoHeader { nft_payload_l4csum_update(skb, p, old: old, new: new, size: w.size) }
        }
        for k in 0..<w.size { skb.data[off + k] = UInt8(truncatingIfNeeded: new >> UInt64(8 * (w.size - 1 - k))) }
        // nft_payload_csum_sctp: the whole packet's CRC32c again, unless the device is to fill it in.
        if w.sctp, skb.csumPartialOffset == nil, base + 12 <= p.len { CRC32c.setSCTP(&skb.data, offset: base, end: p.len) }
        return true
    }

    /// A link-layer field written (`ether saddr set ...`): into the MAC header, where there is one
    /// (not yet on what the stack sends before `__dev_queue_xmit`: NFT_BREAK); no checksum covers it.
    /// Where the stack took a VLAN tag off, the bytes past the addresses skip it, as reads do.
    /// At ingress the tag is still the skb's (vlan_tci, shown inline here): nft_payload_set_vlan
    /// takes the TPID (`ether type set`) and the TCI (`vlan id set`) as whole words only, so a
    /// write of part of the TCI (`vlan pcp|dei set`) breaks the rule; past it (`vlan type set`)
    /// is the frame's own header (recorded: scripts/record_vlan_set.sh).
    private func nft_payload_set_ll(_ w: NFPayloadWrite, vlan: Bool, _ value: UInt64, _ skb: SkBuff, _ p: PktInfo) -> Bool {
        guard let (base, skip) = macHeader(skb, p) else { return false }
        // The vlan fields' dependency: `ether type 8021q` (as readField reads it).
        if vlan, base + 18 + skip > p.len || skb.data.be16(base + 12 + skip) != EtherType.vlan { return false }
        let tagged = skb.vlanTagged && skip == 0
        if tagged, w.byteOffset + w.size > 12, w.byteOffset < 16 {
            switch (w.byteOffset, w.size) {
            case (12, 2), (12, 4), (14, 2): break
            default: return false
            }
        }
        defer { if tagged { skb.vlanID = skb.data.be16(base + 14) & 0x0fff } }
        let off = base + w.byteOffset
        guard off + w.size + skip <= p.len else { return false }
        var old: UInt64 = 0
        for k in off..<(off + w.size) { old = old << 8 | UInt64(skb.data[k - base >= 12 ? k + skip : k]) }
        let new = old & ~w.mask | (value << UInt64(w.shift)) & w.mask
        for k in 0..<w.size {
            let at = off + k - base >= 12 ? off + k + skip : off + k
            skb.data[at] = UInt8(truncatingIfNeeded: new >> UInt64(8 * (w.size - 1 - k)))
        }
        return true
    }

    /// An IPv6 address written (`ip6 saddr set ...`): no header checksum, but the address is in the
    /// L4 pseudo-header, so the TCP or UDP checksum moves with it (recorded:
    /// scripts/record_payload_set6.sh, the CHECKSUM_PARTIAL sum moved by the difference).
    func nft_payload_set_eval6(_ sel: NFSelector, _ value: UInt128, _ skb: SkBuff, _ p: PktInfo) -> Bool {
        guard p.ipv6, let f = sel.payload, f.ipv6 else { return false }
        let off = p.nh + f.bitOffset / 8
        guard off + 16 <= p.len else { return false }
        let old = IPv6Address(array: skb.data, at: off).raw
        for (o, n) in [(old >> 64, value >> 64), (old & UInt128(UInt64.max), value & UInt128(UInt64.max))] {
            nft_payload_l4csum_update(skb, p, old: UInt64(o), new: UInt64(n), size: 8)
        }
        for k in 0..<16 { skb.data[off + k] = UInt8(truncatingIfNeeded: value >> UInt128(8 * (15 - k))) }
        return true
    }

    /// `nft_csum_replace`: RFC 1624 over the changed 16-bit words; a result of 0 is stored as
    /// 0xffff (CSUM_MANGLED_0), as for UDP.
    private func nft_csum_replace(_ check: UInt16, old: UInt64, new: UInt64, size: Int) -> UInt16 {
        let c = csumReplace(check, old: old, new: new, size: size)
        return c == 0 ? 0xffff : c
    }

    /// RFC 1624 over each changed 16-bit word of a `size`-byte field (inet_proto_csum_replace2/4).
    private func csumReplace(_ check: UInt16, old: UInt64, new: UInt64, size: Int) -> UInt16 {
        var c = check
        for k in stride(from: size - 2, through: 0, by: -2) {
            c = Checksum.update(c, old: UInt16(truncatingIfNeeded: old >> UInt64(8 * k)), new: UInt16(truncatingIfNeeded: new >> UInt64(8 * k)))
        }
        return c
    }

    /// `nft_payload_l4csum_update`: an address (or protocol, length) of the pseudo-header changed,
    /// so the TCP or UDP checksum changes with it; not for later fragments or a UDP datagram
    /// without a checksum.
    private func nft_payload_l4csum_update(_ skb: SkBuff, _ p: PktInfo, old: UInt64, new: UInt64, size: Int) {
        guard p.fragOff == 0 else { return }
        let at: Int
        switch p.proto {
        case IPProtocol.tcp: at = p.th + 16
        case IPProtocol.udp:
            guard p.th + 8 <= p.len, skb.data.be16(p.th + 6) != 0 else { return }
            at = p.th + 6
        case 136: at = p.th + 6   // UDP-Lite
        default: return
        }
        guard at + 2 <= p.len else { return }
        let sum = skb.data.be16(at)
        if skb.csumPartialOffset == nil {
            skb.data.setBE16(at, nft_csum_replace(sum, old: old, new: new, size: size))
        } else {
            // CHECKSUM_PARTIAL holds the pseudo-header sum itself, not its complement.
            skb.data.setBE16(at, ~csumReplace(~sum, old: old, new: new, size: size))
        }
    }

    /// `nft_exthdr_tcp_strip_eval` (`reset tcp option`): the first option of the kind becomes NOPs,
    /// the TCP checksum fixed byte by byte unless the device is to compute it; no such option
    /// leaves the packet as it is. Nil is NFT_BREAK (not TCP, a later fragment, a short header);
    /// false an option running past the header, which the kernel drops (it cannot remove it).
    func nft_exthdr_tcp_strip_eval(_ kind: UInt8, _ skb: SkBuff, _ p: PktInfo) -> Bool? {
        guard let found = tcpOption(kind, skb, p) else { return nil }
        guard case .found(let at, let optl) = found else { return found == .absent }
        for j in 0..<optl {
            // Each byte is half of a 16-bit word of the header: high at an even offset.
            let even = (at - p.th + j) % 2 == 0
            let old = UInt16(skb.data[at + j]) << (even ? 8 : 0), new = UInt16(1) << (even ? 8 : 0)
            if skb.csumPartialOffset == nil { skb.data.setBE16(p.th + 16, Checksum.update(skb.data.be16(p.th + 16), old: old, new: new)) }
            skb.data[at + j] = 1   // TCPOPT_NOP
        }
        return true
    }

    /// `nft_exthdr_tcp_set_eval`: the first option of the kind; an MSS is only ever lowered
    /// (raising it could stall the connection); the TCP checksum is fixed unless the device is to
    /// compute it. No such option: nothing happens.
    private func nft_exthdr_tcp_set_eval(_ o: (kind: UInt8, bitOffset: Int, bitLength: Int), _ value: UInt64, _ skb: SkBuff, _ p: PktInfo) -> Bool {
        guard p.ipv4, let found = tcpOption(o.kind, skb, p) else { return false }
        guard case .found(let at, let optl) = found else { return found == .absent }
        let width = o.bitLength / 8, field = o.bitOffset / 8
        guard field + width <= optl else { return false }
        let off = at + field
        var old: UInt64 = 0
        for k in off..<(off + width) { old = old << 8 | UInt64(skb.data[k]) }
        let new = value & (width == 2 ? 0xffff : 0xffff_ffff)
        if o.kind == 2 && old <= new { return true }   // TCPOPT_MSS
        if old == new { return true }
        for k in 0..<width { skb.data[off + k] = UInt8(truncatingIfNeeded: new >> UInt64(8 * (width - 1 - k))) }
        if skb.csumPartialOffset == nil {
            // inet_proto_csum_replace2/4: no CSUM_MANGLED_0 here.
            skb.data.setBE16(p.th + 16, csumReplace(skb.data.be16(p.th + 16), old: old, new: new, size: width))
        }
        return true
    }

    enum TCPOptionSearch: Equatable { case found(at: Int, length: Int), absent, pastHeader }

    /// The first TCP option of `kind`, walked as nft_exthdr.c walks them (a NOP, EOL or zero length
    /// counts one byte): where it is in the packet and its length, or that there is none, or that it
    /// runs past the header. Nil: not TCP, a later fragment, or a header the packet does not hold.
    private func tcpOption(_ kind: UInt8, _ skb: SkBuff, _ p: PktInfo) -> TCPOptionSearch? {
        guard p.proto == IPProtocol.tcp, p.fragOff == 0, p.th + 20 <= p.len else { return nil }
        let hdrLen = Int(skb.data[p.th + 12] >> 4) * 4
        guard hdrLen >= 20, p.th + hdrLen <= p.len else { return nil }
        var i = 20
        while i < hdrLen - 1 {
            let at = p.th + i
            let optl = skb.data[at] <= 1 || skb.data[at + 1] == 0 ? 1 : Int(skb.data[at + 1])
            if skb.data[at] == kind { return i + optl <= hdrLen ? .found(at: at, length: optl) : .pastHeader }
            i += optl
        }
        return .absent
    }
}
