import Foundation

/// tc's units (iproute2 utils.c): sizes in bytes, rates in bytes per second, times in µs.
enum TCUnits {
    /// `get_size`: b, k/kb (KiB), m/mb, g/gb, kbit/mbit/gbit (binary, in bits); a bare number is bytes.
    static func size(_ s: String) -> Int? {
        guard let (n, unit) = split(s) else { return nil }
        let scale: Double
        switch unit.lowercased() {
        case "": scale = 1
        case "b": scale = 1
        case "k", "kb": scale = 1024
        case "m", "mb": scale = 1024 * 1024
        case "g", "gb": scale = 1024 * 1024 * 1024
        case "kbit": scale = 1024 / 8
        case "mbit": scale = 1024 * 1024 / 8
        case "gbit": scale = 1024 * 1024 * 1024 / 8
        default: return nil
        }
        let v = n * scale
        guard v >= 0, v <= Double(UInt32.max), v == v.rounded(.down) else { return nil }
        return Int(v)
    }

    /// `get_rate64`: a bare number is bit/s; suffixes as tc's table, compared without case
    /// (so `kbps` is kilobytes per second). Answers bytes per second.
    static func rate(_ s: String) -> UInt64? {
        guard let (n, unit) = split(s) else { return nil }
        let table: [(String, Double)] = [
            ("", 1), ("bit", 1), ("kibit", 1024), ("kbit", 1000), ("mibit", 1024 * 1024), ("mbit", 1_000_000),
            ("gibit", 1024 * 1024 * 1024), ("gbit", 1_000_000_000), ("tibit", 1024 * 1024 * 1024 * 1024), ("tbit", 1_000_000_000_000),
            ("bps", 8), ("kibps", 8 * 1024), ("kbps", 8000), ("mibps", 8 * 1024 * 1024), ("mbps", 8_000_000),
            ("gibps", 8 * 1024 * 1024 * 1024), ("gbps", 8_000_000_000), ("tibps", 8 * 1024 * 1024 * 1024 * 1024), ("tbps", 8_000_000_000_000),
        ]
        guard let scale = table.first(where: { $0.0 == unit.lowercased() })?.1 else { return nil }
        let bytes = n * scale / 8
        guard bytes >= 1, bytes < 1.8e19 else { return nil }
        return UInt64(bytes)
    }

    /// `get_time`: s/sec/secs, ms/msec/msecs, us/usec/usecs; a bare number is µs. Answers µs.
    static func time(_ s: String) -> Int? {
        guard let (n, unit) = split(s) else { return nil }
        let scale: Double
        switch unit.lowercased() {
        case "", "us", "usec", "usecs": scale = 1
        case "ms", "msec", "msecs": scale = 1000
        case "s", "sec", "secs": scale = 1_000_000
        default: return nil
        }
        let v = n * scale
        guard v >= 0, v <= Double(UInt32.max) else { return nil }
        return Int(v)
    }

    /// A leading decimal number (what strtod takes) and the rest.
    private static func split(_ s: String) -> (Double, String)? {
        let chars = Array(s)
        var i = 0
        while i < chars.count, chars[i].isNumber || chars[i] == "." { i += 1 }
        guard i > 0, let n = Double(String(chars[0..<i])) else { return nil }
        return (n, String(chars[i...]))
    }

    // MARK: printing (iproute2 utils.c)

    /// `sprint_rate`: bytes/s as bits with K/M/G/T (1000s), stepping up only while exact or large.
    static func rateText(_ bytesPerSec: UInt64) -> String {
        var rate = bytesPerSec << 3
        let units = ["", "K", "M", "G", "T"]
        var i = 0
        while i < units.count - 1 {
            if rate < 1000 { break }
            if rate % 1000 != 0 && rate < 1000 * 1000 { break }
            rate /= 1000
            i += 1
        }
        return "\(rate)\(units[i])bit"
    }

    /// `sprint_size`: whole MiB or KiB when within 1 KiB / 16 bytes of one, else bytes.
    static func sizeText(_ sz: Int) -> String {
        let d = Double(sz)
        let mb = (d / (1024 * 1024)).rounded(.toNearestOrEven), kb = (d / 1024).rounded(.toNearestOrEven)
        if sz >= 1024 * 1024 && abs(1024 * 1024 * mb - d) < 1024 { return "\(g(mb))Mb" }
        if sz >= 1024 && abs(1024 * kb - d) < 16 { return "\(g(kb))Kb" }
        return "\(sz)b"
    }

    /// `sprint_time`: µs as s or ms to 3 significant digits (`%.3g`: 231.2 ms prints 231ms), or us.
    static func timeText(_ us: Int) -> String {
        let d = Double(us)
        if d >= 1_000_000 { return String(format: "%.3gs", d / 1_000_000) }
        if d >= 1000 { return String(format: "%.3gms", d / 1000) }
        return "\(us)us"
    }

    /// A double as C's conversion to `__u32` would keep it, without trapping: NaN, negatives and
    /// what is too large become 0 or UInt32.max.
    static func u32(_ d: Double) -> Int {
        guard d.isFinite, d > 0 else { return 0 }
        return d >= Double(UInt32.max) ? Int(UInt32.max) : Int(d)
    }

    /// printf's %g (6 significant digits, no trailing zeros).
    static func g(_ x: Double) -> String { String(format: "%g", x) }
}
