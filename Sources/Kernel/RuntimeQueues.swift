import Wire

// The queues of skbs a checkpoint keeps: reassembly queues with their expiry timers, for IPv4
// (`ipq`) and IPv6 (`frag_queue`, the stack's and nf_defrag_ipv6's), and what waits on a
// neighbour (RuntimeState.swift). An skb keeps no link to a socket or a conntrack entry.
extension StackRuntime {
    /// An skb held in a queue: its bytes and the metadata the path after it reads.
    public struct Skb: Codable, Sendable, Equatable {
        public var data: String, len: Int, networkHeader: Int, transportHeader: Int, protocolType: UInt16
        public var pktType: String, vlanID: UInt16?, checksumUnnecessary: Bool, dev: String, rxQueue: Int, cpu: Int
        public var hash: UInt32, hashComputed: Bool, mark: UInt32, priority: UInt32, nftrace: Bool, macHeaderSet: Bool
        public var broadcastRoute: Bool, nhoff: Int, fragMaxSize: Int, segments: Int, rxCsumPartial: Bool
        /// Made by the stack, and how its path ends once a driver takes it (skbs waiting for a neighbour).
        public var generated: Bool, txOutcome: String
        /// On the transmit side (a qdisc's queue): the length the qdisc counts, GSO, a checksum
        /// left to the device, and the UDP socket its bytes are charged to until the device frees it
        /// (older checkpoints lack them: none held a transmitted skb).
        public var qdiscPktLen: Int? = nil, gsoSize: Int? = nil, gsoUDP: Bool? = nil, gsoFixedID: Bool? = nil
        public var csumPartialOffset: Int? = nil
        public var socket: Int? = nil, wmemCharge: Int? = nil
        /// When fq_codel (in its 1024 ns units) or cake took it in.
        public var codelEnqueueTime: UInt32? = nil, cakeEnqueueTime: UInt64? = nil
    }
    /// One reassembly queue: its key (addresses in hex; `proto` for IPv4, `iif` and `defrag` for
    /// IPv6), what it holds and knows, and when its timer fires.
    public struct FragmentQueue: Codable, Sendable, Equatable {
        public struct Piece: Codable, Sendable, Equatable { public var start: Int, end: Int, skb: Skb }
        public var v6: Bool, src: String, dst: String, id: UInt32
        public var proto: UInt8?
        public var iif: Int?
        public var defrag: Bool?
        public var total: Int?
        public var meat: Int, generation: Int, firstSeen: Bool, rid: UInt32, nhoffset: Int
        public var pieces: [Piece]
        public var timersNs: [UInt64]
    }
    /// Each family's generation counter (so a restored timer's generation stays unique) and, for
    /// IPv4, the fragments seen per source (`inet_peer->rid`, for ipfrag_max_dist).
    public struct FragmentState: Codable, Sendable, Equatable {
        public var nextGeneration: Int, nextGeneration6: Int
        public var peerRid: [String: UInt32]
    }
}

extension Stack {
    func skbRecord(_ s: SkBuff) -> StackRuntime.Skb {
        var r = StackRuntime.Skb(data: Hex.encode(s.data), len: s.len, networkHeader: s.networkHeader, transportHeader: s.transportHeader, protocolType: s.protocolType,
              pktType: s.pktType.rawValue, vlanID: s.vlanID, checksumUnnecessary: s.ipSummed == .unnecessary, dev: devices[s.dev].name,
              rxQueue: s.rxQueue, cpu: s.cpu, hash: s.hash, hashComputed: s.hashComputed, mark: s.mark, priority: s.priority, nftrace: s.nftrace,
              macHeaderSet: s.macHeaderSet, broadcastRoute: s.broadcastRoute, nhoff: s.nhoff, fragMaxSize: s.fragMaxSize, segments: s.segments,
              rxCsumPartial: s.rxCsumPartial, generated: s.generated, txOutcome: s.txOutcome.rawValue)
        if s.qdiscPktLen > 0 { r.qdiscPktLen = s.qdiscPktLen }
        if s.gsoSize > 0 { r.gsoSize = s.gsoSize; r.gsoUDP = s.gsoUDP; r.gsoFixedID = s.gsoFixedID }
        r.csumPartialOffset = s.csumPartialOffset
        if let sk = s.sock, s.wmemCharge > 0 { r.socket = sk.config.id; r.wmemCharge = s.wmemCharge }
        if s.codelEnqueueTime != 0 { r.codelEnqueueTime = s.codelEnqueueTime }
        if s.cakeEnqueueTime != 0 { r.cakeEnqueueTime = s.cakeEnqueueTime }
        return r
    }

