import Wire

/// A stage of the packet path, named after the kernel function that does the job,
/// so `grep -rn ip_rcv_finish` finds both the stage and the code that runs it.
/// `nic_receive` is the one hardware stage: the NIC's DMA of a frame into an RX descriptor.
public enum Stage: Int, Sendable, CaseIterable {
    // hardware, then the driver's NAPI poll (net/core/dev.c, net/core/gro.c, net/ethernet/eth.c)
    case nic_receive, napi_poll, napi_alloc_skb, eth_type_trans
    case napi_gro_receive, dev_gro_receive, napi_gro_flush
    case netif_receive_skb, get_rps_cpu, enqueue_to_backlog, process_backlog, __netif_receive_skb_core
    // net/ipv4/arp.c
    case arp_rcv, arp_process, arp_send
    // net/ipv4/ip_input.c, ip_fragment.c, ip_forward.c, ip_output.c
    case ip_rcv, ip_rcv_finish, ip_local_deliver, ip_defrag, ip_local_deliver_finish
    case ip_forward, ip_forward_finish, ip_local_out, ip_output, ip_finish_output, ip_fragment, neigh_output
    // net/core/dev.c (transmit), net/sched/sch_generic.c (qdiscs), net/core/gso.c (a GSO skb cut back into segments)
    case dev_queue_xmit, qdisc_enqueue, sch_direct_xmit, dev_hard_start_xmit, skb_gso_segment, skb_checksum_help
    // net/netfilter/core.c: a netfilter hook with base chains (or conntrack) registered;
    // net/ipv4/netfilter.c: output routed again after a route chain or NAT changed it
    case nf_hook_slow, ip_route_me_harder
    // net/ipv4/udp.c (sending), ip_output.c (ip_make_skb: the datagram's skbs)
    case udp_sendmsg, ip_make_skb, udp_send_skb, ip6_make_skb, udp_v6_send_skb
    // net/ipv4/udp.c, tcp_ipv4.c, icmp.c
    case udp_rcv, udp_queue_rcv_skb, tcp_v4_rcv, tcp_v4_send_reset, icmp_rcv, icmp_send, icmp_reply
    // net/ipv4/tcp.c, tcp_ipv4.c, tcp_input.c, tcp_minisocks.c, tcp_output.c, tcp_timer.c: the minimal TCP
    case tcp_v4_connect, tcp_sendmsg, tcp_recvmsg, tcp_close, tcp_conn_request, tcp_check_req, tcp_rcv_state_process
    case tcp_timewait_state_process, tcp_ack, tcp_data_queue, tcp_fin, tcp_time_wait, tcp_transmit_skb
    case tcp_send_delayed_ack, tcp_delack_timer, tcp_send_active_reset
    // net/ipv6/ip6_input.c, exthdrs.c, reassembly.c, ip6_output.c
    case ipv6_rcv, ip6_rcv_finish, ip6_mc_input, ip6_input, ip6_input_finish, ipv6_destopt_rcv, ipv6_rthdr_rcv, ipv6_frag_rcv, nf_ct_frag6_gather
    case ip6_forward, ip6_forward_finish, ip6_local_out, ip6_output, ip6_finish_output, ip6_fragment
    // net/ipv6/icmp.c, ndisc.c, udp.c, tcp_ipv6.c
    case icmpv6_rcv, icmp6_send, icmpv6_echo_reply, ndisc_rcv, ndisc_send_na, ndisc_solicit, udpv6_rcv, tcp_v6_rcv, tcp_v6_send_reset
    // net/core/skbuff.c: software checksum when the NIC did not vouch for it
    case __skb_checksum_complete
    // net/core/skbuff.c: how an skb ends
    case kfree_skb_reason, consume_skb
    // drivers/net/veth.c (native XDP), net/core/dev.c (generic XDP), net/core/filter.c (redirects)
    case veth_xdp_rcv, do_xdp_generic, bpf_prog_run_xdp, xdp_do_redirect, generic_xdp_tx
    // kernel/bpf/cpumap.c: XDP frames redirected to another CPU
    case cpu_map_enqueue, cpu_map_kthread_run
    // net/core/dev.c (clsact hooks), net/sched/cls_bpf.c, net/core/filter.c (tc redirects)
    case sch_handle_ingress, sch_handle_egress, cls_bpf_classify, skb_do_redirect
    // net/ipv4/tcp_ipv4.c, tcp_output.c: an ICMP error for a connection (new stages go last: stored traces index stages by number)
    case tcp_v4_err, tcp_v4_mtu_reduced, tcp_simple_retransmit
    // net/ipv6/icmp.c, udp.c, tcp_ipv6.c: an ICMPv6 error for what the stack sent
    case icmpv6_notify, udpv6_err, tcp_v6_err, icmpv6_err
    // net/ipv6/tcp_ipv6.c: connect over IPv6, a packet too big for a connection
    case tcp_v6_connect, tcp_v6_mtu_reduced
    // drivers/net/loopback.c, net/core/dev.c: what the stack sends itself goes out by lo and back in
    case loopback_xmit, __netif_rx
    // net/netfilter/nf_synproxy_core.c: synproxy's hook and the segments it sends; net/ipv4/tcp_ipv4.c,
    // net/ipv6/tcp_ipv6.c: a request sock's ACK to a segment it does not take
    case synproxy_hook, synproxy_send_tcp, tcp_v4_reqsk_send_ack, tcp_v6_reqsk_send_ack
    // net/netfilter/nf_dup_netdev.c, nft_fwd_netdev.c: `fwd` out of another device, or to a neighbour
    case nf_do_netdev_egress, neigh_xmit
    // net/ipv4/ping.c, net/ipv6/ping.c: ping sockets (echo requests sent, echo replies taken)
    case ping_v4_sendmsg, ping_v6_sendmsg, ping_rcv, ping_queue_rcv_skb, ping_err, igmp_rcv
    // net/core/dev.c: a multicast copy looped back (ip_mc_output, ip6_finish_output2)
    case dev_loopback_xmit

