/// The nftables object model as `nft list ruleset` shows it: tables, chains, sets, rules with handles.

public enum NFFamily: String, Sendable, CaseIterable { case ip, inet, ip6, arp, bridge, netdev }

/// Netfilter hooks (include/uapi/linux/netfilter.h numbering).
public enum NFHook: String, Sendable, CaseIterable {
    case prerouting, input, forward, output, postrouting, ingress, egress
}

public enum NFChainType: String, Sendable { case filter, nat, route }

public enum NFVerdict: Sendable, Equatable {
    case accept, drop, `continue`, `return`
    case jump(String), goto(String)
    /// `queue [flags bypass,fanout] [to N[-M]]` (`num`, trailing `bypass`/`fanout` too): with no
    /// program listening on any of the queues (there is no userspace here) the kernel drops the
    /// packet, or accepts it with `bypass`; `last` ends a range of queues.
    case queue(num: Int, bypass: Bool, last: Int? = nil, fanout: Bool = false)

    public var text: String {
        switch self {
        case .accept: "accept"
        case .drop: "drop"
        case .continue: "continue"
        case .return: "return"
        case .jump(let c): "jump \(c)"
        case .goto(let c): "goto \(c)"
        case .queue(let n, _, let last, _):
            // nft 1.0.6's form: the flags first, the queue number always (tests/py/any/queue.t).
            "queue" + (queueFlags.isEmpty ? "" : " flags " + queueFlags.joined(separator: ",")) + " to \(n)" + (last.map { "-\($0)" } ?? "")
        }
    }

    /// A queue verdict's flags by nft's names, in its order.
    public var queueFlags: [String] {
        guard case .queue(_, let bypass, _, let fanout) = self else { return [] }
        return (bypass ? ["bypass"] : []) + (fanout ? ["fanout"] : [])
    }
}

/// A base chain's hook registration.
public struct NFBaseChain: Sendable, Equatable {
    public var type: NFChainType
    public var hook: NFHook
    public var priority: Int
    /// The devices a netdev (or inet ingress) chain is bound to, sorted by name as nft lists them
    /// (`devices = { eth0, eth1 }`; one is `device "eth0"`).
    public var devices: [String]
    public var policy: NFVerdict
    /// Declared without a policy: nft's cache lists it so (only in a batch's `list`, NFCacheOp).
    public var policyUnset = false
    public var device: String? { devices.first }
    public init(type: NFChainType, hook: NFHook, priority: Int, devices: [String] = [], policy: NFVerdict) {
        self.type = type; self.hook = hook; self.priority = priority; self.devices = devices.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        self.policy = policy
    }
}

/// A matched value: integers and addresses are intervals; names are strings.
public enum NFValue: Sendable, Hashable {
    /// An anonymous set or a named one: a lookup, not a comparison.
    public var isLookup: Bool { switch self { case .set, .named: true; default: false } }
    case range(UInt64, UInt64, text: String)
    /// An IPv6 address, prefix or range (128 bits).
    case range6(UInt128, UInt128, text: String)
    case string(String)
    /// A set of alternatives, each a range or string (anonymous set `{ a, b }` or a flag list `a,b`).
    case set([NFValue])
    case named(String)
    /// One value of a concatenated key (`1.1.1.1 . 22`), a part per selector.
    case tuple([NFValue])
    /// `*`, a map's catch-all element: what a key no other element holds maps to
    /// (nft_set_catchall_lookup, tried after the set's own lookup misses).
    case catchAll

    var isSet: Bool { if case .set = self { true } else { false } }
    /// One value (a range or prefix is not; a string with a wildcard is not).
    var isSingle: Bool {
        switch self {
        case .range(let lo, let hi, _): lo == hi
        case .range6(let lo, let hi, _): lo == hi
        case .string(let s): !s.hasSuffix("*")
        default: false
        }
    }
}

/// A relational operator. `implicit` is a match written without one: equality, except for flag
/// types (ct state, ct status, tcp flags), where it means "any of these bits" (as nft's bytecode
/// shows: bitwise and, cmp neq 0); an explicit `==`/`!=` compares the whole value there.
public enum NFOp: String, Sendable { case implicit = "in", eq = "==", ne = "!=", lt = "<", gt = ">", le = "<=", ge = ">=" }

/// `log` options as nft_log keeps them (include/uapi/linux/netfilter/nf_log.h flag bits).
public struct NFLog: Sendable, Equatable {
    public static let tcpSequence: UInt8 = 0x01, tcpOptions: UInt8 = 0x02, ipOptions: UInt8 = 0x04, skuid: UInt8 = 0x08
    public static let ether: UInt8 = 0x20, all: UInt8 = 0x2f
    public static let levels = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug", "audit"]
    public var prefix: String?
    /// nflog group: the packet goes to userspace listeners of the group instead of the kernel log.
    public var group: Int?
    public var snaplen: Int?
    public var queueThreshold: Int?
    /// Syslog level name; nil is the default, warn.
    public var level: String?
    public var flags: UInt8 = 0
    public init(prefix: String? = nil) { self.prefix = prefix }
}

