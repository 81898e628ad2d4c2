import NFTables
import Wire

// net/netfilter/core.c (nf_hook_slow) and net/netfilter/nf_tables_core.c (nft_do_chain).
extension Stack {
    static let thSport = NFSelector(rawValue: "th sport")!, thDport = NFSelector(rawValue: "th dport")!

    /// `nf_hook_slow`: the base chains registered on `hook`, in priority order, with conntrack and
    /// defragmentation at their own priorities when conntrack (defragmentation: or tproxy) is in
    /// use. Accept ends one base chain; drop ends the packet.
    func nf_hook(_ hook: NFHook, _ skb: SkBuff, inDev: Int?, outDev: Int?) -> HookVerdict {
        // netdev chains are bound to one device.
        let v6 = skb.protocolType == EtherType.ipv6
        let chains = hook == .ingress ? inDev.flatMap { netfilter.ingress[devices[$0].name] } ?? []
            : hook == .egress ? outDev.flatMap { netfilter.egress[devices[$0].name] } ?? []
            : (v6 ? netfilter.hooks6[hook] : netfilter.hooks[hook]) ?? []
        let ct = (v6 ? netfilter.conntrack6Enabled : netfilter.conntrackEnabled) && (hook == .prerouting || hook == .output)
        // Conntrack brings defragmentation; a tproxy rule brings it alone.
        let defrag = ct || (v6 ? netfilter.defrag6Enabled : netfilter.defragEnabled) && (hook == .prerouting || hook == .output)
        let natHook = hook == .prerouting || hook == .output || hook == .input || hook == .postrouting
        // No base chain and no conntrack here: only a connection's NAT (its other direction) applies.
        let natCore = natHook && (v6 ? netfilter.natCore6 : netfilter.natCore)
        if chains.isEmpty && !defrag {
            if natCore { return nf_nat_hook(hook, skb, chains, inDev: inDev, outDev: outDev) ?? .accept }
            if natHook { nf_nat_packet(skb, hook: hook) }
            return .accept
        }
        enter(.nf_hook_slow, skb)
        // nf_defrag_ipv6 (priority -400): conntrack needs whole datagrams; the reassembled packet
        // has no fragment header.
        if defrag && v6, let frag = ipv6FragmentHeader(skb) {
            let (th, nhoff) = (skb.transportHeader, skb.nhoff)
            skb.transportHeader = frag.offset; skb.nhoff = frag.nhoff
            switch ipv6_frag_rcv(skb, defrag: true) {
            case .queued: return .stolen
            case .failed(let end): finish(skb, end); return .stolen
            case .reassembled: skb.transportHeader = th; skb.nhoff = nhoff
            }
        }
        // nf_defrag_ipv4 (priority -400): conntrack (or tproxy) needs whole datagrams.
        if defrag && !v6 && hook == .prerouting && skb.data.be16(skb.networkHeader + 6) & 0x3fff != 0 {
            switch ip_defrag(skb) {
            case .queued: return .stolen
            case .failed(let end): finish(skb, end); return .stolen
            case .reassembled: break
            }
        }
        var ctDone = !ct
        // The NAT core's hook (nf_nat_ipv4_ops): at NF_IP_PRI_NAT_DST (-100) in PRE_ROUTING and
        // LOCAL_OUT, NF_IP_PRI_NAT_SRC (100) in LOCAL_IN and POST_ROUTING; none in FORWARD. There
        // the nat chains decide (nf_nat_inet_fn) and the packet is translated (nf_nat_packet), so
        // base chains after that priority see it translated.
        let natPrio = hook == .prerouting || hook == .output ? -100 : 100
        var natPending = natHook
        for h in chains where !h.isNAT {
            if !ctDone && h.prio > -200 {
                ctDone = true
                if !nf_conntrack_in(skb, hook: hook) { return .drop }
            }
            if natPending && h.prio > natPrio {
                natPending = false
                if let v = nf_nat_hook(hook, skb, chains, inDev: inDev, outDev: outDev) { return v }
            }
            if let v = runChain(h, hook, skb, inDev: inDev, outDev: outDev) { return v }
        }
        if !ctDone && !nf_conntrack_in(skb, hook: hook) { return .drop }
        if natPending, let v = nf_nat_hook(hook, skb, chains, inDev: inDev, outDev: outDev) { return v }
        return .accept
    }

    /// One base chain; nil to go on to the next, or how the hook ends.
    private func runChain(_ h: NetfilterState.HookEntry, _ hook: NFHook, _ skb: SkBuff, inDev: Int?, outDev: Int?) -> HookVerdict? {
        // nf_route_table_hook4: what a route chain may change that routing depends on.
        let before = h.isRoute ? routeKeys(skb) : nil
        switch nft_do_chain(h.table, h.chain, hook: hook, skb, inDev: inDev, outDev: outDev) {
        case .accept:
            if let before, before != routeKeys(skb) { skb.rerouteWanted = true }
            return nil
        case .drop: return .drop
        case .rejected: return .rejected
        case .stolen: return .stolen
        case .consumed: return .consumed
        }
    }

    /// `nf_nat_inet_fn` at the NAT core's priority: the nat chains (in their priority order) decide a
    /// connection's NAT of this hook's kind once, on a packet of a new (or related: an expected
    /// connection no helper NATed) connection whose NAT of that kind is not yet done (a
    /// retransmitted first packet keeps the binding the first one got); then `nf_nat_packet`
    /// translates. nil to go on.
    private func nf_nat_hook(_ hook: NFHook, _ skb: SkBuff, _ chains: [NetfilterState.HookEntry], inDev: Int?, outDev: Int?) -> HookVerdict? {
        let natDone = hook == .prerouting || hook == .output ? IPS.dstNATDone : IPS.srcNATDone
        if let c = skb.conn, skb.ctInfo == .new || isExpectedOriginal(skb, c), c.status & natDone == 0 {
            for h in chains where h.isNAT {
                if let v = runChain(h, hook, skb, inDev: inDev, outDev: outDev) { return v }
            }
            // No rule bound it (nf_nat_initialized): the NAT core's null binding.
            let core = skb.protocolType == EtherType.ipv6 ? netfilter.natCore6 : netfilter.natCore
            let source = natDone == IPS.srcNATDone
            if core, (source ? c.snat : c.dnat) == nil { nf_nat_alloc_null_binding(c, source: source) }
            if core || chains.contains(where: \.isNAT) { c.status |= natDone }
        }
        nf_nat_packet(skb, hook: hook)
        return nil
    }

    /// Source, destination, TOS and mark: what `ip_route_me_harder` routes on (nf_route_table_hook4);
    /// for IPv6 (nf_route_table_hook6) the addresses, mark, hop limit and the first word (traffic
    /// class and flow label).
    private func routeKeys(_ skb: SkBuff) -> [UInt32] {
        let nh = skb.networkHeader
        if skb.data[nh] >> 4 == 6 {
            return [skb.data.be32(nh), UInt32(skb.data[nh + 7]), skb.mark] + (0..<8).map { skb.data.be32(nh + 8 + 4 * $0) }
        }
        return [skb.data.be32(nh + 12), skb.data.be32(nh + 16), UInt32(skb.data[nh + 1]), skb.mark]
    }

    /// A trace event; the first of a base chain's run carries the packet as it stands (`nft_trace_notify`
    /// dumps it once per `nft_do_chain`, `packet_dumped`), unless an expression took the packet
    /// (a stolen verdict: the skb is gone; recorded with synproxy, Cases/nft_trace_synproxy.txt).
    private func event(_ skb: SkBuff, _ hook: NFHook, _ ti: Int, _ ci: Int, _ kind: NFEvent.Kind, _ r: CRule?, _ verdict: String,
                       _ info: PktInfo, dumped: inout Bool) {
        guard tracing, skb.packet >= 0 else { return }
        let t = netfilter.ruleset.tables[ti]
        var e = NFEvent(hook: hook, table: t.id, chain: t.chains[ci].name, kind: kind, handle: r?.handle,
                        rule: r?.text, iptables: r?.iptables, verdict: verdict, generated: skb.generated)
        e.nftrace = skb.nftrace
        e.looped = skb.looped
        if !dumped && verdict != RuleVerdict.stolen.text { dumped = true; e.packet = nf_trace_fill_pkt_info(skb, info) }
        packets[skb.packet].nfEvents.append(e)
    }

    /// `nf_trace_fill_pkt_info` and `nf_trace_fill_dev_info`.
    private func nf_trace_fill_pkt_info(_ skb: SkBuff, _ info: PktInfo) -> NFTracePacket {
        let b = skb.data, nh = skb.networkHeader, end = min(skb.len, b.count)
        let l4 = info.ipv4 || info.ipv6
        let nhEnd = min(l4 ? info.th : end, nh + 40, end)
        let th = l4 && info.th <= end ? Array(b[info.th..<min(end, info.th + 20)]) : nil
        // nf_trace_fill_ll_header: with a VLAN tag still on the skb (ingress) the header is dumped
        // with the tag (a vlan_ethhdr); after it is taken off, the frame's own 14 bytes.
        let tagged = skb.vlanID != nil && nh >= 18
        let ll = !skb.macHeaderSet || nh < 14 ? []
            : !tagged ? Array(b[(nh - 14)..<nh])
            : info.hook == .ingress ? Array(b[(nh - 18)..<nh]) : Array(b[(nh - 18)..<(nh - 6)]) + Array(b[(nh - 2)..<nh])
        var p = NFTracePacket(iif: info.inDev.map { devices[$0].name }, oif: info.outDev.map { devices[$0].name }, ll: ll,
                              nh: nh < nhEnd ? Array(b[nh..<nhEnd]) : [], th: th, ipv6: skb.protocolType == EtherType.ipv6)
        p.llEther = !(info.inDev.map { devices[$0].isLoopback } ?? false)
        return p
    }

