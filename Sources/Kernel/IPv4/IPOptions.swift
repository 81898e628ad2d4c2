import Wire

// net/ipv4/ip_options.c: the IPv4 header options, as __ip_options_compile reads them on input
// (and nft's ipv4_find_option on a copy), as __ip_options_echo and ip_options_build answer them.

/// What `__ip_options_compile` found (`struct ip_options`): where each option it knows starts
/// (offsets from the IP header; 0: not there), what the answer must fill in, or the byte the
/// first error points at.
struct IPOptionsFound {
    var srr = 0, rr = 0, ts = 0, routerAlert = 0, cipso = 0
    /// The source route is strict (SSRR), not loose (LSRR).
    var isStrictRoute = false
    var rrNeedAddr = false, tsNeedAddr = false, tsNeedTime = false
    /// Input wrote into the header (`is_changed`): forwarding recomputes its checksum.
    var changed = false
    /// The offset from the IP header of the byte the first error points at (ICMP parameter
    /// problem's pointer); nil when the options are valid.
    var problem: Int?
}

/// What the input path writes into options it compiles (an skb and its route are there).
struct IPOptionsInput {
    /// `fib_compute_spec_dst`: the address recorded for this host.
    var specDst: IPv4Address
    /// `inet_current_timestamp`: ms since midnight UTC, on the stack's clock.
    var milliseconds: UInt32
    /// `inet_addr_type(addr) == RTN_UNICAST`: a prespecified timestamp address that is not ours.
    var isUnicast: (IPv4Address) -> Bool
}

