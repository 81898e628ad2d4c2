import Foundation

/// nft's symbolic constants: protocol, ICMP type/code, ct state/status, TCP flag and pkttype names.
public enum NFConstants {
    /// Protocol names as nft resolves them: /etc/protocols (names and aliases), and nft's own
    /// `comp` keyword.
    public static let protocols: [String: UInt64] = {
        var m: [String: UInt64] = ["comp": 108]
        for p in etcProtocols.reversed() { for n in [p.name] + p.aliases { m[n] = p.number } }
        return m
    }()
    static let protocolNames: [UInt64: String] = {
        var m: [UInt64: String] = [:]
        for p in etcProtocols where m[p.number] == nil { m[p.number] = p.name }
        return m
    }()
    public static let icmpTypes: [String: UInt64] = [
        "echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, "redirect": 5, "echo-request": 8,
        "router-advertisement": 9, "router-solicitation": 10, "time-exceeded": 11, "parameter-problem": 12,
        "timestamp-request": 13, "timestamp-reply": 14, "info-request": 15, "info-reply": 16,
        "address-mask-request": 17, "address-mask-reply": 18,
    ]
    /// nft's icmpv6_type names, in its table's order (the first of two for one value is printed).
    static let icmp6TypeList: [(String, UInt64)] = [
        ("destination-unreachable", 1), ("packet-too-big", 2), ("time-exceeded", 3), ("parameter-problem", 4), ("echo-request", 128),
        ("echo-reply", 129), ("mld-listener-query", 130), ("mld-listener-report", 131), ("mld-listener-done", 132),
        ("mld-listener-reduction", 132), ("nd-router-solicit", 133), ("nd-router-advert", 134), ("nd-neighbor-solicit", 135),
        ("nd-neighbor-advert", 136), ("nd-redirect", 137), ("router-renumbering", 138), ("ind-neighbor-solicit", 141),
        ("ind-neighbor-advert", 142), ("mld2-listener-report", 143),
    ]
    /// nft's icmpv6_code names.
    static let icmp6CodeList: [(String, UInt64)] = [
        ("no-route", 0), ("admin-prohibited", 1), ("addr-unreachable", 3), ("port-unreachable", 4), ("policy-fail", 5), ("reject-route", 6),
    ]
    /// Name tables of the IPv6 and ICMPv6 fields, by selector name, in nft's order.
    static let ipv6Names: [String: [(String, UInt64)]] = [
        "ip6 nexthdr": protocolNames.sorted { $0.key < $1.key }.map { ($0.value, $0.key) },
        "ip6 dscp": dscp.sorted { $0.value < $1.value }.map { ($0.key, $0.value) },
        "ip6 ecn": ecn.sorted { $0.value < $1.value }.map { ($0.key, $0.value) },
        "icmpv6 type": icmp6TypeList, "icmpv6 code": icmp6CodeList,
        "hbh nexthdr": protocolNames.sorted { $0.key < $1.key }.map { ($0.value, $0.key) },
        "rt nexthdr": protocolNames.sorted { $0.key < $1.key }.map { ($0.value, $0.key) },
        "frag nexthdr": protocolNames.sorted { $0.key < $1.key }.map { ($0.value, $0.key) },
        "dst nexthdr": protocolNames.sorted { $0.key < $1.key }.map { ($0.value, $0.key) },
        "mh nexthdr": protocolNames.sorted { $0.key < $1.key }.map { ($0.value, $0.key) },
        // nft's mh_type_tbl (RFC 6275 and RFC 5568).
        "mh type": [("binding-refresh-request", 0), ("home-test-init", 1), ("careof-test-init", 2), ("home-test", 3), ("careof-test", 4),
                    ("binding-update", 5), ("binding-acknowledgement", 6), ("binding-error", 7), ("fast-binding-update", 8),
                    ("fast-binding-acknowledgement", 9), ("fast-binding-advertisement", 10), ("experimental-mobility-header", 11),
                    ("home-agent-switch-message", 12)],
    ]

    /// `reject with icmpx TYPE` (the inet family's unified codes) and the ICMPv4 code each sends
    /// (nft_reject_icmp_code: no-route is net unreachable, admin-prohibited is "packet filtered").
    public static let icmpxCodes: [String: UInt8] = ["no-route": 0, "port-unreachable": 3, "host-unreachable": 1, "admin-prohibited": 13]
    public static let icmpUnreachCodes: [String: UInt8] = [
        "net-unreachable": 0, "host-unreachable": 1, "prot-unreachable": 2, "port-unreachable": 3,
        "net-prohibited": 9, "host-prohibited": 10, "admin-prohibited": 13,
    ]
    /// dccp_pkttype (RFC 4340 packet types) and igmp_type names as nft reads and prints them.
    public static let dccpTypes: [String: UInt64] = [
        "request": 0, "response": 1, "data": 2, "ack": 3, "dataack": 4, "closereq": 5, "close": 6, "reset": 7, "sync": 8, "syncack": 9,
    ]
    public static let igmpTypes: [String: UInt64] = [
        "membership-query": 0x11, "membership-report-v1": 0x12, "membership-report-v2": 0x16, "membership-report-v3": 0x22, "leave-group": 0x17,
    ]
    /// nft's icmp_code type: the names it reads and prints for ICMP codes.
    public static let icmpCodes: [String: UInt64] = [
        "net-unreachable": 0, "host-unreachable": 1, "prot-unreachable": 2, "port-unreachable": 3, "frag-needed": 4,
        "net-prohibited": 9, "host-prohibited": 10, "admin-prohibited": 13,
    ]
    /// DSCP names (RFC 2474 class selectors, RFC 2597 AF, RFC 3246 EF) as nft's dscp type has them.
    public static let dscp: [String: UInt64] = [
        "cs0": 0, "cs1": 8, "cs2": 16, "cs3": 24, "cs4": 32, "cs5": 40, "cs6": 48, "cs7": 56, "af11": 10, "af12": 12, "af13": 14,
        "af21": 18, "af22": 20, "af23": 22, "af31": 26, "af32": 28, "af33": 30, "af41": 34, "af42": 36, "af43": 38, "ef": 46,
        "lephb": 1, "va": 44,
    ]
    /// Other names nft reads for a DSCP (it prints cs0 for 0).
    static let dscpAliases: [String: UInt64] = ["df": 0, "be": 0]
    /// nft's ecn type (RFC 3168 codepoints).
    public static let ecn: [String: UInt64] = ["not-ect": 0, "ect1": 1, "ect0": 2, "ce": 3]
    /// ct state bits as nft_ct uses them: invalid 1, established 2, related 4, new 8, untracked 64.
    public static let ctStates: [String: UInt64] = ["invalid": 1, "established": 2, "related": 4, "new": 8, "untracked": 64]
    /// IPS_* status bits (include/uapi/linux/netfilter/nf_conntrack_common.h).
    public static let ctStatus: [String: UInt64] = [
        "expected": 1, "seen-reply": 2, "assured": 4, "confirmed": 8, "snat": 16, "dnat": 32, "dying": 512,
    ]
    public static let tcpFlags: [String: UInt64] = ["fin": 1, "syn": 2, "rst": 4, "psh": 8, "ack": 16, "urg": 32, "ecn": 64, "cwr": 128]
    public static let pkttypes: [String: UInt64] = ["host": 0, "broadcast": 1, "multicast": 2, "other": 3]
    public static let directions: [String: UInt64] = ["original": 0, "reply": 1]
    /// NFPROTO_* (include/uapi/linux/netfilter.h).
    public static let nfprotos: [String: UInt64] = ["inet": 1, "ipv4": 2, "arp": 3, "netdev": 5, "bridge": 7, "ipv6": 10]