    /// `nft_do_chain`: rules in order; a rule whose matches all hold applies its statements and
    /// verdict. jump pushes a return point, goto does not; return (or the end of a regular chain)
    /// pops, and with nothing to pop the base chain's policy decides.
    func nft_do_chain(_ ti: Int, _ base: Int, hook: NFHook, _ skb: SkBuff, inDev: Int?, outDev: Int?) -> HookVerdict {
        let chains = netfilter.compiled[ti]
        let policy = netfilter.ruleset.tables[ti].chains[base].base?.policy ?? .accept
        let info = PktInfo(skb, hook: hook, inDev: inDev, outDev: outDev)
        var stack: [(chain: Int, rule: Int)] = []
        var hops = 0
        var c = base, r = 0
        var rules = chains[c].rules
        // The chain's index (RuleIndex) names the only rules that can match this packet.
        func cursor(_ c: Int) -> RuleCursor? {
            guard classifier, let idx = chains[c].index else { return nil }
            return RuleCursor(hits: idx.lookup(read(idx.sel, skb, info)), wild: idx.wild)
        }
        var cur = cursor(c)
        var dumped = false
        while true {
            if cur != nil { r = cur!.next(atLeast: r) }
            if r >= rules.count {
                // End of chain: a regular chain returns silently; the base chain's policy ends it all.
                if let top = stack.popLast() { c = top.chain; r = top.rule; rules = chains[c].rules; cur = cursor(c); continue }
                return nft_update_chain_stats(skb, hook, ti, base, policy, info, dumped: &dumped)
            }
            let rule = rules[r]
            r += 1
            let result = evalRule(rule, ti: ti, ci: c, hook: hook, skb, info, inDev: inDev, outDev: outDev)
            if rule.writes, cur != nil { cur = cursor(c) }
            guard let verdict = result else { continue }
            event(skb, hook, ti, c, .rule, rule, verdict.text, info, dumped: &dumped)
            switch verdict {
            case .nf(.continue): continue
            case .nf(.accept): return .accept
            case .nf(.drop): return .drop
            case .nf(.queue(_, let bypass, _, _)): return bypass ? .accept : .drop   // no listener on any of the queues
            case .rejected: return .rejected
            case .stolen: return .consumed
            case .nf(.jump(let name)), .nf(.goto(let name)):
                guard let target = netfilter.ruleset.tables[ti].chains.firstIndex(where: { $0.name == name }) else { return .drop }
                if case .nf(.jump) = verdict { stack.append((c, r)) }
                if stack.count > 16 { return .drop }   // NFT_JUMP_STACK_SIZE
                // Loops are refused at load (NFJumpCheck); this bound only keeps a worker from spinning.
                hops += 1
                if hops > 4096 { return .drop }
                c = target; r = 0; rules = chains[c].rules; cur = cursor(c)
            case .nf(.return):
                if let top = stack.popLast() { c = top.chain; r = top.rule; rules = chains[c].rules; cur = cursor(c); continue }
                return nft_update_chain_stats(skb, hook, ti, base, policy, info, dumped: &dumped)
            }
        }
    }

    /// The end of `nft_do_chain` with nothing to return to: the policy event (NFT_TRACETYPE_POLICY), the
    /// base chain's stats (`nft_update_chain_stats`, what iptables-nft-save shows), the policy verdict.
    private func nft_update_chain_stats(_ skb: SkBuff, _ hook: NFHook, _ ti: Int, _ base: Int, _ policy: NFVerdict,
                                        _ info: PktInfo, dumped: inout Bool) -> HookVerdict {
        event(skb, hook, ti, base, .policy, nil, policy.text, info, dumped: &dumped)
        let len = skb.nftLen
        let key = PolicyKey.of(ti, base)
        let c = netfilter.policyCounters[key] ?? (0, 0)
        netfilter.policyCounters[key] = (c.0 + 1, c.1 + len)
        return policy == .drop ? .drop : .accept
    }

    /// A named object a rule refers to: a stateful one counts, a conntrack one acts on the entry.
    private func object(_ o: NFObject, ti: Int, _ skb: SkBuff, _ info: PktInfo) -> ObjectOutcome {
        if case .ctObject(let c) = o.statement { return nft_ct_object_eval(c, skb) }
        if case .synproxy(let x) = o.statement { return nft_synproxy_eval(x, skb, info) }
        return stateful(o.statement, ti: ti, handle: o.handle, skb) ? .next : .breakRule
    }

    /// counter, limit and quota (nft_counter_eval, nft_limit_eval, nft_quota_eval), their state
    /// kept per table and handle (a rule's, or a named object's); false when the match fails.
    private func stateful(_ s: NFStatement, ti: Int, handle: Int, _ skb: SkBuff) -> Bool {
        switch s {
        case .counter(let p0, let b0):
            // Counters start from the values the rule gave (`counter packets N bytes M`).
            let bytes = skb.nftLen
            let old = netfilter.counters[ti]?[handle] ?? (p0, b0)
            netfilter.counters[ti, default: [:]][handle] = (old.0 + 1, old.1 + bytes)
            return true
        case .limit:
            var st = netfilter.limits[ti]?[handle]
            let ok = nft_limit_eval(s, &st, skb)
            netfilter.limits[ti, default: [:]][handle] = st
            return ok
        case .quota(let quota, let over, let used):
            // The bytes are counted first; at or past the quota it is over.
            let consumed = (netfilter.quotas[ti]?[handle] ?? used) &+ UInt64(skb.nftLen)
            netfilter.quotas[ti, default: [:]][handle] = consumed
            return (consumed >= quota) == over
        default:
            return true
        }
    }

    /// nft_limit_eval: in virtual ns, in the kernel's integer arithmetic: a packet costs nsecs/rate
    /// (or nsecs*len/rate in byte mode); the bucket holds nsecs/rate*burst (bytes:
    /// nsecs*(rate+burst)/rate), full when the limit is made. `over` inverts the match.
    private func nft_limit_eval(_ s: NFStatement, _ state: inout (tokens: UInt64, last: UInt64)?, _ skb: SkBuff) -> Bool {
        guard case .limit(let rate, let per, let burst, let over, let unit) = s else { return true }
        let now = clocks[skb.cpu]
        let cost = unit == .bytes ? per &* UInt64(skb.nftLen) / rate : per / rate
        let tokensMax = unit == .bytes ? per &* (rate + burst) / rate : per / rate &* burst
        var st = state ?? (tokensMax, now)
        let tokens = min(tokensMax, st.tokens &+ (now &- st.last))
        st.last = now
        let ok = tokens >= cost
        st.tokens = ok ? tokens - cost : tokens
        state = st
        return ok != over
    }

    /// A set element's stateful expressions, on its own state; false ends the rule (NFT_BREAK).
    /// nft_set_elem_update_expr: what a lookup that finds an element runs, its own expressions.
    private func foundElementEval(_ st: inout ElementState, _ skb: SkBuff) -> Bool {
        let exprs = st.exprs
        return elementEval(exprs, &st, skb)
    }

    private func elementEval(_ exprs: [NFStatement], _ st: inout ElementState, _ skb: SkBuff) -> Bool {
        let len = skb.nftLen
        for e in exprs {
            switch e {
            case .counter: st.packets += 1; st.bytes += len
            case .limit: if !nft_limit_eval(e, &st.limit, skb) { return false }
            case .quota(let quota, let over, _):
                st.quotaUsed &+= UInt64(len)
                if (st.quotaUsed >= quota) != over { return false }
            case .ctCount(let n, let over): if !nft_connlimit_eval(n, over: over, &st.conns, skb) { return false }
            default: break
            }
        }
        return true
    }

    /// nft_connlimit (nf_conncount_add): connections that are gone (never confirmed, or expired) or
    /// closed (TCP CLOSE, TIME_WAIT) leave the list, this one joins it once; `ct count N` holds at
    /// N or fewer, `over N` past N. A packet without a connection ends the rule.
    private func nft_connlimit_eval(_ n: UInt32, over: Bool, _ conns: inout [Conn], _ skb: SkBuff) -> Bool {
        guard let c = skb.conn else { return false }
        conns.removeAll { $0 !== c && (!$0.confirmedInTable || $0.tcp == .CLOSE || $0.tcp == .TIME_WAIT) }
        if !conns.contains(where: { $0 === c }) { conns.append(c) }
        return (conns.count > Int(n)) == over
    }

    /// nft_ct_set_eval NFT_CT_MARK: a mark that changes is an IPCT_MARK event.
    private func nft_ct_set_mark(_ v: UInt32, _ skb: SkBuff) {
        guard let c = skb.conn, c.mark != v else { return }
        c.mark = v
        nf_conntrack_event_cache(IPCT.mark, c)
    }

    /// nft_meta_set_eval (meta mark, meta priority) and nft_ct_set_eval (ct mark): the register's
    /// value into the packet or its connection.
    private func nft_meta_set_eval(_ key: NFSelector, _ v: UInt32, _ skb: SkBuff) {
        switch key {
        case .mark: skb.mark = v
        case .ctMark: nft_ct_set_mark(v, skb)
        case .ctZone, .ctOrigZone, .ctReplyZone: nft_ct_set_zone_eval(key, UInt16(truncatingIfNeeded: v), skb)
        // nft_ct_set_eval NFT_CT_LABELS: nf_connlabels_replace sets the label's bit (a template or no
        // entry: nothing), an IPCT_LABEL event when it changes.
        case .ctLabel:
            if let c = skb.conn, v < 128, c.labels & (1 << UInt128(v)) == 0 {
                c.labels |= 1 << UInt128(v)
                nf_conntrack_event_cache(IPCT.label, c)
            }
        default: skb.priority = v
        }
    }

    /// `nft_ct_set_zone_eval`: a packet conntrack has not seen gets a template with the zone (for
    /// both directions, or the one named); its state reads new. A packet with a conntrack entry,
    /// untracked, or already holding a template is left as it is.
    private func nft_ct_set_zone_eval(_ key: NFSelector, _ id: UInt16, _ skb: SkBuff) {
        guard skb.conn == nil, skb.ctTemplate == nil, skb.ctInfo != .untracked else { return }
        skb.ctTemplate = CTZone(id: id, dir: key == .ctOrigZone ? 1 : key == .ctReplyZone ? 2 : 3)
        skb.ctInfo = .new
    }

    enum RuleVerdict: Equatable {
        case nf(NFVerdict)
        case rejected
        /// NF_STOLEN: an expression took the packet (synproxy answered for the socket).
        case stolen
        var text: String {
            switch self {
            case .nf(let v): v.text
            case .rejected: "drop"
            case .stolen: "stolen"
            }
        }
    }

