import Wire

/// IPv6 addresses as nft reads and prints them (inet_pton / glibc's inet_ntop): 128-bit values,
/// the longest run of zero words as `::`, an IPv4 tail for `::a.b.c.d` and `::ffff:a.b.c.d`.
public enum IPv6Text {
    /// Parses `2001:db8::1`, `::ffff:1.2.3.4`; nil when it is not an IPv6 address.
    public static func parse(_ s: String) -> UInt128? { IPv6Address.parse(s) }

    /// The text inet_ntop gives.
    public static func text(_ a: UInt128) -> String { IPv6Address.text(a) }

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
