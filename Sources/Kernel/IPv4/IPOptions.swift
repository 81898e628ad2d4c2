// net/ipv4/ip_options.c: the IPv4 header options, as __ip_options_compile reads them.

/// Where the options `__ip_options_compile` knows start (offsets from the IP header, as
/// `struct ip_options` keeps them; 0: not there), or the byte a parameter problem points at.
struct IPOptionsFound {
    var srr = 0, rr = 0, ts = 0, routerAlert = 0
    /// The source route is strict (SSRR), not loose (LSRR).
    var isStrictRoute = false
    /// The offset from the IP header of the byte the first error points at (ICMP parameter
    /// problem's pointer); nil when the options are valid.
    var problem: Int?
}

extension Stack {
    /// `__ip_options_compile` over the options of the IPv4 header at `nh` (`ihl * 4 - 20` bytes,
    /// all present) without an skb, as nft's `ipv4_find_option` calls it on a copy: nothing is
    /// written back, a source route must start at pointer 4 with whole addresses, and the caller
    /// holds CAP_NET_RAW (options the kernel does not know are taken). CIPSO is refused as without
    /// a configured DOI (`cipso_v4_validate`).
    static func ip_options_compile(_ b: [UInt8], nh: Int) -> IPOptionsFound {
        var o = IPOptionsFound()
        let end = nh + Int(b[nh] & 0x0f) * 4
        var p = nh + 20
        func fail(_ at: Int) -> IPOptionsFound { o.problem = at - nh; return o }
        while p < end {
            let l = end - p
            switch b[p] {
            case 0: return o                               // IPOPT_END
            case 1: p += 1; continue                       // IPOPT_NOOP
            default: break
            }
            guard l >= 2 else { return fail(p) }
            let optlen = Int(b[p + 1])
            guard optlen >= 2, optlen <= l else { return fail(p) }
            switch b[p] {
            case 137, 131:                                 // IPOPT_SSRR, IPOPT_LSRR
                guard optlen >= 3 else { return fail(p + 1) }
                guard b[p + 2] >= 4 else { return fail(p + 2) }
                guard o.srr == 0 else { return fail(p) }   // RFC 1812 5.2.4.1: one source route
                guard b[p + 2] == 4, optlen >= 7, (optlen - 3) & 3 == 0 else { return fail(p + 1) }
                o.isStrictRoute = b[p] == 137
                o.srr = p - nh
            case 7:                                        // IPOPT_RR
                guard o.rr == 0 else { return fail(p) }
                guard optlen >= 3 else { return fail(p + 1) }
                guard b[p + 2] >= 4 else { return fail(p + 2) }
                if Int(b[p + 2]) <= optlen, Int(b[p + 2]) + 3 > optlen { return fail(p + 2) }
                o.rr = p - nh
            case 68:                                       // IPOPT_TIMESTAMP
                guard o.ts == 0 else { return fail(p) }
                guard optlen >= 4 else { return fail(p + 1) }
                guard b[p + 2] >= 5 else { return fail(p + 2) }
                let ptr = Int(b[p + 2]), flag = b[p + 3] & 0x0f
                if ptr <= optlen {
                    guard ptr + 3 <= optlen else { return fail(p + 2) }
                    // TSANDADDR and PRESPEC need room for an address and a time.
                    if flag == 1 || flag == 3, ptr + 7 > optlen { return fail(p + 2) }
                } else if flag != 3, b[p + 3] >> 4 == 15 {
                    return fail(p + 3)                     // the overflow count is full
                }
                o.ts = p - nh
            case 148:                                      // IPOPT_RA
                guard optlen >= 4 else { return fail(p + 1) }
                if b[p + 2] == 0 && b[p + 3] == 0 { o.routerAlert = p - nh }
            case 134:                                      // IPOPT_CIPSO: no DOI configured
                return fail(p + (optlen < 8 ? 1 : 2))
            default:                                       // IPOPT_SEC, IPOPT_SID and unknown ones
                break
            }
            p += optlen
        }
        return o
    }

    /// `ipv4_find_option` (nft_exthdr.c): where the option `target` (LSRR, SSRR, RR or RA) starts,
    /// from the IP header at `nh`; nil when the header or its options are cut short or invalid
    /// (-EBADMSG), or the option is not there (a router alert counts only with value 0).
    static func ipv4_find_option(_ b: [UInt8], nh: Int, end: Int, target: UInt8) -> Int? {
        guard nh + 20 <= end, b.count >= end else { return nil }
        let optlen = Int(b[nh] & 0x0f) * 4 - 20
        guard optlen > 0, nh + 20 + optlen <= end else { return nil }
        let o = ip_options_compile(b, nh: nh)
        guard o.problem == nil else { return nil }
        switch target {
        case 131, 137: return o.srr != 0 && o.isStrictRoute == (target == 137) ? o.srr : nil
        case 7: return o.rr != 0 ? o.rr : nil
        case 148: return o.routerAlert != 0 ? o.routerAlert : nil
        default: return nil
        }
    }
}
