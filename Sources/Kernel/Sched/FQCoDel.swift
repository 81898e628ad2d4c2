// net/sched/sch_fq_codel.c with include/net/codel_impl.h (RFC 8290, RFC 8289). The kernel of
// these machines has no fq_codel module, so this follows the sources and the RFCs, not a recording.

/// fq_codel's options as tc sets them (times in µs, as tc passes them).
public struct FQCoDelSpec: Sendable, Equatable {
    public var limit = 10240
    public var flows = 1024
    /// nil: psched_mtu of the device (MTU + 14).
    public var quantum: Int? = nil
    public var targetUs = 5000
    public var intervalUs = 100_000
    public var memoryLimit = 32 << 20
    public var ecn = true
    public var dropBatch = 64
    public init() {}
}

/// fq_codel's own counters (`tc -s`'s xstats).
public struct FQCoDelStats: Sendable, Equatable {
    public var maxpacket = 0, dropOverlimit = 0, newFlowCount = 0, ecnMark = 0, memoryUsed = 0, dropOvermemory = 0
    public var newFlowsLen = 0, oldFlowsLen = 0
}

/// `struct codel_vars` and the CoDel control law in the kernel's integer arithmetic: time in
/// units of 1024 ns (`codel_time_t`, u32), 1/sqrt(count) as a 16-bit fixed-point Newton step.
struct CoDelVars: Equatable {
    var count: UInt32 = 0, lastcount: UInt32 = 0
    var dropping = false
    var recInvSqrt: UInt16 = 0
    var firstAboveTime: UInt32 = 0, dropNext: UInt32 = 0, ldelay: UInt32 = 0

    /// `codel_Newton_step`: rec_inv_sqrt ← rec_inv_sqrt × (3 − count × rec_inv_sqrt²) / 2.
    mutating func newtonStep() {
        let invsqrt = UInt32(recInvSqrt) << 16
        let invsqrt2 = UInt32((UInt64(invsqrt) * UInt64(invsqrt)) >> 32)
        var val = (UInt64(3) << 32) &- UInt64(count) &* UInt64(invsqrt2)
        val >>= 2
        val = (val &* UInt64(invsqrt)) >> (32 - 2 + 1)
        recInvSqrt = UInt16(truncatingIfNeeded: val >> 16)
    }

    /// `codel_control_law`: t + interval / sqrt(count).
    static func controlLaw(_ t: UInt32, interval: UInt32, recInvSqrt: UInt16) -> UInt32 {
        t &+ UInt32((UInt64(interval) * UInt64(UInt32(recInvSqrt) << 16)) >> 32)
    }
}

@inline(__always) func codelAfter(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) > 0 }
@inline(__always) func codelAfterEq(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) >= 0 }

final class FQCoDel: Qdisc {
    final class Flow {
        var queue = Deque<SkBuff>()
        var deficit = 0
        var cvars = CoDelVars()
        /// On new_flows or old_flows.
        var listed = false
    }
    let opts: FQCoDelSpec
    let quantum: Int
    let mtu: Int
    private let target: UInt32, interval: UInt32
    private var flows: [Flow]
    private var backlogs: [Int]
    private var newFlows = Deque<Int>(), oldFlows = Deque<Int>()
    private var memoryUsage = 0
    var xstats = FQCoDelStats()
    /// Packets CoDel dropped at dequeue since the parent was last told (`cstats.drop_count`).
    private(set) var dropCount = 0, dropLen = 0

    init(handle: UInt32, spec: FQCoDelSpec, psched_mtu: Int) {
        opts = spec
        quantum = spec.quantum ?? psched_mtu
        mtu = psched_mtu
        // Swift's >> binds tighter than *: the product first.
        target = UInt32(truncatingIfNeeded: (UInt64(spec.targetUs) * 1000) >> 10)
        interval = UInt32(truncatingIfNeeded: (UInt64(spec.intervalUs) * 1000) >> 10)
        flows = (0..<spec.flows).map { _ in Flow() }
        backlogs = Array(repeating: 0, count: spec.flows)
        super.init(handle: handle, spec: .fqCodel(spec))
    }

    /// `fq_codel_classify`: `reciprocal_scale(skb_get_hash(skb), flows)`.
    private func classify(_ skb: SkBuff) -> Int { Int((UInt64(skb.hash) * UInt64(flows.count)) >> 32) }

