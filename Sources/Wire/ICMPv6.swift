/// An ICMPv6 message (RFC 4443): type, code, checksum over the IPv6 pseudo-header, four bytes
/// of rest-of-header, data.
public struct ICMPv6Repr: Equatable, Sendable {
    public static let destUnreachable: UInt8 = 1
    public static let packetTooBig: UInt8 = 2
    public static let timeExceeded: UInt8 = 3
    public static let parameterProblem: UInt8 = 4
    public static let echoRequest: UInt8 = 128
    public static let echoReply: UInt8 = 129
    public static let routerSolicitation: UInt8 = 133
    public static let routerAdvertisement: UInt8 = 134
    public static let neighbourSolicitation: UInt8 = 135
    public static let neighbourAdvertisement: UInt8 = 136
    public static let redirect: UInt8 = 137
    /// MLD listener query (RFC 2710, RFC 3810).
    public static let mldQuery: UInt8 = 130
    /// MLDv2 listener report (RFC 3810).
    public static let mld2Report: UInt8 = 143

    public var type: UInt8
    public var code: UInt8
    /// Identifier and sequence for echo; MTU for packet too big; pointer for parameter problem.
    public var restOfHeader: UInt32
    public var data: [UInt8]

    public init(type: UInt8, code: UInt8, restOfHeader: UInt32 = 0, data: [UInt8] = []) {
        self.type = type; self.code = code; self.restOfHeader = restOfHeader; self.data = data
    }
    /// True for error messages (types below 128, RFC 4443 2.1).
    public var isError: Bool { type < 128 }

    /// Parses `length` bytes at `o`, verifying the checksum over `pseudo` unless told not to.
    public static func parse(_ b: [UInt8], at o: Int, length: Int, pseudo: PseudoHeader,
                             verifyChecksum: Bool = true) throws(WireError) -> ICMPv6Repr {
        guard length >= 8, b.count >= o + length else { throw .truncated }
        if verifyChecksum {
            let s = pseudo.sum(proto: IPProtocol.icmpv6, length: length)
            guard Checksum.finish(Checksum.sum(b, from: o, count: length, initial: s)) == 0 else { throw .checksum }
        }
        return ICMPv6Repr(type: b[o], code: b[o + 1], restOfHeader: b.be32(o + 4), data: Array(b[(o + 8)..<(o + length)]))
    }
    public var bufferLength: Int { 8 + data.count }
    public func emit(into b: inout [UInt8], at o: Int, pseudo: PseudoHeader) {
        b[o] = type; b[o + 1] = code; b.setBE16(o + 2, 0); b.setBE32(o + 4, restOfHeader)
        for (i, x) in data.enumerated() { b[o + 8 + i] = x }
        let s = pseudo.sum(proto: IPProtocol.icmpv6, length: bufferLength)
        b.setBE16(o + 2, Checksum.finish(Checksum.sum(b, from: o, count: bufferLength, initial: s)))
    }
}

/// A neighbour discovery option (RFC 4861 4.6): type, length in units of 8 bytes, data.
public enum NDPOption: Equatable, Sendable {
    case sourceLinkLayer(MACAddress)
    case targetLinkLayer(MACAddress)
    case prefixInformation(prefixLength: UInt8, onLink: Bool, autonomous: Bool, validLifetime: UInt32,
                           preferredLifetime: UInt32, prefix: IPv6Address)
    case mtu(UInt32)
    /// Any other option (or a known one of another size), its bytes after type and length.
    case other(type: UInt8, data: [UInt8])

    public var bufferLength: Int {
        switch self {
        case .sourceLinkLayer, .targetLinkLayer, .mtu: 8
        case .prefixInformation: 32
        case .other(_, let d): 2 + d.count
        }
    }

    /// Parses the options in `b[o..<end]`; a zero length is malformed (RFC 4861 4.6: discard the packet).
    static func parseAll(_ b: [UInt8], from o: Int, to end: Int) throws(WireError) -> [NDPOption] {
        var out: [NDPOption] = []
        var i = o
        while i < end {
            guard end - i >= 2 else { throw .truncated }
            let len = Int(b[i + 1]) * 8
            guard len > 0 else { throw .malformed("ND option of length 0") }
            guard i + len <= end else { throw .truncated }
            let type = b[i]
            switch (type, len) {
            case (1, 8): out.append(.sourceLinkLayer(MACAddress(array: b, at: i + 2)))
            case (2, 8): out.append(.targetLinkLayer(MACAddress(array: b, at: i + 2)))
            case (3, 32) where b[i + 3] & 0x3f == 0 && b.be32(i + 12) == 0:
                out.append(.prefixInformation(prefixLength: b[i + 2], onLink: b[i + 3] & 0x80 != 0, autonomous: b[i + 3] & 0x40 != 0,
                                              validLifetime: b.be32(i + 4), preferredLifetime: b.be32(i + 8),
                                              prefix: IPv6Address(array: b, at: i + 16)))
            case (5, 8) where b.be16(i + 2) == 0: out.append(.mtu(b.be32(i + 4)))
            default: out.append(.other(type: type, data: Array(b[(i + 2)..<(i + len)])))
            }
            i += len
        }
        return out
    }

