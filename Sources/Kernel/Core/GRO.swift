import Wire

/// An skb GRO holds, with what later segments of its flow must match.
struct GROHeld {
    var skb: SkBuff
    var tcpOffset: Int      // from skb.data start
    var payloadOffset: Int  // first payload byte of the first segment
    var mss: Int            // gso_size: payload length of the first segment
    var nextSeq: UInt32
    var nextID: UInt16
    var atomic: Bool        // DF set: IDs need not be consecutive
    var fixedID = true      // every merged segment had the first one's ID
}

/// `napi->gro_hash`: GRO_HASH_BUCKETS buckets of at most MAX_GRO_SKBS held skbs, by `skb->hash & 7`.
struct GROTable {
    static let buckets = 8, maxPerBucket = 8
    /// GRO_LEGACY_MAX_SIZE: a merged packet stays below 64 KiB.
    static let maxSize = 65536
    var lists: [[GROHeld]] = Array(repeating: [], count: GROTable.buckets)
    var isEmpty: Bool {
        for l in lists where !l.isEmpty { return false }
        return true
    }
}

// net/core/gro.c, net/ipv4/af_inet.c (inet_gro_receive), net/ipv6/ip6_offload.c (ipv6_gro_receive),
// net/ipv4/tcp_offload.c (tcp_gro_receive)
extension Stack {
    /// `napi_gro_receive`: TCP segments (over IPv4 or IPv6) of one flow are merged while the kernel would merge them;
    /// anything else (and anything that must flush) goes on to `netif_receive_skb`.
    func napi_gro_receive(_ skb: SkBuff, _ q: RXQueue, _ sd: SoftnetData) -> PathEnd {
        enter(.napi_gro_receive, skb)
        guard let seg = groCandidate(skb) else { return gro_normal_one(skb, q) }
        enter(.dev_gro_receive, skb)
        let bucket = Int(skb.hash & 7)
        let forceFlush = seg.flags.contains(.urg) || seg.flags.contains(.psh) || seg.flags.contains(.rst)
            || seg.flags.contains(.syn) || seg.flags.contains(.fin)
        if let i = q.gro.lists[bucket].firstIndex(where: { sameFlow($0, skb, seg) }) {
            var p = q.gro.lists[bucket][i]
            let held = p.skb
            let mismatch = !canMerge(p, skb, seg)
            if mismatch || held.len + seg.payloadLen >= GROTable.maxSize {
                // Flush what is held; this segment starts over (held if it may be).
                q.gro.lists[bucket].remove(at: i)
                groComplete(held, q, sd)
                if forceFlush || seg.payloadLen == 0 { return gro_normal_one(skb, q) }
                return groHold(skb, seg, q, bucket, sd)
            }
            // skb_gro_receive: append the payload; PSH and FIN carry over to the held header.
            held.data.removeSubrange(held.len..<held.data.count)
            held.data.append(contentsOf: skb.data[seg.payloadOffset..<(seg.payloadOffset + seg.payloadLen)])
            held.len = held.data.count
            held.data[p.tcpOffset + 13] |= seg.flags.intersection([.psh, .fin]).rawValue
            held.segments += 1
            held.gsoSize = p.mss
            if !seg.v6, seg.id != held.data.be16(held.networkHeader + 4) { p.fixedID = false }
            held.gsoFixedID = p.atomic && p.fixedID
            if skb.packet >= 0, tracing { packets[skb.packet].note = "merged by GRO into the packet whose trace is #\(held.packet + 1) of this batch" }
            devices[skb.dev].stats.rx_gro_packets += 1
            devices[skb.dev].stats.rx_gro_bytes += seg.payloadLen
            p.nextSeq = seg.seq &+ UInt32(seg.payloadLen)
            p.nextID = seg.id &+ 1
            q.gro.lists[bucket][i] = p
            if skb.packet >= 0 {
                enter(.consume_skb, skb)
                packets[skb.packet].outcome = .consumed
                packets[skb.packet].endNs = clocks[skb.cpu]
            }
            // A short segment ends the burst; PSH/FIN/URG/RST/SYN flush at once.
            if forceFlush || seg.payloadLen < p.mss {
                q.gro.lists[bucket].remove(at: i)
                groComplete(held, q, sd)
            }
            return .stolen
        }
        if forceFlush || seg.payloadLen == 0 { return gro_normal_one(skb, q) }
        return groHold(skb, seg, q, bucket, sd)
    }

