import NFTables
import Wire

/// One `nft monitor trace` fact: a rule that matched (with its verdict), a chain's policy, or a return.
public struct NFEvent: Sendable, Equatable {
    public enum Kind: String, Sendable { case rule, policy, `return`, log }
    public var hook: NFHook
    /// "family name", as nft prints it in traces (`inet filter`).
    public var table: String
    public var chain: String
    public var kind: Kind
    public var handle: Int?
    public var rule: String?
    /// The iptables-save line the rule came from, when the ruleset was loaded as iptables-save text.
    public var iptables: String? = nil
    public var verdict: String
    /// True for events of a packet the stack generated because of this one (ICMP error, RST, echo reply).
    public var generated: Bool = false
    /// `skb->nf_trace` when the event happened: whether `nft monitor trace` would show it.
    public var nftrace: Bool = false
    /// The packet had come back in through lo (skb_iif 1: `nft monitor trace` gives it a new id).
    public var looped: Bool = false
    /// The packet as the first event of a base chain's run saw it (`nf_trace_fill_pkt_info`: what
    /// `nft monitor trace` prints as its `packet:` line); nil on the chain's later events.
    public var packet: NFTracePacket? = nil
}

/// The headers a trace event dumps (`nf_trace_fill_pkt_info`): the devices, the Ethernet header
/// when the frame came in on one, the network header up to the transport header (at most 40
/// bytes), and up to 20 bytes from the transport header.
public struct NFTracePacket: Sendable, Equatable {
    public var iif: String?, oif: String?
    public var ll: [UInt8]
    public var nh: [UInt8]
    public var th: [UInt8]?
    public var ipv6: Bool
    /// The link header is Ethernet's (ARPHRD_ETHER); lo's (ARPHRD_LOOPBACK) nft prints raw.
    public var llEther = true
    public init(iif: String?, oif: String?, ll: [UInt8], nh: [UInt8], th: [UInt8]?, ipv6: Bool) {
        self.iif = iif; self.oif = oif; self.ll = ll; self.nh = nh; self.th = th; self.ipv6 = ipv6
    }
}

/// The loaded ruleset, its base chains per hook in priority order, and per-rule state.
struct NetfilterState {
    var ruleset = NFRuleset()
    /// A base chain registered on a hook, with what the hook loop needs without touching the ruleset.
    struct HookEntry {
        var prio: Int, table: Int, chain: Int
        var isNAT: Bool
        /// A `type route` chain: output packets it changes are routed again (nf_route_table_hook4).
        var isRoute: Bool
        /// A netdev chain's devices (its entry is on each one's list).
        var devices: [String]
    }
    /// Per hook, sorted by priority then registration order: what IPv4 packets meet (ip and inet
    /// tables) and what IPv6 packets meet (ip6 and inet tables).
    var hooks = HookTable()
    var hooks6 = HookTable()
    /// The ingress entries split by the device their netdev chain is bound to, so the hook finds a
    /// device's chains without filtering per packet.
    var ingress: [String: [HookEntry]] = [:]
    /// netdev egress chains by the device they are bound to (nf_hook_egress).
    var egress: [String: [HookEntry]] = [:]
    /// Packets and bytes per (table index, rule handle).
    var counters: [Int: [Int: (Int, Int)]] = [:]
    /// Packets and bytes each base chain's policy decided, per (table index, chain index): the chain
    /// counters iptables-nft asks for (NFTA_CHAIN_COUNTERS, nft_update_chain_stats) and
    /// `iptables-save` prints as `:INPUT ACCEPT [6:258]`.
    /// Keyed by `PolicyKey.of(table, chain)`: the per-packet update hashed two nested dictionaries' keys four times.
    var policyCounters = IntMap<(Int, Int)>()
    /// `ct count` connection lists per (table, rule handle).
    var connlimits: [Int: [Int: [Conn]]] = [:]
    /// xt_connlimit's connections per rule (table index, handle) and masked address.
    var xtConnlimits: [Int: [Int: [UInt32: [Conn]]]] = [:]
    /// `limit` token buckets per (table, handle): tokens in ns-of-credit and last refill time.
    var limits: [Int: [Int: (tokens: UInt64, last: UInt64)]] = [:]
    /// `quota` bytes consumed per (table, handle), from the rule's `used`.
    var quotas: [Int: [Int: UInt64]] = [:]
    /// Named objects per table, by kind and name, with the handle their state is kept under.
    var objects: [Int: [ObjectKey: NFObject]] = [:]
    struct ObjectKey: Hashable { let kind: NFObjectKind; let name: String }
    /// numgen inc counters and jhash seeds drawn at load, per rule statement.
    var generators: [GeneratorKey: UInt32] = [:]
    /// Conntrack runs when a rule uses ct, notrack or NAT (the kernel loads nf_conntrack for them):
    /// for IPv4 packets from an ip or inet table's rule, for IPv6 from an ip6 or inet table's.
    var conntrackEnabled = false
    var conntrack6Enabled = false
    /// nf_defrag_ipv4/ipv6 registered (whole datagrams before PREROUTING): conntrack loads it, and
    /// so does a `tproxy` rule (nft_tproxy_init) for its family, or both without one.
    var defragEnabled = false
    var defrag6Enabled = false
    /// synproxy's hooks registered (nf_synproxy_ipv4_init / ipv6_init): a synproxy expression or
    /// object in an ip or inet table (IPv4), ip6 or inet (IPv6); each brings conntrack too.
    var synproxyEnabled = false
    var synproxy6Enabled = false
    /// The NAT core's hooks registered (nf_nat_register_fn: all four, once a nat chain of the
    /// family exists): every new connection gets a binding at each, a null one where no rule
    /// gave it one (nf_nat_alloc_null_binding), which may move a clashing source port.
    var natCore = false
    var natCore6 = false

    static func usesConntrack(_ r: NFRule) -> Bool {
        r.statements.contains { s in
            switch s {
            case .notrack, .snat, .dnat, .nat6, .masquerade, .redirect, .natMap, .natMapNamed, .natPortMap, .setCtMark, .synproxy, .xtConnmark, .xtConntrack, .xtConnlimit: return true
            case .objref(let kind, _), .objrefMap(let kind, _, _), .objrefMapNamed(let kind, _, _): return kind.isConntrack || kind == .synproxy
            case .setCtEvent: return true
            case .match(let sel, _, _, _): return sel.rawValue.hasPrefix("ct ")
            case .concatMatch(let sels, _, _), .concatVmap(let sels, _), .concatVmapNamed(let sels, _): return sels.contains { $0.rawValue.hasPrefix("ct ") }
            case .setExpr(let t, let src, _, _, _, _, _): return t.rawValue.hasPrefix("ct ") || src?.rawValue.hasPrefix("ct ") == true
            case .setMapped(let t, let keys, _): return t.rawValue.hasPrefix("ct ") || keys.contains(where: { $0.rawValue.hasPrefix("ct ") })
            case .setMapped6(_, let keys, _): return keys.contains(where: { $0.rawValue.hasPrefix("ct ") })
            case .setGenerated(let t, _), .setMappedNamed(let t, _, _): return t.rawValue.hasPrefix("ct ")
            default: return false
            }
        }
    }
    /// nft_synproxy_do_init: the family's synproxy hooks and conntrack.
    private mutating func enableSynproxy(_ family: NFFamily) {
        guard family == .ip || family == .ip6 || family == .inet else { return }
        if family != .ip6 { synproxyEnabled = true; conntrackEnabled = true }
        if family != .ip { synproxy6Enabled = true; conntrack6Enabled = true }
    }

