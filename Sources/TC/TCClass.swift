import Kernel

/// A `tc class` command as iproute2 parses it (htb classes).
public struct TCClassCommand: Sendable, Equatable {
    public enum Op: String, Sendable { case add, change, replace, del }
    public var op: Op
    public var dev: String
    /// nil: `root` (or a parent that names the qdisc itself).
    public var parent: UInt32?
    public var classid: UInt32
    /// The options (nil for `del`).
    public var spec: HTBClassSpec?
}

/// One command of either kind.
public enum TCAnyCommand: Sendable, Equatable {
    case qdisc(TCCommand), `class`(TCClassCommand)
    /// `tc qdisc add|replace|del dev DEV clsact`: the hooks tc BPF filters sit on.
    case clsact(TCCommand.Op, dev: String)
    public var dev: String { switch self { case .qdisc(let q): q.dev; case .class(let c): c.dev; case .clsact(_, let d): d } }
}

extension TC {
    /// `tc qdisc ...` or `tc class ...`.
    public static func parseAny(_ line: String) throws(TCError) -> TCAnyCommand {
        let (w, base) = words(line)
        if let f = w.first, !f.isEmpty, "class".hasPrefix(f) { return .class(try parseClass(line)) }
        if w.last == "clsact" { return try parseClsact(w, base: base) }
        return .qdisc(try parse(line))
    }

    /// `qdisc add|replace|del dev DEV [handle ffff:] [parent ffff:fff1] clsact` (tc_qdisc.c takes
    /// `clsact` as the kind; its handle and parent are fixed).
    static func parseClsact(_ w: [String], base: Int) throws(TCError) -> TCAnyCommand {
        guard w.first == "qdisc" || w.first == "qd" || w.first == "q" else { throw TCError("only \"tc qdisc\" commands are supported yet (not \"\(w.first ?? "")\")", word: base) }
        let op: TCCommand.Op = try verb(w, base: base, object: "qdisc")
        guard op != .change else { throw TCError("Error: Change operation not supported by specified qdisc.", word: base + 1, kernel: true) }
        var dev: String?
        var i = 2
        while i < w.count - 1 {
            switch (w[i], i + 1 < w.count - 1 ? w[i + 1] : "") {
            case ("dev", let d) where !d.isEmpty: dev = d
            case ("handle", "ffff:"), ("parent", "ffff:fff1"): break
            default: throw TCError("clsact takes dev DEV only (handle ffff:, parent ffff:fff1): \"\(w[i])\"", word: base + i)
            }
            i += 2
        }
        guard let dev else { throw TCError("Error: a device (\"dev DEV\") is required", word: base + 1) }
        return .clsact(op, dev: dev)
    }

    /// `[tc] class add|change|replace|del dev DEV root|parent X:Y classid X:Y [htb OPTIONS]`.
    public static func parseClass(_ line: String) throws(TCError) -> TCClassCommand {
        let (w, base) = words(line)
        let op: TCClassCommand.Op = try verb(w, base: base, object: "class")
        var head = TCHead(), classid: UInt32?
        var i = 2
        func next() throws(TCError) -> String {
            i += 1
            guard i < w.count else { throw TCError("Command line is not complete. Try option \"help\"", word: base + i - 1) }
            return w[i]
        }
        func id(_ t: String, _ what: String) throws(TCError) -> UInt32 {
            guard let p = classID(t) else { throw TCError("Invalid \(what) ID \"\(t)\"", word: base + i) }
            return p.major << 16 | p.minor
        }
        while i < w.count {
            switch w[i] {
            case "dev", "root", "parent":
                _ = try head.take(w, &i, base: base)
            case "classid":
                guard classid == nil else { throw TCError("Error: duplicate \"classid\": \"\(w[i + 1 < w.count ? i + 1 : i])\" is the second value.", word: base + i) }
                classid = try id(try next(), "class")
            case "htb":
                guard op != .del else { throw TCError("Error: a class to delete takes no options", word: base + i) }
                return try finishClass(op, head.dev, head.parent.map { $0.major << 16 | $0.minor }, classid, try parseHTBClass(Array(w[i...]), base: base + i), base: base)
            case "estimator":
                throw TCError("\"estimator\" is not supported yet", word: base + i)
            default:
                if ["hfsc", "cbq", "drr", "qfq", "prio", "mqprio", "cake", "fq_codel", "sfq"].contains(w[i]) {
                    throw TCError("class \(w[i]) is not supported yet (only htb classes)", word: base + i)
                }
                throw TCError("Error: Specified class kind is unknown.", word: base + i, kernel: true)
            }
            i += 1
        }
        return try finishClass(op, head.dev, head.parent.map { $0.major << 16 | $0.minor }, classid, nil, base: base)
    }

