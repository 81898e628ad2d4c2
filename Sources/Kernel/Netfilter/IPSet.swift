import NFTables
import Wire

/// The ipset types modelled (net/netfilter/ipset/ip_set_hash_*.c); others are refused as not supported yet.
public enum IPSetType: String, Sendable, CaseIterable {
    case hashIP = "hash:ip", hashNet = "hash:net", hashIPPort = "hash:ip,port", hashNetPort = "hash:net,port"
    case hashIPPortIP = "hash:ip,port,ip", hashIPPortNet = "hash:ip,port,net"

    var dimension: Int {
        switch self {
        case .hashIP, .hashNet: 1
        case .hashIPPort, .hashNetPort: 2
        case .hashIPPortIP, .hashIPPortNet: 3
        }
    }
    /// The dimension holding a network (tried from its most specific prefix down), if any.
    var netDimension: Int? {
        switch self {
        case .hashNet, .hashNetPort: 0
        case .hashIPPortNet: 2
        default: nil
        }
    }
    var hasPort: Bool { dimension > 1 }
    /// IPSET_TYPE_NOMATCH: the types with network elements take `nomatch`.
    var takesNomatch: Bool { netDimension != nil }
}

/// An element's identity: addresses (IPv4 in the low 32 bits) masked to their prefix, the prefix
/// of the type's network dimension, and protocol and port (an ICMP type and code as type << 8 | code).
public struct IPSetKey: Hashable, Sendable {
    var ip: UInt128 = 0
    var cidr: UInt8 = 0
    var proto: UInt8 = 0
    var port: UInt16 = 0
    var ip2: UInt128 = 0
}

public struct IPSetElement: Sendable {
    public var key: IPSetKey
    /// Virtual ns after which it is gone; nil: permanent.
    public var expires: UInt64?
    public var nomatch = false
    public var packets: UInt64 = 0
    public var bytes: UInt64 = 0
    public var comment: String? = nil
}

/// What the set match reads of a packet (ip_set_get_ip4_port and ip4addr).
public struct IPSetPacket {
    var saddr: UInt128, daddr: UInt128
    var v6: Bool
    var proto: UInt8
    /// Source and destination port (ICMP: type << 8 | code; other protocols 0); nil when the
    /// header is not there to read (a later fragment of TCP, UDP, SCTP, UDP-Lite or ICMP, or too short).
    var sport: UInt16?, dport: UInt16?
    /// skb->len: what the counters add.
    var len: Int
}

/// One ipset (`ipset create NAME TYPE ...`): its options and elements, in the order they were added.
public final class IPSet {
    public let name: String
    public let type: IPSetType
    public let v6: Bool
    public let hashsize: Int, maxelem: Int
    /// The default timeout in seconds (`timeout N`); nil: the set was created without timeout support.
    public let timeout: UInt32?
    public let counters: Bool, comments: Bool
    /// `netmask N` (hash:ip): addresses are stored and looked up masked to it.
    public let netmask: UInt8?
    public let initval: UInt32
    var elements: [IPSetElement?] = []
    var index: [IPSetKey: Int] = [:]
    /// How many elements hold each prefix length of the network dimension (h->nets).
    var prefixes: [UInt8: Int] = [:]
    /// The prefix lengths in use, most specific first (the order mtype_test_cidrs tries them).
    var prefixOrder: [UInt8] = []

    init(name: String, type: IPSetType, v6: Bool, hashsize: Int, maxelem: Int, timeout: UInt32?, counters: Bool,
         comments: Bool, netmask: UInt8?, initval: UInt32) {
        self.name = name; self.type = type; self.v6 = v6; self.hashsize = hashsize; self.maxelem = maxelem
        self.timeout = timeout; self.counters = counters; self.comments = comments; self.netmask = netmask; self.initval = initval
    }

    func copy(name: String? = nil) -> IPSet {
        let c = IPSet(name: name ?? self.name, type: type, v6: v6, hashsize: hashsize, maxelem: maxelem, timeout: timeout, counters: counters,
                      comments: comments, netmask: netmask, initval: initval)
        c.elements = elements; c.index = index; c.prefixes = prefixes; c.prefixOrder = prefixOrder
        return c
    }

    var hostBits: UInt8 { v6 ? 128 : 32 }

    static func mask(_ a: UInt128, _ len: UInt8, v6: Bool) -> UInt128 {
        let bits = v6 ? 128 : 32
        guard len < bits else { return a }
        return len == 0 ? 0 : a & ((~UInt128(0) << (bits - Int(len))) & (v6 ? ~0 : 0xffff_ffff))
    }

