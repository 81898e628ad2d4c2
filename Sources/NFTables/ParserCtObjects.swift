// Conntrack objects (`ct helper|timeout|expectation NAME { ... }`) and the rules that attach them
// (`ct helper set "x"`), as nft 1.0.6's grammar and the kernel's nft_ct object init take them.
extension NFParser {
    /// The conntrack helpers the kernel registers (built in here), by name and protocol; `ftp` is
    /// the one the model runs.
    static let kernelHelpers: [String: Set<UInt8>] = ["ftp": [6], "tftp": [17], "sip": [6, 17], "irc": [6], "amanda": [17],
                                                      "pptp": [6], "sane": [6], "netbios-ns": [17], "snmp": [17],
                                                      "RAS": [17], "Q.931": [6]]
    static let modelledHelpers: Set<String> = ["ftp", "tftp"]

    /// The body of a conntrack object after its `{`, up to (not including) the `}`: each setting
    /// ends with a newline or `;`, the last one too. `nameTok` is where nft reports what the kernel
    /// refuses.
    mutating func ctObjectBody(_ kind: NFObjectKind, family: NFFamily, nameTok: NFToken) throws(NFSyntaxError) -> NFStatement {
        var type: String? = nil, proto: UInt8? = nil, l3: NFL3Proto? = nil
        var policy: [(String, UInt32, NFToken)] = [], dport: UInt16 = 0, timeoutMs: UInt64 = 0, size: UInt8 = 0
        skipNewlines()
        while !isPunct("}") {
            let t = tok
            let w = try word("a setting of the \(kind.rawValue)")
            switch w {
            case "type" where kind == .ctHelper:
                let nt = tok
                guard nt.kind == .string else { throw err("syntax error, unexpected \(nt.kind == .word ? nt.text : "token"), expecting quoted string", at: nt) }
                type = nt.text
                i += 1
                guard isWord("protocol") else { throw err("syntax error, unexpected \(isPunct(";") ? "semicolon" : tok.text), expecting protocol") }
                i += 1
                proto = try ctL4Proto()
            case "protocol" where kind != .ctHelper:
                proto = try ctL4Proto()
            case "l3proto":
                let ft = tok
                guard let f = NFL3Proto.allNames[try word("ip, ip6 or inet")] else { throw err("syntax error, expecting ip, ip6 or inet", at: ft) }
                l3 = f
            case "policy" where kind == .ctTimeout:
                try expectPunct("=")
                try expectPunct("{")
                skipNewlines()
                while !isPunct("}") {
                    let st = tok
                    var state = try word("a state name")
                    var valueText: String? = nil
                    // `established:122` is one word to the lexer.
                    if let c = state.firstIndex(of: ":") {
                        valueText = String(state[state.index(after: c)...])
                        state = String(state[..<c])
                        if valueText!.isEmpty { valueText = nil }
                    } else {
                        try expectPunct(":")
                    }
                    let vt = tok
                    let text: String
                    if let valueText { text = valueText } else { text = try word("a timeout") }
                    guard let ms = NFConstants.duration(text), ms / 1000 <= UInt64(UInt32.max) else { throw err("expected a timeout in seconds", at: vt) }
                    policy.append((state, UInt32(ms / 1000), st))
                    skipNewlines()
                    if isPunct(",") { i += 1; skipNewlines() }
                }
                i += 1
            case "dport" where kind == .ctExpectation:
                let pt = tok
                guard let p = UInt16(try word("a port")) else { throw err("expected a port number", at: pt) }
                dport = p
            case "timeout" where kind == .ctExpectation:
                let dt = tok
                guard let ms = NFConstants.duration(try word("a time")), ms <= UInt64(UInt32.max) else { throw err("expected a time such as 30s or 1h", at: dt) }
                timeoutMs = ms
            case "size" where kind == .ctExpectation:
                let zt = tok
                // nft keeps the size in a byte: 300 is 44.
                guard let n = UInt64(try word("a number")) else { throw err("expected a number", at: zt) }
                size = UInt8(truncatingIfNeeded: n)
            default:
                throw err("syntax error, unexpected \(w)", at: t)
            }
            // Every setting ends with a separator, the last one too.
            guard tok.kind == .newline || isPunct(";") else { throw err("syntax error, unexpected '\(tok.text)', expecting newline or semicolon") }
            skipNewlines()
        }
        // The family the object is for: the table's, unless l3proto names one it holds.
        let tableL3: NFL3Proto = family == .ip6 ? .ip6 : family == .inet ? .inet : .ip
        if let l3, tableL3 != .inet, l3 != tableL3 { throw refused("Could not process rule: Invalid argument", at: nameTok) }
        let l3p = l3 ?? tableL3
        switch kind {
        case .ctHelper:
            guard let type, let proto else { throw err("syntax error, expecting type", at: tok) }
            guard NFParser.kernelHelpers[type]?.contains(proto) == true else { throw refused("Could not process rule: No such file or directory", at: nameTok) }
            guard NFParser.modelledHelpers.contains(type) else { throw unsupported("ct helper type \"\(type)\" (ftp and tftp are modelled)", at: nameTok) }
            return .ctObject(.helper(type: type, proto: proto, l3: l3p))
        case .ctTimeout:
            guard let proto else { throw refused("missing options", at: nameTok) }
            var seconds = NFCtObject.timeoutStates(proto).map(\.seconds)
            for (state, s, st) in policy {
                guard let k = NFCtObject.timeoutStates(proto).firstIndex(where: { $0.name == state }) else { throw refused("invalid state for this protocol", at: st) }
                seconds[k] = s
            }
            return .ctObject(.timeout(proto: proto, l3: l3p, seconds: seconds))
        default:
            guard let proto, dport != 0, timeoutMs != 0, size != 0 else { throw refused("missing options", at: nameTok) }
            // nft_ct_expect_obj_init: an inet expectation must say which family it expects.
            guard l3p != .inet else { throw refused("Could not process rule: Address family not supported by protocol", at: nameTok) }
            return .ctObject(.expectation(proto: proto, dport: dport, timeoutMs: timeoutMs, size: size, l3: l3p))
        }
    }

