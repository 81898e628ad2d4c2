/// Captures as tcpdump and Wireshark write them: classic pcap (either byte order, micro- or
/// nanosecond timestamps) and pcapng (section header, interface descriptions, enhanced and
/// simple packet blocks), Ethernet link type only.
public enum PCAP {
    public struct Packet: Equatable, Sendable {
        /// Capture time in nanoseconds since the epoch (0 where the block has none).
        public var timeNs: UInt64
        public var frame: [UInt8]
        /// The pcapng interface the packet was captured on (0 in classic pcap).
        public var interface: Int
        public init(timeNs: UInt64, frame: [UInt8], interface: Int = 0) { self.timeNs = timeNs; self.frame = frame; self.interface = interface }
    }

    public struct Failure: Error, Equatable, Sendable {
        public var offset: Int
        public var message: String
        /// A capture this reader does not take yet (another link type), rather than a broken one.
        public var unsupported = false
        public init(offset: Int, message: String, unsupported: Bool = false) { self.offset = offset; self.message = message; self.unsupported = unsupported }
        public var description: String { "at byte \(offset): \(message)" }
    }

    static let ethernet: UInt32 = 1   // LINKTYPE_ETHERNET

    /// The packets of a pcap or pcapng file held whole.
    public static func read(_ b: [UInt8]) throws(Failure) -> [Packet] {
        var r = Reader()
        return try r.feed(b) + r.finish()
    }

    static func pow(_ base: UInt64, _ e: Int) -> UInt64 { (0..<min(e, 19)).reduce(1) { r, _ in r * base } }

    /// A pcapng file (little endian, nanosecond timestamps): one interface per name, each packet
    /// with its comment (`opt_comment`), as tshark shows it under "Packet comments".
    /// `directions[i]` (when given): 1 inbound, 2 outbound, written as the packet's epb_flags.
    public static func writeNG(interfaces: [String], packets: [(interface: Int, timeNs: UInt64, frame: [UInt8], comment: String?)],
                               directions: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { out += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }
        func u16(_ v: UInt16) { out += [UInt8(v & 0xff), UInt8(v >> 8)] }
        func option(_ code: UInt16, _ value: [UInt8]) {
            u16(code); u16(UInt16(value.count)); out += value
            out += [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
        }
        func block(_ type: UInt32, _ body: () -> Void) {
            let start = out.count
            u32(type); u32(0)
            body()
            let len = UInt32(out.count - start + 4)
            u32(len)
            out[start + 4] = UInt8(len & 0xff); out[start + 5] = UInt8(len >> 8 & 0xff); out[start + 6] = UInt8(len >> 16 & 0xff); out[start + 7] = UInt8(len >> 24)
        }
        block(0x0a0d0d0a) {
            u32(0x1a2b3c4d); u16(1); u16(0)
            u32(0xffff_ffff); u32(0xffff_ffff)   // section length unknown
            option(4, Array("PacketStack".utf8))   // shb_userappl
            option(0, [])
        }
        for name in interfaces {
            block(1) {
                u16(UInt16(ethernet)); u16(0); u32(262_144)
                option(2, Array(name.utf8))   // if_name
                option(9, [9])                 // if_tsresol: nanoseconds
                option(0, [])
            }
        }
        for (k, p) in packets.enumerated() {
            block(6) {
                u32(UInt32(p.interface)); u32(UInt32(p.timeNs >> 32)); u32(UInt32(p.timeNs & 0xffff_ffff))
                u32(UInt32(p.frame.count)); u32(UInt32(p.frame.count))
                out += p.frame
                out += [UInt8](repeating: 0, count: (4 - p.frame.count % 4) % 4)
                let direction = k < directions.count ? directions[k] : 0
                if let c = p.comment { option(1, Array(c.utf8)) }   // opt_comment
                if direction != 0 { option(2, [direction, 0, 0, 0]) }   // epb_flags: bits 0-1 inbound (1) / outbound (2)
                if p.comment != nil || direction != 0 { option(0, []) }
            }
        }
        return out
    }
}