    /// Runs a rule's statements; nil when a match fails (the rule does not apply).
    private func evalRule(_ rule: CRule, ti: Int, ci: Int, hook: NFHook, _ skb: SkBuff, _ info: PktInfo, inDev: Int?, outDev: Int?) -> RuleVerdict? {
        for step in rule.steps {
            let s: NFStatement
            var k = 0
            switch step {
            case .match(let m) where m.sel.isAddress6:
                guard let v = read6(m.sel, skb, info) else { return nil }
                let hit = m.ranges6.contains { v >= $0.lo && v <= $0.hi }
                if hit == (m.op == .ne) { return nil }
                continue
            case .match(let m):
                guard var v = read(m.sel, skb, info) else { return nil }
                if let mask = m.mask { v &= mask }
                let hit: Bool
                if let anyBit = m.anyBit { hit = v & anyBit != 0 } else {
                    switch m.op {
                    case .implicit, .eq, .ne:
                        var found = false
                        for r in m.ranges where v >= r.lo && v <= r.hi { found = true; break }
                        hit = found
                    case .lt: hit = v < (m.ranges.first?.lo ?? 0)
                    case .gt: hit = v > (m.ranges.first?.lo ?? 0)
                    case .le: hit = v <= (m.ranges.first?.lo ?? 0)
                    case .ge: hit = v >= (m.ranges.first?.lo ?? 0)
                    }
                }
                if hit == (m.op == .ne) { return nil }
                continue
            case .matchSet(let m) where m.sel.isAddress6:
                guard let v = read6(m.sel, skb, info) else { return nil }
                if m.set.contains6(v, now: clocks[skb.cpu]) == m.negate { return nil }
                if m.set.hasExprs, !m.negate, !m.set.evalFound6(v, now: clocks[skb.cpu], { foundElementEval(&$0, skb) }) { return nil }
                continue
            case .matchSet(let m):
                guard var v = read(m.sel, skb, info) else { return nil }
                if let mask = m.mask { v &= mask }
                if m.set.lookup(v, now: clocks[skb.cpu]) == m.negate { return nil }
                if m.set.hasExprs, !m.negate, !m.set.evalFound(v, now: clocks[skb.cpu], { foundElementEval(&$0, skb) }) { return nil }
                continue
            case .matchName(let m):
                guard let name = readName(m.sel, skb, info, inDev: inDev, outDev: outDev) else { return nil }
                let hit = m.names.contains { $0.hasSuffix("*") ? name.hasPrefix(String($0.dropLast())) : $0 == name }
                if hit == m.negate { return nil }
                continue
            case .anyDiffers(let ms):
                // One compare of the merged bytes: an unreadable field breaks the rule, one that differs matches.
                var differs = false
                for m in ms {
                    guard let v = read(m.sel, skb, info) else { return nil }
                    if !m.ranges.contains(where: { v >= $0.lo && v <= $0.hi }) { differs = true }
                }
                if !differs { return nil }
                continue
            case .other(let index):
                k = index
                s = rule.statements[k]
            }
            switch s {
            case .match(.ctLabel, nil, let op, let value):
                // `ct label N`: bit N of the entry's labels is set (nft_ct_get_eval, then a bitwise and).
                guard let c = skb.conn else { return nil }
                let set = CRule.ranges(value).contains { $0.lo < 128 && c.labels & (1 << UInt128($0.lo)) != 0 }
                if set == (op == .ne) { return nil }
            case .match:
                break
            case .match6Masked(let sel, let mask, let op, let value):
                guard let v = read6(sel, skb, info) else { return nil }
                if (v & mask == value) == (op == .ne) { return nil }
            case .counter, .limit, .quota:
                if !stateful(s, ti: ti, handle: rule.stateKeys[k], skb) { return nil }
            case .objref(let kind, let name):
                // A named object: its state is shared by every rule that names it (kept under the object's handle).
                guard let o = netfilter.objects[ti]?[.init(kind: kind, name: name)] else { return nil }
                switch object(o, ti: ti, skb, info) { case .next: break; case .breakRule: return nil; case .drop: return .nf(.drop); case .stolen: return .stolen }
            case .objrefMapNamed(let kind, let key, let map):
                // nft_objref_map_eval: the key finds the element, whose object acts; none breaks the rule.
                guard let m = netfilter.objectMaps[ti]?[map], let pos = mapPosition(m.keys, key, skb, info, inDev: inDev, outDev: outDev, ti: ti),
                      let o = netfilter.objects[ti]?[.init(kind: kind, name: m.names[pos])] else { return nil }
                switch object(o, ti: ti, skb, info) { case .next: break; case .breakRule: return nil; case .drop: return .nf(.drop); case .stolen: return .stolen }
            case .objrefMap(let kind, let keys, let entries):
                guard let name = mapLookup(keys, entries, skb, info, inDev: inDev, outDev: outDev, ti: ti),
                      let o = netfilter.objects[ti]?[.init(kind: kind, name: name)] else { return nil }
                switch object(o, ti: ti, skb, info) { case .next: break; case .breakRule: return nil; case .drop: return .nf(.drop); case .stolen: return .stolen }
            case .fwd(let f):
                // nft_fwd_netdev_eval / nft_fwd_neigh_eval: the packet goes out once the hook is
                // done (netif_receive_skb's caller sends it: nft_fwd_xmit); another family breaks the rule.
                if let fam = f.family, fam == .ip ? skb.protocolType != EtherType.ipv4 : skb.protocolType != EtherType.ipv6 { return nil }
                if let key = f.key {
                    // The device from the anonymous map (nft_lookup); no element breaks the rule.
                    guard let name = mapLookup([key], f.devices, skb, info, inDev: inDev, outDev: outDev, ti: ti) else { return nil }
                    skb.fwd = NFFwd(device: name)
                } else {
                    skb.fwd = f
                }
                return .stolen
            case .synproxy(let x):
                switch nft_synproxy_eval(x, skb, info) { case .next: break; case .breakRule: return nil; case .drop: return .nf(.drop); case .stolen: return .stolen }
            case .ctObject:
                break   // (an object's own settings, never a rule's statement)
            case .log(let l):
                // nf_log writes to the kernel log at the rule's level, or hands the packet to an nflog
                // group; here the line nf_log_ip would print (or the group it went to) goes into the trace.
                if tracing, skb.packet >= 0 {
                    let t = netfilter.ruleset.tables[ti]
                    packets[skb.packet].nfEvents.append(NFEvent(hook: hook, table: t.id, chain: t.chains[ci].name, kind: .log, handle: rule.handle,
                                                                 rule: nf_log_packet(l, skb, hook: hook, inDev: inDev, outDev: outDev),
                                                                 verdict: l.group.map { "group \($0)" } ?? "level \(l.level ?? "warn")",
                                                                 generated: skb.generated))
                }
            case .setMark(let m):
                skb.mark = m
            case .setCtMark(let m):
                nft_ct_set_mark(m, skb)
            case .setCtEvent(let bits):
                // nft_ct_set_eval NFT_CT_EVENTMASK: the entry's event mask (its ecache extension is
                // there from the start, as with a listener).
                skb.conn?.eventMask = bits
            case .setExpr(let target, let source, let mask, let xor, let shift, let postMask, let postXor):
                // nft_bitwise on the source register (mask and xor, shift, mask and xor), then nft_meta_set / nft_ct_set.
                // `ct mark` without a conntrack entry breaks the rule (nft_ct_get_eval; recorded: ct_mark_untracked_1).
                // An integer key reads as nft_meta_get / nft_ct_get put it in the register: a 64-bit
                // counter's low 32 bits (host order), a key without a value breaking the rule.
                var src: UInt32 = 0
                if let source {
                    guard let v = read(source, skb, info) else { return nil }
                    src = UInt32(truncatingIfNeeded: v)
                }
                var v = (src & mask) ^ xor
                if shift != 0 { v = shift > 0 ? v << UInt32(shift) : v >> UInt32(-shift) }
                nft_meta_set_eval(target, (v & postMask) ^ postXor, skb)
            case .setPayload(let sel, .range6(let a, _, _)):
                guard nft_payload_set_eval6(sel, a, skb, info) else { return nil }
            case .setPayload(let sel, let v):
                guard case .range(let n, _, _) = v, nft_payload_set_eval(sel, n, skb, info) else { return nil }
            case .setPayloadFrom(let sel, let source) where source.isAddress6:
                guard let a = read6(source, skb, info), nft_payload_set_eval6(sel, a, skb, info) else { return nil }
            case .setPayloadFrom(let sel, let source):
                guard let n = read(source, skb, info), nft_payload_set_eval(sel, n, skb, info) else { return nil }
            case .resetTCPOption(let kind):
                guard let stripped = nft_exthdr_tcp_strip_eval(kind, skb, info) else { return nil }
                if !stripped { return .nf(.drop) }
            case .setGenerated(let target, let g):
                guard let v = nft_generate(g, GeneratorKey(table: ti, handle: rule.handle, statement: k), skb, info) else { return nil }
                nft_meta_set_eval(target, v, skb)
            case .dynset(let op, let name, let key, let timeout, let exprs, let data, let values):
                guard let set = netfilter.setIndex(ti, name) else { return nil }
                // A map's data, read before the element is made (nft_dynset's sreg_data).
                var d: UInt64? = nil
                switch data {
                case .value(let v, _)?: d = v
                case .selector(let sel)?: guard let v = read(sel, skb, info) else { return nil }; d = v
                case nil: break
                }
                // Deleting a key the set never numbered: nothing to delete (nft_dynset goes on).
                if op == .delete, set.numbered6 || set.wideSels != nil {
                    let read = set.wideSels != nil ? readWords(key, skb, info, values: values) != nil : key.count == 1 && read6(key[0], skb, info) != nil
                    if read, dynsetKey(key, set, create: false, skb, info, values: values) == nil { continue }
                }
                guard let v = dynsetKey(key, set, create: op != .delete, skb, info, values: values),
                      set.dynset(op, v, timeout: timeout, data: d, now: clocks[skb.cpu]) else { return nil }
                // The element's own expressions, else the set's (nft_dynset_eval runs them on the element found or made).
                let ex = exprs.isEmpty ? set.exprs : exprs
                if !ex.isEmpty, op != .delete, !set.withState(v, ex, { elementEval(ex, &$0, skb) }) { return nil }
            case .meter(let name, _, let key, let timeout, let exprs):
                guard let set = netfilter.setIndex(ti, name), let v = dynsetKey(key, set, create: true, skb, info),
                      set.dynset(.update, v, timeout: timeout, now: clocks[skb.cpu]),
                      set.withState(v, exprs, { elementEval(exprs, &$0, skb) }) else { return nil }
            case .xfrm:
                return nil   // no IPsec state in or out (Xfrm.swift): nft_xfrm_get_eval breaks the rule
            case .rawMatch(let f, let mask, let op, let value):
                guard var v = readField(f, skb, info) else { return nil }
                if let mask { v &= mask }
                if !nft_cmp_eval(op, value, v, ti: ti) { return nil }
            case .tcpOptionRaw(let kind, let off, let len, let op, let value):
                guard let v = readTCPOption((kind, off, len), skb, info), nft_cmp_eval(op, value, v, ti: ti) else { return nil }
            case .rawMatchWide(let f, let negate, let value):
                guard let v = readWide(f, skb, info) else { return nil }
                if (v == value) == negate { return nil }
            case .xtSet(let m):
                if !set_match_v4(m, skb, info) { return nil }
            case .xtSetTarget(let t):
                set_target_v3(t, skb, info)
            case .xtConnlimit(let x):
                // connlimit_mt: nf_conncount over the connections of the (masked) address, this one counted.
                let key = skb.data.be32(skb.networkHeader + (x.daddr ? 16 : 12)) & x.mask
                if !nft_connlimit_eval(x.limit, over: !x.upto, &netfilter.xtConnlimits[ti, default: [:]][rule.handle, default: [:]][key, default: []], skb) {
                    return nil
                }
            case .xtOwner(let x):
                if !owner_mt(x, skb, info) { return nil }
            case .xtRecent(let x):
                if !recent_mt(x, skb, outDev: outDev) { return nil }
            case .xtMultiport(let x):
                // ports_match_v1, either port (the rule's -p gave the transport header; a fragment has none).
                guard let sp = read(Self.thSport, skb, info), let dp = read(Self.thDport, skb, info) else { return nil }
                let hit = x.ranges.contains { $0.contains(UInt16(truncatingIfNeeded: sp)) || $0.contains(UInt16(truncatingIfNeeded: dp)) }
                if hit == x.invert { return nil }
            case .xtConntrack(let x):
                // conntrack_mt's state test: the packet's state bit, or the connection's NAT status bits.
                var hit = x.states & skb.ctInfo.stateBit != 0
                if let c = skb.conn { hit = hit || x.snat && c.status & IPS.srcNAT != 0 || x.dnat && c.status & IPS.dstNAT != 0 }
                if hit == x.invert { return nil }
            case .xtConnmark(let x):
                // connmark_tg_shift (no shift): the masked bits of one mark into the other.
                guard let c = skb.conn else { break }
                if x.save { nft_ct_set_mark((c.mark & ~x.ctmask) ^ (skb.mark & x.nfmask), skb) } else { skb.mark = (skb.mark & ~x.nfmask) ^ (c.mark & x.ctmask) }
            case .xt:
                break   // only in listings: what an iptables rule runs is in its statements
            case .natPortMap(let masq, let key, let entries, let flags):
                // nft_lookup into the redir/masq register; no entry breaks the rule.
                guard let v = read(key, skb, info), let hit = entries.first(where: { contains($0.0, v, ti: ti) }) else { return nil }
                let st: NFStatement = masq ? .masquerade(port: hit.1, portHi: hit.1, flags: flags) : .redirect(port: hit.1, portHi: hit.1, flags: flags)
                if let v = nat(st, hook: hook, skb, outDev: outDev) { return v }
            case .dup(let d) where d.toDevice:
                if let key = d.key {
                    guard let name = mapLookup([key], d.devices, skb, info, inDev: inDev, outDev: outDev, ti: ti) else { return nil }
                    nf_dup_netdev_egress(name, hook: hook, skb, info)
                } else {
                    nf_dup_netdev_egress(d.device ?? "", hook: hook, skb, info)
                }
            case .dup(let d):
                if !nf_dup_ipv4(d, hook: hook, skb, info, ti: ti) { return nil }
            case .tproxy(let x):
                if !nft_tproxy_eval(x, skb, info) { return nil }
            case .setNftrace(let on):
                skb.nftrace = on
                if on, skb.packet >= 0 { packets[skb.packet].nftrace = true }
            case .ctCount(let n, let over):
                // In place: a copy of the list out and back would allocate per packet.
                if !nft_connlimit_eval(n, over: over, &netfilter.connlimits[ti, default: [:]][rule.handle, default: []], skb) { return nil }
            case .setMapped6(let target, let keys, let entries):
                // nft_lookup on the anonymous map, then the address written; no entry ends the rule.
                guard let a = mapLookup(keys, entries, skb, info, inDev: inDev, outDev: outDev, ti: ti),
                      nft_payload_set_eval6(target, a, skb, info) else { return nil }
            case .setMapped(let target, let keys, let entries):
                // nft_lookup on the anonymous map; no entry ends the rule.
                let hit = mapLookup(keys, entries, skb, info, inDev: inDev, outDev: outDev, ti: ti)
                guard let hit else { return nil }
                // A header field (`ether daddr set ip daddr map { ... }`) or a meta/ct key.
                if target.payload != nil {
                    guard nft_payload_set_eval(target, hit, skb, info) else { return nil }
                } else {
                    nft_meta_set_eval(target, UInt32(truncatingIfNeeded: hit), skb)
                }
            case .generatorVmap(let g, let entries):
                guard let v = nft_generate(g, GeneratorKey(table: ti, handle: rule.handle, statement: k), skb, info),
                      let hit = entries.first(where: { contains($0.0, UInt64(v), ti: ti) }) else { return nil }
                if hit.1 != .continue { return .nf(hit.1) }
            case .generatorMatch(let g, let op, let value):
                guard let n = nft_generate(g, GeneratorKey(table: ti, handle: rule.handle, statement: k), skb, info),
                      nft_cmp_eval(op, value, UInt64(n), ti: ti) else { return nil }
            case .setMappedNamed(let target, let key, let map) where target.isAddress6:
                // nft_lookup on a named map of IPv6 addresses; no element ends the rule.
                guard let m = netfilter.dataMaps6[ti]?[map], let pos = mapPosition(m.keys, key, skb, info, inDev: inDev, outDev: outDev, ti: ti),
                      nft_payload_set_eval6(target, m.addrs[pos], skb, info) else { return nil }
            case .setMappedNamed(let target, let key, let map):
                // nft_lookup on the named map; no element ends the rule.
                guard let v = dataMapLookup(ti, map, key, skb, info, inDev: inDev, outDev: outDev) else { return nil }
                if target.payload != nil {
                    guard nft_payload_set_eval(target, v, skb, info) else { return nil }
                } else {
                    nft_meta_set_eval(target, UInt32(truncatingIfNeeded: v), skb)
                }
            case .natMapNamed(let source, let key, let map, let flags, let withPort, true):
                // An IPv6 data map: the element's address (and port) for nat6.
                guard let m = netfilter.dataMaps6[ti]?[map], let pos = mapPosition(m.keys, key, skb, info, inDev: inDev, outDev: outDev, ti: ti) else { return nil }
                let p = withPort ? UInt16(truncatingIfNeeded: m.ports[pos]) : nil
                if let v = nat(.nat6(source: source, addr: m.addrs[pos], addrHi: nil, port: p, portHi: p, flags: flags), hook: hook, skb, outDev: outDev) { return v }
            case .natMapNamed(let source, let key, let map, let flags, let withPort, false):
                guard let d = dataMapLookup(ti, map, key, skb, info, inDev: inDev, outDev: outDev) else { return nil }
                // A map of address . port gives both (the address above the port's 16 bits).
                let a = UInt32(truncatingIfNeeded: withPort ? d >> 16 : d), p = withPort ? UInt16(truncatingIfNeeded: d) : nil
                let st: NFStatement = source ? .snat(addr: a, addrHi: nil, port: p, portHi: p, flags: flags)
                    : .dnat(addr: a, addrHi: nil, port: p, portHi: p, flags: flags)
                if let v = nat(st, hook: hook, skb, outDev: outDev) { return v }
            case .natMap(let m):
                // No entry for the key: nft_lookup breaks the rule.
                let data: NFNATData?
                switch m.key {
                case .selector(let sel): data = mapLookup([sel], m.entries, skb, info, inDev: inDev, outDev: outDev, ti: ti)
                case .concat(let sels): data = mapLookup(sels, m.entries, skb, info, inDev: inDev, outDev: outDev, ti: ti)
                case .generator(let g):
                    guard let n = nft_generate(g, GeneratorKey(table: ti, handle: rule.handle, statement: k), skb, info) else { return nil }
                    data = m.entries.first { contains($0.key, UInt64(n), ti: ti) }?.data
                }
                guard let d = data else { return nil }
                // The data's registers are the range's minimum and maximum address (and port).
                let (a, ah) = (UInt32(truncatingIfNeeded: d.addr), UInt32(truncatingIfNeeded: d.addrHi))
                let st: NFStatement = d.v6 ? .nat6(source: m.source, addr: d.addr, addrHi: d.addrHi, port: d.port, portHi: d.portHi, flags: m.flags)
                    : m.source ? .snat(addr: a, addrHi: ah, port: d.port, portHi: d.portHi, flags: m.flags)
                    : .dnat(addr: a, addrHi: ah, port: d.port, portHi: d.portHi, flags: m.flags)
                if let v = nat(st, hook: hook, skb, outDev: outDev) { return v }
            case .notrack:
                // nft_notrack_eval: a packet conntrack has seen (or with a zone template) is left alone.
                if skb.conn == nil, skb.ctTemplate == nil { skb.ctInfo = .untracked }
            case .verdict(let v):
                return .nf(v)
            case .vmap(let sel, let entries) where sel.isAddress6:
                guard let key = read6(sel, skb, info), let hit = entries.first(where: { contains6($0.0, key, ti: ti) }) else { return nil }
                if hit.1 != .continue { return .nf(hit.1) }
            case .vmap(let sel, let entries) where sel.isString:
                guard let name = readName(sel, skb, info, inDev: inDev, outDev: outDev),
                      let hit = entries.first(where: { Stack.nameMatches($0.0, name) }) else { return nil }
                if hit.1 != .continue { return .nf(hit.1) }
            case .vmap(let sel, let entries):
                guard let key = read(sel, skb, info) else { return nil }
                guard let hit = entries.first(where: { contains($0.0, key, ti: ti) }) else { return nil }
                if hit.1 != .continue { return .nf(hit.1) }
            case .matchOr(let sel, let o, let op, let value):
                guard let v = read(sel, skb, info) else { return nil }
                if contains(value, v | o, ti: ti) == (op == .ne) { return nil }
            case .concatMatch(let sels, let op, let value):
                if tupleMatches(value, sels, skb, info, inDev: inDev, outDev: outDev, ti: ti) == (op == .ne) { return nil }
            case .concatVmap(let sels, let entries):
                guard let hit = entries.first(where: { tupleMatches($0.0, sels, skb, info, inDev: inDev, outDev: outDev, ti: ti) }) else { return nil }
                if hit.1 != .continue { return .nf(hit.1) }
            case .concatVmapNamed(let sels, let name):
                guard let vs = netfilter.concatSets[ti]?[name]?.verdicts,
                      let k = concatLookup(ti, name, sels, skb, info, inDev: inDev, outDev: outDev) else { return nil }
                if vs[k] != .continue { return .nf(vs[k]) }
            case .vmapNamed(let sel, let name):
                guard let m = netfilter.maps[ti]?[name],
                      let pos = mapPosition(m.keys, [sel], skb, info, inDev: inDev, outDev: outDev, ti: ti) else { return nil }
                if m.verdicts[pos] != .continue { return .nf(m.verdicts[pos]) }
            case .reject(let rst, let code, let icmpx):
                let family = netfilter.ruleset.tables[ti].family
                if info.ipv6 {
                    // nft_reject_inet_eval / nft_reject_ipv6_eval: icmpx codes map to ICMPv6 ones; an
                    // inet `reject with icmp` carries `meta nfproto ipv4` and does not apply.
                    if rst {
                        guard info.proto == IPProtocol.tcp else { return nil }
                        tcp_v6_send_reset(skb, fromReject: true)
                    } else {
                        guard icmpx || family == .ip6 else { return nil }
                        let code6: UInt8 = switch code { case 0: 0; case 1: 3; case 13: 1; default: 4 }
                        icmp6_send(skb, type: ICMPv6Repr.destUnreachable, code: code6)
                    }
                    return .rejected
                }
                if rst {
                    guard info.ipv4, info.proto == IPProtocol.tcp else { return nil }
                    tcp_v4_send_reset(skb, fromReject: true)
                } else {
                    guard info.ipv4 else { return nil }
                    icmp_send(skb, type: ICMPv4Repr.destUnreachable, code: code)
                }
                return .rejected
            case .rejectICMPv6(let code):
                // `meta nfproto ipv6` in inet; an ip6 table sees nothing else.
                guard info.ipv6 else { return nil }
                icmp6_send(skb, type: ICMPv6Repr.destUnreachable, code: code)
                return .rejected
            case .snat, .dnat, .nat6, .masquerade, .redirect:
                if let v = nat(s, hook: hook, skb, outDev: outDev) { return v }
            }
        }
        return .nf(.continue)
    }

