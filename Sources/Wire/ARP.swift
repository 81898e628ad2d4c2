/// A view over an ARP packet for Ethernet/IPv4 (RFC 826): htype 1, ptype 0x0800, hlen 6, plen 4.
public struct ARPPacket {
    enum Field {
        static let htype = 0, ptype = 2, hlen = 4, plen = 5, oper = 6
        static let sha = 8, spa = 14, tha = 18, tpa = 24
    }
    public static let length = 28
    public private(set) var buffer: [UInt8]
    public let offset: Int

    public init(checking buffer: [UInt8], at offset: Int = 0) throws(WireError) {
        guard buffer.count >= offset + ARPPacket.length else { throw .truncated }
        self.buffer = buffer; self.offset = offset
    }
    public var htype: UInt16 { buffer.be16(offset + Field.htype) }
    public var ptype: UInt16 { buffer.be16(offset + Field.ptype) }
    public var hlen: UInt8 { buffer[offset + Field.hlen] }
    public var plen: UInt8 { buffer[offset + Field.plen] }
    public var operation: UInt16 { buffer.be16(offset + Field.oper) }
    public var senderMAC: MACAddress { MACAddress(array: buffer, at: offset + Field.sha) }
    public var senderIP: IPv4Address { IPv4Address(raw: buffer.be32(offset + Field.spa)) }
    public var targetMAC: MACAddress { MACAddress(array: buffer, at: offset + Field.tha) }
    public var targetIP: IPv4Address { IPv4Address(raw: buffer.be32(offset + Field.tpa)) }
}

public struct ARPRepr: Equatable, Sendable {
    public static let request: UInt16 = 1
    public static let reply: UInt16 = 2
    public var operation: UInt16
    public var senderMAC: MACAddress
    public var senderIP: IPv4Address
    public var targetMAC: MACAddress
    public var targetIP: IPv4Address

    public init(operation: UInt16, senderMAC: MACAddress, senderIP: IPv4Address, targetMAC: MACAddress, targetIP: IPv4Address) {
        self.operation = operation; self.senderMAC = senderMAC; self.senderIP = senderIP
        self.targetMAC = targetMAC; self.targetIP = targetIP
    }

    /// Accepts only Ethernet/IPv4 ARP, as `arp_rcv` does for an Ethernet device.
    public static func parse(_ p: ARPPacket) throws(WireError) -> ARPRepr {
        guard p.htype == 1, p.ptype == EtherType.ipv4, p.hlen == 6, p.plen == 4 else {
            throw .malformed("ARP is not Ethernet/IPv4")
        }
        return ARPRepr(operation: p.operation, senderMAC: p.senderMAC, senderIP: p.senderIP,
                       targetMAC: p.targetMAC, targetIP: p.targetIP)
    }
    public var bufferLength: Int { ARPPacket.length }
    public func emit(into b: inout [UInt8], at o: Int) {
        b.setBE16(o, 1); b.setBE16(o + 2, EtherType.ipv4); b[o + 4] = 6; b[o + 5] = 4
        b.setBE16(o + 6, operation)
        senderMAC.write(into: &b, at: o + 8); b.setBE32(o + 14, senderIP.raw)
        targetMAC.write(into: &b, at: o + 18); b.setBE32(o + 24, targetIP.raw)
    }
}
