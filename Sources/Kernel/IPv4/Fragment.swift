import Wire

/// `struct ipq`'s key: the kernel reassembles by (saddr, daddr, id, protocol) (plus vif/user, fixed here).
struct FragKey: Hashable {
    var src: UInt32, dst: UInt32, id: UInt16, proto: UInt8
}

/// One reassembly queue (`struct ipq`): fragments by offset, the expected length once the last arrives.
struct FragQueue {
    var frags: [(start: Int, end: Int, skb: SkBuff)] = []
    /// Total payload length, known once the fragment without MF arrived.
    var total: Int? = nil
    var meat = 0
    var memory = 0
    var generation: Int
    var firstSeen: Bool = false
    /// The source peer's fragment count when this queue last took one (`qp->rid`).
    var rid: UInt32 = 0
    /// IPv6: where the first fragment's next-header byte sits (`fq->nhoffset`).
    var nhoffset = 0

    /// `inet_frag_queue_insert`: a fragment exactly like one held is a duplicate (dropped alone),
    /// one overlapping any is an overlap (the queue dies, RFC 5722); else it is held, in order.
    mutating func insert(_ start: Int, _ end: Int, _ skb: SkBuff) -> FragInsert {
        for f in frags {
            if f.start == start && f.end == end { return .duplicate }
            if start < f.end && f.start < end { return .overlap(f.start, f.end) }
        }
        frags.append((start, end, skb))
        frags.sort { $0.start < $1.start }
        meat += end - start
        memory += skb.truesize
        return .inserted
    }

    /// The last fragment fixes the datagram's end: false when what is held already says otherwise.
    mutating func setEnd(_ end: Int) -> Bool {
        if end < meat || (total != nil && total != end) || frags.contains(where: { $0.end > end }) { return false }
        total = end
        return true
    }
}

enum FragInsert { case inserted, duplicate, overlap(Int, Int) }

/// The fragment queues of one family in the stack's netns, with their memory accounting (`fqdir`).
struct FragmentQueues<Key: Hashable> {
    var queues: [Key: FragQueue] = [:]
    var memory = 0
    /// IPv4: fragments seen per source address (`inet_peer->rid`), for ipfrag_max_dist.
    var peerRid: [UInt32: UInt32] = [:]
    var nextGeneration = 0
    mutating func detach() { for q in queues.values { for f in q.frags { f.skb.packet = -1 } } }
    /// A new queue with the next generation (so a timer for an earlier one of the key is stale).
    mutating func newQueue() -> FragQueue {
        defer { nextGeneration += 1 }
        return FragQueue(generation: nextGeneration)
    }
    /// `inet_frag_kill`: the queue leaves the table and its memory is given back.
    mutating func remove(_ key: Key) -> FragQueue? {
        guard let q = queues[key] else { return nil }
        release(key, holding: q)
        return q
    }
    /// The same for a queue being worked on (`q`, the current copy, holds what it charged).
    mutating func release(_ key: Key, holding q: FragQueue) {
        queues[key] = nil
        memory -= q.memory
    }
}

enum DefragResult {
    case queued
    case failed(PathEnd)
    case reassembled(SkBuff)
}

