import HTTPServer
import JSON
import Kernel
import NFTables
import Store
import Wire

/// A packet's trace as the API shows and stores it.
enum TraceDocument {
    static func encode(id: Int64, stack: String, createdAt: String, _ r: PacketResult, hops: [Hop] = []) -> JSONValue {
        var o = JSONObject()
        o.set("trace_id", Int(id))
        o.set("stack", stack)
        o.set("device", r.device)
        o.set("outcome", r.outcome.rawValue)
        o.set("drop_reason", r.dropReason.map { .string($0.rawValue) } ?? .null)
        o.setIfPresent("errno", r.errno)
        if let q = r.outq { o.set("outq", q) }
        if let w = r.written { o.set("written", w) }
        o.setIfPresent("note", r.note)
        o.set("created_at", createdAt)
        o.set("start_ns", Int(r.startNs))
        o.set("end_ns", Int(r.endNs))
        o.set("rx_queue", r.rxQueue)
        o.set("segments", r.segments)
        o.set("stages", .array(r.stages.map(stageDocument)))
        o.set("frame_hex", Hex.encode(r.frame))
        o.set("tuple", tupleDocument(r.startTuple))
        if !r.tupleChanges.isEmpty {
            o.set("tuple_changes", .array(r.tupleChanges.map { .object([("from_stage", .int($0.fromStage)), ("tuple", tupleDocument($0.tuple))]) }))
        }
        o.set("final_tuple", tupleDocument(r.endTuple))
        o.set("netfilter", .array(r.nfEvents.map { e in
            var x = JSONObject()
            x.set("hook", e.hook.rawValue)
            x.set("table", e.table)
            x.set("chain", e.chain)
            x.set("type", e.kind.rawValue)
            x.set("handle", e.handle.map { .int($0) } ?? .null)
            x.set("rule", e.rule.map { .string($0) } ?? .null)
            x.setIfPresent("iptables", e.iptables)
            x.set("verdict", e.verdict)
            x.set("generated", e.generated)
            if e.nftrace { x.set("nftrace", true) }
            if e.looped { x.set("looped", true) }
            if let p = e.packet { x.set("packet", packetText(e.table, p)) }
            return x.value
        }))
        o.set("emitted", .array(r.emitted.map { e in
            .object([("device", .string(e.device)), ("time_ns", .int(Int(e.timeNs))), ("hex", .string(Hex.encode(e.frame)))])
        }))
        if let x = r.xdp { o.set("xdp", xdpDocument(x)) }
        if !r.tc.isEmpty { o.set("tc", .array(r.tc.map(tcDocument))) }
        if !hops.isEmpty { o.set("hops", .array(hops.map(hopDocument))) }
        return o.value
    }

    /// The `xdp` stage: the program's action, what became of the frame, the tracepoints it fired,
    /// `bpf_printk` output, the fault that aborted it, and on request every instruction it ran.
    static func xdpDocument(_ x: XDPRecord) -> JSONValue {
        var o = JSONObject()
        o.set("dev", x.dev)
        o.set("mode", x.mode.rawValue)
        o.set("program", x.program)
        o.set("action", x.action)
        o.set("result", x.result)
        if let to = x.to { o.set("to", to) }
        o.set("events", .array(x.events.map { e in
            .object([("event", .string(e.event))] + e.fields.map { k, v in
                switch v { case .text(let t): (k, .string(t)); case .number(let n): (k, .int(n)) }
            })
        }))
        o.set("printk", .array(x.printk.map { .string($0) }))
        if let f = x.fault { o.set("fault", f) }
        o.set("instructions", x.instructions)
        if let steps = x.steps { o.set("steps", .array(steps.map(stepDocument))) }
        return o.value
    }

    /// One instruction run: its index, its text as llvm-objdump prints it, the value it produced.
    static func stepDocument(_ s: (pc: Int, insn: String, value: UInt64)) -> JSONValue {
        .object([("pc", .int(s.pc)), ("insn", .string(s.insn)), ("value", .string("0x" + String(s.value, radix: 16)))])
    }

