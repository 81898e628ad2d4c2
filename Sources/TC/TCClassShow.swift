import JSON
import Kernel

// tc/tc_class.c print_class and q_htb.c htb_print_opt / htb_print_xstats.
extension TC {
    /// `tc [-s] class show [dev DEV]` as text; `oneDev`: a device was named (not printed then).
    public static func showClassesText(_ devs: [(dev: String, classes: [HTBClassInfo])], oneDev: Bool, stats: Bool) -> String {
        var out = ""
        for (dev, classes) in devs {
            for c in classes {
                out += "class htb \(classText(c.classid)) "
                if !oneDev { out += "dev \(dev) " }
                out += c.parent.map { "parent \(classText($0)) " } ?? "root "
                if let l = c.leafHandle { out += "leaf \(handle(l)) " }
                if c.level == 0 { out += "prio \(c.spec.prio) " }
                let shown = burstsShown(c.spec)
                out += "rate \(TCUnits.rateText(c.spec.rate)) ceil \(TCUnits.rateText(c.spec.ceil)) "
                out += "burst \(TCUnits.sizeText(shown.burst)) cburst \(TCUnits.sizeText(shown.cburst)) \n"
                if stats {
                    out += " Sent \(c.bytes) bytes \(c.packets) pkt (dropped \(c.drops), overlimits \(c.overlimits) requeues 0) \n"
                    out += " backlog \(TCUnits.sizeText(c.backlog)) \(c.qlen)p requeues 0\n"
                    out += " lended: \(c.lends) borrowed: \(c.borrows) giants: \(c.giants)\n"
                    out += " tokens: \(c.tokens) ctokens: \(c.ctokens)\n\n"
                }
            }
        }
        return out
    }

    /// The same as JSON (tc 6.1 prints htb classes only as text; the keys follow its qdisc JSON).
    public static func showClassesJSON(_ devs: [(dev: String, classes: [HTBClassInfo])], oneDev: Bool, stats: Bool) -> JSONValue {
        .array(devs.flatMap { dev, classes in
            classes.map { c in
                var o = JSONObject()
                o.set("class", "htb")
                o.set("handle", classText(c.classid))
                if !oneDev { o.set("dev", dev) }
                if let p = c.parent { o.set("parent", classText(p)) } else { o.set("root", true) }
                if let l = c.leafHandle { o.set("leaf", handle(l)) }
                if c.level == 0 { o.set("prio", c.spec.prio); o.set("quantum", c.quantum) }
                let shown = burstsShown(c.spec)
                o.set("rate", Int(c.spec.rate)); o.set("ceil", Int(c.spec.ceil))
                o.set("burst", shown.burst); o.set("cburst", shown.cburst)
                o.set("level", c.level)
                if stats {
                    o.set("bytes", c.bytes); o.set("packets", c.packets); o.set("drops", c.drops); o.set("overlimits", c.overlimits)
                    o.set("requeues", 0); o.set("backlog", c.backlog); o.set("qlen", c.qlen)
                    o.set("lended", c.lends); o.set("borrowed", c.borrows); o.set("giants", c.giants)
                    o.set("tokens", c.tokens); o.set("ctokens", c.ctokens)
                }
                return o.value
            }
        })
    }

    /// What tc prints back for burst and cburst: `tc_calc_xmitsize` of the ticks it sent.
    static func burstsShown(_ s: HTBClassSpec) -> (burst: Int, cburst: Int) {
        func size(_ rate: UInt64, _ ticks: UInt32) -> Int {
            let us = Double(TCUnits.u32(Double(ticks) / 15.625))
            return TCUnits.u32(Double(rate) * us / 1_000_000)
        }
        return (size(s.rate, s.buffer), size(s.ceil, s.cbuffer))
    }
}
