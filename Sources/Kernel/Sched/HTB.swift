// net/sched/sch_htb.c: hierarchical token buckets. Classes borrow up to their ceil from
// ancestors with tokens to spare; leaves of a priority are served round robin by quantum.

/// htb's qdisc options (`tc_htb_glob`): the default class's minor, r2q, direct_qlen.
public struct HTBSpec: Sendable, Equatable {
    public var defcls: UInt32
    public var r2q: Int
    /// nil: the device's txqueuelen (at least 2).
    public var directQlen: Int?
    public init(defcls: UInt32 = 0, r2q: Int = 10, directQlen: Int? = nil) { self.defcls = defcls; self.r2q = r2q; self.directQlen = directQlen }
}

/// An htb class as tc sets it: rates in bytes/s, burst and cburst in bytes (tc sends them as
/// psched ticks of 64 ns: `ticks`), prio, quantum (nil: rate / r2q).
public struct HTBClassSpec: Sendable, Equatable {
    public var rate: UInt64, ceil: UInt64
    public var burst: Int, cburst: Int
    public var prio: Int
    public var quantum: Int?
    public init(rate: UInt64, ceil: UInt64, burst: Int, cburst: Int, prio: Int = 0, quantum: Int? = nil) {
        self.rate = rate; self.ceil = ceil; self.burst = burst; self.cburst = cburst; self.prio = prio; self.quantum = quantum
    }
    /// tc's `tc_calc_xmittime`: the time `size` bytes take at `rate`, in whole µs, then in ticks
    /// (15.625 a µs), each step truncated as tc's unsigned arithmetic does.
    public static func ticks(rate: UInt64, size: Int) -> UInt32 {
        guard rate > 0 else { return 0 }
        let us = 1_000_000 * Double(size) / Double(rate)
        let whole = us >= Double(UInt32.max) ? Double(UInt32.max) : us.rounded(.down)
        let t = whole * 15.625
        return t >= Double(UInt32.max) ? UInt32.max : UInt32(t)
    }
    public var buffer: UInt32 { HTBClassSpec.ticks(rate: rate, size: burst) }
    public var cbuffer: UInt32 { HTBClassSpec.ticks(rate: ceil, size: cburst) }
}

/// A class of a device's classful root as `tc class add` made it.
public struct TCClassConfig: Sendable, Equatable {
    public var dev: String
    /// `MAJ:MIN` as one u32 (MAJ the qdisc's handle).
    public var classid: UInt32
    /// The parent class, or nil for a class at the qdisc's root.
    public var parent: UInt32?
    public var spec: HTBClassSpec
    public init(dev: String, classid: UInt32, parent: UInt32?, spec: HTBClassSpec) { self.dev = dev; self.classid = classid; self.parent = parent; self.spec = spec }
}

/// A class's counters as `tc -s class show` prints them.
public struct HTBClassInfo: Sendable {
    public var classid: UInt32, parent: UInt32?, leafHandle: UInt32?
    public var level: Int
    public var spec: HTBClassSpec
    public var quantum: Int
    public var bytes = 0, packets = 0, drops = 0, overlimits = 0, backlog = 0, qlen = 0
    public var lends = 0, borrows = 0, giants = 0
    /// Tokens in psched ticks (`PSCHED_NS2TICKS`), as the kernel reports them.
    public var tokens = 0, ctokens = 0
}

final class HTBClass {
    enum Mode: String { case cantSend, mayBorrow, canSend }
    let classid: UInt32
    weak var parent: HTBClass?
    var children: [HTBClass] = []
    /// 0 for a leaf; an inner class one below its parent, from TC_HTB_MAXDEPTH - 1 at the top.
    var level = 0
    let spec: HTBClassSpec
    let rate: PSchedRate, ceil: PSchedRate
    let buffer: Int64, cbuffer: Int64
    let mbuffer: Int64 = 60_000_000_000
    var tokens: Int64, ctokens: Int64
    var tc: UInt64
    var cmode = Mode.canSend
    var pqKey: UInt64 = 0
    var inWait = false
    var prioActivity = 0
    // A leaf: its qdisc (a pfifo of txqueuelen unless grafted), DRR state.
    var leaf: Qdisc?
    var leafHandle: UInt32 = 0
    let quantum: Int, prio: Int
    var deficit = [Int](repeating: 0, count: HTB.maxDepth)
    // An inner class: per priority, its children that borrow (sorted by classid) and the DRR pointer.
    var feed = [[HTBClass]](repeating: [], count: HTB.numPrio)
    var feedPtr = [HTBClass?](repeating: nil, count: HTB.numPrio)
    var lastPtrId = [UInt32](repeating: 0, count: HTB.numPrio)
    var bytes = 0, packets = 0, drops = 0, overlimits = 0, lends = 0, borrows = 0

