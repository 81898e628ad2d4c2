import Wire

/// What a checkpoint keeps of a stack's runtime besides its clock, ruleset text, conntrack and
/// BPF maps, so that a restored stack goes on as the saved one would have (same IDs, verdicts,
/// rate-limit answers, probes, CPUs): CPU clocks; device, qdisc, SNMP and softnet counters, tbf's
/// bucket and byte queue limits; rule state nft does not list (limit buckets, also set elements',
/// policy counters, numgen); neighbours with their timers and what waits on them; what router
/// advertisements taught; path MTUs ICMP errors taught; the random state, IP ID counters and ICMP and redirect rate limiters; RFS tables; UDP
/// sockets' unread datagrams; TCP connections with their queues and timers (RuntimeTCP.swift);
/// reassembly queues (RuntimeQueues.swift); htb's class counters and buckets; the TX rings with
/// their pending completions, every qdisc's queue with its scheduler's state and own counters,
/// and the qdisc watchdog (RuntimeQdiscs.swift). Plain values: the API layer stores them as JSON.
public struct StackRuntime: Codable, Sendable, Equatable {
    public struct Device: Codable, Sendable, Equatable {
        public var name: String
        public var stats: DeviceStats
        public var xdp: XDPStats
        /// The IPv6 hop limit and MTU the link has, and its neighbour discovery retrans time and
        /// base reachable time (a router advertisement may have set them; older checkpoints lack the last two).
        public var hopLimit6: Int, mtu6: Int
        public var ndRetransNs: UInt64?, ndBaseReachableMs: UInt64?
        /// Byte queue limits' state, and when the NIC is done with the frames it has.
        public var bql: DQL?
        public var txBusyUntil: UInt64
        /// The counters of its qdiscs (root first, then children; clsact as handle ffff:), and
        /// tbf's bucket.
        public var qdiscs: [Qdisc]
        /// The frames on the TX ring the NIC has not completed (each completion is due then), the
        /// queue's stops (ring full, BQL), the qdisc watchdog's deadline and the CPU that runs
        /// the queue (older checkpoints lack them: nil is an idle queue).
        public var ring: [RingFrame]? = nil
        public var ringStopped: Bool? = nil, bqlStopped: Bool? = nil
        public var watchdogNs: UInt64? = nil, txCPU: Int? = nil
    }
    public struct Qdisc: Codable, Sendable, Equatable {
        public var kind: String, handle: UInt32, bytes: Int, packets: Int, drops: Int, overlimits: Int, requeues: Int
        /// tbf's bucket, and the options it was filled under (`tc qdisc change` refills it).
        public var tokens: Int64?
        public var tc: UInt64?
        public var innerDrops: Int?
        public var spec: String?
        /// htb's classes (older checkpoints have none).
        public var classes: [HTBClassState]?
        /// Its queue in the order it would send (pfifo, bfifo, pfifo_fast by band, tbf's default
        /// child), what the driver gave back (`requeued`, sent first), and when a throttled tbf
        /// may send; taken back by a qdisc of the same kind, handle and options.
        public var queue: [Skb]? = nil
        public var requeued: [Skb]? = nil
        public var blockedNs: UInt64? = nil
        /// htb's scheduler (older checkpoints lack it: its rows start idle).
        public var htb: HTBState? = nil
        /// fq_codel's and cake's flows, lists and own counters; and what a parent's `peek` left dequeued.
        public var fqCodel: FQCoDelState? = nil
        public var cake: CakeState? = nil
        public var peeked: Skb? = nil
    }
    /// An htb class's counters and buckets (`tc -s class show`), taken back only by a class of
    /// the same id and options (`tc class change` refills the buckets).
    public struct HTBClassState: Codable, Sendable, Equatable {
        public var classid: UInt32, spec: String
        public var bytes: Int, packets: Int, drops: Int, overlimits: Int, lends: Int, borrows: Int
        public var tokens: Int64, ctokens: Int64, tc: UInt64
        /// Its mode (cantSend, mayBorrow, canSend), and when it is due to change with its place among
        /// those waiting at its level.
        public var mode: String, waitUntil: UInt64?, waitPlace: Int?
        /// The packets of its own pfifo (a leaf no qdisc was grafted on), its DRR deficits by
        /// level, and an inner class's feed pointers by priority (class ids, 0 for none) with
        /// the ids they last held.
        public var queue: [Skb]? = nil
        public var deficit: [Int]? = nil
        public var feedPtr: [UInt32]? = nil, lastPtrId: [UInt32]? = nil
    }
    /// /proc/net/softnet_stat of one CPU, its backlog's RFS counters and the RPS flow limit's
    /// history and buckets.
    public struct Softnet: Codable, Sendable, Equatable {
        public var cpu: Int, processed: Int, dropped: Int, timeSqueeze: Int, receivedRPS: Int, flowLimitCount: Int
        public var inputQueueTail: UInt32, inputQueueHead: UInt32
        public var flowHistory: [Int], flowHistoryHead: Int, flowBuckets: [Int]
    }
    /// A used slot of an RFS table: the global `rps_sock_flow_table` (queue nil) or an RX queue's
    /// `rps_dev_flow_table` (its CPU and the backlog tail when the flow moved there).
    public struct FlowSlot: Codable, Sendable, Equatable {
        public var dev: String?
        public var queue: Int?
        public var slot: Int, cpu: Int
        public var lastQtail: UInt32?
    }
    /// A socket's receive queue (UDP datagrams not read yet) and counters.
    public struct Socket: Codable, Sendable, Equatable {
        public struct Datagram: Codable, Sendable, Equatable {
            public var v6: Bool, src: String, srcPort: UInt16, dst: String, payload: String, timeNs: UInt64, truesize: Int
        }
        public var id: Int, drops: Int, sent: Int, sendErrors: [String: Int]
        public var pendingError: String?
        public var rxhash: UInt32, synReceived: Int
        public var queue: [Datagram]
        /// A listener's request socks and the children waiting for accept, by serial (checkpoints
        /// from before TCP was kept have neither).
        public var requests: [Int]?, pending: [Int]?
    }
    /// A neighbour entry (either family; addresses in hex) and the times its timer is due.
    public struct Neighbour: Codable, Sendable, Equatable {
        public var v6: Bool, dev: String, address: String
        public var mac: String?, state: String, probes: Int
        public var confirmedNs: UInt64, reachableNs: UInt64
        /// When its state or MAC last changed (the ARP locktime); nil in checkpoints from before it was kept.
        public var updatedNs: UInt64?
        public var timersNs: [UInt64]
        /// What waits for its MAC (arp_queue), in order.
        public var queue: [Skb]
    }
    /// A rate limiter's state for one peer (inet_peer): tokens or a count, and the last update.
    public struct Peer: Codable, Sendable, Equatable {
        public var address: String, source: Bool?, value: UInt64, last: UInt64
    }
    /// A used `ip_idents` bucket.
    public struct Ident: Codable, Sendable, Equatable { public var bucket: Int, ident: UInt32, tstamp: UInt32 }
    /// A route or address a router advertisement taught (on a device named as in the stack's
    /// document, as everywhere in this state), and when it runs out.
    public struct Learned: Codable, Sendable, Equatable {
        public var prefix: String, length: Int, dev: String, expiresNs: UInt64
        public var gateway: String?, type: String?, metric: Int?, proto: String?
    }

