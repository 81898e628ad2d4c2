import Kernel

/// A `tc qdisc` command as iproute2 parses it.
public struct TCCommand: Sendable, Equatable {
    public enum Op: String, Sendable { case add, replace, change, del }
    public var op: Op
    public var dev: String
    /// nil: `root`; else `parent MAJ:MIN`.
    public var parent: ParentID?
    public var handle: UInt32?
    /// The kind and its options (nil for a `del` that names none).
    public var spec: QdiscSpec?

    public struct ParentID: Sendable, Equatable { public var major: UInt32; public var minor: UInt32 }

    public init(op: Op, dev: String, parent: ParentID?, handle: UInt32?, spec: QdiscSpec?) {
        self.op = op; self.dev = dev; self.parent = parent; self.handle = handle; self.spec = spec
    }
}

/// What tc or the kernel answers to a command it refuses: tc's own wording.
public struct TCError: Error, Equatable, Sendable {
    public var message: String
    /// The word of the command at fault (0-based), when there is one.
    public var word: Int?
    /// An RTNETLINK refusal (the command was well formed) rather than tc's parser.
    public var kernel: Bool
    init(_ message: String, word: Int? = nil, kernel: Bool = false) { self.message = message; self.word = word; self.kernel = kernel }
}

extension TC {
    /// A command's words without a leading `tc`, and how many that dropped (errors name words of the line).
    static func words(_ line: String) -> (words: [String], base: Int) {
        var w = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        if w.first == "tc" { w.removeFirst(); return (w, 1) }
        return (w, 0)
    }

    /// The verb after the object (`add`, `change`, `replace`, `del`/`delete`), or tc's refusal.
    static func verb<Op: RawRepresentable>(_ w: [String], base: Int, object: String) throws(TCError) -> Op where Op.RawValue == String {
        guard w.count > 1 else { throw TCError("Command \"\" is unknown, try \"tc \(object) help\".", word: base + 1) }
        guard let op = Op(rawValue: w[1] == "delete" ? "del" : w[1]) else {
            throw TCError("Command \"\(w[1])\" is unknown, try \"tc \(object) help\".", word: base + 1)
        }
        return op
    }
}

/// The words `tc qdisc` and `tc class` share: dev, root, parent (tc_qdisc.c, tc_class.c).
struct TCHead {
    var dev: String?, root = false, parent: TCCommand.ParentID?

    /// Takes `w[i]` (and its value, moving `i` onto it) when it is one of them.
    mutating func take(_ w: [String], _ i: inout Int, base: Int) throws(TCError) -> Bool {
        func value() throws(TCError) -> String {
            guard i + 1 < w.count else { throw TCError("Command line is not complete. Try option \"help\"", word: base + i) }
            i += 1
            return w[i]
        }
        switch w[i] {
        case "dev":
            guard dev == nil else { throw TCError("Error: duplicate \"dev\": \"\(w[i + 1 < w.count ? i + 1 : i])\" is the second value.", word: base + i) }
            dev = try value()
        case "root":
            guard parent == nil && !root else { throw TCError("Error: \"root\" is duplicate parent ID", word: base + i) }
            root = true
        case "parent":
            guard parent == nil && !root else { throw TCError("Error: \"parent\" is duplicate parent ID", word: base + i) }
            let t = try value()
            guard let p = TC.classID(t) else { throw TCError("Invalid parent ID \"\(t)\"", word: base + i) }
            parent = p
        default:
            return false
        }
        return true
    }
}

