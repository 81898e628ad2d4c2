/// Internet checksum (RFC 1071) and its incremental update (RFC 1624).
public enum Checksum {
    /// One's-complement sum of 16-bit big-endian words, folded but not inverted.
    @inlinable
    public static func sum(_ bytes: [UInt8], from: Int, count: Int, initial: UInt32 = 0) -> UInt32 {
        precondition(from >= 0 && count >= 0 && from <= bytes.count &- count, "checksum range out of bounds")
        var acc = UInt64(initial)
        var i = from
        let end = from + count
        // 32-bit words into a 64-bit sum: 2^16 is 1 modulo 0xffff, so folding at the end gives
        // the 16-bit one's-complement sum (RFC 1071 §2(C)) at half the additions.
        bytes.withUnsafeBytes { p in
            while i + 3 < end {
                acc += UInt64(UInt32(bigEndian: p.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
                i += 4
            }
            while i + 1 < end {
                acc += UInt64(p[i]) << 8 | UInt64(p[i + 1])
                i += 2
            }
            if i < end { acc += UInt64(p[i]) << 8 }
        }
        while acc >> 16 != 0 { acc = (acc & 0xffff) + (acc >> 16) }
        return UInt32(acc)
    }

    /// The checksum field value: complement of the folded sum.
    @inlinable
    public static func finish(_ sum: UInt32) -> UInt16 {
        var s = sum
        while s >> 16 != 0 { s = (s & 0xffff) + (s >> 16) }
        return ~UInt16(s)
    }

    /// RFC 1071 checksum of a byte range.
    @inlinable
    public static func compute(_ bytes: [UInt8], from: Int = 0, count: Int? = nil) -> UInt16 {
        finish(sum(bytes, from: from, count: count ?? bytes.count - from))
    }

    /// Sum of the IPv4 pseudo-header for UDP/TCP (RFC 768, RFC 9293).
    @inlinable
    public static func pseudoHeaderSum(src: IPv4Address, dst: IPv4Address, proto: UInt8, length: Int) -> UInt32 {
        var acc = UInt32(src.raw >> 16) + UInt32(src.raw & 0xffff)
        acc += UInt32(dst.raw >> 16) + UInt32(dst.raw & 0xffff)
        acc += UInt32(proto) + UInt32(length)
        return acc
    }

    /// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one changed 16-bit word.
    public static func update(_ check: UInt16, old: UInt16, new: UInt16) -> UInt16 {
        var s = UInt32(~check) + UInt32(~old) + UInt32(new)
        while s >> 16 != 0 { s = (s & 0xffff) + (s >> 16) }
        return ~UInt16(s)
    }

    /// RFC 1624 update for a changed 32-bit word (an address).
    public static func update(_ check: UInt16, old: UInt32, new: UInt32) -> UInt16 {
        let c = update(check, old: UInt16(old >> 16), new: UInt16(new >> 16))
        return update(c, old: UInt16(old & 0xffff), new: UInt16(new & 0xffff))
    }
}

/// The pseudo-header a transport checksum covers: IPv4's (RFC 768) or IPv6's (RFC 8200 8.1),
/// held as the folded sum of the two addresses; protocol and length are added per use.
public struct PseudoHeader: Sendable {
    public let addressSum: UInt32
    public let isIPv6: Bool
    @inlinable init(addressSum: UInt32, isIPv6: Bool) { self.addressSum = addressSum; self.isIPv6 = isIPv6 }

    @inlinable public static func v4(_ src: IPv4Address, _ dst: IPv4Address) -> PseudoHeader {
        PseudoHeader(addressSum: UInt32(src.raw >> 16) + UInt32(src.raw & 0xffff) + UInt32(dst.raw >> 16) + UInt32(dst.raw & 0xffff), isIPv6: false)
    }
    @inlinable public static func v6(_ src: IPv6Address, _ dst: IPv6Address) -> PseudoHeader {
        // Eight 16-bit words of each address, summed as two 64-bit halves (no carries lost: 32 words < 2^21).
        @inline(__always) func words(_ x: UInt64) -> UInt32 {
            UInt32(x >> 48) + UInt32((x >> 32) & 0xffff) + UInt32((x >> 16) & 0xffff) + UInt32(x & 0xffff)
        }
        let acc = words(UInt64(truncatingIfNeeded: src.raw >> 64)) + words(UInt64(truncatingIfNeeded: src.raw))
            + words(UInt64(truncatingIfNeeded: dst.raw >> 64)) + words(UInt64(truncatingIfNeeded: dst.raw))
        return PseudoHeader(addressSum: acc, isIPv6: true)
    }
    /// The sum with the upper-layer protocol and length (32-bit in IPv6, so a jumbogram's high half counts).
    @inlinable public func sum(proto: UInt8, length: Int) -> UInt32 {
        addressSum + UInt32(proto) + UInt32(length & 0xffff) + UInt32(length >> 16)
    }
}

/// CRC32c (Castagnoli, reflected polynomial 0x82F63B78): SCTP's checksum (RFC 9260 appendix A).
public enum CRC32c {
    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The CRC of `count` bytes from `from` (initial value all ones, inverted at the end).
    public static func checksum(_ b: [UInt8], from: Int, count: Int) -> UInt32 {
        var c: UInt32 = 0xffff_ffff
        for k in from..<(from + count) { c = table[Int((c ^ UInt32(b[k])) & 0xff)] ^ (c >> 8) }
        return ~c
    }

    /// `sctp_compute_cksum`: over the SCTP packet at `offset` with its checksum field as zero,
    /// stored in the field little-endian (cpu_to_le32), as the kernel writes it.
    public static func setSCTP(_ b: inout [UInt8], offset: Int, end: Int) {
        for k in 0..<4 { b[offset + 8 + k] = 0 }
        let c = checksum(b, from: offset, count: end - offset)
        for k in 0..<4 { b[offset + 8 + k] = UInt8(truncatingIfNeeded: c >> UInt32(8 * k)) }
    }
}