    /// The kernel function name.
    public var name: String { Stage.names[rawValue] }
    public init?(name: String) {
        guard let i = Stage.names.firstIndex(of: name) else { return nil }
        self.init(rawValue: i)
    }
    static let names: [String] = Stage.allCases.map { String(describing: $0) }
}

/// One trace event: a stage entered on a CPU at a virtual time. Small and integer-only;
/// text is rendered only when someone asks.
public struct TraceStage: Equatable, Sendable {
    public var stage: Stage
    public var cpu: Int
    public var timeNs: UInt64
    /// The stage ran on a packet the stack made because of this one (an ICMP error, a reset, an ARP request).
    public var generated = false
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
    /// Still waiting somewhere (ring, backlog, fragment queue, neighbour queue).
    case queued
    /// A send the kernel refused with an errno (`errno`): nothing left the socket.
    case failed
    /// Freed without error after being handled (ARP, ICMP echo, merged by GRO, broadcast nobody wanted).
    case consumed
}

/// A frame the stack put on a wire while handling a packet (forwarded, ARP or ICMP reply...).
public struct EmittedFrame: Sendable, Equatable {
    public var device: String
    public var frame: [UInt8]
    public var timeNs: UInt64
    /// A veth sent it CHECKSUM_PARTIAL: its L4 checksum field holds only the pseudo-header sum,
    /// and the peer takes it as verified (veth_xmit hands the skb over whole).
    public var csumPartial = false
}

/// What the stack did to one injected packet.
public struct PacketResult: Sendable {
    /// What a stack's timers sent (no packet caused it), as a result to follow across links.
    public static func timerFrames(_ frames: [EmittedFrame], at t: UInt64) -> PacketResult {
        PacketResult(device: "", outcome: .transmitted, dropReason: nil, stages: [], startNs: t, endNs: t, frame: [], note: nil, rxQueue: 0,
                     segments: 1, emitted: frames)
    }

    public var device: String
    public var outcome: Outcome
    public var dropReason: DropReason?
    public var stages: [TraceStage]
    /// Time the frame reached the NIC and the time its path ended, in virtual ns.
    public var startNs: UInt64
    public var endNs: UInt64
    /// The frame as it arrived.
    public var frame: [UInt8]
    /// Why, in words (which check failed, where it was merged or queued). Only with tracing on.
    public var note: String?
    /// RX queue the NIC chose and the CPU whose interrupt served it.
    public var rxQueue: Int
    /// Segments carried by the skb that ended this path (>1 after GRO).
    public var segments: Int
    /// Frames transmitted because of this packet.
    public var emitted: [EmittedFrame]
    /// Why a send failed, as errno names it (EAGAIN, EMSGSIZE, ENETUNREACH...).
    public var errno: String? = nil
    /// A send: the socket's SIOCOUTQ (sk_wmem_alloc; a TCP socket's unacknowledged bytes) when the call returned.
    public var outq: Int? = nil
    /// A TCP send: the bytes the send buffer took.
    public var written: Int? = nil
    /// Netfilter rule, policy and return events, in order.
    public var nfEvents: [NFEvent] = []
    /// A rule marked the packet with `meta nftrace set 1` (what the `nftrace` trace mode keeps).
    public var nftrace = false
    /// What an XDP program on the ingress device did (nil: none attached).
    public var xdp: XDPRecord? = nil
    /// What tc filters on clsact hooks did, hook by hook.
    public var tc: [TCRecord] = []
    /// The packet's tuples, kept apart (and only with tracing on): with traces off every result
    /// is copied a few times per run, and two 128-bit tuples inline cost the RX path 125 ns a packet.
    public var flow: TraceFlow? = nil
    /// The 5-tuple as the packet arrived (or as the socket built it).
    public var startTuple: FlowTuple? {
        get { flow?.start }
        set { flowBox().start = newValue }
    }
    /// The 5-tuple as its headers were when its path ended (after NAT).
    public var endTuple: FlowTuple? {
        get { flow?.end }
        set { flowBox().end = newValue }
    }
    /// Where NAT changed the tuple: from stage index `fromStage` on, the packet carried `tuple`.
    public var tupleChanges: [(fromStage: Int, tuple: FlowTuple)] { flow?.changes ?? [] }

    mutating func flowBox() -> TraceFlow {
        if let f = flow { return f }
        let f = TraceFlow()
        flow = f
        return f
    }
}

/// A traced packet's tuples: as it arrived, as it ended, and where NAT changed it.
public final class TraceFlow: @unchecked Sendable {
    public var start: FlowTuple?
    public var end: FlowTuple?
    public var changes: [(fromStage: Int, tuple: FlowTuple)] = []
}