/// NAT flags (NF_NAT_RANGE_PROTO_RANDOM, _PROTO_RANDOM_FULLY, _PERSISTENT): how nf_nat picks.
public struct NFNATFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// A random port even when the original one is free (get_random_u16 here from the stack's seed).
    public static let random = NFNATFlags(rawValue: 1)
    public static let fullyRandom = NFNATFlags(rawValue: 2)
    /// The same address for a source whatever the destination (the address hash leaves it out).
    public static let persistent = NFNATFlags(rawValue: 4)
    /// `prefix` (NF_NAT_RANGE_NETMAP): the packet's address keeps its host part, the range gives the
    /// network part (nft_nat_setup_netmap). Listed before `to`, so not among `names`.
    public static let netmap = NFNATFlags(rawValue: 8)
    /// In the order nft lists them.
    public static let names: [(String, NFNATFlags)] = [("random", .random), ("fully-random", .fullyRandom), ("persistent", .persistent)]
    public var names: [String] { NFNATFlags.names.filter { contains($0.1) }.map(\.0) }
    /// Either random flag (NF_NAT_RANGE_PROTO_RANDOM_ALL).
    public var randomPort: Bool { !isDisjoint(with: [.random, .fullyRandom]) }
}

public enum NFDynsetOp: String, Sendable { case add, update, delete }

/// The data a rule stores with an element it adds to a map (nft_dynset's sreg_data): a value, or
/// a field of the packet (`add @m { ip saddr : ip daddr }`).
public enum NFDynData: Sendable, Equatable {
    /// A value, printed as a value of the field the map's data type stands for.
    case value(UInt64, NFSelector)
    case selector(NFSelector)
}

public enum NFObjectKind: String, Sendable, CaseIterable {
    case counter, quota, limit
    case ctHelper = "ct helper", ctTimeout = "ct timeout", ctExpectation = "ct expectation"
    case synproxy
    /// A conntrack object: rules attach it with `ct KIND set "x"` rather than naming it.
    public var isConntrack: Bool { self == .ctHelper || self == .ctTimeout || self == .ctExpectation }
    /// Added again, an object of this kind takes the new settings (its type has an `update`
    /// operation: nft_quota, nft_synproxy); the others keep theirs (recorded: a counter keeps its
    /// packets and bytes, a limit its rate).
    public var updatable: Bool { self == .quota || self == .synproxy }
}

/// `struct nf_synproxy_info`: the MSS and window scale the SYN-ACK offers, and which options
/// (NF_SYNPROXY_OPT_*) it passes on from the client's SYN.
public struct NFSynproxy: Sendable, Equatable {
    public static let optMSS: UInt32 = 1, optWscale: UInt32 = 2, optSackPerm: UInt32 = 4, optTimestamp: UInt32 = 8, optECN: UInt32 = 16
    public var mss: UInt16 = 0
    public var wscale: UInt8 = 0
    public var flags: UInt32 = 0
    public init(mss: UInt16 = 0, wscale: UInt8 = 0, flags: UInt32 = 0) { self.mss = mss; self.wscale = wscale; self.flags = flags }
}

/// The layer-3 family a conntrack object applies to (`l3proto ip|ip6|inet`; NFPROTO_* numbers).
public enum NFL3Proto: UInt8, Sendable { case inet = 1, ip = 2, ip6 = 10
    public var name: String { self == .inet ? "inet" : self == .ip ? "ip" : "ip6" }
    /// Whether it applies to a connection of that family.
    public func covers(v6: Bool) -> Bool { self == .inet || (self == .ip6) == v6 }
}

/// The settings of a conntrack object (nft_ct's helper, timeout and expectation objects).
public enum NFCtObject: Sendable, Equatable {
    /// `type "ftp" protocol tcp; l3proto ip`: the conntrack helper it attaches.
    case helper(type: String, proto: UInt8, l3: NFL3Proto)
    /// `protocol tcp; l3proto ip; policy = { established : 122 }`: every state's timeout in
    /// seconds, in the protocol's state order (the defaults where the policy says nothing).
    case timeout(proto: UInt8, l3: NFL3Proto, seconds: [UInt32])
    /// `protocol udp; dport 5004; timeout 1m; size 2; l3proto ip`: the connection it expects from
    /// the peer, for how long (ms), and how many at once.
    case expectation(proto: UInt8, dport: UInt16, timeoutMs: UInt64, size: UInt8, l3: NFL3Proto)

    /// nft's state names for a timeout policy (tcp_state_to_name, udp's), in the kernel's order,
    /// with the kernel's default timeouts.
    public static func timeoutStates(_ proto: UInt8) -> [(name: String, seconds: UInt32)] {
        proto == 6 ? [("syn_sent", 120), ("syn_recv", 60), ("established", 432_000), ("fin_wait", 120), ("close_wait", 60),
                      ("last_ack", 30), ("time_wait", 120), ("close", 10), ("syn_sent2", 120), ("retrans", 300), ("unack", 300)]
            : [("unreplied", 30), ("replied", 120)]
    }
}

/// A named stateful object (`counter c1 { packets 0 bytes 0 }`, `quota q1 { 25 mbytes }`,
/// `limit l1 { rate 400/minute }`): the statement it behaves as, shared by the rules naming it.
public struct NFObject: Sendable, Equatable {
    public var kind: NFObjectKind
    public var name: String
    public var handle: Int
    public var statement: NFStatement
    public var comment: String? = nil
}

/// How a `limit` counts: packets, or bytes (`limit rate 10 mbytes/second`).
public enum NFLimitUnit: Sendable, Equatable { case packets, bytes }

