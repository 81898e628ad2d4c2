// net/sched/sch_tbf.c: a token bucket in front of a child qdisc (bfifo of `limit` bytes by default).

/// `struct psched_ratecfg`: a rate as the multiply-and-shift the kernel turns lengths into ns with.
public struct PSchedRate: Sendable {
    let rateBytesPerSec: UInt64
    let mult: UInt64
    let shift: UInt64

    /// `psched_ratecfg_precompute` / `psched_ratecfg_calc_mult_shift`.
    public init(bytesPerSec rate: UInt64) {
        rateBytesPerSec = rate
        var factor: UInt64 = 1_000_000_000, m: UInt64 = 1, s: UInt64 = 0
        if rate > 0 {
            while true {
                m = factor / rate
                if m & (1 << 31) != 0 || factor & (1 << 63) != 0 { break }
                factor <<= 1; s += 1
            }
        }
        mult = m & 0xffff_ffff; shift = s
    }

    /// `psched_l2t_ns`: the time `len` bytes take at this rate.
    public func l2t(_ len: Int) -> UInt64 { (UInt64(len) &* mult) >> shift }
}

final class TBF: Qdisc {
    let rate: PSchedRate
    /// `q->buffer`: the bucket depth in ns of tokens; `max_size`: the largest packet in bytes.
    let buffer: Int64
    let maxSize: Int
    let limit: Int
    private var tokens: Int64
    /// `q->t_c`: when tokens were last counted.
    private var tc: UInt64
    private var blockedUntil: UInt64?
    /// The qdisc under class 1 (`q->qdisc`).
    var inner: Qdisc
    /// The child's drops already counted here.
    private var innerDrops = 0
    /// The bucket as a checkpoint keeps it: tokens, when they were counted, the child's drops seen.
    var bucket: (tokens: Int64, tc: UInt64, innerDrops: Int) {
        get { (tokens, tc, innerDrops) }
        set {
            tokens = min(newValue.tokens, buffer); tc = newValue.tc; innerDrops = newValue.innerDrops
            // The default child is made anew: its drops are those this tbf has counted.
            if inner.handle == 0 { inner.stats.drops = innerDrops }
        }
    }

    init(handle: UInt32, spec: TBFSpec, now: UInt64) {
        rate = PSchedRate(bytesPerSec: spec.rate)
        buffer = Int64(clamping: rate.l2t(spec.burst))
        maxSize = spec.burst
        limit = spec.limit
        tokens = buffer
        tc = now
        // fifo_create_dflt(sch, &bfifo_qdisc_ops, qopt->limit): hidden from `tc qdisc show`.
        inner = FIFOQdisc(handle: 0, spec: .bfifo(limit: spec.limit), txqueuelen: 0, psched_mtu: 0)
        super.init(handle: handle, spec: .tbf(spec))
    }

    override var child: Qdisc? {
        get { inner }
        // A child kept through `tc qdisc change` brings drops this tbf already counts.
        set { inner = newValue ?? FIFOQdisc(handle: 0, spec: .bfifo(limit: limit), txqueuelen: 0, psched_mtu: 0); innerDrops = inner.stats.drops }
    }

    /// `tbf_enqueue`: a packet above the burst can never pass and is dropped; else the child decides.
    override func enqueue(_ skb: SkBuff, len: Int, now: UInt64) -> EnqueueResult {
        guard len <= maxSize else { stats.drops += 1; return .drop(.QDISC_DROP) }
        let r = inner.enqueue(skb, len: len, now: now)
        followChild()
        return r
    }

    /// What the child holds and dropped, as `qdisc_tree_reduce_backlog` and tbf's own
    /// accounting keep the parent in step with it; its freed packets go up.
    private func followChild() {
        stats.drops += inner.stats.drops - innerDrops
        innerDrops = inner.stats.drops
        stats.qlen = inner.stats.qlen
        stats.backlog = inner.stats.backlog
        if !inner.toFree.isEmpty { toFree += inner.toFree; inner.toFree = [] }
    }

    /// `tbf_dequeue`: the head leaves when the tokens gathered since `t_c` (at most a bucket)
    /// cover its length; otherwise the watchdog is set for when they will, and it counts an overlimit.
    override func dequeue(now: UInt64) -> SkBuff? {
        defer { followChild() }
        guard let head = inner.peek(now: now) else { blockedUntil = nil; return nil }
        let len = head.qdiscPktLen
        var toks = min(Int64(clamping: now > tc ? now - tc : 0), buffer) + tokens
        if toks > buffer { toks = buffer }
        toks -= Int64(clamping: rate.l2t(len))
        guard toks >= 0 else {
            blockedUntil = now &+ UInt64(-toks)
            stats.overlimits += 1
            return nil
        }
        blockedUntil = nil
        let skb = inner.dequeuePeeked(now: now)!
        tc = now; tokens = toks
        stats.bytes += len; stats.packets += skb.gsoSegs
        return skb
    }

    /// Its own deadline, or a throttled child's (whose watchdog reschedules the root).
    override var watchdogNs: UInt64? {
        guard stats.qlen > 0 else { return nil }
        switch (blockedUntil, inner.watchdogNs) {
        case (let a?, let b?): return min(a, b)
        case (let a, let b): return a ?? b
        }
    }

    /// Its default child's queue (a child tc added keeps its own), and when the head's tokens
    /// will be there.
    override var checkpointQueue: [SkBuff]? { inner.handle == 0 ? inner.checkpointQueue : [] }
    override func restoreQueue(_ skbs: [SkBuff]) {
        guard inner.handle == 0 else { return }
        inner.restoreQueue(skbs)
        followChild()
    }
    var blocked: UInt64? {
        get { blockedUntil }
        set { blockedUntil = newValue }
    }
    /// A child tc added took its queue back: this tbf counts it again.
    func childRestored() { followChild() }

    override func reset() -> [SkBuff] {
        let all = takePeeked() + inner.reset()
        stats.backlog = 0; stats.qlen = 0
        tokens = buffer; blockedUntil = nil
        return all
    }
}
