import NFTables
import Wire

/// `ipset restore` input and `ipset save` output (ipset 7.17): create, add, del, flush, destroy,
/// rename and swap lines, with `-exist` (`-!`) per line. A batch applies whole or not at all (ipset restore
/// would keep the lines before a failing one).
public enum IPSetText {
    /// libipset's ICMP names (lib/icmp.c), by type << 8 | code.
    static let icmpNames: [(String, UInt16)] = [
        ("echo-reply", 0x0000), ("pong", 0x0000), ("network-unreachable", 0x0300), ("host-unreachable", 0x0301),
        ("protocol-unreachable", 0x0302), ("port-unreachable", 0x0303), ("fragmentation-needed", 0x0304),
        ("source-route-failed", 0x0305), ("network-unknown", 0x0306), ("host-unknown", 0x0307), ("network-prohibited", 0x0309),
        ("host-prohibited", 0x030a), ("TOS-network-unreachable", 0x030b), ("TOS-host-unreachable", 0x030c),
        ("communication-prohibited", 0x030d), ("host-precedence-violation", 0x030e), ("precedence-cutoff", 0x030f),
        ("source-quench", 0x0400), ("network-redirect", 0x0500), ("host-redirect", 0x0501), ("TOS-network-redirect", 0x0502),
        ("TOS-host-redirect", 0x0503), ("echo-request", 0x0800), ("ping", 0x0800), ("router-advertisement", 0x0900),
        ("router-solicitation", 0x0a00), ("ttl-zero-during-transit", 0x0b00), ("ttl-zero-during-reassembly", 0x0b01),
        ("ip-header-bad", 0x0c00), ("required-option-missing", 0x0c01), ("timestamp-request", 0x0d00),
        ("timestamp-reply", 0x0e00), ("address-mask-request", 0x1100), ("address-mask-reply", 0x1200),
    ]
    /// Types ipset knows that the model does not.
    static let otherTypes: Set<String> = ["bitmap:ip", "bitmap:ip,mac", "bitmap:port", "hash:mac", "hash:ip,mac", "hash:ip,mark",
                                          "hash:net,net", "hash:net,port,net", "hash:net,iface", "list:set"]

    struct Words {
        var w: [String]
        var k = 0
        mutating func next() -> String? { guard k < w.count else { return nil }; k += 1; return w[k - 1] }
    }

    /// Splits a line on blanks; `"..."` groups (a comment).
    static func split(_ line: Substring) throws(IPSetError) -> [String] {
        var out: [String] = [], cur = "", quoted = false, inWord = false
        for c in line {
            if c == "\"" { quoted.toggle(); inWord = true; continue }
            if !quoted, c == " " || c == "\t" {
                if inWord { out.append(cur); cur = ""; inWord = false }
                continue
            }
            cur.append(c); inWord = true
        }
        if quoted { throw IPSetError("Syntax error: unterminated quoted string") }
        if inWord { out.append(cur) }
        return out
    }