public enum NFStatement: Sendable, Equatable {
    /// `sel [& mask] op value`
    case match(NFSelector, mask: UInt64?, op: NFOp, value: NFValue)
    /// `ip6 saddr & ::ffff == ::1`: an IPv6 address under a mask that is no prefix (a prefix one
    /// lists as the prefix); `op` is `.eq` or `.ne`.
    case match6Masked(NFSelector, mask: UInt128, op: NFOp, value: UInt128)
    /// `counter [packets N bytes M]`: the values it starts from.
    case counter(packets: Int, bytes: Int)
    /// `sel | bits == value` (nft keeps the or in its listing).
    case matchOr(NFSelector, or: UInt64, op: NFOp, value: NFValue)
    /// A rate of `rate` packets (or bytes) per `perNs`, with a burst in the same unit.
    case limit(rate: UInt64, perNs: UInt64, burst: UInt64, over: Bool, unit: NFLimitUnit)
    case log(NFLog)
    /// `quota [over] N bytes [used M bytes]`: matches until N bytes have passed (with `over`, after).
    case quota(bytes: UInt64, over: Bool, used: UInt64)
    case setMark(UInt32)
    case setCtMark(UInt32)
    /// `meta mark set ct mark & 0xff | 0x1`, `meta priority set 1:2`: the target gets
    /// (source & mask) ^ xor, as nft_bitwise computes it (no source: the constant xor); with a
    /// shift (`(meta mark | 0x10) << 8`, `ct mark >> 8 & 0xff`: positive left, negative right),
    /// nft_bitwise's shift follows, then a second mask and xor.
    case setExpr(target: NFSelector, source: NFSelector?, mask: UInt32, xor: UInt32, shift: Int = 0, postMask: UInt32 = .max, postXor: UInt32 = 0)
    /// `ip dscp set af23`, `tcp option maxseg size set 1360`: a header field written with a constant
    /// (nft_payload_set_eval / nft_exthdr_tcp_set_eval), the value as it is listed.
    case setPayload(NFSelector, NFValue)
    /// `tcp option maxseg size set rt mtu`: a field written with what another expression reads.
    case setPayloadFrom(NFSelector, NFSelector)
    /// `reset tcp option mptcp`: the first option of that kind becomes NOPs (nft_exthdr_tcp_strip_eval).
    case resetTCPOption(UInt8)
    /// `meta mark|ct mark|meta priority set KEY map { K : V }`: the value the key's entry names.
    case setMapped(target: NFSelector, key: [NFSelector], entries: [(NFValue, UInt64)])
    /// `ip6 saddr|daddr set KEY map { K : ADDR6 }`: the IPv6 address the key's entry names.
    case setMapped6(target: NFSelector, key: [NFSelector], entries: [(NFValue, UInt128)])
    /// `meta mark|ct mark|meta priority set GENERATOR`.
    case setGenerated(target: NFSelector, NFGenerator)
    /// `GENERATOR vmap { N : verdict }`.
    case generatorVmap(NFGenerator, [(NFValue, NFVerdict)])
    /// `numgen random mod 2147483648 < 536870912`, `jhash ip saddr mod 4 { 0, 2 }`: the generated
    /// number compared (iptables' `-m statistic --mode random` as iptables-nft lists it).
    case generatorMatch(NFGenerator, NFOp, NFValue)
    /// `snat|dnat [ip] [prefix] to KEY map { K : DATA }`.
    case natMap(NFNATMap)
    /// `counter|quota|limit name "x"`: a named object of the table.
    case objref(NFObjectKind, String)
    /// `counter|quota|limit name KEY map { K : "x" }`.
    case objrefMap(NFObjectKind, [NFSelector], [(NFValue, String)])
    /// `counter|quota|limit|synproxy name KEY map @m`: a named map of objects.
    case objrefMapNamed(NFObjectKind, [NFSelector], String)
    /// `add|update|delete @s { KEY [timeout T] }` (nft_dynset); KEY one field or a concatenation
    /// (`ip saddr . tcp dport`, read into one 64-bit key: see `NFPackedKey`).
    /// `exprs`: stateful statements each element gets its own instance of (`{ ip saddr limit rate
    /// over 10/second }`, `counter`, `quota`, `ct count over N`), evaluated on the element.
    /// `data`: a map's (`add @m { ip saddr : 0x1 }`), stored with an element the rule makes.
    /// `values`: parts of the key that are values, not fields (`ip saddr . 234`), by position
    /// (empty: none); such a part's selector is the set's key type's.
    case dynset(op: NFDynsetOp, set: String, key: [NFSelector], timeout: UInt64?, exprs: [NFStatement] = [], data: NFDynData? = nil, values: [NFValue?] = [])
    /// `meter NAME size N { KEY [timeout T] EXPRS }`: an update of the meter's own dynamic set.
    case meter(name: String, size: Int, key: [NFSelector], timeout: UInt64?, exprs: [NFStatement])
    /// `ct count [over] N` (nft_connlimit): the connections counted for the rule, or for a set element.
    case ctCount(count: UInt32, over: Bool)
    /// `meta mark|ct mark set KEY map @m`: the value a named data map gives the key.
    case setMappedNamed(target: NFSelector, key: [NFSelector], map: String)
    /// `snat|dnat [ip] to KEY map @m`: the address a named `: ipv4_addr` map gives the key.
    /// `withPort`: the map gives an address and a port (`: ipv4_addr . inet_service`), which nft
    /// lists with the family (`dnat ip to tcp dport map @m`).
    case natMapNamed(source: Bool, key: [NFSelector], map: String, flags: NFNATFlags, withPort: Bool = false, v6: Bool = false)
    /// `@ll|@nh|@th,OFFSET,LENGTH [& MASK] [op] VALUE`: raw payload bits from a header base, where no
    /// template names them (nft lists `@th,16,16` as `tcp dport` when the context says tcp).
    case rawMatch(NFPayloadField, mask: UInt64?, op: NFOp, value: NFValue)
    /// `tcp option @KIND,OFFSET,LENGTH VALUE`: bits of the first option of that kind (nft_exthdr).
    case tcpOptionRaw(kind: UInt8, bitOffset: Int, bitLength: Int, op: NFOp, value: NFValue)
    /// Raw payload bits wider than 64 (`@ll,0,128 0xfedc...`, whole bytes, one value): equal or not.
    case rawMatchWide(NFPayloadField, negate: Bool, value: UInt128)
    /// `ipsec in|out [spnum N] reqid|spi|ip saddr|... [op] VALUE` (nft_xfrm): a key of the IPsec
    /// state that decrypted the packet (in) or will encrypt it (out).
    case xfrm(NFXfrm, op: NFOp, value: NFValue)
    /// `meta nftrace set 0|1`: marks the packet for `nft monitor trace` (the `nftrace` trace mode).
    case setNftrace(Bool)
    /// A conntrack object's settings (only as a named object's statement; rules refer to it).
    case ctObject(NFCtObject)
    /// `ct event set new,destroy`: the events (IPCT_* bits) the entry reports.
    case setCtEvent(UInt16)
    /// `synproxy [mss N] [wscale N] [timestamp] [sack-perm]` (nft_synproxy), or a synproxy
    /// object's settings.
    case synproxy(NFSynproxy)
    case notrack
    /// `dup to ADDR [device "x"]`, `dup to KEY map { K : ADDR } [device "x"]` (nf_dup_ipv4).
    case dup(NFDup)
    /// `tproxy [ip|ip6] to [ADDR][:PORT]` (nft_tproxy): the packet gets the socket found there.
    case tproxy(NFTProxy)
    /// `fwd to DEVICE` (nft_fwd_netdev: the frame out of another device), `fwd ip|ip6 to ADDR
    /// device DEVICE` (nft_fwd_neigh: to that neighbour, one hop less); netdev ingress only.
    case fwd(NFFwd)
    /// `xt match set`: iptables' `-m set` (an ipset lookup), loaded as iptables-nft loads it.
    case xtSet(NFXtSetMatch)
    /// `xt target SET`: iptables' `-j SET`, adding the packet to an ipset or deleting it from one.
    case xtSetTarget(NFXtSetTarget)
    /// `xt target CONNMARK`: iptables' `-j CONNMARK --save-mark|--restore-mark` with masks, which
    /// nft cannot say (two sources in one value).
    case xtConnmark(NFXtConnmark)
    /// `xt match conntrack`: iptables' `-m conntrack --ctstate` naming SNAT or DNAT, a NAT status
    /// among the states (nft cannot say "this state or that status").
    case xtConntrack(NFXtConntrack)
    /// `xt match multiport`: iptables' `-m multiport [!] --ports LIST`, either port in the list.
    case xtMultiport(NFXtMultiport)
    /// `xt match recent`: iptables' `-m recent` (xt_recent's lists of recent addresses).
    case xtRecent(NFXtRecent)
    /// `xt match owner`: iptables' `-m owner` with what nft's skuid/skgid cannot say (a socket's
    /// existence, both ids, owner-less kernel sockets under a negation).
    case xtOwner(NFXtOwner)
    /// `xt match connlimit`: iptables' `-m connlimit`, connections counted per (masked) address.
    case xtConnlimit(NFXtConnlimit)
    /// Another xtables match or target, as nft lists one iptables-nft loaded: only in a rule's
    /// `listed` expressions (what the rule does is in its statements).
    case xt(NFXtExpr)
    case verdict(NFVerdict)
    case vmap(NFSelector, [(NFValue, NFVerdict)])
    /// `sel vmap @m`: a named verdict map.
    case vmapNamed(NFSelector, String)
    /// `ip saddr . tcp dport { 1.1.1.1 . 22 }` or `@s`: every part of the key compared at once.
    case concatMatch([NFSelector], op: NFOp, value: NFValue)
    case concatVmap([NFSelector], [(NFValue, NFVerdict)])
    /// `ip daddr . meta l4proto . th dport vmap @m` (kube-proxy's service map).
    case concatVmapNamed([NFSelector], String)
    case snat(addr: UInt32?, addrHi: UInt32?, port: UInt16?, portHi: UInt16?, flags: NFNATFlags = [])
    case dnat(addr: UInt32?, addrHi: UInt32?, port: UInt16?, portHi: UInt16?, flags: NFNATFlags = [])
    /// `snat|dnat [ip6] to ADDR[-ADDR]` or `to [ADDR][-[ADDR]]:PORT[-PORT]`: NAT66 to IPv6 addresses.
    case nat6(source: Bool, addr: UInt128, addrHi: UInt128?, port: UInt16?, portHi: UInt16?, flags: NFNATFlags = [])
    case masquerade(port: UInt16?, portHi: UInt16?, flags: NFNATFlags = [])
    case redirect(port: UInt16?, portHi: UInt16?, flags: NFNATFlags = [])
    /// `redirect|masquerade to :KEY map { K : PORT, ... }`: the port a map gives the key.
    case natPortMap(masquerade: Bool, key: NFSelector, entries: [(NFValue, UInt16)], flags: NFNATFlags = [])
    /// `reject` (ICMP port unreachable), `with icmp type X` (code), `with tcp reset`.
    case reject(tcpReset: Bool, icmpCode: UInt8, icmpx: Bool = false)
    /// `reject with icmpv6 CODE` (inet): for IPv6 packets only.
    case rejectICMPv6(UInt8)