    /// `fq_codel_enqueue`: onto its flow (a flow that was empty joins new_flows with a quantum of
    /// credit); past the packet limit or the memory limit, `fq_codel_drop` head-drops up to
    /// drop_batch packets, half the backlog, from the fattest flow.
    override func enqueue(_ skb: SkBuff, len: Int, now: UInt64) -> EnqueueResult {
        let idx = classify(skb)
        let flow = flows[idx]
        skb.codelEnqueueTime = UInt32(truncatingIfNeeded: now >> 10)
        flow.queue.append(skb)
        backlogs[idx] += len
        stats.backlog += len
        if !flow.listed {
            flow.listed = true
            newFlows.append(idx)
            xstats.newFlowCount += 1
            flow.deficit = quantum
        }
        memoryUsage += skb.truesize
        let memoryLimited = memoryUsage > opts.memoryLimit
        stats.qlen += 1
        if stats.qlen <= opts.limit && !memoryLimited { return .success }
        let before = stats.qlen
        fq_codel_drop()
        xstats.dropOverlimit += before - stats.qlen
        if memoryLimited { xstats.dropOvermemory += before - stats.qlen }
        return .success
    }

    private func fq_codel_drop() {
        var idx = 0, maxBacklog = 0
        for i in 0..<backlogs.count where backlogs[i] > maxBacklog { maxBacklog = backlogs[i]; idx = i }
        let threshold = maxBacklog >> 1
        let flow = flows[idx]
        var len = 0, n = 0
        repeat {
            guard let skb = flow.queue.popFirst() else { break }
            len += skb.qdiscPktLen
            memoryUsage -= skb.truesize
            toFree.append((skb, .QDISC_OVERLIMIT))
            n += 1
        } while n < opts.dropBatch && len < threshold
        flow.cvars.count &+= UInt32(n)
        backlogs[idx] -= len
        stats.drops += n
        stats.backlog -= len
        stats.qlen -= n
    }

    /// `fq_codel_dequeue`: DRR over new_flows then old_flows, CoDel on the chosen flow.
    override func dequeue(now: UInt64) -> SkBuff? {
        let t = UInt32(truncatingIfNeeded: now >> 10)
        while true {
            let fromNew = !newFlows.isEmpty
            guard let idx = fromNew ? newFlows.first : oldFlows.first else { return nil }
            let flow = flows[idx]
            if flow.deficit <= 0 {
                flow.deficit += quantum
                _ = fromNew ? newFlows.popFirst() : oldFlows.popFirst()
                oldFlows.append(idx)
                continue
            }
            guard let skb = codel_dequeue(flow, idx: idx, now: t) else {
                _ = fromNew ? newFlows.popFirst() : oldFlows.popFirst()
                // A pass through old_flows keeps new flows from starving them.
                if fromNew && !oldFlows.isEmpty { oldFlows.append(idx) } else { flow.listed = false }
                continue
            }
            stats.bytes += skb.qdiscPktLen; stats.packets += skb.gsoSegs
            flow.deficit -= skb.qdiscPktLen
            return skb
        }
    }

    private func dequeueHead(_ flow: Flow, idx: Int) -> SkBuff? {
        guard let skb = flow.queue.popFirst() else { return nil }
        backlogs[idx] -= skb.qdiscPktLen
        memoryUsage -= skb.truesize
        stats.qlen -= 1
        stats.backlog -= skb.qdiscPktLen
        return skb
    }

    private func shouldDrop(_ skb: SkBuff?, _ v: inout CoDelVars, now: UInt32) -> Bool {
        guard let skb else { v.firstAboveTime = 0; return false }
        let len = skb.qdiscPktLen
        v.ldelay = now &- skb.codelEnqueueTime
        if len > xstats.maxpacket { xstats.maxpacket = len }
        if codelAfter(target, v.ldelay) || stats.backlog <= mtu {
            v.firstAboveTime = 0
            return false
        }
        if v.firstAboveTime == 0 {
            v.firstAboveTime = now &+ interval
            return false
        }
        return codelAfter(now, v.firstAboveTime)
    }

    /// CoDel drops (or CE-marks an ECN-capable packet) at the rate of its control law.
    private func codelDrop(_ skb: SkBuff) {
        dropLen += skb.qdiscPktLen
        dropCount += 1
        stats.drops += 1
        toFree.append((skb, .QDISC_CONGESTED))
    }

    /// INET_ECN_set_ce on an ECT packet.
    private func setCE(_ skb: SkBuff) -> Bool {
        guard opts.ecn else { return false }
        return skb.setECNCongestionExperienced()
    }

