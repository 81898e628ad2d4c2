/// A queueing discipline as `tc qdisc` sets it: kind and options, after tc's own unit conversions.
public enum QdiscSpec: Sendable, Equatable {
    /// No queue: the device transmits at once (veth, lo).
    case noqueue
    /// Three priority bands picked through the priomap from `skb->priority`; each band holds
    /// up to txqueuelen packets.
    case pfifoFast
    /// At most `limit` packets (nil: the device's txqueuelen).
    case pfifo(limit: Int?)
    /// At most `limit` bytes (nil: txqueuelen × (MTU + 14)).
    case bfifo(limit: Int?)
    case tbf(TBFSpec)
    case fqCodel(FQCoDelSpec)
    case htb(HTBSpec)
    case cake(CakeSpec)

    public var kind: String {
        switch self {
        case .noqueue: "noqueue"
        case .pfifoFast: "pfifo_fast"
        case .pfifo: "pfifo"
        case .bfifo: "bfifo"
        case .tbf: "tbf"
        case .fqCodel: "fq_codel"
        case .htb: "htb"
        case .cake: "cake"
        }
    }
    /// Classful qdiscs: tbf takes a child at `MAJ:1`, htb one per leaf class.
    public var classful: Bool {
        switch self { case .tbf, .htb: true; default: false }
    }
}

/// tbf as the kernel holds it: rate in bytes/s, burst (TCA_TBF_BURST) and limit in bytes.
public struct TBFSpec: Sendable, Equatable {
    public var rate: UInt64
    public var burst: Int
    public var limit: Int
    public init(rate: UInt64, burst: Int, limit: Int) { self.rate = rate; self.burst = burst; self.limit = limit }
}

/// One qdisc of a device's tree as configured: `root` or under a classful parent's class.
public struct QdiscConfig: Sendable, Equatable {
    public var dev: String
    /// Major handle (`1:` is 1); the kernel picks 0x8001 upward when tc gives none.
    public var handle: UInt32
    /// nil: the root; else the parent class (`1:1` is (1, 1)).
    public var parent: (major: UInt32, minor: UInt32)?
    public var spec: QdiscSpec
    public init(dev: String, handle: UInt32, parent: (major: UInt32, minor: UInt32)? = nil, spec: QdiscSpec) {
        self.dev = dev; self.handle = handle; self.parent = parent; self.spec = spec
    }
    public static func == (a: QdiscConfig, b: QdiscConfig) -> Bool {
        a.dev == b.dev && a.handle == b.handle && a.parent?.major == b.parent?.major && a.parent?.minor == b.parent?.minor && a.spec == b.spec
    }
}

/// `gnet_stats_basic_sync` + `gnet_stats_queue`: what `tc -s qdisc show` prints.
public struct QdiscStats: Sendable, Equatable {
    public var bytes = 0, packets = 0
    public var drops = 0, overlimits = 0, requeues = 0
    public var backlog = 0, qlen = 0
}

/// What `qdisc_enqueue` answered.
enum EnqueueResult { case success, drop(DropReason) }

/// A running qdisc (`struct Qdisc`). Subclasses are the kinds; the tree is a root with at most
/// one child per class (tbf's class 1).
class Qdisc {
    let handle: UInt32
    let spec: QdiscSpec
    var stats = QdiscStats()
    /// TCQ_F_CAN_BYPASS: an empty qdisc hands a packet straight to the driver.
    var canBypass: Bool { false }
    /// What the driver refused, sent first next time (`q->gso_skb`, dev_requeue_skb).
    var requeued: [SkBuff] = []
    /// Packets the qdisc dropped from its queue (head drops, CoDel), with the reason, for the
    /// stack to free (`to_free`).
    var toFree: [(SkBuff, DropReason)] = []

    init(handle: UInt32, spec: QdiscSpec) { self.handle = handle; self.spec = spec }

    func enqueue(_ skb: SkBuff, len: Int, now: UInt64) -> EnqueueResult { .drop(.QDISC_DROP) }
    func dequeue(now: UInt64) -> SkBuff? { nil }
    /// `qdisc_peek_dequeued`: the next packet, dequeued and held until `dequeuePeeked` takes it
    /// (still counted in the backlog meanwhile).
    private var peeked: SkBuff?
    func peek(now: UInt64) -> SkBuff? {
        if peeked == nil, let skb = dequeue(now: now) {
            peeked = skb
            stats.backlog += skb.qdiscPktLen; stats.qlen += 1
        }
        return peeked
    }
    /// `qdisc_dequeue_peeked`.
    func dequeuePeeked(now: UInt64) -> SkBuff? {
        guard let skb = peeked else { return dequeue(now: now) }
        peeked = nil
        stats.backlog -= skb.qdiscPktLen; stats.qlen -= 1
        return skb
    }
    /// What `peek` holds, for a checkpoint; one put back is counted in the backlog again.
    var peekedSkb: SkBuff? {
        get { peeked }
        set {
            if let old = peeked { stats.backlog -= old.qdiscPktLen; stats.qlen -= 1 }
            peeked = newValue
            if let skb = newValue { stats.backlog += skb.qdiscPktLen; stats.qlen += 1 }
        }
    }
    /// Whatever `peek` holds, for `reset`.
    func takePeeked() -> [SkBuff] {
        guard let skb = peeked else { return [] }
        peeked = nil
        return [skb]
    }
    /// The earliest time a blocked dequeue can succeed (`qdisc_watchdog_schedule_ns`), if any.
    var watchdogNs: UInt64? { nil }
    /// `qdisc_reset`: everything queued, to be freed.
    func reset() -> [SkBuff] { [] }
    /// The child under class `minor`, for classful kinds.
    var child: Qdisc? { get { nil } set {} }

    /// What a checkpoint keeps of its queue: its packets in the order they would leave within
    /// each band (nil: the kind's scheduler state is not kept, its queue neither).
    var checkpointQueue: [SkBuff]? { nil }
    /// Puts a checkpoint's packets back, counted in the backlog as when they were enqueued.
    func restoreQueue(_ skbs: [SkBuff]) {}

}