    /// `struct nft_pktinfo`: what `nft_set_pktinfo_ipv4` works out once per hook, so each
    /// expression reads its field without re-parsing the headers.
    struct PktInfo {
        var ipv4 = false
        /// `nft_set_pktinfo_ipv6`: the transport header and protocol found past the extension
        /// headers (`ipv6_find_hdr`); a later fragment's protocol is its fragment header's next header.
        var ipv6 = false
        var nh = 0, th = 0, len = 0
        var proto: UInt8 = 0
        var fragOff = 0
        var inDev: Int?, outDev: Int?
        /// The hook: whether the packet has a route yet (`skb_dst`) depends on it.
        var hook: NFHook = .ingress
        init(_ skb: SkBuff, hook: NFHook = .ingress, inDev: Int? = nil, outDev: Int? = nil) {
            self.inDev = inDev; self.outDev = outDev; self.hook = hook
            let b = skb.data
            nh = skb.networkHeader
            len = skb.len
            if skb.protocolType == EtherType.ipv6 {
                guard b.count >= nh + 40, b[nh] >> 4 == 6, let l4 = ipv6_skip_exthdr(b, from: nh, end: len) else { return }
                ipv6 = true
                th = l4.offset; proto = l4.proto; fragOff = l4.fragOff
                return
            }
            guard skb.protocolType == EtherType.ipv4, skb.len >= nh + 20, b[nh] >> 4 == 4 else { return }
            ipv4 = true
            th = nh + Int(b[nh] & 0x0f) * 4
            proto = b[nh + 9]
            fragOff = Int(b.be16(nh + 6) & 0x1fff)
        }
    }

