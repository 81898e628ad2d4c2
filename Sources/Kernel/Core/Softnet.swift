/// A NAPI instance on a CPU's poll list: a device RX queue, or the CPU's backlog.
enum NAPIRef: Equatable {
    case queue(device: Int, queue: Int)
    case backlog
}

/// `struct softnet_data`: one per simulated CPU.
final class SoftnetData {
    let cpu: Int
    var pollList: [NAPIRef] = []
    /// `input_pkt_queue` (process_queue folded in: the model dequeues one at a time).
    var backlog: RingBuffer<SkBuff>
    var backlogScheduled = false
    /// Frames XDP redirected to this CPU through a cpumap (its ptr_ring), and whether its kthread is woken.
    var cpumapQueue: [SkBuff] = []
    var cpumapWoken = false
    var softirqPending = false
    // net_rx_action state while a softirq runs
    var inAction = false
    var budget = 0
    var timeLimit: UInt64 = 0
    /// Work done by the NAPI at the head of pollList in its current poll.
    var work = 0
    // /proc/net/softnet_stat
    var processed = 0
    var dropped = 0
    var timeSqueeze = 0
    var receivedRPS = 0
    var flowLimitCount = 0
    /// RPS flow limit (`struct sd_flow_limit`): the flows of the last 256 packets and a count per bucket.
    var flowHistory: [Int] = []
    var flowHistoryHead = 0
    var flowBuckets: [Int] = []
    /// RFS: backlog enqueue/dequeue counters (`input_queue_tail/head`).
    var inputQueueTail: UInt32 = 0
    var inputQueueHead: UInt32 = 0

    init(cpu: Int, maxBacklog: Int) {
        self.cpu = cpu
        // enqueue_to_backlog admits while qlen <= netdev_max_backlog, so one more than the limit fits.
        backlog = RingBuffer(capacity: maxBacklog + 1)
    }
}

/// A CPU's row of `/proc/net/softnet_stat`.
public struct SoftnetStat: Sendable, Equatable {
    public var cpu: Int
    public var processed: Int
    public var dropped: Int
    public var timeSqueeze: Int
    public var receivedRPS: Int
    public var flowLimitCount: Int
    public var backlogLength: Int

    /// The kernel's 15 `%08x` columns (net/core/net-procfs.c `softnet_seq_show`).
    public var procLine: String {
        let cols = [processed, dropped, timeSqueeze, 0, 0, 0, 0, 0, 0, receivedRPS, flowLimitCount, backlogLength, cpu, backlogLength, 0]
        return cols.map { v in let h = String(UInt32(truncatingIfNeeded: v), radix: 16); return String(repeating: "0", count: 8 - h.count) + h }
            .joined(separator: " ")
    }
}

extension Stack {
    /// `/proc/net/softnet_stat`, one row per CPU.
    public var softnetStats: [SoftnetStat] {
        cpus.map { SoftnetStat(cpu: $0.cpu, processed: $0.processed, dropped: $0.dropped, timeSqueeze: $0.timeSqueeze,
                               receivedRPS: $0.receivedRPS, flowLimitCount: $0.flowLimitCount, backlogLength: $0.backlog.count) }
    }
}