    init(classid: UInt32, spec: HTBClassSpec, r2q: Int, now: UInt64) {
        self.classid = classid; self.spec = spec
        rate = PSchedRate(bytesPerSec: spec.rate); ceil = PSchedRate(bytesPerSec: spec.ceil)
        buffer = Int64(spec.buffer) << 6; cbuffer = Int64(spec.cbuffer) << 6
        tokens = buffer; ctokens = cbuffer; tc = now
        // htb_change_class: rate / r2q clamped to 1000...200000 unless given; prio at most 7.
        quantum = spec.quantum ?? min(max(Int(min(spec.rate / UInt64(max(r2q, 1)), UInt64(Int32.max))), 1000), 200_000)
        prio = min(spec.prio, HTB.numPrio - 1)
    }
}

final class HTB: Qdisc {
    static let maxDepth = 8, numPrio = 8
    let opts: HTBSpec
    let directQlen: Int
    private var direct = Deque<SkBuff>()
    private(set) var directPackets = 0
    private(set) var classes: [HTBClass] = []
    /// The class hash as the kernel walks it for `tc class show` (Qdisc_class_hash: 4 buckets,
    /// doubled past 3/4 full; each bucket newest first).
    private var hash: [[HTBClass]] = Array(repeating: [], count: 4)
    private var row = [[[HTBClass]]](repeating: [[HTBClass]](repeating: [], count: numPrio), count: maxDepth)
    private var rowPtr = [[HTBClass?]](repeating: [HTBClass?](repeating: nil, count: numPrio), count: maxDepth)
    private var rowLastPtrId = [[UInt32]](repeating: [UInt32](repeating: 0, count: numPrio), count: maxDepth)
    private var rowMask = [Int](repeating: 0, count: maxDepth)
    private var waitPQ = [[HTBClass]](repeating: [], count: maxDepth)
    private var nearEvCache = [UInt64](repeating: 0, count: maxDepth)
    private var now: UInt64 = 0
    private var nextWake: UInt64?

    init(handle: UInt32, spec: HTBSpec, txqueuelen: Int) {
        opts = spec
        directQlen = spec.directQlen ?? max(txqueuelen, 2)
        super.init(handle: handle, spec: .htb(spec))
    }

    // MARK: classes

    private var byID: [UInt32: HTBClass] = [:]
    func find(_ classid: UInt32) -> HTBClass? { byID[classid] }

    /// `htb_change_class` for a new class: a leaf with a pfifo of txqueuelen; a parent that was a
    /// leaf becomes inner (what its qdisc held is dropped).
    func addClass(_ c: TCClassConfig, txqueuelen: Int, now: UInt64) -> [SkBuff] {
        let cl = HTBClass(classid: c.classid, spec: c.spec, r2q: opts.r2q, now: now)
        var freed: [SkBuff] = []
        if let pid = c.parent, let parent = find(pid) {
            if parent.level == 0 {
                if let q = parent.leaf {
                    stats.qlen -= q.stats.qlen; stats.backlog -= q.stats.backlog
                    freed = q.reset()
                }
                if parent.prioActivity != 0 { deactivate(parent) }
                if parent.cmode != .canSend { removeFromWait(parent); parent.cmode = .canSend }
                parent.level = (parent.parent?.level ?? HTB.maxDepth) - 1
                parent.leaf = nil
            }
            cl.parent = parent
            parent.children.append(cl)
        }
        cl.leaf = FIFOQdisc(handle: 0, spec: .pfifo(limit: nil), txqueuelen: txqueuelen, psched_mtu: 0)
        classes.append(cl)
        byID[cl.classid] = cl
        hash[HTB.hashIndex(cl.classid, hash.count - 1)].insert(cl, at: 0)
        if classes.count * 4 > hash.count * 3 {
            let old = hash
            hash = Array(repeating: [], count: old.count * 2)
            for bucket in old { for x in bucket { hash[HTB.hashIndex(x.classid, hash.count - 1)].insert(x, at: 0) } }
        }
        return freed
    }