    func live(_ e: IPSetElement, now: UInt64) -> Bool { e.expires.map { now <= $0 } ?? true }

    /// The element held under `key` and still alive.
    func find(_ key: IPSetKey, now: UInt64) -> Int? {
        guard let k = index[key], let e = elements[k], live(e, now: now) else { return nil }
        return k
    }

    /// Elements alive now, in the order they were added.
    public func members(now: UInt64) -> [IPSetElement] { elements.compactMap { $0.flatMap { live($0, now: now) ? $0 : nil } } }

    var count: Int { index.count }

    /// mtype_add: a new element, or (`exist`, or an expired one) the extensions of the element
    /// there overwritten: its timeout, nomatch flag and comment, its counters only when given.
    /// A full set first drops its expired elements.
    func add(_ e: IPSetElement, countersGiven: Bool, exist: Bool, now: UInt64) throws(IPSetError) {
        if let k = index[e.key], let old = elements[k] {
            guard exist || !live(old, now: now) else { throw IPSetError("Element cannot be added to the set: it's already added") }
            var n = e
            if !countersGiven, live(old, now: now) { n.packets = old.packets; n.bytes = old.bytes }
            elements[k] = n
            return
        }
        if count >= maxelem { expire(now: now) }
        guard count < maxelem else { throw IPSetError("Hash is full, cannot add more elements") }
        index[e.key] = elements.count
        elements.append(e)
        if type.netDimension != nil { notePrefix(e.key.cidr, +1) }
    }

    func delete(_ key: IPSetKey, exist: Bool, now: UInt64) throws(IPSetError) {
        guard let k = index[key], let e = elements[k], live(e, now: now) else {
            if exist { return }
            throw IPSetError("Element cannot be deleted from the set: it's not added")
        }
        remove(k)
    }

    private func remove(_ k: Int) {
        guard let e = elements[k] else { return }
        elements[k] = nil
        index[e.key] = nil
        if type.netDimension != nil { notePrefix(e.key.cidr, -1) }
        // Keep the array from filling with holes.
        if elements.count > 64, index.count < elements.count / 2 { compact() }
    }

    private func compact() {
        elements = elements.filter { $0 != nil }
        index = [:]
        for (k, e) in elements.enumerated() { index[e!.key] = k }
    }

    func expire(now: UInt64) {
        for k in elements.indices { if let e = elements[k], !live(e, now: now) { remove(k) } }
    }

    func flush() { elements = []; index = [:]; prefixes = [:]; prefixOrder = [] }

    private func notePrefix(_ len: UInt8, _ d: Int) {
        prefixes[len, default: 0] += d
        if prefixes[len] == 0 { prefixes[len] = nil }
        prefixOrder = prefixes.keys.sorted(by: >)
    }

    /// The element a packet makes (the type's kadt): each dimension from the packet's source or
    /// destination; nil when the rule gives fewer dimensions than the set has, the family
    /// differs, or the port is not there. A network dimension is left whole.
    func packetKey(_ p: IPSetPacket, _ source: [Bool]) -> IPSetKey? {
        guard source.count >= type.dimension, p.v6 == v6 else { return nil }
        func addr(_ dim: Int) -> UInt128 { source[dim] ? p.saddr : p.daddr }
        var key = IPSetKey()
        key.ip = addr(0)
        if let n = netmask { key.ip = Self.mask(key.ip, n, v6: v6) }
        if type.hasPort {
            guard let port = source[1] ? p.sport : p.dport else { return nil }
            key.proto = p.proto; key.port = port
            if type.dimension == 3 { key.ip2 = addr(2) }
        }
        return key
    }

    /// `key` with its network dimension cut to `len` bits.
    func withPrefix(_ key: IPSetKey, _ len: UInt8) -> IPSetKey {
        var k = key
        if type.netDimension == 0 { k.ip = Self.mask(key.ip, len, v6: v6) } else { k.ip2 = Self.mask(key.ip2, len, v6: v6) }
        k.cidr = len
        return k
    }

