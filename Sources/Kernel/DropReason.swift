/// The kernel's `enum skb_drop_reason` (include/net/dropreason-core.h), by name without the
/// `SKB_DROP_REASON_` prefix. Names, not numbers, are exported: the numbers shift between kernels.
public enum DropReason: String, Sendable, CaseIterable {
    case NOT_SPECIFIED, NO_SOCKET, PKT_TOO_SMALL, TCP_CSUM, SOCKET_FILTER, UDP_CSUM, NETFILTER_DROP
    case OTHERHOST, IP_CSUM, IP_INHDR, IP_RPFILTER, UNICAST_IN_L2_MULTICAST, IP_NOPROTO, SOCKET_RCVBUFF
    case PROTO_MEM, SOCKET_BACKLOG, TCP_FLAGS, TCP_INVALID_SEQUENCE, TCP_RESET, TCP_INVALID_SYN, TCP_CLOSE
    case TCP_ACK_UNSENT_DATA, TCP_OLD_DATA, TCP_OFO_DROP, TCP_ZEROWINDOW
    case IP_OUTNOROUTES, NEIGH_FAILED, NEIGH_QUEUEFULL, QDISC_DROP, QDISC_OVERLIMIT, QDISC_CONGESTED
    case CAKE_FLOOD, CPU_BACKLOG, XDP, TC_INGRESS, TC_EGRESS, UNHANDLED_PROTO, SKB_CSUM, SKB_GSO_SEG
    case DEV_READY, FULL_RING, NOMEM, HDR_TRUNC, ICMP_CSUM, IP_INADDRERRORS, IP_INNOROUTES, IP_LOCAL_SOURCE
    case IP_INVALID_SOURCE, IP_INVALID_DEST, PKT_TOO_BIG, DUP_FRAG, FRAG_REASM_TIMEOUT, FRAG_TOO_FAR
    case IPV6DISABLED, IPV6_BAD_EXTHDR, IPV6_NDISC_FRAG, IPV6_NDISC_HOP_LIMIT, IPV6_NDISC_BAD_CODE
    case IPV6_NDISC_BAD_OPTIONS, IPV6_NDISC_NS_OTHERHOST, INVALID_PROTO, TCP_RFC7323_TSECR
}

extension DropReason {
    /// What the reason means, after the comments of include/net/dropreason-core.h.
    public var summary: String {
        switch self {
        case .NOT_SPECIFIED: "no reason given where the packet was freed"
        case .NO_SOCKET: "no socket took it (closed port)"
        case .PKT_TOO_SMALL: "too short for its headers"
        case .TCP_CSUM: "TCP checksum error"
        case .SOCKET_FILTER: "dropped by the socket's filter"
        case .UDP_CSUM: "UDP checksum error"
        case .NETFILTER_DROP: "dropped by netfilter (a rule's drop or reject verdict, or a chain's policy)"
        case .OTHERHOST: "for another host at layer 2 (PACKET_OTHERHOST)"
        case .IP_CSUM: "IP header checksum error"
        case .IP_INHDR: "bad IP header (version, length, or a source that is multicast or limited broadcast)"
        case .IP_RPFILTER: "failed reverse-path filtering"
        case .UNICAST_IN_L2_MULTICAST: "unicast IP in a layer-2 multicast or broadcast frame"
        case .IP_NOPROTO: "no handler for the IP protocol"
        case .SOCKET_RCVBUFF: "the socket's receive buffer is full"
        case .PROTO_MEM: "the protocol's memory limit, or a TCP receive buffer, is full"
        case .SOCKET_BACKLOG: "the socket's backlog is full"
        case .TCP_FLAGS: "TCP flags not valid in the socket's state"
        case .TCP_INVALID_SEQUENCE: "TCP sequence outside the receive window"
        case .TCP_RESET: "a TCP RST (it ends the connection, or was not acceptable)"
        case .TCP_INVALID_SYN: "a SYN on a synchronized connection (answered with a challenge ACK)"
        case .TCP_CLOSE: "TCP data for a socket the process has closed"
        case .TCP_ACK_UNSENT_DATA: "a TCP ACK of data not sent yet"
        case .TCP_OLD_DATA: "TCP data already received"
        case .TCP_OFO_DROP: "TCP data out of order (no out-of-order queue here)"
        case .TCP_ZEROWINDOW: "TCP data while the receive window is closed"
        case .IP_OUTNOROUTES: "no route for a packet the host sends"
        case .NEIGH_FAILED: "the neighbour did not answer (entry FAILED)"
        case .NEIGH_QUEUEFULL: "the neighbour's queue of packets awaiting resolution is full"
        case .QDISC_DROP: "dropped by a qdisc (its queue is full)"
        case .QDISC_OVERLIMIT: "dropped by a qdisc over a limit of packets, bytes or memory"
        case .QDISC_CONGESTED: "dropped by a qdisc's AQM (CoDel, COBALT)"
        case .CAKE_FLOOD: "dropped by cake's flood protection (BLUE)"
        case .CPU_BACKLOG: "the CPU's backlog (netdev_max_backlog) is full, or the flow is over its limit"
        case .XDP: "dropped by an XDP program"
        case .TC_INGRESS: "dropped by a tc ingress action"
        case .TC_EGRESS: "dropped by a tc egress action"
        case .UNHANDLED_PROTO: "no handler for the EtherType"
        case .SKB_CSUM: "checksum computation failed"
        case .SKB_GSO_SEG: "GSO segmentation failed"
        case .DEV_READY: "the device is not up"
        case .FULL_RING: "the NIC's RX ring had no free descriptor"
        case .NOMEM: "out of memory"
        case .HDR_TRUNC: "header truncated"
        case .ICMP_CSUM: "ICMP checksum error"
        case .IP_INADDRERRORS: "an address error on input (not for this host and not forwarded)"
        case .IP_INNOROUTES: "no route for a received packet"
        case .IP_LOCAL_SOURCE: "a received packet with one of the host's own addresses as source"
        case .IP_INVALID_SOURCE: "an invalid source address (multicast, loopback from outside...)"
        case .IP_INVALID_DEST: "an invalid destination address"
        case .PKT_TOO_BIG: "larger than the path MTU and not fragmentable"
        case .DUP_FRAG: "a duplicate fragment"
        case .FRAG_REASM_TIMEOUT: "reassembly timed out"
        case .FRAG_TOO_FAR: "a fragment queue left too far behind (ipfrag_max_dist)"
        case .IPV6DISABLED: "IPv6 is disabled on the device"
        case .IPV6_BAD_EXTHDR: "a malformed IPv6 extension header"
        case .IPV6_NDISC_FRAG: "a fragmented neighbour discovery message"
        case .IPV6_NDISC_HOP_LIMIT: "a neighbour discovery message with a hop limit other than 255"
        case .IPV6_NDISC_BAD_CODE: "a neighbour discovery message with a non-zero code"
        case .IPV6_NDISC_BAD_OPTIONS: "a neighbour discovery message with bad options"
        case .IPV6_NDISC_NS_OTHERHOST: "a neighbour solicitation for an address not on this host"
        case .INVALID_PROTO: "not allowed by its protocol's RFCs (an ICMP type other than echo, timestamp or address mask to a broadcast or multicast address)"
        case .TCP_RFC7323_TSECR: "a handshake ACK echoing a timestamp the request sock did not send (LINUX_MIB_TSECRREJECTED)"
        }
    }
}
