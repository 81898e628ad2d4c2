/// iptables' `-m set --match-set NAME src,dst ...` (xt_set, revision 4): iptables-nft loads it as an
/// xtables compat match, which nft lists as `xt match set` and cannot read back. The rule keeps its
/// iptables line, so the match's parameters are read from there (`fromSave`) wherever a listing is
/// read back (checkpoints, stored versions).
public struct NFXtSetMatch: Sendable, Equatable, Hashable {
    /// How a counter is compared (`--packets-eq|lt|gt N`, `! --packets-eq N`): IPSET_COUNTER_*.
    public enum CounterOp: String, Sendable, Hashable { case eq, ne, lt, gt }

    public var name: String
    /// Per dimension, whether the packet's source (true) or destination (false) is read: `src,dst`.
    public var source: [Bool]
    public var invert = false
    /// `--return-nomatch`: for sets with nomatch elements, a nomatch element matches and others do not.
    public var returnNomatch = false
    /// `! --update-counters` clears it: matched elements' counters are not updated.
    public var updateCounters = true
    /// `! --update-subcounters` clears it (list:set members only).
    public var updateSubcounters = true
    public var packets: (op: CounterOp, value: UInt64)? = nil
    public var bytes: (op: CounterOp, value: UInt64)? = nil

    public init(name: String, source: [Bool]) { self.name = name; self.source = source }

    public static func == (l: Self, r: Self) -> Bool { l.saveText == r.saveText }
    public func hash(into h: inout Hasher) { h.combine(saveText) }

    /// As iptables-save prints it (libxt_set's set_printv4_save order).
    public var saveText: String {
        var s = "-m set \(invert ? "! " : "")--match-set \(name) " + NFXtSetTarget.flagText(source)
        if returnNomatch { s += " --return-nomatch" }
        if !updateCounters { s += " ! --update-counters" }
        if !updateSubcounters { s += " ! --update-subcounters" }
        for (what, c) in [("packets", packets), ("bytes", bytes)] {
            guard let c else { continue }
            s += c.op == .ne ? " ! --\(what)-eq \(c.value)" : " --\(what)-\(c.op.rawValue) \(c.value)"
        }
        return s
    }

    /// The `-m set` matches of an iptables-save line, in order (the line as `saveText` wrote them).
    public static func fromSave(_ line: String) -> [NFXtSetMatch] {
        let w = saveWords(line)
        var out: [NFXtSetMatch] = []
        var k = 0
        while k < w.count {
            defer { k += 1 }
            guard w[k] == "-m", k + 1 < w.count, w[k + 1] == "set" else { continue }
            var m = NFXtSetMatch(name: "", source: [])
            var j = k + 2, negate = false
            while j < w.count, w[j] != "-m", w[j] != "-j", w[j] != "-g" {
                let o = w[j]
                if o == "!" { negate = true; j += 1; continue }
                if o == "--match-set", j + 2 < w.count {
                    m.name = w[j + 1]; m.source = flags(w[j + 2]); m.invert = negate; j += 3
                } else if o == "--return-nomatch" { m.returnNomatch = true; j += 1 }
                else if o == "--update-counters" { m.updateCounters = !negate; j += 1 }
                else if o == "--update-subcounters" { m.updateSubcounters = !negate; j += 1 }
                else if o.hasPrefix("--packets-") || o.hasPrefix("--bytes-"), j + 1 < w.count, let v = UInt64(w[j + 1]),
                        let op = CounterOp(rawValue: String(o.split(separator: "-").last ?? "")) {
                    let c = (op: negate && op == .eq ? CounterOp.ne : op, value: v)
                    if o.hasPrefix("--packets-") { m.packets = c } else { m.bytes = c }
                    j += 2
                } else { j += 1 }
                negate = false
            }
            out.append(m)
            k = j - 1
        }
        return out
    }