public enum TC {
    /// Parses `[tc] qdisc add|replace|change|del dev DEV root|parent X:Y [handle H:] KIND [options]`.
    public static func parse(_ line: String) throws(TCError) -> TCCommand {
        let (w, base) = words(line)
        guard w.first == "qdisc" || w.first == "qd" || w.first == "q" else {
            throw TCError("only \"tc qdisc\" commands are supported yet (not \"\(w.first ?? "")\")", word: base)
        }
        let op: TCCommand.Op = try verb(w, base: base, object: "qdisc")
        var head = TCHead(), handle: UInt32?
        var i = 2
        func next() throws(TCError) -> String {
            i += 1
            guard i < w.count else { throw TCError("Command line is not complete. Try option \"help\"", word: base + i - 1) }
            return w[i]
        }
        while i < w.count {
            switch w[i] {
            case "dev", "root", "parent":
                _ = try head.take(w, &i, base: base)
            case "handle":
                guard handle == nil else { throw TCError("Error: duplicate \"handle\": \"\(w[i + 1 < w.count ? i + 1 : i])\" is the second value.", word: base + i) }
                let t = try next()
                guard let h = qdiscHandle(t) else { throw TCError("Invalid handle \"\(t)\"", word: base + i) }
                handle = h
            case "estimator", "stab", "ingress_block", "egress_block":
                throw TCError("\"\(w[i])\" is not supported yet", word: base + i)
            default:
                let spec = try parseKind(Array(w[i...]), base: base + i)
                return try finish(op, head.dev, head.root, head.parent, handle, spec, base: base, words: w.count)
            }
            i += 1
        }
        return try finish(op, head.dev, head.root, head.parent, handle, nil, base: base, words: w.count)
    }

    private static func finish(_ op: TCCommand.Op, _ dev: String?, _ root: Bool, _ parent: TCCommand.ParentID?, _ handle: UInt32?,
                               _ spec: QdiscSpec?, base: Int, words: Int) throws(TCError) -> TCCommand {
        guard let dev else { throw TCError("Error: a device (\"dev DEV\") is required", word: base + 1) }
        guard root || parent != nil else { throw TCError("Error: \"root\" or \"parent X:Y\" is required", word: base + 1) }
        if op != .del && spec == nil { throw TCError("Error: a qdisc kind is required", word: base + words - 1) }
        return TCCommand(op: op, dev: dev, parent: parent, handle: handle, spec: spec)
    }

    /// `get_qdisc_handle`: `MAJ:` in hex (the minor must be absent or 0).
    static func qdiscHandle(_ t: String) -> UInt32? {
        guard t.hasSuffix(":") || t.hasSuffix(":0"), let colon = t.firstIndex(of: ":") else {
            return t == "none" ? nil : UInt32(t, radix: 16).flatMap { $0 <= 0xffff ? $0 : nil }
        }
        guard let maj = UInt32(t[..<colon], radix: 16), maj <= 0xffff, maj > 0 else { return nil }
        return maj
    }

    /// `get_tc_classid`: `MAJ:MIN` in hex.
    static func classID(_ t: String) -> TCCommand.ParentID? {
        let parts = t.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let maj = UInt32(parts[0], radix: 16), maj <= 0xffff else { return nil }
        let minor = parts[1].isEmpty ? 0 : UInt32(parts[1], radix: 16)
        guard let minor, minor <= 0xffff else { return nil }
        return .init(major: maj, minor: minor)
    }

