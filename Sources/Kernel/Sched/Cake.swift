// net/sched/sch_cake.c. The kernel of these machines has no cake module, so this follows the
// sources, not a recording. Simplified: flows are told apart by their full hash (the 1024-queue
// set-associative table and its collisions are not modelled: way_inds and way_cols stay 0),
// host isolation (srchost, dsthost, triple-isolate's per-host fairness) falls back to flow
// isolation, no overhead compensation (raw), no ACK filter, no ingress mode, no autorate.

/// cake's options as tc sets them.
public struct CakeSpec: Sendable, Equatable {
    public enum Diffserv: String, Sendable, CaseIterable { case diffserv3, besteffort }
    public enum FlowMode: String, Sendable, CaseIterable { case flowblind, flows, tripleIsolate = "triple-isolate" }
    /// Bytes per second; 0 is unlimited.
    public var rate: UInt64 = 0
    public var diffserv = Diffserv.diffserv3
    public var flowMode = FlowMode.tripleIsolate
    public var rttUs = 100_000
    public var targetUs = 5000
    /// 0: the kernel's choice (rate × rtt × 4, at least 4 MiB, at most limit × MTU).
    public var memlimit = 0
    public var wash = false
    public var splitGSO = true
    public init() {}
}

/// One tin's counters as `tc -s qdisc show` lists them.
public struct CakeTinStats: Sendable, Equatable {
    public var thresholdRate: UInt64 = 0
    public var targetUs = 0, intervalUs = 0, peakDelayUs = 0, avgDelayUs = 0, baseDelayUs = 0
    public var backlog = 0, packets = 0, bytes = 0, wayMisses = 0, drops = 0, marks = 0
    public var sparseFlows = 0, bulkFlows = 0, unresponsiveFlows = 0, maxLen = 0, quantum = 0
}

/// cake's qdisc-wide counters.
public struct CakeStats: Sendable, Equatable {
    public var memoryUsed = 0, memoryLimit = 0
    public var capacityEstimate: UInt64 = 0
    public var minNetlen = 65535, maxNetlen = 0, avgNetoff = 0
    /// In display order (Bulk, Best Effort, Voice for diffserv3).
    public var tins: [CakeTinStats] = []
}

/// COBALT's state: CoDel's count and schedule plus BLUE's drop probability (`struct cobalt_vars`).
struct CobaltVars {
    var count: UInt32 = 0
    var recInvSqrt: UInt32 = 0
    var dropNext: UInt64 = 0, blueTimer: UInt64 = 0
    var pDrop: UInt32 = 0
    var dropping = false, ecnMarked = false

    /// `cobalt_newton_step` on a 32-bit 1/sqrt(count).
    mutating func newtonStep() {
        let invsqrt = UInt64(recInvSqrt)
        let invsqrt2 = (invsqrt * invsqrt) >> 32
        var val = (UInt64(3) << 32) &- UInt64(count) &* invsqrt2
        val >>= 2
        val = (val &* invsqrt) >> (32 - 2 + 1)
        recInvSqrt = UInt32(truncatingIfNeeded: val)
    }
    /// `cobalt_cache_init`: 1/sqrt(n) for n below 16, four Newton steps each from the last.
    static let invSqrtCache: [UInt32] = {
        var v = CobaltVars()
        v.recInvSqrt = ~0
        var cache = [v.recInvSqrt]
        for n in 1..<16 {
            v.count = UInt32(n)
            for _ in 0..<4 { v.newtonStep() }
            cache.append(v.recInvSqrt)
        }
        return cache
    }()
    /// `cobalt_invsqrt`.
    mutating func invsqrt() {
        if count < 16 { recInvSqrt = CobaltVars.invSqrtCache[Int(count)] } else { newtonStep() }
    }
    /// `cobalt_control`: t + interval / sqrt(count).
    static func control(_ t: UInt64, interval: UInt64, _ rec: UInt32) -> UInt64 {
        t &+ ((UInt64(UInt32(truncatingIfNeeded: interval)) * UInt64(rec)) >> 32)
    }
}

