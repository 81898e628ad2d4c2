import NFTables
import Wire

// net/netfilter/nf_conntrack_expect.c and nft_ct.c's objects: expectations, and the ct helper,
// timeout and expectation objects rules attach to a new connection.

/// `struct nf_conntrack_expect`: a connection expected from `src` to `dst`:`dport` (any source
/// port), made by `master`, until `expires` (virtual ns).
struct CTExpectation {
    var proto: UInt8
    var v6: Bool
    var src: UInt128, dst: UInt128
    var dport: UInt16
    var zone: UInt16
    let master: Conn
    var expires: UInt64
    /// nf_nat_ftp's: the connection will come the way this direction of the master goes
    /// (`exp->dir`), to the port the command named (`saved_proto`); nf_nat_follow_master NATs it
    /// as the master. nil without NAT.
    var natDir: Int? = nil
    var savedPort: UInt16 = 0

    /// `nf_ct_tuple_mask_cmp` with the helpers' mask: addresses, protocol and destination port.
    func matches(_ t: CTTuple) -> Bool {
        t.proto == proto && t.v6 == v6 && t.src == src && t.dst == dst && t.dport == dport && t.zone == zone
    }
}

extension Conn {
    /// The TCP state's timeout in seconds: the `ct timeout` policy's, else the default.
    func tcpTimeout(_ st: TCPCTState) -> UInt64 {
        if let p = timeoutPolicy, let k = ConntrackCodec.tcpStates.firstIndex(of: st), k < p.count { return UInt64(p[k]) }
        return Stack.tcpTimeouts[st]!
    }
    /// UDP's timeout in seconds: `replied` for a stream, `unreplied` otherwise.
    func udpTimeout(replied: Bool) -> UInt64 {
        if let p = timeoutPolicy, p.count == 2 { return UInt64(p[replied ? 1 : 0]) }
        return replied ? 120 : 30
    }
    /// `ct id` (nf_ct_get_id): the kernel hashes the entry's address with a boot-time key; this
    /// hashes what identifies the entry for its life (original tuple and creation time), so it
    /// stays the same across checkpoints and runs.
    var ctID: UInt32 {
        var h = orig.tableHash ^ (created &* 0x9E37_79B9_7F4A_7C15)
        h = (h ^ (h >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        return UInt32(truncatingIfNeeded: h ^ (h >> 33))
    }
}

extension Stack {
    /// `nf_ct_find_expectation`: the live expectation a new connection's tuple fulfils, taken out
    /// of the table (none is permanent here), whose master must be confirmed.
    func nf_ct_find_expectation(_ t: CTTuple, now: UInt64) -> CTExpectation? {
        ctExpectations.removeAll { e in
            guard e.expires <= now || !e.master.confirmedInTable && e.master.status & IPS.confirmed != 0 else { return false }
            e.master.help?.expecting -= 1
            return true
        }
        guard let k = ctExpectations.firstIndex(where: { $0.matches(t) && $0.master.status & IPS.confirmed != 0 }) else { return nil }
        let e = ctExpectations.remove(at: k)
        e.master.help?.expecting -= 1
        return e
    }

    /// `nf_ct_expect_related`: an expectation equal to one of the same master replaces it, one
    /// equal to another master's clashes (EBUSY); past the helper's `maxExpected` the master's
    /// oldest goes (evict_oldest_expect). False when the kernel refuses it.
    func nf_ct_expect_related(_ e: CTExpectation, maxExpected: Int?) -> Bool {
        if let k = ctExpectations.firstIndex(where: { $0.proto == e.proto && $0.v6 == e.v6 && $0.src == e.src && $0.dst == e.dst && $0.dport == e.dport && $0.zone == e.zone }) {
            guard ctExpectations[k].master === e.master else { return false }
            ctExpectations.remove(at: k)
            e.master.help?.expecting -= 1
        }
        if let max = maxExpected, let help = e.master.help, help.expecting >= max,
           let oldest = ctExpectations.firstIndex(where: { $0.master === e.master }) {
            ctExpectations.remove(at: oldest)
            help.expecting -= 1
        }
        ctExpectations.append(e)
        e.master.help?.expecting += 1
        return true
    }

    /// What an object statement did: go on, break the rule (NFT_BREAK), or drop the packet.
    /// What an object (or synproxy) did with the packet: go on, stop the rule (NFT_BREAK), drop it,
    /// or take it (NF_STOLEN).
    enum ObjectOutcome { case next, breakRule, drop, stolen }

    /// nft_ct's object eval: what attaching a helper, timeout or expectation object does to the
    /// packet's connection.
    func nft_ct_object_eval(_ o: NFCtObject, _ skb: SkBuff) -> ObjectOutcome {
        guard let c = skb.conn, skb.ctInfo != .untracked else { return o.isExpectation ? .breakRule : .next }
        let unconfirmed = c.status & IPS.confirmed == 0
        switch o {
        case .helper(let type, let proto, let l3):
            // nft_ct_helper_obj_eval: a new connection of the helper's protocol and family, once.
            guard unconfirmed, c.orig.proto == proto, l3.covers(v6: c.orig.v6), c.help?.helper == nil else { return .next }
            if let h = c.help { h.helper = type } else { c.help = CTHelp(helper: type) }
        case .timeout(let proto, _, let seconds):
            // nft_ct_timeout_obj_eval: on a new connection of its protocol, the policy's first
            // state's timeout from now.
            guard unconfirmed, skb.ctInfo != .invalid, get_l4proto(skb)?.proto == proto else { return .next }
            c.timeoutPolicy = seconds
            c.expires = clocks[skb.cpu] + UInt64(seconds[0]) * 1_000_000_000
        case .expectation(let proto, let dport, let ms, let size, _):
            // nft_ct_expect_obj_eval: from the connection's first packet only; the peer (the reply
            // tuple's source) may open one connection to dport, `size` at a time.
            guard unconfirmed else { return .breakRule }
            let help = c.help ?? CTHelp(helper: nil)
            c.help = help
            guard help.expecting < Int(size) else { return .breakRule }
            let reply = skb.ctInfo == .reply ? c.orig : c.reply
            let e = CTExpectation(proto: proto, v6: c.orig.v6, src: reply.src, dst: reply.dst, dport: dport, zone: c.zone.id(reply: false),
                                  master: c, expires: clocks[skb.cpu] + ms * 1_000_000)
            if !nf_ct_expect_related(e, maxExpected: nil) { return .drop }
        }
        return .next
    }

    /// A packet RELATED as its expected entry's own, original-direction packet (IP_CT_RELATED):
    /// not an ICMP error about a flow, nor a packet the stack made for one (nf_ct_attach gives
    /// those IP_CT_RELATED_REPLY).
    func isExpectedOriginal(_ skb: SkBuff, _ c: Conn) -> Bool {
        skb.ctInfo == .related && c.status & IPS.expected != 0 && !skb.generated && !isICMPError(skb)
    }

    /// An ICMP or ICMPv6 packet (the errors conntrack relates to the flow they quote).
    func isICMPError(_ skb: SkBuff) -> Bool {
        let p = get_l4proto(skb)?.proto
        return p == IPProtocol.icmp || p == IPProtocol.icmpv6
    }

    /// `get_l4proto`: where the transport header starts and its protocol (past IPv6's extension
    /// headers); nil when they do not parse.
    func get_l4proto(_ skb: SkBuff) -> (offset: Int, proto: UInt8)? {
        let nh = skb.networkHeader
        if skb.protocolType == EtherType.ipv6 {
            return ipv6_skip_exthdr(skb.data, from: nh, end: skb.len).map { ($0.offset, $0.proto) }
        }
        return (nh + Int(skb.data[nh] & 0x0f) * 4, skb.data[nh + 9])
    }
}

extension NFCtObject {
    var isExpectation: Bool { if case .expectation = self { true } else { false } }
}