    /// Service names as nft resolves them (getservbyname on a Debian system's /etc/services).
    public static let services: [String: UInt64] = [
        "ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "bootps": 67, "bootpc": 68, "tftp": 69,
        "http": 80, "www": 80, "kerberos": 88, "pop3": 110, "sunrpc": 111, "auth": 113, "ntp": 123, "netbios-ns": 137,
        "netbios-dgm": 138, "netbios-ssn": 139, "imap2": 143, "imap": 143, "snmp": 161, "snmp-trap": 162, "bgp": 179, "ldap": 389,
        "https": 443, "microsoft-ds": 445, "isakmp": 500, "syslog": 514, "submission": 587, "ipp": 631, "ldaps": 636,
        "domain-s": 853, "rsync": 873, "imaps": 993, "pop3s": 995, "openvpn": 1194, "ms-sql-s": 1433, "mysql": 3306,
        "postgresql": 5432, "x11": 6000, "http-alt": 8080,
    ]

    /// The name nft prints for a protocol number (icmpv6 reads as 58 too; it prints as ipv6-icmp).
    static func protocolName(_ n: UInt64) -> String {
        protocolNames[n] ?? String(n)
    }

    static func named(_ w: String, for sel: NFSelector) -> UInt64? {
        if sel.isPort, let p = services[w] { return p }
        return switch sel {
        case .ipProtocol, .l4proto: protocols[w] ?? (w == "icmpv6" ? 58 : nil)
        case .icmpType: icmpTypes[w]
        case .icmpCode: icmpCodes[w]
        case .ipDSCP: dscp[w] ?? dscpAliases[w]
        case .ipECN: ecn[w]
        case .ctState: ctStates[w]
        case .ctStatus: ctStatus[w]
        case .tcpFlags: tcpFlags[w]
        case .pkttype: pkttypes[w] ?? (w == "unicast" ? 0 : nil)   // nft reads unicast as host
        case .ctDirection: directions[w]
        case .nfproto: nfprotos[w]
        default: special(w, for: sel) ?? namedOther(w, sel)
        }
    }

    /// Names for the table-driven fields (`dccp type`, `igmp type`, `ah nexthdr`).
    static func namedOther(_ w: String, _ sel: NFSelector) -> UInt64? {
        switch sel.rawValue {
        case "dccp type": dccpTypes[w]
        case "igmp type": igmpTypes[w]
        case "ah nexthdr", "comp nexthdr": protocols[w]
        case "ip6 nexthdr": protocols[w] ?? (w == "icmpv6" ? 58 : nil)
        case "ip6 dscp": dscp[w] ?? dscpAliases[w]
        case let n where ipv6Names[n] != nil: ipv6Names[n]!.first { $0.0 == w }?.1
        case "ether type", "vlan type", "arp ptype": etherTypes[w]
        case "arp operation": arpOperations.first { $0.0 == w }?.1
        default: nil
        }
    }

    static func bits(_ v: NFValue) -> UInt64 {
        if case .range(let lo, _, _) = v { return lo }
        return 0
    }

    /// A number as nft reads one (strtoull/mpz base 0): hex after `0x`, octal after a leading 0
    /// (`010` is 8, `080` no number at all), else decimal.
    public static func number(_ w: String) -> UInt64? {
        if w.hasPrefix("0x") { return UInt64(w.dropFirst(2), radix: 16) }
        if w.count > 1, w.hasPrefix("0") { return UInt64(w.dropFirst(), radix: 8) }
        return UInt64(w)
    }

    public static func ipv4(_ s: String) -> UInt32? {
        let p = s.split(separator: ".", omittingEmptySubsequences: false)
        guard p.count == 4 else { return nil }
        var r: UInt32 = 0
        for x in p {
            guard let v = UInt32(x), v <= 255, !x.isEmpty else { return nil }
            r = r << 8 | v
        }
        return r
    }
    public static func ipv4Text(_ a: UInt32) -> String { "\(a >> 24).\((a >> 16) & 0xff).\((a >> 8) & 0xff).\(a & 0xff)" }
}

/// Renders statements the way `nft list ruleset` prints them.
public enum NFPrinter {
    static func number(_ n: UInt64, _ sel: NFSelector) -> String {
        if let t = NFConstants.specialText(n, for: sel) { return t }
        if sel.isMAC { return (0..<6).map { k in let b = (n >> UInt64(40 - 8 * k)) & 0xff; return (b < 16 ? "0" : "") + String(b, radix: 16) }.joined(separator: ":") }
        // ethertype_type and dscp_type are hexadecimal: a value without a name prints as 0x%04x / 0x%02x.
        if sel.rawValue == "ether type" || sel.rawValue == "vlan type" || sel.rawValue == "arp ptype" { return NFConstants.etherTypeNames[n] ?? hex(n, digits: 4) }
        if sel.rawValue == "arp operation" { return NFConstants.arpOperations.first { $0.1 == n }?.0 ?? String(n) }
        switch sel {
        case .mark, .ctMark, _ where sel.rawValue == "socket mark":
            return "0x" + String(repeating: "0", count: max(0, 8 - String(n, radix: 16).count)) + String(n, radix: 16)
        case .ipProtocol, .l4proto: return NFConstants.protocolName(n)
        case .icmpType: return NFConstants.icmpTypes.first { $0.value == n }?.key ?? String(n)
        case .pkttype: return NFConstants.pkttypes.first { $0.value == n }?.key ?? String(n)
        case .nfproto: return NFConstants.nfprotos.first { $0.value == n }?.key ?? String(n)
        case .icmpCode: return NFConstants.icmpCodes.first { $0.value == n }?.key ?? String(n)
        case .ipDSCP, _ where sel.rawValue == "ip6 dscp": return NFConstants.dscp.first { $0.value == n }?.key ?? hex(n, digits: 2)
        case .ipECN: return NFConstants.ecn.first { $0.value == n }?.key ?? String(n)
        case _ where sel.rawValue == "dccp type": return NFConstants.dccpTypes.first { $0.value == n }?.key ?? String(n)
        case _ where sel.rawValue == "igmp type": return NFConstants.igmpTypes.first { $0.value == n }?.key ?? String(n)
        case _ where sel.rawValue == "ah nexthdr" || sel.rawValue == "comp nexthdr" || sel.rawValue == "ip6 nexthdr": return NFConstants.protocolName(n)
        case _ where NFConstants.ipv6Names[sel.rawValue] != nil: return NFConstants.ipv6Names[sel.rawValue]!.first { $0.1 == n }?.0 ?? String(n)
        default: return String(n)
        }
    }

