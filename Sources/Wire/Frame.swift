/// The transport part of an IPv4 or IPv6 packet.
public enum TransportRepr: Equatable, Sendable {
    case udp(UDPRepr)
    case tcp(TCPRepr)
    case icmp(ICMPv4Repr)
    case icmpv6(ICMPv6Repr)
    /// A protocol this module does not dissect, or a non-first fragment: the raw payload.
    case raw([UInt8])

    public var bufferLength: Int {
        switch self {
        case .udp(let u): u.bufferLength
        case .tcp(let t): t.bufferLength
        case .icmp(let i): i.bufferLength
        case .icmpv6(let i): i.bufferLength
        case .raw(let r): r.count
        }
    }

    /// Writes the transport at `o`, its checksum over `pseudo` (ICMPv4 has none).
    func emit(into b: inout [UInt8], at o: Int, pseudo: PseudoHeader) {
        switch self {
        case .udp(let u): u.emit(into: &b, at: o, pseudo: pseudo)
        case .tcp(let t): t.emit(into: &b, at: o, pseudo: pseudo)
        case .icmp(let i): i.emit(into: &b, at: o)
        case .icmpv6(let i): i.emit(into: &b, at: o, pseudo: pseudo)
        case .raw(let r): for (k, x) in r.enumerated() { b[o + k] = x }
        }
    }

    /// Dissects `len` bytes at `o` as protocol `proto`; unknown protocols stay raw.
    static func parse(_ bytes: [UInt8], at o: Int, length len: Int, proto: UInt8, pseudo: PseudoHeader,
                      verifyChecksums: Bool) throws(WireError) -> TransportRepr {
        switch proto {
        case IPProtocol.udp:
            let u = try UDPPacket(checking: bytes, at: o)
            let repr = try UDPRepr.parse(u, ipPayloadLength: len, pseudo: pseudo, verifyChecksum: verifyChecksums)
            guard repr.bufferLength == len else { throw .malformed("UDP length \(repr.bufferLength) differs from IP payload \(len)") }
            return .udp(repr)
        case IPProtocol.tcp:
            let t = try TCPPacket(checking: bytes, at: o)
            return .tcp(try TCPRepr.parse(t, length: len, pseudo: pseudo, verifyChecksum: verifyChecksums))
        case IPProtocol.icmp where !pseudo.isIPv6:
            let i = try ICMPv4Packet(checking: bytes, at: o, length: len)
            return .icmp(try ICMPv4Repr.parse(i, verifyChecksum: verifyChecksums))
        case IPProtocol.icmpv6 where pseudo.isIPv6:
            return .icmpv6(try ICMPv6Repr.parse(bytes, at: o, length: len, pseudo: pseudo, verifyChecksum: verifyChecksums))
        default:
            return .raw(Array(bytes[o..<(o + len)]))
        }
    }
}

/// The network part of an Ethernet frame.
public enum NetworkRepr: Equatable, Sendable {
    case ipv4(IPv4Repr, TransportRepr)
    /// The fixed header, the extension headers in order, and what follows them.
    case ipv6(IPv6Repr, [IPv6ExtensionHeader], TransportRepr)
    case arp(ARPRepr)
    case raw([UInt8])
}

/// A whole Ethernet frame, dissected: used to build frames from JSON layers and to fuzz the parsers.
public struct FrameRepr: Equatable, Sendable {
    public var ethernet: EthernetRepr
    public var vlan: VLANTagRepr?
    public var network: NetworkRepr
    /// Bytes after the IP datagram (Ethernet padding), kept so round trips are byte-exact.
    public var trailer: [UInt8]

    public init(ethernet: EthernetRepr, vlan: VLANTagRepr? = nil, network: NetworkRepr, trailer: [UInt8] = []) {
        self.ethernet = ethernet; self.vlan = vlan; self.network = network; self.trailer = trailer
    }

