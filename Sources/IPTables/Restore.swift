import NFTables

/// iptables-save input refused: where, and why (as iptables-nft-restore words it where it can).
public struct IPTablesError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// iptables-nft-restore refuses it too.
        case refused
        /// iptables takes it; the translation does not cover it yet: refused rather than ignored.
        case unsupported
    }
    public var line: Int
    public var column: Int
    public var message: String
    public var kind: Kind = .refused
    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A chain iptables-nft creates for a table (nft-shared's builtin table definitions).
struct BuiltinChain {
    let name: String, type: String, hook: String, priority: Int
}

/// `iptables-nft-restore`: reads iptables-save text and builds the nf_tables ruleset the real
/// tool would load: one `ip` table per `*table`, the builtin chains it declares or uses with
/// iptables-nft's types, hooks and priorities, user chains, and each rule as native nft
/// expressions with a counter (iptables-nft gives every rule one) and its iptables line kept.
public enum IPTablesRestore {
    static let builtins: [String: [BuiltinChain]] = [
        "filter": [.init(name: "INPUT", type: "filter", hook: "input", priority: 0),
                   .init(name: "FORWARD", type: "filter", hook: "forward", priority: 0),
                   .init(name: "OUTPUT", type: "filter", hook: "output", priority: 0)],
        "nat": [.init(name: "PREROUTING", type: "nat", hook: "prerouting", priority: -100),
                .init(name: "INPUT", type: "nat", hook: "input", priority: 100),
                .init(name: "OUTPUT", type: "nat", hook: "output", priority: -100),
                .init(name: "POSTROUTING", type: "nat", hook: "postrouting", priority: 100)],
        "mangle": [.init(name: "PREROUTING", type: "filter", hook: "prerouting", priority: -150),
                   .init(name: "INPUT", type: "filter", hook: "input", priority: -150),
                   .init(name: "FORWARD", type: "filter", hook: "forward", priority: -150),
                   .init(name: "OUTPUT", type: "route", hook: "output", priority: -150),
                   .init(name: "POSTROUTING", type: "filter", hook: "postrouting", priority: -150)],
        "raw": [.init(name: "PREROUTING", type: "filter", hook: "prerouting", priority: -300),
                .init(name: "OUTPUT", type: "filter", hook: "output", priority: -300)],
    ]
    /// The order iptables-nft-save prints tables in.
    public static let saveOrder = ["mangle", "raw", "filter", "nat"]

    struct Table {
        var name: String
        /// Chains in the order they were declared; policy nil for a user chain.
        var chains: [(name: String, policy: String?)] = []
        var rules: [String: [IPTRule]] = [:]
        /// Rules made so far, in the file's order (which numbers their handles).
        var created = 0
        func has(_ chain: String) -> Bool { chains.contains { $0.name == chain } }
    }

    /// Whether the text reads as iptables-save output rather than nft: its first statement is a
    /// `*table` line (comments and blank lines before it allowed).
    public static func looksLikeSave(_ text: String) -> Bool {
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let l = raw.trimmingCharacters(in: .whitespaces)
            if l.isEmpty || l.hasPrefix("#") { continue }
            return l.hasPrefix("*")
        }
        return false
    }

    /// The ruleset iptables-nft-restore would load from `text` (tables it names are replaced whole);
    /// `ipsets`: the names of the stack's ipsets, which `-m set` may name.
    public static func translate(_ text: String, ipsets: Set<String> = []) throws(IPTablesError) -> NFRuleset {
        var tables: [Table] = []
        var open: Table? = nil
        var lineNo = 0, lastLine = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            lastLine = lineNo
            let fail = { (m: String, col: Int) in IPTablesError(line: lineNo, column: col, message: m) }
            if trimmed.hasPrefix("*") {
                guard open == nil else { throw fail("COMMIT expected before a new table", 1) }
                let name = String(trimmed.dropFirst())
                guard builtins[name] != nil else {
                    if name == "security" { throw IPTablesError(line: lineNo, column: 2, message: "not supported yet: the security table", kind: .unsupported) }
                    throw fail("can't initialize iptables table `\(name)': Table does not exist (do you need to insmod?)", 2)
                }
                guard !tables.contains(where: { $0.name == name }) else { throw fail("table `\(name)' restored twice", 2) }
                open = Table(name: name)
                continue
            }
            guard var t = open else { throw fail("no table selected (a `*filter` line comes first)", 1) }
            if trimmed == "COMMIT" {
                try finish(t, line: lineNo)
                tables.append(t)
                open = nil
                continue
            }
            if trimmed.hasPrefix(":") {
                let words = trimmed.dropFirst().split(separator: " ").map(String.init)
                guard words.count >= 2 else { throw fail("bad chain line", 1) }
                let (name, policy) = (words[0], words[1])
                let builtin = builtins[t.name]!.contains { $0.name == name }
                if builtin {
                    guard policy == "ACCEPT" || policy == "DROP" else { throw fail("Can't set policy `\(policy)' on `\(name)': Bad policy name", 2 + name.count + 1) }
                } else {
                    guard policy == "-" else { throw fail("Can't set policy `\(policy)' on `\(name)': Bad built-in chain name", 2 + name.count + 1) }
                    try checkChainName(name, line: lineNo, column: 2)
                }
                guard !t.has(name) else { throw fail("chain `\(name)' already exists", 2) }
                t.chains.append((name, builtin ? policy : nil))
                open = t
                continue
            }
            try command(line, into: &t, line: lineNo, ipsets: ipsets)
            open = t
        }
        if open != nil { throw IPTablesError(line: lastLine, column: 1, message: "COMMIT expected at the end of table `\(open!.name)'") }
        return try build(tables)
    }

    static func checkChainName(_ name: String, line: Int, column: Int) throws(IPTablesError) {
        guard !name.isEmpty, name.count <= 28, !name.hasPrefix("-"), !name.hasPrefix("!") else {
            throw IPTablesError(line: line, column: column, message: "Invalid chain name `\(name)'")
        }
    }

    /// `-A`, `-I`, `-N`, `-P` lines (with an optional `[packets:bytes]` prefix, as `iptables-save -c` writes).
    static func command(_ line: String, into t: inout Table, line lineNo: Int, ipsets: Set<String>) throws(IPTablesError) {
        var words = try IPTWords.split(line, line: lineNo)
        var counters: (Int, Int)? = nil
        if let first = words.first, first.text.hasPrefix("["), first.text.hasSuffix("]") {
            let parts = first.text.dropFirst().dropLast().split(separator: ":").compactMap { Int($0) }
            guard parts.count == 2 else { throw IPTablesError(line: lineNo, column: first.column, message: "bad counters `\(first.text)'") }
            counters = (parts[0], parts[1])
            words.removeFirst()
        }
        guard let cmd = words.first else { return }
        let fail = { (m: String, w: IPTWord) in IPTablesError(line: lineNo, column: w.column, message: m) }
        guard words.count >= 2 else { throw fail("option `\(cmd.text)' requires an argument", cmd) }
        let chain = words[1]
        switch cmd.text {
        case "-N", "--new-chain":
            try checkChainName(chain.text, line: lineNo, column: chain.column)
            // The table's builtin chains exist whether declared or not.
            guard !t.has(chain.text), !builtins[t.name]!.contains(where: { $0.name == chain.text }) else { throw fail("Chain already exists", chain) }
            guard words.count == 2 else { throw fail("Illegal option `\(words[2].text)' with this command", words[2]) }
            t.chains.append((chain.text, nil))
        case "-P", "--policy":
            guard words.count == 3, words[2].text == "ACCEPT" || words[2].text == "DROP" else { throw fail("Bad policy name", words.count > 2 ? words[2] : chain) }
            guard let k = t.chains.firstIndex(where: { $0.name == chain.text && $0.policy != nil })
                    ?? addBuiltin(chain.text, to: &t) else { throw fail("Bad built-in chain name", chain) }
            t.chains[k].policy = words[2].text
        case "-A", "--append", "-I", "--insert":
            guard t.has(chain.text) || addBuiltin(chain.text, to: &t) != nil else { throw fail("Chain '\(chain.text)' does not exist", chain) }
            var rest = Array(words.dropFirst(2))
            var position: Int? = nil
            if cmd.text == "-I" || cmd.text == "--insert" {
                // `-I CHAIN [N]`: before rule N, the first by default.
                position = 0
                if let n = rest.first.flatMap({ Int($0.text) }) {
                    guard n >= 1, n <= (t.rules[chain.text]?.count ?? 0) + 1 else { throw fail("Index of insertion too big", rest[0]) }
                    position = n - 1
                    rest.removeFirst()
                }
            }
            let rules = try IPTRule.parse(rest, chain: chain.text, table: t.name, counters: counters, line: lineNo, ipsets: ipsets)
            for (k, var r) in rules.enumerated() {
                r.seq = t.created
                t.created += 1
                if let p = position { t.rules[chain.text, default: []].insert(r, at: p + k) } else { t.rules[chain.text, default: []].append(r) }
            }
        default:
            throw IPTablesError(line: lineNo, column: cmd.column, message: "not supported yet: `\(cmd.text)' in iptables-restore input (-A, -I, -N and -P are)", kind: .unsupported)
        }
    }

    /// A builtin chain named by `-A` or `-P` before any `:` line declared it: iptables-nft creates it.
    static func addBuiltin(_ name: String, to t: inout Table) -> Int? {
        guard builtins[t.name]!.contains(where: { $0.name == name }) else { return nil }
        t.chains.append((name, "ACCEPT"))
        return t.chains.count - 1
    }

    /// At COMMIT: every jump lands on a chain of the table, and targets sit where iptables allows them.
    static func finish(_ t: Table, line: Int) throws(IPTablesError) {
        for (chain, rules) in t.rules {
            for r in rules {
                if let j = r.jumpTarget, !t.has(j) {
                    throw IPTablesError(line: r.line, column: r.targetColumn, message: "Couldn't load target `\(j)':No such file or directory")
                }
                if let hooks = r.allowedChains, t.chains.contains(where: { $0.name == chain && $0.policy != nil }), !hooks.contains(chain) {
                    throw IPTablesError(line: r.line, column: r.targetColumn, message: "\(r.targetName) is not valid in chain \(chain) of table \(t.name)")
                }
            }
        }
    }

    /// The nft commands for the tables, parsed as nft would read them, each rule given its iptables line.
    static func build(_ tables: [Table]) throws(IPTablesError) -> NFRuleset {
        var cmds = ""
        var origins: [[IPTRule]] = []
        var lines: [Int] = [0]   // iptables line of each nft command line
        for t in tables {
            cmds += "add table ip \(t.name)\n"; lines.append(0)
            for c in t.chains {
                if let policy = c.policy, let b = builtins[t.name]!.first(where: { $0.name == c.name }) {
                    cmds += "add chain ip \(t.name) \(c.name) { type \(b.type) hook \(b.hook) priority \(b.priority); policy \(policy.lowercased()); }\n"
                } else {
                    cmds += "add chain ip \(t.name) \(c.name)\n"
                }
                lines.append(0)
            }
            for c in t.chains {
                var o: [IPTRule] = []
                for r in t.rules[c.name] ?? [] {
                    cmds += "add rule ip \(t.name) \(c.name) \(r.nft)\n"
                    lines.append(r.line)
                    o.append(r)
                }
                origins.append(o)
            }
        }
        var rs: NFRuleset
        do throws(NFSyntaxError) { rs = try NFParser.parse(cmds, compat: true) } catch {
            let src = error.line < lines.count ? lines[error.line] : 0
            let text = cmds.split(separator: "\n", omittingEmptySubsequences: false)[max(0, error.line - 1)]
            throw IPTablesError(line: src, column: 1, message: "its translation `\(text)' is refused: \(error.message)",
                                kind: error.kind == .unsupported ? .unsupported : .refused)
        }
        var k = 0
        var listings: [[IPTRule?]] = []
        for ti in rs.tables.indices {
            var table: [IPTRule?] = []
            for ci in rs.tables[ti].chains.indices {
                for ri in rs.tables[ti].chains[ci].rules.indices {
                    let r = origins[k][ri]
                    rs.tables[ti].chains[ci].rules[ri].iptables = r.save
                    // The kernel numbers a table's chains, then its rules as the file makes them
                    // (an `-I` later than the rules it goes before; no anonymous sets: xt multiport).
                    rs.tables[ti].chains[ci].rules[ri].handle = rs.tables[ti].chains.count + 1 + r.seq
                    // Each `xt match set` gets the parameters of its `-m set`, in order, and `xt target SET` its `-j SET`'s.
                    rs.tables[ti].chains[ci].rules[ri].statements = NFXtSetMatch.fill(rs.tables[ti].chains[ci].rules[ri].statements, from: r.save)
                    table.append(r)
                }
                k += 1
            }
            listings.append(table)
            rs.tables[ti].nextHandle = rs.tables[ti].chains.count + 1 + tables[ti].created
        }
        list(&rs, listings)
        return rs
    }

    /// Gives a ruleset read back (a checkpoint, a stored version) what a translation gives its
    /// rules: the expressions the kernel holds for each rule with an iptables line, from that line.
    public static func relist(_ rs: inout NFRuleset) {
        var listings: [[IPTRule?]] = []
        for t in rs.tables {
            var table: [IPTRule?] = []
            for r in t.chains.flatMap(\.rules) {
                guard t.family == .ip, builtins[t.name] != nil, let line = r.iptables else { table.append(nil); continue }
                let words = (try? IPTWords.split(line, line: 0)) ?? []
                // The ipsets it names existed when it was loaded.
                let sets = Set(r.statements.flatMap { s -> [String] in
                    switch s {
                    case .xtSet(let m): [m.name]
                    case .xtSetTarget(let x): [x.add?.name, x.del?.name].compactMap { $0 }
                    default: []
                    }
                })
                let parsed = words.count >= 2 ? try? IPTRule.parse(Array(words.dropFirst(2)), chain: words[1].text, table: t.name, counters: nil, line: 0, ipsets: sets) : nil
                table.append(parsed?.count == 1 ? parsed![0] : nil)
            }
            listings.append(table)
        }
        list(&rs, listings)
    }

    /// Sets `listed` (and the text nft lists) of the rules that have a translation in `listings`
    /// (per table, its rules in chain order): the translation's kernel expressions, read as nft
    /// lists them, each xtables one with its translator's text.
    static func list(_ rs: inout NFRuleset, _ listings: [[IPTRule?]]) {
        var cmds = ""
        for (ti, t) in rs.tables.enumerated() where listings[ti].contains(where: { $0 != nil }) {
            cmds += "add table ip \(t.name)\n"
            for c in t.chains { cmds += "add chain ip \(t.name) \(c.name)\n" }
            var k = 0
            for c in t.chains {
                for _ in c.rules {
                    if let r = listings[ti][k] { cmds += "add rule ip \(t.name) \(c.name) \(r.listed)\n" }
                    k += 1
                }
            }
        }
        guard !cmds.isEmpty, let kernel = try? NFParser.parse(cmds, xtListing: true) else { return }
        for (ti, t) in rs.tables.enumerated() {
            guard t.family == .ip, let kt = kernel.tables.first(where: { $0.name == t.name }) else { continue }
            var k = 0
            for ci in t.chains.indices {
                var kernelRules = kt.chains.first { $0.name == t.chains[ci].name }?.rules[...] ?? []
                for ri in t.chains[ci].rules.indices {
                    defer { k += 1 }
                    guard let r = listings[ti][k], let kr = kernelRules.popFirst() else { continue }
                    var xts = r.xt[...]
                    let listed = kr.statements.map { s -> NFStatement in
                        guard case .xt = s, let x = xts.popFirst() else { return s }
                        return .xt(x)
                    }
                    rs.tables[ti].chains[ci].rules[ri].listed = listed
                    rs.tables[ti].chains[ci].rules[ri].text = NFPrinter.rule(listed, family: t.family)
                }
            }
        }
    }
}

