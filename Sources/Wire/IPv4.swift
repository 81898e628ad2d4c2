/// IP protocol numbers this stack knows.
public enum IPProtocol {
    public static let icmp: UInt8 = 1
    public static let igmp: UInt8 = 2
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let icmpv6: UInt8 = 58
    // IPv6 extension headers (RFC 8200 4) and the end of the chain.
    public static let hopByHop: UInt8 = 0
    public static let routing: UInt8 = 43
    public static let fragment: UInt8 = 44
    public static let esp: UInt8 = 50
    public static let ah: UInt8 = 51
    public static let noNextHeader: UInt8 = 59
    public static let destinationOptions: UInt8 = 60
}

/// A view over an IPv4 header and its payload (RFC 791).
/// `init(checking:)` only guarantees the fixed 20 bytes; `IPv4Repr.parse` validates the rest.
public struct IPv4Packet {
    enum Field {
        static let verIHL = 0, tos = 1, length = 2, ident = 4, flagsFrag = 6
        static let ttl = 8, proto = 9, checksum = 10, src = 12, dst = 16, options = 20
    }
    public static let minHeaderLength = 20
    public static let flagDF: UInt16 = 0x4000
    public static let flagMF: UInt16 = 0x2000

    public private(set) var buffer: [UInt8]
    public let offset: Int

    public init(checking buffer: [UInt8], at offset: Int = 0) throws(WireError) {
        guard buffer.count >= offset + IPv4Packet.minHeaderLength else { throw .truncated }
        self.buffer = buffer; self.offset = offset
    }

    public var version: UInt8 { buffer[offset] >> 4 }
    /// Header length in bytes (IHL × 4).
    public var headerLength: Int { Int(buffer[offset] & 0x0f) * 4 }
    public var dscp: UInt8 { buffer[offset + Field.tos] >> 2 }
    public var ecn: UInt8 { buffer[offset + Field.tos] & 3 }
    public var tos: UInt8 { buffer[offset + Field.tos] }
    public var totalLength: Int { Int(buffer.be16(offset + Field.length)) }
    public var ident: UInt16 { buffer.be16(offset + Field.ident) }
    public var dontFragment: Bool { buffer.be16(offset + Field.flagsFrag) & IPv4Packet.flagDF != 0 }
    public var moreFragments: Bool { buffer.be16(offset + Field.flagsFrag) & IPv4Packet.flagMF != 0 }
    /// Fragment offset in bytes.
    public var fragmentOffset: Int { Int(buffer.be16(offset + Field.flagsFrag) & 0x1fff) * 8 }
    public var ttl: UInt8 { buffer[offset + Field.ttl] }
    public var proto: UInt8 { buffer[offset + Field.proto] }
    public var checksum: UInt16 { buffer.be16(offset + Field.checksum) }
    public var src: IPv4Address { IPv4Address(raw: buffer.be32(offset + Field.src)) }
    public var dst: IPv4Address { IPv4Address(raw: buffer.be32(offset + Field.dst)) }
    /// True when the header (as far as the buffer holds it) sums to zero, as `ip_fast_csum` checks.
    public var verifyChecksum: Bool {
        let len = min(headerLength, buffer.count - offset)
        return Checksum.compute(buffer, from: offset, count: len) == 0
    }

    public mutating func setTTL(_ v: UInt8) { buffer[offset + Field.ttl] = v }
    public mutating func setChecksum(_ v: UInt16) { buffer.setBE16(offset + Field.checksum, v) }
    public mutating func fillChecksum() {
        setChecksum(0)
        setChecksum(Checksum.compute(buffer, from: offset, count: headerLength))
    }
}

/// The validated fields of an IPv4 header.
public struct IPv4Repr: Equatable, Sendable {
    public var src: IPv4Address
    public var dst: IPv4Address
    public var proto: UInt8
    public var ttl: UInt8
    public var tos: UInt8
    public var ident: UInt16
    public var dontFragment: Bool
    public var moreFragments: Bool
    public var fragmentOffset: Int
    /// Raw option bytes, a multiple of 4 long.
    public var options: [UInt8]
    public var payloadLength: Int

    public init(src: IPv4Address, dst: IPv4Address, proto: UInt8, ttl: UInt8 = 64, tos: UInt8 = 0,
                ident: UInt16 = 0, dontFragment: Bool = false, moreFragments: Bool = false,
                fragmentOffset: Int = 0, options: [UInt8] = [], payloadLength: Int) {
        self.src = src; self.dst = dst; self.proto = proto; self.ttl = ttl; self.tos = tos
        self.ident = ident; self.dontFragment = dontFragment; self.moreFragments = moreFragments
        self.fragmentOffset = fragmentOffset; self.options = options; self.payloadLength = payloadLength
    }

    /// Validates version, header length, total length and (unless told not to) the checksum.
    public static func parse(_ p: IPv4Packet, verifyChecksum: Bool = true) throws(WireError) -> IPv4Repr {
        guard p.version == 4 else { throw .malformed("IP version \(p.version)") }
        let hl = p.headerLength
        guard hl >= 20 else { throw .malformed("IHL below 5") }
        let avail = p.buffer.count - p.offset
        guard avail >= hl else { throw .truncated }
        guard p.totalLength >= hl else { throw .malformed("total length below header length") }
        guard avail >= p.totalLength else { throw .truncated }
        if verifyChecksum && !p.verifyChecksum { throw .checksum }
        return IPv4Repr(src: p.src, dst: p.dst, proto: p.proto, ttl: p.ttl, tos: p.tos, ident: p.ident,
                        dontFragment: p.dontFragment, moreFragments: p.moreFragments,
                        fragmentOffset: p.fragmentOffset,
                        options: Array(p.buffer[(p.offset + 20)..<(p.offset + hl)]),
                        payloadLength: p.totalLength - hl)
    }

    public var headerLength: Int { 20 + options.count }
    public var bufferLength: Int { headerLength + payloadLength }

    /// Writes the header at `o` with a filled checksum; the payload is the caller's.
    public func emit(into b: inout [UInt8], at o: Int) {
        b[o] = 0x40 | UInt8(headerLength / 4)
        b[o + 1] = tos
        b.setBE16(o + 2, UInt16(bufferLength))
        b.setBE16(o + 4, ident)
        var ff = UInt16(fragmentOffset / 8) & 0x1fff
        if dontFragment { ff |= IPv4Packet.flagDF }
        if moreFragments { ff |= IPv4Packet.flagMF }
        b.setBE16(o + 6, ff)
        b[o + 8] = ttl
        b[o + 9] = proto
        b.setBE16(o + 10, 0)
        b.setBE32(o + 12, src.raw)
        b.setBE32(o + 16, dst.raw)
        for (i, x) in options.enumerated() { b[o + 20 + i] = x }
        b.setBE16(o + 10, Checksum.compute(b, from: o, count: headerLength))
    }
}