    /// Named sets compiled for lookup, per table index and name.
    var sets: [Int: [String: SetIndex]] = [:]
    /// Named verdict maps (`vmap @m`, one key) compiled for lookup, per table index and name:
    /// where a key finds its element (MapKeys: numbers, IPv6 addresses, names), and the verdicts.
    var maps: [Int: [String: (keys: MapKeys, verdicts: [NFVerdict])]] = [:]
    /// Named sets and maps with concatenated keys: their tuples (and verdicts), searched in order.
    var concatSets: [Int: [String: (elements: [NFValue], verdicts: [NFVerdict]?)]] = [:]
    /// Named data maps (`type inet_service : ipv4_addr`) ready for lookups, per table index and
    /// name: where a key finds its element, and each element's data.
    var dataMaps: [Int: [String: (keys: MapKeys, values: [UInt64])]] = [:]
    /// Named maps of IPv6 addresses (`: ipv6_addr [. inet_service]`), per table index and name.
    var dataMaps6: [Int: [String: DataMap6]] = [:]
    /// Named maps of objects (`: counter`): where a key finds its element, and each one's object name.
    var objectMaps: [Int: [String: (keys: MapKeys, names: [String])]] = [:]
    /// Their exact tuples hashed (ConcatIndex), per table index and name.
    var concatIndex: [Int: [String: ConcatIndex]] = [:]
    /// Compiled chains, [table index][chain index].
    var compiled: [[CChain]] = []
    var hasIngress: Bool { !ingress.isEmpty }
    var hasEgress: Bool { !egress.isEmpty }

    init() {}

    func setIndex(_ ti: Int, _ name: String) -> SetIndex? { sets[ti]?[name] }

    /// A map whose elements change at run time answers a lookup only with a live element and runs
    /// its statements: its lookups see its SetIndex.
    private mutating func attachLive(_ set: NFSet, _ ti: Int) {
        guard set.isMap, set.changesAtRunTime, let idx = sets[ti]?[set.name] else { return }
        let sels = set.keys.map(\.selector)
        let live = (index: idx, held: set.elements.map { idx.held($0, sels, concat: set.concat != nil) })
        dataMaps[ti]?[set.name]?.keys.live = live
        dataMaps6[ti]?[set.name]?.keys.live = live
        objectMaps[ti]?[set.name]?.keys.live = live
        maps[ti]?[set.name]?.keys.live = live
    }

    /// `now`: the stack's clock, from which elements with a timeout start to expire.
    init(_ rs: NFRuleset, now: UInt64 = 0) {
        ruleset = rs
        var order = 0
        var list: [(entry: HookEntry, order: Int, hook: NFHook, family: NFFamily)] = []
        for (ti, t) in rs.tables.enumerated() {
            for (ci, c) in t.chains.enumerated() {
                // A dormant table keeps its chains off every hook.
                if let b = c.base, !t.dormant {
                    list.append((HookEntry(prio: b.priority, table: ti, chain: ci, isNAT: b.type == .nat, isRoute: b.type == .route && b.hook == .output,
                                             devices: b.devices), order, b.hook, t.family))
                    order += 1
                    // A nat chain registers the NAT core's hooks for the family; conntrack comes with
                    // what uses it (an empty nat chain tracks nothing, as recorded).
                    if b.type == .nat {
                        if t.family != .ip6 { natCore = true }
                        if t.family == .ip6 || t.family == .inet { natCore6 = true }
                    }
                }
                // nf_ct_netns_get(family): an ip table loads IPv4 conntrack, ip6 IPv6's, inet both.
                if c.rules.contains(where: NetfilterState.usesConntrack) {
                    if t.family != .ip6 { conntrackEnabled = true }
                    if t.family == .ip6 || t.family == .inet { conntrack6Enabled = true }
                }
                if c.rules.contains(where: { $0.statements.contains(where: \.isSynproxy) }) { enableSynproxy(t.family) }
                for r in c.rules {
                    for case .tproxy(let x) in r.statements {
                        let family = x.family ?? (t.family == .inet ? nil : t.family)
                        if family != .ip6 { defragEnabled = true }
                        if family != .ip { defrag6Enabled = true }
                    }
                }
            }
        }
        for t in rs.tables where t.objects.contains(where: { $0.kind == .synproxy }) { enableSynproxy(t.family) }
        defragEnabled = defragEnabled || conntrackEnabled
        defrag6Enabled = defrag6Enabled || conntrack6Enabled
        for (ti, t) in rs.tables.enumerated() {
            for o in t.objects { objects[ti, default: [:]][ObjectKey(kind: o.kind, name: o.name)] = o }
            for set in t.sets {
                if let names = set.objectNames { objectMaps[ti, default: [:]][set.name] = (MapKeys(set), names) }
                if let d6 = set.data6, let ports = set.data { dataMaps6[ti, default: [:]][set.name] = DataMap6(keys: MapKeys(set), addrs: d6, ports: ports) }
                else if let ds = set.data { dataMaps[ti, default: [:]][set.name] = (MapKeys(set), ds) }
                if set.concat != nil {
                    var tuples = set
                    // A set rules add to (or whose elements expire) holds its one-value tuples packed
                    // in a SetIndex, as dynset adds them; tuples with a range stay tuples.
                    if set.dynamic || set.timeouts, NFPackedKey.widths(set.keys.map(\.selector)) == nil {
                        // Too wide to pack: numbered tuples (NFWideKey) in a SetIndex; tuples with a range stay tuples.
                        var numbered = set
                        numbered.elements = []; numbered.elementInfo = []; tuples.elements = []; tuples.elementInfo = []
                        for (k, e) in set.elements.enumerated() {
                            if NFWideKey.words(e) != nil {
                                numbered.elements.append(e); numbered.elementInfo.append(set.info(k))
                            } else {
                                tuples.elements.append(e); tuples.elementInfo.append(set.info(k))
                            }
                        }
                        sets[ti, default: [:]][set.name] = SetIndex(numbered, now: now)
                    } else if set.dynamic || set.timeouts, let widths = NFPackedKey.widths(set.keys.map(\.selector)) {
                        var packed = set
                        packed.concat = nil
                        packed.elements = []; packed.elementInfo = []; tuples.elements = []; tuples.elementInfo = []
                        for (k, e) in set.elements.enumerated() {
                            if let p = NFPackedKey.pack(e, widths) {
                                packed.elements.append(.range(p, p, text: "")); packed.elementInfo.append(set.info(k))
                            } else {
                                tuples.elements.append(e); tuples.elementInfo.append(set.info(k))
                            }
                        }
                        sets[ti, default: [:]][set.name] = SetIndex(packed, now: now)
                    }
                    concatSets[ti, default: [:]][set.name] = (tuples.elements, set.verdicts)
                    concatIndex[ti, default: [:]][set.name] = ConcatIndex(tuples.elements)
                    attachLive(set, ti)
                    continue
                }
                sets[ti, default: [:]][set.name] = SetIndex(set, now: now)
                if let vs = set.verdicts { maps[ti, default: [:]][set.name] = (MapKeys(set), vs) }
                attachLive(set, ti)
            }
            compiled.append(t.chains.map { c in CChain(rules: c.rules.map { CRule($0, sets: sets[ti] ?? [:]) }) })
        }
        for h in NFHook.allCases {
            let sorted = list.filter { $0.hook == h }.sorted { ($0.entry.prio, $0.order) < ($1.entry.prio, $1.order) }
            // arp and bridge tables see ARP and bridged frames, which the model does not hook.
            hooks[h] = sorted.filter { [.ip, .inet, .netdev].contains($0.family) }.map(\.entry)
            hooks6[h] = sorted.filter { [.ip6, .inet].contains($0.family) }.map(\.entry)
        }
        for e in hooks[.ingress] ?? [] { for dev in e.devices { ingress[dev, default: []].append(e) } }
        for e in hooks[.egress] ?? [] { for dev in e.devices { egress[dev, default: []].append(e) } }
    }
}