final class Cake: Qdisc {
    enum FlowSet: String { case none, sparse, sparseWait, bulk, decaying }
    final class Flow {
        var queue = Deque<SkBuff>()
        /// Bytes queued (what cake_drop compares to find the fattest flow).
        var backlog = 0
        var deficit = 0
        var cvars = CobaltVars()
        var set = FlowSet.none
    }
    final class Tin {
        let rateBps: UInt64, rateNs: UInt64, rateShift: UInt64
        let flowQuantum: Int, tinQuantum: Int
        let target: UInt64, interval: UInt64, mtuTime: UInt64
        var flows: [UInt32: Flow] = [:]
        var newFlows: [Flow] = [], oldFlows: [Flow] = [], decayingFlows: [Flow] = []
        var sparse = 0, bulk = 0, decaying = 0, unresponsive = 0
        var timeNextPacket: UInt64 = 0
        var tinDeficit = 0
        var backlog = 0, packets = 0, bytes = 0, wayMisses = 0, drops = 0, marks = 0, maxLen = 0
        var avgDelay: UInt64 = 0, peakDelay: UInt64 = 0, baseDelay: UInt64 = 0

        /// `cake_set_rate`: the rate as ns per byte (a multiply and shift), the flow quantum,
        /// and COBALT's target and interval stretched for slow tins (1.5 MTU times at least).
        init(rate: UInt64, mtu: Int, targetNs: UInt64, intervalNs: UInt64, tinQuantum: Int) {
            var shift: UInt64 = 0, ns: UInt64 = 0
            var quantum = 1514
            if rate > 0 {
                quantum = Int(max(min(rate >> 12, 1514), 300))
                shift = 34
                ns = (UInt64(1_000_000_000) << shift) / max(64, rate)
                while ns >> 34 != 0 { ns >>= 1; shift -= 1 }
            }
            rateBps = rate; rateNs = ns; rateShift = shift
            flowQuantum = quantum
            self.tinQuantum = tinQuantum
            let byteTargetNs = (UInt64(mtu) * ns) >> shift
            target = max(byteTargetNs * 3 / 2, targetNs)
            interval = max(intervalNs &+ target &- targetNs, target * 2)
            mtuTime = byteTargetNs
        }
        func duration(_ len: Int) -> UInt64 { (UInt64(len) &* rateNs) >> rateShift }
    }

    let opts: CakeSpec
    var tins: [Tin]
    /// tin_order: the tins as tc lists them; tin_index: DSCP to tin.
    private let order: [Int]
    private let bufferLimit: Int
    var bufferUsed = 0, bufferMaxUsed = 0
    private let global: Tin
    // Internal, not private: a checkpoint keeps and restores them (RuntimeQdiscs.swift).
    var timeNextPacket: UInt64 = 0, failsafeNextPacket: UInt64 = 0
    var curTin = 0
    var minNetlen = 65535, maxNetlen = 0
    var avgNetoff: UInt64 = 0
    var random: UInt64
    var nextWake: UInt64?

