/// A device's transmit side: its root qdisc, and the driver's TX ring with the descriptors the
/// NIC has not completed yet (`struct netdev_queue` plus the driver's ring).
final class TXQueue {
    var qdisc: Qdisc
    /// Frames on the ring, oldest first: when the NIC completes each, and the socket charge its
    /// skb gives back then.
    var inFlight = Deque<InFlight>()
    struct InFlight { var done: UInt64; var sock: Sock?; var charge: Int; var bytes: Int }
    let ringSize: Int
    /// `netif_tx_stop_queue`: the ring is full; the qdisc holds packets until a completion wakes it.
    var stopped = false
    /// Byte queue limits (nil: the device has none, as a veth), and `__QUEUE_STATE_STACK_XOFF`:
    /// BQL stopped the queue.
    var dql: DQL?
    var bqlStopped = false
    /// Either stop (`netif_xmit_frozen_or_stopped`).
    var xoff: Bool { stopped || bqlStopped }
    /// When the NIC finishes the frames it already has (frames are serialized back to back).
    var busyUntil: UInt64 = 0
    /// The pending qdisc watchdog's time, so one wake-up is scheduled per deadline.
    var watchdogAt: UInt64?
    /// The CPU that last ran this queue's qdisc (the watchdog and completions run there).
    var cpu = 0
    /// What tc set here (nil: the default root, no child).
    var rootConfig: QdiscConfig?
    var childConfigs: [QdiscConfig] = []
    var classConfigs: [TCClassConfig] = []
    init(qdisc: Qdisc, ringSize: Int) { self.qdisc = qdisc; self.ringSize = ringSize }
}

extension NetDevice {
    /// Virtual ns a frame takes on the wire at the link speed: preamble and start delimiter (8),
    /// the frame padded to 60 bytes, FCS (4) and the inter-frame gap (12). 0 when the speed is unknown.
    public func serializationNs(_ frameLen: Int) -> UInt64 { NetDevice.wireNs(frameLen, mbps: config.speedMbps) }

    /// Ethernet's time on a wire of `mbps` for a frame (0 when the rate is unknown).
    public static func wireNs(_ frameLen: Int, mbps: Int) -> UInt64 {
        guard mbps > 0 else { return 0 }
        return UInt64((max(frameLen, 60) + 24) * 8 * 1000 / mbps)
    }
}
