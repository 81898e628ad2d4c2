import Wire

// net/netfilter/nf_nat_ftp.c, nf_nat_helper.c, nf_conntrack_seqadj.c: on a NATed control
// connection the ftp helper writes the address and port the peer must use into the command,
// the expected connection is NATed as its master (nf_nat_follow_master), and when the line's
// length changed, the sequence numbers of every later segment move by the difference.

/// `struct nf_ct_seqadj`: from `correctionPos` on, numbers move by `after` (before it, `before`).
struct SeqAdjust: Equatable {
    var correctionPos: UInt32 = 0
    var before: Int32 = 0, after: Int32 = 0
}

extension FTPCommand {
    /// nf_ct_ftp_type: what the command was, which says how to write it back.
    enum Kind { case port, eprt, pasv, epsv
        init(dir: Int, index: Int) { self = dir == 0 ? (index == 0 ? .port : .eprt) : (index == 0 ? .pasv : .epsv) }
    }

    /// `nf_nat_ftp_fmt_cmd`.
    static func format(_ kind: Kind, addr: UInt128, v6: Bool, port: UInt16) -> String {
        let a = UInt32(truncatingIfNeeded: addr)
        switch kind {
        case .port, .pasv: return "\(a >> 24),\(a >> 16 & 0xff),\(a >> 8 & 0xff),\(a & 0xff),\(port >> 8),\(port & 0xff)"
        case .eprt:
            // %pI6: eight groups of four hex digits.
            if v6 {
                let groups = (0..<8).map { k in
                    let h = String(UInt16(truncatingIfNeeded: addr >> UInt128(112 - 16 * k)), radix: 16)
                    return String(repeating: "0", count: 4 - h.count) + h
                }
                return "|2|" + groups.joined(separator: ":") + "|\(port)|"
            }
            return "|1|\(a >> 24).\(a >> 16 & 0xff).\(a >> 8 & 0xff).\(a & 0xff)|\(port)|"
        case .epsv: return "|||\(port)|"
        }
    }
}

extension Stack {
    /// `nf_nat_ftp`: the connection will come from wherever this packet goes, to the address the
    /// packet's destination sees as its peer's (`tuplehash[!dir].dst`), on the command's port or
    /// the next free one (nf_nat_exp_find_port); the line says so.
    func nf_nat_ftp(_ skb: SkBuff, _ c: Conn, _ exp: CTExpectation, dir: Int, type: FTPCommand.Kind, at off: Int, length: Int) -> FTPParse {
        let other = dir == 0 ? c.reply : c.orig
        var e = exp
        e.savedPort = exp.dport
        e.natDir = 1 - dir
        var port = exp.dport
        while port != 0 {
            e.dport = port
            if nf_ct_expect_related(e, maxExpected: 1) { break }
            port &+= 1
        }
        guard port != 0 else { return .refused }
        let text = FTPCommand.format(type, addr: other.dst, v6: c.orig.v6, port: port)
        guard nf_nat_mangle_tcp_packet(skb, c, dir: dir, at: off, length: length, with: Array(text.utf8)) else {
            ctExpectations.removeAll { $0.master === c && $0.dport == port && $0.src == e.src && $0.dst == e.dst }
            c.help?.expecting -= 1
            return .unmangled
        }
        return .accepted
    }

    /// `nf_nat_mangle_tcp_packet`: `length` bytes at `off` become `rep`; the IP length and both
    /// checksums follow, and a change of length is recorded for the sequence numbers after it.
    func nf_nat_mangle_tcp_packet(_ skb: SkBuff, _ c: Conn, dir: Int, at off: Int, length: Int, with rep: [UInt8]) -> Bool {
        let nh = skb.networkHeader, v6 = c.orig.v6
        guard let th = get_l4proto(skb)?.offset, off + length <= skb.len, skb.len - length + rep.count <= 0xffff + nh else { return false }
        let seq = skb.data.be32(th + 4)
        var d = Array(skb.data[0..<skb.len])
        d.replaceSubrange(off..<(off + length), with: rep)
        let l4len = d.count - th
        if v6 {
            d.setBE16(nh + 4, UInt16(d.count - nh - 40))
        } else {
            d.setBE16(nh + 2, UInt16(d.count - nh))
            d.setBE16(nh + 10, 0)
            d.setBE16(nh + 10, Checksum.compute(d, from: nh, count: th - nh))
        }
        // The TCP checksum over the new segment, as a device finishing it would have it.
        d.setBE16(th + 16, 0)
        let pseudo = v6 ? PseudoHeader.v6(IPv6Address(array: d, at: nh + 8), IPv6Address(array: d, at: nh + 24))
            : PseudoHeader.v4(IPv4Address(raw: d.be32(nh + 12)), IPv4Address(raw: d.be32(nh + 16)))
        d.setBE16(th + 16, Checksum.finish(Checksum.sum(d, from: th, count: l4len, initial: pseudo.sum(proto: IPProtocol.tcp, length: l4len))))
        skb.data = d
        skb.len = d.count
        // nf_nat_csum_recalc: the sum is left CHECKSUM_PARTIAL for the device to finish (a veth
        // peer sees the pseudo-header sum).
        skb.csumPartialOffset = th + 16
        if rep.count != length { nf_ct_seqadj_set(c, dir: dir, seq: seq, offset: Int32(rep.count - length)) }
        return true
    }