    /// ip_set_test through the type's kadt: the packet's element, a network dimension tried from
    /// its most specific prefix down (mtype_test_cidrs). Counters are updated, then compared
    /// (ip_set_match_extensions); a nomatch element answers "not in the set", and
    /// `--return-nomatch` swaps the two answers.
    func test(_ p: IPSetPacket, _ m: NFXtSetMatch, now: UInt64) -> Bool {
        guard let key = packetKey(p, m.source) else { return false }
        var result = 0   // 1 match, -1 a nomatch element, 0 none
        if type.netDimension != nil {
            for len in prefixOrder {
                guard let k = find(withPrefix(key, len), now: now) else { continue }
                result = matchExtensions(k, p, m)
                if result != 0 { break }
            }
        } else if let k = find(key, now: now) {
            result = matchExtensions(k, p, m)
        }
        if m.returnNomatch, type.takesNomatch { result = -result }
        return result > 0
    }

    /// The element an add or a delete from the packet path makes: a network dimension at the set's
    /// most specific prefix (a host without one).
    func kadtKey(_ p: IPSetPacket, _ source: [Bool]) -> IPSetKey? {
        guard let key = packetKey(p, source) else { return nil }
        return type.netDimension == nil ? key : withPrefix(key, prefixOrder.first ?? hostBits)
    }

    /// ip_set_add from a rule: the element with the rule's timeout (or the set's), its counters
    /// started at this packet (IP_SET_INIT_KEXT); one already there is renewed only with `exist`.
    func kadtAdd(_ p: IPSetPacket, source: [Bool], timeout: UInt32?, exist: Bool, now: UInt64) {
        guard let key = kadtKey(p, source) else { return }
        var e = IPSetElement(key: key, expires: nil)
        if let t = self.timeout { let secs = timeout ?? t; if secs > 0 { e.expires = now + UInt64(secs) * 1_000_000_000 } }
        if counters { e.packets = 1; e.bytes = UInt64(p.len) }
        try? add(e, countersGiven: true, exist: exist, now: now)
    }

    /// ip_set_del from a rule.
    func kadtDel(_ p: IPSetPacket, source: [Bool], now: UInt64) {
        guard let key = kadtKey(p, source) else { return }
        try? delete(key, exist: true, now: now)
    }

    /// ip_set_match_extensions, then the nomatch flag: 1, -1 (nomatch) or 0 (the counters do not compare).
    private func matchExtensions(_ k: Int, _ p: IPSetPacket, _ m: NFXtSetMatch) -> Int {
        if counters {
            if m.updateCounters {
                elements[k]!.packets &+= 1
                elements[k]!.bytes &+= UInt64(p.len)
            }
            let e = elements[k]!
            if let c = m.packets, !Self.compare(e.packets, c) { return 0 }
            if let c = m.bytes, !Self.compare(e.bytes, c) { return 0 }
        }
        return elements[k]!.nomatch ? -1 : 1
    }

    static func compare(_ v: UInt64, _ c: (op: NFXtSetMatch.CounterOp, value: UInt64)) -> Bool {
        switch c.op {
        case .eq: v == c.value
        case .ne: v != c.value
        case .lt: v < c.value
        case .gt: v > c.value
        }
    }
}

/// An ipset command refused, as ipset words it.
public struct IPSetError: Error, Sendable, Equatable {
    public var message: String
    public var line = 0
    /// ipset takes it; the model does not yet.
    public var unsupported = false
    init(_ m: String, unsupported: Bool = false) { message = m; self.unsupported = unsupported }
}

/// A stack's ipsets (the network namespace's ip_set_net), in the order they were created.
public final class IPSets {
    public private(set) var sets: [IPSet] = []
    var byName: [String: IPSet] = [:]
    public init() {}

    public subscript(name: String) -> IPSet? { byName[name] }
    public var names: Set<String> { Set(byName.keys) }

    func copy() -> IPSets {
        let c = IPSets()
        for s in sets { c.append(s.copy()) }
        return c
    }

    func append(_ s: IPSet) { sets.append(s); byName[s.name] = s }

    func remove(_ name: String) {
        sets.removeAll { $0.name == name }
        byName[name] = nil
    }

    /// Each takes the other's name and place.
    func swap(_ a: String, _ b: String) {
        guard let x = byName[a], let y = byName[b], x !== y else { return }
        let ix = sets.firstIndex { $0 === x }!, iy = sets.firstIndex { $0 === y }!
        sets[ix] = y.copy(name: a); sets[iy] = x.copy(name: b)
        byName[a] = sets[ix]; byName[b] = sets[iy]
    }

    func rename(_ from: String, _ to: String) {
        guard let s = byName[from] else { return }
        let r = s.copy(name: to)
        sets[sets.firstIndex { $0 === s }!] = r
        byName[from] = nil; byName[to] = r
    }
}