    public static func == (l: NFStatement, r: NFStatement) -> Bool { "\(l)" == "\(r)" }

    /// Whether it reads `rt mtu` (which only some hooks have).
    public var readsRouteMTU: Bool {
        switch self {
        case .match(let s, _, _, _): s.rawValue == "rt mtu"
        case .setPayloadFrom(_, let s): s.rawValue == "rt mtu"
        default: false
        }
    }

    /// Whether it reads a `socket` key (nft_socket_validate: prerouting, input and output only).
    public var readsSocket: Bool {
        if case .match(let s, _, _, _) = self { return s.isSocket }
        return false
    }

    /// The hooks the kernel's `validate` allows the statement at (nil: any): tproxy before routing,
    /// socket keys, osf, sdif and `rt mtu` where those exist.
    public var allowedHooks: Set<NFHook>? {
        if case .tproxy = self { return [.prerouting] }
        if isSynproxy { return [.input, .forward] }
        if readsSocket { return [.prerouting, .input, .output] }
        if readsOSF { return [.input, .prerouting, .forward] }
        if readsSdif { return [.input, .forward] }
        if readsRouteMTU { return [.forward, .output, .postrouting] }
        return nil
    }

    /// `synproxy`, or a synproxy object named (nft_synproxy_validate: input and forward).
    public var isSynproxy: Bool {
        switch self {
        case .synproxy, .objref(.synproxy, _), .objrefMap(.synproxy, _, _), .objrefMapNamed(.synproxy, _, _): true
        default: false
        }
    }