    /// Rule state the ruleset's text does not carry, by table index and rule handle (or chain
    /// index): `limit` buckets (tokens, last refill), base chains' policy counters (packets,
    /// bytes), numgen counters and jhash seeds (statement index, value in `a`).
    public struct RuleState: Codable, Sendable, Equatable {
        public var table: Int, key: Int, statement: Int?, a: UInt64, b: UInt64
    }
    /// A set element's `limit` bucket (its counts and quota are in the ruleset's text), by table
    /// index, set name and the element's value in hex.
    public struct ElementLimit: Codable, Sendable, Equatable {
        public var table: Int, set: String, value: String, tokens: UInt64, last: UInt64
    }

    /// Each CPU's own clock: when it is free again (it may be past the stack's clock).
    public var cpuClocks: [UInt64] = []
    public var limits: [RuleState] = [], policies: [RuleState] = [], generators: [RuleState] = []
    public var elementLimits: [ElementLimit]? = nil
    public var devices: [Device] = []
    public var snmp = SNMPStats()
    public var softnet: [Softnet] = []
    public var neighbours: [Neighbour] = []
    public var flows: [FlowSlot] = []
    public var fragments: [FragmentQueue] = []
    public var fragmentState: FragmentState?
    public var sockets: [Socket] = []
    public var neighbourFailures = 0, conntrackFullDrops = 0, conntrackEarlyDrops = 0
    /// synproxy's counters per CPU (syn_received, cookie_invalid, cookie_valid, cookie_retrans,
    /// conn_reopened); nil when all are zero or in older checkpoints.
    public var synproxy: [[Int]]? = nil
    /// The conntrack events kept for `conntrack -E` (CTEventLog's checkpoint form; older checkpoints lack it).
    public var conntrackEvents: String? = nil
    /// xt_recent's lists (`-m recent`); nil when there are none or in older checkpoints.
    public var recent: [RecentList]? = nil
    /// One list: its ring size less one and its entries in use order (least recent first).
    public struct RecentList: Codable, Sendable, Equatable {
        public struct Entry: Codable, Sendable, Equatable { public var addr: UInt32, ttl: UInt8, index: Int, nstamps: Int, stamps: [UInt64] }
        public var name: String, mask: Int, entries: [Entry]
    }
    public var random: UInt64 = 0, bpfRandom: UInt64 = 0
    public var ipIdents: [Ident] = []
    public var icmpPeers: [Peer] = [], icmp6Peers: [Peer] = [], redirectPeers: [Peer] = [], redirect6Peers: [Peer] = []
    /// The host-wide ICMP limit: credit, last refill (jiffies) and the state of its cost draws;
    /// nil in checkpoints from before it was modelled.
    public var icmpGlobal: ICMPGlobal? = nil
    public struct ICMPGlobal: Codable, Sendable, Equatable { public var credit: Int, stamp: UInt64, random: UInt64 }
    /// Path MTUs learnt from ICMP errors, by destination (hex); nil in checkpoints from before they were modelled.
    public var pmtu: [PMTU]? = nil
    /// IPv6 path MTUs packet-too-big messages taught (addresses hex); nil in older checkpoints.
    public var pmtu6: [PMTU]? = nil
    /// IPv6 first hops redirects taught: [destination, next hop] (hex); nil in older checkpoints.
    public var redirects6: [[String]]? = nil
    /// (Route exceptions: a redirect's gateway too, hex, nil for none or from older checkpoints.)
    public struct PMTU: Codable, Sendable, Equatable { public var address: String, mtu: Int, expires: UInt64, locked: Bool; public var gateway: String? = nil }
    public var raRoutes: [Learned] = [], raAddresses: [Learned] = []
    /// Each device's joined groups and the reports they still owe (IGMPv3, MLDv2), with the
    /// interface timer; nil in older checkpoints (the document's memberships, nothing owed).
    public var multicast: [Multicast]? = nil
    public struct Multicast: Codable, Sendable, Equatable { public var dev: String, v6: Bool, list: MulticastList }
    /// TCP connections, the last serial handed out and the TCP timers in the order they run.
    public var tcp: [TCPConnection]? = nil
    public var tcpSerial: Int? = nil
    public var tcpTimers: [TCPTimer]? = nil
    /// The ipsets with their counters and expiries (the model's own save text), and the
    /// generation of the stored ipsets they were saved over.
    public var ipsets: String? = nil
    public var ipsetsGeneration: Int? = nil
    /// net.netfilter.nf_conntrack_acct as a rule's load left it (on for good); nil: as the document says.
    public var conntrackAcct: Bool? = nil
    public init() {}
}

