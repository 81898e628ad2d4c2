import Wire

/// NUD states as `ip neigh` prints them.
public enum NUDState: String, Sendable {
    case permanent = "PERMANENT", reachable = "REACHABLE", stale = "STALE", delay = "DELAY", probe = "PROBE", incomplete = "INCOMPLETE", failed = "FAILED"

    /// NUD_VALID: the entry has a usable link-layer address (all but INCOMPLETE and FAILED).
    var isValid: Bool { self != .incomplete && self != .failed }
}

/// One neighbour entry: the MAC of an on-link address (IPv4 for ARP, IPv6 for neighbour
/// discovery), or the packets waiting for it.
public struct NeighbourEntry<Address: Hashable & Comparable & Sendable> {
    public var address: Address
    public var dev: Int
    public var mac: MACAddress?
    public var state: NUDState
    /// Solicitations sent while incomplete.
    public var probes: Int
    /// When reachability was last confirmed, and for how long it then holds (`neigh->confirmed`,
    /// the randomised reachable_time); used by NUD.
    var confirmedNs: UInt64 = 0, reachableNs: UInt64 = 0
    /// When its state or MAC last changed (`neigh->updated`): ARP takes no other MAC within the locktime.
    var updatedNs: UInt64 = 0
    /// STALE, or REACHABLE past its time: a packet sent to it starts NUD (neigh_event_send).
    func needsProbing(nowNs: UInt64) -> Bool { state == .stale || (state == .reachable && nowNs >= confirmedNs &+ reachableNs) }
    /// `arp_queue` bytes (truesize), limited by unres_qlen_bytes.
    var queuedBytes = 0
    var queue: [SkBuff] = []
    public var queueLength: Int { queue.count }
}

/// A neighbour table (`arp_tbl`, `nd_tbl`): keyed by (device, address).
struct NeighbourTable<Address: Hashable & Comparable & Sendable> {
    struct Key: Hashable { var dev: Int; var addr: Address }
    private(set) var entries: [Key: NeighbourEntry<Address>] = [:]
    /// `unres_qlen_bytes` default (SK_WMEM_MAX).
    static var unresQlenBytes: Int { 212_992 }
    /// `retrans_time_ms` (1 s) and `mcast_solicit` (3 requests in all): an unanswered neighbour fails after 3 s.
    static var retransNs: UInt64 { 1_000_000_000 }
    static var mcastSolicit: Int { 3 }
    /// NUD: `delay_first_probe_time` 5 s, `ucast_solicit` 3 probes, and
    /// `base_reachable_time` 30 s (each confirmation holds a random 0.5-1.5 times it).
    static var delayFirstProbeNs: UInt64 { 5_000_000_000 }
    static var ucastSolicit: Int { 3 }
    static var baseReachableMs: UInt64 { 30_000 }
    /// `locktime` (1 s): ARP replies with another MAC within it of the last change are ignored
    /// (several proxies answering: the first answer wins).
    static var locktimeNs: UInt64 { 1_000_000_000 }

    mutating func setPermanent(_ a: Address, mac: MACAddress, dev: Int) {
        entries[Key(dev: dev, addr: a)] = NeighbourEntry(address: a, dev: dev, mac: mac, state: .permanent, probes: 0)
    }
    func lookup(_ a: Address, dev: Int) -> NeighbourEntry<Address>? { entries[Key(dev: dev, addr: a)] }
    mutating func update(_ key: Key, _ body: (inout NeighbourEntry<Address>) -> Void) {
        if var e = entries[key] { body(&e); entries[key] = e }
    }
    mutating func insert(_ e: NeighbourEntry<Address>) { entries[Key(dev: e.dev, addr: e.address)] = e }
    mutating func remove(_ a: Address, dev: Int) -> Bool { entries.removeValue(forKey: Key(dev: dev, addr: a)) != nil }

    /// Queued skbs outlive their run: they no longer report to a packet.
    mutating func detach() {
        for (k, e) in entries where !e.queue.isEmpty { for s in e.queue { s.packet = -1 }; entries[k] = e }
    }
    var all: [NeighbourEntry<Address>] { entries.values.sorted { ($0.dev, $0.address) < ($1.dev, $1.address) } }