    /// `cake_config_diffserv3` / `cake_config_besteffort`: Best Effort at the full rate, Bulk at
    /// 1/16, Voice at 1/4, with DRR weights 1024, 64, 256.
    init(handle: UInt32, spec: CakeSpec, mtu: Int, txqueuelen: Int) {
        opts = spec
        let t = UInt64(spec.targetUs) * 1000, i = UInt64(spec.rttUs) * 1000
        switch spec.diffserv {
        case .besteffort:
            tins = [Tin(rate: spec.rate, mtu: mtu, targetNs: t, intervalNs: i, tinQuantum: 65535)]
            order = [0]
        case .diffserv3:
            tins = [Tin(rate: spec.rate, mtu: mtu, targetNs: t, intervalNs: i, tinQuantum: 1024),
                    Tin(rate: spec.rate >> 4, mtu: mtu, targetNs: t, intervalNs: i, tinQuantum: 1024 >> 4),
                    Tin(rate: spec.rate >> 2, mtu: mtu, targetNs: t, intervalNs: i, tinQuantum: 1024 >> 2)]
            order = [1, 0, 2]
        }
        global = Tin(rate: spec.rate, mtu: mtu, targetNs: t, intervalNs: i, tinQuantum: 0)
        // cake_change: rate × interval × 4 (at least 4 MiB) unless given, within limit × MTU.
        var limit = spec.memlimit
        if limit == 0 { limit = spec.rate > 0 ? max(Int(spec.rate * UInt64(spec.rttUs) / 250_000), 4 << 20) : Int.max }
        bufferLimit = min(limit, max(10240 * mtu, spec.memlimit))
        random = 0x9e37_79b9_7f4a_7c15 ^ UInt64(handle)
        super.init(handle: handle, spec: .cake(spec))
    }

    private func nextRandom() -> UInt32 {
        random ^= random << 13; random ^= random >> 7; random ^= random << 17
        return UInt32(truncatingIfNeeded: random >> 16)
    }

    /// diffserv3's `tin_index`: CS1 and LE to Bulk; EF, VA, CS5... to Voice (DSCP 4, 44, 46, 48, 56); the rest Best Effort.
    private func tin(for skb: SkBuff) -> Int {
        guard opts.diffserv == .diffserv3 else { return 0 }
        let dscp = skb.dscp
        switch dscp {
        case 1, 8: return 1
        case 4, 44, 46, 48, 56: return 2
        default: return 0
        }
    }

    // MARK: enqueue

    /// `cake_enqueue`: into its tin and flow (a flow that was empty joins the new flows as sparse),
    /// counted against the memory limit; past it, `cake_drop` takes the head of the fattest flow.
    override func enqueue(_ skb: SkBuff, len: Int, now: UInt64) -> EnqueueResult {
        let b = tins[tin(for: skb)]
        if opts.wash { skb.setDSCP(0) }
        let key: UInt32 = opts.flowMode == .flowblind ? 0 : skb.hash
        let flow: Flow
        if let f = b.flows[key] { flow = f } else { flow = Flow(); b.flows[key] = flow; b.wayMisses += 1 }
        if stats.qlen == 0 && global.rateNs != 0 && timeNextPacket < now { timeNextPacket = now; failsafeNextPacket = now }
        skb.cakeEnqueueTime = now
        flow.queue.append(skb)
        flow.backlog += len
        let off = skb.networkHeader
        avgNetoff = avgNetoff - (avgNetoff >> 8) + ((UInt64(off) << 16) >> 8)
        minNetlen = min(minNetlen, len); maxNetlen = max(maxNetlen, len)
        b.packets += 1; b.bytes += len; b.backlog += len
        b.maxLen = max(b.maxLen, len)
        stats.qlen += 1; stats.backlog += len
        bufferUsed += skb.truesize
        bufferMaxUsed = max(bufferMaxUsed, bufferUsed)
        switch flow.set {
        case .none:
            b.newFlows.append(flow)
            flow.set = .sparse; b.sparse += 1
            flow.deficit = Int((UInt64(b.flowQuantum) * 65535) >> 16)
        case .decaying:
            b.decayingFlows.removeAll { $0 === flow }
            b.oldFlows.append(flow)
            flow.set = .bulk; b.decaying -= 1; b.bulk += 1
        case .sparseWait:
            flow.set = .bulk; b.sparse -= 1; b.bulk += 1
        default: break
        }
        while bufferUsed > bufferLimit { cake_drop(now: now) }
        return .success
    }

