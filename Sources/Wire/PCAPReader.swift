extension PCAP {
    /// Reads a capture fed in pieces of any size (a large upload read from disk): each `feed`
    /// answers the packets whose records are whole so far, `finish` those of a clean end. Only a
    /// record's worth of bytes waits between pieces, so memory does not grow with the file.
    public struct Reader {
        private enum Format { case unknown, classic(little: Bool, nano: Bool), ng }
        private var format = Format.unknown
        /// Bytes not yet read as records, and the file offset of the first of them.
        private var buf: [UInt8] = []
        private var base = 0
        /// The byte order of the current pcapng section, and per interface its link type and ticks per second.
        private var little = true
        private var interfaces: [(link: UInt32, perSecond: UInt64)] = []

        /// A pcapng block longer than this is refused rather than waited for: the reader holds
        /// at most one block (a packet block is at most 256 KiB plus its options).
        public static let maxBlockBytes = 16 << 20

        public init() {}

        /// File offset of the next byte not yet read as part of a record.
        public var offset: Int { base }

        public mutating func feed(_ bytes: some Collection<UInt8>) throws(Failure) -> [Packet] {
            buf.append(contentsOf: bytes)
            return try parse(final: false)
        }

        /// The end of the file: what waits must be whole records.
        public mutating func finish() throws(Failure) -> [Packet] { try parse(final: true) }

        private mutating func parse(final: Bool) throws(Failure) -> [Packet] {
            var out: [Packet] = []
            var o = 0
            if case .unknown = format {
                guard buf.count >= 4 else {
                    if final { throw Failure(offset: 0, message: "too short for a capture file header") }
                    return out
                }
                if u32le(0) == 0x0a0d0d0a {
                    format = .ng
                } else {
                    guard buf.count >= 24 else {
                        if final { throw Failure(offset: 0, message: "too short for a pcap header (24 bytes)") }
                        return out
                    }
                    let (little, nano): (Bool, Bool) = switch u32le(0) {
                    case 0xa1b2c3d4: (true, false)
                    case 0xa1b23c4d: (true, true)
                    case 0xd4c3b2a1: (false, false)
                    case 0x4d3cb2a1: (false, true)
                    default: throw Failure(offset: 0, message: "not a pcap or pcapng file (magic 0x\(String(u32le(0), radix: 16)))")
                    }
                    self.little = little
                    let link = u32(20) & 0x0fff_ffff
                    guard link == PCAP.ethernet else { throw Failure(offset: 20, message: "link type \(link) (only Ethernet, 1, is read)", unsupported: true) }
                    format = .classic(little: little, nano: nano)
                    o = 24
                }
            }
            switch format {
            case .classic(_, let nano): try classic(&o, nano: nano, final: final, into: &out)
            case .ng: try ng(&o, final: final, into: &out)
            case .unknown: break
            }
            buf.removeFirst(o)
            base += o
            return out
        }

        private func classic(_ o: inout Int, nano: Bool, final: Bool, into out: inout [Packet]) throws(Failure) {
            while o < buf.count {
                guard o + 16 <= buf.count else {
                    if final { throw Failure(offset: base + o, message: "truncated packet record header") }
                    return
                }
                let sec = UInt64(u32(o)), frac = UInt64(u32(o + 4)), incl = Int(u32(o + 8))
                guard incl <= 262_144 else {
                    throw Failure(offset: base + o + 8, message: "packet of \(incl) bytes runs past the end of the file")
                }
                if o + 16 + incl > buf.count {
                    if final { throw Failure(offset: base + o + 8, message: "packet of \(incl) bytes runs past the end of the file") }
                    return
                }
                out.append(Packet(timeNs: sec &* 1_000_000_000 &+ (nano ? frac : frac &* 1000), frame: Array(buf[(o + 16)..<(o + 16 + incl)])))
                o += 16 + incl
            }
        }

        private mutating func ng(_ o: inout Int, final: Bool, into out: inout [Packet]) throws(Failure) {
            while o < buf.count {
                guard o + 12 <= buf.count else {
                    if final { throw Failure(offset: base + o, message: "truncated block header") }
                    return
                }
                // The section header's type reads the same in either byte order.
                let type = u32(o)
                if type == 0x0a0d0d0a {
                    // A section header: its byte-order magic decides how the section reads.
                    guard o + 28 <= buf.count else {
                        if final { throw Failure(offset: base + o, message: "truncated section header") }
                        return
                    }
                    let bom = u32le(o + 8)
                    guard bom == 0x1a2b3c4d || bom == 0x4d3c2b1a else { throw Failure(offset: base + o + 8, message: "bad byte-order magic") }
                    little = bom == 0x1a2b3c4d
                    interfaces = []
                }
                let len = Int(u32(o + 4))
                guard len >= 12, len % 4 == 0, o + len <= buf.count || !final && len <= Reader.maxBlockBytes else {
                    let within = len >= 12 && len % 4 == 0 && !final ? "over \(Reader.maxBlockBytes) bytes, the longest block this reads" : "not a multiple of 4 within the file"
                    throw Failure(offset: base + o + 4, message: "block length \(len) is \(within)")
                }
                guard o + len <= buf.count else { return }
                try block(type, at: o, len: len, into: &out)
                o += len
            }
        }

        private mutating func block(_ type: UInt32, at o: Int, len: Int, into out: inout [Packet]) throws(Failure) {
            switch type {
            case 1:
                // Interface description: link type, then options (if_tsresol, code 9).
                guard len >= 20 else { throw Failure(offset: base + o, message: "short interface description") }
                let link = UInt32(u16(o + 8))
                var perSecond: UInt64 = 1_000_000
                var p = o + 16
                while p + 4 <= o + len - 4 {
                    let code = u16(p), olen = Int(u16(p + 2))
                    if code == 0 { break }
                    if code == 9, olen == 1, p + 4 < buf.count {
                        let r = buf[p + 4]
                        perSecond = r & 0x80 == 0 ? PCAP.pow(10, Int(r)) : PCAP.pow(2, Int(r & 0x7f))
                    }
                    p += 4 + (olen + 3) / 4 * 4
                }
                interfaces.append((link, perSecond))
            case 6:
                // Enhanced packet: interface, timestamp (high, low), captured and original lengths.
                guard len >= 32 else { throw Failure(offset: base + o, message: "short enhanced packet block") }
                let ifc = Int(u32(o + 8))
                guard ifc < interfaces.count else { throw Failure(offset: base + o + 8, message: "packet on interface \(ifc), which no description names") }
                guard interfaces[ifc].link == PCAP.ethernet else {
                    throw Failure(offset: base + o + 8, message: "link type \(interfaces[ifc].link) (only Ethernet, 1, is read)", unsupported: true)
                }
                let ticks = UInt64(u32(o + 12)) << 32 | UInt64(u32(o + 16))
                let cap = Int(u32(o + 20))
                guard 28 + cap <= len - 4 else { throw Failure(offset: base + o + 20, message: "captured length \(cap) runs past its block") }
                let per = interfaces[ifc].perSecond
                let ns = per >= 1_000_000_000 ? ticks / (per / 1_000_000_000) : ticks &* (1_000_000_000 / per)
                out.append(Packet(timeNs: ns, frame: Array(buf[(o + 28)..<(o + 28 + cap)]), interface: ifc))
            case 3:
                // Simple packet: interface 0, no timestamp.
                guard !interfaces.isEmpty, interfaces[0].link == PCAP.ethernet else {
                    throw Failure(offset: base + o, message: "simple packet without an Ethernet interface", unsupported: true)
                }
                guard len >= 16 else { throw Failure(offset: base + o, message: "short simple packet block") }
                let orig = Int(u32(o + 8))
                let cap = min(orig, len - 16)
                out.append(Packet(timeNs: 0, frame: Array(buf[(o + 12)..<(o + 12 + cap)])))
            default:
                break   // name resolution, statistics, custom blocks: nothing to inject
            }
        }

        private func u32le(_ p: Int) -> UInt32 { UInt32(buf[p]) | UInt32(buf[p + 1]) << 8 | UInt32(buf[p + 2]) << 16 | UInt32(buf[p + 3]) << 24 }
        private func u32(_ p: Int) -> UInt32 {
            little ? u32le(p) : UInt32(buf[p]) << 24 | UInt32(buf[p + 1]) << 16 | UInt32(buf[p + 2]) << 8 | UInt32(buf[p + 3])
        }
        private func u16(_ p: Int) -> UInt16 { little ? UInt16(buf[p]) | UInt16(buf[p + 1]) << 8 : UInt16(buf[p]) << 8 | UInt16(buf[p + 1]) }
    }
}