    /// `__neigh_event_send` for an address without a MAC: the skb waits on the entry (within
    /// unres_qlen_bytes). Answers whether the entry is new (the caller solicits and arms the timer),
    /// or nil when the queue is full.
    mutating func enqueue(_ skb: SkBuff, _ a: Address, dev: Int) -> Bool? {
        let key = Key(dev: dev, addr: a)
        var e = entries[key] ?? NeighbourEntry(address: a, dev: dev, mac: nil, state: .incomplete, probes: 0)
        // A failed entry starts resolving again (__neigh_event_send).
        if e.state == .failed { e.state = .incomplete; e.probes = 0 }
        guard e.queuedBytes + skb.truesize <= Self.unresQlenBytes else { return nil }
        e.queue.append(skb)
        e.queuedBytes += skb.truesize
        let first = e.probes == 0
        if first { e.probes = 1 }
        entries[key] = e
        return first
    }

    /// `__neigh_event_send` without a packet (a redirect's new gateway): a new or failed entry
    /// becomes INCOMPLETE; answers whether it must solicit now.
    mutating func startResolving(_ a: Address, dev: Int) -> Bool {
        let key = Key(dev: dev, addr: a)
        var e = entries[key] ?? NeighbourEntry(address: a, dev: dev, mac: nil, state: .incomplete, probes: 0)
        if e.state == .failed { e.state = .incomplete; e.probes = 0 }
        guard e.state == .incomplete, e.probes == 0 else { return false }
        e.probes = 1
        entries[key] = e
        return true
    }

    /// How `neigh_update` may change the MAC of a valid entry: `override` takes the new one
    /// (NEIGH_UPDATE_F_OVERRIDE); `weak` keeps the old one but only as STALE when the entry was
    /// REACHABLE, and ignores the update otherwise (WEAK_OVERRIDE alone); `keep` ignores it.
    enum Override { case override, weak, keep }

    /// `neigh_update` with a MAC, at `nowNs`: the entry becomes `state` (a permanent one stays; a
    /// valid one told its own MAC again only as STALE keeps its state; another MAC as `how`
    /// allows) and hands back what waited on it.
    mutating func resolve(_ a: Address, dev: Int, mac: MACAddress, state: NUDState = .reachable, how: Override = .override, nowNs: UInt64) -> [SkBuff] {
        let key = Key(dev: dev, addr: a)
        guard var e = entries[key] else {
            entries[key] = NeighbourEntry(address: a, dev: dev, mac: mac, state: state, probes: 0, updatedNs: nowNs)
            return []
        }
        if e.state == .permanent { return [] }
        var new = state, lladdr = mac
        if e.state.isValid, let old = e.mac {
            if mac != old && how != .override {
                guard how == .weak && e.state == .reachable else { return [] }
                lladdr = old; new = .stale
            } else if mac == old && state == .stale {
                new = e.state
            }
        }
        if new != e.state || lladdr != e.mac { e.updatedNs = nowNs }
        e.state = new
        e.mac = lladdr
        let waiting = e.queue
        e.queue = []; e.queuedBytes = 0
        entries[key] = e
        return waiting
    }
}

extension Stack {
    public var neighbourEntries: [NeighbourEntry<IPv4Address>] { neighbours.all }
    public func addNeighbour(_ n: NeighbourConfig) -> Bool {
        guard let dev = devices.firstIndex(where: { $0.name == n.dev }) else { return false }
        neighbours.setPermanent(n.address, mac: n.mac, dev: dev)
        return true
    }
    public func removeNeighbour(_ a: IPv4Address, dev: String) -> Bool {
        guard let d = devices.firstIndex(where: { $0.name == dev }) else { return false }
        return neighbours.remove(a, dev: d)
    }