    /// An osf key anywhere in the statement (nft_osf_validate: input, prerouting and forward of ip and inet).
    public var readsOSF: Bool { reads(\.isOSF) }
    /// `meta sdif|sdifname` (nft_meta_get_validate_sdif: input and forward).
    public var readsSdif: Bool { reads(\.isSdif) }
    private func reads(_ which: (NFSelector) -> Bool) -> Bool {
        switch self {
        case .match(let s, _, _, _), .vmap(let s, _): return which(s)
        case .setMapped(_, let keys, _), .setMapped6(_, let keys, _), .concatMatch(let keys, _, _), .concatVmap(let keys, _): return keys.contains(where: which)
        default: return false
        }
    }

    /// The fields a statement reads or writes anywhere in it: its match, keys, sources and targets.
    /// A header field of one family among them makes an inet rule's `meta nfproto` redundant
    /// (nft's payload_dependency_kill drops it from the listing).
    public var fields: [NFSelector] {
        func gen(_ g: NFGenerator) -> [NFSelector] { if case .jhash(let sels, _, _, _) = g { sels } else { [] } }
        switch self {
        case .match(let s, _, _, _), .match6Masked(let s, _, _, _), .matchOr(let s, _, _, _), .vmap(let s, _), .vmapNamed(let s, _),
             .setPayload(let s, _), .natPortMap(_, let s, _, _):
            return [s]
        case .objrefMap(_, let keys, _), .objrefMapNamed(_, let keys, _): return keys
        case .setExpr(let t, let src, _, _, _, _, _): return [t] + (src.map { [$0] } ?? [])
        case .setPayloadFrom(let t, let src): return [t, src]
        case .setMapped(let t, let keys, _), .setMapped6(let t, let keys, _), .setMappedNamed(let t, let keys, _): return [t] + keys
        case .setGenerated(let t, let g): return [t] + gen(g)
        case .generatorVmap(let g, _), .generatorMatch(let g, _, _): return gen(g)
        case .natMap(let m):
            switch m.key { case .selector(let s): return [s]; case .concat(let sels): return sels; case .generator(let g): return gen(g) }
        case .dynset(_, _, let keys, _, _, let data, let values):
            // The key's fields (not its values), and a map's data field.
            let fields = keys.indices.filter { $0 >= values.count || values[$0] == nil }.map { keys[$0] }
            if case .selector(let d)? = data { return fields + [d] }
            return fields
        case .meter(_, _, let keys, _, _), .natMapNamed(_, let keys, _, _, _, _),
             .concatMatch(let keys, _, _), .concatVmap(let keys, _), .concatVmapNamed(let keys, _):
            return keys
        case .dup(let d): return d.key.map { [$0] } ?? []
        case .fwd(let f): return f.key.map { [$0] } ?? []
        default: return []
        }
    }

    /// Whether it reads or writes conntrack (a `ct` key, mark, zone, label, event or count, a ct object).
    public var usesConntrack: Bool {
        switch self {
        case .setCtMark, .ctCount, .setCtEvent, .ctObject: return true
        case .objref(let kind, _), .objrefMap(let kind, _, _), .objrefMapNamed(let kind, _, _): return kind.isConntrack
        default: return fields.contains { $0.rawValue.hasPrefix("ct ") }
        }
    }

    /// Verdicts, reject and NAT end a rule: nft refuses any statement after one.
    public var isTerminal: Bool {
        switch self {
        // A verdict map is not one (nft lets `vmap { ... } counter` through: continue goes on).
        case .verdict, .reject, .rejectICMPv6, .snat, .dnat, .nat6, .masquerade, .redirect, .natMap, .natMapNamed, .natPortMap, .fwd: true
        default: false
        }
    }
}

/// Where `dup` sends its copy: one gateway, or the one a map gives the key; by a device if named.
public struct NFDup: Sendable, Equatable {
    public var addr: UInt32?
    public var key: NFSelector?
    public var entries: [(NFValue, UInt32)] = []
    public var device: String?
    /// A netdev table's `dup to KEY map { K : "DEVICE", ... }`: the device the key finds.
    public var devices: [(NFValue, String)] = []
    public init(addr: UInt32? = nil, key: NFSelector? = nil, entries: [(NFValue, UInt32)] = [], device: String? = nil) {
        self.addr = addr; self.key = key; self.entries = entries; self.device = device
    }
    public static func == (l: NFDup, r: NFDup) -> Bool { "\(l)" == "\(r)" }
    /// A netdev table's `dup to "DEVICE"` or device map: the frame copied out of a device, no address.
    public var toDevice: Bool { addr == nil && (key == nil || !devices.isEmpty) }
}

