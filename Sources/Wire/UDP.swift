/// A view over a UDP datagram (RFC 768).
public struct UDPPacket {
    public static let headerLength = 8
    public let buffer: [UInt8]
    public let offset: Int

    public init(checking buffer: [UInt8], at offset: Int) throws(WireError) {
        guard buffer.count >= offset + UDPPacket.headerLength else { throw .truncated }
        self.buffer = buffer; self.offset = offset
    }
    public var srcPort: UInt16 { buffer.be16(offset) }
    public var dstPort: UInt16 { buffer.be16(offset + 2) }
    public var length: Int { Int(buffer.be16(offset + 4)) }
    public var checksum: UInt16 { buffer.be16(offset + 6) }

    /// Checks the pseudo-header checksum over `length` bytes; a zero checksum means "none" (RFC 768).
    public func verifyChecksum(src: IPv4Address, dst: IPv4Address) -> Bool {
        verifyChecksum(pseudo: .v4(src, dst))
    }
    /// Over IPv6 a zero checksum is not "none" (RFC 8200 8.1): it fails to verify like any wrong one.
    public func verifyChecksum(pseudo: PseudoHeader) -> Bool {
        if checksum == 0 { return !pseudo.isIPv6 }
        let s = pseudo.sum(proto: IPProtocol.udp, length: length)
        return Checksum.finish(Checksum.sum(buffer, from: offset, count: length, initial: s)) == 0
    }
}

public struct UDPRepr: Equatable, Sendable {
    public var srcPort: UInt16
    public var dstPort: UInt16
    public var payload: [UInt8]

    public init(srcPort: UInt16, dstPort: UInt16, payload: [UInt8] = []) {
        self.srcPort = srcPort; self.dstPort = dstPort; self.payload = payload
    }

    /// Validates the length field against the IP payload and the checksum.
    public static func parse(_ p: UDPPacket, ipPayloadLength: Int, src: IPv4Address, dst: IPv4Address,
                             verifyChecksum: Bool = true) throws(WireError) -> UDPRepr {
        try parse(p, ipPayloadLength: ipPayloadLength, pseudo: .v4(src, dst), verifyChecksum: verifyChecksum)
    }
    public static func parse(_ p: UDPPacket, ipPayloadLength: Int, pseudo: PseudoHeader,
                             verifyChecksum: Bool = true) throws(WireError) -> UDPRepr {
        guard p.length >= 8, p.length <= ipPayloadLength, p.buffer.count >= p.offset + p.length else {
            throw .malformed("UDP length \(p.length)")
        }
        if verifyChecksum && !p.verifyChecksum(pseudo: pseudo) { throw .checksum }
        return UDPRepr(srcPort: p.srcPort, dstPort: p.dstPort,
                       payload: Array(p.buffer[(p.offset + 8)..<(p.offset + p.length)]))
    }
    public var bufferLength: Int { 8 + payload.count }

    /// Writes header and payload with the pseudo-header checksum (0 is sent as 0xffff).
    public func emit(into b: inout [UInt8], at o: Int, src: IPv4Address, dst: IPv4Address) {
        emit(into: &b, at: o, pseudo: .v4(src, dst))
    }
    public func emit(into b: inout [UInt8], at o: Int, pseudo: PseudoHeader) {
        b.setBE16(o, srcPort); b.setBE16(o + 2, dstPort)
        b.setBE16(o + 4, UInt16(bufferLength)); b.setBE16(o + 6, 0)
        for (i, x) in payload.enumerated() { b[o + 8 + i] = x }
        let s = pseudo.sum(proto: IPProtocol.udp, length: bufferLength)
        let c = Checksum.finish(Checksum.sum(b, from: o, count: bufferLength, initial: s))
        b.setBE16(o + 6, c == 0 ? 0xffff : c)
    }
}
