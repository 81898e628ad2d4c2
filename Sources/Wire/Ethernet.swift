/// EtherType values this stack knows.
public enum EtherType {
    public static let ipv4: UInt16 = 0x0800
    public static let arp: UInt16 = 0x0806
    public static let vlan: UInt16 = 0x8100
    public static let ipv6: UInt16 = 0x86dd
}

/// A view over an Ethernet II frame (no FCS).
public struct EthernetFrame {
    enum Field {
        static let dst = 0..<6
        static let src = 6..<12
        static let ethertype = 12..<14
        static let payload = 14
    }
    public static let headerLength = 14

    public private(set) var buffer: [UInt8]

    /// Checks that the buffer holds at least the 14-byte header.
    public init(checking buffer: [UInt8]) throws(WireError) {
        guard buffer.count >= EthernetFrame.headerLength else { throw .truncated }
        self.buffer = buffer
    }

    public var dst: MACAddress { MACAddress(array: buffer, at: Field.dst.lowerBound) }
    public var src: MACAddress { MACAddress(array: buffer, at: Field.src.lowerBound) }
    public var ethertype: UInt16 { buffer.be16(Field.ethertype.lowerBound) }
    public var payloadOffset: Int { Field.payload }

    public mutating func setDst(_ m: MACAddress) { m.write(into: &buffer, at: Field.dst.lowerBound) }
    public mutating func setSrc(_ m: MACAddress) { m.write(into: &buffer, at: Field.src.lowerBound) }
    public mutating func setEthertype(_ t: UInt16) { buffer.setBE16(Field.ethertype.lowerBound, t) }
}

/// The header fields of an Ethernet II frame.
public struct EthernetRepr: Equatable, Sendable {
    public var dst: MACAddress
    public var src: MACAddress
    public var ethertype: UInt16

    public init(dst: MACAddress, src: MACAddress, ethertype: UInt16) {
        self.dst = dst; self.src = src; self.ethertype = ethertype
    }
    public static func parse(_ f: EthernetFrame) -> EthernetRepr {
        EthernetRepr(dst: f.dst, src: f.src, ethertype: f.ethertype)
    }
    public var bufferLength: Int { EthernetFrame.headerLength }
    public func emit(into b: inout [UInt8], at o: Int = 0) {
        dst.write(into: &b, at: o)
        src.write(into: &b, at: o + 6)
        b.setBE16(o + 12, ethertype)
    }
}

/// An 802.1Q tag: the four bytes after the source MAC when the EtherType is 0x8100.
public struct VLANTagRepr: Equatable, Sendable {
    public static let length = 4
    public var pcp: UInt8
    public var dei: Bool
    public var vid: UInt16
    /// The EtherType of what follows the tag.
    public var innerEthertype: UInt16

    public init(pcp: UInt8 = 0, dei: Bool = false, vid: UInt16, innerEthertype: UInt16) {
        self.pcp = pcp; self.dei = dei; self.vid = vid; self.innerEthertype = innerEthertype
    }
    /// Parses the tag that starts at `o` (the TCI), after a 0x8100 TPID.
    public static func parse(_ b: [UInt8], at o: Int) throws(WireError) -> VLANTagRepr {
        guard b.count >= o + 4 else { throw .truncated }
        let tci = b.be16(o)
        return VLANTagRepr(pcp: UInt8(tci >> 13), dei: tci & 0x1000 != 0, vid: tci & 0x0fff, innerEthertype: b.be16(o + 2))
    }
    public func emit(into b: inout [UInt8], at o: Int) {
        b.setBE16(o, UInt16(pcp & 7) << 13 | (dei ? 0x1000 : 0) | (vid & 0x0fff))
        b.setBE16(o + 2, innerEthertype)
    }
}