    /// A clsact hook's run: each filter's return, the verdict, what followed, the fields changed.
    static func tcDocument(_ t: TCRecord) -> JSONValue {
        var o = JSONObject()
        o.set("dev", t.dev)
        o.set("direction", t.direction.rawValue)
        o.set("filters", .array(t.runs.enumerated().map { k, r in
            var f = JSONObject()
            f.set("name", r.name); f.set("pref", r.pref); f.set("returned", r.returned); f.set("instructions", r.instructions)
            f.set("printk", .array(r.printk.map { .string($0) }))
            if let fault = r.fault { f.set("fault", fault) }
            if k < t.steps.count { f.set("steps", .array(t.steps[k].map(stepDocument))) }
            return f.value
        }))
        o.set("verdict", t.verdict)
        o.set("result", t.result)
        if let to = t.to { o.set("to", to); o.set("redirect", t.ingressRedirect ? "ingress" : "egress") }
        o.set("changed", .array(t.changed.map { .string($0) }))
        return o.value
    }

    static func stageDocument(_ s: TraceStage) -> JSONValue {
        var o: [(String, JSONValue)] = [("function", .string(s.stage.name)), ("cpu", .int(s.cpu)), ("time_ns", .int(Int(s.timeNs)))]
        if s.generated { o.append(("generated", .bool(true))) }
        return .object(o)
    }

    static func tupleDocument(_ t: FlowTuple?) -> JSONValue {
        guard let t else { return .null }
        return .object([("proto", .int(Int(t.proto))), ("src", .string(FlowTuple.text(t.src))), ("sport", t.sport.map { .int(Int($0)) } ?? .null),
                        ("dst", .string(FlowTuple.text(t.dst))), ("dport", t.dport.map { .int(Int($0)) } ?? .null)])
    }

    /// The packet in the next stack after a link: what that stack did, in its own trace's shape.
    static func hopDocument(_ h: Hop) -> JSONValue {
        let r = h.result
        var o = JSONObject()
        o.set("stack", h.stack)
        o.set("device", r.device)
        o.set("outcome", r.outcome.rawValue)
        o.set("drop_reason", r.dropReason.map { .string($0.rawValue) } ?? .null)
        o.setIfPresent("note", r.note)
        o.set("start_ns", Int(r.startNs))
        o.set("end_ns", Int(r.endNs))
        o.set("stages", .array(r.stages.map(stageDocument)))
        o.set("netfilter", .array(r.nfEvents.map { e in
            .object([("hook", .string(e.hook.rawValue)), ("table", .string(e.table)), ("chain", .string(e.chain)), ("type", .string(e.kind.rawValue)),
                     ("handle", e.handle.map { .int($0) } ?? .null), ("rule", e.rule.map { .string($0) } ?? .null), ("verdict", .string(e.verdict))])
        }))
        o.set("emitted", .array(r.emitted.map { e in
            .object([("device", .string(e.device)), ("time_ns", .int(Int(e.timeNs))), ("hex", .string(Hex.encode(e.frame)))])
        }))
        return o.value
    }

    /// The `summary` trace mode's row: outcome, drop reason, the last stage reached and the rules
    /// (or policies) that decided, without stages, frames or rule text; the next stacks' outcomes
    /// when it crossed links. Written straight into bytes: a summary-mode batch renders one a
    /// packet, and a document tree was most of that.
    static func summaryText(id: Int64, stack: String, createdAt: String, _ r: PacketResult, hops: [Hop] = []) -> String {
        let rules = r.nfEvents.lazy.filter { !$0.generated && ($0.kind == .rule || $0.kind == .policy) }
            .map { SummaryRule(hook: $0.hook.rawValue, table: $0.table, chain: $0.chain, handle: $0.handle, verdict: $0.verdict) }
        let hopList: JSONValue? = hops.isEmpty ? nil : .array(hops.map { h in
            .object([("stack", .string(h.stack)), ("device", .string(h.result.device)), ("outcome", .string(h.result.outcome.rawValue)),
                     ("drop_reason", h.result.dropReason.map { .string($0.rawValue) } ?? .null), ("end_ns", .int(Int(h.result.endNs)))])
        })
        return summaryText(id: id, stack: stack, device: r.device, outcome: r.outcome.rawValue, dropReason: r.dropReason?.rawValue, errno: r.errno,
                           createdAt: createdAt, startNs: Int(r.startNs), endNs: Int(r.endNs), lastStage: r.stages.last?.stage.name, xdpAction: r.xdp?.action,
                           rules: rules, hops: hopList)
    }