    private func groHold(_ skb: SkBuff, _ seg: GROSegment, _ q: RXQueue, _ bucket: Int, _ sd: SoftnetData) -> PathEnd {
        if q.gro.lists[bucket].count >= GROTable.maxPerBucket {
            let oldest = q.gro.lists[bucket].removeFirst()
            groComplete(oldest.skb, q, sd)
        }
        skb.ipSummed = .unnecessary
        q.gro.lists[bucket].append(GROHeld(skb: skb, tcpOffset: seg.tcpOffset, payloadOffset: seg.payloadOffset, mss: seg.payloadLen,
                                           nextSeq: seg.seq &+ UInt32(seg.payloadLen), nextID: seg.id &+ 1, atomic: seg.df))
        return .stolen
    }

    /// `napi_gro_flush`: every held skb goes up the stack, oldest first.
    func napi_gro_flush(_ q: RXQueue, _ sd: SoftnetData) {
        guard !q.gro.isEmpty else { return }
        for b in 0..<GROTable.buckets {
            let list = q.gro.lists[b]
            q.gro.lists[b].removeAll()
            for h in list { groComplete(h.skb, q, sd) }
        }
    }

    /// `inet_gro_complete` / `ipv6_gro_complete` + `gro_normal_one`: fix the IPv4 length and
    /// checksum (the IPv6 payload length) of the merged packet (the TCP checksum is covered by
    /// CHECKSUM_UNNECESSARY), then receive it.
    private func groComplete(_ skb: SkBuff, _ q: RXQueue, _ sd: SoftnetData) {
        skb.cpu = sd.cpu
        enter(.napi_gro_flush, skb)
        if skb.segments > 1 && skb.protocolType == EtherType.ipv6 {
            skb.data.setBE16(skb.networkHeader + 4, UInt16(skb.len - skb.networkHeader - 40))
        } else if skb.segments > 1 {
            let nh = skb.networkHeader
            skb.data.setBE16(nh + 2, UInt16(skb.len - nh))
            skb.ip_send_check()
        }
        finish(skb, gro_normal_one(skb, q))
    }

    /// `gro_normal_one`: what goes up unmerged waits on the NAPI's rx_list until gro_normal_batch
    /// (8) segments are there, or the poll ends; then `gro_normal_list` passes the batch on.
    func gro_normal_one(_ skb: SkBuff, _ q: RXQueue) -> PathEnd {
        q.rxList.append(skb)
        q.rxCount += skb.segments
        if q.rxCount >= Stack.groNormalBatch { gro_normal_list(q) }
        return .stolen
    }

    /// `gro_normal_list` → `netif_receive_skb_list_internal`: the batch, in order.
    func gro_normal_list(_ q: RXQueue) {
        // Two buffers taking turns: the list is walked while a receive may append to the queue's.
        var list: [SkBuff] = []
        swap(&list, &q.rxSpare)
        swap(&list, &q.rxList)
        q.rxCount = 0
        for skb in list { finish(skb, netif_receive_skb(skb)) }
        list.removeAll(keepingCapacity: true)
        q.rxSpare = list
    }

    /// net.core.gro_normal_batch.
    static let groNormalBatch = 8

    struct GROSegment {
        var tcpOffset: Int, payloadOffset: Int, payloadLen: Int
        var seq: UInt32, ack: UInt32, flags: TCPFlags, id: UInt16, df: Bool
        /// TTL and TOS; over IPv6 the hop limit and traffic class.
        var ttl: UInt8, tos: UInt8
        var v6 = false
    }

    /// An IPv4/TCP segment GRO may hold: IHL 5 (no options), not a fragment, header checksum good,
    /// TCP checksum good (offloaded or verified here), whole.
    private func groCandidate(_ skb: SkBuff) -> GROSegment? {
        if skb.protocolType == EtherType.ipv6 { return groCandidate6(skb) }
        guard skb.protocolType == EtherType.ipv4 else { return nil }
        let nh = skb.networkHeader, b = skb.data
        guard skb.len >= nh + 40, b[nh] == 0x45, b[nh + 9] == IPProtocol.tcp, b.be16(nh + 6) & 0x3fff == 0,
              Checksum.compute(b, from: nh, count: 20) == 0 else { return nil }
        let tot = Int(b.be16(nh + 2))
        guard tot >= 40, skb.len >= nh + tot else { return nil }
        let th = nh + 20
        let doff = Int(b[th + 12] >> 4) * 4
        guard doff >= 20, tot >= 20 + doff else { return nil }
        if skb.ipSummed != .unnecessary {
            guard l4ChecksumVerifies(skb) else { return nil }
            // skb_gro_incr_csum_unnecessary: checked here, so tcp_v4_rcv need not check again.
            skb.ipSummed = .unnecessary
        }
        skb.len = nh + tot
        return GROSegment(tcpOffset: th, payloadOffset: th + doff, payloadLen: tot - 20 - doff, seq: b.be32(th + 4), ack: b.be32(th + 8),
                          flags: TCPFlags(rawValue: b[th + 13]), id: b.be16(nh + 4), df: b.be16(nh + 6) & 0x4000 != 0,
                          ttl: b[nh + 8], tos: b[nh + 1])
    }

