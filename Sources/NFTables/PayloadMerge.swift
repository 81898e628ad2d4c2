// nft's stmt_reduce / payload_do_merge (src/rule.c): consecutive equality matches on header
// fields of one base that sit next to each other become one compare, which takes the place of
// the last of them; `nft list` splits it back in offset order. So `icmp code 1 icmp type 2`
// lists as `icmp type 2 icmp code ...` and `ip ttl 3 ip saddr X ip protocol tcp` as
// `ip saddr X ip ttl 3 ip protocol tcp`. Read off nft 1.0.6: fields merge while the compare
// stays within 32 bits (ports with ports, not addresses with addresses).
extension NFParser {
    static func payloadMerge(_ stmts: [NFStatement]) -> [NFStatement] {
        // A whole-byte header field matched against one value with == (or no operator).
        func field(_ s: NFStatement) -> NFPayloadField? {
            guard case .match(let sel, nil, let op, .range(let lo, let hi, _)) = s, lo == hi, op == .eq || op == .implicit,
                  let f = sel.payload, f.bitOffset % 8 == 0, f.bitLength % 8 == 0 else { return nil }
            return f
        }
        var out: [NFStatement] = []
        var k = 0
        while k < stmts.count {
            guard field(stmts[k]) != nil else { out.append(stmts[k]); k += 1; continue }
            var end = k
            while end < stmts.count, field(stmts[end]) != nil { end += 1 }
            // The run's statements in (base, offset) order, gathered into groups of neighbours.
            let sorted = (k..<end).sorted {
                let a = field(stmts[$0])!, b = field(stmts[$1])!
                return (a.base.rank, a.bitOffset) < (b.base.rank, b.bitOffset)
            }
            var groups: [[Int]] = []
            var bits = 0
            for i in sorted {
                let f = field(stmts[i])!
                if let g = groups.last, let first = field(stmts[g[0]]), first.base == f.base, first.bitOffset + bits == f.bitOffset, bits + f.bitLength <= 32 {
                    groups[groups.count - 1].append(i)
                    bits += f.bitLength
                } else {
                    groups.append([i])
                    bits = f.bitLength
                }
            }
            // Each group stands where its last-joined statement stood.
            let at = Dictionary(uniqueKeysWithValues: groups.map { ($0.last!, $0) })
            for i in k..<end {
                if let g = at[i] { out += g.map { stmts[$0] } }
            }
            k = end
        }
        return out
    }
}

extension NFPayloadField.Base {
    /// nft's proto_bases order (link, network, transport, inner).
    var rank: Int { switch self { case .link: 0; case .network: 1; case .transport: 2; case .inner: 3 } }
}
