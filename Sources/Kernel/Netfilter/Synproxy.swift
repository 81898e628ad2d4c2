import NFTables
import Wire

// net/netfilter/nft_synproxy.c and nf_synproxy_core.c: a rule answers a client's SYN with a
// SYN cookie (the SYN itself goes no further), and only an ACK carrying a valid cookie makes the
// stack open the connection to the server: a SYN as if from the client, the server's SYN-ACK
// taken at POST_ROUTING and answered for the client, whose numbers (sequence and timestamps)
// conntrack then translates for the rest of the connection (seqadj, synproxy_tstamp_adjust).
// Recorded on the kernel: scripts/record_synproxy.sh, Tests/KernelTests/SynproxyTests.

/// `struct synproxy_options`: what the packet's TCP options said, and what the stack's reply says.
struct SynproxyOptions {
    var options: UInt32 = 0
    var mssOption: UInt16 = 0, mssEncode: UInt16 = 0
    var wscale: UInt8 = 0
    var tsval: UInt32 = 0, tsecr: UInt32 = 0
}

/// `struct nf_conn_synproxy`: the cookie the client acknowledged (`isn`), the timestamp the
/// cookie carried (`its`) and how far the server's timestamps are from it (`tsoff`). `maxwin`:
/// conntrack's td_maxwin of the original direction (window tracking is not modelled: the
/// largest window the original direction showed, its SYN's, is kept here for the server's ACK).
struct ConnSynproxy: Equatable {
    var isn: UInt32 = 0, its: UInt32 = 0, tsoff: UInt32 = 0
    var maxwin: UInt16 = 0
}

/// `struct synproxy_stats`: one per CPU, as /proc/net/stat/synproxy prints them.
public struct SynproxyStats: Sendable, Equatable {
    public var syn_received = 0, cookie_invalid = 0, cookie_valid = 0, cookie_retrans = 0, conn_reopened = 0
    public init(syn_received: Int = 0, cookie_invalid: Int = 0, cookie_valid: Int = 0, cookie_retrans: Int = 0, conn_reopened: Int = 0) {
        self.syn_received = syn_received; self.cookie_invalid = cookie_invalid; self.cookie_valid = cookie_valid
        self.cookie_retrans = cookie_retrans; self.conn_reopened = conn_reopened
    }
}

extension Stack {
    /// `nft_synproxy_do_eval`: not TCP breaks the rule; a checksum that does not verify, or a
    /// header cut short, drops; a SYN is answered with a cookie and taken, an ACK with a valid
    /// cookie opens the connection to the server and is taken (else dropped); anything else goes on.
    func nft_synproxy_eval(_ info: NFSynproxy, _ skb: SkBuff, _ p: PktInfo) -> ObjectOutcome {
        guard p.proto == IPProtocol.tcp, p.ipv4 || p.ipv6 else { return .breakRule }
        guard nf_ip_checksum(skb, thoff: p.th) else { return .drop }
        guard skb.len >= p.th + 20, var opts = synproxy_parse_options(skb.data, th: p.th, end: skb.len) else { return .drop }
        let flags = skb.data[p.th + 13]
        if flags & 0x02 != 0 {
            // nft_synproxy_tcp_options: the client's options as the rule allows them.
            synproxyStats[skb.cpu].syn_received += 1
            if flags & 0xc0 == 0xc0 { opts.options |= NFSynproxy.optECN }
            opts.options &= info.flags
            opts.mssEncode = opts.mssOption
            opts.mssOption = info.mss
            if opts.options & NFSynproxy.optTimestamp != 0 {
                synproxy_init_timestamp_cookie(info, &opts, now: clocks[skb.cpu])
            } else {
                opts.options &= ~(NFSynproxy.optWscale | NFSynproxy.optSackPerm | NFSynproxy.optECN)
            }
            synproxy_send_client_synack(skb, th: p.th, opts)
            return .stolen
        }
        if flags & 0x10 != 0 {
            return synproxy_recv_client_ack(skb, th: p.th, &opts, recvSeq: skb.data.be32(p.th + 4)) ? .stolen : .drop
        }
        return .next
    }

