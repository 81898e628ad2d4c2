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

/// A concatenated key too wide to pack (an IPv6 address in it, or more than 64 bits in all) as
/// the words a dynamic set numbers it by: one per part; two, high first, for an IPv6 address, a raw
/// field wider than 64 bits and a name (an interface's, IFNAMSIZ: 16 bytes, zero-padded).
public enum NFWideKey {
    /// An element's words, when each part is one value (a name without a wildcard).
    public static func words(_ v: NFValue) -> [UInt64]? {
        guard case .tuple(let parts) = v else { return nil }
        var w: [UInt64] = []
        for p in parts {
            switch p {
            case .range(let lo, let hi, _) where lo == hi: w.append(lo)
            case .range6(let lo, let hi, _) where lo == hi: w.append(UInt64(truncatingIfNeeded: lo >> 64)); w.append(UInt64(truncatingIfNeeded: lo))
            case .string(let s) where !s.hasSuffix("*"):
                guard let n = name(s) else { return nil }
                w.append(UInt64(truncatingIfNeeded: n >> 64)); w.append(UInt64(truncatingIfNeeded: n))
            default: return nil
            }
        }
        return w
    }

    /// A name's 16 bytes as one number, the first byte highest; nil past 16 bytes.
    public static func name(_ s: String) -> UInt128? {
        let b = Array(s.utf8)
        guard b.count <= 16 else { return nil }
        return (0..<16).reduce(UInt128(0)) { $0 << 8 | UInt128($1 < b.count ? b[$1] : 0) }
    }

    /// The name back from its number (up to the first zero byte).
    public static func name(_ n: UInt128) -> String {
        let b = (0..<16).map { UInt8(truncatingIfNeeded: n >> UInt128(8 * (15 - $0))) }
        return String(decoding: b.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The tuple nft lists for a key's words, each part printed as its field's values are.
    public static func tuple(_ words: [UInt64], _ sels: [NFSelector]) -> NFValue {
        var parts: [NFValue] = [], k = 0
        for sel in sels {
            if sel.isAddress6 || sel.isWide || sel.isString {
                let a = UInt128(words[k]) << 64 | UInt128(words[k + 1])
                parts.append(sel.isString ? .string(name(a)) : .range6(a, a, text: sel.isAddress6 ? IPv6Text.text(a) : "0x" + String(a, radix: 16)))
                k += 2
            } else {
                parts.append(.range(words[k], words[k], text: NFPrinter.valueText(words[k], sel)))
                k += 1
            }
        }
        return .tuple(parts)
    }
}
