/// A view over an ICMPv4 message (RFC 792): type, code, checksum, 4 bytes of rest-of-header, data.
public struct ICMPv4Packet {
    public static let headerLength = 8
    public let buffer: [UInt8]
    public let offset: Int
    /// Bytes from `offset` that belong to the message (the IP payload length).
    public let length: Int

    public init(checking buffer: [UInt8], at offset: Int, length: Int) throws(WireError) {
        guard length >= ICMPv4Packet.headerLength, buffer.count >= offset + length else { throw .truncated }
        self.buffer = buffer; self.offset = offset; self.length = length
    }
    public var type: UInt8 { buffer[offset] }
    public var code: UInt8 { buffer[offset + 1] }
    public var checksum: UInt16 { buffer.be16(offset + 2) }
    public var restOfHeader: UInt32 { buffer.be32(offset + 4) }
    public var verifyChecksum: Bool { Checksum.compute(buffer, from: offset, count: length) == 0 }
}

public struct ICMPv4Repr: Equatable, Sendable {
    public static let echoReply: UInt8 = 0
    public static let destUnreachable: UInt8 = 3
    public static let echoRequest: UInt8 = 8
    public static let timeExceeded: UInt8 = 11

    public var type: UInt8
    public var code: UInt8
    /// Identifier and sequence for echo; unused/MTU fields for errors.
    public var restOfHeader: UInt32
    public var data: [UInt8]

    public init(type: UInt8, code: UInt8, restOfHeader: UInt32 = 0, data: [UInt8] = []) {
        self.type = type; self.code = code; self.restOfHeader = restOfHeader; self.data = data
    }
    public static func parse(_ p: ICMPv4Packet, verifyChecksum: Bool = true) throws(WireError) -> ICMPv4Repr {
        if verifyChecksum && !p.verifyChecksum { throw .checksum }
        return ICMPv4Repr(type: p.type, code: p.code, restOfHeader: p.restOfHeader,
                          data: Array(p.buffer[(p.offset + 8)..<(p.offset + p.length)]))
    }
    public var bufferLength: Int { 8 + data.count }
    public func emit(into b: inout [UInt8], at o: Int) {
        b[o] = type; b[o + 1] = code; b.setBE16(o + 2, 0); b.setBE32(o + 4, restOfHeader)
        for (i, x) in data.enumerated() { b[o + 8 + i] = x }
        b.setBE16(o + 2, Checksum.compute(b, from: o, count: bufferLength))
    }
}
