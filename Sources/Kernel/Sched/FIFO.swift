// net/sched/sch_fifo.c and the default qdiscs of net/sched/sch_generic.c.

/// `noqueue`: nothing is ever queued; `__dev_queue_xmit` transmits directly.
final class NoQueue: Qdisc {
    init() { super.init(handle: 0, spec: .noqueue) }
}

/// `pfifo` / `bfifo`: one tail-drop FIFO limited in packets or in bytes.
final class FIFOQdisc: Qdisc {
    let bytes: Bool
    /// Packets or bytes; `fifo_set_limit` (a tbf's change) sets it again.
    var limit: Int
    private var queue = Deque<SkBuff>()

    /// `fifo_init`: the default limit is txqueuelen packets, or txqueuelen × psched_mtu bytes.
    init(handle: UInt32, spec: QdiscSpec, txqueuelen: Int, psched_mtu: Int) {
        switch spec {
        case .bfifo(let l): bytes = true; limit = l ?? txqueuelen * psched_mtu
        case .pfifo(let l): bytes = false; limit = l ?? txqueuelen
        default: preconditionFailure("FIFOQdisc for \(spec.kind)")
        }
        // TCQ_F_CAN_BYPASS when a lone packet always fits.
        bypass = bytes ? limit >= psched_mtu : limit >= 1
        super.init(handle: handle, spec: spec)
    }
    private let bypass: Bool
    override var canBypass: Bool { bypass }

    /// `pfifo_enqueue` (qlen < limit) / `bfifo_enqueue` (backlog + len <= limit).
    override func enqueue(_ skb: SkBuff, len: Int, now: UInt64) -> EnqueueResult {
        let fits = bytes ? stats.backlog + len <= limit : stats.qlen < limit
        guard fits else { stats.drops += 1; return .drop(.QDISC_DROP) }
        queue.append(skb)
        stats.backlog += len; stats.qlen += 1
        return .success
    }

    override func dequeue(now: UInt64) -> SkBuff? {
        guard let skb = queue.popFirst() else { return nil }
        stats.backlog -= skb.qdiscPktLen; stats.qlen -= 1
        stats.bytes += skb.qdiscPktLen; stats.packets += skb.gsoSegs
        return skb
    }

    /// `qdisc_peek_head`: the head without taking it.
    override func peek(now: UInt64) -> SkBuff? { queue.first }
    override func dequeuePeeked(now: UInt64) -> SkBuff? { dequeue(now: now) }

    override func reset() -> [SkBuff] {
        let all = queue.all
        queue = Deque()
        stats.backlog = 0; stats.qlen = 0
        return all
    }

    override var checkpointQueue: [SkBuff]? { queue.all }
    override func restoreQueue(_ skbs: [SkBuff]) {
        for skb in skbs { queue.append(skb); stats.backlog += skb.qdiscPktLen; stats.qlen += 1 }
    }
}

/// `pfifo_fast`: three FIFO bands, band 0 served first; `prio2band` maps `skb->priority & 15`.
final class PFifoFast: Qdisc {
    static let priomap: [Int] = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]
    private var bands = [Deque<SkBuff>(), Deque<SkBuff>(), Deque<SkBuff>()]
    /// Each band is a ring of txqueuelen entries (`skb_array_init(q, qdisc_dev(qdisc)->tx_queue_len)`).
    let bandLimit: Int

    init(handle: UInt32, txqueuelen: Int) {
        bandLimit = txqueuelen
        super.init(handle: handle, spec: .pfifoFast)
    }
    override var canBypass: Bool { true }

    /// `pfifo_fast_enqueue`: a full band drops (`qdisc_drop_cpu`).
    override func enqueue(_ skb: SkBuff, len: Int, now: UInt64) -> EnqueueResult {
        let band = PFifoFast.priomap[Int(skb.priority & 15)]
        guard bands[band].count < bandLimit else { stats.drops += 1; return .drop(.QDISC_DROP) }
        bands[band].append(skb)
        stats.backlog += len; stats.qlen += 1
        return .success
    }

    /// `pfifo_fast_peek`: the head of the first band that has one.
    override func peek(now: UInt64) -> SkBuff? { bands.first(where: { !$0.isEmpty })?.first }
    override func dequeuePeeked(now: UInt64) -> SkBuff? { dequeue(now: now) }

    override func dequeue(now: UInt64) -> SkBuff? {
        for b in 0..<3 {
            if let skb = bands[b].popFirst() {
                stats.backlog -= skb.qdiscPktLen; stats.qlen -= 1
                stats.bytes += skb.qdiscPktLen; stats.packets += skb.gsoSegs
                return skb
            }
        }
        return nil
    }

    override func reset() -> [SkBuff] {
        let all = bands.flatMap(\.all)
        bands = [Deque(), Deque(), Deque()]
        stats.backlog = 0; stats.qlen = 0
        return all
    }

    /// Band 0 first: each packet's priority puts it back in its band, in the same order.
    override var checkpointQueue: [SkBuff]? { bands.flatMap(\.all) }
    override func restoreQueue(_ skbs: [SkBuff]) {
        for skb in skbs {
            bands[PFifoFast.priomap[Int(skb.priority & 15)]].append(skb)
            stats.backlog += skb.qdiscPktLen; stats.qlen += 1
        }
    }
}

/// A growable FIFO (qdisc queues have a limit but no fixed storage).
struct Deque<T> {
    private var items: [T] = []
    private var head = 0
    var count: Int { items.count - head }
    var isEmpty: Bool { count == 0 }
    var first: T? { head < items.count ? items[head] : nil }
    mutating func append(_ x: T) { items.append(x) }
    mutating func popFirst() -> T? {
        guard head < items.count else { return nil }
        let x = items[head]
        head += 1
        // Reclaim the consumed prefix once it is half the storage.
        if head >= 64 && head * 2 >= items.count { items.removeFirst(head); head = 0 }
        return x
    }
    var all: [T] { Array(items[head...]) }
}