    /// An skb of no run's packet, as it was held; nil when it does not fit this stack.
    func skb(_ r: StackRuntime.Skb) -> SkBuff? {
        guard let data = try? Hex.decode(r.data), let dev = deviceNames.firstIndex(of: r.dev), let pkt = PacketType(rawValue: r.pktType),
              r.len <= data.count, r.networkHeader <= r.len, r.transportHeader <= r.len, r.cpu >= 0, r.cpu < cpus.count else { return nil }
        let s = SkBuff(frame: data, dev: dev, packet: -1)
        s.len = r.len; s.networkHeader = r.networkHeader; s.transportHeader = r.transportHeader; s.protocolType = r.protocolType
        s.pktType = pkt; s.vlanID = r.vlanID; s.ipSummed = r.checksumUnnecessary ? .unnecessary : .none; s.rxQueue = r.rxQueue; s.cpu = r.cpu
        s.hash = r.hash; s.hashComputed = r.hashComputed; s.mark = r.mark; s.priority = r.priority; s.nftrace = r.nftrace
        s.macHeaderSet = r.macHeaderSet; s.broadcastRoute = r.broadcastRoute; s.nhoff = r.nhoff; s.fragMaxSize = r.fragMaxSize
        s.segments = r.segments; s.rxCsumPartial = r.rxCsumPartial
        s.generated = r.generated; s.txOutcome = Outcome(rawValue: r.txOutcome) ?? .forwarded
        s.qdiscPktLen = r.qdiscPktLen ?? 0
        s.gsoSize = r.gsoSize ?? 0; s.gsoUDP = r.gsoUDP ?? false; s.gsoFixedID = r.gsoFixedID ?? false
        s.csumPartialOffset = r.csumPartialOffset.flatMap { (0..<r.len).contains($0) ? $0 : nil }
        s.codelEnqueueTime = r.codelEnqueueTime ?? 0; s.cakeEnqueueTime = r.cakeEnqueueTime ?? 0
        // The socket takes its charge back: its count of bytes the device holds was not kept.
        if let id = r.socket, let charge = r.wmemCharge, charge > 0, let sk = sockets.byID[id] {
            s.sock = sk; s.wmemCharge = charge; sk.wmemAlloc += charge
        }
        return s
    }

    /// Both families' queues with their expiry timers among `pending` (the event queue's), in key order.
    func fragmentRecords(_ pending: [(time: UInt64, event: Event)]) -> ([StackRuntime.FragmentQueue], StackRuntime.FragmentState) {
        var timers4: [FragKey: [UInt64]] = [:], timers6: [Frag6Key: [UInt64]] = [:]
        for (t, e) in pending {
            switch e {
            case .fragExpire(let k, let g) where frags.queues[k]?.generation == g: timers4[k, default: []].append(t)
            case .frag6Expire(let k, let g) where frags6.queues[k]?.generation == g: timers6[k, default: []].append(t)
            default: break
            }
        }
        func record(_ q: FragQueue, v6: Bool, src: String, dst: String, id: UInt32, timers: [UInt64]) -> StackRuntime.FragmentQueue {
            .init(v6: v6, src: src, dst: dst, id: id, total: q.total, meat: q.meat, generation: q.generation, firstSeen: q.firstSeen, rid: q.rid,
                  nhoffset: q.nhoffset, pieces: q.frags.map { .init(start: $0.start, end: $0.end, skb: skbRecord($0.skb)) }, timersNs: timers)
        }
        var out = frags.queues.sorted { ($0.key.src, $0.key.dst, $0.key.id, $0.key.proto) < ($1.key.src, $1.key.dst, $1.key.id, $1.key.proto) }.map { k, q in
            var r = record(q, v6: false, src: hex(k.src), dst: hex(k.dst), id: UInt32(k.id), timers: timers4[k] ?? [])
            r.proto = k.proto
            return r
        }
        out += frags6.queues.sorted { ($0.key.src, $0.key.dst, $0.key.id, $0.key.iif) < ($1.key.src, $1.key.dst, $1.key.id, $1.key.iif) }.map { k, q in
            var r = record(q, v6: true, src: hex(k.src), dst: hex(k.dst), id: k.id, timers: timers6[k] ?? [])
            r.iif = k.iif; r.defrag = k.defrag
            return r
        }
        let peers = Dictionary(uniqueKeysWithValues: frags.peerRid.map { (hex($0.key), $0.value) })
        return (out, .init(nextGeneration: frags.nextGeneration, nextGeneration6: frags6.nextGeneration, peerRid: peers))
    }

    /// Puts the queues back with their timers; a queue whose key or pieces do not read is left out.
    func restoreFragments(_ list: [StackRuntime.FragmentQueue], _ st: StackRuntime.FragmentState?) {
        if let st {
            frags.nextGeneration = max(frags.nextGeneration, st.nextGeneration)
            frags6.nextGeneration = max(frags6.nextGeneration, st.nextGeneration6)
            for (a, n) in st.peerRid { if let k = UInt32(a, radix: 16) { frags.peerRid[k] = n } }
        }
        for r in list {
            let pieces = r.pieces.compactMap { p in skb(p.skb).map { (start: p.start, end: p.end, skb: $0) } }
            guard pieces.count == r.pieces.count else { continue }
            var q = FragQueue(generation: r.generation)
            q.frags = pieces; q.total = r.total; q.meat = r.meat; q.firstSeen = r.firstSeen; q.rid = r.rid; q.nhoffset = r.nhoffset
            q.memory = pieces.reduce(0) { $0 + $1.skb.truesize }
            if r.v6 {
                guard let s = UInt128(r.src, radix: 16), let d = UInt128(r.dst, radix: 16), let iif = r.iif else { continue }
                let k = Frag6Key(src: s, dst: d, id: r.id, iif: iif, defrag: r.defrag ?? false)
                guard frags6.queues[k] == nil else { continue }
                frags6.queues[k] = q; frags6.memory += q.memory
                for t in r.timersNs { schedule(max(t, clockNs), .frag6Expire(key: k, generation: q.generation)) }
            } else {
                guard let s = UInt32(r.src, radix: 16), let d = UInt32(r.dst, radix: 16), let id = UInt16(exactly: r.id), let proto = r.proto else { continue }
                let k = FragKey(src: s, dst: d, id: id, proto: proto)
                guard frags.queues[k] == nil else { continue }
                frags.queues[k] = q; frags.memory += q.memory
                for t in r.timersNs { schedule(max(t, clockNs), .fragExpire(key: k, generation: q.generation)) }
            }
        }
    }
}