    /// The words of an iptables-save line; a quoted string (a comment, a log prefix) is one word,
    /// so what it says is not read as options.
    static func saveWords(_ line: String) -> [String] {
        var out: [String] = [], cur = "", quoted = false, escaped = false
        for c in line {
            if escaped { cur.append(c); escaped = false; continue }
            if quoted, c == "\\" { escaped = true; continue }
            if c == "\"" { quoted.toggle(); cur.append(c); continue }
            if c == " ", !quoted {
                if !cur.isEmpty { out.append(cur); cur = "" }
                continue
            }
            cur.append(c)
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    /// `src,dst,...` as the save line writes them: true for src.
    static func flags(_ w: String) -> [Bool] { w.split(separator: ",").map { $0 == "src" } }

    /// The rule's `xt match set`, `xt target SET` and `xt target CONNMARK` placeholders given the
    /// parameters its iptables line names.
    public static func fill(_ stmts: [NFStatement], from line: String?) -> [NFStatement] {
        guard let line else { return stmts }
        var matches = fromSave(line)[...]
        var recents = NFXtRecent.allFromSave(line)[...]
        return stmts.map { s in
            switch s {
            case .xtSet: matches.popFirst().map { .xtSet($0) } ?? s
            case .xtSetTarget: NFXtSetTarget.fromSave(line).map { .xtSetTarget($0) } ?? s
            case .xtConnmark: NFXtConnmark.fromSave(line).map { .xtConnmark($0) } ?? s
            case .xtConntrack: NFXtConntrack.fromSave(line).map { .xtConntrack($0) } ?? s
            case .xtMultiport: NFXtMultiport.fromSave(line).map { .xtMultiport($0) } ?? s
            case .xtRecent: recents.popFirst().map { .xtRecent($0) } ?? s
            case .xtOwner: NFXtOwner.fromSave(line).map { .xtOwner($0) } ?? s
            default: s
            }
        }
    }
}

/// iptables' `-j SET --add-set NAME FLAGS --del-set NAME FLAGS [--exist] [--timeout N]` (xt_set's
/// target, revision 3), which iptables-nft loads as `xt target SET`. The packet's fields go into
/// (or out of) the sets; the rule goes on (XT_CONTINUE).
public struct NFXtSetTarget: Sendable, Equatable, Hashable {
    public var add: (name: String, source: [Bool])? = nil
    public var del: (name: String, source: [Bool])? = nil
    /// `--exist`: an element already there is renewed (its timeout and counters start again).
    public var exist = false
    /// `--timeout N`: the added element's, instead of the set's default.
    public var timeout: UInt32? = nil

    public init() {}
    public static func == (l: Self, r: Self) -> Bool { l.saveText == r.saveText }
    public func hash(into h: inout Hasher) { h.combine(saveText) }

    static func flagText(_ f: [Bool]) -> String { f.map { $0 ? "src" : "dst" }.joined(separator: ",") }

    /// As iptables-save prints it (libxt_set's set_target_save_v3 order).
    public var saveText: String {
        var s = "-j SET"
        if let a = add { s += " --add-set \(a.name) \(Self.flagText(a.source))" }
        if let d = del { s += " --del-set \(d.name) \(Self.flagText(d.source))" }
        if exist { s += " --exist" }
        if let t = timeout { s += " --timeout \(t)" }
        return s
    }

    /// The `-j SET` of an iptables-save line (as `saveText` wrote it).
    public static func fromSave(_ line: String) -> NFXtSetTarget? {
        let w = NFXtSetMatch.saveWords(line)
        guard let j = w.firstIndex(of: "-j"), j + 1 < w.count, w[j + 1] == "SET" else { return nil }
        var t = NFXtSetTarget()
        var k = j + 2
        while k < w.count {
            switch w[k] {
            case "--add-set" where k + 2 < w.count: t.add = (w[k + 1], NFXtSetMatch.flags(w[k + 2])); k += 3
            case "--del-set" where k + 2 < w.count: t.del = (w[k + 1], NFXtSetMatch.flags(w[k + 2])); k += 3
            case "--exist": t.exist = true; k += 1
            case "--timeout" where k + 1 < w.count: t.timeout = UInt32(w[k + 1]); k += 2
            default: k += 1
            }
        }
        return t
    }
}

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
        s += " --name \(name) --mask " + (0..<4).map { String(mask >> (24 - 8 * UInt32($0)) & 0xff) }.joined(separator: ".")
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