    /// The socket nft_meta finds for the packet: its sender's, or at input what
    /// `owner_mt`: no socket passes only where every test asked for is negated; a kernel socket (no
    /// file) only where the id tests are; a process's socket has user and group 0.
    private func owner_mt(_ x: NFXtOwner, _ skb: SkBuff, _ p: PktInfo) -> Bool {
        let asked = (x.uid != nil, x.gid != nil, x.socketExists), negated = (x.invertUID, x.invertGID, x.invertSocket)
        switch skOwner(skb, p) {
        case .none:
            return (!asked.0 || negated.0) && (!asked.1 || negated.1) && (!asked.2 || negated.2)
        case .fullSock:
            if asked.2 && negated.2 { return false }
            return (!asked.0 || negated.0) && (!asked.1 || negated.1)
        case .process:
            if asked.2 && negated.2 { return false }
            if let u = x.uid, u.contains(0) == negated.0 { return false }
            if let g = x.gid, g.contains(0) == negated.1 { return false }
            return true
        }
    }

    /// `tcp_v4_early_demux` / `udp_v4_early_demux` (and v6) found in ip_rcv_finish: the socket of a
    /// received segment's connection (a request sock standing for its listener), or a connected
    /// UDP socket of the datagram's four-tuple.
    private func skOwner(_ skb: SkBuff, _ p: PktInfo) -> SkOwner {
        guard skb.skOwner == .none, p.hook == .input, p.ipv4 || p.ipv6, p.fragOff == 0, p.len >= p.th + 4, skb.pktType == .host else { return skb.skOwner }
        let b = skb.data, sport = b.be16(p.th), dport = b.be16(p.th + 2)
        let src6 = p.ipv6 ? IPv6Address(array: b, at: p.nh + 8) : .mapped(IPv4Address(raw: b.be32(p.nh + 12)))
        let dst6 = p.ipv6 ? IPv6Address(array: b, at: p.nh + 24) : .mapped(IPv4Address(raw: b.be32(p.nh + 16)))
        switch p.proto {
        case IPProtocol.tcp:
            return sockets.conn(TCPKey(local6: dst6, lport: dport, remote6: src6, rport: sport))?.skOwner ?? .none
        case IPProtocol.udp:
            let s = p.ipv6 ? sockets.lookup6(.udp, dst: dst6, port: dport, src: src6, sport: sport)
                : sockets.lookup(.udp, dst: dst6.embeddedV4, port: dport, src: src6.embeddedV4, sport: sport)
            guard let s, s.config.connected, s.config.peerPort == sport,
                  p.ipv6 ? s.config.peer6 == src6 : s.config.peer == src6.embeddedV4 else { return .none }
            return .process
        default: return .none
        }
    }

    /// `nft_lookup` on an anonymous map: the data of the element the packet's key finds (an
    /// interface name, an IPv6 address, an integer, or a concatenation of them), if any.
    private func mapLookup<T>(_ keys: [NFSelector], _ entries: [(NFValue, T)], _ skb: SkBuff, _ p: PktInfo,
                              inDev: Int?, outDev: Int?, ti: Int) -> T? {
        guard keys.count == 1 else { return entries.first { tupleMatches($0.0, keys, skb, p, inDev: inDev, outDev: outDev, ti: ti) }?.1 }
        if keys[0].isString {
            guard let name = readName(keys[0], skb, p, inDev: inDev, outDev: outDev) else { return nil }
            return entries.first { Stack.nameMatches($0.0, name) }?.1
        }
        if keys[0].isAddress6 {
            guard let v = read6(keys[0], skb, p) else { return nil }
            return entries.first { contains6($0.0, v, ti: ti) }?.1
        }
        guard let v = read(keys[0], skb, p) else { return nil }
        return entries.first { contains($0.0, v, ti: ti) }?.1
    }

    /// The value a selector reads, as an integer (interface names are matched apart).
    func read(_ sel: NFSelector, _ skb: SkBuff, _ p: PktInfo) -> UInt64? {
        // At ingress anything may arrive: without a whole IPv4 header only meta and ct keys read.
        switch sel {
        case .mark: return UInt64(skb.mark)
        case .length: return UInt64(p.ipv4 || p.ipv6 ? p.len - p.nh + (skb.dataAtMAC ? 14 : 0) : p.len)
        case .pkttype:
            switch skb.pktType { case .host: return 0; case .broadcast: return 1; case .multicast: return 2; case .otherhost: return 3; case .loopback: return 5 }
        case .nfproto: return p.ipv6 ? 10 : 2
        case .ctState: return skb.ctInfo.stateBit
        case .ctStatus: return skb.conn.map { UInt64($0.status) }
        case .ctMark: return skb.conn.map { UInt64($0.mark) }
        case .ctDirection: return skb.conn == nil ? nil : (skb.ctInfo == .reply || skb.ctInfo == .relatedReply ? 1 : 0)
        case .iif, .oif, .iifname, .oifname: return nil   // strings: readName
        case .cpu: return UInt64(skb.cpu)
        // Every model device is an Ethernet device (ARPHRD_ETHER) but lo (ARPHRD_LOOPBACK, 772),
        // in the default group 0.
        case .iifgroup: return p.inDev == nil ? nil : 0
        case .oifgroup: return p.outDev == nil ? nil : 0
        case .iiftype: return p.inDev.map { devices[$0].isLoopback ? 772 : 1 }
        case .oiftype: return p.outDev.map { devices[$0].isLoopback ? 772 : 1 }
        // nft_meta_get_eval_skugid: the owner of skb_to_full_sk(skb) when a process holds it open
        // (root here: 0); none for forwarded packets, the kernel's own replies, orphans and
        // TIME-WAIT, nor on the way in before early demux found the socket (input hook only).
        case .skuid, .skgid: return skOwner(skb, p) == .process ? 0 : nil
        // nft_meta_get_eval_cgroup: a full socket's net_cls class (none here: 0), the kernel's own too.
        case .cgroup: return skOwner(skb, p) != .none ? 0 : nil
        case .metaProtocol: return UInt64(skb.protocolType)
        case .priority: return UInt64(skb.priority)
        case .random: return random.next() & 0xffff_ffff
        // The real-time clock is the virtual clock from the stack's epoch, in UTC.
        case .time: return config.epochNs &+ clocks[skb.cpu]
        case .day: return ((config.epochNs &+ clocks[skb.cpu]) / 86_400_000_000_000 + 4) % 7
        case .hour: return (config.epochNs &+ clocks[skb.cpu]) / 1_000_000_000 % 86400
        // nft_ct_get_eval: the tuples of the entry, its time left in ms, its zone.
        case .ctOrigSaddr: return skb.conn.flatMap { $0.orig.v6 ? nil : UInt64($0.orig.src4) }
        case .ctOrigDaddr: return skb.conn.flatMap { $0.orig.v6 ? nil : UInt64($0.orig.dst4) }
        case .ctReplySaddr: return skb.conn.flatMap { $0.orig.v6 ? nil : UInt64($0.reply.src4) }
        case .ctReplyDaddr: return skb.conn.flatMap { $0.orig.v6 ? nil : UInt64($0.reply.dst4) }
        case .ctOrigProtoSrc: return skb.conn.map { UInt64($0.orig.sport) }
        case .ctOrigProtoDst: return skb.conn.map { UInt64($0.orig.dport) }
        case .ctReplyProtoSrc: return skb.conn.map { UInt64($0.reply.sport) }
        case .ctReplyProtoDst: return skb.conn.map { UInt64($0.reply.dport) }
        case .ctProtocol: return skb.conn.map { UInt64($0.orig.proto) }
        case .ctL3proto: return skb.conn.map { $0.orig.v6 ? 10 : 2 }
        // Before confirmation the kernel's ct->timeout is still relative, so nf_ct_expires reads 0.
        case .ctExpiration:
            return skb.conn.map { $0.status & IPS.confirmed == 0 || $0.expires <= clocks[skb.cpu] ? 0 : ($0.expires - clocks[skb.cpu]) / 1_000_000 }
        // nft_ct_get_eval reads the entry's zone, or a template's before conntrack ran.
        // (`ct zone` without a direction is zone->id, whatever directions it covers: ct_zones_1.)
        case .ctZone: return (skb.conn?.zone ?? skb.ctTemplate).map { UInt64($0.id) }
        case .ctOrigZone: return (skb.conn?.zone ?? skb.ctTemplate).map { UInt64($0.id(reply: false)) }
        case .ctReplyZone: return (skb.conn?.zone ?? skb.ctTemplate).map { UInt64($0.id(reply: true)) }
        case .ctLabel: return nil   // a bitmap: `ct label N` is a bit test (evalRule)
        case NFSelector.ctID: return skb.conn.map { UInt64($0.ctID) }
        // (One range test: the common keys above and below do not pay a compare for each of these.)
        case _ where NFSelector.metaExtraIDs.contains(sel.id):
            // NFT_META_RTCLASSID: the route's realm; no route before routing breaks the rule, and the
            // model's routes have no realm (0, "cosmos").
            if sel == .metaRtclassid { return p.hook == .ingress || p.hook == .prerouting ? nil : 0 }
            return sel == .metaIPsec ? secpath_exists(skb) : nil
        case _ where sel.isFib: return p.ipv6 ? nft_fib6_eval(sel, skb, p) : nft_fib4_eval(sel, skb, p)
        case _ where sel.isRoute: return nft_rt_get_eval(sel, skb, p)
        case _ where sel.isSocket: return nft_socket_eval(sel, skb, p)
        // nft_ct_get_eval: NFT_CT_BYTES, PKTS, AVGPKT of both directions, the original or the
        // reply; a connection made while accounting was off reads 0.
        case _ where sel.isCtAccounting:
            guard let c = skb.conn else { return nil }
            let k = sel.id - 66, dir: Bool? = k < 3 ? nil : k >= 6
            guard let a = c.acct else { return 0 }
            switch k % 3 {
            case 0: return a.bytes(dir)
            case 1: return a.packets(dir)
            default:
                let n = a.packets(dir)
                return n == 0 ? 0 : a.bytes(dir) / n
            }
        default: break
        }
        guard p.ipv4 || p.ipv6 else { return sel.payload.map { $0.base == .link || $0.arp } ?? false ? readPayload(sel, skb, p) : nil }
        let b = skb.data, nh = p.nh, th = p.th
        if p.ipv6 {
            switch sel {
            case .l4proto: return UInt64(p.proto)
            case .ipSaddr, .ipDaddr, .ipProtocol, .ipTTL, .ipLength, .ipFragOff, .ipID, .ipDSCP, .ipVersion, .ipHdrLength: return nil
            default: break
            }
        }
        func l4(_ off: Int, _ size: Int, _ want: UInt8?) -> UInt64? {
            if let want, p.proto != want { return nil }
            guard p.fragOff == 0, p.len >= th + off + size else { return nil }
            return size == 1 ? UInt64(b[th + off]) : size == 2 ? UInt64(b.be16(th + off)) : UInt64(b.be32(th + off))
        }
        switch sel {
        case .ipSaddr: return UInt64(b.be32(nh + 12))
        case .ipDaddr: return UInt64(b.be32(nh + 16))
        case .ipProtocol, .l4proto: return UInt64(p.proto)
        case .ipTTL: return UInt64(b[nh + 8])
        case .ipLength: return UInt64(b.be16(nh + 2))
        case .ipFragOff: return UInt64(b.be16(nh + 6))
        case .ipID: return UInt64(b.be16(nh + 4))
        case .ipDSCP: return UInt64(b[nh + 1] >> 2)
        case .ipVersion: return UInt64(b[nh] >> 4)
        case .ipHdrLength: return UInt64(b[nh] & 0x0f)
        case .tcpSport: return l4(0, 2, IPProtocol.tcp)
        case .tcpDport: return l4(2, 2, IPProtocol.tcp)
        case .tcpSeq: return l4(4, 4, IPProtocol.tcp)
        case .tcpAck: return l4(8, 4, IPProtocol.tcp)
        case .tcpFlags: return l4(13, 1, IPProtocol.tcp)
        case .tcpWindow: return l4(14, 2, IPProtocol.tcp)
        case .udpSport: return l4(0, 2, IPProtocol.udp)
        case .udpDport: return l4(2, 2, IPProtocol.udp)
        case .udpLength: return l4(4, 2, IPProtocol.udp)
        case .thSport: return p.proto == IPProtocol.tcp || p.proto == IPProtocol.udp ? l4(0, 2, nil) : nil
        case .thDport: return p.proto == IPProtocol.tcp || p.proto == IPProtocol.udp ? l4(2, 2, nil) : nil
        case .icmpType: return l4(0, 1, IPProtocol.icmp)
        case .icmpCode: return l4(1, 1, IPProtocol.icmp)
        case .icmpID: return l4(4, 2, IPProtocol.icmp)
        case .icmpSeq: return l4(6, 2, IPProtocol.icmp)
        case _ where sel.isAddress6: return nil   // 128 bits: read6
        // nft's dependency for them: the message type they exist in.
        case NFSelector.icmpMTU, NFSelector.icmpGateway, NFSelector.icmpv6MTU, NFSelector.icmpv6MaxDelay:
            guard let dep = sel.icmpDependency, l4(0, 1, dep.type == .icmpType ? IPProtocol.icmp : IPProtocol.icmpv6) == dep.types[0] else { return nil }
            return readPayload(sel, skb, p)
        default: return readPayload(sel, skb, p)
        }
    }

