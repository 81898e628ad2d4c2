/// How nft 1.0.6 writes a header field (`ip ttl set 23`), as `nft --debug=netlink` shows it: the
/// whole bytes around the field, widened to an aligned 16-bit word when a checksum covers the
/// header (so the kernel can fix it word by word), the checksum the kernel is asked to fix
/// (csum_type INET at csum_off), and whether the L4 checksum's pseudo-header changes too
/// (NFT_PAYLOAD_L4CSUM_PSEUDOHDR). What is not in the region stays as it was (load, bitwise, write).
public struct NFPayloadWrite: Sendable, Equatable {
    public var base: NFPayloadField.Base
    public var byteOffset: Int
    public var size: Int
    /// The field's bits within the region read as a big-endian number.
    public var shift: Int
    public var mask: UInt64
    /// Offset of the checksum from the same header start (nil: no checksum is fixed).
    public var csumOffset: Int?
    public var pseudoHeader: Bool
    /// An SCTP field: the kernel recomputes the packet's CRC32c (csum_type SCTP at offset 8).
    public var sctp = false
}

extension NFSelector {
    /// The checksum nft 1.0.6's protocol descriptions name (proto.c checksum_key, csum_type INET):
    /// udplite, dccp, ah, esp, comp and `th` have none, so writing them fixes no checksum.
    static let inetChecksumOffsets: [String: Int] = ["ip": 10, "tcp": 16, "udp": 6, "icmp": 2, "igmp": 2]
    /// Fields of the IPv4 pseudo-header (proto_ip.pseudohdr): writing one fixes the L4 checksum too.
    static let pseudoHeaderFields: Set<String> = ["ip saddr", "ip daddr", "ip protocol", "ip length"]

    /// How a `set` writes this field.
    public var payloadWrite: NFPayloadWrite? {
        guard let f = payload else { return nil }
        let proto = String(rawValue.prefix { $0 != " " })
        let csum = NFSelector.inetChecksumOffsets[proto]
        var first = f.bitOffset / 8
        let end = (f.bitOffset + f.bitLength + 7) / 8
        var size = end - first
        // stmt_evaluate_payload: an odd byte count under a checksum grows to a 16-bit word,
        // backwards when it starts on an odd byte.
        if csum != nil && size % 2 == 1 {
            size += 1
            if first % 2 == 1 { first -= 1 }
        }
        let shift = (first + size) * 8 - f.bitOffset - f.bitLength
        let mask = (f.bitLength >= 64 ? UInt64.max : (1 << UInt64(f.bitLength)) - 1) << UInt64(shift)
        return NFPayloadWrite(base: f.base, byteOffset: first, size: size, shift: shift, mask: mask, csumOffset: csum,
                              pseudoHeader: NFSelector.pseudoHeaderFields.contains(rawValue), sctp: proto == "sctp")
    }

    /// Whether `set` can write this: a header field above, or a 16- or 32-bit TCP option field
    /// (nft_exthdr_tcp_set_eval writes only those widths).
    public var isWritable: Bool {
        if let o = tcpOption { return o.bitLength == 16 || o.bitLength == 32 }
        return payloadWrite != nil
    }
}
