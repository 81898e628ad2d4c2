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
            case .xtConnlimit: NFXtConnlimit.fromSave(line).map { .xtConnlimit($0) } ?? s
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
