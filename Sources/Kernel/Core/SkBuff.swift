import NFTables
import Wire

/// `skb->pkt_type`, set by `eth_type_trans` from the destination MAC.
public enum PacketType: String, Sendable {
    case host = "PACKET_HOST", broadcast = "PACKET_BROADCAST", multicast = "PACKET_MULTICAST", otherhost = "PACKET_OTHERHOST"
    /// A copy of what the host sent to a group it is in, looped back (dev_loopback_xmit).
    case loopback = "PACKET_LOOPBACK"
}

/// `skb->ip_summed` on receive.
public enum IPSummed: Sendable {
    /// Software must verify the L4 checksum.
    case none
    /// The NIC verified it (RX checksum offload).
    case unnecessary
}

/// What skb_to_full_sk(skb) is: no full socket (a forwarded packet, a timewait sock, a packet
/// built without one); a full socket no process holds open (the kernel's ICMP, reset, ndisc and
/// MLD sockets, an orphan, a child not yet accepted); or one a process holds (its file). `meta
/// cgroup` reads the net_cls class of the last two (0: none here), `meta skuid|skgid` the owner
/// of the last (the model's processes run as root: 0).
enum SkOwner { case none, fullSock, process }

/// The socket buffer: the frame plus the offsets and metadata the stages set.
/// Offsets index `data`; `len` is the valid length (after `pskb_trim_rcsum`).
public final class SkBuff {
    public var data: [UInt8]
    public var len: Int
    public var networkHeader = 0
    public var transportHeader = 0
    public var protocolType: UInt16 = 0
    /// The IPv4 options input compiled (IPCB(skb)->opt), for the answers and forwarding.
    var ipOptions: IPOptionsFound?
    public var pktType: PacketType = .host
    public var vlanID: UInt16? = nil
    /// skb_vlan_tag_present: the tag received (kept inline before the network header) is still
    /// the skb's, from skb_vlan_untag until __netif_receive_skb_core clears it past the ingress
    /// hooks; a frame sent meanwhile (`fwd`, `dup`) carries it on the wire.
    var vlanTagged = false
    public var ipSummed: IPSummed = .none
    /// Index of the receiving device in the stack.
    public var dev: Int
    public var rxQueue = 0
    /// `skb->hash` from RSS (0 when the NIC gave none).
    public var hash: UInt32 = 0
    /// `skb->hash` holds a hash the kernel would have: the NIC's RSS hash, or one `skb_get_hash`
    /// computed (RPS, a qdisc). A veth delivers none, and a program reading the field sees 0.
    var hashComputed = false
    public var cpu = 0
    /// CHECKSUM_PARTIAL on transmit: the offset of the L4 checksum the device is to finish.
    var csumPartialOffset: Int? = nil
    /// Largest fragment this datagram arrived in (`IPCB(skb)->frag_max_size`): forwarding refragments to it.
    var fragMaxSize = 0
    /// `skb->mark` (meta mark).
    public var mark: UInt32 = 0
    /// skb->priority (the tc class a packet is queued to); 0 for received packets.
    public var priority: UInt32 = 0
    /// `skb->nf_trace`, set by `meta nftrace set 1`.
    public var nftrace = false
    /// `skb_mac_header_was_set`: the frame came in through `eth_type_trans`, so its Ethernet header
    /// sits before the network header (nft traces dump it; locally made packets have none).
    var macHeaderSet = false
    /// skb->data is at the MAC header (netdev egress, after dev_hard_header): skb->len, which
    /// counters, quotas and `meta length` read, includes it.
    var dataAtMAC = false
    /// skb->len as netfilter sees it: from the network header, or the MAC header where data is there.
    var nftLen: Int { len - networkHeader + (dataAtMAC ? 14 : 0) }
    /// A route chain changed what output routing depends on: `ip_local_out` routes it again.
    var rerouteWanted = false
    /// A copy nft's dup made (nf_skb_duplicated): it is not copied again.
    var duplicated = false
    /// Conntrack entry and how this packet relates to it (`skb->_nfct`).
    var conn: Conn? = nil
    var ctInfo: CTInfo = .invalid
    /// A conntrack template `ct zone set` attached before conntrack ran: the zone it tracks the packet in.
    var ctTemplate: CTZone? = nil
    /// synproxy's conntrack template is attached (the connection made gets its extension).
    var synproxyTemplate = false
    /// Where an ingress chain's `fwd` sends the packet once the hook is over.
    var fwd: NFFwd? = nil
    /// RTCF_BROADCAST/RTCF_MULTICAST of the input route, set by `ip_rcv_finish`.
    var broadcastRoute = false
    /// IPv6 (`IP6CB(skb)->nhoff`): where the next-header byte of the header now being processed is.
    var nhoff = 0
    /// The injected packet this skb carries the trace of (-1 once its run has answered).
    var packet: Int
    /// Segments merged into this skb by GRO (`NAPI_GRO_CB(skb)->count`).
    public var segments = 1
    /// `gso_size` of a GRO-merged TCP skb (payload bytes per segment; 0: not GSO), and whether its
    /// segments keep one IP ID (SKB_GSO_TCP_FIXEDID: DF segments whose IDs did not count up).
    var gsoSize = 0
    var gsoFixedID = false
    /// SKB_GSO_UDP_L4: a UDP_SEGMENT datagram, cut into datagrams of gso_size (not TCP segments).
    var gsoUDP = false
    /// `qdisc_skb_cb(skb)->pkt_len` (`qdisc_pkt_len_init`): what qdiscs count, set by `dev_queue_xmit`.
    var qdiscPktLen = 0
    /// `codel_skb_cb(skb)->enqueue_time` (`codel_set_enqueue_time`), in CoDel's 1024-ns units.
    var codelEnqueueTime: UInt32 = 0
    /// Received from a veth peer CHECKSUM_PARTIAL (`veth_rx_partial` finishes it).
    var rxCsumPartial = false
    /// cake's enqueue time in ns (`cobalt_skb_cb`).
    var cakeEnqueueTime: UInt64 = 0
    /// How the packet's path ends once the driver takes it (forwarded or transmitted).
    var txOutcome: Outcome = .forwarded
    /// The sending socket and the bytes charged to its `sk_wmem_alloc` until the skb is freed
    /// (`skb_set_owner_w` / `sock_wfree`).
    var sock: Sock?
    /// What skb_to_full_sk(skb) is, as nft_meta reads it; senders set it (on the way in, early
    /// demux finds it: nft_meta's read at input).
    var skOwner = SkOwner.none
    /// skb->sk on the way in, as nf_tproxy_assign_sock sets it: the socket delivery takes
    /// (skb_steal_sock) without a lookup, and why forwarding drops the packet.
    var assignedSock: AssignedSock?
    /// The TCP connection a segment belongs to (its serial; 0: none), for errors about it.
    var tcpSerial = 0
    var wmemCharge = 0
    /// Made by the stack (ICMP error, fragment, ARP): its stages join the trace of the packet that
    /// caused it, but its end does not decide that packet's outcome.
    var generated = false
    /// skb_is_redirected: generic XDP passes a redirected skb (a cpumap's) without running again.
    var redirected = false
    /// How often tc programs redirected it (a loop is stopped).
    var tcRedirects = 0
    /// Came back in through lo (`loopback_xmit`) with its output route still attached: input
    /// routing is skipped while the destination is still `loopedDst` (NAT in PREROUTING drops the route).
    var looped = false
    var loopedDst: UInt128 = 0
    /// `skb->truesize`: what the skb charges against socket and fragment memory.
    public var truesize: Int { SkBuff.truesize(len) }