    /// `cake_drop`: the head of the flow with the most backlog goes; BLUE raises its drop probability.
    private func cake_drop(now: UInt64) {
        var best: (Tin, Flow, Int)?
        for b in tins { for f in b.flows.values where !f.queue.isEmpty {
            if best == nil || f.backlog > best!.2 { best = (b, f, f.backlog) }
        } }
        guard let (b, f, _) = best, let skb = f.queue.popFirst() else { bufferUsed = 0; return }
        cobaltQueueFull(&f.cvars, b, now: now)
        unqueue(skb, b, f)
        b.drops += 1; stats.drops += 1
        toFree.append((skb, .QDISC_OVERLIMIT))
    }

    private func unqueue(_ skb: SkBuff, _ b: Tin, _ f: Flow) {
        let len = skb.qdiscPktLen
        f.backlog -= len
        b.backlog -= len
        stats.qlen -= 1; stats.backlog -= len
        bufferUsed -= skb.truesize
    }

    // MARK: dequeue

    /// `cake_dequeue`: the global shaper, then a tin (shaped: the one whose own schedule is
    /// nearest, the higher-priority on a tie; unlimited: DRR by tin quantum), then DRR++ over its
    /// decaying, new and old flows, COBALT on the flow's head.
    override func dequeue(now: UInt64) -> SkBuff? {
        var firstFlow = true
        while true {
            guard stats.qlen > 0 else { nextWake = nil; return nil }
            if global.rateNs != 0 && timeNextPacket > now && failsafeNextPacket > now {
                stats.overlimits += 1
                nextWake = min(timeNextPacket, failsafeNextPacket)
                return nil
            }
            var b: Tin
            if global.rateNs == 0 {
                b = tins[curTin]
                var wrapped = false, empty = true
                while b.tinDeficit < 0 || b.sparse + b.bulk == 0 {
                    if b.tinDeficit <= 0 { b.tinDeficit += b.tinQuantum }
                    if b.sparse + b.bulk > 0 { empty = false }
                    curTin += 1
                    if curTin >= tins.count {
                        curTin = 0
                        if wrapped { if empty { return nil } } else { wrapped = true }
                    }
                    b = tins[curTin]
                }
            } else {
                var bestTime = UInt64.max, bestTin = 0
                for (i, t) in tins.enumerated() where t.sparse + t.bulk > 0 {
                    let toPkt = t.timeNextPacket > now ? t.timeNextPacket - now : 0
                    if toPkt <= bestTime { bestTime = toPkt; bestTin = i }
                }
                curTin = bestTin
                b = tins[bestTin]
                if b.sparse + b.bulk == 0 { return nil }
            }
            // Flows: decaying ones first on the first pass, then new, then old.
            while true {
                let flow: Flow
                var list: ReferenceWritableKeyPath<Tin, [Flow]>
                if firstFlow && !b.decayingFlows.isEmpty { list = \.decayingFlows }
                else if !b.newFlows.isEmpty { list = \.newFlows }
                else if !b.oldFlows.isEmpty { list = \.oldFlows }
                else if !b.decayingFlows.isEmpty { list = \.decayingFlows }
                else { break }
                flow = b[keyPath: list][0]
                firstFlow = false
                if flow.deficit <= 0 {
                    if flow.set == .sparse {
                        if !flow.queue.isEmpty { b.sparse -= 1; b.bulk += 1; flow.set = .bulk } else { flow.set = .sparseWait }
                    }
                    flow.deficit += Int((UInt64(b.flowQuantum) * 65535 + UInt64(nextRandom() & 0xffff)) >> 16)
                    b[keyPath: list].removeFirst()
                    b.oldFlows.append(flow)
                    continue
                }
                var got: SkBuff?
                while let skb = flow.queue.popFirst() {
                    unqueue(skb, b, flow)
                    if !shouldDrop(&flow.cvars, b, now: now, skb: skb) || flow.queue.isEmpty { got = skb; break }
                    b.drops += 1; stats.drops += 1
                    toFree.append((skb, .QDISC_CONGESTED))
                }
                guard let skb = got else {
                    // The flow is empty: it decays in its own list until COBALT is at rest.
                    if cobaltQueueEmpty(&flow.cvars, b, now: now) { b.unresponsive -= 1 }
                    b[keyPath: list].removeFirst()
                    let wasSparse = flow.set == .sparse || flow.set == .sparseWait
                    if flow.cvars.pDrop != 0 || flow.cvars.count != 0 || now < flow.cvars.dropNext {
                        if flow.set == .bulk { b.bulk -= 1; b.decaying += 1 } else if wasSparse { b.sparse -= 1; b.decaying += 1 }
                        b.decayingFlows.append(flow)
                        flow.set = .decaying
                    } else {
                        if wasSparse { b.sparse -= 1 } else if flow.set == .bulk { b.bulk -= 1 } else { b.decaying -= 1 }
                        flow.set = .none
                    }
                    break
                }
                if flow.cvars.ecnMarked { b.marks += 1 }
                stats.bytes += skb.qdiscPktLen; stats.packets += skb.gsoSegs
                let delay = now &- skb.cakeEnqueueTime
                b.avgDelay = Cake.ewma(b.avgDelay, delay, 8)
                b.peakDelay = Cake.ewma(b.peakDelay, delay, delay > b.peakDelay ? 2 : 8)
                b.baseDelay = Cake.ewma(b.baseDelay, delay, delay < b.baseDelay ? 2 : 8)
                let len = advanceShaper(b, skb.qdiscPktLen, now: now)
                flow.deficit -= len
                b.tinDeficit -= len
                nextWake = timeNextPacket > now && stats.qlen > 0 ? min(timeNextPacket, failsafeNextPacket) : nil
                return skb
            }
        }
    }

