import Foundation

/// RFC 3339 UTC timestamps with milliseconds, as stored and as the API shows them.
public enum Timestamp {
    public static func now() -> String { format(Date()) }
    public static func format(_ d: Date) -> String {
        let ms = Int64((d.timeIntervalSince1970 * 1000).rounded(.down))
        var t = time_t(ms / 1000)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let year = Int(tmv.tm_year) + 1900
        guard (0...9999).contains(year), ms >= 0 else {
            return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, Int(tmv.tm_mon) + 1, Int(tmv.tm_mday),
                          Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec), Int(ms % 1000))
        }
        // Written digit by digit: String(format:) went through Foundation's formatter, a tenth
        // of a one-packet injection's time. (Years outside 0...9999 and times before 1970 keep it.)
        return String(unsafeUninitializedCapacity: 24) { out in
            var i = 0
            // A field of `width` digits, then its separator (no arrays: this runs for every trace).
            func put(_ value: Int, _ width: Int, _ separator: Character) {
                var v = value
                for d in stride(from: width - 1, through: 0, by: -1) { out[i + d] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10 }
                out[i + width] = separator.asciiValue!
                i += width + 1
            }
            put(year, 4, "-"); put(Int(tmv.tm_mon) + 1, 2, "-"); put(Int(tmv.tm_mday), 2, "T")
            put(Int(tmv.tm_hour), 2, ":"); put(Int(tmv.tm_min), 2, ":"); put(Int(tmv.tm_sec), 2, "."); put(Int(ms % 1000), 3, "Z")
            return i
        }
    }
}