    init(frame: [UInt8], dev: Int, packet: Int) {
        data = frame; len = frame.count; self.dev = dev; self.packet = packet
    }

    /// Makes a recycled skb new again (`napi_alloc_skb` from the per-stack cache).
    func reset(frame: [UInt8], dev: Int, packet: Int) {
        data = frame; len = frame.count; self.dev = dev; self.packet = packet
        networkHeader = 0; transportHeader = 0; protocolType = 0; pktType = .host; vlanID = nil; vlanTagged = false
        ipSummed = .none; rxQueue = 0; hash = 0; cpu = 0; broadcastRoute = false; segments = 1; generated = false
        mark = 0; priority = 0; nftrace = false; macHeaderSet = false; dataAtMAC = false; nhoff = 0; conn = nil; ctInfo = .invalid; ctTemplate = nil; synproxyTemplate = false; fwd = nil; csumPartialOffset = nil; fragMaxSize = 0; rerouteWanted = false
        gsoSize = 0; gsoFixedID = false; gsoUDP = false; qdiscPktLen = 0; txOutcome = .forwarded; sock = nil; skOwner = .none; assignedSock = nil; wmemCharge = 0; tcpSerial = 0; rxCsumPartial = false
        hashComputed = false; redirected = false; tcRedirects = 0; looped = false; loopedDst = 0; ipOptions = nil
    }

