/// IPv6 addresses as nft reads and prints them (inet_pton / glibc's inet_ntop): 128-bit values,
/// the longest run of zero words as `::`, an IPv4 tail for `::a.b.c.d` and `::ffff:a.b.c.d`.
public enum IPv6Text {
    /// Parses `2001:db8::1`, `::ffff:1.2.3.4`; nil when it is not an IPv6 address.
    public static func parse(_ s: String) -> UInt128? {
        guard s.contains(":"), s.count <= 45 else { return nil }
        var words: [UInt16] = []
        var gap: Int? = nil
        let halves = s.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        for (h, half) in halves.enumerated() {
            if h == 1 { gap = words.count }
            guard !half.isEmpty else { continue }
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            for (k, p) in parts.enumerated() {
                if k == parts.count - 1, h == halves.count - 1, p.contains(".") {
                    // An IPv4 tail: the last 32 bits.
                    guard let v4 = NFConstants.ipv4(String(p)) else { return nil }
                    words += [UInt16(v4 >> 16), UInt16(v4 & 0xffff)]
                    continue
                }
                guard (1...4).contains(p.count), let w = UInt16(p, radix: 16) else { return nil }
                words.append(w)
            }
        }
        if let gap {
            guard words.count < 8 else { return nil }
            words.insert(contentsOf: [UInt16](repeating: 0, count: 8 - words.count), at: gap)
        }
        guard words.count == 8 else { return nil }
        return words.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
    }

    /// The text inet_ntop gives.
    public static func text(_ a: UInt128) -> String {
        let words = (0..<8).map { UInt16(truncatingIfNeeded: a >> UInt128(112 - 16 * $0)) }
        // The first longest run of two or more zero words.
        var best: (base: Int, len: Int)? = nil
        var k = 0
        while k < 8 {
            guard words[k] == 0 else { k += 1; continue }
            var e = k
            while e < 8 && words[e] == 0 { e += 1 }
            if e - k >= 2, e - k > (best?.len ?? 0) { best = (k, e - k) }
            k = e
        }
        if let b = best, b.base == 0, b.len == 6 || (b.len == 5 && words[5] == 0xffff) {
            let v4 = NFConstants.ipv4Text(UInt32(truncatingIfNeeded: a))
            return b.len == 6 ? "::" + v4 : "::ffff:" + v4
        }
        var out = ""
        k = 0
        while k < 8 {
            if let b = best, k == b.base {
                out += "::"
                k += b.len
                continue
            }
            if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
            out += String(words[k], radix: 16)
            k += 1
        }
        return out
    }

    /// A range as nft lists it: one address, a prefix when it is exactly one, else `lo-hi`.
    public static func range(_ lo: UInt128, _ hi: UInt128) -> String {
        if lo == hi { return text(lo) }
        let size = hi &- lo &+ 1
        if size == 0 && lo == 0 { return "::/0" }
        if size != 0, size & (size - 1) == 0, lo % size == 0 { return "\(text(lo))/\(128 - size.trailingZeroBitCount)" }
        return "\(text(lo))-\(text(hi))"
    }
}

extension NFRuleset {
    /// What loads but cannot act yet because the model carries no IPv6 packets: said in the
    /// answer that stores the ruleset, so nobody mistakes a silent rule for a working one.
    public var ipv6Notes: [String] {
        var notes = tables.filter { $0.family == .ip6 }.map { "table ip6 \($0.name): an ip6 table sees IPv6 packets only, and the model carries none yet: its chains never run" }
        let rules = tables.filter { $0.family != .ip6 }.flatMap(\.chains).flatMap(\.rules).filter { r in
            r.statements.contains { s in
                switch s {
                case .match(let sel, _, _, let v):
                    if sel.isIPv6Field { return true }
                    if sel == .nfproto, case .range(10, 10, _) = v { return true }
                    return false
                case .concatMatch(let sels, _, _), .concatVmap(let sels, _), .concatVmapNamed(let sels, _): return sels.contains { $0.isIPv6Field }
                case .vmap(let sel, _), .vmapNamed(let sel, _): return sel.isIPv6Field
                case .rejectICMPv6: return true
                default: return false
                }
            }
        }
        if !rules.isEmpty {
            notes.append("\(rules.count) \(rules.count == 1 ? "rule matches" : "rules match") IPv6 packets only (ip6 fields, meta nfproto ipv6, reject with icmpv6): loaded, but IPv6 is not modelled yet, so \(rules.count == 1 ? "it never matches" : "they never match")")
        }
        return notes
    }
}
