// What a checkpoint keeps of a device's transmit side (RuntimeState.swift keeps the rest): its
// qdiscs' counters, queues and scheduler state, and the TX ring's frames with their completions.
extension StackRuntime {
    /// A frame on a TX ring: when the NIC is done with it, its length, and the UDP socket charge
    /// its skb gives back then.
    public struct RingFrame: Codable, Sendable, Equatable {
        public var doneNs: UInt64, bytes: Int
        public var socket: Int? = nil, charge: Int? = nil
    }

    /// htb's direct queue and counter, its rows' DRR pointers (class ids by level and priority,
    /// 0 for none), its level event cache, the watchdog's deadline and the time it last ran.
    public struct HTBState: Codable, Sendable, Equatable {
        public var direct: [Skb]? = nil
        public var directPackets: Int
        public var rowPtr: [[UInt32]], rowLastPtrId: [[UInt32]]
        public var nearEvCache: [UInt64], nextWake: UInt64?, now: UInt64
    }

    /// fq_codel: the flows that differ from fresh ones (their packets, credit and CoDel state),
    /// new_flows and old_flows, its xstats counters and the CoDel drops its parent has not been told of.
    public struct FQCoDelState: Codable, Sendable, Equatable {
        public struct Flow: Codable, Sendable, Equatable {
            public var index: Int, deficit: Int, listed: Bool
            public var count: UInt32, lastcount: UInt32, dropping: Bool, recInvSqrt: UInt16
            public var firstAboveTime: UInt32, dropNext: UInt32, ldelay: UInt32
            public var queue: [Skb]? = nil
        }
        public var flows: [Flow], newFlows: [Int], oldFlows: [Int]
        public var maxpacket: Int, dropOverlimit: Int, newFlowCount: Int, ecnMark: Int, dropOvermemory: Int
        public var dropCount: Int, dropLen: Int
    }

    /// cake: per tin (in cake's own order) its flows by hash with their packets, credit, set and
    /// COBALT state, the three DRR lists (by hash), its counters, delays and schedule; then the
    /// global shaper's schedule, the tin pointer, the length statistics and the random state.
    public struct CakeState: Codable, Sendable, Equatable {
        public struct Flow: Codable, Sendable, Equatable {
            public var key: UInt32, deficit: Int, set: String
            public var count: UInt32, recInvSqrt: UInt32, dropNext: UInt64, blueTimer: UInt64, pDrop: UInt32, dropping: Bool, ecnMarked: Bool
            public var queue: [Skb]? = nil
        }
        public struct Tin: Codable, Sendable, Equatable {
            public var flows: [Flow], newFlows: [UInt32], oldFlows: [UInt32], decayingFlows: [UInt32]
            public var sparse: Int, bulk: Int, decaying: Int, unresponsive: Int
            public var timeNextPacket: UInt64, tinDeficit: Int
            public var packets: Int, bytes: Int, wayMisses: Int, drops: Int, marks: Int, maxLen: Int
            public var avgDelay: UInt64, peakDelay: UInt64, baseDelay: UInt64
        }
        public var tins: [Tin]
        public var bufferMaxUsed: Int, timeNextPacket: UInt64, failsafeNextPacket: UInt64, curTin: Int
        public var minNetlen: Int, maxNetlen: Int, avgNetoff: UInt64, random: UInt64, nextWake: UInt64?
    }
}

extension Stack {
    /// Each qdisc of a device as `tc -s qdisc show` lists them (clsact last, as handle ffff:),
    /// with its queue and scheduler state.
    func qdiscRecords(_ d: NetDevice) -> [StackRuntime.Qdisc] {
        var qs = qdiscObjects(d).map { q in
            let tbf = (q as? TBF)?.bucket
            let queued = q.checkpointQueue ?? []
            // The options go along when state that only the same options may take back does.
            let stateful = tbf != nil || !queued.isEmpty || !q.requeued.isEmpty || q.peekedSkb != nil || q is FQCoDel || q is Cake
            var r = StackRuntime.Qdisc(kind: q.spec.kind, handle: q.handle, bytes: q.stats.bytes, packets: q.stats.packets, drops: q.stats.drops,
                                       overlimits: q.stats.overlimits, requeues: q.stats.requeues, tokens: tbf?.tokens, tc: tbf?.tc, innerDrops: tbf?.innerDrops,
                                       spec: stateful ? String(describing: q.spec) : nil,
                                       classes: (q as? HTB).map { h in h.classes.map { htbClassState($0, in: h) } })
            if !queued.isEmpty { r.queue = queued.map(skbRecord) }
            if !q.requeued.isEmpty { r.requeued = q.requeued.map(skbRecord) }
            r.blockedNs = (q as? TBF)?.blocked
            if let f = q as? FQCoDel { r.fqCodel = fqCodelRecord(f) }
            if let c = q as? Cake { r.cake = cakeRecord(c) }
            if let p = q.peekedSkb { r.peeked = skbRecord(p) }
            if let h = q as? HTB {
                let st = h.schedulerState
                r.htb = .init(direct: st.direct.isEmpty ? nil : st.direct.map(skbRecord), directPackets: st.directPackets, rowPtr: st.rowPtr,
                              rowLastPtrId: st.rowLastPtrId, nearEvCache: st.nearEvCache, nextWake: st.nextWake, now: st.now)
            }
            return r
        }
        if let c = d.clsact {
            qs.append(.init(kind: "clsact", handle: 0xffff, bytes: c.bytes, packets: c.packets, drops: c.drops, overlimits: 0, requeues: 0))
        }
        return qs
    }