    /// `nf_ip_checksum`, which nft_synproxy applies to both families: a checksum the device (or
    /// loopback) vouched for is taken; otherwise the packet from its network header is summed
    /// with an IPv4 pseudo-header. For IPv6 that header is made of bytes 12-19 of the IPv6
    /// header, so an unverified IPv6 segment practically never passes (recorded: the SYN scapy
    /// sent over a veth, CHECKSUM_NONE, was dropped by the rule).
    func nf_ip_checksum(_ skb: SkBuff, thoff: Int) -> Bool {
        if skb.ipSummed == .unnecessary { return true }
        let nh = skb.networkHeader, b = skb.data
        let pseudo = Checksum.pseudoHeaderSum(src: IPv4Address(raw: b.be32(nh + 12)), dst: IPv4Address(raw: b.be32(nh + 16)),
                                              proto: IPProtocol.tcp, length: skb.len - thoff)
        return Checksum.finish(Checksum.sum(b, from: nh, count: skb.len - nh, initial: pseudo)) == 0
    }

    /// `synproxy_parse_options`: MSS, window scale (at most 14), timestamps and SACK-permitted
    /// where their lengths are right; nil when the header claims less than 20 bytes or more
    /// than the packet has.
    func synproxy_parse_options(_ b: [UInt8], th: Int, end: Int) -> SynproxyOptions? {
        let doff = Int(b[th + 12] >> 4) * 4
        guard doff >= 20, th + doff <= end else { return nil }
        var o = SynproxyOptions()
        var i = th + 20
        let stop = th + doff
        while i < stop {
            let kind = b[i]
            if kind == 0 { break }
            if kind == 1 { i += 1; continue }
            guard stop - i >= 2 else { break }
            let size = Int(b[i + 1])
            guard size >= 2, size <= stop - i else { break }
            switch (kind, size) {
            case (2, 4): o.mssOption = b.be16(i + 2); o.options |= NFSynproxy.optMSS
            case (3, 3): o.wscale = min(b[i + 2], 14); o.options |= NFSynproxy.optWscale
            case (8, 10): o.tsval = b.be32(i + 2); o.tsecr = b.be32(i + 6); o.options |= NFSynproxy.optTimestamp
            case (4, 2): o.options |= NFSynproxy.optSackPerm
            default: break
            }
            i += size
        }
        return o
    }

    /// `synproxy_init_timestamp_cookie`: the SYN-ACK's TSval is the clock in ms with its low six
    /// bits carrying the client's window scale (0xf: none), SACK-permitted and ECN; the
    /// client's TSval is echoed.
    private func synproxy_init_timestamp_cookie(_ info: NFSynproxy, _ o: inout SynproxyOptions, now: UInt64) {
        o.tsecr = o.tsval
        o.tsval = UInt32(truncatingIfNeeded: now / 1_000_000) & ~0x3f
        if o.options & NFSynproxy.optWscale != 0 {
            o.tsval |= UInt32(o.wscale)
            o.wscale = info.wscale
        } else {
            o.tsval |= 0xf
        }
        if o.options & NFSynproxy.optSackPerm != 0 { o.tsval |= 1 << 4 }
        if o.options & NFSynproxy.optECN != 0 { o.tsval |= 1 << 5 }
    }

    /// `synproxy_check_timestamp_cookie`: what the echoed TSval says the client offered.
    private func synproxy_check_timestamp_cookie(_ o: inout SynproxyOptions) {
        o.wscale = UInt8(o.tsecr & 0xf)
        if o.wscale != 0xf { o.options |= NFSynproxy.optWscale }
        if o.tsecr & (1 << 4) != 0 { o.options |= NFSynproxy.optSackPerm }
        if o.tsecr & (1 << 5) != 0 { o.options |= NFSynproxy.optECN }
    }