    /// The 128-bit fields (IPv6 addresses; nil when the packet is not IPv6), and raw bits wider
    /// than 64 (on byte boundaries: the parser sees to it).
    func read6(_ sel: NFSelector, _ skb: SkBuff, _ p: PktInfo) -> UInt128? {
        if let f = sel.rawField { return readWide(f, skb, p) }
        guard p.ipv6 else { return nil }
        switch sel {
        case .ip6Saddr: return IPv6Address(array: skb.data, at: p.nh + 8).raw
        case .ip6Daddr: return IPv6Address(array: skb.data, at: p.nh + 24).raw
        // nft_ct_get_eval: the IPv6 tuples of the packet's connection.
        case .ctOrigSaddr6: return skb.conn.flatMap { $0.orig.v6 ? $0.orig.src : nil }
        case .ctOrigDaddr6: return skb.conn.flatMap { $0.orig.v6 ? $0.orig.dst : nil }
        case .ctReplySaddr6: return skb.conn.flatMap { $0.orig.v6 ? $0.reply.src : nil }
        case .ctReplyDaddr6: return skb.conn.flatMap { $0.orig.v6 ? $0.reply.dst : nil }
        default: return nil
        }
    }

    /// `nft_exthdr` over SCTP chunks (after the 12-byte common header, each padded to 4 bytes):
    /// presence reads 1 or 0, a field the bits at its offset in the first chunk of that type.
    private func readSCTPChunk(_ c: (kind: UInt8, bitOffset: Int, bitLength: Int), _ skb: SkBuff, _ p: PktInfo) -> UInt64? {
        guard p.proto == 132, p.fragOff == 0 else { return nil }
        let b = skb.data
        var off = p.th + 12
        while off + 4 <= p.len {
            let len = Int(b.be16(off + 2))
            if b[off] == c.kind {
                if c.bitLength == 0 { return 1 }
                let first = off + c.bitOffset / 8, last = off + (c.bitOffset + c.bitLength + 7) / 8
                guard last <= min(p.len, off + max(len, 4)) else { return nil }
                var v: UInt64 = 0
                for k in first..<last { v = v << 8 | UInt64(b[k]) }
                return (v >> UInt64((last - off) * 8 - c.bitOffset - c.bitLength)) & ((1 << UInt64(c.bitLength)) - 1)
            }
            guard len >= 4 else { break }
            off += (len + 3) & ~3
        }
        return c.bitLength == 0 ? 0 : nil
    }

    /// `nft_exthdr_ipv6_eval`: `ipv6_find_hdr` for the header type; presence reads 1 or 0, a field
    /// the bits at its offset (nothing when the header is absent). The rule's `meta nfproto ipv6`
    /// dependency fails for anything but IPv6.
    private func nft_exthdr_ipv6_eval(_ e: (kind: UInt8, bitOffset: Int, bitLength: Int), _ skb: SkBuff, _ p: PktInfo) -> UInt64? {
        guard p.ipv6 else { return nil }
        guard let off = ipv6_find_hdr(skb.data, nh: p.nh, end: p.len, target: e.kind) else { return e.bitLength == 0 ? 0 : nil }
        if e.bitLength == 0 { return 1 }
        let first = off + e.bitOffset / 8, last = off + (e.bitOffset + e.bitLength + 7) / 8
        guard last <= p.len else { return nil }
        var v: UInt64 = 0
        for k in first..<last { v = v << 8 | UInt64(skb.data[k]) }
        return (v >> UInt64((last - off) * 8 - e.bitOffset - e.bitLength)) & ((1 << UInt64(e.bitLength)) - 1)
    }

    /// `nft_exthdr_ipv4_eval`: an IPv4 packet's option (`ipv4_find_option`); presence reads 1 or 0
    /// (0 too when the options are invalid), a field the bytes at its offset from the option's
    /// start; anything but IPv4 breaks the rule.
    private func nft_exthdr_ipv4_eval(_ o: (kind: UInt8, bitOffset: Int, bitLength: Int), _ skb: SkBuff, _ p: PktInfo) -> UInt64? {
        guard skb.protocolType == EtherType.ipv4 else { return nil }
        let found = Stack.ipv4_find_option(skb.data, nh: p.nh, end: p.len, target: o.kind)
        if o.bitLength == 0 { return found == nil ? 0 : 1 }
        guard let at = found else { return nil }
        let first = p.nh + at + o.bitOffset / 8, last = first + o.bitLength / 8
        guard last <= p.len else { return nil }
        var v: UInt64 = 0
        for k in first..<last { v = v << 8 | UInt64(skb.data[k]) }
        return v
    }

    /// `nft_fib6_eval` / `nft_fib6_eval_type`: the same over FIB6; a link-local address is looked up
    /// on the packet's device; `type` is local, anycast (subnet-router), multicast, unicast or,
    /// without a route, unreachable.
    func nft_fib6_eval(_ sel: NFSelector, _ skb: SkBuff, _ p: PktInfo) -> UInt64? {
        let f = sel.fibLookup
        let addr = IPv6Address(array: skb.data, at: p.nh + (f.saddr ? 8 : 24))
        let dev = p.inDev ?? p.outDev
        // The flow nft_fib6_flowi_init builds for the policy rules: from lo, from the other
        // address (RT6_LOOKUP_F_HAS_SADDR but for a saddr lookup at prerouting), the mark with `. mark`.
        let other = IPv6Address(array: skb.data, at: p.nh + (f.saddr ? 24 : 8))
        let src = !f.saddr || p.hook != .prerouting ? other : nil
        let mark = sel.fibMark ? skb.mark : 0
        if f.result == .type {
            if addr.isMulticast { return 5 }   // RTN_MULTICAST
            guard let route = fib6.lookup(addr, dev: dev, src: src, mark: mark) else { return 7 }
            if route.type == .local { return fib6.isAssigned(addr) ? 2 : 4 }   // RTN_LOCAL, RTN_ANYCAST
            return route.type == .unreachable ? 7 : 1
        }
        let scoped = f.iif ? p.inDev : (addr.isLinkLocal ? dev : nil)
        // A local (or anycast) route is no interface's (RTF_LOCAL: "should not see" it, nft_fib6_eval says).
        guard let route = fib6.lookup(addr, dev: scoped, src: src, mark: mark), route.type != .local, route.type != .unreachable else { return 0 }
        if f.iif, route.dev != p.inDev { return 0 }
        return UInt64(route.dev + 2)
    }