    /// The device's qdiscs take back their counters (same kind and handle) and, with the same
    /// options, their queues and scheduler state; htb's busy classes are active again once every
    /// leaf has its packets, and a tbf counts its child's queue again.
    func restoreQdiscs(dev i: Int, _ d: StackRuntime.Device) {
        let tx = devices[i].tx
        let objects = qdiscObjects(devices[i])
        var htbState: (HTB, StackRuntime.Qdisc)?
        for r in d.qdiscs {
            if r.kind == "clsact", let c = devices[i].clsact { c.bytes = r.bytes; c.packets = r.packets; c.drops = r.drops; continue }
            guard let q = objects.first(where: { $0.handle == r.handle && $0.spec.kind == r.kind }) else { continue }
            q.stats.bytes = r.bytes; q.stats.packets = r.packets; q.stats.drops = r.drops
            q.stats.overlimits = r.overlimits; q.stats.requeues = r.requeues
            if let t = q as? TBF, let tokens = r.tokens, let tc = r.tc, r.spec == String(describing: q.spec) {
                t.bucket = (tokens, tc, r.innerDrops ?? 0)
                t.blocked = r.blockedNs
            }
            if r.spec == String(describing: q.spec) {
                q.restoreQueue((r.queue ?? []).compactMap(skb))
                q.requeued = (r.requeued ?? []).compactMap(skb)
                if let f = q as? FQCoDel, let st = r.fqCodel { restoreFQCoDel(f, st) }
                if let c = q as? Cake, let st = r.cake { restoreCake(c, st) }
                if let p = r.peeked { q.peekedSkb = skb(p) }
            }
            if let h = q as? HTB {
                var waiting: [(cl: HTBClass, mode: HTBClass.Mode, pqKey: UInt64?, place: Int)] = []
                for c in r.classes ?? [] {
                    guard let cl = h.find(c.classid), String(describing: cl.spec) == c.spec, let mode = HTBClass.Mode(rawValue: c.mode) else { continue }
                    cl.bytes = c.bytes; cl.packets = c.packets; cl.drops = c.drops; cl.overlimits = c.overlimits
                    cl.lends = c.lends; cl.borrows = c.borrows
                    cl.tokens = c.tokens; cl.ctokens = c.ctokens; cl.tc = c.tc
                    waiting.append((cl, mode, c.waitPlace == nil ? nil : c.waitUntil, c.waitPlace ?? -1))
                    if cl.leafHandle == 0, let leaf = cl.leaf { leaf.restoreQueue((c.queue ?? []).compactMap(skb)) }
                }
                h.restoreWaiting(waiting.sorted { $0.place < $1.place }.map { ($0.cl, $0.mode, $0.pqKey) })
                htbState = (h, r)
            }
        }
        // Children tc added come after their htb in the list: only now has every leaf its queue.
        if let (h, r) = htbState {
            let pointers = Dictionary(uniqueKeysWithValues: (r.classes ?? []).compactMap { c in
                c.deficit.map { (c.classid, ($0, c.feedPtr ?? [], c.lastPtrId ?? [])) }
            })
            if let st = r.htb {
                h.restoreActive(.init(direct: (st.direct ?? []).compactMap(skb), directPackets: st.directPackets, rowPtr: st.rowPtr,
                                      rowLastPtrId: st.rowLastPtrId, nearEvCache: st.nearEvCache, nextWake: st.nextWake, now: st.now), classes: pointers)
            }
        }
        (tx.qdisc as? TBF)?.childRestored()
    }