    /// `synproxy_build_options`: MSS; SACK-permitted packed with the timestamps (or alone after
    /// two NOPs); NOP and window scale.
    private func synproxy_build_options(_ o: SynproxyOptions) -> [UInt8] {
        var out: [UInt8] = []
        func put32(_ v: UInt32) { out += [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        if o.options & NFSynproxy.optMSS != 0 { out += [2, 4, UInt8(o.mssOption >> 8), UInt8(o.mssOption & 0xff)] }
        if o.options & NFSynproxy.optTimestamp != 0 {
            out += o.options & NFSynproxy.optSackPerm != 0 ? [4, 2, 8, 10] : [1, 1, 8, 10]
            put32(o.tsval); put32(o.tsecr)
        } else if o.options & NFSynproxy.optSackPerm != 0 {
            out += [1, 1, 4, 2]
        }
        if o.options & NFSynproxy.optWscale != 0 { out += [1, 3, 3, o.wscale] }
        return out
    }

    /// Where a packet's conntrack entry comes from when synproxy sends it (nf_ct_set).
    private enum SynproxyCT { case none, template, attached(Conn) }

    /// A TCP segment synproxy builds (`synproxy_build_ip[_ipv6]` + the header): DF, IP ID 0 and
    /// the default TTL (IPv6: hop limit of `all`, flow label 0), checksum left to the device
    /// (CHECKSUM_PARTIAL), routed to its destination (`ip_route_me_harder`, `nf_ip6_route`; none:
    /// it is freed) and sent through LOCAL_OUT (`synproxy_send_tcp[_ipv6]`).
    private func synproxy_send_tcp(_ cause: SkBuff, v6: Bool, src: [UInt8], dst: [UInt8], _ tcp: TCPRepr, ct: SynproxyCT) {
        enter(.synproxy_send_tcp, cause)
        let th = v6 ? 54 : 34
        var bytes = [UInt8](repeating: 0, count: th + tcp.bufferLength)
        let out: SkBuff
        if v6 {
            let s = IPv6Address(array: src, at: 0), d = IPv6Address(array: dst, at: 0)
            guard let route = routeOutput6(d) else { return }
            let ip = IPv6Repr(src: s, dst: d, nextHeader: IPProtocol.tcp, hopLimit: UInt8(sysctl(.hop_limit6)), flowLabel: 0, payloadLength: tcp.bufferLength)
            ip.emit(into: &bytes, at: 14)
            tcp.emit(into: &bytes, at: th, pseudo: ip.pseudoHeader)
            out = generatedSkb(bytes, dev: route.dev, cause: cause, protocolType: EtherType.ipv6, transportHeader: th, csumPartialOffset: th + 16, attachConntrack: false)
            out.nhoff = 20
            attach(out, ct)
            ip6_local_out(out, route: route)
        } else {
            let s = IPv4Address(raw: src.be32(0)), d = IPv4Address(raw: dst.be32(0))
            guard let route = routeOutput(d) else { return }
            let ip = IPv4Repr(src: s, dst: d, proto: IPProtocol.tcp, ttl: UInt8(sysctl(.ip_default_ttl)), ident: 0, dontFragment: true, payloadLength: tcp.bufferLength)
            ip.emit(into: &bytes, at: 14)
            tcp.emit(into: &bytes, at: th, src: s, dst: d)
            out = generatedSkb(bytes, dev: route.dev, cause: cause, protocolType: EtherType.ipv4, transportHeader: th, csumPartialOffset: th + 16, attachConntrack: false)
            attach(out, ct)
            ip_local_out(out, route: route)
        }
        func attach(_ out: SkBuff, _ ct: SynproxyCT) {
            switch ct {
            case .none: break
            // snet->tmpl: conntrack makes the connection with the synproxy and seqadj extensions.
            case .template: out.synproxyTemplate = true
            case .attached(let c): out.conn = c; out.ctInfo = .reply
            }
        }
    }

    /// The addresses of the packet, as bytes: (source, destination).
    private func addresses(_ skb: SkBuff) -> (v6: Bool, src: [UInt8], dst: [UInt8]) {
        let nh = skb.networkHeader
        let v6 = skb.protocolType == EtherType.ipv6
        let n = v6 ? 16 : 4, at = v6 ? 8 : 12
        return (v6, Array(skb.data[(nh + at)..<(nh + at + n)]), Array(skb.data[(nh + at + n)..<(nh + at + 2 * n)]))
    }

    /// `synproxy_send_client_synack[_ipv6]`: the SYN-ACK whose sequence number is the cookie,
    /// window 0, the options as the rule made them; without a conntrack entry (the SYN's is
    /// untracked, which skb_nfct does not return).
    private func synproxy_send_client_synack(_ skb: SkBuff, th: Int, _ o: SynproxyOptions) {
        let b = skb.data
        let (v6, src, dst) = addresses(skb)
        let cookie = synproxy_cookie_init_sequence(skb, th: th, mss: o.mssEncode)
        var flags: TCPFlags = [.syn, .ack]
        if o.options & NFSynproxy.optECN != 0 { flags.insert(.ece) }
        let tcp = TCPRepr(srcPort: b.be16(th + 2), dstPort: b.be16(th), seq: cookie, ack: b.be32(th + 4) &+ 1, flags: flags, window: 0,
                          options: synproxy_build_options(o))
        synproxy_send_tcp(skb, v6: v6, src: dst, dst: src, tcp, ct: skb.conn.map { .attached($0) } ?? .none)
    }

    /// `synproxy_recv_client_ack[_ipv6]`: the cookie in the ACK's acknowledgement number checked
    /// (cookie_invalid, cookie_valid); a valid one gives the MSS (and, from the echoed TSval, the
    /// options) the client's SYN offered, and the SYN to the server goes.
    private func synproxy_recv_client_ack(_ skb: SkBuff, th: Int, _ o: inout SynproxyOptions, recvSeq: UInt32) -> Bool {
        let mss = synproxy_cookie_check(skb, th: th)
        guard mss != 0 else {
            synproxyStats[skb.cpu].cookie_invalid += 1
            return false
        }
        synproxyStats[skb.cpu].cookie_valid += 1
        o.mssOption = mss
        o.options |= NFSynproxy.optMSS
        if o.options & NFSynproxy.optTimestamp != 0 { synproxy_check_timestamp_cookie(&o) }
        synproxy_send_server_syn(skb, th: th, o, recvSeq: recvSeq)
        return true
    }

    /// `synproxy_send_server_syn[_ipv6]`: the client's SYN as it was (its sequence number, window
    /// and options), from the client's address, carrying the cookie in its acknowledgement field
    /// for the hook to find; conntrack gets synproxy's template.
    private func synproxy_send_server_syn(_ skb: SkBuff, th: Int, _ o: SynproxyOptions, recvSeq: UInt32) {
        let b = skb.data
        let (v6, src, dst) = addresses(skb)
        var flags: TCPFlags = [.syn]
        if o.options & NFSynproxy.optECN != 0 { flags.formUnion([.ece, .cwr]) }
        let tcp = TCPRepr(srcPort: b.be16(th), dstPort: b.be16(th + 2), seq: recvSeq &- 1, ack: b.be32(th + 8) &- 1, flags: flags,
                          window: b.be16(th + 14), options: synproxy_build_options(o))
        synproxy_send_tcp(skb, v6: v6, src: src, dst: dst, tcp, ct: .template)
    }

    /// `synproxy_send_server_ack[_ipv6]`: the handshake's last ACK to the server, from the
    /// client's address, with the original direction's largest window; no conntrack entry attached.
    private func synproxy_send_server_ack(_ skb: SkBuff, th: Int, _ o: SynproxyOptions, maxwin: UInt16) {
        let b = skb.data
        let (v6, src, dst) = addresses(skb)
        let tcp = TCPRepr(srcPort: b.be16(th + 2), dstPort: b.be16(th), seq: b.be32(th + 8), ack: b.be32(th + 4) &+ 1, flags: .ack,
                          window: maxwin, options: synproxy_build_options(o))
        synproxy_send_tcp(skb, v6: v6, src: dst, dst: src, tcp, ct: .none)
    }

    /// `synproxy_send_client_ack[_ipv6]`: the server's window (unscaled by its window scale) to
    /// the client, in the connection's reply direction (so seqadj turns its numbers into the cookie's).
    private func synproxy_send_client_ack(_ skb: SkBuff, th: Int, _ o: SynproxyOptions, _ c: Conn) {
        let b = skb.data
        let (v6, src, dst) = addresses(skb)
        let tcp = TCPRepr(srcPort: b.be16(th), dstPort: b.be16(th + 2), seq: b.be32(th + 4) &+ 1, ack: b.be32(th + 8), flags: .ack,
                          window: b.be16(th + 14) >> UInt16(o.wscale), options: synproxy_build_options(o))
        synproxy_send_tcp(skb, v6: v6, src: src, dst: dst, tcp, ct: .attached(c))
    }

    /// synproxy's hooks are registered for the packet's family.
    @inline(__always) func synproxyHooked(_ skb: SkBuff) -> Bool {
        skb.protocolType == EtherType.ipv6 ? netfilter.synproxy6Enabled : netfilter.synproxyEnabled
    }

    /// `nf_is_loopback_packet`: it came in on lo.
    private func nf_is_loopback_packet(_ skb: SkBuff) -> Bool { skb.looped && skb.dev == lo }

    /// `ipv4_synproxy_hook` / `ipv6_synproxy_hook` (LOCAL_IN and POST_ROUTING, just before
    /// conntrack confirms), for a connection synproxy opened: the server's SYN records the
    /// cookie and its timestamp; the server's SYN-ACK is taken and answered both ways (the ACK to
    /// the server, the window to the client) once the numbers' offset is set; an ACK from the
    /// client while the server's SYN is unanswered is a retransmission checked again; a reset from
    /// the server before the handshake sets the offset its number needs. Other segments get
    /// their timestamps translated. nil: go on.
    func synproxy_hook(_ skb: SkBuff) -> PathEnd? {
        guard let c = skb.conn, var sp = c.synproxy, !nf_is_loopback_packet(skb), let (th, proto) = get_l4proto(skb), proto == IPProtocol.tcp else { return nil }
        enter(.synproxy_hook, skb)
        guard skb.len >= th + 20 else { return drop(.NETFILTER_DROP, "synproxy: TCP header cut short") }
        defer { c.synproxy = sp }
        let b = skb.data
        let flags = b[th + 13]
        let syn = flags & 0x02 != 0, ack = flags & 0x10 != 0, rst = flags & 0x04 != 0
        let reply = skb.ctInfo == .reply
        var state = c.tcp
        if state == .CLOSE {
            if rst && reply {
                nf_ct_seqadj_init(c, reply: true, offset: sp.isn &- b.be32(th + 4) &+ 1)
                return synproxy_tstamp_adjust(skb, th: th, c, sp)
            }
            guard syn, !ack, !reply else { return synproxy_tstamp_adjust(skb, th: th, c, sp) }
            // A reopened connection: the timestamp offset starts again (the sequence offset stays:
            // nf_ct_seqadj_init with 0 changes nothing).
            sp.tsoff = 0
            synproxyStats[skb.cpu].conn_reopened += 1
            state = .SYN_SENT
        }
        switch state {
        case .SYN_SENT:
            guard var o = synproxy_parse_options(b, th: th, end: skb.len) else { return drop(.NETFILTER_DROP, "synproxy: TCP options cut short") }
            if !syn && ack && !reply {
                // A keepalive-like retransmission of the client's ACK (SEG.SEQ = SND.NXT-1).
                guard synproxy_recv_client_ack(skb, th: th, &o, recvSeq: b.be32(th + 4) &+ 1) else {
                    return drop(.NETFILTER_DROP, "synproxy: the retransmitted ACK's cookie is not valid")
                }
                synproxyStats[skb.cpu].cookie_retrans += 1
                return consume("synproxy: the client's ACK again; the SYN to the server sent again")
            }
            sp.isn = b.be32(th + 8)
            if o.options & NFSynproxy.optTimestamp != 0 { sp.its = o.tsecr }
            if syn && !reply { sp.maxwin = max(b.be16(th + 14), 1) }
            nf_conntrack_event_cache(IPCT.synproxy, c)
        case .SYN_RECV:
            guard syn, ack else { break }
            guard var o = synproxy_parse_options(b, th: th, end: skb.len) else { return drop(.NETFILTER_DROP, "synproxy: TCP options cut short") }
            if o.options & NFSynproxy.optTimestamp != 0 {
                sp.tsoff = o.tsval &- sp.its
                nf_conntrack_event_cache(IPCT.synproxy, c)
            }
            o.options &= ~(NFSynproxy.optMSS | NFSynproxy.optWscale | NFSynproxy.optSackPerm)
            swap(&o.tsval, &o.tsecr)
            c.synproxy = sp
            synproxy_send_server_ack(skb, th: th, o, maxwin: sp.maxwin)
            nf_ct_seqadj_init(c, reply: reply, offset: sp.isn &- b.be32(th + 4))
            nf_conntrack_event_cache(IPCT.seqadj, c)
            swap(&o.tsval, &o.tsecr)
            synproxy_send_client_ack(skb, th: th, o, c)
            return consume("synproxy: the server's SYN-ACK answered (ACK to the server, window to the client)")
        default:
            break
        }
        return synproxy_tstamp_adjust(skb, th: th, c, sp)
    }

    /// `nf_ct_seqadj_init`: from now on, the direction's sequence numbers move by `offset` (0:
    /// nothing changes).
    private func nf_ct_seqadj_init(_ c: Conn, reply: Bool, offset: UInt32) {
        guard offset != 0 else { return }
        var adj = c.seqAdjust ?? [SeqAdjust(), SeqAdjust()]
        let off = Int32(bitPattern: offset)
        adj[reply ? 1 : 0] = SeqAdjust(correctionPos: 0, before: off, after: off)
        c.seqAdjust = adj
    }

    /// `synproxy_tstamp_adjust`: the server's TSval (reply) moves back by the offset, the
    /// client's TSecr (original) forward by it, the checksum with it. Options that do not
    /// parse leave the segment as it is.
    private func synproxy_tstamp_adjust(_ skb: SkBuff, th: Int, _ c: Conn, _ sp: ConnSynproxy) -> PathEnd? {
        guard sp.tsoff != 0 else { return nil }
        let end = th + Int(skb.data[th + 12] >> 4) * 4
        guard end <= skb.len else { return nil }
        var i = th + 20
        while i < end {
            let kind = skb.data[i]
            if kind == 0 { return nil }
            if kind == 1 { i += 1; continue }
            guard i + 1 < end, i + Int(skb.data[i + 1]) <= end, skb.data[i + 1] >= 2 else { return nil }
            if kind == 8 && skb.data[i + 1] == 10 {
                let at = skb.ctInfo == .reply ? i + 2 : i + 6
                let old = skb.data.be32(at)
                let new = skb.ctInfo == .reply ? old &- sp.tsoff : old &+ sp.tsoff
                skb.data.setBE32(at, new)
                skb.data.setBE16(th + 16, Checksum.update(skb.data.be16(th + 16), old: old, new: new))
                return nil
            }
            i += Int(skb.data[i + 1])
        }
        return nil
    }

    // MARK: SYN cookies (net/ipv4/syncookies.c, net/ipv6/syncookies.c)

    /// `msstab` of each family: the MSS a cookie can carry (its index, in the low bits).
    static let cookieMSS4: [UInt16] = [536, 1300, 1440, 1460]
    static let cookieMSS6: [UInt16] = [1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60]

    /// `tcp_cookie_time`: the clock in minutes (a cookie is good for two of them).
    private func tcp_cookie_time(_ skb: SkBuff) -> UInt32 { UInt32(truncatingIfNeeded: clocks[skb.cpu] / 60_000_000_000) }

    /// `cookie_hash`: siphash of the flow (IPv4: siphash_4u32 of the addresses, the ports and
    /// `count`; IPv6: of the addresses, `count` and the ports as laid out in memory), keyed by
    /// syncookie_secret[c] (random once per boot in the kernel; drawn from the stack's key here).
    private func cookie_hash(_ skb: SkBuff, th: Int, count: UInt32, _ c: Int) -> UInt32 {
        let (v6, src, dst) = addresses(skb)
        let b = skb.data
        var m = src + dst
        func le32(_ v: UInt32) { m += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }
        if v6 {
            le32(count)
            m += [b[th], b[th + 1], b[th + 2], b[th + 3]]
        } else {
            // (__force u32)sport << 16 | dport, the ports as their bytes lie.
            le32(UInt32(b.be16(th).byteSwapped) << 16 | UInt32(b.be16(th + 2).byteSwapped))
            le32(count)
        }
        let salt: UInt64 = (v6 ? 0x3600 : 0x3400) | UInt64(c)
        let key = (SipHash.hash3(UInt32(truncatingIfNeeded: salt), 0x53594e43, 1, key: ipIdents.key),
                   SipHash.hash3(UInt32(truncatingIfNeeded: salt), 0x53594e43, 2, key: ipIdents.key))
        return UInt32(truncatingIfNeeded: SipHash.hash(m, key: key))
    }

    /// `__cookie_v4_init_sequence` / `__cookie_v6_init_sequence` (`secure_tcp_syn_cookie`): the
    /// client's ISN plus a hash of the flow, the minute in the top 8 bits, and under a second
    /// hash the index of the largest MSS of the family's table not above the client's.
    private func synproxy_cookie_init_sequence(_ skb: SkBuff, th: Int, mss: UInt16) -> UInt32 {
        let table = skb.protocolType == EtherType.ipv6 ? Stack.cookieMSS6 : Stack.cookieMSS4
        var index = table.count - 1
        while index > 0 && mss < table[index] { index -= 1 }
        let count = tcp_cookie_time(skb)
        let seq = skb.data.be32(th + 4)
        return cookie_hash(skb, th: th, count: 0, 0) &+ seq &+ (count << 24)
            &+ ((cookie_hash(skb, th: th, count: count, 1) &+ UInt32(index)) & 0xff_ffff)
    }

    /// `__cookie_v4_check` / `__cookie_v6_check` (`check_tcp_syn_cookie`): the MSS the ACK's
    /// cookie (its acknowledgement number less one) carries, or 0 when it is not one of ours
    /// from this minute or the last.
    private func synproxy_cookie_check(_ skb: SkBuff, th: Int) -> UInt16 {
        let table = skb.protocolType == EtherType.ipv6 ? Stack.cookieMSS6 : Stack.cookieMSS4
        let seq = skb.data.be32(th + 4) &- 1
        var cookie = skb.data.be32(th + 8) &- 1
        let count = tcp_cookie_time(skb)
        cookie = cookie &- (cookie_hash(skb, th: th, count: 0, 0) &+ seq)
        let diff = (count &- (cookie >> 24)) & 0xff
        guard diff < 2 else { return 0 }   // MAX_SYNCOOKIE_AGE
        let index = (cookie &- cookie_hash(skb, th: th, count: count &- diff, 1)) & 0xff_ffff
        return index < table.count ? table[Int(index)] : 0
    }
}
