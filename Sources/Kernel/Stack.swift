import BPF
import Wire

/// How a stage chain ended for now.
enum PathEnd {
    case drop(DropReason, String?)
    case consume(String?)
    /// Queued on a socket.
    case deliver
    /// Sent on toward another host.
    case forwarded
    /// Left on the wire (a packet a socket sent).
    case transmitted
    /// Handed on (backlog, GRO list, fragment or neighbour queue): the outcome comes later.
    case stolen
}

/// A local send's error from the output path: a netfilter drop in LOCAL_OUT or POST_ROUTING is
/// nf_hook_slow's -EPERM; a drop in `__dev_queue_xmit` (netdev egress, a full qdisc) is
/// NET_XMIT_DROP, which `ip_send_skb` makes -ENOBUFS. A packet queued (on a neighbour) has none.
enum XmitError { case eperm, enobufs }

/// Whose redirect rate an inet_peer limits: a destination's or a source's.
struct RedirectPeer: Hashable { var address: IPv6Address; var source: Bool }

/// One frame to inject: on which device, and when (virtual ns; nil = now).
public struct Injection: Sendable {
    public var device: Int
    public var frame: [UInt8]
    public var atNs: UInt64?
    /// From a veth peer, CHECKSUM_PARTIAL (see `EmittedFrame.csumPartial`).
    public var csumPartial = false
    public init(device: Int, frame: [UInt8], atNs: UInt64? = nil, csumPartial: Bool = false) {
        self.device = device; self.frame = frame; self.atNs = atNs; self.csumPartial = csumPartial
    }
}

