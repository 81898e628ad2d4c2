// Rules: the rule itself, its statements and verdicts.
extension NFParser {
    /// Reads a rule into chain `ci`: appended, or at index `at`; `replacing` keeps that handle
    /// (`replace rule ... handle N`: anonymous sets still take new handles).
    mutating func rule(_ t: inout NFTable, chainIndex ci: Int, at: Int? = nil, replacing: Int? = nil) throws(NFSyntaxError) {
        var stmts: [NFStatement] = []
        var anonymousSets = 0
        var comment: String? = nil
        var context = RuleContext()
        context.family = t.family
        let ruleStart = tok
        while !atStatementEnd || !expanded.isEmpty {
            let st = tok
            if expanded.isEmpty, isWord("comment") {
                // `comment "..."` ends a rule.
                i += 1
                comment = try name("a comment string")
                guard atStatementEnd else { throw err("syntax error, expecting newline or semicolon") }
                break
            }
            if let last = stmts.last, last.isTerminal { throw refused("Statement after terminal statement has no effect", at: st) }
            // (A raw match nft lists as header fields comes as several statements: PayloadExpand.)
            let stmt = expanded.isEmpty ? try statement(table: t, anonymousSets: &anonymousSets, context: context) : expanded.removeFirst()
            if case .match(.nfproto, _, _, _) = stmt, t.family != .inet { throw refused("meta nfproto is only useful in the inet family", at: st) }
            // `reject with tcp reset` in inet without a transport context: nft puts (and lists) `meta l4proto tcp` first.
            if case .reject(true, _, _) = stmt, t.family == .inet, context.l4 == nil {
                stmts.insert(.match(.l4proto, mask: nil, op: .implicit, value: .range(6, 6, text: "tcp")), at: 0)
                if let d = context.dependency { context.dependency = d + 1 }
                if let d = context.l3Dependency { context.l3Dependency = d + 1 }
                if let d = context.linkDependency { context.linkDependency = d + 1 }
                if let (d, n) = context.nfprotoDependency { context.nfprotoDependency = (d + 1, n) }
            }
            // A set a rule adds to becomes dynamic (nft sets NFT_SET_EVAL on it).
            if case .dynset(_, let name, _, _, _, _, _) = stmt, let si = t.sets.firstIndex(where: { $0.name == name }) {
                t.sets[si].dynamic = true; t.sets[si].ruleAdds = true
            }
            // A meter's set: made by its first rule, dynamic (with timeouts when the meter gives one).
            if case .meter(let name, let size, let key, let timeout, _) = stmt, !t.sets.contains(where: { $0.name == name }) {
                let types = key.map { NFSetKey.of($0) ?? .ipv4_addr }
                var s = NFSet(name: name, handle: t.nextHandle, key: types[0], interval: false, elements: [], verdicts: nil)
                s.size = size; s.dynamic = true; s.ruleAdds = true; s.timeouts = timeout != nil; s.meter = true
                if types.count > 1 { s.concat = types }
                t.sets.append(s)
                t.nextHandle += 1
            }
            if let b = t.chains[ci].base, let why = NFParser.natPlacement(stmt, b) { throw ruleRefused("Could not process rule: Operation not supported (\(why))", from: ruleStart) }
            if t.family == .netdev { try checkNetdev(stmt, hook: t.chains[ci].base?.hook, at: st, rule: ruleStart) }
            // nft_synproxy_validate: input and forward only.
            if stmt.isSynproxy, let b = t.chains[ci].base, b.hook != .input && b.hook != .forward {
                throw ruleRefused("Could not process rule: Operation not supported", from: ruleStart)
            }
            // nft_tproxy_validate: before routing only.
            if case .tproxy = stmt, let b = t.chains[ci].base, b.hook != .prerouting {
                throw ruleRefused("Could not process rule: Operation not supported", from: ruleStart)
            }
            // nft_rt_validate: the route's MSS exists after routing only (forward, output, postrouting).
            if stmt.readsSocket, let b = t.chains[ci].base, ![.prerouting, .input, .output].contains(b.hook) || t.family == .netdev {
                throw ruleRefused("Could not process rule: Operation not supported", from: ruleStart)
            }
            // nft_xfrm_validate: `ipsec in` before routing or at input, `ipsec out` after routing.
            if case .xfrm(let x, _, _) = stmt, t.chains[ci].base.map({
                !(x.input ? [NFHook.prerouting, .input, .forward] : [.forward, .output, .postrouting]).contains($0.hook) }) ?? false {
                throw ruleRefused("Could not process rule: Operation not supported", from: ruleStart)
            }
            if stmt.readsSdif, t.family == .netdev || t.chains[ci].base.map({ ![.input, .forward].contains($0.hook) }) ?? false {
                throw ruleRefused("Could not process rule: Operation not supported", from: ruleStart)
            }
            if stmt.readsOSF, t.family != .ip && t.family != .inet || t.chains[ci].base.map({ ![.input, .prerouting, .forward].contains($0.hook) }) ?? false {
                throw ruleRefused("Could not process rule: Operation not supported", from: ruleStart)
            }
            if let b = t.chains[ci].base, ![.forward, .output, .postrouting].contains(b.hook), stmt.readsRouteMTU {
                throw ruleRefused("Could not process rule: Operation not supported", from: ruleStart)
            }
            // An igmp field in an inet table with nothing fixing IPv4 or IGMP before it: nft adds
            // `meta nfproto ipv4` and lists it (recorded: `meta nfproto ipv4 igmp type
            // membership-query`; after `meta l4proto igmp` only the field is listed, which nft
            // itself reads back with the nfproto: the model's checkpoints do not).
            if t.family == .inet, !readsCheckpoint, case .match(let sel, _, _, _) = stmt, sel.rawValue.hasPrefix("igmp "), !context.ipv4, context.l4 != 2 {
                let dep = NFStatement.match(.nfproto, mask: nil, op: .implicit, value: .range(2, 2, text: "ipv4"))
                context.note(dep, index: stmts.count, family: t.family)
                stmts.append(dep)
                context.nfprotoDependency = nil   // listed, not a dependency the field removes
            }
            // A header field of the protocol an earlier `ip protocol`/`meta l4proto` fixed makes that
            // match redundant: nft lists the rule without it (the field's own check stays).
            if case .match(let sel, _, _, _) = stmt, let p = sel.impliedProtocol, let d = context.dependency, context.l4 == UInt64(p) {
                context.dependency = nil
                context.remove(at: d, from: &stmts)
            }
            // In an ip (ip6) table `meta protocol ip` (ip6) before a header field is implied by it
            // too; in netdev only by a field of that protocol (recorded).
            if case .match(let sel, _, _, _) = stmt, sel.payload != nil, let d = context.l3Dependency,
               t.family != .netdev || sel.networkProtocol == context.l3Protocol {
                context.l3Dependency = nil
                context.remove(at: d, from: &stmts)
            }
            // `ether type ip` before an IPv4 field (ip6, arp likewise) is the field's own dependency:
            // nft's payload_dependency_kill leaves it out (not before a transport field, which
            // could ride either family; recorded in ip, ip6, inet and netdev tables).
            if case .match(let sel, _, _, _) = stmt, let (d, v) = context.etherType, v != 0x8100, sel.networkProtocol == v {
                context.etherType = nil
                context.remove(at: d, from: &stmts)
            }
            // nft's vlan dependency is `ether type 8021q`: written before `vlan id|pcp|dei` it is
            // implied and not listed; `vlan type` lists it (nft adds it when it is not written);
            // another ether type before a vlan field conflicts.
            if case .match(let sel, _, _, _) = stmt, sel.isVLAN {
                if let (d, v) = context.etherType {
                    guard v == 0x8100 else { throw refused("conflicting protocols specified: ether vs. vlan", at: st) }
                    if sel.rawValue != "vlan type" {
                        context.etherType = nil
                        context.remove(at: d, from: &stmts)
                    }
                } else if sel.rawValue == "vlan type" {
                    stmts.append(.match(NFSelector(rawValue: "ether type")!, mask: nil, op: .implicit, value: .range(0x8100, 0x8100, text: "8021q")))
                    context.etherType = (stmts.count - 1, 0x8100)
                }
            }
            // A vlan field written has the same dependency, never listed.
            if case .setPayload(let sel, _) = stmt, sel.isVLAN, let (d, v) = context.etherType, v == 0x8100 {
                context.etherType = nil
                context.remove(at: d, from: &stmts)
            }
            if case .match(let sel, _, _, _) = stmt, sel.isMAC || sel.rawValue == "ether type" || sel.isVLAN, let d = context.linkDependency {
                context.linkDependency = nil
                context.remove(at: d, from: &stmts)
            }
            // A header field of the family anywhere in the statement (a key, a source, a target) implies
            // it, and so does a conntrack address that took its family from it (`ct original saddr`;
            // `ct original ip saddr` written out does not: recorded).
            if let (d, nfproto) = context.nfprotoDependency, ctFamilyFromContext || stmt.fields.contains(where: { sel in
                let proto = sel.rawValue.prefix { $0 != " " }
                return nfproto == 2 ? proto == "ip" || proto == "icmp" : proto == "ip6" || proto == "icmpv6"
            }) {
                context.nfprotoDependency = nil
                context.remove(at: d, from: &stmts)
            }
            ctFamilyFromContext = false
            // `reject with icmp|icmpv6` in inet implies its `meta nfproto`: nft drops an explicit one from the listing.
            if let (d, nfproto) = context.nfprotoDependency {
                let implied: Bool = switch stmt {
                case .reject(false, _, false): nfproto == 2
                case .rejectICMPv6: nfproto == 10
                default: false
                }
                if implied {
                    context.nfprotoDependency = nil
                    context.remove(at: d, from: &stmts)
                }
            }
            // `reject with tcp reset` implies `meta l4proto tcp`: in ip and ip6 nft drops an explicit one
            // right before it (or `ip protocol tcp`, `ip6 nexthdr tcp`) from the listing; inet keeps it (recorded).
            if case .reject(true, _, _) = stmt, t.family == .ip || t.family == .ip6, let d = context.dependency, context.l4 == 6 {
                context.dependency = nil
                context.remove(at: d, from: &stmts)
            }
            // A statement between a dependency and the field keeps the dependency in nft's listing.
            if case .match = stmt {} else {
                context.dependency = nil; context.l3Dependency = nil; context.linkDependency = nil; context.nfprotoDependency = nil
                context.etherType = nil
            }
            // ICMP and ICMPv6 fields that exist in some message types only (payload_gen_icmp_dependency):
            // an `icmp type` before them must be one of those ("incompatible icmp match" otherwise).
            // Without one nft adds the dependency: listed for the echo fields (id, sequence), hidden
            // for the others (mtu, gateway, max-delay), where an equal type written is the dependency
            // and is not listed either; the engine reads the hidden ones only in their type.
            if case .match(let sel, _, _, _) = stmt, let dep = sel.icmpDependency {
                if let (tsel, d, types) = context.icmpType, tsel == dep.type {
                    if let other = types.last(where: { !dep.types.contains($0) }) {
                        throw refused("incompatible icmp match: rule has \(other), need \(dep.types[0])", at: st)
                    }
                    if !dep.listed {
                        context.icmpType = nil
                        context.remove(at: d, from: &stmts)
                    }
                } else if dep.listed, !context.icmpTypesSeen.contains(dep.type.id) {
                    let names = dep.types.sorted().map { NFValue.range($0, $0, text: NFPrinter.number($0, dep.type)) }
                    stmts.append(.match(dep.type, mask: nil, op: .implicit, value: .set(names)))
                    anonymousSets += 1   // the dependency's set takes a handle as any anonymous set does
                    context.icmpTypesSeen.insert(dep.type.id)
                }
            }
            if case .match(let sel, let mask, let op, let v) = stmt, sel.isICMPType {
                context.icmpTypesSeen.insert(sel.id)
                if mask == nil, op == .eq || op == .implicit {
                    let types: [UInt64] = switch v {
                    case .range(let lo, let hi, _) where lo == hi: [lo]
                    case .set(let vs): vs.compactMap { if case .range(let lo, let hi, _) = $0, lo == hi { lo } else { nil } }
                    default: []
                    }
                    if !types.isEmpty { context.icmpType = (sel, stmts.count, types) }
                }
            }
            // nft's dependency of an inet ip/ip6 field once the link layer is Ethernet: `ether type
            // ip|ip6`, a payload match that merges with an ether field of the same run (so `iiftype
            // ether ip daddr X ether saddr Y` lists as `ether saddr Y ip daddr X`), never listed.
            if t.family == .inet, context.linkEther, !context.networkKnown, case .match(let sel, _, _, _) = stmt,
               sel.rawValue.hasPrefix("ip ") || (sel.isIPv6Field && sel.payload != nil) {
                stmts.append(NFParser.hiddenEtherType(sel.rawValue.hasPrefix("ip ") ? 0x0800 : 0x86dd))
                // It is an Ethernet field: an `iiftype ether` before it is its dependency, not listed.
                if let d = context.linkDependency {
                    context.linkDependency = nil
                    context.remove(at: d, from: &stmts)
                }
            }
            context.note(stmt, index: stmts.count, family: t.family)
            stmts.append(stmt)
        }
        var explicit: Int? = nil
        if tok.kind == .handle { explicit = Int(tok.text); i += 1 }
        var origin: String? = nil
        if tok.kind == .iptables { origin = tok.text; i += 1 }
        guard !stmts.isEmpty else { return }
        // Anonymous sets and maps take handles before the rule does; a `# handle N` keeps N.
        t.nextHandle += anonymousSets
        let handle: Int
        if let replacing { handle = replacing } else {
            handle = explicit ?? t.nextHandle
            t.nextHandle = max(t.nextHandle, handle) + 1
        }
        if readsCompat { stmts = NFXtSetMatch.fill(stmts, from: origin) }
        var neqMerged: [Range<Int>] = []
        if origin == nil { (stmts, neqMerged) = NFParser.payloadMergeGroups(stmts) }
        // The hidden dependency goes (before any merged `!=`: it is an `==` and stands apart).
        if let h = stmts.firstIndex(where: NFParser.isHiddenEtherType) {
            stmts.remove(at: h)
            neqMerged = neqMerged.map { $0.lowerBound > h ? $0.lowerBound - 1..<$0.upperBound - 1 : $0 }
        }
        stmts = stmts.map(inIfindexOrder)
        var r = NFRule(handle: handle, statements: stmts, text: NFPrinter.rule(stmts, family: t.family), comment: comment, iptables: origin)
        r.neqMerged = neqMerged
        t.chains[ci].rules.insert(r, at: at ?? t.chains[ci].rules.count)
    }

