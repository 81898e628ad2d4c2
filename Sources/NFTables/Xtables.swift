// The other xtables matches and targets iptables-nft loads, which nft lists but does not read:
// what each stands for, read back from the rule's iptables line (NFXtSetMatch.fill), and how nft
// lists them (NFXtExpr).

/// An xtables match or target in a rule iptables-nft loaded, as nft 1.0.6 lists it: the text
/// libxtables' translator prints for its options (empty for a comment), or `xt match NAME` where
/// the translator has none for them. JSON shows `{"xt": {"type": ..., "name": ...}}` either way.
public struct NFXtExpr: Sendable, Equatable, Hashable {
    public var target: Bool
    /// The kernel's extension name (`conntrack` for `-m state`, `CT` for `-j NOTRACK`).
    public var name: String
    public var text: String?
    public init(target: Bool, name: String, text: String? = nil) { self.target = target; self.name = name; self.text = text }

    public var printed: String { text ?? "xt \(target ? "target" : "match") \(name)" }
}

/// iptables' `-j CONNMARK --save-mark|--restore-mark --nfmask N --ctmask C` (xt_CONNMARK, masks
/// other than all ones): saving, the connection's mark becomes (ctmark & ~C) ^ (mark & N);
/// restoring, the packet's becomes (mark & ~N) ^ (ctmark & C). No connection: nothing.
public struct NFXtConnmark: Sendable, Equatable, Hashable {
    public var save: Bool
    public var nfmask: UInt32, ctmask: UInt32
    public init(save: Bool, nfmask: UInt32, ctmask: UInt32) { self.save = save; self.nfmask = nfmask; self.ctmask = ctmask }

    /// As iptables-save prints it (libxt_CONNMARK's connmark_tg_save).
    public var saveText: String {
        "-j CONNMARK --\(save ? "save" : "restore")-mark --nfmask 0x\(String(nfmask, radix: 16)) --ctmask 0x\(String(ctmask, radix: 16))"
    }

    /// The `-j CONNMARK` of an iptables-save line (as `saveText` wrote it).
    public static func fromSave(_ line: String) -> NFXtConnmark? {
        let w = NFXtSetMatch.saveWords(line)
        guard let j = w.firstIndex(of: "-j"), j + 5 < w.count, w[j + 1] == "CONNMARK", w[j + 3] == "--nfmask",
              let n = UInt32(w[j + 4].dropFirst(2), radix: 16), j + 6 < w.count, w[j + 5] == "--ctmask",
              let c = UInt32(w[j + 6].dropFirst(2), radix: 16) else { return nil }
        return NFXtConnmark(save: w[j + 2] == "--save-mark", nfmask: n, ctmask: c)
    }
}

/// iptables' `-m conntrack [!] --ctstate LIST` with SNAT or DNAT in it (xt_conntrack): the packet's
/// state bit, or the connection's source or destination NAT, among those listed (or, negated, none).
public struct NFXtConntrack: Sendable, Equatable, Hashable {
    /// The states as nft's `ct state` bits; `snat`, `dnat`: IPS_SRC_NAT, IPS_DST_NAT.
    public var states: UInt64
    public var snat: Bool, dnat: Bool
    public var invert: Bool
    public init(states: UInt64, snat: Bool, dnat: Bool, invert: Bool) { self.states = states; self.snat = snat; self.dnat = dnat; self.invert = invert }

    static let names: [(String, UInt64)] = [("INVALID", 1), ("NEW", 8), ("RELATED", 4), ("ESTABLISHED", 2), ("UNTRACKED", 64)]

    /// The first `--ctstate` of an iptables-save line.
    public static func fromSave(_ line: String) -> NFXtConntrack? {
        let w = NFXtSetMatch.saveWords(line)
        guard let k = w.firstIndex(of: "--ctstate"), k + 1 < w.count else { return nil }
        var x = NFXtConntrack(states: 0, snat: false, dnat: false, invert: k > 0 && w[k - 1] == "!")
        for s in w[k + 1].split(separator: ",") {
            switch s {
            case "SNAT": x.snat = true
            case "DNAT": x.dnat = true
            default: x.states |= names.first { $0.0 == s }?.1 ?? 0
            }
        }
        return x
    }
}