    static func hex(_ n: UInt64, digits: Int) -> String {
        let h = String(n, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, digits - h.count)) + h
    }

    static func flags(_ v: UInt64, _ sel: NFSelector) -> String {
        let table: [(String, UInt64)]
        switch sel {
        case .tcpFlags: table = [("fin", 1), ("syn", 2), ("rst", 4), ("psh", 8), ("ack", 16), ("urg", 32), ("ecn", 64), ("cwr", 128)]
        case .ctState: table = [("invalid", 1), ("established", 2), ("related", 4), ("new", 8), ("untracked", 64)]
        case .ctStatus: table = [("expected", 1), ("seen-reply", 2), ("assured", 4), ("confirmed", 8), ("snat", 16), ("dnat", 32), ("dying", 512)]
        default: return String(v)
        }
        return table.filter { v & $0.1 != 0 }.map(\.0).joined(separator: ",")
    }

    /// Elements in the order nft lists them: by key (ranges by their start), names as given.
    /// (Names with a wildcard make an anonymous set an interval one, whose names list in byte order:
    /// `oifname { "eth*", "lo", "wl*" }`, recorded.)
    static func sortedElements(_ vs: [NFValue]) -> [NFValue] {
        let wildcards = vs.contains { if case .string(let s) = $0 { s.hasSuffix("*") } else { false } }
        return sortedOrder(vs, interval: wildcards).map { vs[$0] }
    }

    /// `KEY map { K : "DEVICE", ... }`, the keys in nft's order.
    static func deviceMap(_ key: NFSelector, _ entries: [(NFValue, String)]) -> String {
        "\(key.printed) map { " + sortedOrder(entries.map(\.0)).map { "\(value(entries[$0].0, key)) : \"\(entries[$0].1)\"" }.joined(separator: ", ") + " }"
    }

    /// The positions of `vs` in the order nft lists the values (equal values keep their order; a
    /// catch-all element, which the kernel keeps apart from the set, last).
    static func sortedOrder(_ vs: [NFValue], interval: Bool = false) -> [Int] {
        vs.enumerated().filter { $0.element != .catchAll }.sorted { a, b in
            switch (a.element, b.element) {
            case (.range(let x, _, _), .range(let y, _, _)): return x != y ? x < y : a.offset < b.offset
            case (.range6(let x, _, _), .range6(let y, _, _)): return x != y ? x < y : a.offset < b.offset
            // An interval set's names (wildcards are ranges) in its tree's order: the bytes, first
            // byte first (recorded: `"eth*", "lo"`).
            case (.string(let x), .string(let y)) where interval:
                let (p, q) = (Array(x.utf8.prefix { $0 != 0x2a }), Array(y.utf8.prefix { $0 != 0x2a }))
                return p != q ? p.lexicographicallyPrecedes(q) : a.offset < b.offset
            case (.string(let x), .string(let y)):
                // Interface names as the 16-byte key read as one little-endian number: last byte first.
                let kx = Array(x.utf8.prefix(16)) + [UInt8](repeating: 0, count: max(0, 16 - x.utf8.count))
                let ky = Array(y.utf8.prefix(16)) + [UInt8](repeating: 0, count: max(0, 16 - y.utf8.count))
                for (p, q) in zip(kx.reversed(), ky.reversed()) where p != q { return p < q }
                return a.offset < b.offset
            default: return a.offset < b.offset
            }
        }.map(\.offset) + vs.indices.filter { vs[$0] == .catchAll }
    }

    /// Anonymous sets of concatenations in the order nft lists them: by the key as the registers
    /// hold it (each part padded to 4 bytes; header fields in network order, meta and ct keys in
    /// host order) read as one little-endian number, as nft's sort compares the key's value.
    static func sortedTuples(_ vs: [NFValue], _ sels: [NFSelector]) -> [NFValue] { sortedTupleOrder(vs, sels).map { vs[$0] } }

    /// Tuples as nft lists them: a hash set's by their bytes, little-endian; an interval set's
    /// (pipapo: a named set with `flags interval`, or one with a range in a tuple) as they were
    /// added (recorded). The catch-all last.
    static func sortedTupleOrder(_ vs: [NFValue], _ sels: [NFSelector], interval: Bool = false) -> [Int] {
        if interval || vs.contains(where: { if case .tuple(let parts) = $0 { parts.contains { !$0.isSingle } } else { false } }) {
            return vs.indices.filter { vs[$0] != .catchAll } + vs.indices.filter { vs[$0] == .catchAll }
        }
        func key(_ v: NFValue) -> [UInt8] {
            guard case .tuple(let parts) = v else { return [] }
            var bytes: [UInt8] = []
            for (p, sel) in zip(parts, sels) {
                let width = (NFSelector.bitWidth(sel) + 7) / 8
                switch p {
                case .range(let lo, _, _):
                    bytes += sel.payload != nil ? (0..<width).map { UInt8(truncatingIfNeeded: lo >> UInt64(8 * (width - 1 - $0))) }
                        : (0..<width).map { UInt8(truncatingIfNeeded: lo >> UInt64(8 * $0)) }
                case .string(let s): bytes += Array(s.utf8.prefix(width)) + [UInt8](repeating: 0, count: max(0, width - s.utf8.count))
                default: bytes += [UInt8](repeating: 0, count: width)
                }
                bytes += [UInt8](repeating: 0, count: (4 - width % 4) % 4)
            }
            return bytes
        }
        let keyed = vs.enumerated().filter { $0.element != .catchAll }.map { ($0.offset, key($0.element)) }
        return keyed.sorted { a, b in
            // The last byte weighs most.
            for (x, y) in zip(a.1.reversed(), b.1.reversed()) where x != y { return x < y }
            return a.0 < b.0
        }.map(\.0) + vs.indices.filter { vs[$0] == .catchAll }
    }

    /// A concatenated value or a set of them: the parts joined by ` . `.
    static func tupleText(_ v: NFValue, _ sels: [NFSelector]) -> String {
        switch v {
        case .tuple(let parts): return zip(parts, sels).map { value($0, $1) }.joined(separator: " . ")
        case .set(let vs): return "{ " + sortedTuples(vs, sels).map { tupleText($0, sels) }.joined(separator: ", ") + " }"
        default: return value(v, sels[0])
        }
    }

    /// An anonymous interval set as the kernel holds it: sorted, with touching or overlapping ranges
    /// merged (nft's automerge); single values stay as they are.
    static func mergedElements(_ vs: [NFValue], _ sel: NFSelector) -> [NFValue] {
        let sorted = sortedElements(vs)
        guard sorted.contains(where: {
            switch $0 {
            case .range(let a, let b, _): a != b
            case .range6(let a, let b, _): a != b
            default: false
            }
        }) else { return sorted }
        var out: [NFValue] = []
        for v in sorted {
            if case .range(let lo, let hi, _) = v, let last = out.last, case .range(let plo, let phi, _) = last, lo <= phi &+ 1, phi != .max {
                let nhi = max(hi, phi)
                let text = sel.isAddress ? ipv4Range(UInt32(plo), UInt32(nhi)) : plo == nhi ? String(plo) : "\(plo)-\(nhi)"
                out[out.count - 1] = .range(plo, nhi, text: text)
            } else if case .range6(let lo, let hi, _) = v, let last = out.last, case .range6(let plo, let phi, _) = last, phi != .max, lo <= phi + 1 {
                let nhi = max(hi, phi)
                out[out.count - 1] = .range6(plo, nhi, text: IPv6Text.range(plo, nhi))
            } else {
                out.append(v)
            }
        }
        return out
    }

    static func value(_ v: NFValue, _ sel: NFSelector) -> String {
        switch v {
        case .range(let lo, let hi, let text):
            if lo == hi, sel.isFlags { return flags(lo, sel) }
            if sel == .mark || sel == .ctMark { return lo == hi ? number(lo, sel) : text.contains("/") ? text : number(lo, sel) + "-" + number(hi, sel) }
            if sel.isHex { return "0x" + String(lo, radix: 16) + (lo == hi ? "" : "-0x" + String(hi, radix: 16)) }
            if lo == hi, sel == .icmpCode || sel == .ipDSCP || sel == .ipECN || NFConstants.ipv6Names[sel.rawValue] != nil || sel.isMAC || NFConstants.specialText(lo, for: sel) != nil { return number(lo, sel) }
            // nft prints a time range in plain seconds (`60s-3600s`), a single time in units (`1m7s`).
            if sel == .ctExpiration { return "\(lo / 1000)s-\(hi / 1000)s" }
            return text
        case .range6(_, _, let text): return text
        case .catchAll: return "*"
        case .string(let s): return "\"\(s)\""
        case .set(let vs):
            // An anonymous set lists its elements in key order, as the kernel's set holds them;
            // an element of several flags as `syn | ack`.
            // Interface indexes come in ifindex order from the parser, which knows the devices.
            return "{ " + (sel.isInterfaceIndex ? vs : mergedElements(vs, sel)).map { e in
                if sel.isFlags, case .range(let lo, let hi, _) = e, lo == hi { return flags(lo, sel).replacingOccurrences(of: ",", with: " | ") }
                return value(e, sel)
            }.joined(separator: ", ") + " }"
        case .named(let n): return "@\(n)"
        case .tuple(let parts): return parts.map { value($0, sel) }.joined(separator: " . ")
        }
    }

    /// A set's own statement as its declaration lists it: a counter without numbers (each element
    /// has its own), a quota unused.
    static func setStatement(_ s: NFStatement) -> String {
        if case .counter = s { return "counter" }
        return statement(s)
    }

    /// `log` as nft prints it: prefix, group, snaplen, queue-threshold, level (warn is the default), flags.
    static func log(_ l: NFLog) -> String {
        var out = "log"
        if let p = l.prefix { out += " prefix \"\(p)\"" }
        if let g = l.group { out += " group \(g)" }
        if let n = l.snaplen { out += " snaplen \(n)" }
        if let n = l.queueThreshold { out += " queue-threshold \(n)" }
        if let lv = l.level { out += " level \(lv)" }
        if l.flags & NFLog.all == NFLog.all {
            out += " flags all"
        } else {
            let tcp = [(NFLog.tcpSequence, "sequence"), (NFLog.tcpOptions, "options")].filter { l.flags & $0.0 != 0 }.map(\.1)
            if !tcp.isEmpty { out += " flags tcp " + tcp.joined(separator: ",") }
            if l.flags & NFLog.ipOptions != 0 { out += " flags ip options" }
            if l.flags & NFLog.skuid != 0 { out += " flags skuid" }
            if l.flags & NFLog.ether != 0 { out += " flags ether" }
        }
        return out
    }

    /// `quota [over] N unit [used M unit]` (used only once bytes have been counted).
    static func quota(_ n: UInt64, over: Bool, used: UInt64) -> String {
        // nft_quota_do_dump reports no more than the quota as used.
        "quota \(over ? "over " : "")\(bytes(n))" + (used > 0 ? " used \(bytes(min(used, n)))" : "")
    }

    /// A byte amount in the largest unit that divides it, as nft prints limits.
    static func bytes(_ n: UInt64) -> String {
        if n >= 1024 * 1024 && n % (1024 * 1024) == 0 { return "\(n / (1024 * 1024)) mbytes" }
        if n >= 1024 && n % 1024 == 0 { return "\(n / 1024) kbytes" }
        return "\(n) bytes"
    }

    public static func statement(_ s: NFStatement, family: NFFamily = .ip) -> String {
        switch s {
        case .match6Masked(let sel, let mask, let op, let v):
            return "\(sel.printed) & \(IPv6Text.text(mask)) \(op == .ne ? "!=" : "==") \(IPv6Text.text(v))"
        case .match(let sel, let mask, let op, let v):
            if sel.isOptionPresence, case .range(let v, _, _) = v { return "\(sel.rawValue) \(v == 1 ? "exists" : "missing")" }
            if sel.isFib || sel.rawValue == "rt ipsec" || sel.rawValue == "meta ipsec", case .range(_, _, let text) = v, text == "exists" || text == "missing" {
                return "\(sel.rawValue) \(text)"
            }
            // nft prints `& m == 0` as `! m`, and (tcp flags, ct state and status) `& m == v` over
            // several bits as `v / m`.
            if sel.isFlags, let mask, case .range(0, 0, _) = v, op == .eq { return "\(sel.printed) ! \(flags(mask, sel))" }
            if sel == .tcpFlags || sel == .ctState || sel == .ctStatus, let mask, mask.nonzeroBitCount > 1, !v.isSet {
                return "\(sel.printed) " + (op == .ne ? "!= " : "") + "\(value(v, sel)) / \(flags(mask, sel))"
            }
            var out = sel.printed
            if let mask {
                let m = sel.isFlags ? flags(mask, sel).replacingOccurrences(of: ",", with: " | ")
                    : sel.isAddress ? NFConstants.ipv4Text(UInt32(truncatingIfNeeded: mask)) : number(mask, sel)
                out += " & " + (sel.isFlags && mask.nonzeroBitCount > 1 ? "(\(m))" : m)
            }
            // `==` is implied except where a bare flag list means "any bit" or a mask comes first.
            if op != .implicit && !(op == .eq && mask == nil && !sel.isFlags) { out += " \(op.rawValue)" }
            else if mask != nil { out += " ==" }
            if sel.isFlags, mask == nil, op != .implicit, case .range(let lo, let hi, _) = v, lo == hi, lo.nonzeroBitCount > 1 {
                // nft 1.0.6 prints a whole-value compare of several bits as a number (tcp flags) or a | list.
                return out + " " + (sel == .tcpFlags ? "0x" + String(lo, radix: 16) : flags(lo, sel).replacingOccurrences(of: ",", with: " | "))
            }
            return out + " " + value(v, sel)
        case .xfrm(let x, let op, let v):
            return x.text + (op == .implicit || op == .eq ? "" : " \(op.rawValue)") + " " + value(v, x.key)
        case .matchOr(let sel, let o, let op, let v):
            return "\(sel.printed) | \(number(o, sel)) \(op.rawValue) \(value(v, sel))"
        case .counter(let p, let b): return "counter packets \(p) bytes \(b)"
        case .limit(let r, let per, let burst, let over, let unit):
            let perText = [1_000_000_000: "second", 60_000_000_000: "minute", 3_600_000_000_000: "hour", 86_400_000_000_000: "day",
                           7 * 86_400_000_000_000: "week"][per] ?? "second"
            if unit == .bytes {
                return "limit rate \(over ? "over " : "")\(bytes(r))/\(perText)" + (burst != 0 ? " burst \(bytes(burst))" : "")
            }
            return "limit rate \(over ? "over " : "")\(r)/\(perText)" + (burst != 5 ? " burst \(burst) packets" : "")
        case .log(let l): return log(l)
        case .quota(let n, let over, let used): return quota(n, over: over, used: used)
        case .setMark(let m): return "meta mark set \(number(UInt64(m), .mark))"
        case .setCtMark(let m): return "ct mark set \(number(UInt64(m), .ctMark))"
        case .setExpr(let target, let source, let mask, let xor, let shift, let postMask, let postXor):
            guard let source else { return "\(target.printed) set \(number(UInt64(xor), target))" }
            // Constants print in the source's type: a mark's in hex, an integer key's in decimal.
            let hex = source == .mark || source == .ctMark
            guard shift != 0 else { return "\(target.printed) set \(source.printed)" + bitwise(mask: mask, xor: xor, hex: hex) }
            // A mask or xor before the shift is parenthesised, as nft lists it.
            let pre = bitwise(mask: mask, xor: xor, hex: hex)
            return "\(target.printed) set " + (pre.isEmpty ? source.printed : "(\(source.printed)\(pre))")
                + (shift > 0 ? " << \(shift)" : " >> \(-shift)") + bitwise(mask: postMask, xor: postXor, hex: hex)
        case .setPayload(let sel, let v): return "\(sel.printed) set \(value(v, sel))"
        case .setPayloadFrom(let sel, let source): return "\(sel.printed) set \(source.printed)"
        case .resetTCPOption(let kind): return "reset tcp option \(NFSelector.tcpOptionName(kind) ?? String(kind))"
        case .setGenerated(let target, let g): return "\(target.printed) set \(g.text)"
        case .synproxy(let x): return synproxy(x)
        case .fwd(let f):
            if let key = f.key { return "fwd to " + deviceMap(key, f.devices) }
            guard let fam = f.family, let a = f.addrText else { return "fwd to \"\(f.device)\"" }
            return "fwd \(fam.rawValue) to \(a) device \"\(f.device)\""
        case .objref(let kind, let name): return "\(kind.rawValue) \(kind.isConntrack ? "set" : "name") \"\(name)\""
        case .objrefMapNamed(let kind, let keys, let map): return "\(kind.rawValue) name \(keys.map(\.printed).joined(separator: " . ")) map @\(map)"
        case .objrefMap(let kind, let keys, let entries):
            let order = keys.count > 1 ? sortedTuples(entries.map(\.0), keys) : sortedElements(entries.map(\.0))
            let sorted = order.compactMap { k in entries.first { $0.0 == k } }
            return "\(kind.rawValue) \(kind.isConntrack ? "set" : "name") \(keys.map(\.printed).joined(separator: " . ")) map { "
                + sorted.map { "\(tupleText($0.0, keys)) : \"\($0.1)\"" }.joined(separator: ", ") + " }"
        case .dynset(let op, let set, let key, let timeout, let exprs, let data, let values):
            let keyText = key.enumerated().map { k, s in k < values.count ? values[k].map { value($0, s) } ?? s.printed : s.printed }.joined(separator: " . ")
            let timeoutText = timeout.map { " timeout \(timeText($0))" } ?? ""
            return "\(op.rawValue) @\(set) { \(keyText)" + timeoutText + elementExprs(exprs) + (data.map { " : " + dynData($0) } ?? "") + " }"
        case .meter(let name, let size, let key, let timeout, let exprs):
            let keyText = key.map(\.printed).joined(separator: " . ")
            let timeoutText = timeout.map { " timeout \(timeText($0))" } ?? ""
            return "meter \(name) size \(size) { \(keyText)" + timeoutText + elementExprs(exprs) + " }"
        case .ctCount(let n, let over): return "ct count \(over ? "over " : "")\(n)"
        case .setNftrace(let on): return "meta nftrace set \(on ? 1 : 0)"
        case .rawMatch(let f, let mask, let op, let v):
            func hex(_ n: UInt64) -> String { "0x" + String(n, radix: 16) }
            func val(_ v: NFValue) -> String { if case .range(let lo, let hi, _) = v { lo == hi ? hex(lo) : "\(hex(lo))-\(hex(hi))" } else { "" } }
            let base = switch f.base { case .link: "ll"; case .network: "nh"; case .transport: "th"; case .inner: "ih" }
            var out = "@\(base),\(f.bitOffset),\(f.bitLength)"
            if let mask { out += " & " + hex(mask) + " " + (op == .implicit ? "==" : op.rawValue) }
            else if op != .implicit && op != .eq { out += " " + op.rawValue }
            if case .set(let vs) = v { return out + " { " + sortedElements(vs).map(val).joined(separator: ", ") + " }" }
            return out + " " + val(v)
        case .tcpOptionRaw(let kind, let off, let len, let op, let v):
            let opText = op == .implicit || op == .eq ? "" : op.rawValue + " "
            func val(_ v: NFValue) -> String { if case .range(let lo, let hi, _) = v { lo == hi ? "\(lo)" : "\(lo)-\(hi)" } else { "" } }
            let valueText = if case .set(let vs) = v { "{ " + sortedElements(vs).map(val).joined(separator: ", ") + " }" } else { val(v) }
            return "tcp option @\(kind),\(off),\(len) " + opText + valueText
        case .rawMatchWide(let f, let negate, let v):
            let base = switch f.base { case .link: "ll"; case .network: "nh"; case .transport: "th"; case .inner: "ih" }
            return "@\(base),\(f.bitOffset),\(f.bitLength) " + (negate ? "!= " : "") + "0x" + String(v, radix: 16)
        case .setMappedNamed(let target, let key, let map): return "\(target.printed) set \(key.map(\.printed).joined(separator: " . ")) map @\(map)"
        case .natMapNamed(let source, let key, let map, let flags, let withPort, let v6):
            return "\(source ? "snat" : "dnat") \(family == .inet || withPort ? (v6 ? "ip6 " : "ip ") : "")to \(key.map(\.printed).joined(separator: " . ")) map @\(map)" + natFlags(flags)
        case .setMapped6(let target, let keys, let entries):
            let order = keys.count > 1 ? sortedTuples(entries.map(\.0), keys) : sortedElements(entries.map(\.0))
            let sorted = order.compactMap { k in entries.first { $0.0 == k } }
            return "\(target.printed) set \(keys.map(\.printed).joined(separator: " . ")) map { "
                + sorted.map { "\(tupleText($0.0, keys)) : \(IPv6Text.text($0.1))" }.joined(separator: ", ") + " }"
        case .setMapped(let target, let keys, let entries):
            let order = keys.count > 1 ? sortedTuples(entries.map(\.0), keys) : sortedElements(entries.map(\.0))
            let sorted = order.compactMap { k in entries.first { $0.0 == k } }
            return "\(target.printed) set \(keys.map(\.printed).joined(separator: " . ")) map { "
                + sorted.map { "\(tupleText($0.0, keys)) : \(valueText($0.1, target))" }.joined(separator: ", ") + " }"
        case .generatorVmap(let g, let entries):
            let sorted = sortedElements(entries.map(\.0)).compactMap { k in entries.first { $0.0 == k } }
            return "\(g.text) vmap { " + sorted.map { "\(plain($0.0)) : \($0.1.text)" }.joined(separator: ", ") + " }"
        case .generatorMatch(let g, let op, let v):
            let vText = if case .set(let vs) = v { "{ " + sortedElements(vs).map(plain).joined(separator: ", ") + " }" } else { plain(v) }
            return g.text + (op == .implicit || op == .eq ? "" : " " + op.rawValue) + " " + vText
        case .natMap(let m):
            let keys = m.entries.map(\.key)
            let order: [NFValue], keyText: (NFValue) -> String
            switch m.key {
            case .selector(let s): (order, keyText) = (sortedElements(keys), { value($0, s) })
            case .concat(let sels): (order, keyText) = (sortedTuples(keys, sels), { tupleText($0, sels) })
            case .generator: (order, keyText) = (sortedElements(keys), plain)
            }
            let sorted = order.compactMap { k in m.entries.first { $0.key == k } }
            return "\(m.source ? "snat" : "dnat") \(family == .inet || m.namesFamily ? m.v6 ? "ip6 " : "ip " : "")\(natPrefix(m.flags))to \(m.key.text) map { "
                + sorted.map { "\(keyText($0.key)) : \(natData($0.data))" }.joined(separator: ", ") + " }" + natFlags(m.flags)
        case .notrack: return "notrack"
        case .ctObject(let c): return c.listingLines.joined(separator: "; ")
        case .setCtEvent(let bits): return "ct event set \(NFParser.ctEventText(bits))"
        case .dup(let d) where d.toDevice: return "dup to " + (d.key.map { deviceMap($0, d.devices) } ?? "\"\(d.device ?? "")\"")
        case .dup(let d):
            let to = d.addr.map { NFConstants.ipv4Text($0) } ?? "\(d.key!.printed) map { " + sortedElements(d.entries.map(\.0)).compactMap { k in
                d.entries.first { $0.0 == k }.map { "\(value($0.0, d.key!)) : \(NFConstants.ipv4Text($0.1))" }
            }.joined(separator: ", ") + " }"
            return "dup to \(to)" + (d.device.map { " device \"\($0)\"" } ?? "")
        case .tproxy(let x):
            let addr = x.addr.map { NFConstants.ipv4Text($0) } ?? x.addr6.map { "[\(IPv6Text.text($0))]" } ?? ""
            return "tproxy" + (x.family.map { " \($0.rawValue)" } ?? "") + " to " + addr + (x.port.map { ":\($0)" } ?? "")
        case .xtSet: return "xt match set"
        case .xtSetTarget: return "xt target SET"
        case .xtConnmark: return "xt target CONNMARK"
        case .xtConntrack: return "xt match conntrack"
        case .xtMultiport: return "xt match multiport"
        case .xtRecent: return "xt match recent"
        case .xtOwner: return "xt match owner"
        case .xtConnlimit: return "xt match connlimit"
        case .xt(let x): return x.printed
        case .verdict(let v): return v.text
        case .vmap(let sel, let entries):
            // Listed in key order, as the kernel's set holds them.
            let order = sortedElements(entries.map(\.0))
            let sorted = order.compactMap { k in entries.first { $0.0 == k } }
            return "\(sel.printed) vmap { " + sorted.map { "\(value($0.0, sel)) : \($0.1.text)" }.joined(separator: ", ") + " }"
        case .vmapNamed(let sel, let m): return "\(sel.printed) vmap @\(m)"
        case .concatMatch(let sels, let op, let v):
            return sels.map(\.printed).joined(separator: " . ") + (op == .ne ? " !=" : "") + " " + tupleText(v, sels)
        case .concatVmapNamed(let sels, let m): return sels.map(\.printed).joined(separator: " . ") + " vmap @\(m)"
        case .concatVmap(let sels, let entries):
            return sels.map(\.printed).joined(separator: " . ") + " vmap { "
                + sortedTuples(entries.map(\.0), sels).compactMap { k in entries.first { $0.0 == k } }.map { "\(tupleText($0.0, sels)) : \($0.1.text)" }
                .joined(separator: ", ") + " }"
        // In an inet table nft names the address family of a NAT address.
        case .snat(let a, let ah, let p, let ph, let f): return "snat \(family == .inet && a != nil ? "ip " : "")\(natPrefix(f))to " + nat(a, ah, p, ph) + natFlags(f)
        case .dnat(let a, let ah, let p, let ph, let f): return "dnat \(family == .inet && a != nil ? "ip " : "")\(natPrefix(f))to " + nat(a, ah, p, ph) + natFlags(f)
        case .nat6(let source, let a, let ah, let p, let ph, let f):
            return "\(source ? "snat" : "dnat") \(family == .inet ? "ip6 " : "")\(natPrefix(f))to " + nat6(a, ah, p, ph) + natFlags(f)
        case .masquerade(let p, let ph, let f): return (p == nil ? "masquerade" : "masquerade to " + nat(nil, nil, p, ph)) + natFlags(f)
        case .redirect(let p, let ph, let f): return (p == nil ? "redirect" : "redirect to " + nat(nil, nil, p, ph)) + natFlags(f)
        case .natPortMap(let masq, let key, let entries, let f):
            let sorted = sortedElements(entries.map(\.0)).compactMap { k in entries.first { $0.0 == k } }
            return (masq ? "masquerade" : "redirect") + " to :\(key.printed) map { " + sorted.map { "\(value($0.0, key)) : \($0.1)" }.joined(separator: ", ") + " }" + natFlags(f)
        case .reject(let rst, let code, let icmpx):
            if rst { return "reject with tcp reset" }
            // In inet and netdev, plain `reject` is icmpx; ICMP's port unreachable names its family there.
            if code == 3 && (icmpx || family == .ip || family == .ip6) { return "reject" }
            if icmpx { return "reject with icmpx \(NFConstants.icmpxCodes.first { $0.value == code }?.key ?? String(code))" }
            return "reject with icmp \(NFConstants.icmpUnreachCodes.first { $0.value == code }?.key ?? String(code))"
        case .rejectICMPv6(let code):
            // In ip6, ICMPv6 port unreachable is plain `reject` (recorded).
            if code == 4 && family == .ip6 { return "reject" }
            return "reject with icmpv6 \(NFConstants.icmp6CodeList.first { $0.1 == UInt64(code) }?.0 ?? String(code))"
        }
    }

    /// (x & mask) ^ xor as nft lists it: `& m`, `| o`, `^ x`, or `& (m|o) | o`.
    static func bitwise(mask: UInt32, xor: UInt32, hex inHex: Bool = true) -> String {
        func hex(_ v: UInt32) -> String { inHex ? number(UInt64(v), .mark) : String(v) }
        if mask == .max { return xor == 0 ? "" : " ^ \(hex(xor))" }
        if xor == 0 { return " & \(hex(mask))" }
        if mask & xor == 0 { return (mask | xor == .max ? "" : " & \(hex(mask | xor))") + " | \(hex(xor))" }
        return " & \(hex(mask)) ^ \(hex(xor))"
    }

    /// The prefix length of `lo...hi` in a `bits`-wide address space, if the range is a prefix.
    public static func prefixLength(_ lo: UInt128, _ hi: UInt128, bits: Int) -> Int? {
        let host = lo ^ hi
        guard host & (host &+ 1) == 0, lo & host == 0 else { return nil }
        return bits - (128 - host.leadingZeroBitCount)
    }

    /// An address range as nft prints it: one address, a prefix where the range is one, else `a-b`.
    public static func ipv4Range(_ lo: UInt32, _ hi: UInt32) -> String {
        if lo == hi { return NFConstants.ipv4Text(lo) }
        if let len = prefixLength(UInt128(lo), UInt128(hi), bits: 32) { return "\(NFConstants.ipv4Text(lo))/\(len)" }
        return "\(NFConstants.ipv4Text(lo))-\(NFConstants.ipv4Text(hi))"
    }

    public static func ipv6Range(_ lo: UInt128, _ hi: UInt128) -> String {
        if lo == hi { return IPv6Text.text(lo) }
        if let len = prefixLength(lo, hi, bits: 128) { return "\(IPv6Text.text(lo))/\(len)" }
        return "\(IPv6Text.text(lo))-\(IPv6Text.text(hi))"
    }

    /// An IPv6 NAT target as nft lists it: a range that is a prefix as the prefix (`2001:db8::/120:80`
    /// with a port, as recorded), other addresses bracketed when a port follows.
    static func nat6(_ a: UInt128, _ ah: UInt128?, _ p: UInt16?, _ ph: UInt16?) -> String {
        let prefix = ah.flatMap { hi in hi == a ? nil : prefixLength(a, hi, bits: 128) }
        var s: String
        if let prefix { s = "\(IPv6Text.text(a))/\(prefix)" } else if p == nil { s = IPv6Text.text(a) + (ah.map { "-" + IPv6Text.text($0) } ?? "") } else {
            s = "[\(IPv6Text.text(a))]" + (ah.map { "-[\(IPv6Text.text($0))]" } ?? "")
        }
        if let p { s += ":\(p)" + (ph.map { "-\($0)" } ?? "") }
        return s
    }

    static func nat(_ a: UInt32?, _ ah: UInt32?, _ p: UInt16?, _ ph: UInt16?) -> String {
        var s = ""
        if let a { s = ah.map { ipv4Range(a, $0) } ?? NFConstants.ipv4Text(a) }
        if let p { s += ":\(p)" + (ph.map { "-\($0)" } ?? "") }
        return s
    }

    /// The positions of a set's elements in the order nft lists them, in text and nft -j alike (nft
    /// sorts a set's elements as it reads them from the kernel). Positions, not values: looking
    /// each sorted value up again was quadratic (70 s for 100,000 elements). Interface indexes as
    /// the parser ordered them (by ifindex, which the listing cannot know).
    static func listingOrder(_ s: NFSet) -> [Int] {
        s.inGivenOrder ? Array(s.elements.indices)
            : s.concat != nil ? sortedTupleOrder(s.elements, s.keys.map(\.selector), interval: s.interval)
            : s.key == .iface_index ? s.elements.indices.filter { s.elements[$0] != .catchAll } + s.elements.indices.filter { s.elements[$0] == .catchAll }
            : sortedOrder(s.elements, interval: s.interval)
    }

    /// A named set's or map's elements as nft lists them: sorted by key, each with its comment and
    /// data, several to a line for short types (calculate_delimiter: 2 addresses, 5 numbers) and
    /// one per line otherwise.
    static func setElements(_ s: NFSet) -> String {
        let sels = s.keys.map(\.selector)
        let indices = listingOrder(s)
        let perLine = s.concat != nil ? 1 : [NFSetKey.ipv4_addr: 2, .ct_state: 2, .pkt_type: 2, .inet_service: 5, .inet_proto: 5, .mark: 5, .tcp_flag: 5,
                                             .nf_proto: 5, .uid: 5, .gid: 5, .iface_index: 5][s.key] ?? 1
        var out = ""
        for (n, k) in indices.enumerated() {
            if n > 0 { out += n % perLine == 0 ? ",\n\t\t\t     " : ", " }
            let info = s.info(k)
            out += tupleText(s.elements[k], sels)
            // nft's set_elem_expr_print: the key, its statements, then timeout, expiry and comment.
            if let x = info.exprs { out += " " + x }
            // An element's own timeout shows when it is not the set's.
            if let t = info.timeout, t != s.timeout { out += " timeout \(timeText(t))" }
            if let e = info.expires { out += " expires \(timeText(e))" }
            if let c = info.comment { out += " comment \"\(c)\"" }
            out += s.verdicts.map { " : \($0[k].text)" } ?? ""
            if let names = s.objectNames {
                out += " : \"\(names[k])\""
            } else if let d6 = s.data6, let ds = s.data {
                out += " : " + IPv6Text.text(d6[k]) + (s.dataPort ? " . \(ds[k])" : "")
            } else if let d = s.dataType, let ds = s.data {
                let v = d.selector.isFlags ? flags(ds[k], d.selector) : valueText(ds[k], d.selector)
                out += " : " + (s.dataPort ? valueText(ds[k] >> 16, d.selector) + " . \(ds[k] & 0xffff)" : v)
            }
        }
        return out
    }

    /// Stateful statements inside `{ KEY ... }`: a counter without its numbers (each element has its own).
    /// A map element's data a rule stores: the value as the map lists its data, or the field.
    static func dynData(_ d: NFDynData) -> String {
        switch d {
        case .value(let v, let type): valueText(v, type)
        case .selector(let s): s.printed
        }
    }

    static func elementExprs(_ exprs: [NFStatement]) -> String {
        exprs.map { s in if case .counter = s { " counter" } else { " " + statement(s) } }.joined()
    }

    /// A time as nft prints set timeouts and expiries: whole units, largest first, milliseconds last
    /// (`4m59s996ms`, `1m`).
    public static func timeText(_ ms: UInt64) -> String {
        var rest = ms
        var out = ""
        for (u, name) in [(UInt64(86_400_000), "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s")] where rest >= u {
            out += "\(rest / u)\(name)"
            rest %= u
        }
        if rest > 0 || out.isEmpty { out += "\(rest)ms" }
        return out
    }

    /// One value of a selector's type as nft prints it (an address, a port, a mark...).
    public static func valueText(_ v: UInt64, _ sel: NFSelector) -> String {
        sel.isAddress ? NFConstants.ipv4Text(UInt32(truncatingIfNeeded: v)) : number(v, sel)
    }

    /// A generator's number or range, as written.
    static func plain(_ v: NFValue) -> String { if case .range(_, _, let t) = v { t } else { "" } }

    static func natFlags(_ f: NFNATFlags) -> String { f.names.isEmpty ? "" : " " + f.names.joined(separator: ",") }
    static func natPrefix(_ f: NFNATFlags) -> String { f.contains(.netmap) ? "prefix " : "" }

    /// A NAT map's data as nft lists it: an interval alone as a prefix where it is one (`/32` for
    /// one address), else `a-b`; inside a concatenation one address or port plainly.
    static func natData(_ d: NFNATData) -> String {
        let range = d.v6 ? ipv6Range(d.addr, d.addrHi) : ipv4Range(UInt32(truncatingIfNeeded: d.addr), UInt32(truncatingIfNeeded: d.addrHi))
        guard let p = d.port, let ph = d.portHi else {
            return d.interval && d.addr == d.addrHi ? range + (d.v6 ? "/128" : "/32") : range
        }
        return range + " . " + (p == ph ? "\(p)" : "\(p)-\(ph)")
    }

    public static func rule(_ stmts: [NFStatement], family: NFFamily = .ip) -> String {
        stmts.map { statement($0, family: family) }.joined(separator: " ")
    }

    /// `synproxy_stmt_print`: mss and wscale together when either was given, then the flags.
    /// `exact`: each as given (what reads back to the same settings).
    static func synproxy(_ x: NFSynproxy, exact: Bool = false) -> String {
        var out = "synproxy"
        if exact {
            if x.flags & NFSynproxy.optMSS != 0 { out += " mss \(x.mss)" }
            if x.flags & NFSynproxy.optWscale != 0 { out += " wscale \(x.wscale)" }
        } else if x.flags & (NFSynproxy.optMSS | NFSynproxy.optWscale) != 0 {
            out += " mss \(x.mss) wscale \(x.wscale)"
        }
        if x.flags & NFSynproxy.optTimestamp != 0 { out += " timestamp" }
        if x.flags & NFSynproxy.optSackPerm != 0 { out += " sack-perm" }
        return out
    }

    /// A synproxy object's lines as nft lists them: its flags line is "%s %s" of the two words,
    /// so one alone keeps the space (`timestamp `, ` sack-perm`).
    static func synproxyObjectLines(_ x: NFSynproxy) -> [String] {
        var lines = ["mss \(x.mss)", "wscale \(x.wscale)"]
        let ts = x.flags & NFSynproxy.optTimestamp != 0, sack = x.flags & NFSynproxy.optSackPerm != 0
        if ts || sack { lines.append("\(ts ? "timestamp" : "") \(sack ? "sack-perm" : "")") }
        return lines
    }

    /// The ruleset as `nft list ruleset` prints it (with `-a`, handles as comments).
    /// `origins`: with each rule's iptables line after its handle (how versions are stored).
    public static func ruleset(_ rs: NFRuleset, handles: Bool = false, origins: Bool = false, counters: [Int: (Int, Int)] = [:], quotaUsed: [Int: UInt64] = [:]) -> String {
        var out = ""
        for t in rs.tables {
            out += "table \(t.family.rawValue) \(t.name) {" + (handles ? " # handle \(t.handle)" : "") + "\n"
            // After table flags nft leaves a blank line; after a comment it does not.
            if t.dormant { out += "\tflags dormant\n" }
            if let c = t.comment { out += "\tcomment \"\(c)\"\n" }
            var first = !t.dormant
            for o in t.objects {
                if !first { out += "\n" }
                first = false
                out += "\t\(o.kind.rawValue) \(o.name) {" + (handles ? " # handle \(o.handle)" : "") + "\n"
                // The object's live state, as its own statement prints it without the keyword.
                var body: String
                switch o.statement {
                case .counter(let p0, let b0):
                    let (p, b) = counters[o.handle] ?? (p0, b0)
                    body = "packets \(p) bytes \(b)"
                case .quota(let n, let over, let used): body = String(quota(n, over: over, used: quotaUsed[o.handle] ?? used).dropFirst("quota ".count))
                case .ctObject(let c): body = c.listingLines.joined(separator: "\n\t\t")
                case .synproxy(let x): body = synproxyObjectLines(x).joined(separator: "\n\t\t")
                default: body = String(statement(o.statement, family: t.family).dropFirst("limit ".count))
                }
                out += "\t\t\(body)\n\t}\n"
            }
            for s in t.sets where !s.meter {
                if !first { out += "\n" }
                first = false
                out += "\t\(s.isMap ? "map" : "set") \(s.name) {" + (handles ? " # handle \(s.handle)" : "") + "\n"
                if let t = s.typeofText { out += "\t\ttypeof \(t)\n" } else if let o = s.objectKind {
                    out += "\t\ttype \(s.keys.map(\.rawValue).joined(separator: " . ")) : \(o.rawValue)\n"
                } else {
                    out += "\t\ttype \(s.keys.map(\.rawValue).joined(separator: " . "))\(s.verdicts != nil ? " : verdict" : s.dataType.map { " : \($0.rawValue)" + (s.dataPort ? " . inet_service" : "") } ?? "")\n"
                }
                // A constant set's policy and size are nft's own choice, not listed (recorded).
                if s.policyMemory && !s.constant { out += "\t\tpolicy memory\n" }
                if let n = s.effectiveSize, !s.constant { out += "\t\tsize \(n)\n" }
                // nft lists the timeout flag alone only when no default timeout says it already.
                if s.constant || s.dynamic || s.interval || (s.timeouts && s.timeout == nil) {
                    let flags = [(s.constant, "constant"), (s.dynamic, "dynamic"), (s.interval, "interval"), (s.timeouts, "timeout")].filter(\.0).map(\.1)
                    out += "\t\tflags \(flags.joined(separator: ","))\n"
                }
                if s.autoMerges { out += "\t\tauto-merge\n" }
                if !s.exprs.isEmpty { out += "\t\t" + s.exprs.map(setStatement).joined(separator: " ") + "\n" }
                if let t = s.timeout { out += "\t\ttimeout \(timeText(t))\n" }
                if let g = s.gcInterval { out += "\t\tgc-interval \(timeText(g))\n" }
                if let c = s.comment { out += "\t\tcomment \"\(c)\"\n" }
                if !s.elements.isEmpty { out += "\t\telements = { " + setElements(s) + " }\n" }
                out += "\t}\n"
            }
            for c in t.chains {
                if !first { out += "\n" }
                first = false
                out += "\tchain \(c.name) {" + (handles ? " # handle \(c.handle)" : "") + "\n"
                if let cm = c.comment { out += "\t\tcomment \"\(cm)\"\n" }
                if let b = c.base {
                    out += "\t\ttype \(b.type.rawValue) hook \(b.hook.rawValue)" + (b.devices.count > 1 ? " devices = { \(b.devices.joined(separator: ", ")) }" : b.device.map { " device \"\($0)\"" } ?? "")
                    out += " priority \(NFPriority.render(b.priority, hook: b.hook));" + (b.policyUnset ? "\n" : " policy \(b.policy.text);\n")
                }
                for r in c.rules {
                    // A counter statement prints its live packets and bytes (those it was given until the rule runs).
                    // A rule iptables-nft loaded lists as the kernel holds it; what is stored keeps its statements.
                    let shown = origins ? r.statements : r.listed ?? r.statements
                    let keys = NFStateKey.keys(shown, rule: r.handle)
                    let text = zip(shown, keys).map { s, key -> String in
                        if case .counter = s, let (p, b) = counters[key] { return "counter packets \(p) bytes \(b)" }
                        if case .quota(let n, let over, _) = s, let used = quotaUsed[key] { return quota(n, over: over, used: used) }
                        // What is stored reads back as it was (nft's listing adds a wscale an mss
                        // alone did not set).
                        if origins, case .synproxy(let x) = s { return synproxy(x, exact: true) }
                        return statement(s, family: t.family)
                    }.joined(separator: " ") + (r.comment.map { origins || r.listed == nil ? " comment \"\($0)\"" : "" } ?? "")
                    out += "\t\t\(text)" + (handles ? " # handle \(r.handle)" : "")
                        + (handles && origins ? r.iptables.map { " # iptables: " + $0 } ?? "" : "") + "\n"
                }
                out += "\t}\n"
            }
            out += "}\n"
        }
        return out
    }
}