    /// A device's qdiscs as `tc qdisc show` lists them: the root, then its children.
    func qdiscObjects(_ d: NetDevice) -> [Qdisc] {
        let tx = d.tx
        if let h = tx.qdisc as? HTB {
            return [h] + tx.childConfigs.compactMap { c in c.parent.flatMap { h.find($0.major << 16 | $0.minor)?.leaf } }
        }
        return [tx.qdisc] + (tx.childConfigs.isEmpty ? [] : [tx.qdisc.child].compactMap { $0 })
    }
}

extension Stack {
    /// The TX ring's frames with their completions, the queue's stops, the watchdog and the
    /// queue's CPU. A device that is busy already (the restore found frames on it) keeps its own.
    func restoreTXQueue(dev i: Int, _ d: StackRuntime.Device) {
        let tx = devices[i].tx
        guard tx.inFlight.isEmpty else { return }
        if let cpu = d.txCPU, cpus.indices.contains(cpu) { tx.cpu = cpu }
        for f in d.ring ?? [] {
            let sk = f.socket.flatMap { sockets.byID[$0] }
            let charge = sk == nil ? 0 : max(f.charge ?? 0, 0)
            sk?.wmemAlloc += charge
            tx.inFlight.append(.init(done: f.doneNs, sock: sk, charge: charge, bytes: f.bytes))
            schedule(f.doneNs, .txComplete(device: i))
        }
        tx.stopped = d.ringStopped ?? false
        tx.bqlStopped = d.bqlStopped ?? false
        if let w = d.watchdogNs {
            tx.watchdogAt = w
            schedule(w, .qdiscWatchdog(device: i))
        }
    }

    func fqCodelRecord(_ f: FQCoDel) -> StackRuntime.FQCoDelState {
        let st = f.checkpointState, x = st.xstats
        return .init(flows: st.flows.map { k in
            .init(index: k.index, deficit: k.deficit, listed: k.listed, count: k.cvars.count, lastcount: k.cvars.lastcount, dropping: k.cvars.dropping,
                  recInvSqrt: k.cvars.recInvSqrt, firstAboveTime: k.cvars.firstAboveTime, dropNext: k.cvars.dropNext, ldelay: k.cvars.ldelay,
                  queue: k.queue.isEmpty ? nil : k.queue.map(skbRecord))
        }, newFlows: st.newFlows, oldFlows: st.oldFlows, maxpacket: x.maxpacket, dropOverlimit: x.dropOverlimit, newFlowCount: x.newFlowCount,
           ecnMark: x.ecnMark, dropOvermemory: x.dropOvermemory, dropCount: st.dropCount, dropLen: st.dropLen)
    }

    func restoreFQCoDel(_ f: FQCoDel, _ st: StackRuntime.FQCoDelState) {
        var x = FQCoDelStats()
        x.maxpacket = st.maxpacket; x.dropOverlimit = st.dropOverlimit; x.newFlowCount = st.newFlowCount; x.ecnMark = st.ecnMark; x.dropOvermemory = st.dropOvermemory
        f.restore(flows: st.flows.map { k in
            var v = CoDelVars()
            v.count = k.count; v.lastcount = k.lastcount; v.dropping = k.dropping; v.recInvSqrt = k.recInvSqrt
            v.firstAboveTime = k.firstAboveTime; v.dropNext = k.dropNext; v.ldelay = k.ldelay
            return .init(index: k.index, queue: (k.queue ?? []).compactMap(skb), deficit: k.deficit, cvars: v, listed: k.listed)
        }, newFlows: st.newFlows, oldFlows: st.oldFlows, xstats: x, dropCount: st.dropCount, dropLen: st.dropLen)
    }