/// Where `fwd` sends the packet: a device, and for `fwd ip|ip6 to` the neighbour's address (as written).
public struct NFFwd: Sendable, Equatable {
    public var device: String
    public var family: NFFamily? = nil
    public var addr: UInt32? = nil
    public var addr6: UInt128? = nil
    public var addrText: String? = nil
    /// `fwd to KEY map { K : "DEVICE", ... }`: the device the packet's key finds (none: the rule breaks).
    public var key: NFSelector? = nil
    public var devices: [(NFValue, String)] = []
    public init(device: String) { self.device = device }
    public static func == (l: NFFwd, r: NFFwd) -> Bool { "\(l)" == "\(r)" }
}

/// Where `tproxy` looks for a socket: the address (zero: the receiving device's) and port (zero:
/// the packet's); `family` as written in an inet table (nil: either family, no address).
public struct NFTProxy: Sendable, Equatable {
    public var family: NFFamily?
    public var addr: UInt32?
    public var addr6: UInt128?
    public var port: UInt16?
    public init(family: NFFamily? = nil, addr: UInt32? = nil, addr6: UInt128? = nil, port: UInt16? = nil) {
        self.family = family; self.addr = addr; self.addr6 = addr6; self.port = port
    }
}

/// Where the state of a rule's counter, quota or limit is kept: the first of its kind in the rule
/// under the rule's handle, later ones (`counter ip saddr 1.1.1.1 counter`: each has its own, as
/// each nft expression does) under a key no handle takes.
public enum NFStateKey {
    public static func of(rule handle: Int, nth: Int) -> Int { nth == 0 ? handle : -(handle << 8 | nth) }
    /// The key of each statement of `stmts` (meaningful for counter, quota and limit ones).
    public static func keys(_ stmts: [NFStatement], rule handle: Int) -> [Int] {
        var seen: [Int: Int] = [:]
        return stmts.map { s in
            let kind: Int
            switch s {
            case .counter: kind = 0
            case .quota: kind = 1
            case .limit: kind = 2
            default: return handle
            }
            defer { seen[kind, default: 0] += 1 }
            return of(rule: handle, nth: seen[kind] ?? 0)
        }
    }
}

public struct NFRule: Sendable, Equatable {
    public var handle: Int
    public var statements: [NFStatement]
    /// The rule as `nft list ruleset` prints it (without counters and handle).
    public var text: String
    public var comment: String? = nil
    /// The `iptables-save` line the rule was translated from (`-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT`).
    public var iptables: String? = nil
    /// `!=` matches nft 1.0.6 merged into one compare (`tcp sport != 22 tcp dport != 23` is one
    /// `cmp neq` of both ports): the rule goes on when any of them differs. Statement indices.
    public var neqMerged: [Range<Int>] = []
    /// How nft lists a rule iptables-nft loaded: the expressions as the kernel holds them, xtables
    /// ones as `.xt` (nil: as `statements`). Checkpoints keep `statements`; the iptables line
    /// gives this back when they are read.
    public var listed: [NFStatement]? = nil
}

public struct NFChain: Sendable, Equatable {
    public var name: String
    public var handle: Int
    public var base: NFBaseChain?
    public var rules: [NFRule]
    public var comment: String? = nil
}

public enum NFSetKey: String, Sendable, CaseIterable {
    case ipv4_addr, ipv6_addr, inet_service, inet_proto, ifname, iface_index, mark, ether_addr
    case icmp_type, icmpv6_type, tcp_flag, ct_state, dscp, ether_type, pkt_type, nf_proto, uid, gid
}

/// What an element may say besides its key: `comment "..."`, `timeout T`, `expires T` (ms).
public struct NFElementInfo: Sendable, Equatable {
    public var comment: String? = nil
    public var timeout: UInt64? = nil
    public var expires: UInt64? = nil
    /// The element's stateful expressions as listed (`counter packets 2 bytes 58`, `ct count over 2`).
    public var exprs: String? = nil
    /// The same read from a ruleset's text (`nft list ruleset` fed back): the state they carry
    /// (counts, quota used) is the element's when the ruleset loads.
    public var statements: [NFStatement] = []
    public init(comment: String? = nil, timeout: UInt64? = nil, expires: UInt64? = nil, exprs: String? = nil) {
        self.comment = comment; self.timeout = timeout; self.expires = expires; self.exprs = exprs
    }
}