    /// Dissects every layer, validating lengths and (optionally) checksums. Never traps.
    public static func parse(_ bytes: [UInt8], verifyChecksums: Bool = true) throws(WireError) -> FrameRepr {
        let eth = EthernetRepr.parse(try EthernetFrame(checking: bytes))
        var offset = EthernetFrame.headerLength
        var vlan: VLANTagRepr? = nil
        var type = eth.ethertype
        if type == EtherType.vlan {
            let tag = try VLANTagRepr.parse(bytes, at: offset)
            vlan = tag; type = tag.innerEthertype; offset += VLANTagRepr.length
        }
        switch type {
        case EtherType.ipv4:
            let p = try IPv4Packet(checking: bytes, at: offset)
            let ip = try IPv4Repr.parse(p, verifyChecksum: verifyChecksums)
            let l4Off = offset + ip.headerLength
            let l4Len = ip.payloadLength
            let l4: TransportRepr
            if ip.fragmentOffset != 0 || ip.moreFragments {
                l4 = .raw(Array(bytes[l4Off..<(l4Off + l4Len)]))
            } else {
                l4 = try TransportRepr.parse(bytes, at: l4Off, length: l4Len, proto: ip.proto, pseudo: .v4(ip.src, ip.dst), verifyChecksums: verifyChecksums)
            }
            let end = offset + ip.headerLength + ip.payloadLength
            return FrameRepr(ethernet: eth, vlan: vlan, network: .ipv4(ip, l4), trailer: Array(bytes[end...]))
        case EtherType.ipv6:
            let ip = try IPv6Repr.parse(try IPv6Packet(checking: bytes, at: offset))
            let end = offset + IPv6Packet.headerLength + ip.payloadLength
            var o = offset + IPv6Packet.headerLength
            var next = ip.nextHeader
            var exts: [IPv6ExtensionHeader] = []
            var fragmented = false
            // The chain ends at the upper layer, at "no next header", or after a fragment header
            // that is not a whole datagram (what follows belongs to the reassembled packet).
            while IPv6ExtensionHeader.isWalkable(next) && !fragmented {
                let h = try IPv6ExtensionHeader.parse(bytes, at: o, end: end, kind: next)
                if case .fragment(let off, let more, _, _) = h.body, off != 0 || more { fragmented = true }
                exts.append(h); o += h.bufferLength; next = h.nextHeader
            }
            let l4: TransportRepr = fragmented || next == IPProtocol.noNextHeader
                ? .raw(Array(bytes[o..<end]))
                : try TransportRepr.parse(bytes, at: o, length: end - o, proto: next, pseudo: ip.pseudoHeader(after: exts), verifyChecksums: verifyChecksums)
            return FrameRepr(ethernet: eth, vlan: vlan, network: .ipv6(ip, exts, l4), trailer: Array(bytes[end...]))
        case EtherType.arp:
            let a = try ARPRepr.parse(try ARPPacket(checking: bytes, at: offset))
            return FrameRepr(ethernet: eth, vlan: vlan, network: .arp(a), trailer: Array(bytes[(offset + ARPPacket.length)...]))
        default:
            return FrameRepr(ethernet: eth, vlan: vlan, network: .raw(Array(bytes[offset...])))
        }
    }

    /// Builds the frame: IPv4 total length and every checksum are computed.
    public func emit() -> [UInt8] {
        var networkLength: Int
        switch network {
        case .ipv4(let ip, let l4): networkLength = ip.headerLength + l4.bufferLength
        case .ipv6(_, let exts, let l4): networkLength = IPv6Packet.headerLength + exts.reduce(0) { $0 + $1.bufferLength } + l4.bufferLength
        case .arp: networkLength = ARPPacket.length
        case .raw(let r): networkLength = r.count
        }
        let l2 = EthernetFrame.headerLength + (vlan == nil ? 0 : VLANTagRepr.length)
        var b = [UInt8](repeating: 0, count: l2 + networkLength + trailer.count)
        var eth = ethernet
        if let vlan {
            eth.ethertype = EtherType.vlan
            eth.emit(into: &b)
            vlan.emit(into: &b, at: EthernetFrame.headerLength)
        } else {
            eth.emit(into: &b)
        }
        switch network {
        case .ipv4(var ip, let l4):
            ip.payloadLength = l4.bufferLength
            l4.emit(into: &b, at: l2 + ip.headerLength, pseudo: .v4(ip.src, ip.dst))
            ip.emit(into: &b, at: l2)
        case .ipv6(var ip, let exts, let l4):
            ip.payloadLength = networkLength - IPv6Packet.headerLength
            ip.emit(into: &b, at: l2)
            var o = l2 + IPv6Packet.headerLength
            for h in exts { h.emit(into: &b, at: o); o += h.bufferLength }
            l4.emit(into: &b, at: o, pseudo: ip.pseudoHeader(after: exts))
        case .arp(let a): a.emit(into: &b, at: l2)
        case .raw(let r): for (k, x) in r.enumerated() { b[l2 + k] = x }
        }
        for (k, x) in trailer.enumerated() { b[l2 + networkLength + k] = x }
        return b
    }
}