    /// `neigh_output` / `neigh_resolve_output`: a group or broadcast address needs no ARP
    /// (arp_constructor's NUD_NOARP: arp_mc_map's 01:00:5e MAC, or ff:ff:ff:ff:ff:ff); with a known
    /// MAC the frame goes to `dev_queue_xmit` (starting NUD when the neighbour has not been confirmed
    /// lately); otherwise the skb waits on the entry's arp_queue and an ARP request goes out.
    func neigh_output(_ skb: SkBuff, dev: Int, nexthop: IPv4Address, outcome: Outcome) -> PathEnd {
        enter(.neigh_output, skb)
        // lo is IFF_NOARP: its neighbours take its own (zero) address.
        if devices[dev].isLoopback { return dev_queue_xmit(skb, dev: dev, dstMAC: devices[dev].mac, outcome: outcome) }
        if let e = neighbours.lookup(nexthop, dev: dev), let mac = e.mac {
            if e.needsProbing(nowNs: clockNs) { neigh_event_send(\.neighbours, nexthop, dev: dev, timer: .neighTimer(device: dev, address: nexthop.raw)) }
            return dev_queue_xmit(skb, dev: dev, dstMAC: mac, outcome: outcome)
        }
        // No entry (groups and broadcasts never get one): checked only here, off the common path.
        if nexthop.isMulticast { return dev_queue_xmit(skb, dev: dev, dstMAC: nexthop.multicastMAC, outcome: outcome) }
        if nexthop == .broadcast || fib.localType(nexthop) == .broadcast { return dev_queue_xmit(skb, dev: dev, dstMAC: .broadcast, outcome: outcome) }
        return neigh_resolve(\.neighbours, skb, nexthop, dev: dev, queue: "arp_queue", request: "ARP request",
                             timer: .neighTimer(device: dev, address: nexthop.raw), retransNs: NeighbourTable<IPv4Address>.retransNs) {
            arp_solicit(nexthop, dev: dev, cause: skb)
        }
    }

    /// `neigh_event_send` for a neighbour with a MAC whose reachability has not been confirmed
    /// lately (`needsProbing`), either family: NUD starts, DELAY, and delay_first_probe_time later
    /// the timer probes. (The caller looks the entry up itself: this is off the common path.)
    func neigh_event_send<A>(_ table: ReferenceWritableKeyPath<Stack, NeighbourTable<A>>, _ a: A, dev: Int, timer: Event) {
        self[keyPath: table].update(.init(dev: dev, addr: a)) { $0.state = .delay; $0.probes = 0 }
        schedule(timerWheelExpiry(afterNs: NeighbourTable<A>.delayFirstProbeNs), timer)
    }

    /// A confirmation of reachability (a reply or advertisement sent to us): it holds for a random
    /// half to one and a half of base_reachable_time (neigh_rand_reach_time).
    func neigh_confirm<A>(_ table: ReferenceWritableKeyPath<Stack, NeighbourTable<A>>, _ a: A, dev: Int, baseMs: UInt64) {
        let reach = (random.next() % baseMs + baseMs / 2) * 1_000_000
        self[keyPath: table].update(.init(dev: dev, addr: a)) { $0.confirmedNs = clockNs; $0.reachableNs = reach }
    }

    /// `neigh_timer_handler`, either family: INCOMPLETE solicits again (`solicit(nil)`: to all) up
    /// to mcast_solicit times, DELAY becomes PROBE, which asks the neighbour itself
    /// (`solicit(its MAC)`) up to ucast_solicit times, each `retransNs` apart; then FAILED, and what
    /// waited is dropped (NEIGH_FAILED).
    func neigh_timer<A>(_ table: ReferenceWritableKeyPath<Stack, NeighbourTable<A>>, _ a: A, dev: Int, retransNs: UInt64, timer: Event,
                        solicit: (MACAddress?) -> Void) {
        guard var e = self[keyPath: table].lookup(a, dev: dev) else { return }
        switch e.state {
        case .incomplete where e.probes < NeighbourTable<A>.mcastSolicit, .probe where e.probes < NeighbourTable<A>.ucastSolicit, .delay:
            if e.state == .delay { e.state = .probe; e.probes = 0 }
            e.probes += 1
            self[keyPath: table].insert(e)
            solicit(e.state == .probe ? e.mac : nil)
            schedule(timerWheelExpiry(afterNs: retransNs), timer)
        case .incomplete, .probe:
            e.state = .failed
            e.mac = nil
            let waiting = e.queue
            e.queue = []; e.queuedBytes = 0
            self[keyPath: table].insert(e)
            neigh_invalidate(waiting, dev: dev)
        default:
            return
        }
    }

    /// `neigh_resolve_output` → `__neigh_event_send` for an address without a MAC, either family:
    /// the skb waits on the entry (within unres_qlen_bytes); a new entry solicits at once and arms
    /// the retransmit timer.
    func neigh_resolve<A>(_ table: ReferenceWritableKeyPath<Stack, NeighbourTable<A>>, _ skb: SkBuff, _ a: A, dev: Int,
                          queue: String, request: String, timer: Event, retransNs: UInt64, solicit: () -> Void) -> PathEnd where A: CustomStringConvertible {
        guard let first = self[keyPath: table].enqueue(skb, a, dev: dev) else {
            return drop(.NEIGH_QUEUEFULL, "\(queue) of \(a) is full (\(self[keyPath: table].lookup(a, dev: dev)?.queuedBytes ?? 0) bytes)")
        }
        if first {
            solicit()
            schedule(timerWheelExpiry(afterNs: retransNs, from: clocks[skb.cpu]), timer)
        }
        if tracing, skb.packet >= 0 { packets[skb.packet].note = "waiting for the MAC of \(a) (\(request) sent)" }
        return .stolen
    }

