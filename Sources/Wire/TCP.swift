/// TCP flag bits as they sit in byte 13 of the header.
public struct TCPFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
    public static let urg = TCPFlags(rawValue: 0x20)
    public static let ece = TCPFlags(rawValue: 0x40)
    public static let cwr = TCPFlags(rawValue: 0x80)

    static let names: [(TCPFlags, String)] = [(.fin, "fin"), (.syn, "syn"), (.rst, "rst"), (.psh, "psh"),
                                              (.ack, "ack"), (.urg, "urg"), (.ece, "ece"), (.cwr, "cwr")]
    /// Lower-case flag names in nft's order, e.g. ["syn", "ack"].
    public var names: [String] { TCPFlags.names.filter { contains($0.0) }.map(\.1) }
    public init?(name: String) {
        guard let f = TCPFlags.names.first(where: { $0.1 == name }) else { return nil }
        self = f.0
    }
}

/// A view over a TCP segment (RFC 9293).
public struct TCPPacket {
    public static let minHeaderLength = 20
    public let buffer: [UInt8]
    public let offset: Int

    public init(checking buffer: [UInt8], at offset: Int) throws(WireError) {
        guard buffer.count >= offset + TCPPacket.minHeaderLength else { throw .truncated }
        self.buffer = buffer; self.offset = offset
    }
    public var srcPort: UInt16 { buffer.be16(offset) }
    public var dstPort: UInt16 { buffer.be16(offset + 2) }
    public var seq: UInt32 { buffer.be32(offset + 4) }
    public var ack: UInt32 { buffer.be32(offset + 8) }
    /// Data offset in bytes.
    public var headerLength: Int { Int(buffer[offset + 12] >> 4) * 4 }
    public var flags: TCPFlags { TCPFlags(rawValue: buffer[offset + 13]) }
    public var window: UInt16 { buffer.be16(offset + 14) }
    public var checksum: UInt16 { buffer.be16(offset + 16) }
    public var urgentPointer: UInt16 { buffer.be16(offset + 18) }

    public func verifyChecksum(src: IPv4Address, dst: IPv4Address, length: Int) -> Bool {
        verifyChecksum(pseudo: .v4(src, dst), length: length)
    }
    public func verifyChecksum(pseudo: PseudoHeader, length: Int) -> Bool {
        let s = pseudo.sum(proto: IPProtocol.tcp, length: length)
        return Checksum.finish(Checksum.sum(buffer, from: offset, count: length, initial: s)) == 0
    }
}

public struct TCPRepr: Equatable, Sendable {
    public var srcPort: UInt16
    public var dstPort: UInt16
    public var seq: UInt32
    public var ack: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    public var urgentPointer: UInt16
    /// Raw option bytes, a multiple of 4 long.
    public var options: [UInt8]
    public var payload: [UInt8]

    public init(srcPort: UInt16, dstPort: UInt16, seq: UInt32 = 0, ack: UInt32 = 0, flags: TCPFlags = [],
                window: UInt16 = 65535, urgentPointer: UInt16 = 0, options: [UInt8] = [], payload: [UInt8] = []) {
        self.srcPort = srcPort; self.dstPort = dstPort; self.seq = seq; self.ack = ack; self.flags = flags
        self.window = window; self.urgentPointer = urgentPointer; self.options = options; self.payload = payload
    }

    /// Validates the data offset against `length` (the IP payload length), the option layout and the checksum.
    public static func parse(_ p: TCPPacket, length: Int, src: IPv4Address, dst: IPv4Address,
                             verifyChecksum: Bool = true) throws(WireError) -> TCPRepr {
        try parse(p, length: length, pseudo: .v4(src, dst), verifyChecksum: verifyChecksum)
    }
    public static func parse(_ p: TCPPacket, length: Int, pseudo: PseudoHeader,
                             verifyChecksum: Bool = true) throws(WireError) -> TCPRepr {
        let hl = p.headerLength
        guard hl >= 20, hl <= length, p.buffer.count >= p.offset + length else {
            throw .malformed("TCP data offset \(hl)")
        }
        let options = Array(p.buffer[(p.offset + 20)..<(p.offset + hl)])
        try TCPRepr.validateOptions(options)
        if verifyChecksum && !p.verifyChecksum(pseudo: pseudo, length: length) { throw .checksum }
        return TCPRepr(srcPort: p.srcPort, dstPort: p.dstPort, seq: p.seq, ack: p.ack, flags: p.flags,
                       window: p.window, urgentPointer: p.urgentPointer, options: options,
                       payload: Array(p.buffer[(p.offset + hl)..<(p.offset + length)]))
    }

    /// Walks kind/length options: EOL ends the list, NOP is one byte, others carry a length ≥ 2 that fits.
    static func validateOptions(_ o: [UInt8]) throws(WireError) {
        var i = 0
        while i < o.count {
            switch o[i] {
            case 0: return
            case 1: i += 1
            default:
                guard i + 1 < o.count, o[i + 1] >= 2, i + Int(o[i + 1]) <= o.count else {
                    throw .malformed("TCP option at \(i)")
                }
                i += Int(o[i + 1])
            }
        }
    }

    public var headerLength: Int { 20 + options.count }
    public var bufferLength: Int { headerLength + payload.count }

    public func emit(into b: inout [UInt8], at o: Int, src: IPv4Address, dst: IPv4Address) {
        emit(into: &b, at: o, pseudo: .v4(src, dst))
    }
    public func emit(into b: inout [UInt8], at o: Int, pseudo: PseudoHeader) {
        b.setBE16(o, srcPort); b.setBE16(o + 2, dstPort)
        b.setBE32(o + 4, seq); b.setBE32(o + 8, ack)
        b[o + 12] = UInt8(headerLength / 4) << 4
        b[o + 13] = flags.rawValue
        b.setBE16(o + 14, window); b.setBE16(o + 16, 0); b.setBE16(o + 18, urgentPointer)
        for (i, x) in options.enumerated() { b[o + 20 + i] = x }
        for (i, x) in payload.enumerated() { b[o + headerLength + i] = x }
        let s = pseudo.sum(proto: IPProtocol.tcp, length: bufferLength)
        b.setBE16(o + 16, Checksum.finish(Checksum.sum(b, from: o, count: bufferLength, initial: s)))
    }
}