    /// `iif { "eth1", "eth0" }`: the kernel holds interface indexes, so the set lists in ifindex
    /// order (recorded); the printer keeps the order given here. Without the stack's devices (a
    /// checkpoint or stored version read back: a listing already in that order) as written.
    func inIfindexOrder(_ s: NFStatement) -> NFStatement {
        guard interfaces != nil, case .match(let sel, let mask, let op, .set(let vs)) = s, sel.isInterfaceIndex else { return s }
        let order = vs.indices.sorted { (ifindexRank(vs[$0]), $0) < (ifindexRank(vs[$1]), $1) }
        return .match(sel, mask: mask, op: op, value: .set(order.map { vs[$0] }))
    }

    /// Where a device name stands in ifindex order (the stack's devices; others last), for the
    /// sets of interface indexes, named and anonymous, that list in that order.
    func ifindexRank(_ v: NFValue) -> Int {
        if case .string(let n) = v { interfaces?[n] ?? .max } else { .max }
    }

    /// The `ether type` dependency nft adds but never lists: it only moves ether fields in a merge.
    static func hiddenEtherType(_ v: UInt64) -> NFStatement {
        .match(NFSelector(rawValue: "ether type")!, mask: nil, op: .implicit, value: .range(v, v, text: "\u{1}dependency"))
    }
    /// The kernel refuses a rule as a whole (its validate callbacks): nft underlines the rule, from
    /// its first token to its last before a comment, `;` or the line's end (recorded).
    func ruleRefused(_ m: String, from start: NFToken) -> NFSyntaxError {
        var j = index(of: start) ?? i
        var last = start
        while j < toks.count, toks[j].line == start.line, toks[j].kind != .newline, toks[j].kind != .end,
              !(toks[j].kind == .punct && (toks[j].text == ";" || toks[j].text == "}")),
              !(toks[j].kind == .word && toks[j].text == "comment" && j + 1 < toks.count && toks[j + 1].kind == .string) {
            last = toks[j]
            j += 1
        }
        return refused(m, from: start, to: last)
    }

    static func isHiddenEtherType(_ s: NFStatement) -> Bool {
        if case .match(_, nil, .implicit, .range(_, _, text: "\u{1}dependency")) = s { return true }
        return false
    }

    /// `@NAME` of a data map whose values are `data` and whose keys (a field, or fields
    /// concatenated) `key` reads.
    /// What a netdev table refuses, as recorded (nft 1.0.6, Linux 6.18): conntrack has no netdev
    /// family (nf_ct_netns_get: EPROTO, synproxy's too), nor has queue (ENOENT); reject is for
    /// ingress only; ipsec is an ip/ip6/inet expression (nft's own error). The carets as nft
    /// drew them: a `ct` expression inside a statement, a match's key, else the statement (the
    /// rule, for reject).
    func checkNetdev(_ stmt: NFStatement, hook: NFHook?, at st: NFToken, rule: NFToken) throws(NFSyntaxError) {
        let first = index(of: st) ?? i - 1
        func span(_ m: String, from: Int, to last: Int) -> NFSyntaxError { refused(m, from: toks[from], to: toks[max(from, min(last, i - 1))]) }
        if case .xfrm = stmt { throw span("ipsec expression is only valid in ip/ip6/inet tables", from: first, to: i - 2) }
        if stmt.usesConntrack || stmt.isSynproxy {
            let m = "Could not process rule: Protocol error"
            if let k = (first..<i).first(where: { toks[$0].kind == .word && toks[$0].text == "ct" }), k > first {
                throw span(m, from: k, to: k + (["original", "reply"].contains(toks[k + 1].text) ? 2 : 1))
            }
            if case .match(let sel, _, _, _) = stmt { throw span(m, from: first, to: first + sel.printed.split(separator: " ").count - 1) }
            throw span(m, from: first, to: i - 1)
        }
        if case .verdict(.queue) = stmt { throw span("Could not process rule: No such file or directory", from: first, to: i - 1) }
        switch stmt {
        case .reject, .rejectICMPv6:
            if hook == .egress {
                let r = index(of: rule) ?? first
                throw span("Could not process rule: Operation not supported", from: r, to: i - 1)
            }
        default: break
        }
    }

    /// What nft 1.0.6 answers a statement it has no word for (`gre`, `vxlan`, `last`, `cgroupv2`... are
    /// not in its grammar; recorded): `xt` is its compat refusal; one of its keywords that cannot
    /// start a statement is unexpected there; another word is a symbol, which a header field
    /// after it leaves without a type, and which nothing else can follow to the statement's end.
    func unknownStatement(_ t: NFToken) -> NFSyntaxError {
        var end = i + 1
        while end < toks.count, toks[end].kind == .word || (toks[end].kind == .punct && ![";", "}"].contains(toks[end].text)) { end += 1 }
        if t.text == "xt" { return refused("unsupported xtables compat expression, use iptables-nft with this ruleset", from: t, to: toks[end - 1]) }
        if NFParser.reservedWords.contains(t.text) { return unexpected(t) }
        if i + 1 < toks.count, toks[i + 1].kind == .word, NFParser.selectorWords[toks[i + 1].text] != nil || toks[i + 1].text == "meta" || toks[i + 1].text == "ct" {
            return refused("No symbol type information", at: t)
        }
        let stop = end < toks.count ? toks[end] : toks[toks.count - 1]
        let what = stop.kind == .end ? "end of file" : stop.kind == .newline ? "newline" : stop.text == ";" ? "semicolon" : "'\(stop.text)'"
        return unexpected(stop, as: what)
    }

