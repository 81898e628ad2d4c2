/// The transport part of an IPv4 packet.
public enum TransportRepr: Equatable, Sendable {
    case udp(UDPRepr)
    case tcp(TCPRepr)
    case icmp(ICMPv4Repr)
    /// A protocol this module does not dissect, or a non-first fragment: the raw payload.
    case raw([UInt8])

    public var bufferLength: Int {
        switch self {
        case .udp(let u): u.bufferLength
        case .tcp(let t): t.bufferLength
        case .icmp(let i): i.bufferLength
        case .raw(let r): r.count
        }
    }
}

/// The network part of an Ethernet frame.
public enum NetworkRepr: Equatable, Sendable {
    case ipv4(IPv4Repr, TransportRepr)
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
                switch ip.proto {
                case IPProtocol.udp:
                    let u = try UDPPacket(checking: bytes, at: l4Off)
                    let repr = try UDPRepr.parse(u, ipPayloadLength: l4Len, src: ip.src, dst: ip.dst, verifyChecksum: verifyChecksums)
                    guard repr.bufferLength == l4Len else { throw .malformed("UDP length \(repr.bufferLength) differs from IP payload \(l4Len)") }
                    l4 = .udp(repr)
                case IPProtocol.tcp:
                    let t = try TCPPacket(checking: bytes, at: l4Off)
                    l4 = .tcp(try TCPRepr.parse(t, length: l4Len, src: ip.src, dst: ip.dst, verifyChecksum: verifyChecksums))
                case IPProtocol.icmp:
                    let i = try ICMPv4Packet(checking: bytes, at: l4Off, length: l4Len)
                    l4 = .icmp(try ICMPv4Repr.parse(i, verifyChecksum: verifyChecksums))
                default:
                    l4 = .raw(Array(bytes[l4Off..<(l4Off + l4Len)]))
                }
            }
            let end = offset + ip.headerLength + ip.payloadLength
            return FrameRepr(ethernet: eth, vlan: vlan, network: .ipv4(ip, l4), trailer: Array(bytes[end...]))
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
            let l4Off = l2 + ip.headerLength
            switch l4 {
            case .udp(let u): u.emit(into: &b, at: l4Off, src: ip.src, dst: ip.dst)
            case .tcp(let t): t.emit(into: &b, at: l4Off, src: ip.src, dst: ip.dst)
            case .icmp(let i): i.emit(into: &b, at: l4Off)
            case .raw(let r): for (k, x) in r.enumerated() { b[l4Off + k] = x }
            }
            ip.emit(into: &b, at: l2)
        case .arp(let a): a.emit(into: &b, at: l2)
        case .raw(let r): for (k, x) in r.enumerated() { b[l2 + k] = x }
        }
        for (k, x) in trailer.enumerated() { b[l2 + networkLength + k] = x }
        return b
    }
}