    /// `nft_fib4_eval`: look the address up in the FIB. `oif` is the interface the route leads
    /// out of (the model numbers them from 2, after lo), 0 without a route or for a local one, or
    /// (with `. iif`) when it is not the one the packet came in on (`oifname` reads the same
    /// interface, StringKeys names it); `type` is the route type (RTN_*).
    func nft_fib4_eval(_ sel: NFSelector, _ skb: SkBuff, _ p: PktInfo) -> UInt64? {
        guard p.ipv4 else { return nil }
        let f = sel.fibLookup
        let addr = IPv4Address(raw: skb.data.be32(p.nh + (f.saddr ? 12 : 16)))
        // The flow nft_fib4_eval builds: from the other address (get_saddr: none for a zeronet,
        // multicast or broadcast one), from lo, with the mark when `. mark` asks.
        let other = IPv4Address(raw: skb.data.be32(p.nh + (f.saddr ? 16 : 12)))
        let src: IPv4Address = other.isMulticast || other.isZeronet || other == .broadcast ? .any : other
        let route = fib.lookup(addr, src: src, mark: sel.fibMark ? skb.mark : 0)
        if f.result == .type {
            guard let route else { return 7 }   // RTN_UNREACHABLE
            switch route.type {
            case .unicast: return 1
            case .local: return 2
            case .broadcast: return 3
            case .unreachable: return 7
            }
        }
        // RTN_LOCAL ("should not see RTN_LOCAL here") stores no interface, as unreachable does not.
        guard let route, route.type != .unreachable, route.type != .local else { return 0 }
        if f.iif, route.dev != p.inDev { return 0 }
        return UInt64(route.dev + 2)
    }

    /// `nft_exthdr_tcp_eval`: walk the TCP options for `kind`; presence reads 1 or 0, a field the
    /// bits at its offset inside the option (nothing when the option is absent or too short).
    private func readTCPOption(_ o: (kind: UInt8, bitOffset: Int, bitLength: Int), _ skb: SkBuff, _ p: PktInfo) -> UInt64? {
        guard p.proto == IPProtocol.tcp, p.fragOff == 0, p.len >= p.th + 20 else { return nil }
        let b = skb.data
        let end = min(p.len, p.th + Int(b[p.th + 12] >> 4) * 4)
        var i = p.th + 20
        while i < end {
            let kind = b[i]
            let len = kind <= 1 ? 1 : (i + 1 < end ? Int(b[i + 1]) : 0)
            if kind == o.kind {
                if o.bitLength == 0 { return 1 }
                let first = i + o.bitOffset / 8, last = i + (o.bitOffset + o.bitLength + 7) / 8
                guard last <= min(end, i + len) || (kind <= 1 && last <= i + 1) else { return nil }
                var v: UInt64 = 0
                for k in first..<last { v = v << 8 | UInt64(b[k]) }
                return (v >> UInt64((last - i) * 8 - o.bitOffset - o.bitLength)) & ((1 << UInt64(o.bitLength)) - 1)
            }
            if kind == 0 { break }
            guard len >= 1 else { break }
            i += len
        }
        return o.bitLength == 0 ? 0 : nil
    }

    /// `nft_payload_eval` for a header field of the selector table: `bitLength` bits at `bitOffset`
    /// from the network or transport header; nothing when the packet is another protocol, a later
    /// fragment, or too short.
    private func readPayload(_ sel: NFSelector, _ skb: SkBuff, _ p: PktInfo) -> UInt64? {
        if let o = sel.tcpOption { return readTCPOption(o, skb, p) }
        if let c = sel.sctpChunk { return readSCTPChunk(c, skb, p) }
        if let e = sel.exthdr { return nft_exthdr_ipv6_eval(e, skb, p) }
        if let o = sel.ipOption { return nft_exthdr_ipv4_eval(o, skb, p) }
        guard let f = sel.payload else { return nil }
        return readField(f, skb, p)
    }

    /// Raw bits wider than 64 (on byte boundaries): two reads, the high part, then the rest.
    func readWide(_ f: NFPayloadField, _ skb: SkBuff, _ p: PktInfo) -> UInt128? {
        var high = f, low = f
        high.bitLength = f.bitLength - 64
        low.bitOffset = f.bitOffset + high.bitLength
        low.bitLength = 64
        guard let hi = readField(high, skb, p), let lo = readField(low, skb, p) else { return nil }
        return UInt128(hi) << 64 | UInt128(lo)
    }

    /// Where the MAC header starts, and the bytes of a VLAN tag the stack took off to skip past the
    /// addresses (nft_payload_copy_vlan puts the tag back only at ingress); nil where there is none
    /// yet: the stack's own packets get theirs in `__dev_queue_xmit` (netdev egress reads it there).
    func macHeader(_ skb: SkBuff, _ p: PktInfo) -> (base: Int, skip: Int)? {
        guard p.nh >= 14, !skb.generated || skb.macHeaderSet else { return nil }
        if p.hook == .egress { return (p.nh - 14, 0) }
        return (0, skb.vlanID != nil && p.nh >= 18 && p.hook != .ingress ? 4 : 0)
    }

    /// `nft_payload_eval`: `bitLength` bits at `bitOffset` from the field's base, nil when the packet
    /// has no such header or is too short (the rule breaks).
    func readField(_ f: NFPayloadField, _ skb: SkBuff, _ p: PktInfo) -> UInt64? {
        // IPv6 header fields carry nft's `meta nfproto ipv6` dependency, IPv4's `meta nfproto ipv4`;
        // ARP's, the frame's protocol.
        if f.base == .network && (f.ipv6 ? !p.ipv6 : p.ipv6) { return nil }
        if f.arp, skb.protocolType != EtherType.arp { return nil }
        if let want = f.l4proto, p.proto != want { return nil }
        let base: Int
        // A VLAN tag the stack took off (skb_vlan_untag) is in the header nft reads only at
        // ingress (nft_payload_copy_vlan puts it back); later hooks see the frame without it.
        var hiddenTag = false
        switch f.base {
        case .link:
            guard let (b, skip) = macHeader(skb, p) else { return nil }
            base = b
            hiddenTag = skip != 0
            // The vlan fields' dependency: `ether type 8021q`.
            if f.bitOffset >= 112, (hiddenTag ? skb.data.be16(base + 16) : skb.data.be16(base + 12)) != EtherType.vlan { return nil }
        case .network: base = p.nh
        case .transport:
            guard p.fragOff == 0 else { return nil }
            base = p.th
        case .inner:
            // nft_payload_inner_offset: past a UDP header, or a TCP one and its options; other
            // protocols and later fragments have no inner header.
            guard p.fragOff == 0 else { return nil }
            if p.proto == IPProtocol.udp { base = p.th + 8 }
            else if p.proto == IPProtocol.tcp, p.th + 13 <= p.len { base = p.th + Int(skb.data[p.th + 12] >> 4) * 4 }
            else { return nil }
        }
        let first = base + f.bitOffset / 8, last = base + (f.bitOffset + f.bitLength + 7) / 8
        let skip = hiddenTag && last - base > 12 ? 4 : 0
        guard last + skip <= p.len else { return nil }
        var v: UInt64 = 0
        for k in first..<last { v = v << 8 | UInt64(skb.data[k - base >= 12 ? k + skip : k]) }
        let shift = (last - base) * 8 - f.bitOffset - f.bitLength
        return (v >> UInt64(shift)) & (f.bitLength >= 64 ? .max : (1 << UInt64(f.bitLength)) - 1)
    }

    /// `nft_cmp_eval` / `nft_lookup_eval` for a value a statement computed (a generated number, raw
    /// payload bits): equality and `!=` against a value, range or set, or an ordering against a value.
    func nft_cmp_eval(_ op: NFOp, _ value: NFValue, _ v: UInt64, ti: Int) -> Bool {
        let bound = if case .range(let lo, _, _) = value { lo } else { UInt64(0) }
        return switch op {
        case .implicit, .eq: contains(value, v, ti: ti)
        case .ne: !contains(value, v, ti: ti)
        case .lt: v < bound
        case .gt: v > bound
        case .le: v <= bound
        case .ge: v >= bound
        }
    }

    /// Interval or hash lookup of a value in a range, an anonymous set or a named set.
    func contains(_ value: NFValue, _ v: UInt64, ti: Int) -> Bool {
        switch value {
        case .range(let lo, let hi, _): return v >= lo && v <= hi
        case .set(let vs): return vs.contains { contains($0, v, ti: ti) }
        case .named(let n): return netfilter.setIndex(ti, n)?.lookup(v, now: clockNs) ?? false
        // 128-bit values are matched by contains6 (against read6), never against a 64-bit read.
        case .string, .tuple, .range6: return false
        // Any key: the parser puts the catch-all after every other element, so it is the fallback.
        case .catchAll: return true
        }
    }

    /// An IPv6 address in an address, prefix or range, an anonymous set of them, or a named set.
    func contains6(_ value: NFValue, _ v: UInt128, ti: Int) -> Bool {
        switch value {
        case .range6(let lo, let hi, _): return v >= lo && v <= hi
        case .set(let vs): return vs.contains { contains6($0, v, ti: ti) }
        case .named(let n): return netfilter.setIndex(ti, n)?.contains6(v, now: clockNs) ?? false
        case .catchAll: return true
        default: return false
        }
    }

    /// The first element of a named concatenated set or map the packet's key matches: the hashed
    /// exact tuples (ConcatIndex) at one read of the key, then the others in order before it.
    func concatLookup(_ ti: Int, _ name: String, _ sels: [NFSelector], _ skb: SkBuff, _ info: PktInfo, inDev: Int?, outDev: Int?) -> Int? {
        guard let m = netfilter.concatSets[ti]?[name] else { return nil }
        return concatLookup(ti, m.elements, netfilter.concatIndex[ti]?[name], sels, skb, info, inDev: inDev, outDev: outDev)
    }

    /// The first of `elements` the packet's tuple is in: by the exact tuples' hash, then the ranged ones in order.
    func concatLookup(_ ti: Int, _ elements: [NFValue], _ index: ConcatIndex?, _ sels: [NFSelector], _ skb: SkBuff, _ info: PktInfo,
                      inDev: Int?, outDev: Int?) -> Int? {
        guard classifier, let idx = index else {
            return elements.firstIndex { tupleMatches($0, sels, skb, info, inDev: inDev, outDev: outDev, ti: ti) }
        }
        var best: Int? = nil
        if !idx.exact.isEmpty, sels.count <= 4, !sels.contains(where: \.isString) {
            var key = ConcatIndex.Key()
            var readable = true
            for (k, sel) in sels.enumerated() {
                guard let v = read(sel, skb, info) else { readable = false; break }
                switch k { case 0: key.a = v; case 1: key.b = v; case 2: key.c = v; default: key.d = v }
            }
            if readable { best = idx.exact[key] }
        }
        for k in idx.others {
            if let b = best, k > b { break }
            if tupleMatches(elements[k], sels, skb, info, inDev: inDev, outDev: outDev, ti: ti) { return k }
        }
        return best
    }