/// One simulated Linux network stack: devices, CPUs with their softnet state, FIB, sockets.
/// Deterministic: events run in (virtual time, sequence) order. Not thread-safe: its owner
/// serializes access (one simulation step never races another on the same stack).
public final class Stack {
    public let config: StackConfig
    /// The configured devices, then `lo` (last, so theirs keep their indexes; ifindex 1).
    public let devices: [NetDevice]
    /// `lo`'s index in `devices`.
    public var lo: Int { devices.count - 1 }
    let deviceNames: [String]
    public internal(set) var fib: FIB
    /// The IPv6 tables (empty while IPv6 is disabled), the static routes they hold, and what
    /// router advertisements taught.
    public internal(set) var fib6 = FIB6()
    var currentRoutes6: [Route6Config] = [], currentRules6: [Rule6Config] = []
    /// The IPv4 static routes and policy rules the FIB was last built from.
    var currentRoutes: [RouteConfig] = [], currentRules: [RuleConfig] = []
    /// Per device: the IPv6 hop limit and MTU (`devconf->hop_limit`, `mtu6`), the sysctl and the
    /// device MTU until a router advertisement says otherwise.
    var hopLimit6: [UInt8] = [], mtu6: [Int] = []
    /// Per device: neighbour discovery's `retrans_time` and `base_reachable_time`
    /// (net.ipv6.neigh.DEV.*), 1 s and 30 s until a router advertisement says otherwise.
    var ndRetransNs: [UInt64] = [], ndBaseReachableMs: [UInt64] = []
    public internal(set) var ra = RALearned()
    public var snmp = SNMPStats()
    /// xt_recent's lists by name (`-m recent`; XtRecent.swift).
    var xtRecent: [String: XtRecentTable] = [:]
    let costs: StageCosts
    let net: NetSysctls
    /// Sysctls the per-packet path reads, looked up once (a stack's sysctls are fixed at creation).
    let devWeight: Int, netdevBudget: Int, budgetNs: UInt64, ipForward: Bool
    let netdevMaxBacklog: Int, flowLimitCPUBitmap: Int, flowLimitTableLen: Int
    let conntrackMax: Int, conntrackTCPLoose: Bool
    /// net->ct.sysctl_acct: new connections get counters. Loading a rule that reads them turns it
    /// on for good (nft_ct_get_init's nf_ct_set_acct), as in the kernel.
    var conntrackAcct: Bool
    /// net.ipv6.conf.all.disable_ipv6 and .forwarding.
    let ipv6Disabled: Bool, ipForward6: Bool
    let cpus: [SoftnetData]
    /// Each CPU's own virtual clock: it is busy until then (kept here, not in SoftnetData, so the
    /// per-stage charge touches no object).
    let clocks: CPUClocks
    var events = EventQueue()
    /// This run's arrivals in time order (they are most events, and come sorted: no heap needed).
    /// `csumPartial`: a veth peer handed the frame over CHECKSUM_PARTIAL.
    var arrivals: [(time: UInt64, packet: Int, device: Int, csumPartial: Bool)] = []
    var arrivalCursor = 0
    /// This run's socket sends (`send`), by index, and those that wait for the process's CPU, in
    /// order (the first also in the event queue).
    var pendingSends: [Send] = []
    var sendWaiters = Deque<Int>()
    var pendingTCPCalls: [TCPCall] = []
    /// Events that are part of packet processing (not long timers); the run ends when none is left.
    var activeEvents = 0
    /// Where virtual time ends (2^62 ns, about 146 years): times and clock moves past it are
    /// refused, so sums of valid times, costs and timeouts stay far from UInt64/Int overflow.
    public static let clockLimitNs: UInt64 = 1 << 62
    /// Global virtual time: the time of the event being run.
    public private(set) var clockNs: UInt64 = 0
    /// With tracing off the path records no stages and builds no notes.
    public var tracing = true
    /// XDP runs record every instruction they execute (with tracing on).
    public var xdpInstructionTrace = false
    /// The interpreter XDP programs run on (one per stack: a stack runs on one thread at a time),
    /// the simulated CPU running it, and `bpf_get_prandom_u32`'s state (seeded per stack).
    let bpfVM = BPFVM()
    var bpfCPU = 0
    var bpfRandom: UInt64 = 0x853c_49e6_748f_ea9b
    var nextBPFID = 0
    /// Nested `dev_queue_xmit` calls (tc redirects out of another device), as dev_xmit_recursion counts.
    var xmitRecursion = 0
    /// What a synchronous drop on the way out gives the sender (`ip_local_out`'s return): set where
    /// the skb is dropped, read (and put back as it was) by the innermost `ip_local_out`.
    var xmitError: XmitError?
    /// A tap on every device (tcpdump -i any, outbound): each frame that leaves, timers' included,
    /// kept in `wire` while on.
    public var captureWire = false
    public internal(set) var wire: [EmittedFrame] = []
    /// While `advance` runs: the frames its timers send (no packet of a run caused them).
    var timerFrames: [EmittedFrame]?
    /// Chains evaluated through their rule index (RuleIndex); off, every rule is tried in turn.
    /// The two give the same results (a differential test holds them to it).
    public var classifier = true
    /// This run's packets; their results are built in place as the path goes.
    var packets: [PacketResult] = []
    let sockets = SocketTable()
    var neighbours = NeighbourTable<IPv4Address>()
    var neighbours6 = NeighbourTable<IPv6Address>()
    /// Each device's IPv4 and IPv6 groups sockets joined, and the reports they still owe (IGMP.swift, MLD.swift).
    var igmpGroups: [MulticastList] = [], mldGroups: [MulticastList] = []
    var frags = FragmentQueues<FragKey>()
    var frags6 = FragmentQueues<Frag6Key>()
    var netfilter = NetfilterState()
    /// The namespace's ipsets (`ipset restore`), which iptables' `-m set` reads.
    public internal(set) var ipsets = IPSets()
    public internal(set) var ipsetsGeneration = 0
    let conntrack = ConntrackTable()
    /// Expected connections (nf_ct_expect_hash), oldest first: few at a time, searched in order.
    var ctExpectations: [CTExpectation] = []
    /// What `conntrack -E` would have shown.
    var ctEvents = CTEventLog()
    var conntrackFullDrops = 0, conntrackEarlyDrops = 0
    /// synproxy's counters per CPU (/proc/net/stat/synproxy).
    public internal(set) var synproxyStats: [SynproxyStats]
    /// Neighbours that never answered (their queued packets were dropped with NEIGH_FAILED).
    public internal(set) var neighbourFailures = 0
    /// Freed skbs, reused for arrivals (the per-packet path allocates no new skb in steady state).
    var skbCache: [SkBuff] = []
    /// inet_peer ICMP rate state per destination: (tokens in ns, last update).
    var icmpPeers: [IPv4Address: (UInt64, UInt64)] = [:]
    /// Path MTUs ICMP errors taught, by destination (RouteException.swift).
    var routeExceptions: [UInt32: RouteException] = [:]
    /// IPv6 path MTUs packet-too-big messages taught, by destination (Route6Exception.swift).
    var rt6Exceptions: [IPv6Address: RouteException] = [:]
    /// IPv6 first hops redirects taught, by destination (Redirect6.swift).
    var rt6Redirects: [IPv6Address: IPv6Address] = [:]
    /// The host-wide ICMP limit (icmp_global): credits left, the jiffy of the last refill, and the
    /// draws of what each message costs (a stream of its own, as the kernel's get_random_u32_below
    /// takes nothing from the other random choices).
    var icmpGlobal = (credit: 0, stamp: UInt64(0))
    var icmpGlobalRandom = StackRandom(seed: 0)
    var icmp6Peers: [IPv6Address: (tokens: UInt64, last: UInt64)] = [:]
    /// inet_peer redirect limits for IPv6: per destination (ip6_forward) and per source (ndisc_send_redirect).
    var redirect6Peers: [RedirectPeer: (tokens: UInt64, last: UInt64)] = [:]
    /// inet_peer redirect state per source: (redirects sent, last time).
    var redirectPeers: [IPv4Address: (Int, UInt64)] = [:]
    /// Randomness from the stack's seed (IP IDs): deterministic for a given seed.
    var random: StackRandom
    var ipIdents: IPIdents
    /// RFS global table (`rps_sock_flow_table`): flow hash bucket -> CPU that last read the flow.
    var sockFlowTable: [Int]