    /// Keys of nft's integer type a mark, zone or priority may be set from (`meta mark set meta cpu`,
    /// `ct mark set ct zone`); the accounting keys too (`isCtAccounting`).
    static let integerSources: Set<NFSelector> = [.length, .cpu, .random, .cgroup, .ctZone, .ctOrigZone, .ctReplyZone, .ctID]

    /// The types nft names for meta and ct keys a mark cannot be set from (recorded: `meta mark set meta skuid`...).
    static let keyTypeNames: [String: String] = [
        "meta skuid": "user ID", "meta skgid": "group ID", "meta iif": "network interface index", "meta oif": "network interface index",
        "meta iifname": "network interface name", "meta oifname": "network interface name", "meta priority": "TC classid",
        "meta iifgroup": "devgroup name", "meta oifgroup": "devgroup name", "meta l4proto": "Internet protocol",
        "meta protocol": "Ethernet protocol", "meta pkttype": "packet type", "meta iiftype": "network interface type",
        "meta oiftype": "network interface type", "meta hour": "Hour of day of packet reception",
        "meta day": "Day of week of packet reception", "meta time": "Relative time of packet reception",
        "meta rtclassid": "routing realm", "meta ipsec": "boolean type", "meta nfproto": "netfilter protocol",
        "ct expiration": "relative time", "ct label": "conntrack label", "ct state": "conntrack state", "ct status": "conntrack status",
        "ct direction": "conntrack direction", "ct protocol": "Internet protocol", "ct l3proto": "netfilter protocol", "ct helper": "string",
        "ct original proto-src": "invalid", "ct original proto-dst": "invalid", "ct reply proto-src": "invalid", "ct reply proto-dst": "invalid",
    ]

    /// How nft names a field's datatype in its mismatch errors (recorded: `meta mark set ip saddr`,
    /// `tcp dport`, `ip protocol`, `ip ttl`, `ct mark set ip dscp`).
    static func typeDescription(_ sel: NFSelector) -> String {
        switch NFSetKey.of(sel) {
        case .ipv4_addr?: "IPv4 address"
        case .ipv6_addr?: "IPv6 address"
        case .inet_service?: "internet network service"
        case .inet_proto?: "Internet protocol"
        case .ether_addr?: "Ethernet address"
        case .dscp?: "Differentiated Services Code Point"
        default: "integer with length \(NFSelector.bitWidth(sel))"
        }
    }

    /// nft's refusal of a NAT port without a transport protocol, under the port (range) the target
    /// read from `start` on: the words after a `:`, or the part of an `ADDR:PORT` word after its colon.
    func portMappingRefusal(from start: Int) -> NFSyntaxError {
        let m = "transport protocol mapping is only valid after transport protocol match"
        let range = toks[start..<i]
        if let c = range.lastIndex(where: { $0.kind == .punct && $0.text == ":" }), c + 1 < i { return refused(m, from: toks[c + 1], to: toks[i - 1]) }
        if let w = range.last(where: { $0.kind == .word && $0.text.contains(":") }), let colon = w.text.lastIndex(of: ":") {
            let off = w.text.distance(from: w.text.startIndex, to: colon) + 1
            var e = refused(m, at: w)
            e.column = w.column + off; e.length = w.text.count - off
            return e
        }
        return refused(m, at: toks[start])
    }

    /// A key and `map` next (`set KEY map { K : V, ... }`, `set KEY map @m`), not a value.
    mutating func mapAhead(_ context: RuleContext) -> Bool {
        let save = i
        defer { i = save }
        guard tok.kind == .word else { return false }
        do throws(NFSyntaxError) {
            _ = try concatSelector(context: context)
            while isWord(".") { i += 1; _ = try concatSelector(context: context) }
        } catch { return false }
        return isWord("map")
    }

    /// `TARGET set KEY map @m` (a named map of `data`; nil: none is modelled) or `map { K : V, ... }`:
    /// the value the packet's key finds is written; no element breaks the rule.
    mutating func setFromMap(_ sel: NFSelector, data: NFSetKey?, table: NFTable, anonymousSets: inout Int, context: RuleContext,
                             at vt: NFToken) throws(NFSyntaxError) -> NFStatement {
        let kt = tok
        var keys = [try concatSelector(context: context)]
        while isWord(".") { i += 1; keys.append(try concatSelector(context: context)) }
        try expectWord("map")
        if sel.isAddress6 {
            // A named map of IPv6 addresses (`type ... : ipv6_addr`, no port).
            if isPunct("@") { return .setMappedNamed(target: sel, key: keys, map: try fieldMapName(table, keys, .ipv6_addr, from: kt)) }
            try expectPunct("{")
            let entries = try braceList { (p: inout NFParser) throws(NFSyntaxError) -> (NFValue, UInt128) in
                let k = p.isPunct("*") ? p.catchAll() : keys.count == 1 ? try p.scalar(for: keys[0]) : try p.tupleValue(keys)
                try p.expectPunct(":")
                let dt = p.tok
                guard case .range6(let a, let b, _) = try p.ipv6Value(at: dt), a == b else { throw p.err("expected one IPv6 address", at: dt) }
                return (k, a)
            }
            anonymousSets += 1   // the anonymous map takes a handle
            return .setMapped6(target: sel, key: keys, entries: NFParser.catchAllLast(entries))
        }
        if isPunct("@") {
            guard let data else { throw unsupported("setting \(sel.printed) from a named map", at: vt) }
            return .setMappedNamed(target: sel, key: keys, map: try fieldMapName(table, keys, data, from: kt))
        }
        try expectPunct("{")
        let limit = sel.payload != nil ? UInt64.max : UInt64(UInt32.max)
        let entries = try braceList { (p: inout NFParser) throws(NFSyntaxError) -> (NFValue, UInt64) in
            let k = p.isPunct("*") ? p.catchAll() : keys.count == 1 ? try p.scalar(for: keys[0]) : try p.tupleValue(keys)
            try p.expectPunct(":")
            let dt = p.tok
            guard case .range(let n, let hi, _) = try p.scalar(for: sel), n == hi, n <= limit else { throw p.err("expected a value", at: dt) }
            return (k, n)
        }
        anonymousSets += 1   // the anonymous map takes a handle
        return .setMapped(target: sel, key: keys, entries: NFParser.catchAllLast(entries))
    }

    /// The named map a field is set from: one of its type alone, not a NAT map's address and port
    /// (nft underlines the whole `KEY map @m`, from `first`).
    mutating func fieldMapName(_ table: NFTable, _ key: [NFSelector], _ data: NFSetKey, from first: NFToken) throws(NFSyntaxError) -> String {
        let name = try dataMapName(table, key: key, data: data)
        if table.sets.first(where: { $0.name == name })?.dataPort == true {
            let (v6, what) = (data == .ipv6_addr, data == .ipv6_addr ? "IPv6 address" : "IPv4 address")
            throw refused("datatype mismatch: expected \(what), expression has type concatenation of (\(v6 ? "IPv6" : "IPv4") address, internet network service)",
                          from: first, to: toks[i - 1])
        }
        return name
    }

    mutating func dataMapName(_ table: NFTable, key: [NFSelector], data: NFSetKey) throws(NFSyntaxError) -> String {
        try expectPunct("@")
        let nt = tok
        let n = try identifier("a map name")
        guard let m = table.sets.first(where: { $0.name == n }) else {
            throw refused("Could not process rule: No such file or directory (no map @\(n) in table \(table.name))", at: nt)
        }
        guard m.dataType == data else { throw refused("datatype mismatch: map @\(n) gives \(m.dataType?.rawValue ?? (m.verdicts != nil ? "verdicts" : "nothing")), not \(data.rawValue)", at: nt) }
        guard m.keys.count == key.count, zip(m.keys, key).allSatisfy({ $0.accepts($1) }) else {
            throw refused("datatype mismatch: map @\(n) is keyed by \(m.keys.map(\.rawValue).joined(separator: " . ")), not \(key.map(\.printed).joined(separator: " . "))", at: nt)
        }
        return n
    }

    mutating func verdictWord() throws(NFSyntaxError) -> NFVerdict {
        let t = tok
        switch try word("a verdict") {
        case "accept": return .accept
        case "drop": return .drop
        case "continue": return .continue
        case "return": return .return
        case "queue":
            var num = 0, last: Int? = nil, bypass = false, fanout = false
            while tok.kind == .word, ["num", "to", "bypass", "fanout", "flags"].contains(tok.text) {
                let w = tok.text
                i += 1
                if w == "num" || w == "to" {
                    let nt = tok
                    if tok.kind == .word, ["symhash", "jhash", "numgen"].contains(tok.text) || toks[i + 1].text == "map" {
                        throw unsupported("queue numbers from an expression", at: nt)
                    }
                    let parts = try word("a queue number").split(separator: "-", omittingEmptySubsequences: false)
                    guard (1...2).contains(parts.count), let n = Int(parts[0]), (0...65535).contains(n) else { throw err("expected a queue number", at: nt) }
                    num = n
                    if parts.count == 2 {
                        guard let m = Int(parts[1]), (n...65535).contains(m) else { throw err("expected a queue number", at: nt) }
                        last = m
                    }
                }
                if w == "bypass" { bypass = true }
                if w == "fanout" { fanout = true }
                // `flags bypass,fanout`: the names follow.
                if isPunct(",") { i += 1 }
            }
            return .queue(num: num, bypass: bypass, last: last, fanout: fanout)
        case "jump", "goto":
            let ct = tok
            let target = try identifier("a chain name")
            jumpTokens[target] = ct
            return t.text == "jump" ? .jump(target) : .goto(target)
        default: throw err("expected a verdict (accept, drop, continue, return, jump, goto)", at: t)
        }
    }