    /// `nf_ct_seqadj_set`: from this segment on, this direction's numbers move by `offset` more
    /// (a correction already waiting further on is kept).
    func nf_ct_seqadj_set(_ c: Conn, dir: Int, seq: UInt32, offset: Int32) {
        var adj = c.seqAdjust ?? [SeqAdjust(), SeqAdjust()]
        var w = adj[dir]
        if w.before == w.after || Int32(bitPattern: w.correctionPos &- seq) < 0 {
            w.correctionPos = seq
            w.before = w.after
            w.after &+= offset
        }
        adj[dir] = w
        c.seqAdjust = adj
        nf_conntrack_event_cache(IPCT.seqadj, c)
    }

    /// `nf_ct_seq_adjust`: the segment's sequence number by this direction's correction, its
    /// acknowledgement and SACK blocks by the other's (the checksum fixed incrementally).
    func nf_ct_seq_adjust(_ skb: SkBuff, _ c: Conn, dir: Int) {
        guard let adj = c.seqAdjust else { return }
        guard let th = get_l4proto(skb)?.offset, skb.len >= th + 20 else { return }
        let this = adj[dir], other = adj[1 - dir]
        let seq = skb.data.be32(th + 4)
        let seqoff = Int32(bitPattern: seq &- this.correctionPos) > 0 ? this.after : this.before
        let newSeq = seq &+ UInt32(bitPattern: seqoff)
        var check = Checksum.update(skb.data.be16(th + 16), old: seq, new: newSeq)
        skb.data.setBE32(th + 4, newSeq)
        if skb.data[th + 13] & 0x10 != 0 {
            let ack = skb.data.be32(th + 8)
            let ackoff = Int32(bitPattern: (ack &- UInt32(bitPattern: other.before)) &- other.correctionPos) > 0 ? other.after : other.before
            let newAck = ack &- UInt32(bitPattern: ackoff)
            check = Checksum.update(check, old: ack, new: newAck)
            skb.data.setBE32(th + 8, newAck)
            check = nf_ct_sack_adjust(skb, th: th, other, check)
        }
        skb.data.setBE16(th + 16, check)
    }

    /// `nf_ct_sack_adjust`: each SACK block's edges, which acknowledge the other direction's
    /// numbers, move back by its correction. The checksum with them.
    private func nf_ct_sack_adjust(_ skb: SkBuff, th: Int, _ other: SeqAdjust, _ check: UInt16) -> UInt16 {
        var check = check
        let end = min(skb.len, th + Int(skb.data[th + 12] >> 4) * 4)
        var i = th + 20
        while i < end {
            let kind = skb.data[i]
            if kind == 0 { break }
            if kind == 1 { i += 1; continue }
            guard i + 1 < end else { break }
            let len = Int(skb.data[i + 1])
            guard len >= 2, i + len <= end else { break }
            // TCPOPT_SACK with whole blocks (TCPOLEN_SACK_BASE 2, 8 bytes a block).
            if kind == 5, len >= 10, (len - 2) % 8 == 0 {
                for k in stride(from: i + 2, to: i + len, by: 4) {
                    let edge = skb.data.be32(k)
                    let off = Int32(bitPattern: (edge &- UInt32(bitPattern: other.before)) &- other.correctionPos) > 0 ? other.after : other.before
                    let moved = edge &- UInt32(bitPattern: off)
                    check = Checksum.update(check, old: edge, new: moved)
                    skb.data.setBE32(k, moved)
                }
            }
            i += len
        }
        return check
    }

    /// `nf_nat_follow_master`: an expected connection's source becomes where its master sends to
    /// in that direction, and its destination the master's peer on the port the command named.
    func nf_nat_follow_master(_ c: Conn, _ master: Conn, dir: Int, port: UInt16) {
        let m = dir == 0 ? master.reply : master.orig   // tuplehash[!exp->dir]
        let replyZone = c.zone.id(reply: true)
        let src = get_unique_tuple(c.orig, NATRange(addrs: (m.dst, m.dst), ports: nil, flags: [], v6: c.orig.v6), source: true, replyZone: replyZone)
        if src != c.orig {
            c.snat = (src.src, src.sport)
            c.status |= IPS.srcNAT
        }
        let dst = get_unique_tuple(src, NATRange(addrs: (m.src, m.src), ports: (port, port), flags: [], v6: c.orig.v6), source: false, replyZone: replyZone)
        if dst != src {
            c.dnat = (dst.dst, dst.dport)
            c.status |= IPS.dstNAT
        }
        c.reply = dst.inverted(zone: replyZone)
        c.status |= IPS.srcNATDone | IPS.dstNATDone
    }
}