    static func hashIndex(_ id: UInt32, _ mask: Int) -> Int {
        var h = id
        h ^= h >> 8
        h ^= h >> 4
        return Int(h) & mask
    }

    /// `htb_graft`: a leaf's qdisc replaced; what the old one held is dropped.
    func graft(_ q: Qdisc, on classid: UInt32) -> [SkBuff] {
        guard let cl = find(classid), cl.level == 0, let old = cl.leaf else { return [] }
        stats.qlen -= old.stats.qlen; stats.backlog -= old.stats.backlog
        let freed = old.reset()
        if cl.prioActivity != 0 { deactivate(cl) }
        cl.leaf = q
        cl.leafHandle = q.handle
        return freed
    }

    var classInfo: [HTBClassInfo] {
        hash.flatMap { $0 }.map { c in
            var i = HTBClassInfo(classid: c.classid, parent: c.parent?.classid, leafHandle: c.leafHandle == 0 ? nil : c.leafHandle, level: c.level,
                                 spec: c.spec, quantum: c.quantum)
            i.bytes = c.bytes; i.packets = c.packets; i.drops = c.drops; i.overlimits = c.overlimits
            i.backlog = c.leaf?.stats.backlog ?? 0; i.qlen = c.leaf?.stats.qlen ?? 0
            i.lends = c.lends; i.borrows = c.borrows
            i.tokens = Int(clamping: c.tokens >> 6); i.ctokens = Int(clamping: c.ctokens >> 6)
            return i
        }
    }

    // MARK: enqueue

    /// `htb_classify` without filters: `skb->priority` naming the qdisc goes direct, naming a
    /// leaf goes there; else the default class, or direct when it is missing or not a leaf.
    private func classify(_ skb: SkBuff) -> HTBClass? {
        if skb.priority == handle << 16 { return nil }
        if let cl = find(skb.priority), cl.level == 0 { return cl }
        guard let cl = find(handle << 16 | opts.defcls), cl.level == 0 else { return nil }
        return cl
    }

    /// `htb_enqueue`.
    override func enqueue(_ skb: SkBuff, len: Int, now: UInt64) -> EnqueueResult {
        if let cl = classify(skb), let q = cl.leaf {
            if case .drop(let r) = q.enqueue(skb, len: len, now: now) {
                stats.drops += 1; cl.drops += 1
                return .drop(r)
            }
            if !q.toFree.isEmpty { toFree += q.toFree; q.toFree = [] }
            activate(cl)
        } else {
            guard direct.count < directQlen else { stats.drops += 1; return .drop(.QDISC_DROP) }
            direct.append(skb)
            directPackets += 1
        }
        stats.backlog += len; stats.qlen += 1
        return .success
    }

    // MARK: dequeue

    /// `htb_dequeue`: direct packets first; then level by level from the leaves up, priority by
    /// priority, the classes that may send at that level (a leaf on its own rate, an ancestor
    /// lending); nothing: the watchdog for the next mode change.
    override func dequeue(now: UInt64) -> SkBuff? {
        if let skb = direct.popFirst() { return sent(skb) }
        guard stats.qlen > 0 else { nextWake = nil; return nil }
        self.now = now
        var nextEvent = now &+ 5_000_000_000
        for level in 0..<HTB.maxDepth {
            var event = nearEvCache[level]
            if now >= event {
                event = doEvents(level)
                if event == 0 { event = now &+ 1_000_000_000 }
                nearEvCache[level] = event
            }
            if nextEvent > event { nextEvent = event }
            let mask = rowMask[level]
            for prio in 0..<HTB.numPrio where mask & (1 << prio) != 0 && !row[level][prio].isEmpty {
                if let skb = dequeueTree(prio: prio, level: level) { nextWake = nil; return sent(skb) }
            }
        }
        nextWake = max(nextEvent, now &+ 1)
        return nil
    }

