import Wire

/// `struct frag_queue`'s key: (identification, saddr, daddr), plus the device for link-scoped destinations.
struct Frag6Key: Hashable {
    var src: UInt128, dst: UInt128, id: UInt32, iif: Int
    /// nf_defrag_ipv6's queues are apart from the stack's (IP6_DEFRAG_CONNTRACK_IN as `user`).
    var defrag: Bool
}


// net/ipv6/reassembly.c
extension Stack {
    /// `ipv6_frag_rcv` / `ip6_frag_queue`: an atomic fragment (offset 0, no M) is passed over; a
    /// first fragment must hold every header up to the upper layer (parameter problem code 3); a
    /// fragment that is not the last must be a multiple of 8 bytes (parameter problem, pointing at
    /// the payload length); overlaps kill the queue (RFC 5722); the last missing piece reassembles.
    ///
    /// `defrag`: conntrack's `nf_ct_frag6_gather` (nf_defrag_ipv6) before PREROUTING: its own
    /// queues, no ICMPv6 and no MIB counting; what it refuses is dropped.
    func ipv6_frag_rcv(_ skb: SkBuff, defrag: Bool = false) -> DefragResult {
        enter(defrag ? .nf_ct_frag6_gather : .ipv6_frag_rcv, skb)
        let nh = skb.networkHeader, th = skb.transportHeader, b = skb.data
        /// icmpv6_param_prob, which conntrack's defragmentation never sends.
        func paramProb(_ code: UInt8, _ pointer: Int) {
            guard !defrag else { return }
            snmp.ip6.InHdrErrors += 1
            icmp6_send(skb, type: ICMPv6Repr.parameterProblem, code: code, info: UInt32(pointer))
        }
        if !defrag { snmp.ip6.ReasmReqds += 1 }
        guard b.be16(nh + 4) != 0, skb.len >= th + 8 else {
            paramProb(0, th - nh)
            return .failed(drop(.NOT_SPECIFIED, "fragment header truncated or in a jumbogram"))
        }
        let w = b.be16(th + 2)
        let offset = Int(w & 0xfff8), more = w & 1 == 1
        if offset == 0 && !more {
            if defrag { return .reassembled(skb) }
            snmp.ip6.ReasmOKs += 1
            skb.nhoff = th
            skb.transportHeader = th + 8
            return .reassembled(skb)
        }
        if offset == 0, let l4 = ipv6_skip_exthdr(b, from: nh, end: skb.len), l4.fragOff == 0, !upperLayerHeaderFits(l4, skb.len) {
            paramProb(3, 0)
            return .failed(drop(.NOT_SPECIFIED, "first fragment does not hold the upper-layer header"))
        }
        let end = offset + (skb.len - th - 8)
        if end > 65535 {
            paramProb(0, th + 2 - nh)
            return .failed(drop(.NOT_SPECIFIED, "fragment ends past 65535"))
        }
        let dst = IPv6Address(array: b, at: nh + 24)
        let key = Frag6Key(src: IPv6Address(array: b, at: nh + 8).raw, dst: dst.raw, id: b.be32(th + 4),
                           iif: dst.isLinkLocal || dst.isMulticast ? skb.dev : -1, defrag: defrag)
        var q: FragQueue
        if let existing = frags6.queues[key] {
            q = existing
        } else {
            if frags6.memory + skb.truesize > sysctl(.ip6frag_high_thresh) {
                if !defrag { snmp.ip6.ReasmFails += 1 }
                return .failed(drop(.NOT_SPECIFIED, "fragment memory above net.ipv6.ip6frag_high_thresh: no new queue"))
            }
            q = frags6.newQueue()
            schedule(clockNs &+ UInt64(sysctl(.ip6frag_time)) * 1_000_000_000, .frag6Expire(key: key, generation: q.generation))
        }
        if !more {
            if !q.setEnd(end) { return kill6(key, q, skb, reason: .NOT_SPECIFIED, why: "last fragment ends before data already queued") }
        } else {
            if end & 7 != 0 {
                frags6.queues[key] = q
                paramProb(0, 4)
                return .failed(drop(.PROTO_MEM, "fragment of \(end - offset) bytes is not a multiple of 8 and not the last"))
            }
            if let t = q.total, end > t { return kill6(key, q, skb, reason: .NOT_SPECIFIED, why: "fragment past the datagram's end") }
        }
        if end == offset { return kill6(key, q, skb, reason: .NOT_SPECIFIED, why: "empty fragment") }
        switch q.insert(offset, end, skb) {
        case .inserted: frags6.memory += skb.truesize
        case .duplicate:
            frags6.queues[key] = q
            return .failed(drop(.DUP_FRAG, "duplicate of the fragment at offset \(offset)"))
        case .overlap(let lo, let hi):
            return kill6(key, q, skb, reason: .NOT_SPECIFIED, why: "overlaps the fragment at \(lo)..<\(hi): the whole queue is dropped (RFC 5722)")
        }
        if offset == 0 { q.firstSeen = true; q.nhoffset = skb.nhoff }
        guard q.firstSeen, let total = q.total, q.meat == total else {
            frags6.queues[key] = q
            if tracing, skb.packet >= 0 { packets[skb.packet].note = "fragment \(offset)..<\(end) queued for reassembly" }
            return .queued
        }
        // ip6_frag_reasm: the first fragment's headers without its fragment header, every payload in order.
        let maxSize = q.frags.map { $0.skb.len - $0.skb.networkHeader }.max() ?? 0
        frags6.release(key, holding: q)
        let nhoff = q.nhoffset
        let head = q.frags[0].skb
        let hth = head.transportHeader
        var whole = Array(head.data[0..<hth])
        whole[nhoff] = head.data[hth]   // the fragment's next header takes its place
        for f in q.frags { whole.append(contentsOf: f.skb.data[(f.skb.transportHeader + 8)..<f.skb.len]) }
        let hnh = head.networkHeader
        whole.setBE16(hnh + 4, UInt16(truncatingIfNeeded: whole.count - hnh - 40))
        inet_frag_reasm_finish(skb, whole, q, networkHeader: hnh, transportHeader: hth, maxSize: maxSize)
        skb.nhoff = nhoff
        if !defrag { snmp.ip6.ReasmOKs += 1 }
        return .reassembled(skb)
    }

