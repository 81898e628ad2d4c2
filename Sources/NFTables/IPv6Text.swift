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