/// Addresses and keys in the runtime document: hex of their integer value.
func hex<T: BinaryInteger>(_ v: T) -> String { String(v, radix: 16) }

extension Stack {
    /// The runtime state a checkpoint keeps (see `StackRuntime`).
    public func runtimeState() -> StackRuntime {
        var r = StackRuntime()
        if !ipsets.sets.isEmpty { r.ipsets = saveIPSets(own: true); r.ipsetsGeneration = ipsetsGeneration }
        if conntrackAcct && net[.nf_conntrack_acct] == 0 { r.conntrackAcct = true }
        r.cpuClocks = (0..<clocks.count).map { clocks[$0] }
        r.devices = devices.enumerated().map { i, d in
            let qs = qdiscRecords(d)
            var r = StackRuntime.Device(name: d.name, stats: d.stats, xdp: d.xdpStats, hopLimit6: hopLimit6.indices.contains(i) ? Int(hopLimit6[i]) : 0,
                                        mtu6: mtu6.indices.contains(i) ? mtu6[i] : 0, ndRetransNs: ndRetransNs.indices.contains(i) ? ndRetransNs[i] : nil,
                                        ndBaseReachableMs: ndBaseReachableMs.indices.contains(i) ? ndBaseReachableMs[i] : nil, bql: d.tx.dql, txBusyUntil: d.tx.busyUntil, qdiscs: qs)
            let tx = d.tx
            if !tx.inFlight.isEmpty {
                r.ring = tx.inFlight.all.map { .init(doneNs: $0.done, bytes: $0.bytes, socket: $0.sock?.config.id, charge: $0.sock == nil ? nil : $0.charge) }
            }
            if tx.stopped { r.ringStopped = true }
            if tx.bqlStopped { r.bqlStopped = true }
            r.watchdogNs = tx.watchdogAt
            if tx.cpu != 0 { r.txCPU = tx.cpu }
            return r
        }
        r.snmp = snmp
        r.softnet = cpus.map { .init(cpu: $0.cpu, processed: $0.processed, dropped: $0.dropped, timeSqueeze: $0.timeSqueeze,
                                     receivedRPS: $0.receivedRPS, flowLimitCount: $0.flowLimitCount,
                                     inputQueueTail: $0.inputQueueTail, inputQueueHead: $0.inputQueueHead,
                                     flowHistory: $0.flowHistory, flowHistoryHead: $0.flowHistoryHead, flowBuckets: $0.flowBuckets) }
        r.flows = sockFlowTable.enumerated().compactMap { $0.element < 0 ? nil : .init(dev: nil, queue: nil, slot: $0.offset, cpu: $0.element, lastQtail: nil) }
        for d in devices {
            for q in d.queues {
                for (i, f) in q.flowTable.enumerated() where f.cpu >= 0 {
                    r.flows.append(.init(dev: d.name, queue: q.index, slot: i, cpu: f.cpu, lastQtail: f.lastQtail))
                }
            }
        }
        // The timers among the queued events (one sorted copy for neighbours and fragments alike).
        let pending = events.pending()
        (r.fragments, r.fragmentState) = fragmentRecords(pending)
        r.recent = xtRecent.isEmpty ? nil : xtRecent.keys.sorted().map { name in
            let t = xtRecent[name]!
            return .init(name: name, mask: t.nstampsMaxMask, entries: t.lru.compactMap { a in
                t.entries[a].map { .init(addr: a, ttl: $0.ttl, index: $0.index, nstamps: $0.nstamps, stamps: Array($0.stamps[0..<$0.nstamps])) }
            })
        }
        r.sockets = sockets.all.map { sk in
            .init(id: sk.config.id, drops: sk.drops, sent: sk.sent, sendErrors: sk.sendErrors, pendingError: sk.pendingError, rxhash: sk.rxhash,
                  synReceived: sk.synReceived, queue: sk.queue.map { d in
                      let (v6, src) = Self.addressText(d.src), dst = Self.addressText(d.dst).1
                      return .init(v6: v6, src: src, srcPort: d.srcPort, dst: dst, payload: Hex.encode(d.payload), timeNs: d.timeNs, truesize: d.truesize)
                  }, requests: sk.listening ? sk.requests.sorted() : nil, pending: sk.listening ? sk.pending.sorted() : nil)
        }
        let tcp = tcpRecords(pending)
        (r.tcp, r.tcpSerial, r.tcpTimers) = (tcp.conns, tcp.serial, tcp.timers)
        // Each neighbour's pending timers, in the order they will run.
        var timers4: [NeighbourTable<IPv4Address>.Key: [UInt64]] = [:], timers6: [NeighbourTable<IPv6Address>.Key: [UInt64]] = [:]
        for (t, e) in pending {
            switch e {
            case .neighTimer(let d, let a): timers4[.init(dev: d, addr: IPv4Address(raw: a)), default: []].append(t)
            case .ndiscTimer(let d, let a): timers6[.init(dev: d, addr: IPv6Address(raw: a)), default: []].append(t)
            default: break
            }
        }
        func record<A>(_ e: NeighbourEntry<A>, v6: Bool, address: String, timers: [UInt64]) -> StackRuntime.Neighbour {
            .init(v6: v6, dev: devices[e.dev].name, address: address, mac: e.mac?.description, state: e.state.rawValue, probes: e.probes,
                  confirmedNs: e.confirmedNs, reachableNs: e.reachableNs, updatedNs: e.updatedNs, timersNs: timers, queue: e.queue.map(skbRecord))
        }
        // Permanent entries come from the stack's document, which the restore builds from.
        r.neighbours = neighbours.all.filter { $0.state != .permanent }.map {
            record($0, v6: false, address: hex($0.address.raw), timers: timers4[.init(dev: $0.dev, addr: $0.address)] ?? [])
        } + neighbours6.all.filter { $0.state != .permanent }.map {
            record($0, v6: true, address: hex($0.address.raw), timers: timers6[.init(dev: $0.dev, addr: $0.address)] ?? [])
        }
        r.neighbourFailures = neighbourFailures
        r.conntrackFullDrops = conntrackFullDrops
        r.conntrackEarlyDrops = conntrackEarlyDrops
        if synproxyStats.contains(where: { $0 != SynproxyStats() }) {
            r.synproxy = synproxyStats.map { [$0.syn_received, $0.cookie_invalid, $0.cookie_valid, $0.cookie_retrans, $0.conn_reopened] }
        }
        if ctEvents.delivered > 0 { r.conntrackEvents = ctEvents.checkpoint }
        r.random = random.state
        r.bpfRandom = bpfRandom
        r.ipIdents = (0..<IPIdents.buckets).compactMap { b in
            ipIdents.idents[b] == 0 && ipIdents.tstamps[b] == 0 ? nil : .init(bucket: b, ident: ipIdents.idents[b], tstamp: ipIdents.tstamps[b])
        }
        r.icmpGlobal = .init(credit: icmpGlobal.credit, stamp: icmpGlobal.stamp, random: icmpGlobalRandom.state)
        r.pmtu = routeExceptions.sorted { $0.key < $1.key }.map {
            .init(address: hex($0.key), mtu: $0.value.mtu, expires: $0.value.expires, locked: $0.value.locked, gateway: $0.value.gateway == 0 ? nil : hex($0.value.gateway))
        }
        r.pmtu6 = rt6Exceptions.isEmpty ? nil : rt6Exceptions.sorted { $0.key.raw < $1.key.raw }.map {
            .init(address: hex($0.key.raw), mtu: $0.value.mtu, expires: $0.value.expires, locked: false)
        }
        r.redirects6 = rt6Redirects.isEmpty ? nil : rt6Redirects.sorted { $0.key.raw < $1.key.raw }.map { [hex($0.key.raw), hex($0.value.raw)] }
        r.icmpPeers = icmpPeers.sorted { $0.key.raw < $1.key.raw }.map { .init(address: hex($0.key.raw), source: nil, value: $0.value.0, last: $0.value.1) }
        r.icmp6Peers = icmp6Peers.sorted { $0.key.raw < $1.key.raw }.map { .init(address: hex($0.key.raw), source: nil, value: $0.value.tokens, last: $0.value.last) }
        r.redirectPeers = redirectPeers.sorted { $0.key.raw < $1.key.raw }.map {
            .init(address: hex($0.key.raw), source: nil, value: UInt64($0.value.0), last: $0.value.1)
        }
        r.redirect6Peers = redirect6Peers.sorted { ($0.key.address.raw, $0.key.source ? 1 : 0) < ($1.key.address.raw, $1.key.source ? 1 : 0) }.map {
            .init(address: hex($0.key.address.raw), source: $0.key.source, value: $0.value.tokens, last: $0.value.last)
        }
        r.limits = netfilter.limits.flatMap { t, m in m.map { StackRuntime.RuleState(table: t, key: $0.key, statement: nil, a: $0.value.tokens, b: $0.value.last) } }
            .sorted { ($0.table, $0.key) < ($1.table, $1.key) }
        r.elementLimits = netfilter.sets.sorted { $0.key < $1.key }.flatMap { t, sets in
            sets.sorted { $0.key < $1.key }.flatMap { name, idx in
                idx.state.sorted { $0.key < $1.key }.compactMap { v, st in
                    st.limit.map { StackRuntime.ElementLimit(table: t, set: name, value: idx.valueText(v), tokens: $0.tokens, last: $0.last) }
                }
            }
        }
        r.policies = netfilter.policyCounters.entries.map {
            StackRuntime.RuleState(table: PolicyKey.table($0.key), key: PolicyKey.chain($0.key), statement: nil, a: UInt64($0.value.0), b: UInt64($0.value.1))
        }.sorted { ($0.table, $0.key) < ($1.table, $1.key) }
        r.generators = netfilter.generators.map { StackRuntime.RuleState(table: $0.key.table, key: $0.key.handle, statement: $0.key.statement, a: UInt64($0.value), b: 0) }
            .sorted { ($0.table, $0.key, $0.statement ?? 0) < ($1.table, $1.key, $1.statement ?? 0) }
        r.raRoutes = ra.routes.map {
            .init(prefix: hex($0.entry.prefix.address.raw), length: $0.entry.prefix.prefixLength, dev: deviceNames[$0.entry.dev], expiresNs: $0.expiresNs,
                  gateway: $0.entry.gateway.map { hex($0.raw) }, type: $0.entry.type.rawValue, metric: $0.entry.metric, proto: $0.entry.proto.rawValue)
        }
        let lists = igmpGroups.enumerated().map { (dev: $0.offset, v6: false, list: $0.element) }
            + mldGroups.enumerated().map { (dev: $0.offset, v6: true, list: $0.element) }
        let owed = lists.filter { $0.list != MulticastList() }
        r.multicast = owed.isEmpty ? nil : owed.map { .init(dev: deviceNames[$0.dev], v6: $0.v6, list: $0.list) }
        r.raAddresses = ra.addresses.map {
            .init(prefix: hex($0.cidr.address.raw), length: $0.cidr.prefixLength, dev: deviceNames[$0.dev], expiresNs: $0.expiresNs, gateway: nil, type: nil, metric: nil, proto: nil)
        }
        return r
    }

