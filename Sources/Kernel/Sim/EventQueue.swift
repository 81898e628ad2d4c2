/// What the simulator does next. Ordered by (time, sequence) so ties break deterministically.
enum Event {
    /// A queue's interrupt fires (after coalescing).
    case hardirq(device: Int, queue: Int)
    /// A queue's rx-usecs coalescing timer expires.
    case coalesceTimer(device: Int, queue: Int, generation: Int)
    /// NET_RX_SOFTIRQ runs one step on a CPU.
    case softirq(cpu: Int)
    /// An RPS inter-processor interrupt reaches a CPU.
    case rpsIPI(cpu: Int)
    /// A CPU's cpumap kthread wakes to take the frames XDP redirected to it.
    case cpumapKthread(cpu: Int)
    /// A fragment queue's ipfrag_time runs out.
    case fragExpire(key: FragKey, generation: Int)
    /// An incomplete neighbour's retransmit timer (`neigh_timer_handler`).
    case neighTimer(device: Int, address: UInt32)
    /// An IPv6 reassembly queue's ip6frag_time runs out.
    case frag6Expire(key: Frag6Key, generation: Int)
    /// An incomplete IPv6 neighbour's retransmit timer (neighbour discovery).
    case ndiscTimer(device: Int, address: UInt128)
    /// Something a router advertisement taught runs out (addrconf_verify, fib6 gc).
    case raExpire
    /// The NIC finished sending a frame: its TX descriptor is free.
    case txComplete(device: Int)
    /// A throttled qdisc may dequeue again (`qdisc_watchdog`).
    case qdiscWatchdog(device: Int)
    /// A process calls sendto on a UDP socket (`Stack.send`).
    case udpSend(index: Int)
    /// A process makes a TCP call: connect, send, close (`Stack.tcpCalls`).
    case tcpCall(index: Int)
    /// A connection's delayed-ACK timer fires (it keeps the run going: the ACK is the packet's).
    case tcpDelack(serial: Int)
    /// TIME-WAIT or an orphan's FIN-WAIT-2 runs out.
    case tcpTimewait(serial: Int)
    /// A connection's retransmission timer (a long timer: runs as the clock moves).
    case tcpRetransmit(serial: Int)
    /// A device's IGMPv3 or MLDv2 interface timer: the next state-change report (igmp_ifc_timer_expire, mld_ifc_work).
    case mcIfcTimer(device: Int, v6: Bool, generation: Int)
    /// A device's answer to a general IGMPv3 or MLDv2 query (igmp_gq_timer_expire, mld_gq_work).
    case mcQueryTimer(device: Int, v6: Bool, generation: Int)
    /// A group's own report to a group-specific query (igmp_timer_expire, mld_mca_work).
    case mcGroupTimer(device: Int, v6: Bool, group: UInt128)

    /// Long timers do not keep a run going: the run ends when only they are left.
    var isTimer: Bool {
        switch self {
        case .fragExpire, .neighTimer, .frag6Expire, .ndiscTimer, .raExpire, .tcpTimewait, .tcpRetransmit, .mcIfcTimer, .mcQueryTimer, .mcGroupTimer: true
        default: false
        }
    }
}

/// A binary min-heap of events keyed by (time, seq).
struct EventQueue {
    private var heap: [(time: UInt64, seq: UInt64, event: Event)] = []
    private var nextSeq: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var nextTime: UInt64? { heap.first?.time }

    mutating func push(_ time: UInt64, _ e: Event) {
        heap.append((time, nextSeq, e))
        nextSeq &+= 1
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if less(i, p) { heap.swapAt(i, p); i = p } else { break }
        }
    }

    /// Every queued event in the order it will run (a checkpoint keeps the timers among them).
    func pending() -> [(time: UInt64, event: Event)] {
        heap.sorted { ($0.time, $0.seq) < ($1.time, $1.seq) }.map { ($0.time, $0.event) }
    }

    mutating func pop() -> (time: UInt64, event: Event)? {
        guard !heap.isEmpty else { return nil }
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && less(l, m) { m = l }
                if r < heap.count && less(r, m) { m = r }
                if m == i { break }
                heap.swapAt(i, m); i = m
            }
        }
        return (top.time, top.event)
    }

    @inline(__always) private func less(_ a: Int, _ b: Int) -> Bool {
        heap[a].time < heap[b].time || (heap[a].time == heap[b].time && heap[a].seq < heap[b].seq)
    }
}
