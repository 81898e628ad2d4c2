import JSON
import Kernel

// tc/q_cake.c: options and the tin table.
extension TC {
    static let cakePresets: [(String, Int, Int)] = [
        ("datacentre", 5, 100), ("lan", 50, 1000), ("metro", 500, 10_000), ("regional", 1500, 30_000), ("internet", 5000, 100_000),
        ("oceanic", 15_000, 300_000), ("satellite", 50_000, 1_000_000), ("interplanetary", 50_000_000, 1_000_000_000),
    ]

    /// `cake_parse_opt` for what the model has; the rest is refused as not supported yet.
    static func parseCake(_ w: [String], base: Int) throws(TCError) -> CakeSpec {
        var c = CakeSpec()
        var i = 1
        func unsupported(_ k: String) -> TCError { TCError("cake: \"\(k)\" is not supported yet", word: base + i) }
        while i < w.count {
            let k = w[i]
            switch k {
            case "bandwidth":
                guard i + 1 < w.count else { throw TCError("Command line is not complete. Try option \"help\"", word: base + i) }
                guard let r = TCUnits.rate(w[i + 1]) else { throw TCError("Illegal \"bandwidth\"", word: base + i + 1) }
                c.rate = r
                i += 1
            case "unlimited": c.rate = 0
            case "rtt":
                guard i + 1 < w.count else { throw TCError("Command line is not complete. Try option \"help\"", word: base + i) }
                guard let t = TCUnits.time(w[i + 1]) else { throw TCError("Illegal \"rtt\"", word: base + i + 1) }
                c.rttUs = t; c.targetUs = max(t / 20, 1)
                i += 1
            case "memlimit":
                guard i + 1 < w.count else { throw TCError("Command line is not complete. Try option \"help\"", word: base + i) }
                guard let s = TCUnits.size(w[i + 1]) else { throw TCError("Illegal value for \"memlimit\": \"\(w[i + 1])\"", word: base + i + 1) }
                c.memlimit = s
                i += 1
            case "besteffort": c.diffserv = .besteffort
            case "diffserv3": c.diffserv = .diffserv3
            case "flowblind": c.flowMode = .flowblind
            case "flows": c.flowMode = .flows
            case "triple-isolate": c.flowMode = .tripleIsolate
            case "wash": c.wash = true
            case "nowash": c.wash = false
            case "split-gso": c.splitGSO = true
            case "nonat", "raw", "egress", "no-ack-filter", "noatm": break
            case "diffserv4", "diffserv8", "diffserv", "precedence", "srchost", "dsthost", "hosts", "dual-srchost", "dual-dsthost", "nat",
                 "ingress", "ack-filter", "ack-filter-aggressive", "autorate-ingress", "no-split-gso", "overhead", "mpu", "atm", "ptm",
                 "conservative", "ethernet", "docsis", "ether-vlan", "via-ethernet", "ipoa-vcmux", "ipoa-llcsnap", "bridged-vcmux",
                 "bridged-llcsnap", "pppoa-vcmux", "pppoa-llc", "pppoe-vcmux", "pppoe-llcsnap", "pppoe-ptm", "bridged-ptm", "fwmark":
                throw unsupported(k)
            default:
                guard let p = cakePresets.first(where: { $0.0 == k }) else { throw TCError("What is \"\(k)\"?", word: base + i) }
                c.targetUs = p.1; c.rttUs = p.2
            }
            i += 1
        }
        return c
    }

    /// The options as `cake_print_opt` prints them.
    static func cakeOptionsText(_ c: CakeSpec) -> String {
        var s = "bandwidth \(c.rate == 0 ? "unlimited" : TCUnits.rateText(c.rate)) \(c.diffserv.rawValue) \(c.flowMode.rawValue) nonat "
        s += c.wash ? "wash " : "nowash "
        s += "no-ack-filter split-gso rtt \(TCUnits.timeText(c.rttUs)) raw overhead 0 "
        if c.memlimit > 0 { s += "memlimit \(TCUnits.sizeText(c.memlimit))" }
        return s
    }

    static func cakeOptionsJSON(_ c: CakeSpec) -> JSONValue {
        var o = JSONObject()
        if c.rate == 0 { o.set("bandwidth", "unlimited") } else { o.set("bandwidth", Int(c.rate)) }
        o.set("diffserv", c.diffserv.rawValue); o.set("flowmode", c.flowMode.rawValue)
        o.set("nat", false); o.set("wash", c.wash); o.set("ingress", false); o.set("ack-filter", "disabled"); o.set("split_gso", true)
        o.set("rtt", c.rttUs); o.set("raw", true); o.set("overhead", 0)
        if c.memlimit > 0 { o.set("memlimit", c.memlimit) }
        return o.value
    }

