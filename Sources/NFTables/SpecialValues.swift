import Foundation

/// Values of meta keys that nft reads and prints in their own syntax: device groups, interface
/// types, users, ethertypes, tc handles, dates, weekdays and times of day (all in UTC here).
extension NFConstants {
    static let ifTypes: [String: UInt64] = ["ether": 1, "ppp": 512, "ipip": 768, "ipip6": 769, "loopback": 772, "sit": 776, "ipgre": 778]
    static let etherTypes: [String: UInt64] = ["ip": 0x0800, "arp": 0x0806, "8021q": 0x8100, "vlan": 0x8100, "ip6": 0x86dd, "8021ad": 0x88a8]
    /// `arp operation` values (nft's arpop_type).
    static let arpOperations: [(String, UInt64)] = [("request", 1), ("reply", 2), ("rrequest", 3), ("rreply", 4), ("inrequest", 8), ("inreply", 9), ("nak", 10)]
    /// How nft lists them (0x8100 as 8021q, whichever name it was written with).
    static let etherTypeNames: [UInt64: String] = [0x0800: "ip", 0x0806: "arp", 0x8100: "8021q", 0x86dd: "ip6", 0x88a8: "8021ad"]
    /// The users and groups of a Debian base system nft would resolve (/etc/passwd, /etc/group).
    static let users: [String: UInt64] = ["root": 0, "daemon": 1, "bin": 2, "sys": 3, "sync": 4, "games": 5, "man": 6, "nobody": 65534]
    /// RTN_* route types as nft's fib type names them.
    static let routeTypes: [String: UInt64] = [
        "unspec": 0, "unicast": 1, "local": 2, "broadcast": 3, "anycast": 4, "multicast": 5, "blackhole": 6, "unreachable": 7,
        "prohibit": 8, "throw": 9, "nat": 10, "xresolve": 11,
    ]
    static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    /// A word or string for one of these keys, as a number; nil if it is not one.
    static func special(_ w: String, for sel: NFSelector) -> UInt64? {
        switch sel {
        case .iifgroup, .oifgroup: return w == "default" ? 0 : nil
        case .iiftype, .oiftype: return ifTypes[w]
        case .skuid, .skgid: return users[w]
        case .metaProtocol: return etherTypes[w]
        case .priority:
            if w == "none" { return 0 }
            if w == "root" { return 0xffff_ffff }
            let p = w.split(separator: ":", omittingEmptySubsequences: false)
            guard p.count == 2, let major = UInt64(p[0], radix: 16), let minor = UInt64(p[1], radix: 16), major <= 0xffff, minor <= 0xffff else { return nil }
            return major << 16 | minor
        case .day: return weekdays.firstIndex(of: w).map(UInt64.init)
        case .hour:
            let p = w.split(separator: ":", omittingEmptySubsequences: false).map { UInt64($0) }
            guard p.count == 2 || p.count == 3, p.allSatisfy({ $0 != nil }), p[0]! < 24, p[1]! < 60, p.count == 2 || p[2]! < 60 else { return nil }
            return p[0]! * 3600 + p[1]! * 60 + (p.count == 3 ? p[2]! : 0)
        case .time:
            // nft multiplies in 64 bits and wraps: "4044-07-01 11:00:00" lists as "2290-11-02 12:16:18".
            return date(w).map { $0 &* 1_000_000_000 }
        case _ where sel.isFib && sel.rawValue.hasSuffix(" type"): return routeTypes[w]
        case .ctExpiration: return duration(w)
        case .ctProtocol: return protocols[w]
        case .ctL3proto: return nfprotos[w]
        // Realms from /etc/iproute2/rt_realms (iproute2 ships one: 0 cosmos).
        case _ where sel.rawValue == "rt classid" || sel.rawValue == "meta rtclassid": return w == "cosmos" ? 0 : nil
        default: return nil
        }
    }