    /// SKB_TRUESIZE of a head buffer for `len` bytes: data rounded up with NET_SKB_PAD, plus the
    /// aligned sk_buff (256) and skb_shared_info (320) on x86_64.
    static func truesize(_ len: Int) -> Int { ((len + 64 + 63) & ~63) + 256 + 320 }

    /// SKB_TRUESIZE of an skb `ip_make_skb` allocates for `ipLength` bytes: room for the link
    /// header (16) and alignment (15), the head plus skb_shared_info (320) from the small-head cache
    /// (576) or the next kmalloc size, and the sk_buff (256). 100 bytes of UDP: 832; 1400: 2304.
    static func txTruesize(ipLength: Int) -> Int {
        let head = ((ipLength + 16 + 15 + 63) & ~63) + 320
        return (head <= 576 ? 576 : Stack.roundUpPowerOfTwo(head)) + 256
    }
}

extension SkBuff {
    /// The DSCP of an IPv4 or IPv6 packet (0 for anything else).
    var dscp: Int {
        let nh = networkHeader
        if protocolType == EtherType.ipv6 { return len >= nh + 2 ? Int((data[nh] & 0x0f) << 2 | data[nh + 1] >> 6) : 0 }
        guard protocolType == EtherType.ipv4, len >= nh + 20 else { return 0 }
        return Int(data[nh + 1] >> 2)
    }

    /// `ipv4_change_dsfield` / `ipv6_change_dsfield` keeping ECN (cake's wash).
    func setDSCP(_ v: UInt8) {
        let nh = networkHeader
        if protocolType == EtherType.ipv6 {
            guard len >= nh + 2 else { return }
            data[nh] = data[nh] & 0xf0 | (v >> 2)
            data[nh + 1] = data[nh + 1] & 0x3f | (v & 3) << 6
            return
        }
        guard protocolType == EtherType.ipv4, len >= nh + 20 else { return }
        data[nh + 1] = v << 2 | data[nh + 1] & 3
        ip_send_check()
    }

    /// `ip_send_check`: the IPv4 header's checksum computed again over its whole length.
    func ip_send_check() {
        let nh = networkHeader
        data.setBE16(nh + 10, 0)
        data.setBE16(nh + 10, Checksum.compute(data, from: nh, count: Int(data[nh] & 0x0f) * 4))
    }

    /// `INET_ECN_set_ce`: an ECN-capable (ECT) packet is marked Congestion Experienced, the IPv4
    /// checksum adjusted; a Not-ECT one cannot be (false).
    func setECNCongestionExperienced() -> Bool {
        let nh = networkHeader
        if protocolType == EtherType.ipv6 {
            guard len >= nh + 2, (data[nh + 1] >> 4) & 3 != 0 else { return false }
            data[nh + 1] |= 0x30
            return true
        }
        guard len >= nh + 20 else { return false }
        let tos = data[nh + 1]
        guard tos & 3 != 0 else { return false }
        guard tos & 3 != 3 else { return true }
        data[nh + 1] = tos | 3
        ip_send_check()
        return true
    }
}