    /// `neigh_invalidate`: a neighbour that never answered; what waited on it is dropped
    /// (NEIGH_FAILED), and each forwarded packet's sender is told (`error_report` →
    /// `dst_link_failure`): ICMP host unreachable (`ipv4_link_failure`) or ICMPv6 address
    /// unreachable (`ip6_link_failure`), each under its rate limit. A local sender's error stays
    /// in the host (its socket learns EHOSTUNREACH only with IP_RECVERR).
    func neigh_invalidate(_ waiting: [SkBuff], dev: Int) {
        neighbourFailures += 1
        // No device counter moves (the kernel's `ip -s link` shows none).
        for skb in waiting {
            // The timer runs now: the CPU that handles the queued skb is at this time at least.
            if clocks[skb.cpu] < clockNs { clocks[skb.cpu] = clockNs }
            if skb.tcpSerial != 0 {
                // tcp_v4_err on the host unreachable sent back to ourselves: in SYN-SENT any ICMP
                // error ends the attempt (connect fails with EHOSTUNREACH); later it is only a soft error.
                if let c = sockets.conn(serial: skb.tcpSerial), c.state == .synSent {
                    c.error = "EHOSTUNREACH"
                    snmp.tcp.AttemptFails += 1
                    tcp_done(c)
                }
            } else if !skb.generated && skb.sock == nil {
                if skb.protocolType == EtherType.ipv6 { icmp6_send(skb, type: ICMPv6Repr.destUnreachable, code: 3) }
                else { icmp_send(skb, type: ICMPv4Repr.destUnreachable, code: 1) }
            } else if let sk = skb.sock, sk.config.proto == .udp, sk.config.recverr, skb.protocolType == EtherType.ipv4 {
                // ipv4_link_failure's host unreachable comes back to our own socket (__udp4_lib_err):
                // not a hard error, so only IP_RECVERR makes it the socket's sk_err.
                sk.pendingError = "EHOSTUNREACH"
            }
            finish(skb, drop(.NEIGH_FAILED, "no answer from the neighbour: its entry FAILED"))
        }
    }

    /// ARP's `neigh_timer_handler`: requests to all while resolving, to the neighbour's own MAC
    /// while probing (arp_solicit sends to neigh->ha), from the device's address on its network.
    func neigh_timer_handler(device dev: Int, address a: IPv4Address) {
        neigh_timer(\.neighbours, a, dev: dev, retransNs: NeighbourTable<IPv4Address>.retransNs, timer: .neighTimer(device: dev, address: a.raw)) { mac in
            arp_solicit(a, dev: dev, to: mac, cause: nil)
        }
    }

    /// A neighbour became known: send what waited for it (`neigh_update` → `neigh_connect`).
    func neighbourResolved(_ a: IPv4Address, dev: Int, mac: MACAddress, state: NUDState, how: NeighbourTable<IPv4Address>.Override = .override,
                           by skb: SkBuff) {
        let waiting = neighbours.resolve(a, dev: dev, mac: mac, state: state, how: how, nowNs: clockNs)
        if state == .reachable { neigh_confirm(\.neighbours, a, dev: dev, baseMs: NeighbourTable<IPv4Address>.baseReachableMs) }
        neigh_connect(waiting, dev: dev, mac: mac, by: skb)
    }

    /// `neigh_connect`: what waited on a neighbour leaves now, in the trace of the packet that resolved it.
    func neigh_connect(_ waiting: [SkBuff], dev: Int, mac: MACAddress, by skb: SkBuff) {
        for w in waiting {
            w.cpu = skb.cpu
            // A packet of an earlier run: what it sends now shows in the trace of the packet that resolved it.
            if w.packet < 0 { w.packet = skb.packet; w.generated = true }
            finish(w, dev_queue_xmit(w, dev: dev, dstMAC: mac, outcome: w.generated ? .transmitted : .forwarded))
        }
    }
}