/// The verdict of a whole hook for a packet.
enum HookVerdict {
    case accept
    case drop
    /// The ruleset took the packet (reject sent a reply; the packet is dropped).
    case rejected
    /// Held by conntrack's defragmentation until the datagram is whole.
    case stolen
    /// Taken by an expression (NF_STOLEN from synproxy): the packet goes no further.
    case consumed
}

extension Stack {
    /// The ruleset now loaded.
    public var ruleset: NFRuleset { netfilter.ruleset }

    /// Replaces the whole ruleset atomically (`nft -f` after `flush ruleset`); counters restart.
    /// Loads a ruleset. A new ruleset (`nft -f` after a flush) starts every rule's state afresh;
    /// `keepingRuleState` is for commands on the running one (`add rule`, `delete rule`...): as in
    /// the kernel, rules that stay (same table, handle and text) keep their counters, quotas and
    /// limit buckets, and only new or replaced rules start from what they say.
    public func loadRuleset(_ rs: NFRuleset, keepingRuleState: Bool = false) {
        var rs = rs
        let resets = rs.resets
        rs.resets = []
        rs.lists = []
        rs.cacheOps = []
        let elementChanges = rs.elementChanges
        rs.elementChanges = []
        let old = netfilter
        netfilter = NetfilterState(rs, now: clockNs)
        // nft_ct_get_init: a rule reading ct bytes, packets or avgpkt turns accounting on (nf_ct_set_acct).
        if !conntrackAcct, rs.tables.contains(where: { $0.chains.contains { $0.rules.contains { $0.statements.contains { $0.fields.contains(where: \.isCtAccounting) } } } }) {
            conntrackAcct = true
        }
        // `reset counters|quotas`: those named objects start from zero; `reset rules`: the
        // counters and quotas of those rules (each statement's own state).
        defer {
            // What commands did to the elements rules added (after the carry-over below).
            for change in elementChanges {
                switch change {
                case .flush(let f, let t, let name): liveSet(f, t, name)?.index.flushLive()
                case .delete(let f, let t, let name, let e, _):
                    if let (idx, set) = liveSet(f, t, name), let v = idx.held(e, set.keys.map(\.selector), concat: set.concat != nil) { idx.removeLive(v) }
                case .present: continue
                }
            }
            for (ti, h) in resets where ti < rs.tables.count {
                if let r = rs.tables[ti].chains.lazy.flatMap(\.rules).first(where: { $0.handle == h }) {
                    for (st, k) in zip(r.statements, NFStateKey.keys(r.statements, rule: h)) {
                        if case .counter = st { netfilter.counters[ti, default: [:]][k] = (0, 0) }
                        if case .quota = st { netfilter.quotas[ti, default: [:]][k] = 0 }
                    }
                    continue
                }
                if netfilter.counters[ti]?[h] != nil || rs.tables[ti].objects.contains(where: { $0.handle == h && $0.kind == .counter }) { netfilter.counters[ti, default: [:]][h] = (0, 0) }
                if rs.tables[ti].objects.contains(where: { $0.handle == h && $0.kind == .quota }) { netfilter.quotas[ti, default: [:]][h] = 0 }
            }
        }
        guard keepingRuleState else { return }
        for (ti, t) in rs.tables.enumerated() {
            guard let oi = old.ruleset.tables.firstIndex(where: { $0.family == t.family && $0.name == t.name && $0.handle == t.handle }) else { continue }
            // Sets keep what rules added to them (the kernel's set objects stay).
            for (name, idx) in netfilter.sets[ti] ?? [:] { if let prev = old.sets[oi]?[name] { idx.adopt(prev) } }
            let oldRules = Dictionary(old.ruleset.tables[oi].chains.flatMap(\.rules).map { ($0.handle, $0.text) }, uniquingKeysWith: { a, _ in a })
            /// Counter, quota and limit state kept under `h` in the old table goes on under it.
            func carry(_ h: Int) {
                if let c = old.counters[oi]?[h] { netfilter.counters[ti, default: [:]][h] = c }
                if let q = old.quotas[oi]?[h] { netfilter.quotas[ti, default: [:]][h] = q }
                if let l = old.limits[oi]?[h] { netfilter.limits[ti, default: [:]][h] = l }
            }
            for (key, c) in old.policyCounters.entries where PolicyKey.table(key) == oi {
                let oc = PolicyKey.chain(key)
                if let nc = t.chains.firstIndex(where: { $0.name == old.ruleset.tables[oi].chains[oc].name }) { netfilter.policyCounters[PolicyKey.of(ti, nc)] = c }
            }
            // Named objects keep their state too (same name, kind and handle).
            for o in t.objects where old.ruleset.tables[oi].objects.contains(where: { $0.handle == o.handle && $0.name == o.name }) {
                carry(o.handle)
            }
            for r in t.chains.flatMap(\.rules) where oldRules[r.handle] == r.text {
                for key in Set(NFStateKey.keys(r.statements, rule: r.handle)) { carry(key) }
                for (k, v) in old.generators where k.table == oi && k.handle == r.handle {
                    netfilter.generators[GeneratorKey(table: ti, handle: r.handle, statement: k.statement)] = v
                }
            }
        }
    }