extension Stack {
    /// `__ip_options_compile` over the options of the IPv4 header at `nh` (`ihl * 4 - 20` bytes,
    /// all present). Without `input` as nft's `ipv4_find_option` calls it on a copy: nothing is
    /// written, and a source route must start at pointer 4 with whole addresses. With it, as the
    /// input path calls it: record route and timestamp get this host's address, the time and their
    /// pointers moved on, written into `b` (also before an error later in the header). The caller
    /// holds CAP_NET_RAW (options the kernel does not know are taken); CIPSO is refused as without
    /// a configured DOI (`cipso_v4_validate`).
    static func ip_options_compile(_ b: inout [UInt8], nh: Int, input: IPOptionsInput? = nil) -> IPOptionsFound {
        var o = IPOptionsFound()
        let end = nh + Int(b[nh] & 0x0f) * 4
        var p = nh + 20
        func fail(_ at: Int) -> IPOptionsFound { o.problem = at - nh; return o }
        while p < end {
            let l = end - p
            switch b[p] {
            case 0:                                        // IPOPT_END: the rest is made END too
                if input != nil, b[p..<end].contains(where: { $0 != 0 }) { for k in p..<end { b[k] = 0 }; o.changed = true }
                return o
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
                if input == nil, b[p + 2] != 4 || optlen < 7 || (optlen - 3) & 3 != 0 { return fail(p + 1) }
                o.isStrictRoute = b[p] == 137
                o.srr = p - nh
            case 7:                                        // IPOPT_RR
                guard o.rr == 0 else { return fail(p) }
                guard optlen >= 3 else { return fail(p + 1) }
                guard b[p + 2] >= 4 else { return fail(p + 2) }
                let ptr = Int(b[p + 2])
                if ptr <= optlen {
                    guard ptr + 3 <= optlen else { return fail(p + 2) }
                    if let input {
                        b.setBE32(p + ptr - 1, input.specDst.raw)
                        b[p + 2] = UInt8(ptr + 4)
                        o.changed = true
                    }
                    o.rrNeedAddr = true
                }
                o.rr = p - nh
            case 68:                                       // IPOPT_TIMESTAMP
                guard o.ts == 0 else { return fail(p) }
                guard optlen >= 4 else { return fail(p + 1) }
                guard b[p + 2] >= 5 else { return fail(p + 2) }
                let ptr = Int(b[p + 2]), flag = b[p + 3] & 0x0f
                if ptr <= optlen {
                    guard ptr + 3 <= optlen else { return fail(p + 2) }
                    var timeAt: Int?
                    switch flag {
                    case 0:                                // IPOPT_TS_TSONLY
                        if input != nil { timeAt = p + ptr - 1; b[p + 2] = UInt8(ptr + 4) }
                        o.tsNeedTime = true
                    case 1, 3:                             // IPOPT_TS_TSANDADDR, IPOPT_TS_PRESPEC
                        guard ptr + 7 <= optlen else { return fail(p + 2) }
                        if flag == 1 {
                            if let input { b.setBE32(p + ptr - 1, input.specDst.raw); timeAt = p + ptr + 3 }
                            o.tsNeedAddr = true
                        } else {
                            let addr = IPv4Address(raw: b.be32(p + ptr - 1))
                            if let input, input.isUnicast(addr) { break }
                            if input != nil { timeAt = p + ptr + 3 }
                        }
                        o.tsNeedTime = true
                        if input != nil { b[p + 2] = UInt8(ptr + 8) }
                    default:
                        break
                    }
                    if let timeAt, let input { b.setBE32(timeAt, input.milliseconds); o.changed = true }
                } else if flag != 3 {
                    let overflow = b[p + 3] >> 4
                    guard overflow != 15 else { return fail(p + 3) }   // the overflow count is full
                    if input != nil { b[p + 3] = flag | (overflow + 1) << 4; o.changed = true }
                }
                o.ts = p - nh
            case 148:                                      // IPOPT_RA
                guard optlen >= 4 else { return fail(p + 1) }
                if b[p + 2] == 0 && b[p + 3] == 0 { o.routerAlert = p - nh }
            case 134:                                      // IPOPT_CIPSO: no DOI configured
                guard o.cipso == 0 else { return fail(p) }
                o.cipso = p - nh
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
        var copy = b   // not written without an input context: no copy is made
        let o = ip_options_compile(&copy, nh: nh)
        guard o.problem == nil else { return nil }
        switch target {
        case 131, 137: return o.srr != 0 && o.isStrictRoute == (target == 137) ? o.srr : nil
        case 7: return o.rr != 0 ? o.rr : nil
        case 148: return o.routerAlert != 0 ? o.routerAlert : nil
        default: return nil
        }
    }

    /// `__ip_options_echo` then `ip_options_build`: the options an ICMP error carries back for the
    /// packet `skb` (its header as input left it): record route and timestamp copied with this
    /// host's address (`from`) and the time filled in where there is room, CIPSO copied, padded to
    /// four bytes; nil (no error is sent) where a pointer leaves no room for what the kernel
    /// would fill in. A source route is not echoed (the model drops source-routed packets first).
    func ip_options_echo(_ skb: SkBuff, _ o: IPOptionsFound, from: IPv4Address) -> [UInt8]? {
        let b = skb.data, nh = skb.networkHeader
        // A rule may have rewritten the header since input (raw payload writes): what no longer
        // fits in it is not echoed.
        for at in [o.rr, o.ts, o.cipso] where at != 0 {
            guard nh + at + 3 <= skb.len, nh + at + Int(b[nh + at + 1]) <= skb.len else { return nil }
        }
        var out: [UInt8] = []
        if o.rr != 0 {
            let at = out.count, optlen = Int(b[nh + o.rr + 1]), ptr = Int(b[nh + o.rr + 2])
            out += b[(nh + o.rr)..<(nh + o.rr + optlen)]
            if o.rrNeedAddr && ptr <= optlen {
                guard ptr + 3 <= optlen else { return nil }
                out[at + 2] = UInt8(ptr + 4)
                out.setBE32(at + ptr - 1, from.raw)
            }
        }
        if o.ts != 0 {
            let at = out.count, optlen = Int(b[nh + o.ts + 1])
            var ptr = Int(b[nh + o.ts + 2])
            out += b[(nh + o.ts)..<(nh + o.ts + optlen)]
            if ptr <= optlen {
                var needAddr = false, needTime = false
                if o.tsNeedAddr {
                    guard ptr + 3 <= optlen else { return nil }
                    needAddr = true; ptr += 4
                }
                if o.tsNeedTime {
                    guard ptr + 3 <= optlen else { return nil }
                    if out[at + 3] & 0x0f != 3 { needTime = true; ptr += 4 }
                    else if ptr + 7 <= optlen {
                        if !inetAddrIsUnicast(IPv4Address(raw: out.be32(at + ptr - 1))) { needTime = true; ptr += 8 }
                    }
                }
                out[at + 2] = UInt8(ptr)
                if needAddr { out.setBE32(at + ptr - 9, from.raw) }
                if needTime { out.setBE32(at + ptr - 5, currentTimestamp(cpu: skb.cpu)) }
            }
        }
        if o.cipso != 0 { out += b[(nh + o.cipso)..<(nh + o.cipso + Int(b[nh + o.cipso + 1]))] }
        while out.count & 3 != 0 { out.append(0) }
        return out
    }

    /// `inet_addr_type(addr) == RTN_UNICAST`: not zero, broadcast, multicast or one of ours.
    func inetAddrIsUnicast(_ a: IPv4Address) -> Bool {
        !(a.isZeronet || a == .broadcast || a.isMulticast || fib.isLocal(a) || fib.localType(a) == .broadcast)
    }

    /// `inet_current_timestamp`: ms since midnight UTC on the stack's clock.
    func currentTimestamp(cpu: Int) -> UInt32 {
        let now = config.epochNs &+ clocks[cpu]
        return UInt32((now / 1_000_000_000) % 86_400) * 1000 + UInt32((now % 1_000_000_000) / 1_000_000)
    }
}

// net/ipv4/ip_input.c, ip_options.c: options on input and when forwarding.
extension Stack {
    /// `ip_rcv_options`, after the input route is known: the options compiled with this host's
    /// address (the packet's destination when it is ours, else the source toward its sender) and
    /// the time written in; invalid ones answered with a parameter problem pointing at the bad
    /// byte (InHdrErrors); a source route dropped, as `accept_source_route` is 0 (the default,
    /// and the model has no other). Nil: the packet goes on.
    func ip_rcv_options(_ skb: SkBuff, local: Bool) -> PathEnd? {
        let nh = skb.networkHeader
        guard skb.data[nh] & 0x0f > 5 else { return nil }
        let src = IPv4Address(raw: skb.data.be32(nh + 12)), dst = IPv4Address(raw: skb.data.be32(nh + 16))
        // fib_compute_spec_dst: RTCF_LOCAL takes the destination; otherwise the route back's source.
        let specDst = local ? dst : src.isZeronet ? inet_select_addr(skb.dev, src) : routeOutput(src)?.src ?? inet_select_addr(skb.dev, src)
        let input = IPOptionsInput(specDst: specDst, milliseconds: currentTimestamp(cpu: skb.cpu), isUnicast: { [unowned self] in self.inetAddrIsUnicast($0) })
        let o = Stack.ip_options_compile(&skb.data, nh: nh, input: input)
        skb.ipOptions = o
        if let at = o.problem {
            icmp_send(skb, type: 12, code: 0, info: UInt32(at) << 24)   // ICMP_PARAMETERPROB
            snmp.ip.InHdrErrors += 1
            return drop(.IP_INHDR, "invalid IP options: parameter problem at byte \(at)")
        }
        if o.srr != 0 {
            return drop(.NOT_SPECIFIED, "source route option: net.ipv4.conf.\(devices[skb.dev].name).accept_source_route is 0")
        }
        return nil
    }

    /// `ip_forward_options`: a record route gets the address this host sends on toward the
    /// destination (`ip_rt_get_source`), and a header input changed gets its checksum again.
    func ip_forward_options(_ skb: SkBuff, _ o: IPOptionsFound) {
        let nh = skb.networkHeader
        var changed = o.changed
        if o.rrNeedAddr, nh + o.rr + 3 <= skb.len, case let at = nh + o.rr + Int(skb.data[nh + o.rr + 2]) - 5, at >= nh + o.rr, at + 4 <= skb.len {
            let dst = IPv4Address(raw: skb.data.be32(nh + 16))
            skb.data.setBE32(at, (routeOutput(dst)?.src ?? inet_select_addr(skb.dev, dst)).raw)
            changed = true
        }
        if changed { skb.ip_send_check() }
    }
}