/// iptables' `-m multiport [!] --ports LIST` (xt_multiport, XT_MULTIPORT_EITHER): the source or the
/// destination port is one of the list's ports or ranges (or, negated, neither is).
public struct NFXtMultiport: Sendable, Equatable, Hashable {
    public var ranges: [ClosedRange<UInt16>]
    public var invert: Bool
    public init(ranges: [ClosedRange<UInt16>], invert: Bool) { self.ranges = ranges; self.invert = invert }

    /// The first `--ports` of an iptables-save line.
    public static func fromSave(_ line: String) -> NFXtMultiport? {
        let w = NFXtSetMatch.saveWords(line)
        guard let k = w.firstIndex(of: "--ports"), k + 1 < w.count else { return nil }
        var ranges: [ClosedRange<UInt16>] = []
        for p in w[k + 1].split(separator: ",") {
            let ends = p.split(separator: ":").compactMap { UInt16($0) }
            guard let lo = ends.first, let hi = ends.last, lo <= hi else { return nil }
            ranges.append(lo...hi)
        }
        return NFXtMultiport(ranges: ranges, invert: k > 0 && w[k - 1] == "!")
    }
}

/// iptables' `-m recent` (xt_recent): a named list of the addresses packets came from (or went
/// to), with the times of their latest packets. `--set` adds the packet's (and matches),
/// `--rcheck` matches one listed (with `--seconds`, `--hitcount`, `--rttl`: that many stamps in
/// that time, the same TTL), `--update` too and stamps it again when it matches, `--remove` takes
/// it out.
public struct NFXtRecent: Sendable, Equatable, Hashable {
    public enum Mode: String, Sendable, Hashable { case set, rcheck, update, remove }
    public var mode: Mode
    public var name: String
    public var seconds: UInt32 = 0, hitcount: UInt32 = 0
    public var reap = false, rttl = false
    public var mask: UInt32 = .max
    /// `--rdest`: the destination address (the source by default).
    public var rdest = false
    public var invert = false
    public init(mode: Mode, name: String) { self.mode = mode; self.name = name }

    /// As iptables-save prints it (libxt_recent's recent_save).
    public var saveText: String {
        var s = "-m recent " + (invert ? "! " : "") + "--\(mode.rawValue)"
        if seconds != 0 { s += " --seconds \(seconds)" }
        if reap { s += " --reap" }
        if hitcount != 0 { s += " --hitcount \(hitcount)" }
        if rttl { s += " --rttl" }
        s += " --name \(name) --mask " + NFConstants.ipv4Text(mask)
        return s + (rdest ? " --rdest" : " --rsource")
    }

    /// The `-m recent` matches of an iptables-save line, in order (as `saveText` wrote them).
    public static func allFromSave(_ line: String) -> [NFXtRecent] {
        let w = NFXtSetMatch.saveWords(line)
        var out: [NFXtRecent] = []
        var k = 0
        while k < w.count {
            guard w[k] == "-m", k + 1 < w.count, w[k + 1] == "recent" else { k += 1; continue }
            k += 2
            var r = NFXtRecent(mode: .set, name: "DEFAULT")
            while k < w.count, w[k] != "-m", w[k] != "-j", w[k] != "-g" {
                switch w[k] {
                case "!": r.invert = true
                case "--set", "--rcheck", "--update", "--remove": r.mode = Mode(rawValue: String(w[k].dropFirst(2)))!
                case "--seconds" where k + 1 < w.count: r.seconds = UInt32(w[k + 1]) ?? 0; k += 1
                case "--hitcount" where k + 1 < w.count: r.hitcount = UInt32(w[k + 1]) ?? 0; k += 1
                case "--name" where k + 1 < w.count: r.name = w[k + 1]; k += 1
                case "--mask" where k + 1 < w.count: r.mask = NFConstants.ipv4(w[k + 1]) ?? .max; k += 1
                case "--reap": r.reap = true
                case "--rttl": r.rttl = true
                case "--rdest": r.rdest = true
                default: break
                }
                k += 1
            }
            out.append(r)
        }
        return out
    }
}