    private static func finishClass(_ op: TCClassCommand.Op, _ dev: String?, _ parent: UInt32?, _ classid: UInt32?, _ spec: HTBClassSpec?,
                                    base: Int) throws(TCError) -> TCClassCommand {
        guard let dev else { throw TCError("Error: a device (\"dev DEV\") is required", word: base + 1) }
        guard let classid else { throw TCError("Error: a class (\"classid X:Y\") is required", word: base + 1) }
        if op != .del && spec == nil { throw TCError("Error: a class kind is required (htb)", word: base + 1) }
        // A parent naming the qdisc itself (`parent 1:`) is the root.
        let p = parent.flatMap { $0 & 0xffff == 0 ? nil : $0 }
        return TCClassCommand(op: op, dev: dev, parent: p, classid: classid, spec: spec)
    }

    /// q_htb.c `htb_parse_class_opt`: rate (required), ceil (default: rate), burst and cburst
    /// (default: rate / HZ + mtu 1600, HZ being 10^9 here), prio, quantum.
    static func parseHTBClass(_ w: [String], base: Int) throws(TCError) -> HTBClassSpec {
        var rate: UInt64?, ceil: UInt64?, burst: Int?, cburst: Int?, prio = 0, quantum: Int?
        var i = 1
        func matches(_ word: String, _ keyword: String) -> Bool { !word.isEmpty && keyword.hasPrefix(word) }
        while i < w.count {
            let k = w[i]
            guard i + 1 < w.count else { throw TCError("Command line is not complete. Try option \"help\"", word: base + i) }
            let v = w[i + 1]
            func illegal(_ what: String) -> TCError { TCError("Illegal \"\(what)\"", word: base + i + 1) }
            if matches(k, "prio") {
                guard let x = UInt32(v) else { throw illegal("prio") }
                prio = Int(x)
            } else if matches(k, "quantum") {
                guard let x = UInt32(v) else { throw illegal("quantum") }
                quantum = x == 0 ? nil : Int(x)
            } else if matches(k, "burst") || k == "buffer" || k == "maxburst" {
                guard !v.contains("/") else { throw TCError("htb: a cell size (\"/\") is not supported yet", word: base + i + 1) }
                guard let x = TCUnits.size(v) else { throw illegal("buffer") }
                burst = x
            } else if matches(k, "cburst") || k == "cbuffer" || k == "cmaxburst" {
                guard !v.contains("/") else { throw TCError("htb: a cell size (\"/\") is not supported yet", word: base + i + 1) }
                guard let x = TCUnits.size(v) else { throw illegal("cbuffer") }
                cburst = x
            } else if k == "ceil" {
                guard ceil == nil else { throw TCError("Double \"ceil\" spec", word: base + i) }
                guard !v.contains("%") else { throw TCError("htb: a ceil in % of the device's speed is not supported yet", word: base + i + 1) }
                guard let x = TCUnits.rate(v) else { throw illegal("ceil") }
                ceil = x
            } else if k == "rate" {
                guard rate == nil else { throw TCError("Double \"rate\" spec", word: base + i) }
                guard !v.contains("%") else { throw TCError("htb: a rate in % of the device's speed is not supported yet", word: base + i + 1) }
                guard let x = TCUnits.rate(v) else { throw illegal("rate") }
                rate = x
            } else if matches(k, "mtu") || matches(k, "mpu") || k == "overhead" || k == "linklayer" {
                throw TCError("htb: \"\(k)\" is not supported yet", word: base + i)
            } else {
                throw TCError("What is \"\(k)\"?", word: base + i)
            }
            i += 2
        }
        guard let rate else { throw TCError("\"rate\" is required.", word: base) }
        let c = ceil ?? rate
        // rate / get_hz() + mtu: with a nanosecond clock HZ is 10^9, so 1600 bytes below 8 Gbit/s.
        return HTBClassSpec(rate: rate, ceil: c, burst: burst ?? Int(rate / 1_000_000_000) + 1600, cburst: cburst ?? Int(c / 1_000_000_000) + 1600,
                            prio: prio, quantum: quantum)
    }