public struct NFSet: Sendable, Equatable {
    public var name: String
    public var handle: Int
    public var key: NFSetKey
    public var interval: Bool
    public var elements: [NFValue]
    /// For maps: element -> verdict (verdict maps); nil for plain sets.
    public var verdicts: [NFVerdict]?
    /// For data maps (`type inet_service : ipv4_addr`): the data type and each element's value.
    public var dataType: NFSetKey? = nil
    public var data: [UInt64]? = nil
    /// A data map of IPv6 addresses (`: ipv6_addr [. inet_service]`): each element's address here,
    /// and in `data` its port (0 without one).
    public var data6: [UInt128]? = nil
    /// A map of named objects (`type ipv4_addr : counter`): their kind, and each element's object.
    public var objectKind: NFObjectKind? = nil
    public var objectNames: [String]? = nil
    /// A map of either kind (verdicts or data).
    public var isMap: Bool { verdicts != nil || data != nil || objectNames != nil }
    /// `size N`: the most elements it takes (more is ENFILE).
    public var size: Int? = nil
    /// A concatenated key (`type ipv4_addr . inet_service`): its parts, first one in `key`.
    public var concat: [NFSetKey]? = nil
    public var keys: [NFSetKey] { concat ?? [key] }
    public var comment: String? = nil
    /// Each element's comment (kube-proxy names its services so), timeout and time left, by position.
    public var elementInfo: [NFElementInfo] = []
    public func info(_ k: Int) -> NFElementInfo { k < elementInfo.count ? elementInfo[k] : NFElementInfo() }
    public func elementComment(_ k: Int) -> String? { info(k).comment }
    /// Adds elements with what was said of each, keeping the positions of both in step.
    public mutating func append(_ vals: [NFValue], info: [NFElementInfo]) {
        if elementInfo.count < elements.count { elementInfo += [NFElementInfo](repeating: NFElementInfo(), count: elements.count - elementInfo.count) }
        elements += vals
        elementInfo += info
    }
    /// Puts the elements (and what goes with each) in the order of `rank`, equal ranks as they were.
    public mutating func reorder(by rank: (NFValue) -> Int) {
        let order = elements.indices.sorted { (rank(elements[$0]), $0) < (rank(elements[$1]), $1) }
        guard order != Array(elements.indices) else { return }
        elements = order.map { elements[$0] }
        if elementInfo.count == order.count { elementInfo = order.map { elementInfo[$0] } }
        verdicts = verdicts.map { vs in order.map { vs[$0] } }
        data = data.map { ds in order.map { ds[$0] } }
        data6 = data6.map { ds in order.map { ds[$0] } }
        objectNames = objectNames.map { ns in order.map { ns[$0] } }
    }
    public mutating func removeElement(at k: Int) {
        elements.remove(at: k)
        if k < elementInfo.count { elementInfo.remove(at: k) }
        if verdicts != nil { verdicts!.remove(at: k) }
        if data != nil { data!.remove(at: k) }
        if data6 != nil { data6!.remove(at: k) }
        if objectNames != nil { objectNames!.remove(at: k) }
    }
    /// `flags dynamic`: rules add and update elements (`add @s { ... }`).
    public var dynamic = false
    /// The set a `meter` statement made: nft does not list it with the table's sets.
    public var meter = false
    /// `flags timeout` (or a timeout given): elements expire.
    public var timeouts = false
    /// `timeout T`: how long an element lives by default, and `gc-interval T`; milliseconds.
    public var timeout: UInt64? = nil
    public var gcInterval: UInt64? = nil
    /// A map of an address and a port (`: ipv4_addr . inet_service`, a NAT map's): each data value
    /// is the IPv4 address shifted over the port (IPv6: the address in `data6`, the port in `data`).
    public var dataPort = false
    /// Declared with `typeof` (its key and data as expressions, nft lists them so): their text.
    public var typeofText: String? = nil
    /// The set's own statements (`counter;` in its declaration, nft's set expressions): each
    /// element gets its own instance, those rules add too.
    public var exprs: [NFStatement] = []
    /// Its elements change at run time: rules add to it, they expire, or they carry state that
    /// packets change (statements of their own or the set's). Its listing is the live one.
    public var changesAtRunTime: Bool { dynamic || timeouts || !exprs.isEmpty || elementInfo.contains { !$0.statements.isEmpty } }
    /// Listed in the order of `elements` (what `get element` found, in the order asked).
    public var inGivenOrder = false
    /// A rule adds to it (nft_dynset binds it): then it is dynamic whatever its flags said.
    public var ruleAdds = false
    /// `size N`, or 65535 for a set a rule adds to that names none (nft gives it that size when
    /// a rule binds it; `flags dynamic` alone lists no size).
    public var effectiveSize: Int? { size ?? (ruleAdds ? 65535 : nil) }
    /// `flags constant`: listed; the set's size is the kernel's (see the parser), never listed.
    public var constant = false
    /// `policy memory` (the default, performance, is not listed).
    public var policyMemory = false
    /// `auto-merge` on an interval set: overlapping and touching elements become one.
    public var autoMerges = false

    /// nft's automerge (set_automerge): the elements sorted (as the kernel's tree holds them, which
    /// nft -j lists) and every run of overlapping or touching ones joined into one range, the first
    /// one's comment and timeout kept. Plain interval sets only.
    public mutating func autoMerge() {
        guard autoMerges, !isMap, concat == nil, elements.count > 1 else { return }
        let sel = key.selector
        let order = NFPrinter.sortedOrder(elements)
        var merged: [(value: NFValue, info: NFElementInfo, lo: UInt128, hi: UInt128, members: Int)] = []
        for k in order {
            let (lo, hi): (UInt128, UInt128)
            switch elements[k] {
            case .range(let a, let b, _): (lo, hi) = (UInt128(a), UInt128(b))
            case .range6(let a, let b, _): (lo, hi) = (a, b)
            default: merged.append((elements[k], info(k), 0, 0, 0)); continue
            }
            if let last = merged.last, last.members > 0, last.hi != .max, lo <= last.hi + 1 {
                let nhi = max(hi, last.hi)
                let text = sel.isAddress6 ? NFPrinter.ipv6Range(last.lo, nhi)
                    : sel.isAddress ? NFPrinter.ipv4Range(UInt32(last.lo), UInt32(nhi))
                    : "\(NFPrinter.number(UInt64(last.lo), sel))-\(NFPrinter.number(UInt64(nhi), sel))"
                let v: NFValue = sel.isAddress6 ? .range6(last.lo, nhi, text: text) : .range(UInt64(last.lo), UInt64(nhi), text: text)
                merged[merged.count - 1] = (nhi == last.hi ? last.value : v, last.info, last.lo, nhi, last.members + 1)
            } else {
                merged.append((elements[k], info(k), lo, hi, 1))
            }
        }
        elements = merged.map(\.value)
        elementInfo = merged.map(\.info)
    }
}