    /// A summary row that needs nothing but its columns (no hops, errno or XDP action): it is
    /// stored without its text (`TraceStorage.document` writes it again from them).
    static func summaryFromColumns(_ r: PacketResult, hops: [Hop]) -> Bool { hops.isEmpty && r.errno == nil && r.xdp == nil }

    /// The same text from a stored row's columns (a row `summaryFromColumns` said needs nothing else).
    static func summaryText(_ t: TraceRecord) -> String {
        let x = t.index
        let rules = x.rules.lazy.map { SummaryRule(hook: $0.hook, table: $0.family.isEmpty ? $0.table : "\($0.family) \($0.table)", chain: $0.chain,
                                                   handle: $0.handle.map { Int($0) }, verdict: $0.verdict) }
        return summaryText(id: t.id, stack: t.stackName, device: t.device, outcome: t.outcome, dropReason: t.dropReason, errno: nil, createdAt: t.createdAt,
                           startNs: Int(x.startNs ?? 0), endNs: Int(x.endNs ?? 0), lastStage: x.lastStage, xdpAction: nil, rules: rules)
    }

    /// A rule (or policy) a summary row names.
    struct SummaryRule {
        var hook: String, table: String, chain: String, handle: Int?, verdict: String
    }

    private static func summaryText(id: Int64, stack: String, device: String, outcome: String, dropReason: String?, errno: String?, createdAt: String,
                                    startNs: Int, endNs: Int, lastStage: String?, xdpAction: String?, rules: some Sequence<SummaryRule>,
                                    hops: JSONValue? = nil) -> String {
        var o: [UInt8] = []
        o.reserveCapacity(320)
        func key(_ k: StaticString) { o.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount)) }
        func text(_ v: String?) { if let v { JSONValue.quote(v, into: &o) } else { key("null") } }
        key("{\"trace_id\":"); JSONValue.decimal(Int(id), into: &o)
        key(",\"stack\":"); text(stack)
        key(",\"device\":"); text(device)
        key(",\"trace\":\"summary\",\"outcome\":"); text(outcome)
        key(",\"drop_reason\":"); text(dropReason)
        if let e = errno { key(",\"errno\":"); text(e) }
        key(",\"created_at\":"); text(createdAt)
        key(",\"start_ns\":"); JSONValue.decimal(startNs, into: &o)
        key(",\"end_ns\":"); JSONValue.decimal(endNs, into: &o)
        key(",\"last_stage\":"); text(lastStage)
        if let x = xdpAction { key(",\"xdp_action\":"); text(x) }
        key(",\"rules\":[")
        var first = true
        for e in rules {
            if !first { o.append(UInt8(ascii: ",")) }
            first = false
            key("{\"hook\":"); text(e.hook)
            key(",\"table\":"); text(e.table)
            key(",\"chain\":"); text(e.chain)
            key(",\"handle\":")
            if let h = e.handle { JSONValue.decimal(h, into: &o) } else { key("null") }
            key(",\"verdict\":"); text(e.verdict)
            o.append(UInt8(ascii: "}"))
        }
        key("]")
        if let hops { key(",\"hops\":"); o.append(contentsOf: hops.utf8()) }
        o.append(UInt8(ascii: "}"))
        return String(decoding: o, as: UTF8.self)
    }

    /// The list form: the columns, without stages and frame.
    static func summary(_ t: TraceRecord) -> JSONValue {
        var o = JSONObject()
        o.set("trace_id", Int(t.id))
        o.set("stack", t.stackName)
        o.set("device", t.device)
        o.set("outcome", t.outcome)
        o.set("drop_reason", t.dropReason.map { .string($0) } ?? .null)
        o.set("created_at", t.createdAt)
        let x = t.index
        o.set("start_ns", x.startNs.map { .int(Int($0)) } ?? .null)
        o.set("end_ns", x.endNs.map { .int(Int($0)) } ?? .null)
        o.set("length", x.length.map { .int(Int($0)) } ?? .null)
        o.set("last_stage", x.lastStage.map { .string($0) } ?? .null)
        o.set("tuple", tupleDocument(TraceIndexing.tuple(proto: x.proto, saddr: x.saddr, daddr: x.daddr, sport: x.sport, dport: x.dport)))
        o.set("final_tuple", tupleDocument(TraceIndexing.tuple(proto: x.proto, saddr: x.natSaddr, daddr: x.natDaddr, sport: x.natSport, dport: x.natDport)))
        return o.value
    }
}

