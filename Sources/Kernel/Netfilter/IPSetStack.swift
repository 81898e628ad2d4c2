import NFTables
import Wire

// A stack's ipsets: changed by `ipset restore` text, read by the ruleset's `xt match set`.
extension Stack {
    /// The sets the ruleset's rules name (the kernel holds a reference on each).
    public func ipsetsInUse(_ rs: NFRuleset? = nil) -> Set<String> {
        var out: Set<String> = []
        for t in (rs ?? netfilter.ruleset).tables { for c in t.chains { for r in c.rules { for s in r.statements {
            switch s {
            case .xtSet(let m): out.insert(m.name)
            case .xtSetTarget(let t): [t.add?.name, t.del?.name].compactMap { $0 }.forEach { out.insert($0) }
            default: break
            }
        } } } }
        return out
    }

    /// The first set a ruleset names that the stack does not have (xt_set's checkentry refuses it).
    public func missingIPSet(_ rs: NFRuleset) -> String? {
        ipsetsInUse(rs).sorted().first { ipsets[$0] == nil }
    }

    /// The ipsets `ipset restore` text makes (`replace`: from no sets, else from the stack's),
    /// whole or not at all; the stack is unchanged until `setIPSets`. `own`: the model's own save
    /// text (config, checkpoints).
    public func preparedIPSets(_ text: String, replace: Bool, own: Bool = false) throws(IPSetError) -> IPSets {
        let inUse = ipsetsInUse()
        let sets = try IPSetText.restore(text, onto: replace ? IPSets() : ipsets, inUse: replace ? [] : inUse, now: clockNs, seed: config.seed, own: own)
        // Replacing destroys every set first: one the ruleset names must be there again.
        if replace, let gone = inUse.sorted().first(where: { sets[$0] == nil }) {
            throw IPSetError("destroy \(gone): Set cannot be destroyed: it is in use by a kernel component")
        }
        return sets
    }

    /// The ipsets from now on; `generation` counts the changes stored (a checkpoint's sets are
    /// put back only over the generation they were saved from).
    public func setIPSets(_ sets: IPSets, generation: Int) {
        ipsets = sets
        ipsetsGeneration = generation
    }

    /// `ipset save` (`own`: with each element's expiry in virtual ns).
    public func saveIPSets(only: String? = nil, own: Bool = false) -> String {
        IPSetText.save(ipsets, now: clockNs, only: only, own: own)
    }

    /// What ip_set reads of an IPv4 packet (ip4addr, ip_set_get_ip4_port): no ports in a later
    /// fragment; ICMP's are its type and code; other protocols have 0.
    func ipsetPacket(_ skb: SkBuff, _ p: PktInfo) -> IPSetPacket {
        let b = skb.data
        var pkt = IPSetPacket(saddr: UInt128(b.be32(p.nh + 12)), daddr: UInt128(b.be32(p.nh + 16)), v6: false, proto: p.proto,
                              sport: nil, dport: nil, len: p.len - p.nh)
        switch p.proto {
        case IPProtocol.tcp, IPProtocol.udp, 132, 136:
            if p.fragOff == 0, p.len >= p.th + 4 { pkt.sport = b.be16(p.th); pkt.dport = b.be16(p.th + 2) }
        case IPProtocol.icmp:
            if p.fragOff == 0, p.len >= p.th + 8 { let v = UInt16(b[p.th]) << 8 | UInt16(b[p.th + 1]); pkt.sport = v; pkt.dport = v }
        case 0: break
        default: pkt.sport = 0; pkt.dport = 0
        }
        return pkt
    }

    /// xt_set's set_match_v4: the packet's fields looked up in the set; a set the stack no longer
    /// has, or of the other family, never matches.
    func set_match_v4(_ m: NFXtSetMatch, _ skb: SkBuff, _ p: PktInfo) -> Bool {
        var hit = false
        if p.ipv4, let set = ipsets[m.name] { hit = set.test(ipsetPacket(skb, p), m, now: clocks[skb.cpu]) }
        return hit != m.invert
    }

    /// xt_set's set_target_v3: the packet's element added to one set (ip_set_add), deleted from
    /// another (ip_set_del); failures are silent and the rule goes on.
    func set_target_v3(_ t: NFXtSetTarget, _ skb: SkBuff, _ p: PktInfo) {
        guard p.ipv4 else { return }
        let pkt = ipsetPacket(skb, p), now = clocks[skb.cpu]
        if let a = t.add, let set = ipsets[a.name] { set.kadtAdd(pkt, source: a.source, timeout: t.timeout, exist: t.exist, now: now) }
        if let d = t.del, let set = ipsets[d.name] { set.kadtDel(pkt, source: d.source, now: now) }
    }
}