    static var selectorWords: [String: [String: NFSelector]] { NFSelector.fieldsByProtocol }

    /// A value, range or name (what a one-element set collapses to).
    static func isSingleValue(_ v: NFValue) -> Bool {
        switch v {
        case .range, .range6, .string: true
        default: false
        }
    }

    /// `exists` or `missing` after a presence selector (tcp option, sctp chunk, exthdr, rt ipsec).
    mutating func presence(_ sel: NFSelector) throws(NFSyntaxError) -> NFStatement {
        let et = tok
        let w = try word("exists or missing")
        guard w == "exists" || w == "missing" else { throw err("expected exists or missing", at: et) }
        let v: UInt64 = w == "exists" ? 1 : 0
        return .match(sel, mask: nil, op: .implicit, value: .range(v, v, text: w))
    }

    /// What the matches before a statement established (nft's protocol context).
    struct RuleContext {
        var family: NFFamily = .ip
        var ipv4 = false, transport = false
        /// `meta nfproto ipv6`: IPv4 fields cannot follow.
        var ipv6Only = false
        /// The transport protocol the rule has fixed so far, and the protocols of a set match on it.
        var l4: UInt64? = nil
        var l4Set: [UInt64] = []
        /// A conntrack protocol was matched (what `ct original proto-dst` values are read by).
        var ctL4 = false
        /// An explicit `ip protocol X` / `meta l4proto X` a later header field of X makes redundant
        /// (nft drops it from the listing: the field implies it).
        var dependency: Int? = nil
        /// `meta protocol ip` in an ip table (ip6 in ip6; either in netdev), which a header field
        /// implies, and that protocol's ether type.
        var l3Dependency: Int? = nil
        var l3Protocol: UInt64 = 0
        /// `iiftype ether`, which an Ethernet header field implies.
        var linkDependency: Int? = nil
        /// An `ether type` match (its statement index and value), for the vlan fields after it.
        var etherType: (Int, UInt64)? = nil
        /// The `icmp type` and `icmpv6 type` selectors (ids) matched so far.
        var icmpTypesSeen: Set<Int> = []
        /// The last `icmp[v6] type` match (its selector, index and types), which the fields that
        /// need a message type check.
        var icmpType: (NFSelector, Int, [UInt64])? = nil
        /// `meta nfproto ipv4|ipv6` in an inet table, which an ip/icmp (ip6/icmpv6) field implies.
        var nfprotoDependency: (index: Int, nfproto: UInt64)? = nil
        /// The link layer is known to be Ethernet (`iiftype ether`, an ether field) and the network
        /// protocol is not yet: an inet rule's ip or ip6 field then gets nft's `ether type`
        /// dependency, which joins the payload merge (see `hiddenEtherType`).
        var linkEther = false, networkKnown = false

        static func protoName(_ p: UInt64) -> String { NFConstants.protocolName(p) }

        /// nft's protocol context: a header field of another protocol than the one fixed is refused.
        func check(_ sel: NFSelector, at t: NFToken, _ p: NFParser) throws(NFSyntaxError) {
            if ipv6Only || family == .ip6, sel.rawValue.hasPrefix("ip ") || sel.rawValue.contains(" ip ") {
                throw p.refused("conflicting protocols specified: ip6 vs. ip", at: t)
            }
            if family == .ip, sel.exthdr != nil { throw p.refused("cannot use exthdr with ip", at: t) }
            if ipv4 || family == .ip, sel.isIPv6Field || sel.exthdr != nil {
                throw p.refused("conflicting protocols specified: ip vs. ip6", at: t)
            }
            guard let want = sel.impliedProtocol.map(UInt64.init) else { return }
            if let l4, l4 != want { throw p.refused("conflicting protocols specified: \(Self.protoName(l4)) vs. \(Self.protoName(want))", at: t) }
            if let other = l4Set.last(where: { $0 != want }) {
                throw p.refused("conflicting protocols specified: \(Self.protoName(other)) vs. \(Self.protoName(want))", at: t)
            }
        }

        /// Drops statement `d` (a dependency the listing leaves out): the positions noted after it move up.
        mutating func remove(at d: Int, from stmts: inout [NFStatement]) {
            stmts.remove(at: d)
            func moved(_ x: Int?) -> Int? { x.map { $0 > d ? $0 - 1 : $0 } }
            dependency = moved(dependency); l3Dependency = moved(l3Dependency); linkDependency = moved(linkDependency)
            if let (x, n) = nfprotoDependency { nfprotoDependency = (moved(x)!, n) }
            if let (x, v) = etherType { etherType = (moved(x)!, v) }
            if let (sel, x, types) = icmpType { icmpType = (sel, moved(x)!, types) }
        }

        mutating func note(_ s: NFStatement, index: Int, family: NFFamily) {
            guard case .match(let sel, let mask, let op, let v) = s, op == .eq || op == .implicit else { return }
            if let p = sel.impliedProtocol { l4 = UInt64(p) }
            // `ct [original|reply] protocol X` types the conntrack ports that follow.
            if sel.rawValue.hasPrefix("ct "), sel.rawValue.hasSuffix(" protocol"), mask == nil, case .range = v { ctL4 = true }
            if sel == .metaProtocol, mask == nil, case .range(let lo, let hi, _) = v, lo == hi,
               family == .ip && lo == 0x0800 || family == .ip6 && lo == 0x86dd || family == .netdev && (lo == 0x0800 || lo == 0x86dd) {
                l3Dependency = index; l3Protocol = lo
            }
            if sel == .iiftype, mask == nil, case .range(1, 1, _) = v { linkDependency = index }
            if sel.rawValue == "ether type", mask == nil, case .range(let lo, let hi, _) = v, lo == hi { etherType = (index, lo) }
            if mask == nil, sel == .l4proto || sel == .ipProtocol || sel.rawValue == "ip6 nexthdr" {
                // In inet `ip protocol` also means IPv4 (`ip6 nexthdr` IPv6), so only there it is not
                // redundant (recorded: an ip6 table lists `ip6 nexthdr tcp tcp dport 22` as the port).
                if case .range(let lo, let hi, _) = v, lo == hi {
                    l4 = lo
                    dependency = sel == .l4proto || family == .ip && sel == .ipProtocol || family == .ip6 && sel != .ipProtocol ? index : nil
                }
                if case .set(let vs) = v {
                    l4Set = vs.compactMap { if case .range(let lo, let hi, _) = $0, lo == hi { lo } else { nil } }
                    // Every protocol of the set has ports: a port mapping may follow.
                    if !l4Set.isEmpty, l4Set.count == vs.count, l4Set.allSatisfy({ [6, 17, 33, 132, 136].contains($0) }) { transport = true }
                }
            }
            if sel.impliedProtocol != nil || sel == .thSport || sel == .thDport { transport = true }
            if sel == .ipProtocol || sel == .l4proto, case .range(let lo, let hi, _) = v, lo == hi, [6, 17, 33, 132, 136].contains(lo) { transport = true }
            if sel == .iiftype, mask == nil, case .range(1, 1, _) = v { linkEther = true }
            if sel.isMAC { linkEther = true }
            if sel.rawValue == "ether type" || sel == .nfproto || sel == .metaProtocol || sel.rawValue.hasPrefix("ip ") || sel.isIPv6Field { networkKnown = true }
            if sel.rawValue.hasPrefix("ip ") { ipv4 = true }
            if sel.isIPv6Field { ipv6Only = true }
            // `meta nfproto ipv4|ipv6` an IP header field of that family (or ICMP of it) implies in inet.
            if sel == .nfproto, family == .inet, mask == nil, case .range(let lo, let hi, _) = v, lo == hi, lo == 2 || lo == 10 {
                nfprotoDependency = (index, lo)
            }
            if sel == .nfproto, case .range(2, 2, _) = v { ipv4 = true }
            if sel == .nfproto, case .range(10, 10, _) = v { ipv6Only = true }
        }
    }