    /// Applies `text` to a copy of `sets` and answers the copy (nothing changes on an error).
    /// `inUse`: sets the ruleset names (not destroyed or renamed). `own`: the model's own
    /// save text (config, checkpoints), whose elements say when they expire in virtual ns.
    public static func restore(_ text: String, onto sets: IPSets, inUse: Set<String>, now: UInt64, seed: UInt64,
                               own: Bool = false) throws(IPSetError) -> IPSets {
        let out = sets.copy()
        var lineNo = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let t = line.drop { $0 == " " || $0 == "\t" }
            if t.isEmpty || t.hasPrefix("#") { continue }
            do throws(IPSetError) {
                var words = try split(t)
                let exist = words.contains("-exist") || words.contains("-!")
                words.removeAll { $0 == "-exist" || $0 == "-!" }
                try command(Words(w: words), out, exist: exist, inUse: inUse, now: now, seed: seed, own: own)
            } catch {
                var e = error
                e.line = lineNo
                throw e
            }
        }
        return out
    }

    static func command(_ w0: Words, _ sets: IPSets, exist: Bool, inUse: Set<String>, now: UInt64, seed: UInt64, own: Bool) throws(IPSetError) {
        var w = w0
        guard let cmd = w.next() else { return }
        func set(_ name: String?) throws(IPSetError) -> IPSet {
            guard let name else { throw IPSetError("Syntax error: missing mandatory argument: setname") }
            guard let s = sets[name] else { throw IPSetError("The set with the given name does not exist") }
            return s
        }
        switch cmd {
        case "create", "-N", "n":
            try create(&w, sets, exist: exist, seed: seed)
        case "add", "-A", "a", "del", "-D", "d":
            let s = try set(w.next())
            guard let elem = w.next() else { throw IPSetError("Syntax error: missing mandatory argument: element") }
            let add = cmd == "add" || cmd == "-A" || cmd == "a"
            var e = IPSetElement(key: IPSetKey(), expires: s.timeout.flatMap { $0 == 0 ? nil : now + UInt64($0) * 1_000_000_000 })
            var countersGiven = false
            while let o = w.next() {
                func value() throws(IPSetError) -> String {
                    guard let v = w.next() else { throw IPSetError("Syntax error: missing parameter to \(o)") }
                    return v
                }
                guard add || o == "nomatch" else { throw IPSetError("Unknown argument: `\(o)'") }
                switch o {
                case "timeout":
                    guard s.timeout != nil else { throw IPSetError("Timeout cannot be used: set was created without timeout support") }
                    let v = try number(try value(), max: 2_147_483)
                    e.expires = v == 0 ? nil : now + v * 1_000_000_000
                case "expires-ns" where own:
                    e.expires = UInt64(try value())
                case "packets", "bytes":
                    guard s.counters else { throw IPSetError("Packet/byte counters cannot be used: set was created without counter support") }
                    let v = try number(try value(), max: .max)
                    if o == "packets" { e.packets = v } else { e.bytes = v }
                    countersGiven = true
                case "comment":
                    guard s.comments else { throw IPSetError("Comment cannot be used: set was created without comment support") }
                    let c = try value()
                    guard c.utf8.count <= 255 else { throw IPSetError("Syntax error: comment is longer than 255 characters") }
                    e.comment = c
                case "nomatch" where s.type.takesNomatch:
                    e.nomatch = true
                case "skbmark", "skbprio", "skbqueue":
                    throw IPSetError("not supported yet: ipset skbinfo extensions", unsupported: true)
                default:
                    throw IPSetError("Unknown argument: `\(o)'")
                }
            }
            for key in try keys(elem, s) {
                e.key = key
                if add { try s.add(e, countersGiven: countersGiven, exist: exist, now: now) } else { try s.delete(key, exist: exist, now: now) }
            }
        case "flush", "-F", "f":
            if let name = w.next() { try set(name).flush() } else { sets.sets.forEach { $0.flush() } }
        case "destroy", "-X", "x":
            let names = try w.next().map { (n: String) throws(IPSetError) -> [String] in [try set(n).name] } ?? sets.sets.map(\.name)
            for n in names where inUse.contains(n) { throw IPSetError("Set cannot be destroyed: it is in use by a kernel component") }
            names.forEach(sets.remove)
        case "rename", "-E", "e":
            let s = try set(w.next())
            guard let to = w.next() else { throw IPSetError("Syntax error: missing mandatory argument: setname") }
            try checkName(to)
            guard sets[to] == nil else { throw IPSetError("Set cannot be renamed: a set with the new name already exists") }
            guard !inUse.contains(s.name) else { throw IPSetError("Set cannot be renamed: it is in use by another system") }
            sets.rename(s.name, to)
        case "swap", "-W", "w":
            // ip_set_swap: the two exchange names (and so what rules naming them see), in use or not.
            let a = try set(w.next())
            guard let bn = w.next() else { throw IPSetError("Syntax error: missing mandatory argument: setname") }
            guard let b = sets[bn] else { throw IPSetError("Sets cannot be swapped: the second set does not exist") }
            guard a.type == b.type, a.v6 == b.v6 else { throw IPSetError("The sets cannot be swapped: their type does not match") }
            sets.swap(a.name, b.name)
        default:
            throw IPSetError("Syntax error: unknown command \(cmd)")
        }
        if let extra = w.next() { throw IPSetError("Unknown argument: `\(extra)'") }
    }

    static func checkName(_ n: String) throws(IPSetError) {
        guard !n.isEmpty else { throw IPSetError("Syntax error: missing mandatory argument: setname") }
        guard n.utf8.count <= 31 else { throw IPSetError("Syntax error: setname '\(n)' is longer than 31 characters") }
    }

    static func number(_ s: String, max: UInt64) throws(IPSetError) -> UInt64 {
        guard let v = UInt64(s) else { throw IPSetError("Syntax error: '\(s)' is invalid as number") }
        guard v <= max else { throw IPSetError("Syntax error: '\(s)' is out of range 0-\(max)") }
        return v
    }

    static func create(_ w: inout Words, _ sets: IPSets, exist: Bool, seed: UInt64) throws(IPSetError) {
        guard let name = w.next() else { throw IPSetError("Syntax error: missing mandatory argument: setname") }
        try checkName(name)
        guard let tname = w.next() else { throw IPSetError("Syntax error: missing mandatory argument: typename") }
        guard let type = IPSetType(rawValue: tname) else {
            if otherTypes.contains(tname) { throw IPSetError("not supported yet: ipset type \(tname)", unsupported: true) }
            throw IPSetError("Syntax error: typename '\(tname)' is unknown")
        }
        var v6 = false, hashsize: UInt64 = 1024, maxelem: UInt64 = 65536, timeout: UInt32? = nil
        var counters = false, comments = false, netmask: UInt8? = nil, initval: UInt32? = nil
        while let o = w.next() {
            func value() throws(IPSetError) -> String {
                guard let v = w.next() else { throw IPSetError("Syntax error: missing parameter to \(o)") }
                return v
            }
            switch o {
            case "family":
                switch try value() {
                case "inet", "ipv4": v6 = false
                case "inet6", "ipv6": v6 = true
                case let f: throw IPSetError("Syntax error: unknown family \(f)")
                }
            case "hashsize": hashsize = try number(try value(), max: UInt64(UInt32.max))
            case "maxelem": maxelem = try number(try value(), max: UInt64(UInt32.max))
            case "timeout": timeout = UInt32(try number(try value(), max: 2_147_483))
            case "counters": counters = true
            case "comment": comments = true
            case "netmask" where type == .hashIP:
                let v = try value()
                guard let n = UInt8(v), n >= 1 else { throw IPSetError("Syntax error: netmask '\(v)' is invalid") }
                netmask = n
            case "bucketsize": _ = try number(try value(), max: 255)
            case "initval":
                let v = try value()
                guard v.hasPrefix("0x"), let n = UInt32(v.dropFirst(2), radix: 16) else { throw IPSetError("Syntax error: '\(v)' is invalid as number") }
                initval = n
            case "forceadd", "skbinfo":
                throw IPSetError("not supported yet: ipset \(o)", unsupported: true)
            default:
                throw IPSetError("Unknown argument: `\(o)'")
            }
        }
        if let n = netmask, n > (v6 ? 128 : 32) { throw IPSetError("Syntax error: netmask '\(n)' is out of range") }
        if let old = sets[name] {
            // -exist: the same set again is no error.
            guard exist, old.type == type, old.v6 == v6 else { throw IPSetError("Set cannot be created: set with the same name already exists") }
            return
        }
        // The kernel draws initval at random (get_random_u32); here it comes from the stack's seed
        // and the set's name, so it repeats.
        var h = seed ^ 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        // htable_bits: hashsize rounded up to a power of two, 64 at least.
        var hs = 64
        while hs < hashsize { hs *= 2 }
        sets.append(IPSet(name: name, type: type, v6: v6, hashsize: hs, maxelem: Int(maxelem), timeout: timeout, counters: counters,
                          comments: comments, netmask: netmask == (v6 ? 128 : 32) ? nil : netmask, initval: initval ?? UInt32(truncatingIfNeeded: h >> 32)))
    }

    // MARK: elements

    /// What one element may expand to (ranges of addresses times ports): the model holds sets in memory.
    static let maxExpansion = 1 << 20

    /// The keys an element names: a hash:ip CIDR or range is every address in it (by netmask
    /// steps), a network range the prefixes that cover it, a port range every port.
    static func keys(_ text: String, _ s: IPSet) throws(IPSetError) -> [IPSetKey] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= s.type.dimension else {
            throw IPSetError("Syntax error: \(["", "Second", "Third"][parts.count]) element is missing from \(text).")
        }
        guard parts.count == s.type.dimension else { throw IPSetError("Syntax error: Elem separator in \(text), but settype \(s.type.rawValue) supports none.") }
        let firsts = s.type.netDimension == 0 ? try networks(parts[0], s) : try addresses(parts[0], s)
        var ports: [(UInt8, UInt16)] = [(0, 0)]
        if s.type.hasPort { ports = try protoPorts(parts[1]) }
        var thirds: [(UInt128, UInt8)] = [(0, 0)]
        if s.type == .hashIPPortIP { thirds = try addresses(parts[2], s, plain: true) }
        if s.type == .hashIPPortNet { thirds = try networks(parts[2], s) }
        guard firsts.count * ports.count * thirds.count <= maxExpansion else {
            throw IPSetError("not supported yet: an element of more than \(maxExpansion) entries", unsupported: true)
        }
        var out: [IPSetKey] = []
        for (a, alen) in firsts {
            for (proto, port) in ports {
                for (b, blen) in thirds {
                    out.append(IPSetKey(ip: a, cidr: s.type.netDimension == 2 ? blen : s.type.netDimension == 0 ? alen : 0, proto: proto, port: port, ip2: b))
                }
            }
        }
        return out
    }

    static func parseAddress(_ t: String, v6: Bool) throws(IPSetError) -> UInt128 {
        if v6 {
            guard let a = try? IPv6Address(parsing: t) else { throw IPSetError("Syntax error: cannot parse \(t): resolving to IPv6 address failed") }
            return a.raw
        }
        guard let a = try? IPv4Address(parsing: t) else { throw IPSetError("Syntax error: cannot parse \(t): resolving to IPv4 address failed") }
        return UInt128(a.raw)
    }

    /// Addresses: one, or (hash:ip, IPv4) a CIDR or range expanded.
    static func addresses(_ t: String, _ s: IPSet, plain: Bool = false) throws(IPSetError) -> [(UInt128, UInt8)] {
        let host = s.hostBits
        if s.v6 || plain, t.contains("/") || (!s.v6 && t.contains("-")) {
            throw IPSetError("Syntax error: plain IP address must be supplied: \(t)")
        }
        let (lo, hi) = try range(t, s.v6)
        let step: UInt128 = s.netmask.map { UInt128(1) << (host - $0) } ?? 1
        var out: [(UInt128, UInt8)] = []
        var a = IPSet.mask(lo, s.netmask ?? host, v6: s.v6)
        while a <= hi {
            out.append((a, host))
            // More than the set can hold fails when added; stop there.
            if out.count > min(s.maxelem, maxExpansion) { break }
            let (n, o) = a.addingReportingOverflow(step)
            if o { break }
            a = n
        }
        return out
    }

    /// `A`, `A/N` or `A-B` as the first and last address.
    static func range(_ t: String, _ v6: Bool) throws(IPSetError) -> (UInt128, UInt128) {
        let host: UInt8 = v6 ? 128 : 32
        if let slash = t.firstIndex(of: "/") {
            let a = try parseAddress(String(t[..<slash]), v6: v6)
            let n = String(t[t.index(after: slash)...])
            guard let len = UInt8(n), len <= host else { throw IPSetError("Syntax error: '\(n)' is out of range 0-\(host)") }
            guard len > 0 else { throw IPSetError("The value of the CIDR parameter of the IP address is invalid") }
            let lo = IPSet.mask(a, len, v6: v6)
            return (lo, lo | ((UInt128(1) << (host - len)) - 1))
        }
        if !v6, let dash = t.firstIndex(of: "-") {
            let a = try parseAddress(String(t[..<dash]), v6: false), b = try parseAddress(String(t[t.index(after: dash)...]), v6: false)
            guard a <= b else { throw IPSetError("Syntax error: range \(t) is invalid") }
            return (a, b)
        }
        let a = try parseAddress(t, v6: v6)
        return (a, a)
    }

    /// Networks: `A/N` (N above 0), `A` (a host), or an IPv4 range as the prefixes covering it.
    static func networks(_ t: String, _ s: IPSet) throws(IPSetError) -> [(UInt128, UInt8)] {
        let host = s.hostBits
        if t.contains("/") || s.v6 || !t.contains("-") {
            let (lo, hi) = try range(t, s.v6)
            let len = host - UInt8((hi - lo + 1).bitWidth - (hi - lo + 1).leadingZeroBitCount - 1)
            return [(lo, len)]
        }
        let (first, last) = try range(t, false)
        var lo = first
        var out: [(UInt128, UInt8)] = []
        // ip_set_range_to_cidr: the largest aligned block from lo that stays within the range, repeated.
        while lo <= last {
            var len: UInt8 = 1
            while len < 32 {
                let size = (UInt128(1) << (32 - len)) - 1
                if lo & size == 0, lo | size <= last { break }
                len += 1
            }
            out.append((lo, len))
            let next = lo | ((UInt128(1) << (32 - len)) - 1)
            if next >= 0xffff_ffff { break }
            lo = next + 1
        }
        return out
    }

    /// `[PROTO:]PORT[-PORT]`, `icmp:NAME` or `icmp:TYPE/CODE`; no protocol is tcp.
    static func protoPorts(_ t: String) throws(IPSetError) -> [(UInt8, UInt16)] {
        var proto: UInt8 = 6, portText = t
        if let colon = t.firstIndex(of: ":") {
            let p = String(t[..<colon])
            portText = String(t[t.index(after: colon)...])
            guard let n = NFConstants.getprotobyname(p).flatMap({ UInt8(exactly: $0) }) ?? UInt8(p) else {
                throw IPSetError("Syntax error: cannot parse '\(p)' as a protocol")
            }
            proto = n
        }
        switch proto {
        case 1:
            if let v = icmpNames.first(where: { $0.0 == portText })?.1 { return [(1, v)] }
            let tc = portText.split(separator: "/", omittingEmptySubsequences: false)
            guard tc.count == 2, let ty = UInt8(tc[0]), let co = UInt8(tc[1]) else { throw IPSetError("Cannot parse \(portText) as an ICMP type/code.") }
            return [(1, UInt16(ty) << 8 | UInt16(co))]
        case 6, 17, 132, 136:
            let ends = portText.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            var vals: [UInt16] = []
            for e in ends {
                guard let v = UInt16(e) ?? NFConstants.services[e].flatMap({ UInt16(exactly: $0) }) else { throw IPSetError("Syntax error: cannot parse '\(e)' as a \(proto == 17 ? "UDP" : "TCP") port") }
                vals.append(v)
            }
            guard vals.count == ends.count, vals[0] <= vals.last! else { throw IPSetError("Syntax error: port range \(portText) is invalid") }
            return (vals[0]...vals.last!).map { (proto, $0) }
        default:
            guard portText == "0" else {
                throw IPSetError("Syntax error: Protocol \(NFConstants.getprotobynumber(UInt64(proto)) ?? String(proto)) can be used with pseudo port value 0 only.")
            }
            return [(proto, 0)]
        }
    }

    // MARK: save

    /// `ipset save`: each set's create line and its elements alive now (in the order they were
    /// added; the kernel lists them in its hash order). `own`: when each element expires, in
    /// virtual ns, rather than its seconds left.
    public static func save(_ sets: IPSets, now: UInt64, only: String? = nil, own: Bool = false) -> String {
        var out = ""
        for s in sets.sets where only == nil || s.name == only {
            out += "create \(s.name) \(s.type.rawValue) family \(s.v6 ? "inet6" : "inet") hashsize \(s.hashsize) maxelem \(s.maxelem)"
            if let n = s.netmask { out += " netmask \(n)" }
            if let t = s.timeout { out += " timeout \(t)" }
            if s.counters { out += " counters" }
            if s.comments { out += " comment" }
            out += " bucketsize 12 initval 0x" + hex8(s.initval) + "\n"
            for e in s.members(now: now) {
                out += "add \(s.name) \(elementText(e.key, s))"
                if s.timeout != nil {
                    if own { out += e.expires.map { " expires-ns \($0)" } ?? " timeout 0" } else {
                        // ip_set_timeout_get: whole seconds left (0: permanent).
                        out += " timeout \(e.expires.map { ($0 - now) / 1_000_000_000 } ?? 0)"
                    }
                }
                if e.nomatch { out += " nomatch" }
                if s.counters { out += " packets \(e.packets) bytes \(e.bytes)" }
                if let c = e.comment { out += " comment \"\(c)\"" }
                out += "\n"
            }
        }
        return out
    }

    static func hex8(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: 8 - h.count) + h
    }

    static func addressText(_ a: UInt128, v6: Bool) -> String {
        v6 ? IPv6Address(raw: a).description : IPv4Address(raw: UInt32(truncatingIfNeeded: a)).description
    }

    static func netText(_ a: UInt128, _ len: UInt8, _ s: IPSet) -> String {
        addressText(a, v6: s.v6) + (len == s.hostBits ? "" : "/\(len)")
    }

    static func elementText(_ k: IPSetKey, _ s: IPSet) -> String {
        var t = s.type.netDimension == 0 ? netText(k.ip, k.cidr, s) : addressText(k.ip, v6: s.v6)
        guard s.type.hasPort else { return t }
        if k.proto == 1 {
            t += ",icmp:" + (icmpNames.first { $0.1 == k.port }?.0 ?? "\(k.port >> 8)/\(k.port & 0xff)")
        } else {
            t += ",\(NFConstants.getprotobynumber(UInt64(k.proto)) ?? String(k.proto)):\(k.port)"
        }
        switch s.type {
        case .hashIPPortIP: t += "," + addressText(k.ip2, v6: s.v6)
        case .hashIPPortNet: t += "," + netText(k.ip2, k.cidr, s)
        default: break
        }
        return t
    }
}
