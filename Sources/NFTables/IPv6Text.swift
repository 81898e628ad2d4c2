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
    /// What loads but does not act on IPv6 packets yet (128-bit values where the model keeps 64;
    /// sets and meters rules update hold an IPv6 address by number, NFSet's SetIndex):
    /// said in the answer that stores the ruleset, so nobody mistakes a silent rule for a working one.
    public var ipv6Notes: [String] {
        func wide(_ sel: NFSelector) -> Bool { sel.isAddress6 }
        let rules = tables.flatMap(\.chains).flatMap(\.rules).filter { r in
            r.statements.contains { s in
                switch s {
                case .match(let sel, let mask, _, _): return wide(sel) && mask != nil
                case .setMappedNamed(_, let key, _), .natMapNamed(_, let key, _, _, _, false): return key.contains(where: wide)
                case .setMapped(_, let keys, _): return keys.contains(where: wide)
                default: return false
                }
            }
        }
        guard !rules.isEmpty else { return [] }
        return ["\(rules.count) \(rules.count == 1 ? "rule reads" : "rules read") an IPv6 address under a mask or as the key of a data map: loaded, but not modelled yet for IPv6 packets, so \(rules.count == 1 ? "it never matches them" : "they never match them")"]
    }
}
