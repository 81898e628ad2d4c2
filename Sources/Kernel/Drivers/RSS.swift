import Wire

/// Receive-side scaling: the Toeplitz hash (Microsoft RSS spec) and the indirection table.
public struct RSS: Sendable {
    /// The key of the RSS verification suite; used by default so runs are deterministic
    /// (the kernel's netdev_rss_key is random at boot).
    public static let verificationKey: [UInt8] = [
        0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
        0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
        0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
    ]

    public var key: [UInt8]
    /// Queue per hash bucket; the low bits of the hash index it (128 entries by default).
    public var indirection: [Int]

    /// Per input byte position (36: IPv6 addresses and ports, the longest input) and byte value,
    /// the XOR that byte adds: the Toeplitz hash becomes one table lookup per input byte.
    private let table: [UInt32]
    static let positions = 36

    public init(key: [UInt8] = RSS.verificationKey, indirection: [Int]) {
        self.key = key; self.indirection = indirection
        var t = [UInt32](repeating: 0, count: RSS.positions * 256)
        for pos in 0..<RSS.positions {
            for v in 0..<256 {
                var input = [UInt8](repeating: 0, count: pos + 1)
                input[pos] = UInt8(v)
                t[pos * 256 + v] = RSS.toeplitz(key: key, input: input)
            }
        }
        table = t
    }

    /// `ethtool_rxfh_indir_default`: entry i is queue i mod n.
    public static func defaultIndirection(queues: Int, size: Int = 128) -> [Int] { (0..<size).map { $0 % queues } }

    /// Toeplitz: for each input bit set, XOR in the 32 key bits starting at that bit position.
    public static func toeplitz(key: [UInt8], input: [UInt8]) -> UInt32 {
        var result: UInt32 = 0
        var window = UInt32(key[0]) << 24 | UInt32(key[1]) << 16 | UInt32(key[2]) << 8 | UInt32(key[3])
        var next = 4
        for byte in input {
            let incoming = next < key.count ? key[next] : 0
            next += 1
            for bit in 0..<8 {
                if byte & (0x80 >> UInt8(bit)) != 0 { result ^= window }
                window = window << 1 | UInt32((incoming >> UInt8(7 - bit)) & 1)
            }
        }
        return result
    }

    /// The NIC's hash of a frame: the addresses plus TCP/UDP ports when the packet is not a
    /// fragment, else the two addresses (IPv4, or IPv6 past its extension headers); 0 (and queue 0)
    /// for anything else.
    public func hash(frame b: [UInt8]) -> UInt32 {
        var off = EthernetFrame.headerLength
        guard b.count >= off + 20 else { return 0 }
        var type = b.be16(12)
        if type == EtherType.vlan, b.count >= off + 24 { type = b.be16(16); off += 4 }
        if type == EtherType.ipv6 {
            guard b.count >= off + 40, b[off] >> 4 == 6 else { return 0 }
            var h = mix(b, at: off + 8, count: 32, position: 0)
            // The common case (TCP or UDP right after the fixed header) without walking the chain.
            let next = b[off + 6]
            let l4: (proto: UInt8, offset: Int, fragOff: Int)? = next == IPProtocol.tcp || next == IPProtocol.udp ? (next, off + 40, 0)
                : hasFragmentHeader(b, off) ? nil : ipv6_skip_exthdr(b, from: off, end: b.count)
            if let l4, l4.fragOff == 0, l4.proto == IPProtocol.tcp || l4.proto == IPProtocol.udp, b.count >= l4.offset + 4 {
                h ^= mix(b, at: l4.offset, count: 4, position: 32)
            }
            return h
        }
        guard type == EtherType.ipv4, b[off] >> 4 == 4 else { return 0 }
        let ihl = Int(b[off] & 0x0f) * 4
        var h = mix(b, at: off + 12, count: 8, position: 0)
        let proto = b[off + 9]
        let fragment = b.be16(off + 6) & 0x3fff != 0
        if (proto == IPProtocol.tcp || proto == IPProtocol.udp) && !fragment && ihl >= 20 && b.count >= off + ihl + 4 {
            h ^= mix(b, at: off + ihl, count: 4, position: 8)
        }
        return h
    }

    /// The XOR of `count` input bytes from `b[at...]` standing at input positions `position...`:
    /// one range check, then unchecked loads.
    @inline(__always) private func mix(_ b: [UInt8], at o: Int, count n: Int, position p: Int) -> UInt32 {
        precondition(o >= 0 && o + n <= b.count && p >= 0 && p + n <= RSS.positions)
        return table.withUnsafeBufferPointer { t in
            b.withUnsafeBufferPointer { f in
                var h: UInt32 = 0
                for i in 0..<n { h ^= t[(p &+ i) &* 256 &+ Int(f[o &+ i])] }
                return h
            }
        }
    }

    /// A first fragment has its ports, but the rest of its datagram does not: hash none of them on ports.
    private func hasFragmentHeader(_ b: [UInt8], _ nh: Int) -> Bool { ipv6_find_hdr(b, nh: nh, end: b.count, target: IPProtocol.fragment) != nil }

    public func queue(for hash: UInt32) -> Int { indirection[Int(hash) & (indirection.count - 1)] }
}
