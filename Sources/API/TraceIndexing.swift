import JSON
import Kernel
import Store
import Wire

/// The columns a stored trace is found by (times, length, stages, 5-tuples, rules hit), from a
/// packet's result as it is stored, or from a body stored before those columns existed.
enum TraceIndexing {
    static func index(_ r: PacketResult) -> TraceIndex {
        var x = TraceIndex()
        x.startNs = Int64(clamping: r.startNs)
        x.endNs = Int64(clamping: r.endNs)
        x.length = Int64(r.frame.count)
        x.lastStage = r.stages.last?.stage.name
        for s in r.stages { mark(s.stage.rawValue, &x) }
        set(r.startTuple, end: r.endTuple, &x)
        x.rules = r.nfEvents.compactMap { e in
            guard !e.generated, e.kind == .rule || e.kind == .policy else { return nil }
            return hit(hook: e.hook.rawValue, table: e.table, chain: e.chain, handle: e.handle.map(Int64.init), verdict: e.verdict)
        }
        return x
    }

    /// A body stored before migration 5: what it holds (a summary row names only its last stage;
    /// the tuple after NAT was not kept, so it stays unknown).
    static func index(body: String) -> TraceIndex {
        var x = TraceIndex()
        guard let doc = try? JSONParser.parse(body) else { return x }
        if case .int(let t) = doc["start_ns"] ?? .null { x.startNs = Int64(t) }
        if case .int(let t) = doc["end_ns"] ?? .null { x.endNs = Int64(t) }
        if case .array(let stages) = doc["stages"] ?? .null {
            for s in stages { if case .string(let n) = s["function"] ?? .null, let st = Stage(name: n) { mark(st.rawValue, &x); x.lastStage = n } }
        } else if case .string(let n) = doc["last_stage"] ?? .null, let st = Stage(name: n) {
            mark(st.rawValue, &x); x.lastStage = n
        }
        if case .string(let hex) = doc["frame_hex"] ?? .null, let f = try? Hex.decode(hex) {
            x.length = Int64(f.count)
            set(tuple(stored: f), end: nil, &x)
        }
        let events: [JSONValue]
        if case .array(let e) = doc["netfilter"] ?? .null { events = e } else if case .array(let e) = doc["rules"] ?? .null { events = e } else { events = [] }
        x.rules = events.compactMap { e in
            guard case .string(let hook) = e["hook"] ?? .null, case .string(let table) = e["table"] ?? .null,
                  case .string(let chain) = e["chain"] ?? .null, case .string(let verdict) = e["verdict"] ?? .null,
                  e["generated"] != .bool(true) else { return nil }
            if case .string(let type) = e["type"] ?? .null, type != "rule" && type != "policy" { return nil }
            let handle: Int64? = if case .int(let h) = e["handle"] ?? .null { Int64(h) } else { nil }
            return hit(hook: hook, table: table, chain: chain, handle: handle, verdict: verdict)
        }
        return x
    }

    /// A stored frame: an Ethernet frame, or (a send's) the IP datagram alone, told apart by an IP
    /// header whose length field is the whole buffer.
    static func tuple(stored f: [UInt8]) -> FlowTuple? {
        if f.count >= 20, f[0] >> 4 == 4, Int(f.be16(2)) == f.count { return FlowTuple.network(f, at: 0, ethertype: 0x0800) }
        if f.count >= 40, f[0] >> 4 == 6, Int(f.be16(4)) + 40 == f.count { return FlowTuple.network(f, at: 0, ethertype: 0x86dd) }
        return FlowTuple.frame(f)
    }

    private static func mark(_ n: Int, _ x: inout TraceIndex) {
        if n < 64 { x.stagesLo |= Int64(bitPattern: 1 << UInt64(n)) } else if n < 128 { x.stagesHi |= Int64(bitPattern: 1 << UInt64(n - 64)) }
    }

    private static func set(_ start: FlowTuple?, end: FlowTuple?, _ x: inout TraceIndex) {
        if let t = start ?? end { x.proto = Int64(t.proto) }
        if let t = start {
            x.saddr = FlowTuple.bytes(t.src); x.daddr = FlowTuple.bytes(t.dst); x.sport = t.sport.map(Int64.init); x.dport = t.dport.map(Int64.init)
        }
        if let t = end {
            x.natSaddr = FlowTuple.bytes(t.src); x.natDaddr = FlowTuple.bytes(t.dst); x.natSport = t.sport.map(Int64.init); x.natDport = t.dport.map(Int64.init)
        }
    }

    /// "inet filter" (as trace events name tables) split into family and name.
    private static func hit(hook: String, table: String, chain: String, handle: Int64?, verdict: String) -> TraceRuleHit {
        guard let space = table.utf8.firstIndex(of: UInt8(ascii: " ")) else {
            return TraceRuleHit(hook: hook, family: "", table: table, chain: chain, handle: handle, verdict: verdict)
        }
        return TraceRuleHit(hook: hook, family: String(table[..<space]), table: String(table[table.index(after: space)...]), chain: chain,
                            handle: handle, verdict: verdict)
    }

    /// Fills in the columns of rows stored before migration 5, a batch at a time (at start-up).
    static func backfill(_ store: Store) throws(StoreError) -> Int {
        var done = 0
        while true {
            let rows = try store.unindexedTraces(limit: 2_000)
            if rows.isEmpty { return done }
            try store.setIndexes(rows.map { ($0.id, index(body: $0.body)) })
            done += rows.count
        }
    }

    /// A tuple from its stored columns (nil when they hold none).
    static func tuple(proto: Int64?, saddr: [UInt8]?, daddr: [UInt8]?, sport: Int64?, dport: Int64?) -> FlowTuple? {
        guard let proto, let p = UInt8(exactly: proto), let src = saddr.flatMap(FlowTuple.address(bytes:)),
              let dst = daddr.flatMap(FlowTuple.address(bytes:)) else { return nil }
        return FlowTuple(ipv4: src >> 32 == 0xffff, proto: p, src: src, dst: dst, sport: sport.flatMap(UInt16.init(exactly:)),
                         dport: dport.flatMap(UInt16.init(exactly:)))
    }
}