    /// `codel_dequeue`.
    private func codel_dequeue(_ flow: Flow, idx: Int, now: UInt32) -> SkBuff? {
        var v = flow.cvars
        defer { flow.cvars = v }
        var skb = dequeueHead(flow, idx: idx)
        guard skb != nil else { v.dropping = false; return nil }
        var drop = shouldDrop(skb, &v, now: now)
        if v.dropping {
            if !drop {
                v.dropping = false
            } else if codelAfterEq(now, v.dropNext) {
                while v.dropping && codelAfterEq(now, v.dropNext) {
                    v.count &+= 1
                    v.newtonStep()
                    if let s = skb, setCE(s) {
                        xstats.ecnMark += 1
                        v.dropNext = CoDelVars.controlLaw(v.dropNext, interval: interval, recInvSqrt: v.recInvSqrt)
                        break
                    }
                    codelDrop(skb!)
                    skb = dequeueHead(flow, idx: idx)
                    if !shouldDrop(skb, &v, now: now) {
                        v.dropping = false
                    } else {
                        v.dropNext = CoDelVars.controlLaw(v.dropNext, interval: interval, recInvSqrt: v.recInvSqrt)
                    }
                }
            }
        } else if drop {
            if let s = skb, setCE(s) {
                xstats.ecnMark += 1
            } else {
                codelDrop(skb!)
                skb = dequeueHead(flow, idx: idx)
                drop = shouldDrop(skb, &v, now: now)
            }
            v.dropping = true
            let delta = v.count &- v.lastcount
            if delta > 1 && codelAfter(16 &* interval, now &- v.dropNext) {
                v.count = delta
                v.newtonStep()
            } else {
                v.count = 1
                v.recInvSqrt = UInt16.max
            }
            v.lastcount = v.count
            v.dropNext = CoDelVars.controlLaw(now, interval: interval, recInvSqrt: v.recInvSqrt)
        }
        return skb
    }

    /// The parent learns of CoDel's drops (qdisc_tree_reduce_backlog); answers and clears them.
    func takeDropCounts() -> (count: Int, len: Int) {
        defer { dropCount = 0; dropLen = 0 }
        return (dropCount, dropLen)
    }

    override func reset() -> [SkBuff] {
        var all: [SkBuff] = []
        for f in flows { all += f.queue.all; f.queue = Deque(); f.listed = false; f.cvars = CoDelVars() }
        newFlows = Deque(); oldFlows = Deque()
        backlogs = Array(repeating: 0, count: flows.count)
        memoryUsage = 0
        stats.backlog = 0; stats.qlen = 0
        return takePeeked() + all
    }

    // MARK: checkpoints

    /// A flow as a checkpoint keeps it: its packets, credit, CoDel state and whether it is on a list.
    struct FlowState { var index: Int; var queue: [SkBuff]; var deficit: Int; var cvars: CoDelVars; var listed: Bool }

    /// The flows that differ from fresh ones, both DRR lists, the own counters and the CoDel
    /// drops the parent has not been told of yet.
    var checkpointState: (flows: [FlowState], newFlows: [Int], oldFlows: [Int], xstats: FQCoDelStats, dropCount: Int, dropLen: Int) {
        let fresh = CoDelVars()
        let kept = flows.indices.compactMap { i -> FlowState? in
            let f = flows[i]
            guard !f.queue.isEmpty || f.deficit != 0 || f.listed || f.cvars != fresh else { return nil }
            return FlowState(index: i, queue: f.queue.all, deficit: f.deficit, cvars: f.cvars, listed: f.listed)
        }
        return (kept, newFlows.all, oldFlows.all, xstats, dropCount, dropLen)
    }

    /// Puts a checkpoint's flows back (indices past this qdisc's flows are left out, and so
    /// are lists naming them); backlogs, memory and the queue length follow from the packets.
    func restore(flows kept: [FlowState], newFlows n: [Int], oldFlows o: [Int], xstats x: FQCoDelStats, dropCount dc: Int, dropLen dl: Int) {
        for k in kept where flows.indices.contains(k.index) {
            let f = flows[k.index]
            f.queue = Deque()
            for skb in k.queue {
                f.queue.append(skb)
                backlogs[k.index] += skb.qdiscPktLen; memoryUsage += skb.truesize
                stats.backlog += skb.qdiscPktLen; stats.qlen += 1
            }
            f.deficit = k.deficit; f.cvars = k.cvars; f.listed = k.listed
        }
        newFlows = Deque(); oldFlows = Deque()
        for i in n where flows.indices.contains(i) { newFlows.append(i) }
        for i in o where flows.indices.contains(i) { oldFlows.append(i) }
        xstats = x
        dropCount = dc; dropLen = dl
    }

    /// xstats with the list lengths and memory in use now.
    var currentStats: FQCoDelStats {
        var x = xstats
        x.newFlowsLen = newFlows.count; x.oldFlowsLen = oldFlows.count; x.memoryUsed = memoryUsage
        return x
    }
}