    /// The ruleset with the sets rules change, or whose elements expire, as they stand now: what
    /// rules added, and each element's time left (`expires`), as nft lists them.
    public var liveRuleset: NFRuleset {
        var rs = netfilter.ruleset
        for (ti, t) in rs.tables.enumerated() {
            for (si, set) in t.sets.enumerated() where set.changesAtRunTime {
                guard let idx = netfilter.setIndex(ti, set.name) else { continue }
                let sels = set.keys.map(\.selector)
                let widths = set.concat == nil ? nil : NFPackedKey.widths(sels)
                // The number the index holds an element under: its value, or its tuple packed.
                func held(_ e: NFValue) -> UInt64? { idx.held(e, sels, concat: set.concat != nil) }
                // An IPv6 address's number back to the address, as nft lists it.
                func element(_ v: UInt64) -> NFValue {
                    if let a = idx.addrs6[v] { return .range6(a, a, text: IPv6Text.text(a)) }
                    if let w = idx.wordsOf[v] { return NFWideKey.tuple(w, sels) }
                    return widths.map { NFPackedKey.tuple(v, sels, $0) } ?? .range(v, v, text: NFPrinter.valueText(v, sels[0]))
                }
                let timedNow = idx.live(now: clockNs)
                let timedValues = Set(timedNow.map(\.0))
                // Static elements the rules left (a timed one is listed from the live state).
                var elements: [NFValue] = [], info: [NFElementInfo] = []
                // Where each listed element's data comes from: the declaration's position, or a rule's.
                var source: [(position: Int?, data: UInt64?)] = []
                for (k, e) in set.elements.enumerated() {
                    if let v = held(e), set.timeouts || timedValues.contains(v) || !idx.contains(v, now: clockNs) { continue }
                    var inf = set.info(k)
                    // A range that expires: gone, or listed with its time left.
                    let range = held(e) == nil ? idx.liveRange(e) : nil
                    if let r = range, r.expiry != .max {
                        if r.expiry <= clockNs { continue }
                        inf.expires = (r.expiry - clockNs) / 1_000_000
                    }
                    // Its counts as they stand (it was read back with them; rules and lookups have counted on).
                    if let st = held(e).flatMap({ idx.state[$0] }) ?? range?.state { inf.exprs = st.text; inf.statements = st.statements }
                    elements.append(e); info.append(inf); source.append((k, nil))
                }
                for (v, own, left) in timedNow {
                    let k = set.elements.firstIndex { held($0) == v }
                    elements.append(element(v))
                    var inf = NFElementInfo(comment: k.flatMap { set.info($0).comment }, timeout: own, expires: left, exprs: idx.state[v].map(\.text))
                    inf.statements = idx.state[v]?.statements ?? []
                    info.append(inf)
                    source.append((k, idx.data[v]))
                }
                rs.tables[ti].sets[si].elements = elements
                rs.tables[ti].sets[si].elementInfo = info
                // A map's data, verdicts and objects in step with its elements.
                if let d = set.data { rs.tables[ti].sets[si].data = source.map { $0.data ?? $0.position.map { d[$0] } ?? 0 } }
                if let d6 = set.data6 { rs.tables[ti].sets[si].data6 = source.map { $0.position.map { d6[$0] } ?? 0 } }
                if let vs = set.verdicts { rs.tables[ti].sets[si].verdicts = source.map { $0.position.map { vs[$0] } ?? .accept } }
                if let ns = set.objectNames { rs.tables[ti].sets[si].objectNames = source.map { $0.position.map { ns[$0] } ?? "" } }
            }
        }
        return rs
    }

    /// A set of the running ruleset and its index, by table and name.
    func liveSet(_ f: NFFamily, _ table: String, _ name: String) -> (index: SetIndex, set: NFSet)? {
        guard let ti = netfilter.ruleset.tables.firstIndex(where: { $0.family == f && $0.name == table }),
              let set = netfilter.ruleset.tables[ti].sets.first(where: { $0.name == name }), let idx = netfilter.setIndex(ti, name) else { return nil }
        return (idx, set)
    }

    /// The refusal of a command batch that deletes an element rules did not add either (ENOENT,
    /// under the element), checked against the running sets before anything changes.
    public func missingElement(_ rs: NFRuleset) -> NFSyntaxError? {
        var live: NFRuleset? = nil   // made once, and only for a `get element`
        for change in rs.elementChanges {
            switch change {
            case .delete(let f, let t, let name, let e, let refusal?):
                guard let (idx, set) = liveSet(f, t, name), let v = idx.held(e, set.keys.map(\.selector), concat: set.concat != nil),
                      idx.contains(v, now: clockNs) else { return refusal }
            case .present(let f, let t, let name, let e, let refusal):
                if live == nil { live = liveRuleset }
                guard let set = live!.tables.first(where: { $0.family == f && $0.name == t })?.sets.first(where: { $0.name == name }),
                      Self.element(holding: e, in: set) != nil else { return refusal }
            default: continue
            }
        }
        return nil
    }

    /// The position of a set's element that holds value `v` (itself, or a range or prefix around it).
    static func element(holding v: NFValue, in set: NFSet) -> Int? {
        if let k = set.elements.firstIndex(of: v) { return k }
        guard let (lo, hi) = SetIndex.bounds(v), lo == hi else { return nil }
        return set.elements.firstIndex { e in SetIndex.bounds(e).map { $0.0 <= lo && lo <= $0.1 } ?? false }
    }

    /// The first refusal of a delete that needs the running sets to succeed.
    public static func anyDeleteRefusal(_ rs: NFRuleset) -> NFSyntaxError? {
        for case .delete(_, _, _, _, let refusal?) in rs.elementChanges { return refusal }
        return nil
    }

    /// `nft list ruleset` with live counters and sets (and handles when asked).
    public func listRuleset(handles: Bool) -> String {
        var out = ""
        for (ti, t) in liveRuleset.tables.enumerated() {
            out += NFPrinter.ruleset(NFRuleset(tables: [t]), handles: handles, counters: netfilter.counters[ti] ?? [:],
                                     quotaUsed: netfilter.quotas[ti] ?? [:])
        }
        return out
    }

    /// The ruleset as it stands, as `nft -f` reads it back: handles, iptables origins, live counters,
    /// quotas used and set elements rules added (what a checkpoint keeps).
    public func checkpointRuleset() -> String {
        var out = ""
        for (ti, t) in liveRuleset.tables.enumerated() {
            out += NFPrinter.ruleset(NFRuleset(tables: [t]), handles: true, origins: true, counters: netfilter.counters[ti] ?? [:],
                                     quotaUsed: netfilter.quotas[ti] ?? [:])
        }
        return out
    }

