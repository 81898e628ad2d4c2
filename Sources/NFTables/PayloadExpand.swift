// nft's listing of raw payload matches over known headers (netlink_delinearize.c's
// payload_match_expand over payload.c's payload_expr_expand): a raw equality that starts where a
// header field of the rule's protocol starts lists as the fields it covers in turn, a field it
// ends inside as a prefix of that field (`ip length 0/8`), and bits past the last field raw; a
// masked raw load whose mask selects one field lists as that field. What matches is unchanged:
// the fields' equalities are the raw equality's parts.
extension NFParser {
    /// The header fields of `base` in the rule's protocol context, by offset (nft's template
    /// order): IPv4 or IPv6 at the network header (the table's family or `meta nfproto`), TCP or
    /// UDP at the transport header (the rule's `meta l4proto`/`ip protocol`, or a field of it).
    static func templates(_ base: NFPayloadField.Base, _ context: RuleContext) -> [(NFSelector, NFPayloadField)] {
        let want: (String, NFPayloadField) -> Bool
        switch base {
        case .network where context.ipv4 || context.family == .ip:
            want = { n, p in n.hasPrefix("ip ") && !p.ipv6 }
        case .network where context.family == .ip6 || context.nfprotoDependency?.nfproto == 10:
            want = { n, p in n.hasPrefix("ip6 ") && p.ipv6 }
        case .transport where context.l4 == 6 || context.l4 == 17:
            let l4 = UInt8(context.l4!)
            want = { _, p in p.l4proto == l4 }
        default: return []
        }
        return NFSelector.payloadTemplates.filter { want($0.0.rawValue, $0.1) && $0.1.base == base }
    }

    /// The statements a raw `==` of `value` over `f` lists as, or nil when it stays raw (no field
    /// starts where it does, or it is one whole field: the caller's single template).
    static func expandRaw(_ f: NFPayloadField, _ value: UInt128, _ context: RuleContext) -> [NFStatement]? {
        let tmpls = templates(f.base, context)
        guard !tmpls.isEmpty else { return nil }
        var off = f.bitOffset, left = f.bitLength
        var out: [NFStatement] = []
        func bits(_ n: Int) -> UInt128 { n >= 128 ? .max : (UInt128(1) << UInt128(n)) - 1 }
        while left > 0, let (sel, p) = tmpls.first(where: { $0.1.bitOffset == off }) {
            let take = min(p.bitLength, left)
            let part = (value >> UInt128(left - take)) & bits(take)
            let shift = UInt128(p.bitLength - take)
            let lo = part << shift, hi = lo | bits(p.bitLength - take)
            if sel.isAddress6 {
                let text = take == p.bitLength ? IPv6Text.text(lo) : IPv6Text.text(lo) + "/\(take)"
                out.append(.match(sel, mask: nil, op: .implicit, value: .range6(lo, hi, text: text)))
            } else {
                let (l, h) = (UInt64(lo), UInt64(hi))
                let text = take == p.bitLength ? NFPrinter.valueText(l, sel)
                    : sel.isAddress ? NFPrinter.ipv4Range(UInt32(l), UInt32(h)) : NFPrinter.valueText(l, sel) + "/\(take)"
                // (A flags field listed from raw bits is compared whole: `tcp flags == 0x12`.)
                if sel.isFlags { out.append(.match(sel, mask: nil, op: .eq, value: .range(l, l, text: "0x" + String(l, radix: 16)))) }
                else { out.append(.match(sel, mask: nil, op: .implicit, value: .range(l, h, text: text))) }
            }
            off += take; left -= take
        }
        guard !out.isEmpty else { return nil }
        if left > 0 {
            // Bits past the last field stay raw, whole bytes only (else the whole match does).
            guard off % 8 == 0, left % 8 == 0, left <= 64 else { return nil }
            let v = UInt64(value & bits(left))
            out.append(.rawMatch(NFPayloadField(base: f.base, bitOffset: off, bitLength: left, l4proto: nil), mask: nil, op: .implicit,
                                 value: .range(v, v, text: "0x" + String(v, radix: 16))))
        }
        return out
    }

    /// A masked raw load whose mask is exactly the bits of whole header fields lists as them
    /// (`@nh,0,8 & 0xf0 == 0x40` is `ip version 4`; `@nh,0,16 & 0xff0` in IPv6 is dscp and ecn); a
    /// load that is one field keeps its mask on it (`tcp dport & 65280 == 256`). An inequality over
    /// several fields stays raw (nft lists each field `!=`, which says something else).
    static func maskedRaw(_ f: NFPayloadField, mask: UInt64, op: NFOp, value: UInt64, _ context: RuleContext) -> [NFStatement]? {
        guard op == .eq || op == .implicit || op == .ne, f.bitLength <= 64, mask != 0, value & ~mask == 0 else { return nil }
        let tmpls = templates(f.base, context).filter { !$0.0.isAddress6 }
        if let (sel, _) = tmpls.first(where: { $0.1.bitOffset == f.bitOffset && $0.1.bitLength == f.bitLength }) {
            return [.match(sel, mask: mask, op: op == .implicit ? .eq : op, value: .range(value, value, text: NFPrinter.valueText(value, sel)))]
        }
        let width = f.bitLength, low = mask.trailingZeroBitCount, run = mask >> UInt64(low)
        guard run & (run &+ 1) == 0 else { return nil }   // one run of bits
        let end = f.bitOffset + width - low
        var off = end - run.nonzeroBitCount
        var out: [NFStatement] = []
        while off < end, let (sel, p) = tmpls.first(where: { $0.1.bitOffset == off }), off + p.bitLength <= end {
            let v = (value >> UInt64(f.bitOffset + width - off - p.bitLength)) & ((UInt64(1) << UInt64(p.bitLength)) - 1)
            out.append(.match(sel, mask: nil, op: op == .ne ? .ne : .implicit, value: .range(v, v, text: NFPrinter.valueText(v, sel))))
            off += p.bitLength
        }
        guard off == end, !out.isEmpty, op != .ne || out.count == 1 else { return nil }
        return out
    }
}