/// iptables' `-m owner` (xt_owner): the packet's socket exists, its file's user or group id is in
/// a range (each test negatable). A kernel socket (no file: ICMP errors, resets) has no ids.
public struct NFXtOwner: Sendable, Equatable, Hashable {
    public var uid: ClosedRange<UInt32>? = nil, gid: ClosedRange<UInt32>? = nil
    public var socketExists = false, supplGroups = false
    public var invertUID = false, invertGID = false, invertSocket = false
    public init() {}

    public static func range(_ r: ClosedRange<UInt32>) -> String { r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound)-\(r.upperBound)" }

    /// As iptables-save prints it (libxt_owner's owner_mt_save order).
    public var saveText: String {
        var s = "-m owner"
        if socketExists { s += (invertSocket ? " !" : "") + " --socket-exists" }
        if let u = uid { s += (invertUID ? " !" : "") + " --uid-owner " + Self.range(u) }
        if let g = gid { s += (invertGID ? " !" : "") + " --gid-owner " + Self.range(g) }
        if supplGroups { s += " --suppl-groups" }
        return s
    }

    /// The `-m owner` of an iptables-save line (as `saveText` wrote it).
    public static func fromSave(_ line: String) -> NFXtOwner? {
        let w = NFXtSetMatch.saveWords(line)
        guard let m = w.firstIndex(of: "owner"), m > 0, w[m - 1] == "-m" else { return nil }
        func r(_ s: String) -> ClosedRange<UInt32>? {
            let p = s.split(separator: "-").compactMap { UInt32($0) }
            guard let lo = p.first, let hi = p.last, lo <= hi else { return nil }
            return lo...hi
        }
        var x = NFXtOwner()
        var k = m + 1
        while k < w.count, w[k] != "-m", w[k] != "-j", w[k] != "-g" {
            let neg = w[k] == "!"
            if neg { k += 1; guard k < w.count else { break } }
            switch w[k] {
            case "--socket-exists": x.socketExists = true; x.invertSocket = neg
            case "--uid-owner" where k + 1 < w.count: x.uid = r(w[k + 1]); x.invertUID = neg; k += 1
            case "--gid-owner" where k + 1 < w.count: x.gid = r(w[k + 1]); x.invertGID = neg; k += 1
            case "--suppl-groups": x.supplGroups = true
            default: break
            }
            k += 1
        }
        return x
    }
}

/// iptables' `-m connlimit` (xt_connlimit): the tracked connections from the packet's source (or
/// to its destination, `--connlimit-daddr`) under a prefix, this one included: more than `limit`
/// (`--connlimit-above`) or at most it (`--connlimit-upto`).
public struct NFXtConnlimit: Sendable, Equatable, Hashable {
    public var limit: UInt32, upto: Bool
    public var prefix: Int = 32
    public var daddr = false
    public init(limit: UInt32, upto: Bool) { self.limit = limit; self.upto = upto }

    public var mask: UInt32 { prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix) }

    /// As iptables-save prints it (libxt_connlimit's connlimit_save4).
    public var saveText: String {
        "-m connlimit --connlimit-\(upto ? "upto" : "above") \(limit) --connlimit-mask \(prefix) --connlimit-\(daddr ? "daddr" : "saddr")"
    }

    /// The `-m connlimit` of an iptables-save line (as `saveText` wrote it).
    public static func fromSave(_ line: String) -> NFXtConnlimit? {
        let w = NFXtSetMatch.saveWords(line)
        guard let k = w.firstIndex(where: { $0 == "--connlimit-above" || $0 == "--connlimit-upto" }), k + 1 < w.count,
              let n = UInt32(w[k + 1]) else { return nil }
        var x = NFXtConnlimit(limit: n, upto: w[k] == "--connlimit-upto")
        if let m = w.firstIndex(of: "--connlimit-mask"), m + 1 < w.count, let p = Int(w[m + 1]), (0...32).contains(p) { x.prefix = p }
        x.daddr = w.contains("--connlimit-daddr")
        return x
    }
}
