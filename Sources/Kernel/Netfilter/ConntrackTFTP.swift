import Wire

// net/netfilter/nf_conntrack_tftp.c and nf_nat_tftp.c: a read or write request expects the
// server's transfer from any port to the client's.
extension Stack {
    /// `tftp_help`: on an RRQ or WRQ (opcode 1 or 2), the reply tuple's source may send to its
    /// destination port once (tftp_exp_policy: one at a time, 5 minutes); on a NATed connection
    /// the transfer follows the master's NAT back to the client's own port (nf_nat_tftp).
    func nf_conntrack_tftp_help(_ skb: SkBuff, _ c: Conn) -> String? {
        guard let th = get_l4proto(skb)?.offset, skb.len >= th + 8 + 2 else { return nil }
        let opcode = skb.data.be16(th + 8)
        guard opcode == 1 || opcode == 2 else { return nil }
        let t = c.reply
        var e = CTExpectation(proto: IPProtocol.udp, v6: c.orig.v6, src: t.src, dst: t.dst, dport: t.dport,
                              zone: c.zone.id(reply: false), master: c, expires: clocks[skb.cpu] + 300 * 1_000_000_000)
        if c.status & (IPS.srcNAT | IPS.dstNAT) != 0 {
            e.savedPort = c.orig.sport
            e.natDir = 1
        }
        return nf_ct_expect_related(e, maxExpected: 1) ? nil : "nf_conntrack_tftp: cannot add expectation"
    }
}
