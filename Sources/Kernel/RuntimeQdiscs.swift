// What a checkpoint keeps of a device's transmit side beyond its counters (RuntimeState.swift):
// the TX ring's frames with their completions, and each qdisc's queue and scheduler state.
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
