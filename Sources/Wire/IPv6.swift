/// A view over the fixed 40-byte IPv6 header (RFC 8200 3).
public struct IPv6Packet {
    enum Field {
        static let verClassFlow = 0, payloadLength = 4, nextHeader = 6, hopLimit = 7, src = 8, dst = 24
    }
    public static let headerLength = 40

    public private(set) var buffer: [UInt8]
    public let offset: Int

    public init(checking buffer: [UInt8], at offset: Int = 0) throws(WireError) {
        guard buffer.count >= offset + IPv6Packet.headerLength else { throw .truncated }
        self.buffer = buffer; self.offset = offset
    }

    public var version: UInt8 { buffer[offset] >> 4 }
    public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: buffer.be16(offset) >> 4) }
    public var flowLabel: UInt32 { buffer.be32(offset) & 0xf_ffff }
    public var payloadLength: Int { Int(buffer.be16(offset + Field.payloadLength)) }
    public var nextHeader: UInt8 { buffer[offset + Field.nextHeader] }
    public var hopLimit: UInt8 { buffer[offset + Field.hopLimit] }
    public var src: IPv6Address { IPv6Address(array: buffer, at: offset + Field.src) }
    public var dst: IPv6Address { IPv6Address(array: buffer, at: offset + Field.dst) }
}

/// The validated fields of the fixed IPv6 header.
public struct IPv6Repr: Equatable, Sendable {
    public var src: IPv6Address
    public var dst: IPv6Address
    /// What follows the fixed header: the first extension header or the upper layer.
    public var nextHeader: UInt8
    public var hopLimit: UInt8
    public var trafficClass: UInt8
    public var flowLabel: UInt32
    /// Bytes after the fixed header: extension headers and the upper layer.
    public var payloadLength: Int

    public init(src: IPv6Address, dst: IPv6Address, nextHeader: UInt8, hopLimit: UInt8 = 64,
                trafficClass: UInt8 = 0, flowLabel: UInt32 = 0, payloadLength: Int = 0) {
        self.src = src; self.dst = dst; self.nextHeader = nextHeader; self.hopLimit = hopLimit
        self.trafficClass = trafficClass; self.flowLabel = flowLabel & 0xf_ffff; self.payloadLength = payloadLength
    }

    /// Validates the version and that the buffer holds the payload length.
    public static func parse(_ p: IPv6Packet) throws(WireError) -> IPv6Repr {
        guard p.version == 6 else { throw .malformed("IP version \(p.version)") }
        guard p.buffer.count - p.offset - IPv6Packet.headerLength >= p.payloadLength else { throw .truncated }
        return IPv6Repr(src: p.src, dst: p.dst, nextHeader: p.nextHeader, hopLimit: p.hopLimit,
                        trafficClass: p.trafficClass, flowLabel: p.flowLabel, payloadLength: p.payloadLength)
    }

    public var pseudoHeader: PseudoHeader { .v6(src, dst) }

    /// The pseudo-header of the upper layer: with a routing header that still has segments left,
    /// the destination is the final one, not the next hop (RFC 8200 8.1).
    public func pseudoHeader(after exts: [IPv6ExtensionHeader]) -> PseudoHeader {
        .v6(src, exts.lazy.compactMap(\.finalDestination).last ?? dst)
    }

    /// Writes the fixed header at `o`; what follows is the caller's.
    public func emit(into b: inout [UInt8], at o: Int) {
        b.setBE32(o, 6 << 28 | UInt32(trafficClass) << 20 | (flowLabel & 0xf_ffff))
        b.setBE16(o + 4, UInt16(truncatingIfNeeded: payloadLength))
        b[o + 6] = nextHeader
        b[o + 7] = hopLimit
        src.write(into: &b, at: o + 8)
        dst.write(into: &b, at: o + 24)
    }
}

/// One TLV option of a hop-by-hop or destination options header (RFC 8200 4.2).
public enum IPv6Option: Equatable, Sendable {
    /// A single zero byte.
    case pad1
    /// Type, then a length byte and that many data bytes (PadN is type 1).
    case tlv(type: UInt8, data: [UInt8])

    public static let padNType: UInt8 = 1
    public static let routerAlertType: UInt8 = 5
    public static let jumboType: UInt8 = 0xc2
    public static func padN(_ dataLength: Int) -> IPv6Option { .tlv(type: padNType, data: [UInt8](repeating: 0, count: dataLength)) }

    public var bufferLength: Int {
        switch self {
        case .pad1: 1
        case .tlv(_, let d): 2 + d.count
        }
    }
    /// What a node that does not know the type must do: the type's top two bits (RFC 8200 4.2).
    public var unknownAction: UInt8 {
        switch self {
        case .pad1: 0
        case .tlv(let t, _): t >> 6
        }
    }
}

