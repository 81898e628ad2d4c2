/// A packet's 5-tuple as pwru and conntrack name it: protocol, addresses and, for protocols with
/// ports in their first fragment (TCP, UDP, UDP-Lite, SCTP, DCCP), the ports. Addresses are kept
/// as 128 bits, IPv4 as IPv4-mapped (::ffff:a.b.c.d), so one ordering and one CIDR test serve both.
public struct FlowTuple: Sendable, Equatable {
    public var ipv4: Bool
    public var proto: UInt8
    public var src: UInt128
    public var dst: UInt128
    /// nil for protocols without ports and for fragments after the first.
    public var sport: UInt16?
    public var dport: UInt16?

    public init(ipv4: Bool, proto: UInt8, src: UInt128, dst: UInt128, sport: UInt16? = nil, dport: UInt16? = nil) {
        self.ipv4 = ipv4; self.proto = proto; self.src = src; self.dst = dst; self.sport = sport; self.dport = dport
    }

    static let v4Mapped: UInt128 = 0xffff << 32
    public static func mapped(_ a: IPv4Address) -> UInt128 { v4Mapped | UInt128(a.raw) }

    /// Protocols whose first four payload bytes are the source and destination ports.
    @inlinable static func hasPorts(_ proto: UInt8) -> Bool { proto == 6 || proto == 17 || proto == 136 || proto == 132 || proto == 33 }

    /// The tuple of an Ethernet frame (one 802.1Q tag skipped); nil when it is not IP or too short.
    public static func frame(_ b: [UInt8]) -> FlowTuple? {
        guard b.count >= 14 else { return nil }
        var type = b.be16(12), o = 14
        if type == 0x8100 || type == 0x88a8 {
            guard b.count >= 18 else { return nil }
            type = b.be16(16); o = 18
        }
        return network(b, at: o, ethertype: type)
    }

    /// The tuple of the IPv4 or IPv6 header at `o` (`ethertype` says which); nil when truncated.
    public static func network(_ b: [UInt8], at o: Int, ethertype: UInt16) -> FlowTuple? {
        switch ethertype {
        case 0x0800:
            guard o >= 0, b.count >= o + 20, b[o] >> 4 == 4 else { return nil }
            let ihl = Int(b[o] & 0x0f) * 4
            let proto = b[o + 9]
            var t = FlowTuple(ipv4: true, proto: proto, src: mapped(IPv4Address(raw: b.be32(o + 12))), dst: mapped(IPv4Address(raw: b.be32(o + 16))))
            let firstFragment = b.be16(o + 6) & 0x1fff == 0
            if firstFragment, hasPorts(proto), ihl >= 20, b.count >= o + ihl + 4 {
                t.sport = b.be16(o + ihl); t.dport = b.be16(o + ihl + 2)
            }
            return t
        case 0x86dd:
            guard o >= 0, b.count >= o + 40, b[o] >> 4 == 6 else { return nil }
            var next = b[o + 6], p = o + 40, first = true
            // Hop-by-hop, routing and destination options are (len + 1) * 8 bytes; a fragment header 8.
            for _ in 0..<8 {
                guard next == 0 || next == 43 || next == 60 || next == 44, b.count >= p + 8 else { break }
                if next == 44 { first = first && b.be16(p + 2) & 0xfff8 == 0 }
                let len = next == 44 ? 8 : (Int(b[p + 1]) + 1) * 8
                next = b[p]; p += len
            }
            var t = FlowTuple(ipv4: false, proto: next, src: IPv6Address(array: b, at: o + 8).raw, dst: IPv6Address(array: b, at: o + 24).raw)
            if first, hasPorts(next), b.count >= p + 4 { t.sport = b.be16(p); t.dport = b.be16(p + 2) }
            return t
        default:
            return nil
        }
    }

    /// An address as text: dotted quad for IPv4-mapped ones, RFC 5952 otherwise.
    public static func text(_ a: UInt128) -> String {
        a >> 32 == 0xffff ? IPv4Address(raw: UInt32(truncatingIfNeeded: a)).description : IPv6Address(raw: a).description
    }

    /// 16 bytes, most significant first: byte order is numeric order (how the store compares them).
    public static func bytes(_ a: UInt128) -> [UInt8] {
        (0..<16).map { UInt8(truncatingIfNeeded: a >> (8 * (15 - $0))) }
    }

    /// The address `bytes` wrote; nil unless 16 bytes.
    public static func address(bytes b: [UInt8]) -> UInt128? {
        b.count == 16 ? b.reduce(UInt128(0)) { $0 << 8 | UInt128($1) } : nil
    }
}