    /// What `nft list ...` prints for a request, live counters and set elements included.
    /// `view`: what a batch's `list` sees instead (nft's cache, NFCacheOp.view), its tables' counters
    /// those of the live tables of the same names.
    public func list(_ r: NFListRequest, in view: NFRuleset? = nil) -> String {
        var out = ""
        for (vi, t) in (view ?? liveRuleset).tables.enumerated() {
            let ti = view == nil ? vi : liveRuleset.tables.firstIndex { $0.family == t.family && $0.name == t.name } ?? -1
            var shown = t
            switch r {
            case .ruleset(let f): if f != nil && f != t.family { continue }
            case .tables(let f):
                if f == nil || f == t.family { out += "table \(t.family.rawValue) \(t.name)\n" }
                continue
            case .table(let f, let n): if f != t.family || n != t.name { continue }
            case .chain(let f, let n, let c):
                if f != t.family || n != t.name { continue }
                shown.chains = t.chains.filter { $0.name == c }; shown.sets = []; shown.objects = []
                shown.comment = nil; shown.dormant = false
            case .set(let f, let n, let s):
                if f != t.family || n != t.name { continue }
                shown.sets = t.sets.filter { $0.name == s }; shown.chains = []; shown.objects = []
                shown.comment = nil; shown.dormant = false
            case .object(let kind, let f, let n, let name):
                if f != t.family || n != t.name { continue }
                shown.objects = t.objects.filter { $0.kind == kind && $0.name == name }; shown.chains = []; shown.sets = []
                shown.comment = nil; shown.dormant = false
            case .elements(let f, let n, let name, let values):
                if f != t.family || n != t.name { continue }
                guard var set = t.sets.first(where: { $0.name == name }) else { continue }
                let ks = values.compactMap { Self.element(holding: $0, in: set) }
                set.elements = ks.map { set.elements[$0] }
                set.elementInfo = ks.map { set.info($0) }
                set.data = set.data.map { d in ks.map { d[$0] } }
                set.data6 = set.data6.map { d in ks.map { d[$0] } }
                set.verdicts = set.verdicts.map { d in ks.map { d[$0] } }
                set.objectNames = set.objectNames.map { d in ks.map { d[$0] } }
                set.inGivenOrder = true
                shown.sets = [set]; shown.chains = []; shown.objects = []
                shown.comment = nil; shown.dormant = false
            case .all(let kind, let f, let n):
                if f != nil && f != t.family || n != nil && n != t.name { continue }
                out += listItems(kind, t, ti)
                continue
            }
            out += NFPrinter.ruleset(NFRuleset(tables: [shown]), counters: netfilter.counters[ti] ?? [:], quotaUsed: netfilter.quotas[ti] ?? [:])
        }
        return out
    }

    /// A table as a plural `list` prints it: only that kind of thing, declarations of chains without
    /// their rules, one after another with no blank line between (nft 1.0.6's output), an empty
    /// table with nothing of the kind.
    private func listItems(_ kind: NFListKind, _ t: NFTable, _ ti: Int) -> String {
        var bare = t
        bare.chains = []; bare.sets = []; bare.objects = []; bare.comment = nil; bare.dormant = false
        var items: [NFTable] = []
        switch kind {
        case .objects(let k): items = t.objects.filter { $0.kind == k }.map { var x = bare; x.objects = [$0]; return x }
        case .sets, .maps, .meters:
            items = t.sets.filter { kind == .meters ? $0.meter : !$0.meter && $0.isMap == (kind == .maps) }.map { s in
                var x = bare
                var shown = s
                // A meter lists as a set of its own (`meter NAME { ... }` with its size and flags).
                if kind == .meters { shown.meter = false }
                x.sets = [shown]
                return x
            }
        case .chains: items = t.chains.map { c in var x = bare; var d = c; d.rules = []; x.chains = [d]; return x }
        case .flowtables: items = []
        }
        var out = "table \(t.family.rawValue) \(t.name) {\n"
        for x in items {
            var lines = NFPrinter.ruleset(NFRuleset(tables: [x]), counters: netfilter.counters[ti] ?? [:], quotaUsed: netfilter.quotas[ti] ?? [:])
                .split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
            while let last = lines.last, last.isEmpty || last == "}" { lines.removeLast() }
            out += lines.joined(separator: "\n") + "\n"
        }
        if kind == .meters { out = out.replacingOccurrences(of: "\tset ", with: "\tmeter ") }
        return out + "}\n"
    }

    /// Counters of the rules that have a `counter`, by table and handle (a rule's second and later
    /// counters under NFStateKey's negative keys).
    public func ruleCounters() -> [(table: String, handle: Int, packets: Int, bytes: Int)] {
        netfilter.counters.sorted { $0.key < $1.key }.flatMap { ti, m in
            m.sorted { $0.key < $1.key }.map { (netfilter.ruleset.tables[ti].id, $0.key, $0.value.0, $0.value.1) }
        }
    }

    /// `nft reset counters`: every counter to zero (not back to the values the rules were loaded with).
    public func resetCounters() {
        netfilter.counters = [:]
        for (ti, t) in netfilter.ruleset.tables.enumerated() {
            for c in t.chains {
                for r in c.rules {
                    for (s, key) in zip(r.statements, NFStateKey.keys(r.statements, rule: r.handle)) {
                        if case .counter = s { netfilter.counters[ti, default: [:]][key] = (0, 0) }
                    }
                }
            }
        }
    }

    /// The field each indexed chain looks its rules up by (`"ip t input": "tcp dport"`).
    public var ruleIndexFields: [String: String] {
        var out: [String: String] = [:]
        for (ti, t) in netfilter.ruleset.tables.enumerated() where ti < netfilter.compiled.count {
            for (ci, c) in netfilter.compiled[ti].enumerated() { if let idx = c.index { out["\(t.id) \(t.chains[ci].name)"] = idx.sel.printed } }
        }
        return out
    }

    /// Packets and bytes each base chain's policy decided, by table index and chain name.
    public var policyCounters: [Int: [String: (Int, Int)]] {
        var out: [Int: [String: (Int, Int)]] = [:]
        for (key, c) in netfilter.policyCounters.entries {
            let ti = PolicyKey.table(key)
            out[ti, default: [:]][netfilter.ruleset.tables[ti].chains[PolicyKey.chain(key)].name] = c
        }
        return out
    }

    /// Rule counters by table index and handle, as `NFJSON.encode` and `NFPrinter` take them.
    public var countersByTable: [Int: [Int: (Int, Int)]] { netfilter.counters }

    /// Connections the table refused (full, nothing to evict) and evicted to make room.
    public var conntrackStats: (entries: Int, fullDrops: Int, earlyDrops: Int) { (conntrack.count, conntrackFullDrops, conntrackEarlyDrops) }
}

/// A named set ready for lookups: a hash of single values plus sorted, merged intervals searched
/// by bisection (so a 10,000-element set costs a lookup, not a scan). Elements that expire, and
/// those rules add (nft_dynset), live apart with their expiry in virtual ns (`.max`: never).
/// A class: the compiled rules and the table share one, so what a rule adds the next lookup sees.
/// The state of a set element's own stateful expressions (`add @s { ip saddr counter }`), made
/// with the element by the rule that added it.
struct ElementState {
    var exprs: [NFStatement] = []
    var packets = 0, bytes = 0
    var limit: (tokens: UInt64, last: UInt64)? = nil
    var quotaUsed: UInt64 = 0
    var conns: [Conn] = []

    init(exprs: [NFStatement]) { self.exprs = exprs }