    public init(config: StackConfig) throws(ConfigError) {
        guard (1...64).contains(config.cpus) else { throw ConfigError(path: "/cpus", message: "must be 1...64") }
        var seen = Set<String>()
        for (i, d) in config.devices.enumerated() {
            guard seen.insert(d.name).inserted else { throw ConfigError(path: "/devices/\(i)/name", message: "duplicate device name \(d.name)") }
            guard d.name != "lo" else { throw ConfigError(path: "/devices/\(i)/name", message: "lo is the loopback device every stack has") }
            try Stack.validate(device: d, path: "/devices/\(i)", cpus: config.cpus)
        }
        let net = try NetSysctls(overrides: config.sysctls)
        self.config = config
        // lo comes after the configured devices, so theirs keep their indexes.
        let all = config.devices + [DeviceConfig.loopback]
        self.devices = all.enumerated().map { NetDevice(index: $0.offset, config: $0.element, cpus: config.cpus) }
        self.deviceNames = all.map(\.name)
        self.fib = try FIB(devices: config.devices, routes: config.routes, rules: config.rules)
        currentRoutes = config.routes; currentRules = config.rules
        self.costs = try StageCosts(overrides: config.costs)
        self.net = net
        devWeight = net[.dev_weight]
        netdevBudget = net[.netdev_budget]
        budgetNs = UInt64(net[.netdev_budget_usecs]) * 1000
        ipForward = net[.ip_forward] != 0
        let netdevMaxBacklog = net[.netdev_max_backlog]
        self.netdevMaxBacklog = netdevMaxBacklog
        flowLimitCPUBitmap = net[.flow_limit_cpu_bitmap]
        flowLimitTableLen = net[.flow_limit_table_len]
        conntrackMax = net[.nf_conntrack_max]
        conntrackTCPLoose = net[.nf_conntrack_tcp_loose] != 0
        conntrackAcct = net[.nf_conntrack_acct] != 0
        ipv6Disabled = net[.disable_ipv6] != 0
        ipForward6 = net[.forwarding6] != 0
        if ipv6Disabled {
            if let i = config.devices.firstIndex(where: { !$0.addresses6.isEmpty }) {
                throw ConfigError(path: "/devices/\(i)/addresses", message: "IPv6 addresses on a stack with net.ipv6.conf.all.disable_ipv6 = 1")
            }
            if !config.routes6.isEmpty || !config.neighbours6.isEmpty || !config.rules6.isEmpty {
                throw ConfigError(path: config.routes6.isEmpty ? "/neighbours" : "/routes", message: "IPv6 routes or neighbours on a stack with net.ipv6.conf.all.disable_ipv6 = 1")
            }
        } else {
            fib6 = try FIB6(devices: config.devices, routes: config.routes6, rules: config.rules6, forwarding: ipForward6)
            currentRoutes6 = config.routes6; currentRules6 = config.rules6
            hopLimit6 = all.map { _ in UInt8(net[.hop_limit6]) }
            mtu6 = all.map(\.mtu)
            ndRetransNs = all.map { _ in NeighbourTable<IPv6Address>.retransNs }
            ndBaseReachableMs = all.map { _ in NeighbourTable<IPv6Address>.baseReachableMs }
        }
        var random = StackRandom(seed: config.seed)
        ipIdents = IPIdents(key: (random.next(), random.next()))
        self.random = random
        self.clocks = CPUClocks(count: config.cpus)
        synproxyStats = Array(repeating: SynproxyStats(), count: config.cpus)
        self.cpus = (0..<config.cpus).map { SoftnetData(cpu: $0, maxBacklog: netdevMaxBacklog) }
        let entries = net[.rps_sock_flow_entries]
        sockFlowTable = Array(repeating: -1, count: entries == 0 ? 0 : Stack.roundUpPowerOfTwo(entries))
        for (i, n) in config.neighbours.enumerated() {
            guard let dev = devices.firstIndex(where: { $0.name == n.dev }) else {
                throw ConfigError(path: "/neighbours/\(i)/dev", message: "no device named \(n.dev)")
            }
            neighbours.setPermanent(n.address, mac: n.mac, dev: dev)
        }
        for (i, n) in config.neighbours6.enumerated() {
            guard let dev = devices.firstIndex(where: { $0.name == n.dev }) else {
                throw ConfigError(path: "/neighbours6/\(i)/dev", message: "no device named \(n.dev)")
            }
            neighbours6.setPermanent(n.address, mac: n.mac, dev: dev)
        }
        igmpGroups = Array(repeating: MulticastList(), count: devices.count)
        mldGroups = igmpGroups
        for (i, s) in config.sockets.enumerated() {
            if let why = bind(s) {
                throw ConfigError(path: "/sockets/\(i)", message: why)
            }
            // Memberships the document keeps were joined before: no report is owed for them.
            for (k, m) in s.memberships.enumerated() {
                guard let dev = devices.firstIndex(where: { $0.name == m.dev }) else {
                    throw ConfigError(path: "/sockets/\(i)/memberships/\(k)/interface", message: "no device named \(m.dev)")
                }
                mc_inc_group(dev, m.group, reported: false)
            }
        }
        try setQdiscs(config.qdiscs, classes: config.classes)
        bpfRandom = (config.seed &+ 1) &* 0x9e37_79b9_7f4a_7c15 | 1
        icmpGlobalRandom = StackRandom(seed: config.seed ^ 0x1c3b_9a2f_5e7d_0461)
        for (i, x) in config.xdp.enumerated() {
            guard let dev = devices.firstIndex(where: { $0.name == x.dev }), !devices[dev].isLoopback else {
                throw ConfigError(path: "/xdp/\(i)/dev", message: x.dev == "lo" ? "not supported yet: XDP on lo" : "no device named \(x.dev)")
            }
            guard devices[dev].xdp == nil else { throw ConfigError(path: "/xdp/\(i)/dev", message: "\(x.dev) has an XDP program already (one per device)") }
            do { attachXDP(device: dev, try loadXDP(x)) } catch { throw ConfigError(path: "/xdp/\(i)", message: "\(error)") }
        }
        for name in config.clsact {
            guard let d = device(named: name), !d.isLoopback else { throw ConfigError(path: "/qdiscs", message: name == "lo" ? "not supported yet: clsact on lo" : "clsact: no device named \(name)") }
            d.clsact = d.clsact ?? Clsact()
        }
        for (i, f) in config.tcFilters.enumerated() {
            guard let dev = devices.firstIndex(where: { $0.name == f.dev }), !devices[dev].isLoopback else {
                throw ConfigError(path: "/tc_filters/\(i)/dev", message: f.dev == "lo" ? "not supported yet: tc filters on lo" : "no device named \(f.dev)")
            }
            let c = devices[dev].clsact
            guard !((f.direction == .ingress ? c?.ingress : c?.egress) ?? []).contains(where: { $0.pref == f.pref }) else {
                throw ConfigError(path: "/tc_filters/\(i)/pref", message: "\(f.dev) \(f.direction.rawValue) has a filter with pref \(f.pref) already")
            }
            do { attachTCFilter(device: dev, f.direction, pref: f.pref, try loadTCFilter(f)) } catch { throw ConfigError(path: "/tc_filters/\(i)", message: "\(error)") }
        }
        if !config.ipsets.isEmpty {
            do throws(IPSetError) { setIPSets(try preparedIPSets(config.ipsets, replace: true, own: true), generation: config.ipsetsGeneration) } catch {
                throw ConfigError(path: "/ipsets", message: "line \(error.line): \(error.message)")
            }
        }
    }