extension TraceDocument {
    /// What `nft monitor trace` prints after "packet: " for an event's dumped headers.
    static func packetText(_ table: String, _ p: NFTracePacket) -> String {
        let family = String(table.prefix { $0 != " " })
        return NFTraceText.packet(family: family, iif: p.iif, oif: p.oif, ll: p.ll, nh: p.nh, th: p.th, ipv6: p.ipv6, llEther: p.llEther)
    }

    /// The netfilter part of a stored trace as `nft monitor trace` prints it: each base chain's run
    /// starts with the packet as it stood; packets the stack generated because of this one (ICMP
    /// errors, resets, replies) print under their own id, this trace's with the top bit set, and
    /// what came back in through lo under another (skb_iif is in the id's hash), bit 30 set.
    /// `tracedOnly`: only what the real tool shows, the events of a packet whose nf_trace was set
    /// (`meta nftrace set 1`), the run's packet line before its first such event; otherwise every event.
    static func nftMonitorText(_ doc: JSONValue, tracedOnly: Bool = false) -> String {
        guard case .int(let id) = doc["trace_id"] ?? .null, case .array(let events) = doc["netfilter"] ?? .null else { return "" }
        func tid(_ n: UInt32) -> String {
            let hex = String(n, radix: 16)
            return String(repeating: "0", count: max(0, 8 - hex.count)) + hex
        }
        let own = UInt32(truncatingIfNeeded: id)
        // The packet line of the base chain run now printing, until it is printed.
        var pending: String? = nil
        return events.map { e -> String in
            guard case .string(let table) = e["table"] ?? .null, case .string(let chain) = e["chain"] ?? .null,
                  case .string(let type) = e["type"] ?? .null, case .string(let verdict) = e["verdict"] ?? .null, type != "log" else { return "" }
            if case .string(let p) = e["packet"] ?? .null { pending = p }
            if tracedOnly && e["nftrace"] != .bool(true) { return "" }
            let bits = (e["generated"] == .bool(true) ? 0x8000_0000 : 0) | (e["looped"] == .bool(true) ? 0x4000_0000 : 0) as UInt32
            let head = "trace id \(tid(own | bits)) \(table) \(chain) "
            var out = ""
            if let p = pending { out += head + "packet: " + p + "\n"; pending = nil }
            switch type {
            case "policy": out += head + "policy \(verdict) \n"
            case "return": out += head + "verdict \(verdict) \n"
            default:
                let rule: String
                if case .string(let r) = e["rule"] ?? .null { rule = r } else { rule = "" }
                out += head + "rule \(rule) (verdict \(verdict))\n"
            }
            return out
        }.joined()
    }