    func emit(into b: inout [UInt8], at o: Int) {
        b[o + 1] = UInt8(truncatingIfNeeded: bufferLength / 8)
        switch self {
        case .sourceLinkLayer(let m): b[o] = 1; m.write(into: &b, at: o + 2)
        case .targetLinkLayer(let m): b[o] = 2; m.write(into: &b, at: o + 2)
        case .prefixInformation(let len, let l, let a, let valid, let preferred, let prefix):
            b[o] = 3; b[o + 2] = len; b[o + 3] = (l ? 0x80 : 0) | (a ? 0x40 : 0)
            b.setBE32(o + 4, valid); b.setBE32(o + 8, preferred); b.setBE32(o + 12, 0)
            prefix.write(into: &b, at: o + 16)
        case .mtu(let m): b[o] = 5; b.setBE16(o + 2, 0); b.setBE32(o + 4, m)
        case .other(let t, let d): b[o] = t; for (k, x) in d.enumerated() { b[o + 2 + k] = x }
        }
    }
}

/// The neighbour discovery messages (RFC 4861 4), read from and written to an ICMPv6 message.
public enum NDPRepr: Equatable, Sendable {
    case routerSolicitation(options: [NDPOption])
    /// `flags`: M 0x80, O 0x40, H 0x20, router preference 0x18 (RFC 4191), kept whole.
    case routerAdvertisement(curHopLimit: UInt8, flags: UInt8, routerLifetime: UInt16,
                             reachableTime: UInt32, retransTimer: UInt32, options: [NDPOption])
    case neighbourSolicitation(target: IPv6Address, options: [NDPOption])
    case neighbourAdvertisement(router: Bool, solicited: Bool, override: Bool, target: IPv6Address, options: [NDPOption])
    case redirect(target: IPv6Address, destination: IPv6Address, options: [NDPOption])

    /// The ND message an ICMPv6 message carries; nil for other types; malformed fixed parts or options throw.
    public static func parse(_ m: ICMPv6Repr) throws(WireError) -> NDPRepr? {
        let d = m.data
        func need(_ n: Int) throws(WireError) { guard d.count >= n else { throw .truncated } }
        switch m.type {
        case ICMPv6Repr.routerSolicitation:
            return .routerSolicitation(options: try NDPOption.parseAll(d, from: 0, to: d.count))
        case ICMPv6Repr.routerAdvertisement:
            try need(8)
            let r = m.restOfHeader
            return .routerAdvertisement(curHopLimit: UInt8(r >> 24), flags: UInt8(truncatingIfNeeded: r >> 16),
                                        routerLifetime: UInt16(truncatingIfNeeded: r), reachableTime: d.be32(0), retransTimer: d.be32(4),
                                        options: try NDPOption.parseAll(d, from: 8, to: d.count))
        case ICMPv6Repr.neighbourSolicitation:
            try need(16)
            return .neighbourSolicitation(target: IPv6Address(array: d, at: 0), options: try NDPOption.parseAll(d, from: 16, to: d.count))
        case ICMPv6Repr.neighbourAdvertisement:
            try need(16)
            let r = m.restOfHeader
            return .neighbourAdvertisement(router: r & 0x8000_0000 != 0, solicited: r & 0x4000_0000 != 0, override: r & 0x2000_0000 != 0,
                                           target: IPv6Address(array: d, at: 0), options: try NDPOption.parseAll(d, from: 16, to: d.count))
        case ICMPv6Repr.redirect:
            try need(32)
            return .redirect(target: IPv6Address(array: d, at: 0), destination: IPv6Address(array: d, at: 16),
                             options: try NDPOption.parseAll(d, from: 32, to: d.count))
        default:
            return nil
        }
    }

    public var options: [NDPOption] {
        switch self {
        case .routerSolicitation(let o), .routerAdvertisement(_, _, _, _, _, let o), .neighbourSolicitation(_, let o),
             .neighbourAdvertisement(_, _, _, _, let o), .redirect(_, _, let o): o
        }
    }

    /// The ICMPv6 message (code 0) carrying this ND message.
    public var icmp: ICMPv6Repr {
        var fixed: [UInt8]
        var type: UInt8, rest: UInt32 = 0
        switch self {
        case .routerSolicitation:
            type = ICMPv6Repr.routerSolicitation; fixed = []
        case .routerAdvertisement(let hop, let flags, let life, let reach, let retrans, _):
            type = ICMPv6Repr.routerAdvertisement
            rest = UInt32(hop) << 24 | UInt32(flags) << 16 | UInt32(life)
            fixed = [UInt8](repeating: 0, count: 8); fixed.setBE32(0, reach); fixed.setBE32(4, retrans)
        case .neighbourSolicitation(let t, _):
            type = ICMPv6Repr.neighbourSolicitation; fixed = t.bytes
        case .neighbourAdvertisement(let r, let s, let o, let t, _):
            type = ICMPv6Repr.neighbourAdvertisement
            rest = (r ? 0x8000_0000 : 0) | (s ? 0x4000_0000 : 0) | (o ? 0x2000_0000 : 0)
            fixed = t.bytes
        case .redirect(let t, let d, _):
            type = ICMPv6Repr.redirect; fixed = t.bytes + d.bytes
        }
        let start = fixed.count
        fixed += [UInt8](repeating: 0, count: options.reduce(0) { $0 + $1.bufferLength })
        var i = start
        for opt in options { opt.emit(into: &fixed, at: i); i += opt.bufferLength }
        return ICMPv6Repr(type: type, code: 0, restOfHeader: rest, data: fixed)
    }
}