    static func roundUpPowerOfTwo(_ n: Int) -> Int { var p = 1; while p < n { p <<= 1 }; return p }

    static func validate(device d: DeviceConfig, path: String, cpus: Int) throws(ConfigError) {
        guard d.rssKey.count >= 40 else { throw ConfigError(path: path + "/rss_key", message: "RSS key must be at least 40 bytes") }
        if let t = d.rssIndirection {
            guard !t.isEmpty, t.count & (t.count - 1) == 0 else {
                throw ConfigError(path: path + "/rss_indirection", message: "table size must be a power of two")
            }
            if let bad = t.firstIndex(where: { !(0..<d.rxQueues).contains($0) }) {
                throw ConfigError(path: path + "/rss_indirection/\(bad)", message: "queue \(t[bad]) does not exist (rx_queues \(d.rxQueues))")
            }
        }
        guard d.rpsCPUs.count <= d.rxQueues else { throw ConfigError(path: path + "/rps_cpus", message: "more entries than RX queues") }
        for (q, list) in d.rpsCPUs.enumerated() {
            if let bad = list.firstIndex(where: { !(0..<cpus).contains($0) }) {
                throw ConfigError(path: path + "/rps_cpus/\(q)/\(bad)", message: "CPU \(list[bad]) does not exist (cpus \(cpus))")
            }
        }
        guard d.rpsFlowCount == 0 || d.rpsFlowCount & (d.rpsFlowCount - 1) == 0 else {
            throw ConfigError(path: path + "/rps_flow_cnt", message: "must be 0 or a power of two")
        }
    }