    private func sent(_ skb: SkBuff) -> SkBuff {
        stats.bytes += skb.qdiscPktLen; stats.packets += skb.gsoSegs
        stats.backlog -= skb.qdiscPktLen; stats.qlen -= 1
        return skb
    }

    override var watchdogNs: UInt64? { stats.qlen > 0 ? nextWake : nil }

    /// `htb_dequeue_tree`: the leaf the DRR pointers lead to; its deficit pays for the packet,
    /// and when spent the pointer moves on.
    private func dequeueTree(prio: Int, level: Int) -> SkBuff? {
        var start = lookupLeaf(prio: prio, level: level)
        var cl = start
        var skb: SkBuff?
        while let c = cl {
            if c.leaf!.stats.qlen == 0 {
                deactivate(c)
                guard rowMask[level] & (1 << prio) != 0 else { return nil }
                let next = lookupLeaf(prio: prio, level: level)
                if c === start { start = next }
                cl = next
                continue
            }
            skb = c.leaf!.dequeue(now: now)
            if !c.leaf!.toFree.isEmpty { toFree += c.leaf!.toFree; c.leaf!.toFree = [] }
            if skb != nil { break }
            // Not work-conserving (a throttled child): on to the next.
            nextNode(level > 0 ? .feed(c.parent!, prio) : .row(0, prio))
            cl = lookupLeaf(prio: prio, level: level)
            if cl === start { break }
        }
        guard let skb, let c = cl else { return nil }
        let len = skb.qdiscPktLen
        c.bytes += len; c.packets += skb.gsoSegs
        c.deficit[level] -= len
        if c.deficit[level] < 0 {
            c.deficit[level] += c.quantum
            nextNode(level > 0 ? .feed(c.parent!, prio) : .row(0, prio))
        }
        if c.leaf!.stats.qlen == 0 { deactivate(c) }
        charge(c, level: level, bytes: len, segs: skb.gsoSegs)
        return skb
    }

    // MARK: tokens and modes

    /// `htb_charge_class`: the leaf and its ancestors pay: rate tokens at and above the level it
    /// was served at (the lender counts a lend), ceil tokens everywhere (those below borrow).
    private func charge(_ leaf: HTBClass, level: Int, bytes: Int, segs: Int) {
        var c: HTBClass? = leaf
        while let cl = c {
            var diff = min(Int64(now &- cl.tc), cl.mbuffer)
            if cl.level >= level {
                if cl.level == level { cl.lends += 1 }
                cl.tokens = HTB.accnt(cl.tokens, diff, cl.buffer, cl.rate, bytes, cl.mbuffer)
            } else {
                cl.borrows += 1
                cl.tokens += diff
            }
            cl.ctokens = HTB.accnt(cl.ctokens, diff, cl.cbuffer, cl.ceil, bytes, cl.mbuffer)
            cl.tc = now
            let old = cl.cmode
            diff = 0
            changeMode(cl, &diff)
            if old != cl.cmode {
                if old != .canSend { removeFromWait(cl) }
                if cl.cmode != .canSend { addToWait(cl, delay: diff) }
            }
            if cl.level > 0 { cl.bytes += bytes; cl.packets += segs }
            c = cl.parent
        }
    }

    /// `htb_accnt_tokens` / `htb_accnt_ctokens`.
    private static func accnt(_ tokens: Int64, _ diff: Int64, _ buffer: Int64, _ rate: PSchedRate, _ bytes: Int, _ mbuffer: Int64) -> Int64 {
        var toks = min(diff + tokens, buffer)
        toks -= Int64(clamping: rate.l2t(bytes))
        if toks <= -mbuffer { toks = 1 - mbuffer }
        return toks
    }

    /// `htb_class_mode`: the mode at `t_c + diff`; when not CAN_SEND, `diff` becomes the time
    /// until that changes.
    private func classMode(_ cl: HTBClass, _ diff: inout Int64) -> HTBClass.Mode {
        var toks = cl.ctokens + diff
        if toks < 0 { diff = -toks; return .cantSend }
        toks = cl.tokens + diff
        if toks >= 0 { return .canSend }
        diff = -toks
        return .mayBorrow
    }

