// nft 1.0.6's stmt_reduce / payload_do_merge (src/rule.c): header-field matches against one
// value (==, !=) are gathered until a statement that is not an expression (a counter, a verdict,
// a set...) comes after two or more of them (one or none, and 1.0.6 gathers on past it: a later
// nft fixed that); sorted by base and offset, neighbours with the same operator become one
// compare (payload_can_merge: whole bytes, at most 32 bits, or 128 on the link layer), which
// takes the place of the first of them in that order, or of a protocol field (ether type, ip
// protocol, ip6 nexthdr, icmp type...) it takes in; `nft list` splits it back in offset order.
// Other expressions (meta, ct, set lookups) stay where they are. So `icmp code 1 icmp type 2`
// lists as `icmp type 2 icmp code ...`, `ip ttl 3 meta mark 1 ip protocol tcp` as `meta mark
// 0x00000001 ip ttl 3 ip protocol tcp`, and `ip ttl 3 counter ip protocol tcp` as `counter ip ttl
// 3 ip protocol tcp`, the counter then counting before the match as the kernel's bytecode does.
// Checked against nft 1.0.6 (`--debug=netlink`).
extension NFParser {
    static func payloadMerge(_ stmts: [NFStatement]) -> [NFStatement] { payloadMergeGroups(stmts).0 }

    /// The statements, and where merged `!=` compares of two or more fields stand in them.
    static func payloadMergeGroups(_ stmts: [NFStatement]) -> ([NFStatement], [Range<Int>]) {
        var placed: [Int: [Int]] = [:], taken = Set<Int>()
        var gathered: [Int] = []
        func flush() {
            if gathered.count > 1 {
                for (at, members) in merge(gathered, stmts) { placed[at] = members; taken.formUnion(members) }
            }
            gathered = []
        }
        for (i, s) in stmts.enumerated() {
            if !s.isExpression {
                if gathered.count > 1 { flush() }
            } else if candidate(s) != nil {
                gathered.append(i)
            }
        }
        flush()
        guard !taken.isEmpty else { return (stmts, []) }
        var out: [NFStatement] = [], neq: [Range<Int>] = []
        for i in stmts.indices {
            if let g = placed[i] {
                if g.count > 1, candidate(stmts[g[0]])!.neq { neq.append(out.count..<out.count + g.count) }
                out += g.map { stmts[$0] }
            } else if !taken.contains(i) { out.append(stmts[i]) }
        }
        return (out, neq)
    }

    /// A header field matched against one value with ==, != (or no operator): what may merge.
    private static func candidate(_ s: NFStatement) -> (field: NFPayloadField, neq: Bool, protocol: Bool)? {
        guard case .match(let sel, nil, let op, let v) = s, op == .eq || op == .implicit || op == .ne, let f = sel.payload else { return nil }
        switch v {
        case .range(let lo, let hi, _) where lo == hi: break
        case .range6(let lo, let hi, _) where lo == hi: break
        default: return nil
        }
        return (f, op == .ne, NFParser.protocolKeys.contains(sel.rawValue))
    }

    /// The fields that name the next header (a protocol description's `protocol_key`: EXPR_F_PROTOCOL).
    static let protocolKeys: Set<String> = ["ether type", "vlan type", "ip protocol", "ip6 nexthdr", "icmp type", "icmpv6 type", "igmp type"]

    /// The gathered matches (indices into `stmts`) in offset order, in groups of neighbours, each
    /// with the place it takes.
    private static func merge(_ gathered: [Int], _ stmts: [NFStatement]) -> [(at: Int, members: [Int])] {
        let sorted = gathered.map { ($0, candidate(stmts[$0])!) }.sorted { a, b in
            (a.1.field.base.rank, a.1.field.bitOffset) < (b.1.field.base.rank, b.1.field.bitOffset)
        }
        var groups: [(at: Int, members: [Int])] = []
        var bits = 0, end = 0
        for (i, x) in sorted {
            let f = x.field
            if var g = groups.last, let first = candidate(stmts[g.members[0]]), first.field.base == f.base, first.neq == x.neq,
               end == f.bitOffset, f.bitOffset % 8 == 0, f.bitLength % 8 == 0, first.field.bitOffset % 8 == 0,
               bits + f.bitLength <= (f.base == .link ? 128 : 32) {
                g.members.append(i)
                if x.protocol { g.at = i }
                groups[groups.count - 1] = g
                bits += f.bitLength
            } else {
                groups.append((i, [i]))
                bits = f.bitLength
            }
            end = f.bitOffset + f.bitLength
        }
        return groups
    }
}

extension NFStatement {
    /// An expression statement (nft's STMT_EXPRESSION: a match, a lookup, a verdict map), which a
    /// payload merge looks past; anything else (counter, log, set, verdict...) ends what it gathered.
    var isExpression: Bool {
        switch self {
        case .match, .matchOr, .concatMatch, .vmap, .vmapNamed, .concatVmap, .concatVmapNamed, .rawMatch, .rawMatchWide, .tcpOptionRaw, .xfrm,
             .generatorMatch, .generatorVmap: true
        default: false
        }
    }
}

extension NFPayloadField.Base {
    /// nft's proto_bases order (link, network, transport, inner).
    var rank: Int { switch self { case .link: 0; case .network: 1; case .transport: 2; case .inner: 3 } }
}