public struct NFTable: Sendable, Equatable {
    public var family: NFFamily
    public var name: String
    public var handle: Int
    public var chains: [NFChain]
    public var sets: [NFSet]
    public var objects: [NFObject] = []
    /// Next handle the table hands out (chains, sets and rules share the counter).
    public var nextHandle: Int
    /// `flags dormant`: the table is loaded but its chains are not registered on any hook.
    public var dormant = false
    public var comment: String? = nil
    public var id: String { "\(family.rawValue) \(name)" }
}

public struct NFRuleset: Sendable, Equatable {
    public var tables: [NFTable]
    /// `reset counters|quotas ...` commands still to apply to the state of named objects: the
    /// objects' (table index, handle). Not part of the ruleset's text; the stack consumes them.
    public var resets: [(table: Int, handle: Int)] = []
    /// `list ...` commands of the batch: `nft -f` prints them from its cache (`cacheOps`).
    public var lists: [NFListRequest] = []
    /// What the batch did to nft's cache, which its `list` commands print (kept only for a batch
    /// with one; see NFCacheOp).
    public var cacheOps: [NFCacheOp] = []
    /// What commands did to the elements rules added, which the ruleset's text does not hold:
    /// sets flushed, and elements deleted that no declaration held (each with the refusal the
    /// kernel gives if the set does not hold it either). The stack consumes them.
    public var elementChanges: [NFElementChange] = []
    public init(tables: [NFTable] = []) { self.tables = tables }
    public static func == (l: NFRuleset, r: NFRuleset) -> Bool {
        l.tables == r.tables && l.resets.map(\.table) == r.resets.map(\.table) && l.resets.map(\.handle) == r.resets.map(\.handle)
    }
}

/// A command's change to a set's live elements (see NFRuleset.elementChanges).
public enum NFElementChange: Sendable {
    case flush(NFFamily, table: String, set: String)
    case delete(NFFamily, table: String, set: String, NFValue, ifMissing: NFSyntaxError?)
    /// `get element`: changes nothing, but the set must hold the value.
    case present(NFFamily, table: String, set: String, NFValue, ifMissing: NFSyntaxError)
}

/// What a `list` command asks for.
public enum NFListRequest: Sendable, Equatable {
    case ruleset(NFFamily?)
    case tables(NFFamily?)
    case table(NFFamily, String)
    case chain(NFFamily, String, String)
    /// A set or a map.
    case set(NFFamily, String, String)
    /// `list counters|quotas|limits|sets|maps|chains|meters|flowtables|ct helpers|ct timeouts|ct
    /// expectations [FAMILY | table FAMILY NAME]`: every table, each with only those things.
    case all(NFListKind, NFFamily?, table: String?)
    /// `list counter|quota|limit|ct helper|ct timeout|ct expectation FAMILY TABLE NAME`.
    case object(NFObjectKind, NFFamily, String, String)
    /// `get element FAMILY TABLE SET { V, ... }`: the set with the elements holding those values.
    case elements(NFFamily, String, String, [NFValue])
}

/// What a plural `list` command shows of each table.
public enum NFListKind: Sendable, Equatable {
    case objects(NFObjectKind), sets, maps, chains, meters, flowtables
}

/// Named priorities (nft's `priority filter` etc.) for ip/ip6/inet.
public enum NFPriority {
    public static let names: [String: Int] = ["raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100]
    /// How nft prints a priority: a name, `name + n`/`name - n` near one, else the number.
    public static func render(_ p: Int, hook: NFHook) -> String {
        let candidates: [(String, Int)] = [("raw", -300), ("mangle", -150), ("dstnat", -100), ("filter", 0), ("security", 50), ("srcnat", 100)]
            // std_prio_family_hook_compat: dstnat names prerouting's priority only, srcnat postrouting's
            // (nft lists a nat output chain at -100 as `priority -100`).
            .filter { !(($0.0 == "dstnat" && hook != .prerouting) || ($0.0 == "srcnat" && hook != .postrouting)) }
        if let exact = candidates.first(where: { $0.1 == p }) { return exact.0 }
        if let near = candidates.min(by: { abs($0.1 - p) < abs($1.1 - p) }), abs(near.1 - p) <= 10 {
            return p > near.1 ? "\(near.0) + \(p - near.1)" : "\(near.0) - \(near.1 - p)"
        }
        return String(p)
    }
}

/// Which IPsec state key an `ipsec` expression reads.
public struct NFXfrm: Sendable, Equatable {
    /// `in` (the secpath of a decrypted packet) or `out` (the transforms of its route).
    public var input: Bool
    /// Which state of the path (`spnum`, 0-255).
    public var spnum: UInt8
    /// The key as the selector whose values it takes: `ip saddr`, `ip6 daddr`..., or `reqid`/`spi`.
    public var key: NFSelector
    public static let reqid = NFSelector(rawValue: "ipsec reqid")!, spi = NFSelector(rawValue: "ipsec spi")!
    /// As nft lists it: `ipsec in spnum 2 ip saddr` (spnum 0 left out).
    public var text: String {
        "ipsec \(input ? "in" : "out")" + (spnum != 0 ? " spnum \(spnum)" : "") + " " + (key == NFXfrm.reqid ? "reqid" : key == NFXfrm.spi ? "spi" : key.printed)
    }
}