// net/ipv4/ip_fragment.c
extension Stack {
    /// `ip_defrag` / `ip_frag_queue`: queue the fragment; a duplicate is dropped alone, an overlap
    /// kills the whole queue; over ipfrag_high_thresh nothing new is queued; the last missing
    /// piece reassembles the datagram (`ip_frag_reasm`).
    func ip_defrag(_ skb: SkBuff) -> DefragResult {
        enter(.ip_defrag, skb)
        snmp.ip.ReasmReqds += 1
        let nh = skb.networkHeader, b = skb.data
        let ihl = Int(b[nh] & 0x0f) * 4
        let key = FragKey(src: b.be32(nh + 12), dst: b.be32(nh + 16), id: b.be16(nh + 4), proto: b[nh + 9])
        let flags = b.be16(nh + 6)
        let start = Int(flags & 0x1fff) * 8
        let end = start + (skb.len - nh - ihl)
        let more = flags & IPv4Packet.flagMF != 0
        var q: FragQueue
        if let existing = frags.queues[key] {
            q = existing
        } else {
            if frags.memory + skb.truesize > sysctl(.ipfrag_high_thresh) {
                snmp.ip.ReasmFails += 1
                return .failed(drop(.NOT_SPECIFIED, "fragment memory above ipfrag_high_thresh: no new queue (inet_frag_find fails)"))
            }
            q = frags.newQueue()
            q.rid = frags.peerRid[key.src] ?? 0
            schedule(clockNs &+ UInt64(sysctl(.ipfrag_time)) * 1_000_000_000, .fragExpire(key: key, generation: q.generation))
        }
        // ip_frag_too_far: more than ipfrag_max_dist fragments from this source since this queue's
        // last one means it will likely never complete; what it holds goes (ip_frag_reinit).
        let maxDist = UInt32(sysctl(.ipfrag_max_dist))
        if frags.peerRid.count > 65_536 { frags.peerRid.removeAll() }   // inet_peer's garbage collection, roughly
        let rid = (frags.peerRid[key.src] ?? 0) &+ 1
        frags.peerRid[key.src] = rid
        if maxDist > 0 && !q.frags.isEmpty && rid &- q.rid > maxDist {
            snmp.ip.ReasmFails += 1
            for f in q.frags { f.skb.cpu = skb.cpu; finish(f.skb, .drop(.FRAG_TOO_FAR, tracing ? "ipfrag_max_dist: \(rid &- q.rid) fragments from this source since" : nil)) }
            frags.memory -= q.memory
            q = FragQueue(generation: q.generation)   // ip_frag_reinit: the same queue, emptied
        }
        q.rid = rid
        // Is this the end, and does it agree with what we know?
        if !more {
            if !q.setEnd(end) { return killQueue(key, q, skb, reason: .NOT_SPECIFIED, why: "last fragment ends before data already queued") }
        } else {
            if end & 7 != 0 || (q.total.map { end > $0 } ?? false) {
                return killQueue(key, q, skb, reason: .NOT_SPECIFIED, why: "fragment past the datagram's end")
            }
        }
        if end == start {
            frags.queues[key] = q
            return .failed(drop(.NOT_SPECIFIED, "empty fragment"))
        }
        switch q.insert(start, end, skb) {
        case .inserted: frags.memory += skb.truesize
        case .duplicate:
            frags.queues[key] = q
            return .failed(drop(.DUP_FRAG, "duplicate of the fragment at offset \(start)"))
        case .overlap(let lo, let hi):
            snmp.ip.ReasmOverlaps += 1
            return killQueue(key, q, skb, reason: .NOT_SPECIFIED, why: "overlaps the fragment at \(lo)..<\(hi): the whole queue is dropped")
        }
        if start == 0 { q.firstSeen = true }
        guard let total = q.total, q.meat == total else {
            frags.queues[key] = q
            if tracing, skb.packet >= 0 { packets[skb.packet].note = "fragment \(start)..<\(end) queued for reassembly" }
            return .queued
        }
        // ip_frag_reasm: the head fragment's header, every payload in order.
        let maxSize = q.frags.map { $0.skb.len - $0.skb.networkHeader }.max() ?? 0
        frags.release(key, holding: q)
        let head = q.frags[0].skb
        let hnh = head.networkHeader, hihl = Int(head.data[hnh] & 0x0f) * 4
        var whole = Array(head.data[0..<(hnh + hihl)])
        for f in q.frags {
            let fnh = f.skb.networkHeader, fihl = Int(f.skb.data[fnh] & 0x0f) * 4
            whole.append(contentsOf: f.skb.data[(fnh + fihl)..<f.skb.len])
        }
        whole.setBE16(hnh + 2, UInt16(whole.count - hnh))
        whole.setBE16(hnh + 6, 0)
        whole.setBE16(hnh + 10, 0)
        whole.setBE16(hnh + 10, Checksum.compute(whole, from: hnh, count: hihl))
        inet_frag_reasm_finish(skb, whole, q, networkHeader: hnh, transportHeader: hnh + hihl, maxSize: maxSize)
        snmp.ip.ReasmOKs += 1
        return .reassembled(skb)
    }

    private func killQueue(_ key: FragKey, _ q: FragQueue, _ skb: SkBuff, reason: DropReason, why: String) -> DefragResult {
        frags.release(key, holding: q)
        snmp.ip.ReasmFails += 1
        inet_frag_drop(q, cpu: skb.cpu, reason: reason, why: why)
        return .failed(drop(reason, why))
    }

    /// The skb that completed a datagram carries it on (its trace continues): the whole datagram,
    /// the segments it came in and the largest of them (`frag_max_size`, to fragment it again to);
    /// the other fragments' packets end consumed.
    func inet_frag_reasm_finish(_ skb: SkBuff, _ whole: [UInt8], _ q: FragQueue, networkHeader: Int, transportHeader: Int, maxSize: Int) {
        skb.data = whole
        skb.len = whole.count
        skb.networkHeader = networkHeader
        skb.transportHeader = transportHeader
        skb.ipSummed = .none
        skb.segments = q.frags.count
        skb.fragMaxSize = maxSize
        for f in q.frags where f.skb !== skb && f.skb.packet >= 0 {
            f.skb.cpu = skb.cpu
            settle(f.skb, .consumed, reason: nil, note: tracing ? "reassembled into a later packet of this batch" : nil)
        }
    }

    /// What a dead queue held is dropped, each fragment with the reason (`inet_frag_kill` → kfree).
    /// `cpu`: the one whose softirq kills it (a timer leaves each fragment on its own).
    func inet_frag_drop(_ q: FragQueue, cpu: Int?, reason: DropReason, why: String?) {
        for f in q.frags { if let cpu { f.skb.cpu = cpu }; finish(f.skb, .drop(reason, tracing ? why.map { "reassembly queue killed: \($0)" } : nil)) }
    }

    /// `ip_expire`: ipfrag_time passed; the queue goes, with ICMP time exceeded (fragment
    /// reassembly) when the first fragment had arrived.
    func ip_expire(_ key: FragKey, generation: Int) {
        guard frags.queues[key]?.generation == generation, let q = frags.remove(key) else { return }
        snmp.ip.ReasmFails += 1
        snmp.ip.ReasmTimeout += 1
        if q.firstSeen, let head = q.frags.first?.skb {
            head.cpu = 0
            clocks[0] = max(clocks[0], clockNs)
            icmp_send(head, type: ICMPv4Repr.timeExceeded, code: 1)
        }
        inet_frag_drop(q, cpu: nil, reason: .FRAG_REASM_TIMEOUT, why: nil)
    }

    public var fragmentQueueCount: Int { frags.queues.count }
    public var fragmentMemory: Int { frags.memory }
}