    mutating func statement(table: NFTable, anonymousSets: inout Int, context: RuleContext = RuleContext()) throws(NFSyntaxError) -> NFStatement {
        let t = tok
        if t.kind == .punct, t.text == "@" { return try rawPayload(context: context) }
        guard t.kind == .word else { throw err("expected a statement") }
        switch t.text {
        case "accept", "drop", "continue", "return", "jump", "goto", "queue":
            return .verdict(try verdictWord())
        case "counter", "quota", "limit":
            i += 1
            let kind = NFObjectKind(rawValue: t.text)!
            if isWord("name") { return try objectRef(kind, table: table, context: context, anonymousSets: &anonymousSets) }
            switch kind {
            case .counter: return try counterBody()
            case .quota: return try quotaBody()
            default: return try limitBody()
            }
        case "meta" where i + 1 < toks.count && toks[i + 1].kind == .word && toks[i + 1].text == "nftrace":
            // The kernel only writes nftrace: reading it is EOPNOTSUPP.
            i += 2
            guard isWord("set") else { throw refused("Could not process rule: Operation not supported", at: toks[i - 2]) }
            i += 1
            let vt = tok
            guard let n = NFConstants.number(try word("0 or 1")), n <= 1 else { throw err("expected 0 or 1", at: vt) }
            return .setNftrace(n == 1)
        case "tcp" where i + 2 < toks.count && toks[i + 1].kind == .word && toks[i + 1].text == "option" && toks[i + 2].kind == .punct && toks[i + 2].text == "@":
            i += 3
            return try tcpOptionRaw()
        case "ct" where i + 2 < toks.count && toks[i + 1].kind == .word && toks[i + 1].text == "event" && toks[i + 2].kind == .word && toks[i + 2].text == "set":
            i += 3
            return .setCtEvent(try ctEventBits())
        case "ct" where i + 2 < toks.count && toks[i + 1].kind == .word && ["helper", "timeout", "expectation"].contains(toks[i + 1].text)
                && toks[i + 2].kind == .word && toks[i + 2].text == "set":
            i += 1
            return try ctObjectSet(table: table, context: context, anonymousSets: &anonymousSets)
        case "ct" where i + 1 < toks.count && toks[i + 1].kind == .word && toks[i + 1].text == "count":
            // `ct count [over] N`: nft_connlimit on the rule's own list of connections.
            i += 2
            return try ctCountBody()
        case "notrack":
            i += 1
            return .notrack
        case "synproxy":
            i += 1
            if isWord("name") { return try objectRef(.synproxy, table: table, context: context, anonymousSets: &anonymousSets) }
            return .synproxy(try synproxyArgs())
        case "dup":
            i += 1
            return try dupBody(table: table, context: context, anonymousSets: &anonymousSets, at: t)
        case "tproxy":
            return try tproxyBody(table: table, context: context, at: t)
        case "fwd":
            return try fwdBody(table: table, context: context, anonymousSets: &anonymousSets, at: t)
        case "xt" where readsCompat:
            // A listing's `xt match set` or `xt target SET` (nft reads no xt expressions); the rule's
            // iptables line gives their parameters.
            i += 1
            if readsXtListing {
                let target = isWord("target")
                if !target { try expectWord("match") } else { i += 1 }
                return .xt(NFXtExpr(target: target, name: try word("an xtables extension")))
            }
            if isWord("target") {
                i += 1
                if isWord("CONNMARK") { i += 1; return .xtConnmark(NFXtConnmark(save: true, nfmask: 0, ctmask: 0)) }
                try expectWord("SET")
                return .xtSetTarget(NFXtSetTarget())
            }
            try expectWord("match")
            if isWord("conntrack") { i += 1; return .xtConntrack(NFXtConntrack(states: 0, snat: false, dnat: false, invert: false)) }
            if isWord("multiport") { i += 1; return .xtMultiport(NFXtMultiport(ranges: [], invert: false)) }
            if isWord("recent") { i += 1; return .xtRecent(NFXtRecent(mode: .set, name: "")) }
            if isWord("owner") { i += 1; return .xtOwner(NFXtOwner()) }
            if isWord("connlimit") { i += 1; return .xtConnlimit(NFXtConnlimit(limit: 0, upto: false)) }
            try expectWord("set")
            return .xtSet(NFXtSetMatch(name: "", source: []))
        case "log":
            i += 1
            return .log(try logOptions(start: t))
        case "reject":
            i += 1
            if isWord("with") {
                i += 1
                let kind = try word("tcp or icmp")
                if kind == "tcp" {
                    try expectWord("reset")
                    if let l4 = context.l4, l4 != 6 { throw refused("you cannot use tcp reset with this protocol", at: t) }
                    return .reject(tcpReset: true, icmpCode: 3)
                }
                guard kind == "icmp" || kind == "icmpx" || kind == "icmpv6" else { throw err("expected tcp, icmp, icmpx or icmpv6", at: toks[i - 1]) }
                if isWord("type") { i += 1 }
                let ct = tok
                let code = try word("an ICMP code name")
                let n = NFConstants.number(code).flatMap { UInt8(exactly: $0) }
                if kind == "icmpv6" {
                    // In inet it implies meta nfproto ipv6; an ip table cannot send ICMPv6.
                    if table.family == .ip || context.ipv4 { throw refused("conflicting protocols specified: ip vs ip6", at: ct) }
                    guard let c = n ?? NFConstants.icmp6CodeList.first(where: { $0.0 == code }).map({ UInt8($0.1) }) else { throw err("unknown reject type \(code)", at: ct) }
                    return .rejectICMPv6(c)
                }
                // A number is the code itself (icmpx: 0 no-route, 1 port-unreachable, 2 host-unreachable, 3 admin-prohibited).
                let icmpxByNumber = ["no-route", "port-unreachable", "host-unreachable", "admin-prohibited"]
                if kind == "icmpx", table.family != .inet, table.family != .netdev { throw refused("abstracted ICMP unreachable not supported", at: ct) }
                // ICMP (v4) cannot answer what the rule already fixed as IPv6.
                if kind == "icmp", context.ipv6Only { throw refused("conflicting protocols specified: ip6 vs ip", at: ct) }
                let c: UInt8?
                if kind == "icmpx" { c = NFConstants.icmpxCodes[n.flatMap { Int($0) < 4 ? icmpxByNumber[Int($0)] : nil } ?? code] } else { c = n ?? NFConstants.icmpUnreachCodes[code] }
                guard let c else { throw err("unknown reject type \(code)", at: ct) }
                return .reject(tcpReset: false, icmpCode: c, icmpx: kind == "icmpx")
            }
            // Plain `reject` in inet: ICMP port unreachable for IPv4 context, ICMPv6 for IPv6, else
            // icmpx (nft lists the first two with their family, the last as `reject`); in netdev icmpx.
            if table.family == .netdev { return .reject(tcpReset: false, icmpCode: 3, icmpx: true) }
            if table.family == .inet {
                if context.ipv4 { return .reject(tcpReset: false, icmpCode: 3, icmpx: false) }
                if context.ipv6Only { return .rejectICMPv6(4) }
                return .reject(tcpReset: false, icmpCode: 3, icmpx: true)
            }
            return .reject(tcpReset: false, icmpCode: 3)
        case "add", "update", "delete" where toks[i + 1].kind == .punct && toks[i + 1].text == "@":
            // `add|update|delete @s { KEY [timeout T] }`: the rule changes a set (nft_dynset).
            i += 2
            let nt = tok
            let sname = try identifier("a set name")
            guard let set = table.sets.first(where: { $0.name == sname }) else {
                throw refused("Could not process rule: No such file or directory", at: nt)
            }
            try expectPunct("{")
            let kt = tok
            let (key, values) = try dynsetKey(context: context, types: set.keys)
            guard set.keys.count == key.count, zip(set.keys, key).allSatisfy({ $0.accepts($1) }) else {
                throw refused("datatype mismatch: set @\(sname) holds \(set.keys.map(\.rawValue).joined(separator: " . "))", at: kt)
            }
            // A timeout needs a set whose elements expire.
            let timeout = try elementTimeout(allowed: set.timeouts)
            let exprs = try elementExprs()
            var data: NFDynData? = nil
            if set.isMap {
                // nft_dynset_init: a map's element takes data, and a delete none (EINVAL, under the statement).
                guard isPunct(":"), t.text != "delete" else {
                    let end = toks[i...].firstIndex { $0.kind == .punct && $0.text == "}" } ?? i
                    throw refused("Could not process rule: Invalid argument", from: t, to: toks[end])
                }
                i += 1
                // A verdict is no expression to nft's grammar; anything else is no verdict.
                if set.verdicts != nil {
                    if tok.kind == .word, ["accept", "drop", "continue", "return", "queue", "jump", "goto"].contains(tok.text) { throw err("syntax error, unexpected \(tok.text)") }
                    throw refused("Can't parse symbolic netfilter verdict expressions")
                }
                data = try dynsetData(set, context: context)
            }
            try expectPunct("}")
            return .dynset(op: NFDynsetOp(rawValue: t.text)!, set: sname, key: key, timeout: timeout, exprs: exprs, data: data,
                           values: values.contains { $0 != nil } ? values : [])
        case "meter":
            // `meter NAME [size N] { KEY [timeout T] EXPRS }`.
            i += 1
            let nt = tok
            let mname = try identifier("a meter name")
            if let s = table.sets.first(where: { $0.name == mname }), !s.meter { throw refused("Could not process rule: File exists", at: nt) }
            var size = 65535
            if isWord("size") {
                i += 1
                let st = tok
                guard let n = Int(try word("a size")), n > 0 else { throw err("expected a size", at: st) }
                size = n
            }
            try expectPunct("{")
            let key = try dynsetKey(context: context)
            for k in key where NFSetKey.of(k) == nil { throw unsupported("a meter keyed by \(k.printed)", at: nt) }
            let timeout = try elementTimeout(allowed: true)
            let exprs = try elementExprs()
            try expectPunct("}")
            return .meter(name: mname, size: size, key: key, timeout: timeout, exprs: exprs)
        case "numgen", "jhash", "symhash":
            // `GENERATOR vmap { N : verdict, ... }` (kube-proxy's endpoint choice), or compared.
            let g = try generator(context: context)
            if !isWord("vmap") { return try generatorMatch(g, anonymousSets: &anonymousSets) }
            try expectWord("vmap")
            try expectPunct("{")
            let entries = try braceList { (p: inout NFParser) throws(NFSyntaxError) -> (NFValue, NFVerdict) in
                let k = try p.numberOrRange()
                try p.expectPunct(":")
                return (k, try p.verdictWord())
            }
            if NFParser.overlap(entries.map(\.0)) { throw refused("conflicting intervals specified", at: t) }
            anonymousSets += 1   // the anonymous map takes a handle
            return .generatorVmap(g, entries)
        case "snat", "dnat":
            i += 1
            var family = false, family6 = false
            if isWord("ip") { i += 1; family = true } else if isWord("ip6") { i += 1; family6 = true }
            // `addr . port`: the map gives both (nft lists the rule without the words).
            let addrPort = isWord("addr") && i + 2 < toks.count && toks[i + 1].text == "." && toks[i + 2].text == "port"
            if addrPort { i += 3 }
            // `prefix` (NF_NAT_RANGE_NETMAP): the range maps the network part, the packet keeps its host part.
            let netmap = isWord("prefix")
            if netmap { i += 1 }
            try expectWord("to")
            let at = tok
            if atIPv6Target() {
                if family || table.family == .ip || context.ipv4 { throw refused("conflicting protocols specified: ip vs. ip6", at: at) }
                if table.family == .inet, !family6, !context.ipv6Only { throw refused("ip or ip6 must be specified with address for inet tables.", at: t) }
                let start = i
                let (a, ah, p, ph) = try nat6Target()
                // nft's grammar has no port after a prefix target: the colon is its syntax error.
                if netmap, p != nil, let c = (start..<i).first(where: { toks[$0].text == ":" && toks[$0 - 1].text == "]" }) {
                    throw err("syntax error, unexpected colon, expecting newline or semicolon", at: toks[c])
                }
                if p != nil, !context.transport { throw portMappingRefusal(from: start) }
                var f = try natFlags()
                if netmap { f.insert(.netmap) }
                return .nat6(source: t.text == "snat", addr: a, addrHi: ah, port: p, portHi: ph, flags: f)
            }
            // `to KEY map @m` of a map of IPv6 addresses (nat6), or `to KEY map { ... }`.
            if family6 || table.family == .ip6, tok.kind == .word,
               NFParser.generatorWords.contains(tok.text) || NFParser.selectorWords[tok.text] != nil || NFParser.bareMetaKeys.contains(tok.text) || tok.text == "ct" {
                let save = i
                var key: [NFSelector] = []
                if !NFParser.generatorWords.contains(tok.text) {
                    key = [try concatSelector(context: context)]
                    while isWord(".") { i += 1; key.append(try concatSelector(context: context)) }
                }
                if key.isEmpty || !(isWord("map") && i + 1 < toks.count && toks[i + 1].kind == .punct && toks[i + 1].text == "@") {
                    i = save
                    anonymousSets += 1   // the anonymous map takes a handle
                    return .natMap(try natMap(source: t.text == "snat", netmap: netmap, v6: true, at: t, context: context))
                }
                try expectWord("map")
                let mt = tok
                if netmap { throw unsupported("snat/dnat prefix to a named map", at: at) }
                let name = try dataMapName(table, key: key, data: .ipv6_addr)
                let withPort = table.sets.first(where: { $0.name == name })?.dataPort ?? false
                if addrPort, !withPort { throw refused("datatype mismatch: map @\(name) gives addresses without ports", at: mt) }
                return .natMapNamed(source: t.text == "snat", key: key, map: name, flags: try natFlags(), withPort: withPort, v6: true)
            }
            if family6 { throw err("expected an IPv6 address", at: at) }
            // `to KEY map { ... }`: a generator or a field keys the address (an address starts with a digit).
            if tok.kind == .word, NFParser.generatorWords.contains(tok.text) || NFParser.selectorWords[tok.text] != nil || NFParser.bareMetaKeys.contains(tok.text) || tok.text == "ct" {
                if table.family == .inet, !family, !context.ipv4 { throw refused("ip or ip6 must be specified with address for inet tables.", at: t) }
                // `to KEY map @m`: a named map of addresses.
                if !NFParser.generatorWords.contains(tok.text) {
                    let save = i
                    var key = [try concatSelector(context: context)]
                    while isWord(".") { i += 1; key.append(try concatSelector(context: context)) }
                    if isWord("map"), i + 1 < toks.count, toks[i + 1].kind == .punct, toks[i + 1].text == "@" {
                        i += 1
                        if netmap { throw unsupported("snat/dnat prefix to a named map", at: at) }
                        let mt = tok
                        let name = try dataMapName(table, key: key, data: .ipv4_addr)
                        let withPort = table.sets.first(where: { $0.name == name })?.dataPort ?? false
                        if addrPort, !withPort { throw refused("datatype mismatch: map @\(name) gives addresses without ports", at: mt) }
                        return .natMapNamed(source: t.text == "snat", key: key, map: name, flags: try natFlags(), withPort: withPort)
                    }
                    i = save
                }
                anonymousSets += 1   // the anonymous map takes a handle
                return .natMap(try natMap(source: t.text == "snat", netmap: netmap, at: t, context: context))
            }
            let targetStart = i
            let (a, ah, p, ph) = try natTarget()
            if netmap, a == nil || p != nil { throw err("expected an IPv4 address or prefix", at: at) }
            if table.family == .inet, a != nil, !family, !context.ipv4 {
                throw refused("ip or ip6 must be specified with address for inet tables.", at: t)
            }
            if p != nil, !context.transport { throw portMappingRefusal(from: targetStart) }
            var f = try natFlags()
            if netmap { f.insert(.netmap) }
            return t.text == "snat" ? .snat(addr: a, addrHi: ah, port: p, portHi: ph, flags: f) : .dnat(addr: a, addrHi: ah, port: p, portHi: ph, flags: f)
        case "masquerade", "redirect":
            i += 1
            var p: UInt16? = nil, ph: UInt16? = nil
            // A selector after the colon (a port, range or service name is not one).
            if isWord("to"), i + 2 < toks.count, toks[i + 1].kind == .punct, toks[i + 1].text == ":", toks[i + 2].kind == .word,
               NFParser.selectorWords[toks[i + 2].text] != nil || toks[i + 2].text == "th" {
                // `to :tcp dport map { 22 : 8000 }`: the port from a map (nft_redir/nft_masq with a register).
                i += 2
                if !context.transport { throw refused("transport protocol mapping is only valid after transport protocol match", at: toks[i - 1]) }
                let key = try concatSelector(context: context)
                let entries = try mapEntries(key) { (p: inout NFParser) throws(NFSyntaxError) -> UInt16 in
                    let pt = p.tok
                    let w = try p.word("a port")
                    if w.contains("-") { throw p.unsupported("port ranges as a port map's data", at: pt) }
                    guard let port = NFConstants.number(w).flatMap({ UInt16(exactly: $0) }) ?? NFConstants.services[w].flatMap({ UInt16(exactly: $0) }) else {
                        throw p.err("expected a port", at: pt)
                    }
                    return port
                }
                anonymousSets += 1   // the anonymous map takes a handle
                return .natPortMap(masquerade: t.text == "masquerade", key: key, entries: entries, flags: try natFlags())
            }
            if isWord("to") {
                i += 1
                let start = i
                let (_, _, pp, pph) = try natTarget()
                p = pp; ph = pph
                if !context.transport { throw portMappingRefusal(from: start) }
            }
            let f = try natFlags()
            return t.text == "masquerade" ? .masquerade(port: p, portHi: ph, flags: f) : .redirect(port: p, portHi: ph, flags: f)
        default:
            break
        }
        // A selector: `ip saddr`, `tcp dport`, `meta mark`, bare `iifname`, `ct state`...
        var sel: NFSelector
        if t.text == "ct", let s = try ctSelector(context: context) {
            sel = s
        } else if t.text == "fib" {
            // `fib saddr . iif oif`: the words up to the result key name the lookup.
            i += 1
            var words: [String] = []
            while tok.kind == .word, !["oif", "oifname", "type"].contains(tok.text) { words.append(tok.text); i += 1 }
            let rt = tok
            let result = try word("oif, oifname or type")
            // nft lists the flags in one order: the address, then mark, then iif.
            let flags = words.filter { $0 != "." }
            if Set(flags).count == flags.count, Set(flags).isSubset(of: ["saddr", "daddr", "mark", "iif"]), let addr = flags.first(where: { $0 == "saddr" || $0 == "daddr" }) {
                words = [addr] + ["mark", "iif"].filter(flags.contains).flatMap { [".", $0] }
            }
            guard let s = NFSelector(rawValue: "fib " + (words + [result]).joined(separator: " ")) else {
                let known = ["saddr", "daddr", ".", "iif"]
                if words.allSatisfy({ known.contains($0) || $0 == "mark" || $0 == "oif" }), words.contains("mark") || result == "oifname" {
                    throw unsupported("fib \((words + [result]).joined(separator: " ")) (saddr/daddr [. mark] [. iif] with oif or type are modelled)", at: t)
                }
                throw refused("fib: \((words + [result]).joined(separator: " ")) is not a valid lookup (saddr or daddr, with . iif, then oif or type)", at: rt)
            }
            sel = s
            if result == "oif", isWord("exists") || isWord("missing") {
                // `oif exists|missing`: whether the lookup found an interface.
                let w = try word("exists or missing")
                return .match(sel, mask: nil, op: w == "exists" ? .ne : .eq, value: .range(0, 0, text: w))
            }
        } else if t.text == "exthdr" {
            // `exthdr NAME exists|missing`: whether the packet has that extension header.
            i += 1
            let nt = tok
            let name = try word("an extension header name")
            if ["rt0", "rt2", "srh"].contains(name) { throw unsupported("exthdr \(name)", at: nt) }
            guard let s = NFSelector(rawValue: "exthdr " + name) else { throw err("expected hbh, rt, frag, dst or mh", at: nt) }
            let m = try presence(s)
            try context.check(s, at: t, self)
            return m
        } else if t.text == "ipsec" {
            return try ipsec(table: table, anonymousSets: &anonymousSets)
        } else if t.text == "osf" {
            sel = try osfSelector()
        } else if t.text == "rt" {
            sel = try rtSelector(table: table, context: context)
            if sel.rawValue == "rt ipsec" { return try presence(sel) }
        } else if (t.text == "tcp" && toks[i + 1].text == "option") || (t.text == "sctp" && toks[i + 1].text == "chunk")
                    || (t.text == "ip" && toks[i + 1].text == "option"), toks[i + 1].kind == .word {
            sel = t.text == "ip" ? try ipOptionSelector() : try optionSelector(t.text == "tcp" ? "tcp option" : "sctp chunk")
            if sel.isOptionPresence {
                // `tcp option X exists|missing`, likewise sctp chunks and IPv4 options.
                let m = try presence(sel)
                try context.check(sel, at: t, self)
                return m
            }
        } else if let fields = NFParser.selectorWords[t.text] {
            i += 1
            let ft = tok
            var f = try word("a field of \(t.text)")
            // `arp saddr ether|ip`: a field of two words.
            if t.text == "arp", f == "saddr" || f == "daddr", tok.kind == .word, fields[f + " " + tok.text] != nil { f += " " + tok.text; i += 1 }
            // arp fields exist in netdev tables here (arp and bridge tables are not modelled): nft's
            // conflict with the table's family elsewhere (recorded).
            if t.text == "arp", context.family != .netdev {
                throw refused("conflicting protocols specified: \(context.family.rawValue) vs. arp", from: t, to: toks[i - 1])
            }
            if t.text == "vlan" && f == "cfi" { f = "dei" }   // nft's old name for the bit, listed as dei
            if t.text == "meta" && f == "secpath" { f = "ipsec" }   // listed as meta ipsec
            guard let s = fields[f] else {
                // A secmark is an object's id: nft takes no constant for it (its words, under the value).
                if t.text == "meta", f == "secmark", !isWord("set"), !atStatementEnd { throw refused("Cannot be used with right hand side constant value", at: tok) }
                if t.text == "meta", NFParser.metaKeysNotModelled.contains(f) { throw unsupported("meta \(f)", at: ft) }
                throw unknownField(t, ft)
            }
            sel = s
            if sel.rawValue == "meta ipsec" { return try presence(sel) }
        } else if ["iif", "oif", "iifname", "oifname", "mark", "l4proto", "pkttype", "iifgroup", "oifgroup", "iiftype", "oiftype",
                    "skuid", "skgid", "cpu", "cgroup", "priority", "random", "time", "day", "hour"].contains(t.text), let s = NFParser.selectorWords["meta"]![t.text] {
            i += 1
            sel = s
        } else if t.text == "reset", i + 2 < toks.count, toks[i + 1].text == "tcp", toks[i + 2].text == "option" {
            i += 3
            let kt = tok
            guard let kind = NFSelector.tcpOptionKind(try word("a TCP option")) else { throw err("unknown TCP option \(kt.text)", at: kt) }
            return .resetTCPOption(kind)
        } else if NFParser.notModelled.contains(t.text) {
            // What nft refuses by family first (recorded): the routing headers of IPv6 in an ip table.
            if ["rt0", "rt2", "srh"].contains(t.text), context.family == .ip {
                // The expression: `rt0 addr[1]`, `srh flags`.
                let close = i + 2 < toks.count && toks[i + 2].text == "[" ? toks[(i + 2)...].firstIndex { $0.text == "]" } : nil
                throw refused("cannot use exthdr with ip", from: t, to: toks[min(close ?? i + 1, toks.count - 1)])
            }
            // nft reads these; the model does not act on them yet, so they are refused by name.
            throw unsupported(t.text, at: t)
        } else {
            throw unknownStatement(t)
        }
        try context.check(sel, at: t, self)
        if isWord(".") { return try concatenation(first: sel, table: table, anonymousSets: &anonymousSets, context: context) }
        if isWord("set") {
            i += 1
            let vt = tok
            // `ct [original|reply] zone set`: the zone of a conntrack template (16 bits); `ct label
            // set N`: a label bit (0-127). Both take constants, maps and generators, not marks.
            let ctInteger = sel == .ctZone || sel == .ctOrigZone || sel == .ctReplyZone || sel == .ctLabel
            if sel != .mark && sel != .ctMark && sel != .priority && !ctInteger {
                // nft_exthdr writes no IPv4 options: EOPNOTSUPP, under the field (as nft 1.0.6 here).
                if sel.ipOption != nil { throw refused("Could not process rule: Operation not supported", from: t, to: toks[i - 2]) }
                // The kernel writes TCP option fields of 2 or 4 bytes only (EOPNOTSUPP for others).
                if let o = sel.tcpOption, !sel.isWritable, o.bitLength > 0 {
                    throw refused("Could not process rule: Operation not supported", at: t)
                }
                // nft_exthdr has no SCTP chunk writes: EOPNOTSUPP, under the chunk's field (recorded).
                if sel.sctpChunk != nil, let k = index(of: t), k + 3 < i {
                    throw refused("Could not process rule: Operation not supported", from: toks[k + 2], to: toks[i - 2])
                }
                guard sel.isWritable else {
                    throw unsupported("setting \(sel.printed) (meta mark, ct mark, ct zone, ct label, meta priority, header fields and TCP option fields can be set)", at: vt)
                }
                // `ether daddr set ip daddr map @macs`: the field from a map of its type.
                if sel.payload != nil, mapAhead(context) {
                    // A field that is part of the bytes written (the rest kept by a mask) takes no map
                    // value in nft: its mask and shift are binary operations on the value (recorded).
                    if let w = sel.payloadWrite, w.mask != (w.size >= 8 ? .max : (UInt64(1) << UInt64(8 * w.size)) - 1),
                       let k = index(of: t) {
                        // (A field that must also be shifted into place fails on the shift first, with
                        // the shift as the value: `ip dscp` 2, `ip6 dscp` 6.)
                        let why = w.shift > 0 ? "Value \(w.shift) exceeds valid range 0-0" : "Binary operation (^) is undefined for map expressions"
                        throw refused(why, from: t, to: toks[k + sel.printed.split(separator: " ").count - 1])
                    }
                    guard let type = NFSetKey.of(sel) else { throw unsupported("setting \(sel.printed) from a map", at: vt) }
                    return try setFromMap(sel, data: type, table: table, anonymousSets: &anonymousSets, context: context, at: vt)
                }
                // A header field takes one constant (nft refuses a set, a range or a prefix here).
                // `tcp option maxseg size set rt mtu`: MSS clamping to the route.
                if isWord("rt") {
                    let rs = try rtSelector(table: table, context: context)
                    guard rs.rawValue == "rt mtu" else { throw unsupported("setting \(sel.printed) from \(rs.printed)", at: vt) }
                    return .setPayloadFrom(sel, rs)
                }
                // From another field or key of the same width (`udp sport set udp dport`); a word
                // that is also a value (`ip protocol set icmp`) is one unless a field follows it.
                if tok.kind == .word, i + 1 < toks.count, toks[i + 1].kind == .word, NFParser.selectorWords[tok.text]?[toks[i + 1].text] != nil {
                    let src = try concatSelector(context: context)
                    // The source has the rule's protocol context too, the target's among it.
                    try context.check(src, at: vt, self)
                    let (v4, v6) = (sel.rawValue.hasPrefix("ip "), sel.isIPv6Field)
                    if v4 && src.isIPv6Field || v6 && src.rawValue.hasPrefix("ip ") {
                        throw refused("conflicting protocols specified: \(v4 ? "ip vs. ip6" : "ip6 vs. ip")", from: vt, to: toks[i - 1])
                    }
                    if sel.isAddress6 && src.isAddress6 { return .setPayloadFrom(sel, src) }
                    if sel.isAddress6 || src.isAddress6 || src.isString { throw unsupported("setting \(sel.printed) from \(src.printed)", at: vt) }
                    guard NFSelector.bitWidth(src) == NFSelector.bitWidth(sel) else {
                        throw refused("datatype mismatch: \(sel.printed) is \(NFSelector.bitWidth(sel)) bits, \(src.printed) \(NFSelector.bitWidth(src))", at: vt)
                    }
                    return .setPayloadFrom(sel, src)
                }
                if sel.isAddress6 {
                    // `ip6 saddr|daddr set ADDR`: one address.
                    guard case .range6(let lo, let hi, let text) = try ipv6Value(at: vt), lo == hi else { throw err("expected one IPv6 address", at: vt) }
                    return .setPayload(sel, .range6(lo, lo, text: text))
                }
                guard case .range(let lo, let hi, let text) = try scalar(for: sel), lo == hi else {
                    throw err("expected one value for \(sel.printed)", at: vt)
                }
                return .setPayload(sel, .range(lo, lo, text: text))
            }
            if tok.kind == .word, NFParser.generatorWords.contains(tok.text) { return .setGenerated(target: sel, try generator(context: context)) }
            // `set KEY map { K : V, ... }`: a `map` before the statement ends.
            if mapAhead(context) {
                // A named map only of marks (`type ipv4_addr : mark`).
                let data: NFSetKey? = sel == .mark || sel == .ctMark ? .mark : nil
                return try setFromMap(sel, data: data, table: table, anonymousSets: &anonymousSets, context: context, at: vt)
            }
            // A source (meta mark / ct mark) with & | ^ (and, or, xor), then perhaps a shift and
            // more of them (`(meta mark | 0x10) << 8`, `meta mark << 8 & 0xff00`), or a constant.
            var source: NFSelector? = nil
            var mask: UInt32 = .max, xor: UInt32 = 0
            var shift = 0, postMask: UInt32 = .max, postXor: UInt32 = 0
            let paren = isPunct("(")
            if paren { i += 1 }
            if isWord("meta") || isWord("ct") || isWord("mark") {
                let st = tok
                let src: NFSelector
                if isWord("mark") { i += 1; src = .mark } else { src = try concatSelector(context: context) }
                let isMark = src == .mark || src == .ctMark
                // nft's types: a mark is no integer or classid, and marks take integers but no typed key.
                if sel == .ctLabel { throw refused("Could not process rule: No data available", from: t, to: toks[i - 1]) }
                if isMark && sel != .mark && sel != .ctMark {
                    throw refused("datatype mismatch: expected \(sel == .priority ? "TC classid" : "integer"), expression has type packet mark", from: st, to: toks[i - 1])
                }
                if !isMark && !NFParser.integerSources.contains(src) && !src.isCtAccounting {
                    guard let type = NFParser.keyTypeNames[src.rawValue] ?? (src.payload != nil || src.rawValue.hasPrefix("ct original ip") || src.rawValue.hasPrefix("ct reply ip") ? NFParser.typeDescription(src) : nil) else {
                        throw unsupported("\(src.printed) as a value", at: st)
                    }
                    let expected = sel == .mark || sel == .ctMark ? "packet mark" : sel == .priority ? "TC classid" : "integer"
                    throw refused("datatype mismatch: expected \(expected), expression has type \(type)", from: st, to: toks[i - 1])
                }
                source = src
            } else {
                if paren { throw err("expected meta mark or ct mark") }
                // A header field of another type as a mark: nft's datatype mismatch, under the field.
                if (sel == .mark || sel == .ctMark), tok.kind == .word, i + 1 < toks.count, toks[i + 1].kind == .word,
                   let field = NFParser.selectorWords[tok.text]?[toks[i + 1].text], field.payload != nil {
                    let ft = tok
                    i += 2
                    throw refused("datatype mismatch: expected packet mark, expression has type \(NFParser.typeDescription(field))", from: ft, to: toks[i - 1])
                }
                let v = try scalar(for: sel == .priority ? .priority : ctInteger ? sel : .mark)
                guard case .range(let n, let hi, _) = v, n == hi, n <= UInt64(UInt32.max) else { throw err("expected a value", at: vt) }
                xor = UInt32(n)
                mask = 0
            }
            try maskAndXor(&mask, &xor)
            if paren { try expectPunct(")") }
            if source != nil, isPunct("<<") || isPunct(">>") {
                let left = tok.text == "<<"
                i += 1
                let nt = tok
                guard let n = Int(try word("a number of bits")), (1...31).contains(n) else { throw err("expected a shift of 1-31 bits", at: nt) }
                shift = left ? n : -n
                try maskAndXor(&postMask, &postXor)
            }
            if source == nil {
                switch sel {
                case .mark: return .setMark(xor)
                case .ctMark: return .setCtMark(xor)
                default: break
                }
            }
            return .setExpr(target: sel, source: source, mask: mask, xor: xor, shift: shift, postMask: postMask, postXor: postXor)
        }
        if isWord("vmap") {
            i += 1
            if isPunct("@") { return .vmapNamed(sel, try namedMap(table, parts: 1).name) }
            try expectPunct("{")
            let entries = try braceList { (p: inout NFParser) throws(NFSyntaxError) -> (NFValue, NFVerdict) in
                let v = p.isPunct("*") ? p.catchAll() : try p.scalar(for: sel)
                try p.expectPunct(":")
                return (v, try p.verdictWord())
            }
            if NFParser.overlap(entries.map(\.0)) { throw refused("conflicting intervals specified", at: t) }
            anonymousSets += 1
            return .vmap(sel, NFParser.catchAllLast(entries))
        }
        if sel.isAddress6, isPunct("&") || isWord("and") { return try masked6(sel) }
        var mask: UInt64? = nil
        if isPunct("&") || isWord("and") {
            i += 1
            mask = try maskValue(for: sel)
        }
        // `ct mark or 0x23 == 0x11` keeps its form; `xor X == C` is `== C ^ X`, as nft folds it.
        var orBits: UInt64? = nil, xorBits: UInt64? = nil
        if mask == nil, isWord("or") || isWord("xor") || isPunct("|") || isPunct("^") {
            let isOr = isWord("or") || isPunct("|")
            i += 1
            let nt = tok
            guard let n = NFConstants.number(try word("a number")), n <= sel.maxValue else { throw err("expected a number", at: nt) }
            if isOr { orBits = n } else { xorBits = n }
        }
        var op = relationalOp()
        // `tcp flags ! syn`: none of these bits (nft's form of `tcp flags & syn == 0`).
        if sel.isFlags, mask == nil, isPunct("!") {
            i += 1
            var m = NFConstants.bits(try scalar(for: sel))
            while isPunct(",") || isPunct("|") { i += 1; m |= NFConstants.bits(try scalar(for: sel)) }
            return .match(sel, mask: m, op: .eq, value: .range(0, 0, text: "0"))
        }
        var value: NFValue
        if isPunct("{") {
            i += 1
            let vals = try setElements(for: sel)
            // nft makes a set of one value that value (`tcp dport { 22 }` is `tcp dport 22`; no set is made).
            if vals.count == 1, !sel.isFlags, NFParser.isSingleValue(vals[0]) {
                value = vals[0]
            } else {
                anonymousSets += 1
                value = .set(vals)
            }
        } else if isPunct("@") {
            i += 1
            let nt = tok
            let n = try identifier("a set name")
            guard let set = table.sets.first(where: { $0.name == n }) else { throw err("no set @\(n) in table \(table.name)", at: nt) }
            // nft checks the set's type against what the left side reads (an IPv6 set for `ip saddr` is refused).
            if set.concat == nil, !set.isMap, (sel.isAddress || sel.isAddress6), !set.key.accepts(sel) {
                throw refused("datatype mismatch: set @\(n) holds \(set.key.rawValue), not what \(sel.printed) reads", at: nt)
            }
            value = .named(n)
        } else if sel == .ctState || sel == .ctStatus || sel == .tcpFlags {
            // flag lists: `established,related`, `fin|syn`, `(syn | ack)`, and `tcp flags fin,syn / fin,syn,rst,ack`
            var vals = [try flagsValue(for: sel)]
            while isPunct(",") || isPunct("|") { i += 1; vals.append(try flagsValue(for: sel)) }
            if isPunct("/") {
                i += 1
                var m = [try scalar(for: sel)]
                while isPunct(",") || isPunct("|") { i += 1; m.append(try scalar(for: sel)) }
                mask = m.reduce(0) { $0 | NFConstants.bits($1) }
                let v = vals.reduce(0) { $0 | NFConstants.bits($1) }
                return Self.flagMatch(sel, mask: mask, op: op, value: .range(v, v, text: NFPrinter.flags(v, sel)))
            }
            if mask != nil || op != .implicit {
                // With a mask or an explicit operator the bits form one value compared whole.
                let v = vals.reduce(0) { $0 | NFConstants.bits($1) }
                value = .range(v, v, text: NFPrinter.flags(v, sel))
            } else {
                // A bare list is one value of bits, any of which may match (a braced set is a lookup).
                let v = vals.reduce(0) { $0 | NFConstants.bits($1) }
                value = vals.count == 1 ? vals[0] : .range(v, v, text: NFPrinter.flags(v, sel))
            }
        } else {
            value = try scalar(for: sel)
            // nft turns an hour range that wraps midnight (`"17:00"-"08:00"`) into the other one,
            // negated (recorded: `meta hour != "08:00"-"17:00"`).
            if sel == .hour, case .range(let lo, let hi, _) = value, hi < lo {
                value = .range(hi, lo, text: NFPrinter.number(hi, sel) + "-" + NFPrinter.number(lo, sel))
                op = op == .ne ? .eq : .ne
            }
        }
        // `== { ... }` and `== @s` are lookups like `{ ... }` and `@s`: listed without the operator
        // (recorded for ct state, tcp flags and ports).
        if op == .eq, mask == nil, value.isLookup { op = .implicit }
        // `tcp flags & m != 0` is nft's bare `tcp flags m`: any of the bits.
        if sel.isFlags, let m = mask, op == .ne, case .range(0, 0, _) = value {
            return .match(sel, mask: nil, op: .implicit, value: .range(m, m, text: NFPrinter.flags(m, sel)))
        }
        if let x = xorBits, case .range(let lo, let hi, _) = value, lo == hi {
            let v = lo ^ x
            return .match(sel, mask: nil, op: op == .ne ? .ne : .implicit, value: .range(v, v, text: NFPrinter.number(v, sel)))
        }
        if let o = orBits { return .matchOr(sel, or: o, op: op == .ne ? .ne : .eq, value: value) }
        // `ip saddr & 255.255.0.0 == 10.1.0.0` is the prefix 10.1.0.0/16, as nft lists it.
        if sel.isAddress, let m = mask, m <= 0xffff_ffff, op == .eq || op == .implicit || op == .ne,
           case .range(let lo, let hi, _) = value, lo == hi, lo & ~m & 0xffff_ffff == 0 {
            let len = (~UInt32(m)).leadingZeroBitCount   // the mask's leading ones
            if len > 0, UInt32(m) == ~UInt32(0) << UInt32(32 - len) {
                let text = len == 32 ? NFConstants.ipv4Text(UInt32(lo)) : "\(NFConstants.ipv4Text(UInt32(lo)))/\(len)"
                return .match(sel, mask: nil, op: op == .ne ? .ne : .implicit, value: .range(lo, lo | (~m & 0xffff_ffff), text: text))
            }
        }
        return Self.flagMatch(sel, mask: mask, op: op, value: value)
    }