    func cakeRecord(_ c: Cake) -> StackRuntime.CakeState {
        let tins = c.tins.map { b -> StackRuntime.CakeState.Tin in
            var keyOf: [ObjectIdentifier: UInt32] = [:]
            for (k, f) in b.flows { keyOf[ObjectIdentifier(f)] = k }
            let flows = b.flows.sorted { $0.key < $1.key }.map { k, f in
                StackRuntime.CakeState.Flow(key: k, deficit: f.deficit, set: f.set.rawValue, count: f.cvars.count, recInvSqrt: f.cvars.recInvSqrt,
                                            dropNext: f.cvars.dropNext, blueTimer: f.cvars.blueTimer, pDrop: f.cvars.pDrop, dropping: f.cvars.dropping,
                                            ecnMarked: f.cvars.ecnMarked, queue: f.queue.isEmpty ? nil : f.queue.all.map(skbRecord))
            }
            func keys(_ l: [Cake.Flow]) -> [UInt32] { l.compactMap { keyOf[ObjectIdentifier($0)] } }
            return .init(flows: flows, newFlows: keys(b.newFlows), oldFlows: keys(b.oldFlows), decayingFlows: keys(b.decayingFlows),
                         sparse: b.sparse, bulk: b.bulk, decaying: b.decaying, unresponsive: b.unresponsive, timeNextPacket: b.timeNextPacket,
                         tinDeficit: b.tinDeficit, packets: b.packets, bytes: b.bytes, wayMisses: b.wayMisses, drops: b.drops, marks: b.marks,
                         maxLen: b.maxLen, avgDelay: b.avgDelay, peakDelay: b.peakDelay, baseDelay: b.baseDelay)
        }
        return .init(tins: tins, bufferMaxUsed: c.bufferMaxUsed, timeNextPacket: c.timeNextPacket, failsafeNextPacket: c.failsafeNextPacket,
                     curTin: c.curTin, minNetlen: c.minNetlen, maxNetlen: c.maxNetlen, avgNetoff: c.avgNetoff, random: c.random, nextWake: c.nextWake)
    }

    /// A cake of the same options takes its state back (a tin count that differs: none of it);
    /// backlogs, memory in use and the queue length follow from the packets.
    func restoreCake(_ c: Cake, _ st: StackRuntime.CakeState) {
        guard st.tins.count == c.tins.count else { return }
        for (b, r) in zip(c.tins, st.tins) {
            b.flows = [:]
            for k in r.flows {
                let f = Cake.Flow()
                for skb in (k.queue ?? []).compactMap(skb) {
                    f.queue.append(skb)
                    f.backlog += skb.qdiscPktLen; b.backlog += skb.qdiscPktLen
                    c.stats.qlen += 1; c.stats.backlog += skb.qdiscPktLen
                    c.bufferUsed += skb.truesize
                }
                f.deficit = k.deficit; f.set = Cake.FlowSet(rawValue: k.set) ?? .none
                f.cvars = CobaltVars(count: k.count, recInvSqrt: k.recInvSqrt, dropNext: k.dropNext, blueTimer: k.blueTimer, pDrop: k.pDrop,
                                     dropping: k.dropping, ecnMarked: k.ecnMarked)
                b.flows[k.key] = f
            }
            b.newFlows = r.newFlows.compactMap { b.flows[$0] }
            b.oldFlows = r.oldFlows.compactMap { b.flows[$0] }
            b.decayingFlows = r.decayingFlows.compactMap { b.flows[$0] }
            b.sparse = r.sparse; b.bulk = r.bulk; b.decaying = r.decaying; b.unresponsive = r.unresponsive
            b.timeNextPacket = r.timeNextPacket; b.tinDeficit = r.tinDeficit
            b.packets = r.packets; b.bytes = r.bytes; b.wayMisses = r.wayMisses; b.drops = r.drops; b.marks = r.marks; b.maxLen = r.maxLen
            b.avgDelay = r.avgDelay; b.peakDelay = r.peakDelay; b.baseDelay = r.baseDelay
        }
        c.bufferMaxUsed = st.bufferMaxUsed
        c.timeNextPacket = st.timeNextPacket; c.failsafeNextPacket = st.failsafeNextPacket
        c.curTin = c.tins.indices.contains(st.curTin) ? st.curTin : 0
        c.minNetlen = st.minNetlen; c.maxNetlen = st.maxNetlen; c.avgNetoff = st.avgNetoff
        c.random = st.random; c.nextWake = st.nextWake
    }

    func htbClassState(_ c: HTBClass, in h: HTB) -> StackRuntime.HTBClassState {
        let place = h.waitPlace(c)
        var r = StackRuntime.HTBClassState(classid: c.classid, spec: String(describing: c.spec), bytes: c.bytes, packets: c.packets, drops: c.drops,
                                           overlimits: c.overlimits, lends: c.lends, borrows: c.borrows, tokens: c.tokens, ctokens: c.ctokens, tc: c.tc,
                                           mode: c.cmode.rawValue, waitUntil: place == nil ? nil : c.pqKey, waitPlace: place)
        if c.leafHandle == 0, let q = c.leaf?.checkpointQueue, !q.isEmpty { r.queue = q.map(skbRecord) }
        r.deficit = c.deficit
        if c.level > 0 { r.feedPtr = c.feedPtr.map { $0?.classid ?? 0 }; r.lastPtrId = c.lastPtrId }
        return r
    }
}