    /// q_htb.c `htb_parse_opt`: default (hex), r2q, direct_qlen.
    static func parseHTB(_ w: [String], base: Int) throws(TCError) -> HTBSpec {
        var h = HTBSpec()
        var i = 1
        func matches(_ word: String, _ keyword: String) -> Bool { !word.isEmpty && keyword.hasPrefix(word) }
        while i < w.count {
            let k = w[i]
            if matches(k, "offload") { throw TCError("htb: \"offload\" is not supported yet", word: base + i) }
            guard matches(k, "r2q") || matches(k, "default") || matches(k, "direct_qlen") else { throw TCError("What is \"\(k)\"?", word: base + i) }
            guard i + 1 < w.count else { throw TCError("Command line is not complete. Try option \"help\"", word: base + i) }
            let v = w[i + 1]
            if matches(k, "r2q") {
                guard let x = UInt32(v) else { throw TCError("Illegal \"r2q\"", word: base + i + 1) }
                h.r2q = max(Int(x), 1)
            } else if matches(k, "default") {
                guard let x = UInt32(v.hasPrefix("0x") ? String(v.dropFirst(2)) : v, radix: 16) else { throw TCError("Illegal \"default\"", word: base + i + 1) }
                h.defcls = x
            } else {
                guard let x = UInt32(v) else { throw TCError("Illegal \"direct_qlen\"", word: base + i + 1) }
                h.directQlen = Int(x)
            }
            i += 2
        }
        return h
    }
}

// net/sched/sch_api.c tc_ctl_tclass with htb_change_class / htb_delete, on the configured lists.
extension TC {
    /// The classes and qdiscs after `cmd`, or the kernel's refusal.
    public static func applyClass(_ cmd: TCClassCommand, qdiscs: [QdiscConfig], classes: [TCClassConfig],
                                  devices: [String]) throws(TCError) -> (qdiscs: [QdiscConfig], classes: [TCClassConfig]) {
        guard devices.contains(cmd.dev) else { throw TCError("Cannot find device \"\(cmd.dev)\"", kernel: true) }
        guard let root = qdiscs.first(where: { $0.dev == cmd.dev && $0.parent == nil }), root.handle == cmd.classid >> 16 else {
            throw TCError("RTNETLINK answers: No such file or directory", kernel: true)
        }
        guard case .htb = root.spec else { throw TCError("Error: Qdisc \(root.spec.kind) is classless or its classes are fixed.", kernel: true) }
        var classes = classes, qdiscs = qdiscs
        let existing = classes.firstIndex { $0.dev == cmd.dev && $0.classid == cmd.classid }
        switch cmd.op {
        case .del:
            guard let e = existing else { throw TCError("Error: Specified class not found.", kernel: true) }
            guard !classes.contains(where: { $0.dev == cmd.dev && $0.parent == cmd.classid }) else { throw TCError("Error: HTB class in use.", kernel: true) }
            classes.remove(at: e)
            qdiscs.removeAll { $0.dev == cmd.dev && $0.parent.map { $0.major << 16 | $0.minor } == cmd.classid }
            return (qdiscs, classes)
        case .add:
            if existing != nil { throw TCError("RTNETLINK answers: File exists", kernel: true) }
        case .change:
            guard existing != nil else { throw TCError("RTNETLINK answers: No such file or directory", kernel: true) }
        case .replace:
            break
        }
        if let e = existing {
            classes[e].spec = cmd.spec!
            return (qdiscs, classes)
        }
        guard cmd.classid & 0xffff != 0 else { throw TCError("RTNETLINK answers: Invalid argument", kernel: true) }
        // htb_change_class: a parent that is not a class leaves the new one at the root.
        let parent = cmd.parent.flatMap { p in classes.contains { $0.dev == cmd.dev && $0.classid == p } ? p : nil }
        // A leaf that gets a child is a leaf no more: its qdisc goes.
        if let p = parent { qdiscs.removeAll { $0.dev == cmd.dev && $0.parent.map { $0.major << 16 | $0.minor } == p } }
        classes.append(TCClassConfig(dev: cmd.dev, classid: cmd.classid, parent: parent, spec: cmd.spec!))
        return (qdiscs, classes)
    }