    /// `ip6 saddr & MASK [==|!=] ADDR`: a prefix mask over an address inside it is the prefix, as
    /// nft lists it (`ip6 saddr 2001:db8::/64`); any other stays a masked compare. The address
    /// outside the mask can never match: nft keeps it, and so does this.
    mutating func masked6(_ sel: NFSelector) throws(NFSyntaxError) -> NFStatement {
        i += 1
        let mt = tok
        guard case .range6(let mask, let mhi, _) = try ipv6Value(at: mt), mask == mhi else { throw err("expected an IPv6 mask", at: mt) }
        let op = relationalOp()
        guard op == .eq || op == .implicit || op == .ne else { throw unsupported("\(op.rawValue) on a masked IPv6 address", at: mt) }
        let vt = tok
        guard case .range6(let v, let vhi, _) = try ipv6Value(at: vt), v == vhi else { throw err("expected an IPv6 address", at: vt) }
        let len = (~mask).leadingZeroBitCount
        if mask == ~UInt128(0) << UInt128(128 - len) || len == 128, v & ~mask == 0 {
            let text = len == 128 ? IPv6Text.text(v) : "\(IPv6Text.text(v))/\(len)"
            return .match(sel, mask: nil, op: op == .ne ? .ne : .implicit, value: .range6(v, v | ~mask, text: text))
        }
        return .match6Masked(sel, mask: mask, op: op == .ne ? .ne : .eq, value: v)
    }

    /// A mask of every TCP flag bit is no mask: nft lists `tcp flags == syn`.
    static func flagMatch(_ sel: NFSelector, mask: UInt64?, op: NFOp, value: NFValue) -> NFStatement {
        guard sel == .tcpFlags, mask == 0xff else { return .match(sel, mask: mask, op: op, value: value) }
        return .match(sel, mask: nil, op: op == .implicit ? .eq : op, value: value)
    }
}