    /// A TCP/IPv6 segment GRO may hold (`ipv6_gro_receive`, here without extension headers):
    /// version 6, TCP right after the fixed header, the payload length within the frame, the TCP
    /// checksum good. No IPv6 packet has an ID: every one is "atomic".
    private func groCandidate6(_ skb: SkBuff) -> GROSegment? {
        let nh = skb.networkHeader, b = skb.data
        guard skb.len >= nh + 60, b[nh] >> 4 == 6, b[nh + 6] == IPProtocol.tcp else { return nil }
        let plen = Int(b.be16(nh + 4))
        guard plen >= 20, skb.len >= nh + 40 + plen else { return nil }
        let th = nh + 40
        let doff = Int(b[th + 12] >> 4) * 4
        guard doff >= 20, plen >= doff else { return nil }
        if skb.ipSummed != .unnecessary {
            guard l4ChecksumVerifies(skb) else { return nil }
            skb.ipSummed = .unnecessary
        }
        skb.len = nh + 40 + plen
        return GROSegment(tcpOffset: th, payloadOffset: th + doff, payloadLen: plen - doff, seq: b.be32(th + 4), ack: b.be32(th + 8),
                          flags: TCPFlags(rawValue: b[th + 13]), id: 0, df: true, ttl: b[nh + 7], tos: UInt8(truncatingIfNeeded: b.be16(nh) >> 4), v6: true)
    }

    /// Same device, VLAN and Ethernet header, same addresses and ports (`gro_list_prepare`,
    /// `inet_gro_receive`/`ipv6_gro_receive` (version and flow label too), `tcp_gro_receive`).
    private func sameFlow(_ p: GROHeld, _ skb: SkBuff, _ seg: GROSegment) -> Bool {
        let a = p.skb.data, b = skb.data
        guard p.skb.dev == skb.dev, p.skb.hash == skb.hash, p.skb.networkHeader == skb.networkHeader, p.skb.protocolType == skb.protocolType else { return false }
        for k in 0..<skb.networkHeader where a[k] != b[k] { return false }
        let nh = skb.networkHeader
        if seg.v6 {
            guard a.be32(nh) & 0xf00f_ffff == b.be32(nh) & 0xf00f_ffff else { return false }
            for k in 8..<40 where a[nh + k] != b[nh + k] { return false }
        } else {
            for k in 12..<20 where a[nh + k] != b[nh + k] { return false }
        }
        for k in 0..<4 where a[p.tcpOffset + k] != b[seg.tcpOffset + k] { return false }
        return true
    }

    /// The flush rules of `inet_gro_receive` and `tcp_gro_receive` for a segment of a held flow.
    private func canMerge(_ p: GROHeld, _ skb: SkBuff, _ seg: GROSegment) -> Bool {
        let a = p.skb.data, b = skb.data
        let nh = p.skb.networkHeader
        if seg.v6 {
            // ipv6_gro_receive: traffic class and hop limit must match.
            guard a[nh + 7] == seg.ttl, UInt8(truncatingIfNeeded: a.be16(nh) >> 4) == seg.tos else { return false }
        } else {
            guard a[nh + 8] == seg.ttl, a[nh + 1] == seg.tos else { return false }
        }
        if !(p.atomic && seg.df) && seg.id != p.nextID { return false }
        let heldFlags = TCPFlags(rawValue: a[p.tcpOffset + 13])
        if seg.flags.contains(.cwr) { return false }
        let ignore: TCPFlags = [.cwr, .fin, .psh]
        if heldFlags.subtracting(ignore) != seg.flags.subtracting(ignore) { return false }
        if a.be32(p.tcpOffset + 8) != seg.ack { return false }
        let heldOpts = a[(p.tcpOffset + 20)..<p.payloadOffset], opts = b[(seg.tcpOffset + 20)..<seg.payloadOffset]
        if !heldOpts.elementsEqual(opts) { return false }
        if seg.payloadLen > p.mss { return false }
        if seg.seq != p.nextSeq { return false }
        return true
    }
}