    /// `nft_socket_eval`: the packet's socket: its own (what a socket sends, or what tproxy
    /// assigned), else nf_sk_lookup_slow_v4's (a connection by its four-tuple, then a listener or
    /// bound socket); none breaks the rule, as does mark or wildcard on a socket that is not full
    /// (a request or TIME-WAIT sock). transparent is IP_TRANSPARENT (a connection's: its
    /// listener's); sockets carry no SO_MARK, so mark reads 0; wildcard is a socket bound to
    /// 0.0.0.0 (or ::).
    func nft_socket_eval(_ sel: NFSelector, _ skb: SkBuff, _ p: PktInfo) -> UInt64? {
        let found: AssignedSock
        if let sk = skb.sock {
            found = .sock(sk)
        } else if let a = skb.assignedSock {
            found = a
        } else if let c = sockets.conn(serial: skb.tcpSerial) {
            found = .conn(c)
        } else {
            guard p.ipv4 || p.ipv6, p.fragOff == 0, p.len >= p.th + 4 else { return nil }
            let b = skb.data
            let sport = b.be16(p.th), dport = b.be16(p.th + 2)
            let key = p.ipv4 ? TCPKey(local: IPv4Address(raw: b.be32(p.nh + 16)), lport: dport, remote: IPv4Address(raw: b.be32(p.nh + 12)), rport: sport)
                : TCPKey(local6: IPv6Address(array: b, at: p.nh + 24), lport: dport, remote6: IPv6Address(array: b, at: p.nh + 8), rport: sport)
            func lookup(_ proto: SocketConfig.Proto) -> Sock? {
                p.ipv4 ? sockets.lookup(proto, dst: key.local4, port: dport, src: proto == .udp ? key.remote4 : .any, sport: proto == .udp ? sport : 0, dev: skb.dev)
                    : sockets.lookup6(proto, dst: key.local, port: dport, src: proto == .udp ? key.remote : .any, sport: proto == .udp ? sport : 0, dev: skb.dev)
            }
            switch p.proto {
            case IPProtocol.tcp:
                if let c = sockets.conn(key) {
                    found = .conn(c)
                } else if let sk = lookup(.tcp) {
                    found = .sock(sk)
                } else { return nil }
            case IPProtocol.udp:
                guard let sk = lookup(.udp) else { return nil }
                found = .sock(sk)
            default: return nil
            }
        }
        // inet_rcv_saddr 0: bound to 0.0.0.0 (or, an AF_INET6 socket, to ::); a connection has its address.
        let full: Bool, wildcard: Bool
        switch found {
        case .sock(let sk): full = true; wildcard = sk.config.address6.map { $0.isUnspecified } ?? (sk.config.address == .any)
        case .conn(let c): full = c.state != .synRecv && c.state != .timeWait; wildcard = false
        }
        switch sel.socketKey {
        case 0: return isTransparent(found) ? 1 : 0
        case 1: return full ? 0 : nil
        default: return full ? (wildcard ? 1 : 0) : nil
        }
    }

    /// A named data map's data for the packet's key (nft_lookup); nil: no element holds it.
    func dataMapLookup(_ ti: Int, _ map: String, _ key: [NFSelector], _ skb: SkBuff, _ info: PktInfo, inDev: Int?, outDev: Int?) -> UInt64? {
        guard let m = netfilter.dataMaps[ti]?[map] else { return nil }
        // An element a rule added, with the data the rule gave it.
        if let live = m.keys.live, live.index.hasData, let v = dynsetKey(key, live.index, create: false, skb, info),
           live.index.contains(v, now: clocks[skb.cpu]), let d = live.index.data[v] {
            if live.index.hasExprs, !live.index.evalFound(v, now: clocks[skb.cpu], { foundElementEval(&$0, skb) }) { return nil }
            return d
        }
        guard let pos = mapPosition(m.keys, key, skb, info, inDev: inDev, outDev: outDev, ti: ti) else { return nil }
        return m.values[pos]
    }

    /// The element of a named map the packet's key finds, by the map's shape (MapKeys); in a map
    /// whose elements expire or that rules add to, only an element still there (nft_lookup sees
    /// no expired element: then the catch-all, if any).
    func mapPosition(_ m: MapKeys, _ keys: [NFSelector], _ skb: SkBuff, _ info: PktInfo, inDev: Int?, outDev: Int?, ti: Int) -> Int? {
        let pos = declaredPosition(m, keys, skb, info, inDev: inDev, outDev: outDev, ti: ti)
        guard let live = m.live, let p = pos, p != m.catchAll, let h = live.held[p] else { return pos }
        guard live.index.contains(h, now: clocks[skb.cpu]), live.index.data[h] == nil else { return m.catchAll }
        if live.index.hasExprs, !live.index.evalFound(h, now: clocks[skb.cpu], { foundElementEval(&$0, skb) }) { return nil }
        return p
    }

    private func declaredPosition(_ m: MapKeys, _ keys: [NFSelector], _ skb: SkBuff, _ info: PktInfo, inDev: Int?, outDev: Int?, ti: Int) -> Int? {
        switch m.shape {
        case .word(let index):
            return readPacked(keys, skb, info).flatMap { index.lookup($0) }
        case .words(let byWords):
            guard let w = readWords(keys, skb, info) else { return nil }
            return byWords[w] ?? m.catchAll
        case .ordered(let elements) where keys[0].isString:
            guard let name = readName(keys[0], skb, info, inDev: inDev, outDev: outDev) else { return nil }
            return elements.first { Stack.nameMatches($0.0, name) }?.1 ?? m.catchAll
        case .ordered(let elements):
            guard let a = read6(keys[0], skb, info) else { return nil }
            return elements.first { contains6($0.0, a, ti: ti) }?.1 ?? m.catchAll
        case .tuples(let elements, let index, let positions):
            return concatLookup(ti, elements, index, keys, skb, info, inDev: inDev, outDev: outDev).map { positions[$0] }
        }
    }

    /// The value a set rules add to holds the packet's key under: the key read (packed for a
    /// concatenation), or an IPv6 address's number (`create`: given one if it has none).
    /// `values`: the parts of the key that are values, by position (nil: read the field).
    func dynsetKey(_ keys: [NFSelector], _ set: SetIndex, create: Bool, _ skb: SkBuff, _ info: PktInfo, values: [NFValue?] = []) -> UInt64? {
        if set.wideSels != nil {
            guard let w = readWords(keys, skb, info, values: values) else { return nil }
            return create ? set.idWide(w) : set.idsWide[w]
        }
        guard set.numbered6 else { return readPacked(keys, skb, info, values: values) }
        guard keys.count == 1, let a = read6(keys[0], skb, info) else { return nil }
        return create ? set.id6(a) : set.ids6[a]
    }

    /// A concatenated key too wide to pack, as its words (NFWideKey): one per part, two for an
    /// IPv6 address.
    func readWords(_ keys: [NFSelector], _ skb: SkBuff, _ info: PktInfo, values: [NFValue?] = []) -> [UInt64]? {
        var w: [UInt64] = []
        w.reserveCapacity(keys.count + 1)
        for (k, sel) in keys.enumerated() {
            if k < values.count, case .range(let c, _, _)? = values[k] {
                w.append(c)
            } else if sel.isString {
                guard let s = readName(sel, skb, info, inDev: info.inDev, outDev: info.outDev), let n = NFWideKey.name(s) else { return nil }
                w.append(UInt64(truncatingIfNeeded: n >> 64)); w.append(UInt64(truncatingIfNeeded: n))
            } else if sel.isAddress6 || sel.isWide {
                guard let a = read6(sel, skb, info) else { return nil }
                w.append(UInt64(truncatingIfNeeded: a >> 64)); w.append(UInt64(truncatingIfNeeded: a))
            } else {
                guard let v = read(sel, skb, info) else { return nil }
                w.append(v)
            }
        }
        return w
    }

    func readPacked(_ keys: [NFSelector], _ skb: SkBuff, _ info: PktInfo, values: [NFValue?] = []) -> UInt64? {
        if keys.count == 1 { return read(keys[0], skb, info) }
        var v: UInt64 = 0
        for (k, sel) in keys.enumerated() {
            let p: UInt64
            if k < values.count, case .range(let c, _, _)? = values[k] { p = c } else {
                guard let r = read(sel, skb, info) else { return nil }
                p = r
            }
            v = v << UInt64(NFSelector.bitWidth(sel)) | p
        }
        return v
    }

    /// Whether the key read for a concatenation (one value per part; interface names as their
    /// device) is the tuple, or one of a set of tuples, part by part.
    func tupleMatches(_ value: NFValue, _ sels: [NFSelector], _ skb: SkBuff, _ info: PktInfo, inDev: Int?, outDev: Int?, ti: Int) -> Bool {
        switch value {
        case .set(let vs): return vs.contains { tupleMatches($0, sels, skb, info, inDev: inDev, outDev: outDev, ti: ti) }
        case .named(let n):
            // A set rules add to holds its one-value tuples packed, or numbered when too wide to
            // pack (and ranged ones as tuples).
            if let idx = netfilter.setIndex(ti, n) {
                if idx.wideSels != nil {
                    if let w = readWords(sels, skb, info), let id = idx.idsWide[w], idx.contains(id, now: clockNs) { return true }
                } else if let k = readPacked(sels, skb, info), idx.contains(k, now: clockNs) {
                    return true
                }
            }
            return concatLookup(ti, n, sels, skb, info, inDev: inDev, outDev: outDev) != nil
        case .tuple(let parts):
            for (p, sel) in zip(parts, sels) {
                switch sel {
                case _ where sel.isString:
                    guard let name = readName(sel, skb, info, inDev: inDev, outDev: outDev), Stack.nameMatches(p, name) else { return false }
                case _ where sel.isAddress6 || sel.isWide:
                    guard let v = read6(sel, skb, info), contains6(p, v, ti: ti) else { return false }
                default:
                    guard let v = read(sel, skb, info), contains(p, v, ti: ti) else { return false }
                }
            }
            return true
        // A catch-all takes any key the packet has (a part it lacks breaks the rule first, as the load does).
        case .catchAll:
            return sels.allSatisfy { sel in
                switch sel {
                case _ where sel.isString: readName(sel, skb, info, inDev: inDev, outDev: outDev) != nil
                case _ where sel.isAddress6 || sel.isWide: read6(sel, skb, info) != nil
                default: read(sel, skb, info) != nil
                }
            }
        default: return false
        }
    }
}
