import NFTables
import Wire

// net/netfilter/xt_recent.c: iptables' `-m recent` lists, per name, kept by the stack across
// ruleset changes (the kernel keeps a list while any rule names it; a replacement's rules take
// it over); checkpoints keep them (StackRuntime.recent).

/// One named list: addresses in use order (the least recently used first, dropped past
/// `ip_list_tot`), each with a ring of its packets' times and the TTL of the last.
final class XtRecentTable {
    static let ip_list_tot = 100, ip_pkt_list_tot = 20
    struct Entry { var stamps: [UInt64]; var index = 1, nstamps = 1; var ttl: UInt8 }
    var entries: [UInt32: Entry] = [:]
    var lru: [UInt32] = []
    /// The ring's size less one: a power of two at least ip_pkt_list_tot and the largest
    /// --hitcount of the rules naming the list (recent_mt_check's nstamps_max_mask).
    var nstampsMaxMask = 31

    func touch(_ a: UInt32) {
        if let k = lru.firstIndex(of: a) { lru.remove(at: k) }
        lru.append(a)
    }

    func remove(_ a: UInt32) {
        entries[a] = nil
        lru.removeAll { $0 == a }
    }

    /// `recent_entry_init`: past ip_list_tot the least recently used goes; one stamp now.
    func add(_ a: UInt32, ttl: UInt8, now: UInt64) {
        if entries.count >= Self.ip_list_tot, let old = lru.first { remove(old) }
        var stamps = [UInt64](repeating: 0, count: nstampsMaxMask + 1)
        stamps[0] = now
        entries[a] = Entry(stamps: stamps, ttl: ttl)
        lru.append(a)
    }

    /// `recent_entry_update`: the next stamp of the ring.
    func update(_ a: UInt32, now: UInt64) {
        guard var e = entries[a] else { return }
        e.index &= nstampsMaxMask
        e.stamps[e.index] = now
        e.index += 1
        e.nstamps = max(e.nstamps, e.index)
        entries[a] = e
        touch(a)
    }
}

extension Stack {
    /// `recent_mt`: whether the packet matches, as the match's mode, time window and hit count
    /// say. `outDev`: the hook's output device (none before routing).
    func recent_mt(_ x: NFXtRecent, _ skb: SkBuff, outDev: Int?) -> Bool {
        let nh = skb.networkHeader
        let addr = skb.data.be32(nh + (x.rdest ? 16 : 12)) & x.mask
        // The TTL as seen before forwarding: one more with an output device and no socket.
        var ttl = skb.data[nh + 8]
        if outDev != nil && skb.sock == nil { ttl &+= 1 }
        let t = xtRecent[x.name] ?? { let t = XtRecentTable(); xtRecent[x.name] = t; return t }()
        // recent_mt_check: a rule's hit count past the ring grows it (and empties the list).
        let mask = Int(min(max(UInt32(XtRecentTable.ip_pkt_list_tot), x.hitcount), 256)).nextPowerOfTwo - 1
        if mask > t.nstampsMaxMask { t.entries = [:]; t.lru = []; t.nstampsMaxMask = mask }
        let now = clocks[skb.cpu]
        var ret = x.invert
        // recent_entry_lookup: with --rttl the TTL must be the entry's (0 on either side: any).
        guard let e = t.entries[addr], !x.rttl || ttl == e.ttl || ttl == 0 || e.ttl == 0 else {
            guard x.mode == .set else { return ret }
            t.add(addr, ttl: ttl, now: now)
            return !ret
        }
        switch x.mode {
        case .set: ret.toggle()
        case .remove:
            t.remove(addr)
            return !ret
        case .rcheck, .update:
            // Stamps before this are outside the window (none before the clock's start).
            let window = UInt64(x.seconds) * 1_000_000_000
            let since = now > window ? now - window : 0
            var hits: UInt32 = 0
            for s in e.stamps[0..<e.nstamps] {
                if x.seconds != 0 && since > s { continue }
                hits += 1
                if x.hitcount == 0 || hits >= x.hitcount { ret.toggle(); break }
            }
            // recent_entry_reap: the least recently used entry goes if its last stamp is older
            // than the window (not the one about to be updated).
            if x.reap, let oldest = t.lru.first, let o = t.entries[oldest], !(oldest == addr && x.mode == .update && ret) {
                if since > o.stamps[(o.index - 1) & t.nstampsMaxMask] { t.remove(oldest) }
            }
        }
        if x.mode == .set || (x.mode == .update && ret) {
            t.update(addr, now: now)
            t.entries[addr]?.ttl = ttl
        }
        return ret
    }
}

private extension Int {
    var nextPowerOfTwo: Int { self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}