    /// `tcp` or `udp` (ct_l4protoname).
    private mutating func ctL4Proto() throws(NFSyntaxError) -> UInt8 {
        let t = tok
        switch try word("tcp or udp") {
        case "tcp": return 6
        case "udp": return 17
        default: throw err("syntax error, unexpected \(t.text), expecting udp or tcp", at: t)
        }
    }

    /// `ct helper|timeout|expectation set "x"` or `... set KEY map { K : "x" }` (i at `helper`).
    mutating func ctObjectSet(table: NFTable, context: RuleContext, anonymousSets: inout Int) throws(NFSyntaxError) -> NFStatement {
        let kind = NFObjectKind(rawValue: "ct " + tok.text)!
        i += 1   // helper|timeout|expectation; objectRef steps over `set`
        return try objectRef(kind, table: table, context: context, anonymousSets: &anonymousSets)
    }
}

extension NFParser {
    /// nft's ct event names (IPCT_* bit order).
    public static let ctEventNames = ["new", "related", "destroy", "reply", "assured", "protoinfo", "helper", "mark", "seqadjust", "secmark", "label"]

    /// `new,related` or `new | related` or a number (ct_event symbols).
    mutating func ctEventBits() throws(NFSyntaxError) -> UInt16 {
        var bits: UInt16 = 0
        while true {
            let t = tok
            // `mark`, `helper` and `label` are keywords to nft's scanner here, as the suite's cases show.
            guard t.kind == .word else { throw err("expected a conntrack event") }
            i += 1
            if let k = NFParser.ctEventNames.firstIndex(of: t.text) { bits |= 1 << UInt16(k) }
            else if let n = NFConstants.number(t.text), n <= UInt64(UInt16.max) { bits |= UInt16(n) }
            else { throw refused("Could not parse conntrack event bits", at: t) }
            guard isPunct(",") || isPunct("|") else { return bits }
            i += 1
        }
    }

    /// How nft lists event bits: their names, or the number when there are none (`0x0`).
    public static func ctEventText(_ bits: UInt16) -> String {
        let names = ctEventNames.indices.filter { bits & (1 << UInt16($0)) != 0 }.map { ctEventNames[$0] }
        let known: UInt16 = (1 << UInt16(ctEventNames.count)) - 1
        return names.isEmpty || bits & ~known != 0 ? "0x" + String(bits, radix: 16) : names.joined(separator: ",")
    }
}

extension NFL3Proto {
    static let allNames: [String: NFL3Proto] = ["ip": .ip, "ip6": .ip6, "inet": .inet]
}

extension NFCtObject {
    /// The object's body as nft lists it, one setting a line (without the tabs).
    public var listingLines: [String] {
        switch self {
        case .helper(let type, let proto, let l3):
            return ["type \"\(type)\" protocol \(proto == 6 ? "tcp" : "udp")", "l3proto \(l3.name)"]
        case .timeout(let proto, let l3, let seconds):
            // nft prints the states whose timeout is not the kernel's default.
            let states = NFCtObject.timeoutStates(proto)
            let changed = zip(states, seconds).filter { $0.0.seconds != $0.1 }.map { "\($0.0.name) : \($0.1)" }
            return ["protocol \(proto == 6 ? "tcp" : "udp")", "l3proto \(l3.name)", "policy = { \(changed.joined(separator: ", ")) }"]
        case .expectation(let proto, let dport, let ms, let size, let l3):
            return ["protocol \(proto == 6 ? "tcp" : "udp")", "dport \(dport)", "timeout \(NFPrinter.timeText(ms))", "size \(size)", "l3proto \(l3.name)"]
        }
    }
}