    public func device(named name: String) -> NetDevice? { devices.first { $0.name == name } }
    /// Every device's name (lo's among them) in ifindex order: what a ruleset's interface indexes may name.
    public var interfaceOrder: [String] { devices.sorted { $0.ifindex < $1.ifindex }.map(\.name) }

    @inline(__always) func sysctl(_ s: Sysctl) -> Int { net[s] }

    // MARK: running

    /// Receives one frame and runs the stack until it is quiescent.
    public func inject(frame: [UInt8], device: NetDevice, atNs: UInt64? = nil) -> PacketResult {
        inject([Injection(device: device.index, frame: frame, atNs: atNs)])[0]
    }

    /// Schedules every frame's arrival, runs until no packet work is left (long timers such as
    /// fragment expiry stay pending), and answers each packet's outcome in order.
    public func inject(_ batch: [Injection]) -> [PacketResult] {
        beginRun()
        packets.reserveCapacity(batch.count) // the answer's one allocation
        var sorted = true
        for (i, inj) in batch.enumerated() {
            let t = max(inj.atNs ?? clockNs, clockNs)
            packets.append(PacketResult(device: deviceNames[inj.device], outcome: .queued, dropReason: nil, stages: [], startNs: t,
                                        endNs: 0, frame: inj.frame, note: nil, rxQueue: 0, segments: 1, emitted: []))
            if tracing { packets[packets.count - 1].startTuple = FlowTuple.frame(inj.frame) }
            if let last = arrivals.last, last.time > t { sorted = false }
            arrivals.append((t, i, inj.device, inj.csumPartial))
        }
        if !sorted { arrivals.sort { ($0.time, $0.packet) < ($1.time, $1.packet) } }
        return endRun()
    }