    /// The state an element's listed statements carry: its counts and the quota it used.
    init(_ listed: [NFStatement]) {
        exprs = listed
        for s in listed {
            switch s {
            case .counter(let p, let b): packets = p; bytes = b
            case .quota(_, _, let used): quotaUsed = used
            default: break
            }
        }
    }

    /// The element's expressions with their state (a counter's numbers, a quota's use).
    var statements: [NFStatement] {
        exprs.map { e in
            switch e {
            case .counter: .counter(packets: packets, bytes: bytes)
            case .quota(let n, let over, _): .quota(bytes: n, over: over, used: quotaUsed)
            default: e
            }
        }
    }

    /// As nft lists the element's expressions: a counter with its numbers, a quota with what it used.
    var text: String {
        exprs.map { e in
            switch e {
            case .counter: "counter packets \(packets) bytes \(bytes)"
            case .quota(let n, let over, _): NFPrinter.statement(.quota(bytes: n, over: over, used: quotaUsed))
            default: NFPrinter.statement(e)
            }
        }.joined(separator: " ")
    }
}

final class SetIndex {
    private var singles = Set<UInt64>()
    private var intervals: [(lo: UInt64, hi: UInt64)] = []
    /// IPv6 address elements (`type ipv6_addr`): addresses, prefixes and ranges, tried in turn.
    private var ranges6: [(lo: UInt128, hi: UInt128)] = []
    /// Ranges and prefixes that expire or carry state, each an element of its own (not merged
    /// into `intervals`), tried in turn; one past its expiry is found by no lookup and listed no more.
    struct LiveRange {
        var lo, hi: UInt128
        /// When it expires (.max: never), and its own timeout (ms).
        var expiry: UInt64, timeout: UInt64?
        /// Its statements' state (its own, or the set's): a lookup finding it runs them.
        var state: ElementState?
    }
    private(set) var liveRanges: [LiveRange] = []
    /// Interface names of an `ifname` set (`eth*` wildcards included), matched by `iifname @s`.
    private(set) var names: [String] = []
    /// Single values that expire or were added by rules: value -> (expiry, the element's own timeout in ms).
    private(set) var timed: [UInt64: (expiry: UInt64, timeout: UInt64?)] = [:]
    /// The set's default timeout (ms) and the most elements it holds.
    let timeout: UInt64?
    let size: Int?
    /// A set of IPv6 addresses holds each single address under a number (in `singles`, `timed`
    /// and `state`, as other sets hold their 64-bit values), given in the order the addresses
    /// came; prefixes and ranges stay in `ranges6`.
    let numbered6: Bool
    private(set) var ids6: [UInt128: UInt64] = [:]
    private(set) var addrs6: [UInt64: UInt128] = [:]

    /// A concatenated set rules add to whose key does not pack into 64 bits (an IPv6 address in
    /// it): each tuple numbered by its words (NFWideKey), held as `numbered6` holds addresses.
    let wideSels: [NFSelector]?
    private(set) var idsWide: [[UInt64]: UInt64] = [:]
    private(set) var wordsOf: [UInt64: [UInt64]] = [:]

    /// The number a wide tuple is held under, given now if it has none.
    func idWide(_ w: [UInt64]) -> UInt64 {
        if let id = idsWide[w] { return id }
        let id = UInt64(wordsOf.count + 1)
        idsWide[w] = id; wordsOf[id] = w
        return id
    }

    /// The number an IPv6 address is held under, given now if it has none.
    func id6(_ a: UInt128) -> UInt64 {
        if let id = ids6[a] { return id }
        let id = UInt64(addrs6.count + 1)
        ids6[a] = id; addrs6[id] = a
        return id
    }

    init(_ set: NFSet, now: UInt64) {
        exprs = set.exprs
        timeout = set.timeout
        size = set.effectiveSize
        numbered6 = set.concat == nil && set.keys.first?.selector.isAddress6 == true
        let sels = set.keys.map(\.selector)
        wideSels = set.concat != nil && NFPackedKey.widths(sels) == nil ? sels : nil
        var iv: [(UInt64, UInt64)] = []
        for (k, e) in set.elements.enumerated() {
            let info = set.info(k)
            // An element held by number: with its counts, and its time left when elements expire.
            var number: UInt64? = nil
            if wideSels != nil, let w = NFWideKey.words(e) { number = idWide(w) }
            if numbered6, case .range6(let lo, let hi, _) = e, lo == hi { number = id6(lo) }
            if let id = number {
                declared.insert(id)
                if !info.statements.isEmpty { state[id] = ElementState(info.statements) } else if !exprs.isEmpty { state[id] = ElementState(exprs: exprs) }
                if set.timeouts {
                    let ms = info.expires ?? info.timeout ?? set.timeout
                    timed[id] = (ms.map { now &+ $0 &* 1_000_000 } ?? .max, info.timeout)
                } else {
                    singles.insert(id)
                }
                continue
            }
            // An element read back with its counts (a checkpoint, `nft list ruleset` fed back) goes on from them.
            if case .range(let lo, let hi, _) = e, lo == hi, !info.statements.isEmpty { state[lo] = ElementState(info.statements) }
            else if case .range(let lo, let hi, _) = e, lo == hi, !exprs.isEmpty { state[lo] = ElementState(exprs: exprs) }
            // A range or prefix with statements (its own, or the set's) or a time to live (what
            // `expires` says, else its timeout, else the set's).
            if let (lo, hi) = Self.bounds(e), lo != hi {
                let ms = set.timeouts ? info.expires ?? info.timeout ?? set.timeout : nil
                let st = !info.statements.isEmpty ? ElementState(info.statements) : !exprs.isEmpty ? ElementState(exprs: exprs) : nil
                if ms != nil || st != nil {
                    liveRanges.append(LiveRange(lo: lo, hi: hi, expiry: ms.map { now &+ $0 &* 1_000_000 } ?? .max, timeout: info.timeout, state: st))
                    continue
                }
            }
            if case .range(let lo, let hi, _) = e, lo == hi { declared.insert(lo) }
            switch e {
            case .range(let lo, let hi, _) where lo == hi && set.timeouts:
                // An element's time left: what `expires` says, else its timeout, else the set's.
                let ms = info.expires ?? info.timeout ?? set.timeout
                timed[lo] = (ms.map { now &+ $0 &* 1_000_000 } ?? .max, info.timeout)
            case .range(let lo, let hi, _): if lo == hi { singles.insert(lo) } else { iv.append((lo, hi)) }
            case .string(let n): names.append(n)
            case .range6(let lo, let hi, _): ranges6.append((lo, hi))
            // The catch-all takes any key (an interface name too: `*` matches every name).
            case .catchAll: catchAll = true; names.append("*")
            default: break
            }
        }
        hasExprs = !state.isEmpty || liveRanges.contains { $0.state != nil }
        iv.sort { $0.0 < $1.0 }
        for r in iv {
            if let last = intervals.last, r.0 <= last.hi &+ 1 { intervals[intervals.count - 1].hi = max(last.hi, r.1) } else { intervals.append((r.0, r.1)) }
        }
    }

    /// A catch-all element (`*`): a key no other element holds is found too (nft_set_catchall_lookup).
    private(set) var catchAll = false