    /// `htb_change_class_mode`: a class that can no longer send counts an overlimit; its place
    /// in rows and feeds follows its mode.
    private func changeMode(_ cl: HTBClass, _ diff: inout Int64) {
        let new = classMode(cl, &diff)
        guard new != cl.cmode else { return }
        if new == .cantSend { cl.overlimits += 1; stats.overlimits += 1 }
        if cl.prioActivity != 0 {
            if cl.cmode != .cantSend { deactivatePrios(cl) }
            cl.cmode = new
            if new != .cantSend { activatePrios(cl) }
        } else {
            cl.cmode = new
        }
    }

    /// `htb_do_events`: mode changes due by now; answers the next one's time (0: none).
    private func doEvents(_ level: Int) -> UInt64 {
        while let cl = waitPQ[level].first {
            if cl.pqKey > now { return cl.pqKey }
            waitPQ[level].removeFirst()
            cl.inWait = false
            var diff = min(Int64(now &- cl.tc), cl.mbuffer)
            changeMode(cl, &diff)
            if cl.cmode != .canSend { addToWait(cl, delay: diff) }
        }
        return 0
    }

    /// `htb_add_to_wait_tree`: after those due at the same time.
    private func addToWait(_ cl: HTBClass, delay: Int64) {
        cl.pqKey = now &+ UInt64(max(delay, 0))
        if cl.pqKey == now { cl.pqKey += 1 }
        if nearEvCache[cl.level] > cl.pqKey { nearEvCache[cl.level] = cl.pqKey }
        let i = waitPQ[cl.level].firstIndex { $0.pqKey > cl.pqKey } ?? waitPQ[cl.level].count
        waitPQ[cl.level].insert(cl, at: i)
        cl.inWait = true
    }

    /// Where an idle class waits for its mode to change (its place in its level's queue), or nil.
    func waitPlace(_ cl: HTBClass) -> Int? { cl.inWait ? waitPQ[cl.level].firstIndex { $0 === cl } : nil }

    /// A checkpoint's mode for a class, and its place in the wait queue: classes put back in the
    /// order of their places, before any is active again (`restoreActive`).
    func restoreWaiting(_ waiting: [(cl: HTBClass, mode: HTBClass.Mode, pqKey: UInt64?)]) {
        for (cl, mode, key) in waiting {
            removeFromWait(cl)
            cl.cmode = mode
            guard let key else { continue }
            cl.pqKey = key
            waitPQ[cl.level].append(cl)
            cl.inWait = true
        }
    }

    private func removeFromWait(_ cl: HTBClass) {
        guard cl.inWait else { return }
        waitPQ[cl.level].removeAll { $0 === cl }
        cl.inWait = false
    }

    // MARK: checkpoints

    /// The scheduler's state besides the classes' modes, buckets, deficits and feed pointers
    /// (kept with each class): the direct queue, the rows' DRR pointers (class ids, 0 for none),
    /// the level event cache and the watchdog's deadline. Which classes sit in the rows and feeds
    /// follows from the leaves that hold packets and the modes, so it is made again, not kept.
    struct SchedulerState {
        var direct: [SkBuff], directPackets: Int
        var rowPtr: [[UInt32]], rowLastPtrId: [[UInt32]]
        var nearEvCache: [UInt64], nextWake: UInt64?, now: UInt64
    }

    var schedulerState: SchedulerState {
        .init(direct: direct.all, directPackets: directPackets, rowPtr: rowPtr.map { $0.map { $0?.classid ?? 0 } }, rowLastPtrId: rowLastPtrId,
              nearEvCache: nearEvCache, nextWake: nextWake, now: now)
    }