    /// A run's packets start empty.
    func beginRun() {
        packets.removeAll(keepingCapacity: true)
        arrivals.removeAll(keepingCapacity: true)
        arrivalCursor = 0
    }

    /// Runs until no packet work is left and hands over the run's results.
    func endRun() -> [PacketResult] {
        run(until: nil)
        for i in packets.indices where packets[i].outcome == .queued { packets[i].endNs = clockNs }
        detachQueuedSkbs()
        var results: [PacketResult] = []
        swap(&results, &packets)
        return results
    }

    /// Moves the clock to `ns`, running every timer due by then (fragment expiry, neighbour
    /// retries...); answers the frames those timers sent, in order.
    @discardableResult
    public func advance(toNs ns: UInt64) -> [EmittedFrame] {
        packets.removeAll(keepingCapacity: true)
        timerFrames = []
        defer { timerFrames = nil }
        run(until: ns)
        if ns > clockNs { clockNs = ns }
        detachQueuedSkbs()
        return timerFrames ?? []
    }

    func schedule(_ t: UInt64, _ e: Event) {
        if !e.isTimer { activeEvents += 1 }
        events.push(t, e)
    }

    /// The time of whatever runs next: the next arrival or the earliest queued event.
    var nextEventTime: UInt64? {
        let a = arrivalCursor < arrivals.count ? arrivals[arrivalCursor].time : nil
        guard let e = events.nextTime else { return a }
        guard let a else { return e }
        return min(a, e)
    }

    private func run(until limit: UInt64?) {
        while true {
            let hasArrival = arrivalCursor < arrivals.count
            guard let next = nextEventTime else { break }
            if let limit { if next > limit { break } } else if activeEvents == 0 && !hasArrival { break }
            // Arrivals win ties: they were injected before anything they cause.
            if hasArrival && arrivals[arrivalCursor].time <= (events.nextTime ?? .max) {
                let a = arrivals[arrivalCursor]
                arrivalCursor += 1
                if a.time > clockNs { clockNs = a.time }
                nic_receive(packet: a.packet, device: a.device, at: a.time, csumPartial: a.csumPartial)
                continue
            }
            let (t, e) = events.pop()!
            if !e.isTimer { activeEvents -= 1 }
            if t > clockNs { clockNs = t }
            dispatch(t, e)
        }
    }

    private func dispatch(_ t: UInt64, _ e: Event) {
        switch e {
        case .hardirq(let d, let q): hardirq(device: d, queue: q, at: t)
        case .coalesceTimer(let d, let q, let g): coalesceTimer(device: d, queue: q, generation: g, at: t)
        case .softirq(let c): net_rx_action(cpu: c, at: t)
        case .rpsIPI(let c): rps_trigger_softirq(cpu: c, at: t)
        case .cpumapKthread(let c): cpu_map_kthread_run(cpu: c, at: t)
        case .fragExpire(let key, let g): ip_expire(key, generation: g)
        case .neighTimer(let d, let a): neigh_timer_handler(device: d, address: IPv4Address(raw: a))
        case .frag6Expire(let key, let g): ip6_frag_expire(key, generation: g)
        case .ndiscTimer(let d, let a): ndisc_timer_handler(device: d, address: IPv6Address(raw: a))
        case .raExpire: rebuildFIB6()
        case .txComplete(let d): tx_complete(device: d, at: t)
        case .qdiscWatchdog(let d): qdisc_watchdog(device: d, at: t)
        case .udpSend(let i): udp_sendmsg(index: i, at: t)
        case .tcpCall(let i): tcp_call(index: i, at: t)
        case .tcpDelack(let s): tcp_delack_timer(serial: s, at: t)
        case .tcpTimewait(let s): tcp_timewait_expired(serial: s)
        case .tcpRetransmit(let s): tcp_retransmit_timer(serial: s, at: t)
        case .mcIfcTimer(let d, let v6, let g): mc_ifc_timer_expire(device: d, v6: v6, generation: g)
        case .mcQueryTimer(let d, let v6, let g): mc_gq_timer_expire(device: d, v6: v6, generation: g)
        case .mcGroupTimer(let d, let v6, let g): mc_group_timer_expire(device: d, v6: v6, group: g, at: t)
        }
    }