    /// Traces as a pcapng file: each packet as it arrived on its device (inbound), then what the
    /// stack sent because of it, on the device it left (outbound); one comment per packet (the
    /// trace, its outcome, drop reason and the rules that decided), as `tshark -r` shows it.
    /// Interfaces are "stack:device". A send's datagram is not a frame on a wire: only what it put
    /// on one is written. With `wire`, only that device's frames, both directions, in time order.
    static func pcapng(_ bodies: [String], wire: (stack: String, device: String)? = nil) -> [UInt8] {
        var interfaces: [String] = wire.map { ["\($0.stack):\($0.device)"] } ?? []
        func interface(_ name: String) -> Int {
            if let k = interfaces.firstIndex(of: name) { return k }
            interfaces.append(name)
            return interfaces.count - 1
        }
        var packets: [(interface: Int, timeNs: UInt64, frame: [UInt8], comment: String?)] = []
        var directions: [UInt8] = []
        for body in bodies {
            guard let doc = try? JSONParser.parse(body), case .int(let id) = doc["trace_id"] ?? .null,
                  case .string(let stack) = doc["stack"] ?? .null, case .string(let device) = doc["device"] ?? .null else { continue }
            let start = if case .int(let t) = doc["start_ns"] ?? .null { UInt64(max(0, t)) } else { UInt64(0) }
            var comment = "trace \(id): \(doc["outcome"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "?")"
            if case .string(let r) = doc["drop_reason"] ?? .null { comment += " (\(r))" }
            if case .array(let events) = doc["netfilter"] ?? .null {
                let rules = events.compactMap { e -> String? in
                    guard case .string(let t) = e["table"] ?? .null, case .string(let c) = e["chain"] ?? .null,
                          case .string(let v) = e["verdict"] ?? .null, e["generated"] != .bool(true),
                          e["type"] == .string("rule") || e["type"] == .string("policy") else { return nil }
                    let h = if case .int(let h) = e["handle"] ?? .null { " handle \(h)" } else { " policy" }
                    return "\(t) \(c)\(h) \(v)"
                }
                if !rules.isEmpty { comment += "; " + rules.joined(separator: ", ") }
            }
            // An arrival: the trace starts at the NIC.
            let arrived = if case .array(let st) = doc["stages"] ?? .null { TraceViews.string(st.first?["function"]) == "nic_receive" } else { false }
            if arrived, wire == nil || wire?.device == device, case .string(let hex) = doc["frame_hex"] ?? .null, let frame = try? Hex.decode(hex) {
                packets.append((interface("\(stack):\(device)"), start, frame, comment))
                directions.append(1)
            }
            if case .array(let emitted) = doc["emitted"] ?? .null {
                for x in emitted {
                    guard case .string(let dev) = x["device"] ?? .null, wire == nil || wire?.device == dev,
                          case .string(let h) = x["hex"] ?? .null, let f = try? Hex.decode(h) else { continue }
                    let t = if case .int(let t) = x["time_ns"] ?? .null { UInt64(max(0, t)) } else { start }
                    packets.append((interface("\(stack):\(dev)"), t, f, "trace \(id): sent by the stack"))
                    directions.append(2)
                }
            }
        }
        if wire != nil {
            // One device's wire in time order (a stable sort keeps each trace's own order).
            let order = packets.indices.sorted { (packets[$0].timeNs, $0) < (packets[$1].timeNs, $1) }
            packets = order.map { packets[$0] }
            directions = order.map { directions[$0] }
        }
        return PCAP.writeNG(interfaces: interfaces, packets: packets, directions: directions)
    }
}

extension App {
    /// `GET /v1/drop_reasons`: every drop reason a trace can carry (the kernel's
    /// `enum skb_drop_reason` names), with what it means.
    func dropReasons(_ req: HTTPRequest) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        return jsonResponse(200, .object([("items", .array(DropReason.allCases.map { r in
            .object([("name", .string(r.rawValue)), ("summary", .string(r.summary))])
        }))]))
    }
}