    /// `cake_ewma`.
    static func ewma(_ avg: UInt64, _ sample: UInt64, _ shift: UInt64) -> UInt64 { avg - (avg >> shift) + (sample >> shift) }

    /// `cake_advance_shaper`: the tin's schedule and the global one move by the packet's time.
    private func advanceShaper(_ b: Tin, _ len: Int, now: UInt64) -> Int {
        guard global.rateNs != 0 else { return len }
        let tinDur = b.duration(len), globalDur = global.duration(len)
        if b.timeNextPacket < now { b.timeNextPacket &+= tinDur } else if b.timeNextPacket < now &+ tinDur { b.timeNextPacket = now &+ tinDur }
        timeNextPacket &+= globalDur
        failsafeNextPacket &+= globalDur + globalDur / 2
        return len
    }

    override var watchdogNs: UInt64? { stats.qlen > 0 ? nextWake : nil }

    // MARK: COBALT

    /// `cobalt_should_drop`: CoDel's schedule (counting from the first packet over target, no
    /// interval of grace), CE marks for ECN-capable packets, and BLUE's random drops.
    private func shouldDrop(_ v: inout CobaltVars, _ b: Tin, now: UInt64, skb: SkBuff) -> Bool {
        let sojourn = now &- skb.cakeEnqueueTime
        var schedule = Int64(bitPattern: now &- v.dropNext)
        let overTarget = sojourn > b.target && sojourn > b.mtuTime * 4
        var nextDue = v.count != 0 && schedule >= 0
        var drop = false
        v.ecnMarked = false
        if overTarget {
            if !v.dropping { v.dropping = true; v.dropNext = CobaltVars.control(now, interval: b.interval, v.recInvSqrt) }
            if v.count == 0 { v.count = 1 }
        } else if v.dropping {
            v.dropping = false
        }
        if nextDue && v.dropping {
            v.ecnMarked = skb.setECNCongestionExperienced()
            drop = !v.ecnMarked
            v.count &+= 1
            if v.count == 0 { v.count -= 1 }
            v.invsqrt()
            v.dropNext = CobaltVars.control(v.dropNext, interval: b.interval, v.recInvSqrt)
            schedule = Int64(bitPattern: now &- v.dropNext)
        } else {
            while nextDue {
                v.count -= 1
                v.invsqrt()
                v.dropNext = CobaltVars.control(v.dropNext, interval: b.interval, v.recInvSqrt)
                schedule = Int64(bitPattern: now &- v.dropNext)
                nextDue = v.count != 0 && schedule >= 0
            }
        }
        if v.pDrop != 0 { drop = drop || nextRandom() < v.pDrop }
        if v.count == 0 { v.dropNext = now &+ b.interval } else if schedule > 0 && !drop { v.dropNext = now }
        return drop
    }