    /// Skbs that outlive the run (fragment and neighbour queues) no longer have a packet to report to.
    private func detachQueuedSkbs() {
        frags.detach()
        frags6.detach()
        neighbours.detach()
        neighbours6.detach()
    }

    // MARK: tracing

    /// Records entry into a stage on the skb's CPU and charges its virtual cost there.
    @inline(__always) func enter(_ s: Stage, _ skb: SkBuff) {
        let cpu = skb.cpu
        if tracing && skb.packet >= 0 { packets[skb.packet].stages.append(TraceStage(stage: s, cpu: cpu, timeNs: clocks[cpu], generated: skb.generated)) }
        clocks[cpu] &+= costs[s]
    }

    /// A drop with a note that is only built when tracing.
    @inline(__always) func drop(_ r: DropReason, _ note: @autoclosure () -> String) -> PathEnd {
        .drop(r, tracing ? note() : nil)
    }
    @inline(__always) func consume(_ note: @autoclosure () -> String) -> PathEnd {
        .consume(tracing ? note() : nil)
    }

    /// Ends a path: the last trace event and the packet's outcome.
    func finish(_ skb: SkBuff, _ end: PathEnd) {
        defer { if case .stolen = end {} else { recycle(skb) } }
        switch end {
        case .drop, .consume: sock_wfree(skb)
        default: break
        }
        switch end {
        case .stolen: return
        case .drop(let r, let why):
            enter(.kfree_skb_reason, skb)
            settle(skb, .dropped, reason: r, note: why)
        case .consume(let why):
            enter(.consume_skb, skb)
            settle(skb, .consumed, reason: nil, note: why)
        case .deliver:
            settle(skb, .delivered, reason: nil, note: nil)
        case .forwarded:
            settle(skb, .forwarded, reason: nil, note: nil)
        case .transmitted:
            settle(skb, .transmitted, reason: nil, note: nil)
        }
    }

    /// An skb whose path ended goes back to the cache (its bytes live on in a socket queue if delivered).
    @inline(__always) func recycle(_ skb: SkBuff) {
        if skbCache.count < 4096 { skb.data = []; skbCache.append(skb) }
    }

    @inline(__always) func allocSkb(frame: [UInt8], dev: Int, packet: Int) -> SkBuff {
        if let s = skbCache.popLast() { s.reset(frame: frame, dev: dev, packet: packet); return s }
        return SkBuff(frame: frame, dev: dev, packet: packet)
    }

    func settle(_ skb: SkBuff, _ outcome: Outcome, reason: DropReason?, note: String?) {
        let p = skb.packet
        guard p >= 0, !skb.generated else { return }
        packets[p].outcome = outcome
        packets[p].dropReason = reason
        packets[p].endNs = clocks[skb.cpu]
        packets[p].segments = skb.segments
        if let note { packets[p].note = note }
        if tracing { packets[p].endTuple = FlowTuple.network(skb.data, at: skb.networkHeader, ethertype: skb.protocolType) }
    }

    /// Notes a frame this packet caused to be transmitted.
    func recordEmitted(_ skb: SkBuff?, device: Int, frame: [UInt8], at t: UInt64, csumPartial: Bool = false) {
        guard let skb, skb.packet >= 0 else { return }
        packets[skb.packet].emitted.append(EmittedFrame(device: devices[device].name, frame: frame, timeNs: t, csumPartial: csumPartial))
    }
}
