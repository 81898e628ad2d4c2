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

    /// The packets of a pcap or pcapng file.
    public static func read(_ b: [UInt8]) throws(Failure) -> [Packet] {
        guard b.count >= 4 else { throw Failure(offset: 0, message: "too short for a capture file header") }
        let magic = UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
        if magic == 0x0a0d0d0a { return try readNG(b) }
        return try readClassic(b)
    }

    private static func readClassic(_ b: [UInt8]) throws(Failure) -> [Packet] {
        guard b.count >= 24 else { throw Failure(offset: 0, message: "too short for a pcap header (24 bytes)") }
        let le = UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
        let (little, nano): (Bool, Bool) = switch le {
        case 0xa1b2c3d4: (true, false)
        case 0xa1b23c4d: (true, true)
        case 0xd4c3b2a1: (false, false)
        case 0x4d3cb2a1: (false, true)
        default: throw Failure(offset: 0, message: "not a pcap or pcapng file (magic 0x\(String(le, radix: 16)))")
        }
        func u32(_ o: Int) -> UInt32 {
            little ? UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
                : UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
        }
        let link = u32(20) & 0x0fff_ffff
        guard link == ethernet else { throw Failure(offset: 20, message: "link type \(link) (only Ethernet, 1, is read)", unsupported: true) }
        var out: [Packet] = []
        var o = 24
        while o < b.count {
            guard o + 16 <= b.count else { throw Failure(offset: o, message: "truncated packet record header") }
            let sec = UInt64(u32(o)), frac = UInt64(u32(o + 4)), incl = Int(u32(o + 8))
            guard incl <= 262_144, o + 16 + incl <= b.count else { throw Failure(offset: o + 8, message: "packet of \(incl) bytes runs past the end of the file") }
            out.append(Packet(timeNs: sec &* 1_000_000_000 &+ (nano ? frac : frac &* 1000), frame: Array(b[(o + 16)..<(o + 16 + incl)])))
            o += 16 + incl
        }
        return out
    }

    private static func readNG(_ b: [UInt8]) throws(Failure) -> [Packet] {
        var out: [Packet] = []
        var little = true
        // Per interface of the current section: link type and ticks per second.
        var interfaces: [(link: UInt32, perSecond: UInt64)] = []
        var o = 0
        func u32(_ p: Int) -> UInt32 {
            little ? UInt32(b[p]) | UInt32(b[p + 1]) << 8 | UInt32(b[p + 2]) << 16 | UInt32(b[p + 3]) << 24
                : UInt32(b[p]) << 24 | UInt32(b[p + 1]) << 16 | UInt32(b[p + 2]) << 8 | UInt32(b[p + 3])
        }
        func u16(_ p: Int) -> UInt16 { little ? UInt16(b[p]) | UInt16(b[p + 1]) << 8 : UInt16(b[p]) << 8 | UInt16(b[p + 1]) }
        while o < b.count {
            guard o + 12 <= b.count else { throw Failure(offset: o, message: "truncated block header") }
            var type = u32(o)
            if type == 0x0a0d0d0a {
                // A section header: its byte-order magic decides how the section reads.
                guard o + 28 <= b.count else { throw Failure(offset: o, message: "truncated section header") }
                let bom = UInt32(b[o + 8]) | UInt32(b[o + 9]) << 8 | UInt32(b[o + 10]) << 16 | UInt32(b[o + 11]) << 24
                guard bom == 0x1a2b3c4d || bom == 0x4d3c2b1a else { throw Failure(offset: o + 8, message: "bad byte-order magic") }
                little = bom == 0x1a2b3c4d
                interfaces = []
                type = 0x0a0d0d0a
            }
            let len = Int(u32(o + 4))
            guard len >= 12, len % 4 == 0, o + len <= b.count else { throw Failure(offset: o + 4, message: "block length \(len) is not a multiple of 4 within the file") }
            switch type {
            case 1:
                // Interface description: link type, then options (if_tsresol, code 9).
                guard len >= 20 else { throw Failure(offset: o, message: "short interface description") }
                let link = UInt32(u16(o + 8))
                var perSecond: UInt64 = 1_000_000
                var p = o + 16
                while p + 4 <= o + len - 4 {
                    let code = u16(p), olen = Int(u16(p + 2))
                    if code == 0 { break }
                    if code == 9, olen == 1, p + 4 < b.count {
                        let r = b[p + 4]
                        perSecond = r & 0x80 == 0 ? pow(10, Int(r)) : pow(2, Int(r & 0x7f))
                    }
                    p += 4 + (olen + 3) / 4 * 4
                }
                interfaces.append((link, perSecond))
            case 6:
                // Enhanced packet: interface, timestamp (high, low), captured and original lengths.
                guard len >= 32 else { throw Failure(offset: o, message: "short enhanced packet block") }
                let ifc = Int(u32(o + 8))
                guard ifc < interfaces.count else { throw Failure(offset: o + 8, message: "packet on interface \(ifc), which no description names") }
                guard interfaces[ifc].link == ethernet else {
                    throw Failure(offset: o + 8, message: "link type \(interfaces[ifc].link) (only Ethernet, 1, is read)", unsupported: true)
                }
                let ticks = UInt64(u32(o + 12)) << 32 | UInt64(u32(o + 16))
                let cap = Int(u32(o + 20))
                guard 28 + cap <= len - 4 else { throw Failure(offset: o + 20, message: "captured length \(cap) runs past its block") }
                let per = interfaces[ifc].perSecond
                let ns = per >= 1_000_000_000 ? ticks / (per / 1_000_000_000) : ticks &* (1_000_000_000 / per)
                out.append(Packet(timeNs: ns, frame: Array(b[(o + 28)..<(o + 28 + cap)]), interface: ifc))
            case 3:
                // Simple packet: interface 0, no timestamp.
                guard !interfaces.isEmpty, interfaces[0].link == ethernet else { throw Failure(offset: o, message: "simple packet without an Ethernet interface", unsupported: true) }
                guard len >= 16 else { throw Failure(offset: o, message: "short simple packet block") }
                let orig = Int(u32(o + 8))
                let cap = min(orig, len - 16)
                out.append(Packet(timeNs: 0, frame: Array(b[(o + 12)..<(o + 12 + cap)])))
            default:
                break   // name resolution, statistics, custom blocks: nothing to inject
            }
            o += len
        }
        return out
    }

    private static func pow(_ base: UInt64, _ e: Int) -> UInt64 { (0..<min(e, 19)).reduce(1) { r, _ in r * base } }

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