    /// nft's time type: `4d23h59m59s`, `30000ms`, or plain seconds; in milliseconds.
    static func duration(_ s: String) -> UInt64? {
        // Past 2^64 ms no time fits any field: nil (the caller's error), never a trap.
        func mulAdd(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64? {
            let (m, o1) = a.multipliedReportingOverflow(by: b)
            let (r, o2) = m.addingReportingOverflow(c)
            return o1 || o2 ? nil : r
        }
        if let n = UInt64(s) { return mulAdd(n, 1000, 0) }
        var total: UInt64 = 0, num: UInt64? = nil, i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if let d = c.wholeNumberValue, c.isASCII {
                guard let n = mulAdd(num ?? 0, 10, UInt64(d)) else { return nil }
                num = n; i = s.index(after: i); continue
            }
            guard let n = num else { return nil }
            let rest = s[i...]
            let (unit, len): (UInt64, Int) = rest.hasPrefix("ms") ? (1, 2) : c == "s" ? (1000, 1) : c == "m" ? (60_000, 1)
                : c == "h" ? (3_600_000, 1) : c == "d" ? (86_400_000, 1) : (0, 0)
            guard unit > 0 else { return nil }
            guard let t = mulAdd(n, unit, total) else { return nil }
            total = t
            num = nil
            i = s.index(i, offsetBy: len)
        }
        return num == nil ? total : nil
    }

    /// `YYYY-MM-DD[ HH:MM[:SS]]` (UTC) as seconds since the epoch.
    static func date(_ s: String) -> UInt64? {
        let parts = s.split(separator: " ")
        guard (1...2).contains(parts.count) else { return nil }
        let d = parts[0].split(separator: "-").map { Int($0) }
        guard d.count == 3, let y = d[0], let m = d[1], let day = d[2], (1970...9999).contains(y), (1...12).contains(m), (1...31).contains(day) else { return nil }
        var secs = 0
        if parts.count == 2 {
            let t = parts[1].split(separator: ":").map { Int($0) }
            guard t.count == 2 || t.count == 3, t.allSatisfy({ $0 != nil }), t[0]! < 24, t[1]! < 60, t.count == 2 || t[2]! < 60 else { return nil }
            secs = t[0]! * 3600 + t[1]! * 60 + (t.count == 3 ? t[2]! : 0)
        }
        // Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar.
        let yy = m <= 2 ? y - 1 : y
        let era = yy / 400, yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return UInt64((era * 146_097 + doe - 719_468) * 86400 + secs)
    }

    /// How nft prints these keys' values; nil for a key printed as a plain number.
    static func specialText(_ n: UInt64, for sel: NFSelector) -> String? {
        switch sel {
        case .iifgroup, .oifgroup: return n == 0 ? "\"default\"" : String(n)
        case .iiftype, .oiftype: return ifTypes.first { $0.value == n }?.key ?? String(n)
        case .metaProtocol: return etherTypes.filter { $0.key != "vlan" }.first { $0.value == n }?.key ?? String(n)
        case .priority:
            if n == 0 { return "none" }
            if n == 0xffff_ffff { return "root" }
            return String(n >> 16, radix: 16) + ":" + String(n & 0xffff, radix: 16)
        case .day: return n < 7 ? "\"\(weekdays[Int(n)])\"" : String(n)
        case .hour:
            let h = n / 3600, m = n / 60 % 60, s = n % 60
            func two(_ v: UInt64) -> String { v < 10 ? "0\(v)" : "\(v)" }
            return "\"\(two(h)):\(two(m))" + (s != 0 ? ":\(two(s))" : "") + "\""
        case .ctExpiration:
            // nft's time_print: the units that are not zero, largest first, milliseconds too; zero
            // prints as nothing (`ct expiration ` is how nft 1.0.6 lists `ct expiration 0`).
            var ms = n
            var out = ""
            for (u, name) in [(UInt64(86_400_000), "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s"), (1, "ms")] where ms >= u {
                out += "\(ms / u)\(name)"; ms %= u
            }
            return out
        case _ where sel.isFib && sel.rawValue.hasSuffix(" type"): return routeTypes.first { $0.value == n }?.key ?? String(n)
        case .ctProtocol: return protocolName(n)
        case .ctL3proto: return nfprotos.first { $0.value == n }?.key ?? String(n)
        case _ where sel.rawValue == "rt classid" || sel.rawValue == "meta rtclassid": return n == 0 ? "\"cosmos\"" : nil
        case .time:
            let secs = Int(n / 1_000_000_000)
            let days = secs / 86400, rem = secs % 86400
            // civil_from_days
            let z = days + 719_468, era = z / 146_097, doe = z - era * 146_097
            let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153
            let d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2 ? 1 : 0)
            func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
            return "\"\(y)-\(two(m))-\(two(d)) \(two(rem / 3600)):\(two(rem / 60 % 60)):\(two(rem % 60))\""
        default: return nil
        }
    }
}
