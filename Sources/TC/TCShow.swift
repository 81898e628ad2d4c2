import JSON
import Kernel

// tc/tc_qdisc.c print_qdisc, q_fifo.c, q_tbf.c, tc_util.c print_tcstats2_attr.
extension TC {
    /// `tc [-s] qdisc show [dev DEV]` as text; `oneDev`: a device was named (its name is not printed).
    public static func showText(_ qs: [QdiscInfo], oneDev: Bool, stats: Bool) -> String {
        var out = ""
        for q in qs {
            out += "qdisc \(q.kind) \(handle(q.handle)) "
            if !oneDev { out += "dev \(q.dev) " }
            if let p = q.parent { out += "parent \(String(p.major, radix: 16)):\(String(p.minor, radix: 16)) " } else { out += "root " }
            if let r = q.refcnt { out += "refcnt \(r) " }
            out += optionsText(q)
            out += "\n"
            if stats {
                let s = q.stats
                out += " Sent \(s.bytes) bytes \(s.packets) pkt (dropped \(s.drops), overlimits \(s.overlimits) requeues \(s.requeues)) \n"
                out += " backlog \(TCUnits.sizeText(s.backlog)) \(s.qlen)p requeues \(s.requeues)\n"
                if let x = q.fqCodelStats {
                    out += "  maxpacket \(x.maxpacket) drop_overlimit \(x.dropOverlimit) new_flow_count \(x.newFlowCount) ecn_mark \(x.ecnMark)"
                    if x.memoryUsed > 0 { out += " memory_used \(x.memoryUsed)" }
                    if x.dropOvermemory > 0 { out += " drop_overmemory \(x.dropOvermemory)" }
                    out += "\n  new_flows_len \(x.newFlowsLen) old_flows_len \(x.oldFlowsLen)\n"
                }
                if let c = q.cakeStats { out += cakeStatsText(c) }
            }
        }
        return out
    }

    private static func optionsText(_ q: QdiscInfo) -> String {
        switch q.kind {
        case "pfifo": return "limit \(q.limit ?? 0)p"
        case "bfifo": return "limit \(TCUnits.sizeText(q.limit ?? 0))"
        case "pfifo_fast": return "bands 3 priomap " + priomap.map(String.init).joined(separator: " ")
        case "tbf":
            let t = tbfShown(q.tbf!)
            var s = "rate \(TCUnits.rateText(q.tbf!.rate)) burst \(TCUnits.sizeText(t.burst)) "
            if let lat = t.latency { s += "lat \(TCUnits.timeText(lat)) " } else { s += "limit \(TCUnits.sizeText(q.tbf!.limit)) " }
            return s
        case "fq_codel":
            let f = q.fqCodel!
            return "limit \(f.limit)p flows \(f.flows) quantum \(q.quantum ?? 0) target \(TCUnits.timeText(f.targetUs)) interval \(TCUnits.timeText(f.intervalUs)) "
                + "memory_limit \(TCUnits.sizeText(f.memoryLimit)) \(f.ecn ? "ecn " : "")drop_batch \(f.dropBatch) "
        case "cake": return cakeOptionsText(q.cake!)
        case "htb":
            let h = q.htb!
            return "r2q \(h.r2q) default \(hex(h.defcls)) direct_packets_stat \(q.htbDirectPackets) direct_qlen \(q.htbDirectQlen)"
        default: return ""
        }
    }

    static let priomap = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]

    /// What tc prints for a tbf: the burst back from the kernel's bucket in psched ticks (64 ns;
    /// tc converts at 15.625 ticks per µs, truncating), and the latency the limit allows beyond
    /// it (nil when negative: tc prints the limit instead).
    static func tbfShown(_ t: TBFSpec) -> (burst: Int, latency: Int?) {
        let bufferNs = PSchedRate(bytesPerSec: t.rate).l2t(t.burst)
        let ticks = bufferNs >> 6
        let bufferUs = Double(TCUnits.u32(Double(ticks) / 15.625))
        let burst = TCUnits.u32(Double(t.rate) * bufferUs / 1_000_000)
        let latency = 1_000_000 * (Double(t.limit) / Double(t.rate)) - bufferUs
        return (burst, latency >= 0 ? TCUnits.u32(latency) : nil)
    }

    /// `tc -s -j qdisc show`.
    public static func showJSON(_ qs: [QdiscInfo], oneDev: Bool, stats: Bool) -> JSONValue {
        .array(qs.map { q in
            var o = JSONObject()
            o.set("kind", q.kind)
            o.set("handle", handle(q.handle))
            if !oneDev { o.set("dev", q.dev) }
            if let p = q.parent { o.set("parent", "\(String(p.major, radix: 16)):\(String(p.minor, radix: 16))") } else { o.set("root", true) }
            if let r = q.refcnt { o.set("refcnt", r) }
            var opt = JSONObject()
            switch q.kind {
            case "pfifo", "bfifo": opt.set("limit", q.limit ?? 0)
            case "pfifo_fast":
                opt.set("bands", 3)
                opt.set("priomap", .array(priomap.map { .int($0) }))
                opt.set("multiqueue", false)
            case "tbf":
                let t = tbfShown(q.tbf!)
                opt.set("rate", Int(q.tbf!.rate))
                opt.set("burst", t.burst)
                if let lat = t.latency { opt.set("lat", lat) } else { opt.set("limit", q.tbf!.limit) }
            case "fq_codel":
                let f = q.fqCodel!
                opt.set("limit", f.limit); opt.set("flows", f.flows); opt.set("quantum", q.quantum ?? 0)
                opt.set("target", f.targetUs); opt.set("interval", f.intervalUs); opt.set("memory_limit", f.memoryLimit)
                if f.ecn { opt.set("ecn", true) }
                opt.set("drop_batch", f.dropBatch)
            case "htb":
                opt.set("r2q", q.htb!.r2q); opt.set("default", hex(q.htb!.defcls))
                opt.set("direct_packets_stat", q.htbDirectPackets); opt.set("direct_qlen", q.htbDirectQlen)
            default: break
            }
            if q.kind == "cake" { o.set("options", cakeOptionsJSON(q.cake!)) } else { o.set("options", opt.value) }
            if stats {
                let s = q.stats
                o.set("bytes", s.bytes); o.set("packets", s.packets); o.set("drops", s.drops)
                o.set("overlimits", s.overlimits); o.set("requeues", s.requeues)
                o.set("backlog", s.backlog); o.set("qlen", s.qlen)
                if let x = q.fqCodelStats {
                    o.set("maxpacket", x.maxpacket); o.set("drop_overlimit", x.dropOverlimit); o.set("new_flow_count", x.newFlowCount)
                    o.set("ecn_mark", x.ecnMark)
                    if x.memoryUsed > 0 { o.set("memory_used", x.memoryUsed) }
                    if x.dropOvermemory > 0 { o.set("drop_overmemory", x.dropOvermemory) }
                    o.set("new_flows_len", x.newFlowsLen); o.set("old_flows_len", x.oldFlowsLen)
                }
                if let c = q.cakeStats { cakeStatsJSON(c, into: &o) }
            }
            return o.value
        })
    }

    static func handle(_ h: UInt32) -> String { String(h, radix: 16) + ":" }

    /// printf's `%#x`: 0 alone, else with 0x.
    static func hex(_ v: UInt32) -> String { v == 0 ? "0" : "0x" + String(v, radix: 16) }

}
