import JSON

/// Text views of stored traces in the shape of the tools people use on live kernels.
enum TraceViews {
    /// pwru (`--output-tuple`): a header, then a line per kernel function each packet went through:
    /// the trace (a packet the stack generated because of it shows as `N+`), CPU, virtual time, the
    /// tuple the packet carried there (after NAT once NAT changed it; `-` for generated packets,
    /// whose tuple the trace does not keep) and the function, `kfree_skb_reason` with its reason.
    static func pwru(_ docs: [JSONValue]) -> String {
        var out = pad("SKB", 10) + " " + pad("CPU", 3) + " " + pad("TIME_NS", 14) + " " + pad("TUPLE", 48) + " FUNC\n"
        for doc in docs {
            guard case .int(let id) = doc["trace_id"] ?? .null, case .array(let stages) = doc["stages"] ?? .null else { continue }
            let changes = tupleChanges(doc)
            var tuple = doc["tuple"] ?? .null
            let reason = string(doc["drop_reason"])
            for (k, s) in stages.enumerated() {
                if let t = changes.last(where: { $0.from <= k }) { tuple = t.tuple }
                let generated = s["generated"] == .bool(true)
                var fn = string(s["function"]) ?? "?"
                if fn == "kfree_skb_reason", !generated, let reason { fn += "(SKB_DROP_REASON_\(reason))" }
                out += pad(generated ? "\(id)+" : "\(id)", 10) + " " + pad(int(s["cpu"]).map(String.init) ?? "-", 3) + " "
                    + pad(int(s["time_ns"]).map(String.init) ?? "-", 14) + " " + pad(generated ? "-" : pwruTuple(tuple), 48) + " " + fn + "\n"
            }
        }
        return out
    }

    /// retis (`retis print` after `retis sort`): one group per packet, headed by its trace, stack,
    /// device, tuple and outcome; an event line per function (time, CPU, `[k]` probe) with the
    /// packet under the first and under any NAT change; then the netfilter events, as nft prints them.
    static func retis(_ docs: [JSONValue]) -> String {
        var out = ""
        for doc in docs {
            guard case .int(let id) = doc["trace_id"] ?? .null else { continue }
            var head = "trace \(id) [\(string(doc["stack"]) ?? "?")] \(string(doc["device"]) ?? "?") \(tcpdumpTuple(doc["tuple"] ?? .null))"
            head += " \(string(doc["outcome"]) ?? "?")"
            if let r = string(doc["drop_reason"]) { head += " (\(r))" }
            out += head + "\n"
            let changes = tupleChanges(doc)
            if case .array(let stages) = doc["stages"] ?? .null {
                for (k, s) in stages.enumerated() {
                    let generated = s["generated"] == .bool(true)
                    out += "  \(k == 0 ? " " : "↳") \(int(s["time_ns"]).map(String.init) ?? "-") (\(int(s["cpu"]).map(String.init) ?? "-")) [k] \(string(s["function"]) ?? "?")"
                    out += generated ? " (generated packet)\n" : "\n"
                    if k == 0 { out += "      \(tcpdumpTuple(doc["tuple"] ?? .null))\n" }
                    if let t = changes.first(where: { $0.from == k }) { out += "      \(tcpdumpTuple(t.tuple)) (after NAT)\n" }
                }
            } else if let last = string(doc["last_stage"]) {
                out += "    last stage \(last) (a summary trace keeps no events)\n"
            }
            if case .array(let events) = doc["netfilter"] ?? .null {
                for e in events {
                    guard let table = string(e["table"]), let chain = string(e["chain"]), let type = string(e["type"]),
                          let verdict = string(e["verdict"]), type != "log" else { continue }
                    let what = type == "rule" ? "rule \(string(e["rule"]) ?? "") (verdict \(verdict))" : type == "policy" ? "policy \(verdict)" : "verdict \(verdict)"
                    out += "    [nft] \(string(e["hook"]) ?? "?") \(table) \(chain) \(what)\(e["generated"] == .bool(true) ? " (generated packet)" : "")\n"
                }
            }
        }
        return out
    }

    static func tupleChanges(_ doc: JSONValue) -> [(from: Int, tuple: JSONValue)] {
        guard case .array(let a) = doc["tuple_changes"] ?? .null else { return [] }
        return a.compactMap { c in int(c["from_stage"]).map { ($0, c["tuple"] ?? .null) } }
    }

    /// pwru's tuple: `src:sport->dst:dport(proto)`, ports 0 when the protocol has none.
    static func pwruTuple(_ t: JSONValue) -> String {
        guard let src = string(t["src"]), let dst = string(t["dst"]), let proto = int(t["proto"]) else { return "-" }
        return "\(src):\(int(t["sport"]) ?? 0)->\(dst):\(int(t["dport"]) ?? 0)(\(protoName(proto)))"
    }

    /// tcpdump's way: `src.sport > dst.dport proto`.
    static func tcpdumpTuple(_ t: JSONValue) -> String {
        guard let src = string(t["src"]), let dst = string(t["dst"]), let proto = int(t["proto"]) else { return "(not IP)" }
        let s = int(t["sport"]).map { "\(src).\($0)" } ?? src, d = int(t["dport"]).map { "\(dst).\($0)" } ?? dst
        return "\(s) > \(d) \(protoName(proto))"
    }

    static func protoName(_ p: Int) -> String {
        switch p {
        case 1: "icmp"
        case 6: "tcp"
        case 17: "udp"
        case 58: "icmp6"
        case 132: "sctp"
        default: String(p)
        }
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    static func string(_ v: JSONValue?) -> String? { if case .string(let s) = v ?? .null { s } else { nil } }
    static func int(_ v: JSONValue?) -> Int? { if case .int(let n) = v ?? .null { n } else { nil } }
}