/// A word of an iptables-restore line and the column it starts at.
struct IPTWord { var text: String; var column: Int }

enum IPTWords {
    /// Splits as iptables-restore does: on blanks, with `"..."` grouping (and `\"`, `\\`, `\'` inside).
    static func split(_ line: String, line lineNo: Int) throws(IPTablesError) -> [IPTWord] {
        var out: [IPTWord] = []
        let chars = Array(line)
        var i = 0
        while i < chars.count {
            if chars[i] == " " || chars[i] == "\t" { i += 1; continue }
            let start = i
            var word = ""
            var quoted = false
            while i < chars.count, quoted || (chars[i] != " " && chars[i] != "\t") {
                let c = chars[i]
                if c == "\"" { quoted.toggle(); i += 1; continue }
                // xtables_save_string escapes ", \ and ' inside quotes; restore takes the next character as it is.
                if quoted, c == "\\", i + 1 < chars.count, chars[i + 1] == "\"" || chars[i + 1] == "\\" || chars[i + 1] == "'" { word.append(chars[i + 1]); i += 2; continue }
                word.append(c); i += 1
            }
            if quoted { throw IPTablesError(line: lineNo, column: start + 1, message: "unterminated quoted string") }
            out.append(IPTWord(text: word, column: start + 1))
        }
        return out
    }
}
