/// A stage of the packet path, named after the kernel function that does the job,
/// so `grep -rn ip_rcv_finish` finds both the stage and the code that runs it.
public enum Stage: String, Sendable, CaseIterable {
    // net/ethernet/eth.c, net/core/dev.c
    case eth_type_trans, netif_receive_skb, __netif_receive_skb_core
    // net/ipv4/arp.c
    case arp_rcv
    // net/ipv4/ip_input.c
    case ip_rcv, ip_rcv_finish, ip_local_deliver, ip_local_deliver_finish
    // net/ipv4/ip_fragment.c
    case ip_defrag
    // net/ipv4/udp.c, tcp_ipv4.c, icmp.c
    case udp_rcv, tcp_v4_rcv, icmp_rcv
    // net/core/skbuff.c: how an skb ends
    case kfree_skb_reason, consume_skb
}

/// One trace event: a stage entered on a CPU at a virtual time. Small and integer-only;
/// text is rendered only when someone asks.
public struct TraceStage: Equatable, Sendable {
    public var stage: Stage
    public var cpu: Int
    public var timeNs: UInt64
}

/// How a packet's path ended.
public enum Outcome: String, Sendable {
    /// Queued on a socket.
    case delivered
    /// Sent on to another host.
    case forwarded
    /// Left on a device's wire (locally generated).
    case transmitted
    /// Freed with a drop reason.
    case dropped
    /// Still waiting somewhere (ring, backlog, fragment queue, qdisc).
    case queued
    /// Freed without error after being handled (ARP, ICMP echo, broadcast nobody wanted).
    case consumed
}

/// What the stack did to one injected packet.
public struct PacketResult: Sendable {
    public var device: String
    public var outcome: Outcome
    public var dropReason: DropReason?
    public var stages: [TraceStage]
    /// Time the packet was injected and the time its path ended, in virtual ns.
    public var startNs: UInt64
    public var endNs: UInt64
    /// The frame as it arrived.
    public var frame: [UInt8]
    /// Human-readable notes on why (e.g. which header check failed).
    public var note: String?
}
