/// A concatenated key (`ip saddr . tcp dport`) read into one 64-bit number, the way a dynamic set
/// holds the elements rules add to it: each part in its field's width, the first part highest.
/// Keys wider than 64 bits in all (an IPv6 address, an interface name) do not pack.
public enum NFPackedKey {
    /// The parts' widths in bits, or nil when they do not fit in 64 bits.
    public static func widths(_ sels: [NFSelector]) -> [Int]? {
        let w = sels.map(NFSelector.bitWidth)
        return w.reduce(0, +) <= 64 ? w : nil
    }

    /// The parts (each already within its width) as one number.
    public static func pack(_ parts: [UInt64], _ widths: [Int]) -> UInt64 {
        zip(parts, widths).reduce(0) { acc, pw in acc << UInt64(pw.1) | pw.0 }
    }

    /// A packed key back into its parts.
    public static func unpack(_ v: UInt64, _ widths: [Int]) -> [UInt64] {
        var rest = v
        var parts = [UInt64](repeating: 0, count: widths.count)
        for k in widths.indices.reversed() {
            parts[k] = rest & (UInt64.max >> UInt64(64 - widths[k]))
            rest >>= UInt64(widths[k])
        }
        return parts
    }

    /// An element of a concatenated set as the packed number, when each part is one value.
    public static func pack(_ v: NFValue, _ widths: [Int]) -> UInt64? {
        guard case .tuple(let parts) = v, parts.count == widths.count else { return nil }
        var values: [UInt64] = []
        for p in parts {
            guard case .range(let lo, let hi, _) = p, lo == hi else { return nil }
            values.append(lo)
        }
        return pack(values, widths)
    }

    /// A packed key as the tuple nft lists, each part printed as its field's values are.
    public static func tuple(_ v: UInt64, _ sels: [NFSelector], _ widths: [Int]) -> NFValue {
        .tuple(zip(unpack(v, widths), sels).map { .range($0, $0, text: NFPrinter.valueText($0, $1)) })
    }
}