    /// A qdisc kind and its options (q_fifo.c, q_tbf.c; pfifo_fast takes none).
    static func parseKind(_ w: [String], base: Int) throws(TCError) -> QdiscSpec {
        switch w[0] {
        case "pfifo", "bfifo":
            let bytes = w[0] == "bfifo"
            var limit: Int?
            var i = 1
            while i < w.count {
                guard w[i] == "limit" else { throw TCError("\(w[0]): unknown parameter \"\(w[i])\"", word: base + i) }
                guard i + 1 < w.count else { throw TCError("Command line is not complete. Try option \"help\"", word: base + i) }
                let v = bytes ? TCUnits.size(w[i + 1]) : Int(w[i + 1]).flatMap { $0 >= 0 && $0 <= Int(UInt32.max) ? $0 : nil }
                guard let v else { throw TCError("\(w[0]): Illegal value for \"limit\": \"\(w[i + 1])\"", word: base + i + 1) }
                limit = v
                i += 2
            }
            return bytes ? .bfifo(limit: limit) : .pfifo(limit: limit)
        case "pfifo_fast":
            if w.count > 1 { throw TCError("qdisc 'pfifo_fast' does not support option parsing", word: base + 1) }
            return .pfifoFast
        case "tbf": return .tbf(try parseTBF(w, base: base))
        case "fq_codel": return .fqCodel(try parseFQCoDel(w, base: base))
        case "htb": return .htb(try parseHTB(w, base: base))
        case "cake": return .cake(try parseCake(w, base: base))
        case "noqueue":
            throw TCError("noqueue is a virtual device's default; it cannot be added", word: base, kernel: true)
        case "clsact":
            throw TCError("clsact takes dev DEV only (handle ffff:, parent ffff:fff1)", word: base)
        case "prio", "sfq", "netem", "mq", "fq", "red", "hfsc", "drr", "ingress":
            throw TCError("qdisc \(w[0]) is not supported yet", word: base)
        default:
            throw TCError("Error: Specified qdisc kind is unknown.", word: base, kernel: true)
        }
    }

    /// q_fq_codel.c: limit, flows, quantum, target, interval, memory_limit, ecn/noecn, drop_batch.
    static func parseFQCoDel(_ w: [String], base: Int) throws(TCError) -> FQCoDelSpec {
        var f = FQCoDelSpec()
        var i = 1
        while i < w.count {
            let k = w[i]
            if k == "ecn" || k == "noecn" { f.ecn = k == "ecn"; i += 1; continue }
            guard ["limit", "flows", "quantum", "target", "interval", "memory_limit", "drop_batch", "ce_threshold"].contains(k) else {
                throw TCError("What is \"\(k)\"?", word: base + i)
            }
            guard i + 1 < w.count else { throw TCError("Command line is not complete. Try option \"help\"", word: base + i) }
            let v = w[i + 1]
            func bad() -> TCError { TCError("Illegal \"\(k)\"", word: base + i + 1) }
            switch k {
            case "limit": guard let x = UInt32(v), x > 0 else { throw bad() }; f.limit = Int(x)
            case "flows": guard let x = Int(v), (1...65536).contains(x) else { throw bad() }; f.flows = x
            case "quantum": guard let x = UInt32(v), x > 0 else { throw bad() }; f.quantum = Int(x)
            case "target": guard let x = TCUnits.time(v), x > 0 else { throw bad() }; f.targetUs = x
            case "interval": guard let x = TCUnits.time(v), x > 0 else { throw bad() }; f.intervalUs = x
            case "memory_limit": guard let x = TCUnits.size(v), x > 0 else { throw bad() }; f.memoryLimit = x
            case "drop_batch": guard let x = UInt32(v), x > 0 else { throw bad() }; f.dropBatch = Int(x)
            default: throw TCError("fq_codel: \"ce_threshold\" is not supported yet", word: base + i)
            }
            i += 2
        }
        return f
    }

