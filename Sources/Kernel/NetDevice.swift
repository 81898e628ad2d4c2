import Wire

/// One RX queue of a NIC: its descriptor ring, interrupt state and NAPI instance.
final class RXQueue {
    let index: Int
    /// CPU its interrupt is affine to.
    let irqCPU: Int
    var ring: RingBuffer<SkBuff>
    /// IRQ unmasked (no NAPI poll scheduled).
    var irqEnabled = true
    var napiScheduled = false
    /// Frames since the last interrupt, for rx-frames coalescing.
    var framesSinceIRQ = 0
    var timerArmed = false
    var timerGeneration = 0
    /// GRO state of this queue's NAPI.
    var gro = GROTable()
    /// `napi->rx_list` and `rx_count`: skbs waiting to go up in a batch.
    var rxList: [SkBuff] = []
    /// gro_normal_list's other buffer (kept so a flush allocates nothing).
    var rxSpare: [SkBuff] = []
    var rxCount = 0
    /// RPS CPUs for this queue (`/sys/class/net/DEV/queues/rx-N/rps_cpus`).
    let rpsCPUs: [Int]
    /// RFS device flow table (`rps_flow_cnt` entries): (cpu, last_qtail) per bucket.
    var flowTable: [(cpu: Int, lastQtail: UInt32)]

    init(index: Int, irqCPU: Int, ringSize: Int, rpsCPUs: [Int], flowCount: Int) {
        self.index = index; self.irqCPU = irqCPU
        ring = RingBuffer(capacity: ringSize)
        self.rpsCPUs = rpsCPUs
        flowTable = Array(repeating: (-1, 0), count: flowCount)
    }
}

/// A network device of a stack: configuration, RX queues, RSS and counters.
public final class NetDevice {
    public let index: Int
    public let config: DeviceConfig
    public var stats = DeviceStats()
    /// The XDP program attached (`ip link set DEV xdpdrv|xdpgeneric obj ...`) and the driver's XDP counters.
    public var xdp: XDPAttachment?
    public var xdpStats = XDPStats()
    /// The clsact qdisc with tc BPF filters (`tc filter add dev DEV ingress|egress bpf da ...`).
    public var clsact: Clsact?
    /// The interface index (`ip link`): `lo` is 1, devices follow in order.
    public var ifindex: Int { config.isLoopback ? 1 : index + 2 }
    /// IFF_LOOPBACK: `lo`, whose transmit is `loopback_xmit`.
    public var isLoopback: Bool { config.isLoopback }
    public var name: String { config.name }
    public var mac: MACAddress { config.mac }
    let rss: RSS
    let queues: [RXQueue]
    let tx: TXQueue

    init(index: Int, config: DeviceConfig, cpus: Int) {
        self.index = index; self.config = config
        tx = TXQueue(qdisc: NetDevice.defaultQdisc(config), ringSize: config.txRingSize)
        if config.hasBQL { tx.dql = DQL() }
        rss = RSS(key: config.rssKey, indirection: config.rssIndirection ?? RSS.defaultIndirection(queues: config.rxQueues))
        queues = (0..<config.rxQueues).map { q in
            RXQueue(index: q, irqCPU: q % cpus, ringSize: config.ringSize,
                    rpsCPUs: q < config.rpsCPUs.count ? config.rpsCPUs[q] : [],
                    flowCount: config.rpsFlowCount)
        }
    }
}

extension NetDevice {
    /// `attach_default_qdiscs`: noqueue on a veth and on lo (no TX queue), pfifo_fast (default_qdisc) elsewhere.
    /// The TX queue's byte queue limits, when the device has them.
    public var byteQueueLimits: DQL? { tx.dql }

    static func defaultQdisc(_ c: DeviceConfig) -> Qdisc {
        c.veth || c.isLoopback ? NoQueue() : PFifoFast(handle: 0, txqueuelen: c.txQueueLen)
    }
    /// `psched_mtu`: the MTU plus the Ethernet header.
    var pschedMTU: Int { config.mtu + 14 }
}

/// A fixed-capacity FIFO (descriptor rings, backlogs) that never reallocates.
struct RingBuffer<T> {
    private var items: [T?]
    private var head = 0
    private(set) var count = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity; items = Array(repeating: nil, count: max(capacity, 1)) }
    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count == capacity }

    mutating func push(_ x: T) -> Bool {
        guard count < capacity else { return false }
        items[(head + count) % items.count] = x
        count += 1
        return true
    }
    mutating func pop() -> T? {
        guard count > 0 else { return nil }
        let x = items[head].take()   // moved out: no retain and release of the element
        head = (head + 1) % items.count
        count -= 1
        return x
    }
    /// Everything, oldest first (for inspection).
    var all: [T] { (0..<count).compactMap { items[(head + $0) % items.count] } }
}