    /// Puts a checkpoint's runtime state back, after the clock has been moved to the checkpoint's.
    /// Devices, CPUs and neighbours are matched by name and index; what does not match this
    /// stack's document (changed since) is left out. The rule state only when the ruleset loaded
    /// is the one the checkpoint was taken with (`ruleState`): a newer version starts afresh.
    public func restoreRuntime(_ r: StackRuntime, ruleState: Bool = true) {
        if ruleState { restoreRuleState(r) }
        if r.conntrackAcct == true { conntrackAcct = true }
        for m in r.multicast ?? [] {
            guard let dev = deviceNames.firstIndex(of: m.dev) else { continue }
            if m.v6 { mldGroups[dev] = m.list } else { igmpGroups[dev] = m.list }
            if let t = m.list.timerNs { schedule(max(t, clockNs), .mcIfcTimer(device: dev, v6: m.v6, generation: m.list.generation)) }
            if let t = m.list.queryNs { schedule(max(t, clockNs), .mcQueryTimer(device: dev, v6: m.v6, generation: m.list.queryGeneration)) }
            for (g, t) in m.list.groupTimers.sorted(by: { $0.value < $1.value }) {
                // A due time already past fires at once, as its event did not keep its time.
                if t < clockNs {
                    if m.v6 { mldGroups[dev].groupTimers[g] = clockNs } else { igmpGroups[dev].groupTimers[g] = clockNs }
                }
                schedule(max(t, clockNs), .mcGroupTimer(device: dev, v6: m.v6, group: g))
            }
        }
        // Sets changed since the checkpoint keep what was stored with the change.
        if let text = r.ipsets, r.ipsetsGeneration == ipsetsGeneration, let sets = try? preparedIPSets(text, replace: true, own: true) {
            setIPSets(sets, generation: ipsetsGeneration)
        }
        for (cpu, t) in r.cpuClocks.enumerated() where cpu < clocks.count && t > clocks[cpu] { clocks[cpu] = t }
        for d in r.devices {
            guard let i = deviceNames.firstIndex(of: d.name) else { continue }
            devices[i].stats = d.stats
            devices[i].xdpStats = d.xdp
            if hopLimit6.indices.contains(i), let h = UInt8(exactly: d.hopLimit6), h > 0 { hopLimit6[i] = h }
            if mtu6.indices.contains(i), d.mtu6 > 0 { mtu6[i] = d.mtu6 }
            if ndRetransNs.indices.contains(i), let v = d.ndRetransNs, v > 0 { ndRetransNs[i] = v }
            if ndBaseReachableMs.indices.contains(i), let v = d.ndBaseReachableMs, v > 0 { ndBaseReachableMs[i] = v }
            let tx = devices[i].tx
            if tx.dql != nil, let b = d.bql { tx.dql = b }
            tx.busyUntil = max(tx.busyUntil, d.txBusyUntil)
            restoreTXQueue(dev: i, d)
            restoreQdiscs(dev: i, d)
        }
        snmp = r.snmp
        for s in r.softnet where cpus.indices.contains(s.cpu) {
            let c = cpus[s.cpu]
            c.processed = s.processed; c.dropped = s.dropped; c.timeSqueeze = s.timeSqueeze
            c.receivedRPS = s.receivedRPS; c.flowLimitCount = s.flowLimitCount
            c.inputQueueTail = s.inputQueueTail; c.inputQueueHead = s.inputQueueHead
            // The flow limit's table as it was (its length is the sysctl's, checked where it is used).
            if s.flowHistory.count == 256, (0..<256).contains(s.flowHistoryHead), s.flowHistory.allSatisfy({ $0 < s.flowBuckets.count }) {
                c.flowHistory = s.flowHistory; c.flowHistoryHead = s.flowHistoryHead; c.flowBuckets = s.flowBuckets
            }
        }
        for f in r.flows where f.cpu >= 0 && f.cpu < cpus.count {
            if let name = f.dev {
                guard let d = deviceNames.firstIndex(of: name), let qi = f.queue, devices[d].queues.indices.contains(qi),
                      devices[d].queues[qi].flowTable.indices.contains(f.slot) else { continue }
                devices[d].queues[qi].flowTable[f.slot] = (f.cpu, f.lastQtail ?? 0)
            } else if sockFlowTable.indices.contains(f.slot) {
                sockFlowTable[f.slot] = f.cpu
            }
        }
        restoreFragments(r.fragments, r.fragmentState)
        xtRecent = [:]
        for l in r.recent ?? [] {
            let t = XtRecentTable()
            // (A ring is at most 256 stamps, XT_RECENT_MAX_NSTAMPS; what does not fit is left out.)
            t.nstampsMaxMask = min(max(l.mask, 31), 255)
            for e in l.entries where e.nstamps >= 1 && e.nstamps <= t.nstampsMaxMask + 1 && e.stamps.count == e.nstamps && t.entries[e.addr] == nil {
                t.entries[e.addr] = .init(stamps: e.stamps + [UInt64](repeating: 0, count: t.nstampsMaxMask + 1 - e.nstamps), index: e.index, nstamps: e.nstamps, ttl: e.ttl)
                t.lru.append(e.addr)
            }
            xtRecent[l.name] = t
        }
        // Connections first: an accepted child's socket is made again, then takes its counters below.
        restoreTCP(r.tcp ?? [], serial: r.tcpSerial ?? 0, timers: r.tcpTimers ?? [], queues: r.sockets)
        for k in r.sockets {
            guard let sk = sockets.byID[k.id] else { continue }
            sk.drops = k.drops; sk.sent = k.sent; sk.sendErrors = k.sendErrors; sk.pendingError = k.pendingError
            sk.rxhash = k.rxhash; sk.synReceived = k.synReceived
            // UDP and ping sockets' unread datagrams (a TCP socket's queue is its connection's).
            guard sk.config.proto != .tcp else { continue }
            sk.queue = k.queue.compactMap { d in
                guard let src = Self.address(d.src, v6: d.v6), let dst = Self.address(d.dst, v6: d.v6), let bytes = try? Hex.decode(d.payload) else { return nil }
                return Datagram(src: src, srcPort: d.srcPort, dst: dst, bytes: bytes, payloadRange: 0..<bytes.count, timeNs: d.timeNs, truesize: d.truesize)
            }
            sk.rmemAlloc = sk.queue.reduce(0) { $0 + $1.truesize }
        }
        for n in r.neighbours {
            guard let dev = deviceNames.firstIndex(of: n.dev), let state = NUDState(rawValue: n.state), state != .permanent else { continue }
            let mac = n.mac.flatMap { try? MACAddress(parsing: $0) }
            if n.mac != nil && mac == nil { continue }
            if n.v6, let raw = UInt128(n.address, radix: 16) {
                restoreNeighbour(\.neighbours6, IPv6Address(raw: raw), n, dev: dev, mac: mac, state: state, timer: .ndiscTimer(device: dev, address: raw))
            } else if !n.v6, let raw = UInt32(n.address, radix: 16) {
                restoreNeighbour(\.neighbours, IPv4Address(raw: raw), n, dev: dev, mac: mac, state: state, timer: .neighTimer(device: dev, address: raw))
            }
        }
        neighbourFailures = r.neighbourFailures
        conntrackFullDrops = r.conntrackFullDrops
        conntrackEarlyDrops = r.conntrackEarlyDrops
        for (cpu, v) in (r.synproxy ?? []).enumerated() where cpu < synproxyStats.count && v.count == 5 {
            synproxyStats[cpu] = SynproxyStats(syn_received: v[0], cookie_invalid: v[1], cookie_valid: v[2], cookie_retrans: v[3], conn_reopened: v[4])
        }
        ctEvents = r.conntrackEvents.flatMap(CTEventLog.init(checkpoint:)) ?? CTEventLog()
        random.state = r.random
        bpfRandom = r.bpfRandom
        for i in r.ipIdents where (0..<IPIdents.buckets).contains(i.bucket) {
            ipIdents.idents[i.bucket] = i.ident
            ipIdents.tstamps[i.bucket] = i.tstamp
        }
        if let g = r.icmpGlobal {
            icmpGlobal = (g.credit, g.stamp)
            icmpGlobalRandom.state = g.random
        }
        for p in r.icmpPeers { if let a = UInt32(p.address, radix: 16) { icmpPeers[IPv4Address(raw: a)] = (p.value, p.last) } }
        for p in r.pmtu ?? [] { if let a = UInt32(p.address, radix: 16) { routeExceptions[a] = RouteException(mtu: p.mtu, expires: p.expires, locked: p.locked, gateway: p.gateway.flatMap { UInt32($0, radix: 16) } ?? 0) } }
        for p in r.pmtu6 ?? [] { if let a = UInt128(p.address, radix: 16) { rt6Exceptions[IPv6Address(raw: a)] = RouteException(mtu: p.mtu, expires: p.expires, locked: false) } }
        for p in r.redirects6 ?? [] where p.count == 2 {
            if let d = UInt128(p[0], radix: 16), let g = UInt128(p[1], radix: 16) { rt6Redirects[IPv6Address(raw: d)] = IPv6Address(raw: g) }
        }
        for p in r.icmp6Peers { if let a = UInt128(p.address, radix: 16) { icmp6Peers[IPv6Address(raw: a)] = (p.value, p.last) } }
        for p in r.redirectPeers { if let a = UInt32(p.address, radix: 16) { redirectPeers[IPv4Address(raw: a)] = (Int(clamping: p.value), p.last) } }
        for p in r.redirect6Peers {
            if let a = UInt128(p.address, radix: 16) { redirect6Peers[RedirectPeer(address: IPv6Address(raw: a), source: p.source ?? false)] = (p.value, p.last) }
        }
        restoreLearned(r)
    }