    /// After the classes' modes and their leaves' queues are back: the leaves with packets are
    /// active again (rows and feeds), then the pointers, deficits (by class id: deficits, feed
    /// pointers, the ids they last held) and direct queue take the checkpoint's values. A state
    /// whose shape does not fit (another depth) only reactivates.
    func restoreActive(_ st: SchedulerState, classes pointers: [UInt32: (deficit: [Int], feedPtr: [UInt32], lastPtrId: [UInt32])]) {
        stats.qlen = st.direct.count; stats.backlog = st.direct.reduce(0) { $0 + $1.qdiscPktLen }
        direct = Deque()
        for skb in st.direct { direct.append(skb) }
        directPackets = st.directPackets
        for cl in classes where cl.level == 0 {
            guard let q = cl.leaf, q.stats.qlen > 0 else { continue }
            stats.qlen += q.stats.qlen; stats.backlog += q.stats.backlog
            activate(cl)
        }
        guard st.rowPtr.count == HTB.maxDepth, st.rowPtr.allSatisfy({ $0.count == HTB.numPrio }), st.rowLastPtrId.count == HTB.maxDepth,
              st.rowLastPtrId.allSatisfy({ $0.count == HTB.numPrio }), st.nearEvCache.count == HTB.maxDepth else { return }
        rowPtr = st.rowPtr.map { $0.map { find($0) } }
        rowLastPtrId = st.rowLastPtrId
        nearEvCache = st.nearEvCache; nextWake = st.nextWake; now = st.now
        for cl in classes {
            guard let c = pointers[cl.classid] else { continue }
            if c.deficit.count == HTB.maxDepth { cl.deficit = c.deficit }
            // A leaf has no feeds.
            if c.feedPtr.count == HTB.numPrio && c.lastPtrId.count == HTB.numPrio {
                cl.feedPtr = c.feedPtr.map { find($0) }
                cl.lastPtrId = c.lastPtrId
            }
        }
    }

    // MARK: rows and feeds

    /// `htb_activate`: a leaf with packets joins the feeds of its priority.
    private func activate(_ cl: HTBClass) {
        guard cl.prioActivity == 0 else { return }
        cl.prioActivity = 1 << cl.prio
        activatePrios(cl)
    }

    /// `htb_deactivate`.
    private func deactivate(_ cl: HTBClass) {
        deactivatePrios(cl)
        cl.prioActivity = 0
    }

    /// `htb_activate_prios`: up through borrowing ancestors' feeds to the first that can send,
    /// which joins its level's row.
    private func activatePrios(_ start: HTBClass) {
        var cl = start, mask = start.prioActivity
        while cl.cmode == .mayBorrow, let p = cl.parent, mask != 0 {
            var m = mask
            while m != 0 {
                let prio = m.trailingZeroBitCount
                m &= ~(1 << prio)
                if !p.feed[prio].isEmpty { mask &= ~(1 << prio) }
                HTB.insertSorted(cl, into: &p.feed[prio])
            }
            p.prioActivity |= mask
            cl = p
        }
        if cl.cmode == .canSend && mask != 0 { addToRow(cl, mask) }
    }

    /// `htb_deactivate_prios`: the reverse; a feed pointer at the class is forgotten (its id kept).
    private func deactivatePrios(_ start: HTBClass) {
        var cl = start, mask = start.prioActivity
        while cl.cmode == .mayBorrow, let p = cl.parent, mask != 0 {
            var m = mask
            mask = 0
            while m != 0 {
                let prio = m.trailingZeroBitCount
                m &= ~(1 << prio)
                if p.feedPtr[prio] === cl { p.lastPtrId[prio] = cl.classid; p.feedPtr[prio] = nil }
                p.feed[prio].removeAll { $0 === cl }
                if p.feed[prio].isEmpty { mask |= 1 << prio }
            }
            p.prioActivity &= ~mask
            cl = p
        }
        if cl.cmode == .canSend && mask != 0 { removeFromRow(cl, mask) }
    }

    private func addToRow(_ cl: HTBClass, _ mask: Int) {
        rowMask[cl.level] |= mask
        var m = mask
        while m != 0 {
            let prio = m.trailingZeroBitCount
            m &= ~(1 << prio)
            HTB.insertSorted(cl, into: &row[cl.level][prio])
        }
    }