/// One IPv6 extension header: its own protocol number, what follows it, and its body.
public struct IPv6ExtensionHeader: Equatable, Sendable {
    public enum Body: Equatable, Sendable {
        /// Hop-by-hop (0) and destination options (60).
        case options([IPv6Option])
        /// Routing (43): type, segments left and the type-specific data after them.
        case routing(type: UInt8, segmentsLeft: UInt8, data: [UInt8])
        /// Fragment (44): offset in bytes, M flag, identification; `reserved` keeps byte 1 and
        /// the two reserved bits so a round trip is exact.
        case fragment(offset: Int, more: Bool, ident: UInt32, reserved: UInt16)
    }
    public var kind: UInt8
    public var nextHeader: UInt8
    public var body: Body

    public init(kind: UInt8, nextHeader: UInt8, body: Body) {
        self.kind = kind; self.nextHeader = nextHeader; self.body = body
    }
    public static func fragment(next: UInt8, offset: Int, more: Bool, ident: UInt32) -> IPv6ExtensionHeader {
        IPv6ExtensionHeader(kind: IPProtocol.fragment, nextHeader: next, body: .fragment(offset: offset, more: more, ident: ident, reserved: 0))
    }

    /// Where a routing header with segments left ends: the last address of type 0 (RFC 2460) and
    /// type 2 (RFC 6275), the first segment of a segment routing header (type 4, RFC 8754).
    public var finalDestination: IPv6Address? {
        guard case .routing(let type, let left, let data) = body, left > 0 else { return nil }
        switch type {
        case 0, 2: return data.count >= 20 ? IPv6Address(array: data, at: data.count - 16) : nil
        case 4: return data.count >= 20 ? IPv6Address(array: data, at: 4) : nil
        default: return nil
        }
    }

    /// True for the protocol numbers whose headers this type dissects.
    public static func isWalkable(_ proto: UInt8) -> Bool {
        proto == IPProtocol.hopByHop || proto == IPProtocol.routing || proto == IPProtocol.fragment || proto == IPProtocol.destinationOptions
    }

    /// Parses the header of protocol `kind` at `o`, within `end`.
    public static func parse(_ b: [UInt8], at o: Int, end: Int, kind: UInt8) throws(WireError) -> IPv6ExtensionHeader {
        guard end - o >= 8 else { throw .truncated }
        let next = b[o]
        if kind == IPProtocol.fragment {
            let w = b.be16(o + 2)
            return IPv6ExtensionHeader(kind: kind, nextHeader: next,
                                       body: .fragment(offset: Int(w & 0xfff8), more: w & 1 == 1, ident: b.be32(o + 4),
                                                       reserved: UInt16(b[o + 1]) << 8 | (w & 6)))
        }
        let len = (Int(b[o + 1]) + 1) * 8
        guard end - o >= len else { throw .truncated }
        if kind == IPProtocol.routing {
            return IPv6ExtensionHeader(kind: kind, nextHeader: next, body: .routing(type: b[o + 2], segmentsLeft: b[o + 3], data: Array(b[(o + 4)..<(o + len)])))
        }
        var opts: [IPv6Option] = []
        var i = o + 2
        while i < o + len {
            if b[i] == 0 { opts.append(.pad1); i += 1; continue }
            guard i + 2 <= o + len, i + 2 + Int(b[i + 1]) <= o + len else { throw .malformed("option at \(i - o) overruns its header") }
            opts.append(.tlv(type: b[i], data: Array(b[(i + 2)..<(i + 2 + Int(b[i + 1]))])))
            i += 2 + Int(b[i + 1])
        }
        return IPv6ExtensionHeader(kind: kind, nextHeader: next, body: .options(opts))
    }

    public var bufferLength: Int {
        switch body {
        case .options(let o): 2 + o.reduce(0) { $0 + $1.bufferLength }
        case .routing(_, _, let d): 4 + d.count
        case .fragment: 8
        }
    }

    /// Writes the header; its length byte is computed (options and routing data must fill a multiple of 8).
    public func emit(into b: inout [UInt8], at o: Int) {
        b[o] = nextHeader
        switch body {
        case .fragment(let off, let more, let ident, let reserved):
            b[o + 1] = UInt8(reserved >> 8)
            b.setBE16(o + 2, UInt16(truncatingIfNeeded: off) & 0xfff8 | (reserved & 6) | (more ? 1 : 0))
            b.setBE32(o + 4, ident)
            return
        case .routing(let type, let left, let data):
            b[o + 2] = type; b[o + 3] = left
            for (k, x) in data.enumerated() { b[o + 4 + k] = x }
        case .options(let opts):
            var i = o + 2
            for opt in opts {
                switch opt {
                case .pad1: b[i] = 0
                case .tlv(let t, let d):
                    b[i] = t; b[i + 1] = UInt8(truncatingIfNeeded: d.count)
                    for (k, x) in d.enumerated() { b[i + 2 + k] = x }
                }
                i += opt.bufferLength
            }
        }
        b[o + 1] = UInt8(truncatingIfNeeded: bufferLength / 8 - 1)
    }
}