    /// An IPv6 address among the set's elements (those rules added too).
    func contains6(_ v: UInt128, now: UInt64) -> Bool {
        catchAll || ranges6.contains { v >= $0.lo && v <= $0.hi } || (ids6[v].map { contains($0, now: now) } ?? false) || liveRange(holding: v, now: now) != nil
    }

    /// A range element's bounds (an IPv4 or integer range widened, an IPv6 one as it is).
    static func bounds(_ e: NFValue) -> (UInt128, UInt128)? {
        switch e {
        case .range(let lo, let hi, _): (UInt128(lo), UInt128(hi))
        case .range6(let lo, let hi, _): (lo, hi)
        default: nil
        }
    }

    /// The live range holding `v` that has not expired.
    private func liveRange(holding v: UInt128, now: UInt64) -> Int? {
        guard !liveRanges.isEmpty else { return nil }
        return liveRanges.firstIndex { v >= $0.lo && v <= $0.hi && $0.expiry > now }
    }

    /// The live range a declared range or prefix is (for its listing: time left, state).
    func liveRange(_ e: NFValue) -> LiveRange? {
        guard let (lo, hi) = Self.bounds(e) else { return nil }
        return liveRanges.first { $0.lo == lo && $0.hi == hi }
    }

    /// Per-element state of stateful expressions, by element.
    private(set) var state: [UInt64: ElementState] = [:]
    /// A map's data for the elements rules added (nft_dynset_new stores it when it makes one).
    private(set) var data: [UInt64: UInt64] = [:]
    /// The single values the set's declaration holds (what rules added is the rest).
    private(set) var declared = Set<UInt64>()
    /// The set's own statements (`counter;`): each element it holds gets them.
    let exprs: [NFStatement]
    /// Some element has expressions that lookups finding it run (nft_lookup's nft_set_elem_update_expr).
    private(set) var hasExprs = false
    var hasData: Bool { !data.isEmpty }

    /// A checkpoint's limit bucket for element `v`; one whose state is made only when a rule next
    /// finds it (a meter's elements, which no listing holds) waits for it.
    func restoreLimit(_ v: UInt64, tokens: UInt64, last: UInt64) {
        if state[v] != nil { state[v]!.limit = (tokens, last) } else { restoredLimits[v] = (tokens, last) }
    }
    private var restoredLimits: [UInt64: (tokens: UInt64, last: UInt64)] = [:]

    /// Runs `body` on element `v`'s state (made with `exprs` when the element has none yet), in place.
    func withState(_ v: UInt64, _ exprs: [NFStatement], _ body: (inout ElementState) -> Bool) -> Bool {
        if state[v] == nil {
            var made = ElementState(exprs: exprs)
            if !restoredLimits.isEmpty, let l = restoredLimits.removeValue(forKey: v) { made.limit = l }
            state[v] = made
            hasExprs = true
        }
        return body(&state[v]!)
    }

    /// nft_lookup found `v`: nft_set_elem_update_expr runs the element's expressions (a counter
    /// counts, a quota or limit may end the rule: false).
    func evalFound(_ v: UInt64, now: UInt64, _ eval: (inout ElementState) -> Bool) -> Bool {
        if state[v] != nil { return eval(&state[v]!) }
        return evalFoundInRange(UInt128(v), now: now, eval)
    }

    func evalFound6(_ a: UInt128, now: UInt64, _ eval: (inout ElementState) -> Bool) -> Bool {
        if let id = ids6[a], state[id] != nil { return eval(&state[id]!) }
        return evalFoundInRange(a, now: now, eval)
    }

    private func evalFoundInRange(_ v: UInt128, now: UInt64, _ eval: (inout ElementState) -> Bool) -> Bool {
        guard let k = liveRange(holding: v, now: now), liveRanges[k].state != nil else { return true }
        return eval(&liveRanges[k].state!)
    }

    /// Elements (static and live) the set holds at `now`.
    var count: Int { singles.count + intervals.count + names.count + timed.count + liveRanges.count }

    /// `nft_lookup`: the element, else the catch-all. (`contains` is the elements alone, what
    /// dynset asks before it adds.)
    func lookup(_ v: UInt64, now: UInt64) -> Bool { contains(v, now: now) || catchAll }

    func contains(_ v: UInt64, now: UInt64) -> Bool {
        // Most sets hold no timed elements: skip that hash lookup on the packet path.
        if !timed.isEmpty, let t = timed[v] {
            if t.expiry > now { return true }
            timed[v] = nil   // expired: the garbage collector's work, done on sight
            state[v] = nil
            data[v] = nil
        }
        if singles.contains(v) { return true }
        var lo = 0, hi = intervals.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if intervals[mid].hi < v { lo = mid + 1 } else { hi = mid }
        }
        return lo < intervals.count && intervals[lo].lo <= v || liveRange(holding: UInt128(v), now: now) != nil
    }

    /// nft_dynset: `add` inserts a missing element, `update` also refreshes the expiry of one there,
    /// `delete` removes it (and goes on when there is none). False is NFT_BREAK: the set is full.
    /// A map's element takes `data` when it is made; one already there keeps its own (recorded:
    /// scripts/record_dynmap.sh).
    func dynset(_ op: NFDynsetOp, _ v: UInt64, timeout ms: UInt64?, data d: UInt64? = nil, now: UInt64) -> Bool {
        let present = contains(v, now: now)
        let life = ms ?? timeout
        switch op {
        case .delete:
            if present, timed.removeValue(forKey: v) == nil { singles.remove(v) }
            state[v] = nil
            data[v] = nil
            return true
        case .add where present:
            return true
        case .update where present:
            if let life, timed[v] != nil { timed[v] = (now &+ life &* 1_000_000, ms ?? timed[v]?.timeout) }
            return true
        case .add, .update:
            if let size, count >= size { return false }
            timed[v] = (life.map { now &+ $0 &* 1_000_000 } ?? .max, ms)
            if let d { data[v] = d }
            return true
        }
    }

    /// Carries over what rules added to an older copy of the set (a command left the set alone);
    /// an IPv6 address keeps its place under the number this copy holds it by.
    func adopt(_ old: SetIndex) {
        func renumber(_ v: UInt64) -> UInt64 { old.addrs6[v].map(id6) ?? old.wordsOf[v].map(idWide) ?? v }
        // An element the old declaration held and the new one does not was deleted by the command.
        func kept(_ v: UInt64) -> Bool { !old.declared.contains(v) || declared.contains(renumber(v)) }
        for (v, t) in old.timed where kept(v) { timed[renumber(v)] = t }
        for (v, st) in old.state where kept(v) { state[renumber(v)] = st }
        for (v, d) in old.data where kept(v) { data[renumber(v)] = d }
        // A range still declared keeps the time it had left and its state.
        for (k, r) in liveRanges.enumerated() {
            guard let prev = old.liveRanges.first(where: { $0.lo == r.lo && $0.hi == r.hi }) else { continue }
            liveRanges[k].expiry = prev.expiry
            if let st = prev.state { liveRanges[k].state = st }
        }
        hasExprs = hasExprs || !state.isEmpty
    }

    /// The number an element of the set's declaration is held under (nil: a range, held apart).
    func held(_ e: NFValue, _ sels: [NFSelector], concat: Bool) -> UInt64? {
        if concat, let widths = NFPackedKey.widths(sels) { return NFPackedKey.pack(e, widths) }
        if case .range(let lo, let hi, _) = e, lo == hi { return lo }
        if case .range6(let lo, let hi, _) = e, lo == hi { return ids6[lo] }
        if wideSels != nil, let w = NFWideKey.words(e) { return idsWide[w] }
        return nil
    }

    /// `flush set`: what rules added goes too (the declaration's elements went with the command).
    func flushLive() {
        for v in timed.keys where !declared.contains(v) { timed[v] = nil }
        for v in state.keys where !declared.contains(v) { state[v] = nil }
        for v in data.keys where !declared.contains(v) { data[v] = nil }
    }

    /// `delete element` of one rules added.
    func removeLive(_ v: UInt64) {
        timed[v] = nil; state[v] = nil; data[v] = nil
    }

    /// How a checkpoint names an element's value: its hex, an IPv6 address's for a numbered one.
    func valueText(_ v: UInt64) -> String {
        addrs6[v].map { String($0, radix: 16) } ?? wordsOf[v].map { $0.map { String($0, radix: 16) }.joined(separator: ".") } ?? String(v, radix: 16)
    }
    /// The value a checkpoint's name stands for (an IPv6 address gets its number).
    func value(fromText t: String) -> UInt64? {
        if wideSels != nil {
            let w = t.split(separator: ".").compactMap { UInt64($0, radix: 16) }
            return w.isEmpty ? nil : idWide(w)
        }
        return numbered6 ? UInt128(t, radix: 16).map(id6) : UInt64(t, radix: 16)
    }

    /// The live elements rules added or that expire: value, own timeout, time left (ms) at `now`.
    func live(now: UInt64) -> [(UInt64, UInt64?, UInt64?)] {
        timed.filter { $0.value.expiry > now }.sorted { $0.key < $1.key }.map {
            ($0.key, $0.value.timeout, $0.value.expiry == .max ? nil : ($0.value.expiry - now) / 1_000_000)
        }
    }
}