    /// q_tbf.c: rate, burst (buffer, maxburst) and limit or latency; limit from latency as tc
    /// computes it (rate × latency + burst, truncated).
    static func parseTBF(_ w: [String], base: Int) throws(TCError) -> TBFSpec {
        var rate: UInt64?, burst: Int?, limit: Int?, latency: Int?
        var i = 1
        func matches(_ word: String, _ keyword: String) -> Bool { !word.isEmpty && keyword.hasPrefix(word) }
        while i < w.count {
            let k = w[i]
            guard i + 1 < w.count else { throw TCError("Command line is not complete. Try option \"help\"", word: base + i) }
            let v = w[i + 1]
            if matches(k, "limit") {
                guard limit == nil && latency == nil else { throw TCError("tbf: duplicate \"limit/latency\" specification", word: base + i) }
                guard let x = TCUnits.size(v) else { throw TCError("tbf: Illegal value for \"limit\": \"\(v)\"", word: base + i + 1) }
                limit = x
            } else if matches(k, "latency") {
                guard limit == nil && latency == nil else { throw TCError("tbf: duplicate \"limit/latency\" specification", word: base + i) }
                guard let x = TCUnits.time(v) else { throw TCError("tbf: Illegal value for \"latency\": \"\(v)\"", word: base + i + 1) }
                latency = x
            } else if matches(k, "burst") || k == "buffer" || k == "maxburst" {
                guard burst == nil else { throw TCError("tbf: duplicate \"buffer/burst/maxburst\" specification", word: base + i) }
                guard !v.contains("/") else { throw TCError("tbf: a cell size (\"/\") is not supported yet", word: base + i + 1) }
                guard let x = TCUnits.size(v) else { throw TCError("tbf: Illegal value for \"burst\": \"\(v)\"", word: base + i + 1) }
                burst = x
            } else if k == "rate" {
                guard rate == nil else { throw TCError("tbf: duplicate \"rate\" specification", word: base + i) }
                guard let x = TCUnits.rate(v) else { throw TCError("tbf: Illegal value for \"rate\": \"\(v)\"", word: base + i + 1) }
                rate = x
            } else if ["mtu", "minburst", "mpu", "overhead", "linklayer"].contains(k) || matches(k, "peakrate") {
                throw TCError("tbf: \"\(k)\" is not supported yet", word: base + i)
            } else {
                throw TCError("tbf: unknown parameter \"\(k)\"", word: base + i)
            }
            i += 2
        }
        guard let rate else { throw TCError("tbf: the \"rate\" parameter is mandatory.", word: base) }
        guard let burst, burst > 0 else { throw TCError("tbf: the \"burst\" parameter is mandatory.", word: base) }
        if limit == nil {
            guard let latency else { throw TCError("tbf: either \"limit\" or \"latency\" is required.", word: base) }
            limit = TCUnits.u32(Double(rate) * Double(latency) / 1_000_000 + Double(burst))
        }
        return TBFSpec(rate: rate, burst: burst, limit: limit!)
    }
}

extension TC {
    /// The `tc qdisc add` command that recreates `q` exactly (the stored form of a stack's qdiscs):
    /// rates in bit/s, sizes in bytes, the handle always given.
    public static func command(for q: QdiscConfig) -> String {
        var s = "qdisc add dev \(q.dev) "
        if let p = q.parent { s += "parent \(String(p.major, radix: 16)):\(String(p.minor, radix: 16)) " } else { s += "root " }
        s += "handle \(handle(q.handle)) \(q.spec.kind)"
        switch q.spec {
        case .pfifo(let l?): s += " limit \(l)"
        case .bfifo(let l?): s += " limit \(l)b"
        case .tbf(let t): s += " rate \(t.rate * 8)bit burst \(t.burst)b limit \(t.limit)b"
        case .fqCodel(let f):
            s += " limit \(f.limit) flows \(f.flows)"
            if let q = f.quantum { s += " quantum \(q)" }
            s += " target \(f.targetUs)us interval \(f.intervalUs)us memory_limit \(f.memoryLimit)b \(f.ecn ? "ecn" : "noecn") drop_batch \(f.dropBatch)"
        case .htb(let h):
            s += " default \(String(h.defcls, radix: 16)) r2q \(h.r2q)"
            if let d = h.directQlen { s += " direct_qlen \(d)" }
        case .cake(let c):
            s += cakeCommandOptions(c)
        default: break
        }
        return s
    }

    /// Applies commands in order from no qdiscs (a stack document's list); the failing one's index.
    public static func build(_ commands: [String], devices: [String]) throws(IndexedTCError) -> [QdiscConfig] {
        try buildAll(commands, devices: devices).qdiscs
    }
}

public struct IndexedTCError: Error, Sendable { public var index: Int; public var error: TCError }