    /// The fragment header of a packet, with where the next-header byte pointing at it sits.
    func ipv6FragmentHeader(_ skb: SkBuff) -> (offset: Int, nhoff: Int)? {
        let b = skb.data, nh = skb.networkHeader
        var next = b[nh + 6], off = nh + 40, prev = nh + 6
        while IPv6ExtensionHeader.isWalkable(next), skb.len >= off + 8 {
            if next == IPProtocol.fragment { return (off, prev) }
            prev = off; next = b[off]; off += (Int(b[off + 1]) + 1) * 8
        }
        return nil
    }

    /// `ipv6frag_thdr_truncated`'s test: the upper-layer header (its first 8 bytes for UDP/ICMPv6, 20 for TCP) is there.
    private func upperLayerHeaderFits(_ l4: (proto: UInt8, offset: Int, fragOff: Int), _ end: Int) -> Bool {
        switch l4.proto {
        case IPProtocol.tcp: return l4.offset + 20 <= end
        case IPProtocol.udp, IPProtocol.icmpv6: return l4.offset + 8 <= end
        default: return l4.offset <= end
        }
    }

    private func kill6(_ key: Frag6Key, _ q: FragQueue, _ skb: SkBuff, reason: DropReason, why: String) -> DefragResult {
        frags6.release(key, holding: q)
        snmp.ip6.ReasmFails += 1
        inet_frag_drop(q, cpu: skb.cpu, reason: reason, why: why)
        return .failed(drop(reason, why))
    }

    /// `ip6_frag_expire`: net.ipv6.ip6frag_time passed; the queue goes, with ICMPv6 time exceeded
    /// (fragment reassembly, code 1) when the first fragment had arrived.
    func ip6_frag_expire(_ key: Frag6Key, generation: Int) {
        guard frags6.queues[key]?.generation == generation, let q = frags6.remove(key) else { return }
        snmp.ip6.ReasmFails += 1
        snmp.ip6.ReasmTimeout += 1
        if q.firstSeen, !key.defrag, let head = q.frags.first?.skb {
            head.cpu = 0
            clocks[0] = max(clocks[0], clockNs)
            icmp6_send(head, type: ICMPv6Repr.timeExceeded, code: 1)
        }
        inet_frag_drop(q, cpu: nil, reason: .FRAG_REASM_TIMEOUT, why: nil)
    }
}