    /// An entry of either table with what waited on it, and its timers.
    private func restoreNeighbour<A>(_ table: ReferenceWritableKeyPath<Stack, NeighbourTable<A>>, _ a: A, _ n: StackRuntime.Neighbour,
                                     dev: Int, mac: MACAddress?, state: NUDState, timer: Event) {
        guard self[keyPath: table].lookup(a, dev: dev) == nil else { return }
        let queue = n.queue.compactMap(skb)
        self[keyPath: table].insert(NeighbourEntry(address: a, dev: dev, mac: mac, state: state, probes: n.probes, confirmedNs: n.confirmedNs,
                                                   reachableNs: n.reachableNs, updatedNs: n.updatedNs ?? 0, queuedBytes: queue.reduce(0) { $0 + $1.truesize }, queue: queue))
        for t in n.timersNs { schedule(max(t, clockNs), timer) }
    }

    private static func addressText(_ a: SockAddr) -> (Bool, String) {
        switch a { case .v4(let x): (false, hex(x.raw)); case .v6(let x): (true, hex(x.raw)) }
    }
    private static func address(_ text: String, v6: Bool) -> SockAddr? {
        v6 ? UInt128(text, radix: 16).map { .v6(IPv6Address(raw: $0)) } : UInt32(text, radix: 16).map { .v4(IPv4Address(raw: $0)) }
    }

