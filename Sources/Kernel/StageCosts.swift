/// Virtual nanoseconds each stage costs; they drive the CPU clocks, so budgets, squeezes and
/// backlog build-up are meaningful. Round figures of the order a 3 GHz core spends per stage;
/// a stack may override any by kernel function name, plus `hardirq` (IRQ entry + napi_schedule)
/// and `net_rx_action` (softirq entry). `nic_receive` is hardware (DMA into the ring) and costs
/// no CPU time, so it has no entry and cannot be given one.
public struct StageCosts: Sendable {
    public static let defaults: [String: UInt64] = [
        "napi_poll": 20, "napi_alloc_skb": 40, "eth_type_trans": 20,
        "napi_gro_receive": 30, "dev_gro_receive": 40, "napi_gro_flush": 20,
        "netif_receive_skb": 30, "get_rps_cpu": 30, "enqueue_to_backlog": 50, "process_backlog": 30,
        "__netif_receive_skb_core": 40,
        "arp_rcv": 60, "arp_process": 80, "arp_send": 60,
        "ip_rcv": 60, "ip_rcv_finish": 80, "ip_local_deliver": 20, "ip_defrag": 100, "ip_local_deliver_finish": 30,
        "ip_forward": 60, "ip_forward_finish": 20, "ip_local_out": 20, "ip_output": 40, "ip_finish_output": 40, "ip_fragment": 150, "neigh_output": 40,
        "dev_queue_xmit": 60, "qdisc_enqueue": 30, "sch_direct_xmit": 20, "dev_hard_start_xmit": 40, "skb_checksum_help": 60, "skb_gso_segment": 150, "nf_hook_slow": 50, "ip_route_me_harder": 80,
        "udp_sendmsg": 200, "ip_make_skb": 100, "udp_send_skb": 60, "ip6_make_skb": 100, "udp_v6_send_skb": 60, "udp_rcv": 120, "udp_queue_rcv_skb": 80, "tcp_v4_rcv": 200, "tcp_v4_send_reset": 150, "icmp_rcv": 100, "icmp_send": 200, "icmp_reply": 150,
        "tcp_v4_connect": 400, "tcp_sendmsg": 300, "tcp_recvmsg": 200, "tcp_close": 200, "tcp_conn_request": 400, "tcp_check_req": 200,
        "tcp_rcv_state_process": 150, "tcp_timewait_state_process": 80, "tcp_ack": 100, "tcp_data_queue": 120, "tcp_fin": 60, "tcp_time_wait": 100,
        "tcp_transmit_skb": 200, "tcp_send_delayed_ack": 40, "tcp_delack_timer": 60, "tcp_send_active_reset": 80,
        "ipv6_rcv": 60, "ip6_rcv_finish": 90, "ip6_mc_input": 40, "ip6_input": 20, "ip6_input_finish": 30,
        "ipv6_destopt_rcv": 40, "ipv6_rthdr_rcv": 40, "ipv6_frag_rcv": 100, "nf_ct_frag6_gather": 100,
        "ip6_forward": 60, "ip6_forward_finish": 20, "ip6_local_out": 20, "ip6_output": 40, "ip6_finish_output": 40, "ip6_fragment": 150,
        "icmpv6_rcv": 100, "icmp6_send": 200, "icmpv6_echo_reply": 150, "ndisc_rcv": 80, "ndisc_send_na": 120, "ndisc_solicit": 120,
        "udpv6_rcv": 120, "tcp_v6_rcv": 200, "tcp_v6_send_reset": 150,
        "__skb_checksum_complete": 60, "kfree_skb_reason": 10, "consume_skb": 10,
        "veth_xdp_rcv": 20, "do_xdp_generic": 60, "bpf_prog_run_xdp": 30, "xdp_do_redirect": 40, "generic_xdp_tx": 40, "cpu_map_enqueue": 30, "cpu_map_kthread_run": 60,
        "sch_handle_ingress": 30, "sch_handle_egress": 30, "cls_bpf_classify": 40, "skb_do_redirect": 40,
        "tcp_v4_err": 60, "tcp_v4_mtu_reduced": 80, "tcp_simple_retransmit": 60,
        "icmpv6_notify": 40, "udpv6_err": 60, "tcp_v6_err": 60, "icmpv6_err": 40, "tcp_v6_connect": 400, "tcp_v6_mtu_reduced": 80,
        "loopback_xmit": 40, "__netif_rx": 30,
        "ping_v4_sendmsg": 200, "ping_v6_sendmsg": 200, "ping_rcv": 60, "ping_queue_rcv_skb": 80, "ping_err": 60, "igmp_rcv": 60, "dev_loopback_xmit": 60,
        "nf_do_netdev_egress": 40, "neigh_xmit": 60,
        "synproxy_hook": 40, "synproxy_send_tcp": 200, "tcp_v4_reqsk_send_ack": 300, "tcp_v6_reqsk_send_ack": 300,
        "hardirq": 500, "net_rx_action": 100,
    ]
    private var table: [UInt64]
    public private(set) var hardirq: UInt64
    public private(set) var netRxAction: UInt64

    /// At most one virtual second per stage: sums over the largest injection stay far from overflow.
    public static let range: ClosedRange<Int> = 0...1_000_000_000

    public init(overrides: [String: Int] = [:]) throws(ConfigError) {
        var merged = StageCosts.defaults
        for (k, v) in overrides {
            if k == Stage.nic_receive.name {
                throw ConfigError(path: "/costs/\(k)", message: "nic_receive is the NIC's DMA and costs no CPU time; it cannot be given a cost")
            }
            guard merged[k] != nil else { throw ConfigError(path: "/costs/\(k)", message: "unknown stage \(k)") }
            guard StageCosts.range.contains(v) else {
                throw ConfigError(path: "/costs/\(k)", message: "must be \(StageCosts.range.lowerBound)...\(StageCosts.range.upperBound) ns")
            }
            merged[k] = UInt64(v)
        }
        // Every software stage has a default (a test checks it); the NIC's DMA costs nothing.
        table = Stage.allCases.map { $0 == .nic_receive ? 0 : merged[$0.name]! }
        hardirq = merged["hardirq"]!
        netRxAction = merged["net_rx_action"]!
    }
    @inline(__always) public subscript(_ s: Stage) -> UInt64 { table[s.rawValue] }
}