/// A named map ready for lookups, verdict maps and data maps alike: single keys hashed, intervals
/// (which never overlap: the parser refuses that) searched by bisection.
struct MapIndex<Value> {
    private var singles: [UInt64: Value] = [:]
    private var intervals: [(lo: UInt64, hi: UInt64, value: Value)] = []
    /// What the catch-all element (`*`) maps to: a key no other element holds.
    private var catchAll: Value?

    init(_ keys: [NFValue], _ values: [Value]) {
        for (k, v) in zip(keys, values) {
            if k == .catchAll { catchAll = v; continue }
            guard case .range(let lo, let hi, _) = k else { continue }
            if lo == hi { singles[lo] = v } else { intervals.append((lo, hi, v)) }
        }
        intervals.sort { $0.lo < $1.lo }
    }

    func lookup(_ key: UInt64) -> Value? {
        if let v = singles[key] { return v }
        var lo = 0, hi = intervals.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if intervals[mid].hi < key { lo = mid + 1 } else { hi = mid }
        }
        return lo < intervals.count && intervals[lo].lo <= key ? intervals[lo].value : catchAll
    }
}

/// A named map of IPv6 addresses: where a key finds its element, and each element's address and port.
struct DataMap6 {
    var keys: MapKeys
    let addrs: [UInt128], ports: [UInt64]
}

/// Where the key a rule reads finds a named map's element (its position), by the shape of the
/// map's key: one word (a concatenation packed into one among them) through a MapIndex; a wider
/// concatenation by its words (NFWideKey); a lone IPv6 address or interface name tried in order
/// (prefixes, ranges, wildcards); a concatenation with ranges in it tuple by tuple, its exact
/// tuples hashed. The catch-all element (`*`) answers a key no other holds.
struct MapKeys {
    enum Shape {
        case word(MapIndex<Int>)
        case words([[UInt64]: Int])
        case ordered([(NFValue, Int)])
        /// The tuples with the catch-all last (tupleMatches takes it for any key), their exact
        /// ones hashed, and each one's position in the map.
        case tuples([NFValue], ConcatIndex, [Int])
    }
    let shape: Shape
    let catchAll: Int?
    /// A map whose elements expire or that rules add to: the SetIndex that says which elements
    /// are live (and holds the data of those rules added), and the number it holds each under.
    var live: (index: SetIndex, held: [UInt64?])? = nil

    init(_ set: NFSet) {
        let sels = set.keys.map(\.selector)
        let positions = Array(set.elements.indices)
        catchAll = set.elements.firstIndex(of: .catchAll)
        if set.concat == nil {
            if sels[0].isAddress6 || sels[0].isString {
                shape = .ordered(zip(set.elements, positions).filter { $0.0 != .catchAll })
            } else {
                shape = .word(MapIndex(set.elements, positions))
            }
            return
        }
        if set.elements.contains(where: { $0 != .catchAll && NFWideKey.words($0) == nil }) {
            let order = positions.filter { set.elements[$0] != .catchAll } + (catchAll.map { [$0] } ?? [])
            let tuples = order.map { set.elements[$0] }
            shape = .tuples(tuples, ConcatIndex(tuples), order)
        } else if let widths = NFPackedKey.widths(sels) {
            shape = .word(MapIndex(set.elements.map { e in NFPackedKey.pack(e, widths).map { NFValue.range($0, $0, text: "") } ?? e }, positions))
        } else {
            var byWords: [[UInt64]: Int] = [:]
            for (k, e) in set.elements.enumerated() { if let w = NFWideKey.words(e) { byWords[w] = k } }
            shape = .words(byWords)
        }
    }
}

/// Base chains per hook in a fixed array: a dictionary keyed by the hook hashed its name (a
/// String raw value) on every hook a packet passed.
struct HookTable {
    private var slots: [[NetfilterState.HookEntry]?] = Array(repeating: nil, count: NFHook.allCases.count)
    subscript(h: NFHook) -> [NetfilterState.HookEntry]? {
        get { slots[h.slot] }
        set { slots[h.slot] = newValue }
    }
}

extension NFHook {
    /// Position among the hooks, for HookTable.
    var slot: Int {
        switch self {
        case .prerouting: 0
        case .input: 1
        case .forward: 2
        case .output: 3
        case .postrouting: 4
        case .ingress: 5
        case .egress: 6
        }
    }
}

/// A (table index, chain index) pair as one IntMap key.
enum PolicyKey {
    @inline(__always) static func of(_ table: Int, _ chain: Int) -> UInt64 { UInt64(table) << 32 | UInt64(chain) }
    static func table(_ k: UInt64) -> Int { Int(k >> 32) }
    static func chain(_ k: UInt64) -> Int { Int(k & 0xffff_ffff) }
}