    private func restoreRuleState(_ r: StackRuntime) {
        let tables = netfilter.ruleset.tables
        for l in r.limits where tables.indices.contains(l.table) { netfilter.limits[l.table, default: [:]][l.key] = (l.a, l.b) }
        for p in r.policies where tables.indices.contains(p.table) && tables[p.table].chains.indices.contains(p.key) {
            netfilter.policyCounters[PolicyKey.of(p.table, p.key)] = (Int(clamping: p.a), Int(clamping: p.b))
        }
        for g in r.generators where tables.indices.contains(g.table) {
            netfilter.generators[GeneratorKey(table: g.table, handle: g.key, statement: g.statement ?? 0)] = UInt32(truncatingIfNeeded: g.a)
        }
        for l in r.elementLimits ?? [] {
            if let idx = netfilter.sets[l.table]?[l.set], let v = idx.value(fromText: l.value) { idx.restoreLimit(v, tokens: l.tokens, last: l.last) }
        }
    }

    /// What router advertisements taught goes back into FIB6, with its expiry timer.
    private func restoreLearned(_ r: StackRuntime) {
        guard !ipv6Disabled, !r.raRoutes.isEmpty || !r.raAddresses.isEmpty else { return }
        for l in r.raRoutes {
            guard let dev = deviceNames.firstIndex(of: l.dev), let p = UInt128(l.prefix, radix: 16), (0...128).contains(l.length),
                  let type = RouteType(rawValue: l.type ?? ""), let proto = RouteProto(rawValue: l.proto ?? "") else { continue }
            let gw = l.gateway.flatMap { UInt128($0, radix: 16) }.map(IPv6Address.init(raw:))
            ra.routes.append(.init(entry: FIB6Entry(prefix: IPv6CIDR(address: IPv6Address(raw: p), prefixLength: l.length), type: type, gateway: gw,
                                                    dev: dev, metric: l.metric ?? 1024, proto: proto), expiresNs: l.expiresNs))
        }
        for l in r.raAddresses {
            guard let dev = deviceNames.firstIndex(of: l.dev), let p = UInt128(l.prefix, radix: 16), (0...128).contains(l.length) else { continue }
            ra.addresses.append(.init(cidr: IPv6CIDR(address: IPv6Address(raw: p), prefixLength: l.length), dev: dev, expiresNs: l.expiresNs))
        }
        rebuildFIB6()
        if let next = (ra.routes.map(\.expiresNs) + ra.addresses.map(\.expiresNs)).filter({ $0 != .max }).min() { schedule(max(next, clockNs), .raExpire) }
    }
}