    /// `cake_print_xstats`: memory, capacity, sizes, then the tin table.
    static func cakeStatsText(_ s: CakeStats) -> String {
        func pad(_ v: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - v.count)) + v }
        var out = " memory used: \(TCUnits.sizeText(s.memoryUsed)) of \(TCUnits.sizeText(s.memoryLimit))\n"
        out += " capacity estimate: \(TCUnits.rateText(s.capacityEstimate))\n"
        out += " min/max network layer size: \(pad(String(s.minNetlen), 12)) /\(pad(String(s.maxNetlen), 8))\n"
        out += " min/max overhead-adjusted size: \(pad(String(s.minNetlen), 8)) /\(pad(String(s.maxNetlen), 8))\n"
        out += " average network hdr offset: \(pad(String(s.avgNetoff), 12))\n\n"
        switch s.tins.count {
        case 3: out += "                   Bulk  Best Effort        Voice\n"
        default: out += "          " + s.tins.indices.map { "        Tin \($0)" }.joined() + "\n"
        }
        func row(_ name: String, _ f: (CakeTinStats) -> String) { out += name + s.tins.map { " " + pad(f($0), 12) }.joined() + "\n" }
        row("  thresh  ") { TCUnits.rateText($0.thresholdRate) }
        row("  target  ") { TCUnits.timeText($0.targetUs) }
        row("  interval") { TCUnits.timeText($0.intervalUs) }
        row("  pk_delay") { TCUnits.timeText($0.peakDelayUs) }
        row("  av_delay") { TCUnits.timeText($0.avgDelayUs) }
        row("  sp_delay") { TCUnits.timeText($0.baseDelayUs) }
        row("  backlog ") { TCUnits.sizeText($0.backlog) }
        row("  pkts    ") { String($0.packets) }
        row("  bytes   ") { String($0.bytes) }
        row("  way_inds") { _ in "0" }
        row("  way_miss") { String($0.wayMisses) }
        row("  way_cols") { _ in "0" }
        row("  drops   ") { String($0.drops) }
        row("  marks   ") { String($0.marks) }
        row("  ack_drop") { _ in "0" }
        row("  sp_flows") { String($0.sparseFlows) }
        row("  bk_flows") { String($0.bulkFlows) }
        row("  un_flows") { String($0.unresponsiveFlows) }
        row("  max_len ") { String($0.maxLen) }
        row("  quantum ") { String($0.quantum) }
        return out
    }

    static func cakeStatsJSON(_ s: CakeStats, into o: inout JSONObject) {
        o.set("memory_used", s.memoryUsed); o.set("memory_limit", s.memoryLimit); o.set("capacity_estimate", Int(s.capacityEstimate))
        o.set("min_network_size", s.minNetlen); o.set("max_network_size", s.maxNetlen)
        o.set("min_adj_size", s.minNetlen); o.set("max_adj_size", s.maxNetlen); o.set("avg_hdr_offset", s.avgNetoff)
        o.set("tins", .array(s.tins.map { t in
            var x = JSONObject()
            x.set("threshold_rate", Int(t.thresholdRate)); x.set("sent_bytes", t.bytes); x.set("backlog_bytes", t.backlog)
            x.set("target_us", t.targetUs); x.set("interval_us", t.intervalUs); x.set("peak_delay_us", t.peakDelayUs)
            x.set("avg_delay_us", t.avgDelayUs); x.set("base_delay_us", t.baseDelayUs); x.set("sent_packets", t.packets)
            x.set("way_indirect_hits", 0); x.set("way_misses", t.wayMisses); x.set("way_collisions", 0); x.set("drops", t.drops)
            x.set("ecn_mark", t.marks); x.set("ack_drops", 0); x.set("sparse_flows", t.sparseFlows); x.set("bulk_flows", t.bulkFlows)
            x.set("unresponsive_flows", t.unresponsiveFlows); x.set("max_pkt_len", t.maxLen); x.set("flow_quantum", t.quantum)
            return x.value
        }))
    }

    /// The stored form's options: a preset's name when target and rtt are one, else rtt.
    static func cakeCommandOptions(_ c: CakeSpec) -> String {
        var s = (c.rate == 0 ? " unlimited" : " bandwidth \(c.rate * 8)bit") + " \(c.diffserv.rawValue) \(c.flowMode.rawValue)"
        if let p = cakePresets.first(where: { $0.1 == c.targetUs && $0.2 == c.rttUs }) { s += " \(p.0)" } else { s += " rtt \(c.rttUs)us" }
        if c.memlimit > 0 { s += " memlimit \(c.memlimit)b" }
        if c.wash { s += " wash" }
        return s
    }
}