    /// Classes whose htb root is gone (deleted or replaced by another kind or handle) go too.
    public static func pruneClasses(_ classes: [TCClassConfig], qdiscs: [QdiscConfig]) -> [TCClassConfig] {
        classes.filter { k in
            qdiscs.contains { q in
                guard q.dev == k.dev, q.parent == nil, q.handle == k.classid >> 16, case .htb = q.spec else { return false }
                return true
            }
        }
    }

    /// The `tc class add` that recreates `k` (rates in bit/s, sizes in bytes).
    public static func command(forClass k: TCClassConfig) -> String {
        let s = k.spec
        var out = "class add dev \(k.dev) "
        out += k.parent.map { "parent \(classText($0)) " } ?? "parent \(String(k.classid >> 16, radix: 16)): "
        out += "classid \(classText(k.classid)) htb rate \(s.rate * 8)bit ceil \(s.ceil * 8)bit burst \(s.burst)b cburst \(s.cburst)b prio \(s.prio)"
        if let q = s.quantum { out += " quantum \(q)" }
        return out
    }

    static func classText(_ id: UInt32) -> String { "\(String(id >> 16, radix: 16)):\(String(id & 0xffff, radix: 16))" }

    /// A stack's stored commands: the qdiscs in their order, each htb root followed by its classes
    /// (so the qdiscs under classes come after them, and the list rebuilds as it was).
    public static func commands(qdiscs: [QdiscConfig], classes: [TCClassConfig], clsact: [String] = []) -> [String] {
        qdiscs.flatMap { q -> [String] in
            guard q.parent == nil, case .htb = q.spec else { return [command(for: q)] }
            return [command(for: q)] + classes.filter { $0.dev == q.dev && $0.classid >> 16 == q.handle }.map(command(forClass:))
        } + clsact.map { "qdisc add dev \($0) clsact" }
    }

    /// Applies commands of both kinds in order from nothing (a stack document's list).
    public static func buildAll(_ commands: [String], devices: [String]) throws(IndexedTCError) -> (qdiscs: [QdiscConfig], classes: [TCClassConfig], clsact: [String]) {
        var qs: [QdiscConfig] = [], ks: [TCClassConfig] = [], clsact: [String] = []
        for (i, c) in commands.enumerated() {
            do throws(TCError) {
                switch try parseAny(c) {
                case .qdisc(let q):
                    qs = try apply(q, to: qs, devices: devices, classes: ks)
                    ks = pruneClasses(ks, qdiscs: qs)
                case .class(let k):
                    (qs, ks) = try applyClass(k, qdiscs: qs, classes: ks, devices: devices)
                case .clsact(let op, let dev):
                    clsact = try applyClsact(op, dev: dev, to: clsact, devices: devices)
                }
            } catch { throw IndexedTCError(index: i, error: error) }
        }
        return (qs, ks, clsact)
    }

    /// clsact on a device, as `tc qdisc add|replace|del ... clsact` leaves it (one per device).
    public static func applyClsact(_ op: TCCommand.Op, dev: String, to list: [String], devices: [String]) throws(TCError) -> [String] {
        guard devices.contains(dev) else { throw TCError("Cannot find device \"\(dev)\"", kernel: true) }
        switch op {
        case .add:
            guard !list.contains(dev) else { throw TCError("Error: Exclusivity flag on, cannot modify.", kernel: true) }
            return list + [dev]
        case .replace: return list.contains(dev) ? list : list + [dev]
        case .change: throw TCError("Error: Change operation not supported by specified qdisc.", kernel: true)
        case .del:
            guard list.contains(dev) else { throw TCError("Error: Cannot find specified qdisc on specified device.", kernel: true) }
            return list.filter { $0 != dev }
        }
    }
}