    /// `htb_remove_class_from_row`: a row pointer at the class moves to the next.
    private func removeFromRow(_ cl: HTBClass, _ mask: Int) {
        var m = mask, emptied = 0
        while m != 0 {
            let prio = m.trailingZeroBitCount
            m &= ~(1 << prio)
            if rowPtr[cl.level][prio] === cl { rowPtr[cl.level][prio] = HTB.after(cl, in: row[cl.level][prio]) }
            row[cl.level][prio].removeAll { $0 === cl }
            if row[cl.level][prio].isEmpty { emptied |= 1 << prio }
        }
        rowMask[cl.level] &= ~emptied
    }

    private static func insertSorted(_ cl: HTBClass, into list: inout [HTBClass]) {
        let i = list.firstIndex { $0.classid > cl.classid } ?? list.count
        list.insert(cl, at: i)
    }

    private static func after(_ cl: HTBClass, in list: [HTBClass]) -> HTBClass? {
        guard let i = list.firstIndex(where: { $0 === cl }), i + 1 < list.count else { return nil }
        return list[i + 1]
    }

    /// A DRR pointer: a row's (level, prio) or an inner class's feed of a priority.
    private enum Slot { case row(Int, Int), feed(HTBClass, Int) }

    private func tree(_ s: Slot) -> [HTBClass] {
        switch s { case .row(let l, let p): row[l][p]; case .feed(let c, let p): c.feed[p] }
    }
    private func ptr(_ s: Slot) -> HTBClass? {
        switch s { case .row(let l, let p): rowPtr[l][p]; case .feed(let c, let p): c.feedPtr[p] }
    }
    private func setPtr(_ s: Slot, _ v: HTBClass?) {
        switch s { case .row(let l, let p): rowPtr[l][p] = v; case .feed(let c, let p): c.feedPtr[p] = v }
    }
    private func pid(_ s: Slot) -> UInt32 {
        switch s { case .row(let l, let p): rowLastPtrId[l][p]; case .feed(let c, let p): c.lastPtrId[p] }
    }
    private func setPid(_ s: Slot, _ v: UInt32) {
        switch s { case .row(let l, let p): rowLastPtrId[l][p] = v; case .feed(let c, let p): c.lastPtrId[p] = v }
    }

    /// `htb_next_rb_node`.
    private func nextNode(_ s: Slot) {
        guard let cur = ptr(s) else { return }
        setPtr(s, HTB.after(cur, in: tree(s)))
    }

    /// `htb_lookup_leaf`: follows the pointers from the row down the feeds to a leaf; a feed
    /// whose pointer ran off its end rewinds and moves its parent's pointer on.
    private func lookupLeaf(prio: Int, level: Int) -> HTBClass? {
        var stack: [Slot] = [.row(level, prio)]
        for _ in 0..<65535 {
            let s = stack[stack.count - 1]
            let t = tree(s)
            guard !t.isEmpty else { return nil }
            if ptr(s) == nil && pid(s) != 0 {
                let id = pid(s)
                setPtr(s, t.first { $0.classid >= id })
            }
            setPid(s, 0)
            if ptr(s) == nil {
                setPtr(s, t[0])
                if stack.count > 1 {
                    stack.removeLast()
                    let up = stack[stack.count - 1]
                    guard ptr(up) != nil else { return nil }
                    nextNode(up)
                }
            } else {
                let cl = ptr(s)!
                if cl.level == 0 { return cl }
                stack.append(.feed(cl, prio))
            }
        }
        return nil
    }

    override func reset() -> [SkBuff] {
        var all = takePeeked() + direct.all
        direct = Deque()
        for cl in classes {
            if let q = cl.leaf { all += q.reset() }
            cl.prioActivity = 0; cl.cmode = .canSend; cl.inWait = false
            cl.feed = Array(repeating: [], count: HTB.numPrio); cl.feedPtr = Array(repeating: nil, count: HTB.numPrio)
        }
        row = Array(repeating: Array(repeating: [], count: HTB.numPrio), count: HTB.maxDepth)
        rowPtr = Array(repeating: Array(repeating: nil, count: HTB.numPrio), count: HTB.maxDepth)
        rowMask = Array(repeating: 0, count: HTB.maxDepth)
        waitPQ = Array(repeating: [], count: HTB.maxDepth)
        stats.backlog = 0; stats.qlen = 0
        nextWake = nil
        return all
    }
}
