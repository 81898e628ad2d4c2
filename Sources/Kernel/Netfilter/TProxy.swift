import NFTables
import Wire

/// skb->sk as `tproxy` assigns it: a bound UDP socket or TCP listener, or a connection (a request
/// sock, an established or TIME-WAIT one) found by the packet's own addresses.
enum AssignedSock {
    case sock(Sock)
    case conn(TCPConn)
}

// net/netfilter/nft_tproxy.c and nf_tproxy_ipv4.c / nf_tproxy_ipv6.c.
extension Stack {
    /// `nft_tproxy_eval`: a connection the packet already belongs to, else a socket bound at the
    /// rule's address and port (zero or none: the receiving device's first address, the packet's
    /// port); one with IP_TRANSPARENT becomes the packet's socket, anything else breaks the rule.
    /// A rule written for the other family, or a packet other than TCP or UDP, breaks it too.
    func nft_tproxy_eval(_ x: NFTProxy, _ skb: SkBuff, _ p: PktInfo) -> Bool {
        guard p.proto == IPProtocol.tcp || p.proto == IPProtocol.udp, p.fragOff == 0, p.len >= p.th + 8 else { return false }
        let b = skb.data
        let sport = b.be16(p.th), dport = b.be16(p.th + 2)
        let tport = x.port.flatMap { $0 == 0 ? nil : $0 } ?? dport
        let found: AssignedSock?
        if p.ipv4, x.family != .ip6 {
            let saddr = IPv4Address(raw: b.be32(p.nh + 12)), daddr = IPv4Address(raw: b.be32(p.nh + 16))
            found = nf_tproxy_get_sock_v4(p.proto, saddr: saddr, sport: sport, daddr: daddr, dport: dport,
                                          taddr: nf_tproxy_laddr4(skb, x.addr ?? 0, daddr), tport: tport, syn: isPureSYN(b, p))
        } else if p.ipv6, x.family != .ip {
            let saddr = IPv6Address(array: b, at: p.nh + 8), daddr = IPv6Address(array: b, at: p.nh + 24)
            let taddr = nf_tproxy_laddr6(skb, x.addr6 ?? 0, daddr)
            if p.proto == IPProtocol.tcp {
                found = nf_tproxy_tcp(TCPKey(local6: daddr, lport: dport, remote6: saddr, rport: sport), syn: isPureSYN(b, p)) {
                    self.sockets.lookup6(.tcp, dst: taddr, port: tport)
                }
            } else if let s = sockets.lookup6(.udp, dst: daddr, port: dport, src: saddr, sport: sport), s.config.peer6 != nil, s.config.address6 != .any {
                found = .sock(s)   // as nf_tproxy_get_sock_v4: a connected socket on the four-tuple first
            } else {
                found = sockets.lookup6(.udp, dst: taddr, port: tport, src: saddr, sport: sport).flatMap { $0.config.connected ? nil : .sock($0) }
            }
        } else {
            return false
        }
        // nf_tproxy_sk_is_transparent, then nf_tproxy_assign_sock.
        guard let sk = found, isTransparent(sk) else { return false }
        skb.assignedSock = sk
        return true
    }

    /// The established lookup first (the packet's own four-tuple), then the listener at the target;
    /// a SYN to a TIME-WAIT connection goes to a listener there when one exists
    /// (`nf_tproxy_handle_time_wait4`, which ends the TIME-WAIT).
    private func nf_tproxy_get_sock_v4(_ proto: UInt8, saddr: IPv4Address, sport: UInt16, daddr: IPv4Address, dport: UInt16,
                                       taddr: IPv4Address, tport: UInt16, syn: Bool) -> AssignedSock? {
        guard proto == IPProtocol.tcp else {
            // UDP: a connected socket (not a wildcard one) on the four-tuple, else an unconnected one at the target.
            if let s = sockets.lookup(.udp, dst: daddr, port: dport, src: saddr, sport: sport), s.config.peer != nil, s.config.address != .any { return .sock(s) }
            if let s = sockets.lookup(.udp, dst: taddr, port: tport, src: saddr, sport: sport), s.config.peer == nil { return .sock(s) }
            return nil
        }
        return nf_tproxy_tcp(TCPKey(local: daddr, lport: dport, remote: saddr, rport: sport), syn: syn) { self.sockets.lookup(.tcp, dst: taddr, port: tport) }
    }

    /// TCP, either family: the connection on the segment's four-tuple, else the listener at the
    /// target; a SYN to a TIME-WAIT connection goes to that listener when there is one
    /// (`nf_tproxy_handle_time_wait4/6`, which ends the TIME-WAIT).
    private func nf_tproxy_tcp(_ key: TCPKey, syn: Bool, listener: () -> Sock?) -> AssignedSock? {
        guard let c = sockets.conn(key) else { return listener().map { .sock($0) } }
        if c.state == .timeWait, syn, let l = listener() {
            sockets.remove(c)
            return .sock(l)
        }
        return .conn(c)
    }

    /// A SYN without ACK, RST or FIN: what may reopen a TIME-WAIT connection.
    private func isPureSYN(_ b: [UInt8], _ p: PktInfo) -> Bool {
        guard p.len >= p.th + 14 else { return false }
        let f = TCPFlags(rawValue: b[p.th + 13])
        return f.contains(.syn) && !f.contains(.ack) && !f.contains(.rst) && !f.contains(.fin)
    }

    /// `nf_tproxy_laddr4`: the rule's address, else the receiving device's primary (first) one,
    /// else the packet's destination.
    func nf_tproxy_laddr4(_ skb: SkBuff, _ user: UInt32, _ daddr: IPv4Address) -> IPv4Address {
        if user != 0 { return IPv4Address(raw: user) }
        return devices[skb.dev].config.addresses.first?.address ?? daddr
    }

    /// `nf_tproxy_laddr6`: the rule's address, else the device's first in its list (global scope
    /// before link-local, the newest first), else the packet's destination.
    func nf_tproxy_laddr6(_ skb: SkBuff, _ user: UInt128, _ daddr: IPv6Address) -> IPv6Address {
        if user != 0 { return IPv6Address(raw: user) }
        guard skb.dev < fib6.addresses.count else { return daddr }
        let mine = fib6.addresses[skb.dev]
        return (mine.last { !$0.address.isLinkLocal } ?? mine.first)?.address ?? daddr
    }

    /// `inet_sk_transparent`: IP_TRANSPARENT on a full socket; a request or TIME-WAIT sock has
    /// its listener's (no_srccheck, tw_transparent).
    func isTransparent(_ sk: AssignedSock) -> Bool {
        switch sk {
        case .sock(let s): s.config.transparent
        case .conn(let c): (c.sock ?? c.parent)?.config.transparent ?? false
        }
    }
}