    /// `cobalt_queue_full`: BLUE's probability up by 1/256 at most once per target.
    private func cobaltQueueFull(_ v: inout CobaltVars, _ b: Tin, now: UInt64) {
        if now &- v.blueTimer > b.target {
            if v.pDrop == 0 { b.unresponsive += 1 }
            v.pDrop &+= 1 << 24
            if v.pDrop < 1 << 24 { v.pDrop = ~0 }
            v.blueTimer = now
        }
        v.dropping = true
        v.dropNext = now
        if v.count == 0 { v.count = 1 }
    }

    /// `cobalt_queue_empty`: BLUE's probability down by 1/4096; true when that happened.
    private func cobaltQueueEmpty(_ v: inout CobaltVars, _ b: Tin, now: UInt64) -> Bool {
        var down = false
        if v.pDrop != 0 && now &- v.blueTimer > b.target {
            v.pDrop = v.pDrop < 1 << 20 ? 0 : v.pDrop - (1 << 20)
            v.blueTimer = now
            down = v.pDrop == 0
        }
        v.dropping = false
        if v.count != 0 && Int64(bitPattern: now &- v.dropNext) >= 0 {
            v.count -= 1
            v.invsqrt()
            v.dropNext = CobaltVars.control(v.dropNext, interval: b.interval, v.recInvSqrt)
        }
        return down
    }

    var currentStats: CakeStats {
        var s = CakeStats()
        s.memoryUsed = bufferMaxUsed
        s.memoryLimit = bufferLimit == Int.max ? Int(UInt32.max) : bufferLimit
        s.capacityEstimate = opts.rate
        s.minNetlen = minNetlen; s.maxNetlen = maxNetlen
        s.avgNetoff = Int((avgNetoff + 0x8000) >> 16)
        s.tins = order.map { i in
            let b = tins[i]
            var t = CakeTinStats()
            t.thresholdRate = b.rateBps
            t.targetUs = Int(b.target / 1000); t.intervalUs = Int(b.interval / 1000)
            t.peakDelayUs = Int(b.peakDelay / 1000); t.avgDelayUs = Int(b.avgDelay / 1000); t.baseDelayUs = Int(b.baseDelay / 1000)
            t.backlog = b.backlog; t.packets = b.packets; t.bytes = b.bytes; t.wayMisses = b.wayMisses
            t.drops = b.drops; t.marks = b.marks
            t.sparseFlows = b.sparse + b.decaying; t.bulkFlows = b.bulk; t.unresponsiveFlows = b.unresponsive
            t.maxLen = b.maxLen; t.quantum = b.flowQuantum
            return t
        }
        return s
    }

    override func reset() -> [SkBuff] {
        var all = takePeeked()
        for b in tins {
            for f in b.flows.values { all += f.queue.all; f.queue = Deque(); f.backlog = 0; f.set = .none }
            b.newFlows = []; b.oldFlows = []; b.decayingFlows = []
            b.sparse = 0; b.bulk = 0; b.decaying = 0; b.backlog = 0
        }
        stats.backlog = 0; stats.qlen = 0
        bufferUsed = 0
        nextWake = nil
        return all
    }
}
