/// One qdisc as `tc -s qdisc show` lists it.
public struct QdiscInfo: Sendable {
    public var dev: String
    public var kind: String
    public var handle: UInt32
    /// nil for the root.
    public var parent: (major: UInt32, minor: UInt32)?
    public var refcnt: Int?
    /// Options in force, defaults filled in: pfifo/bfifo limit (packets/bytes), tbf's spec.
    public var limit: Int?
    public var tbf: TBFSpec?
    public var fqCodel: FQCoDelSpec?
    /// fq_codel's quantum as in force (the device's psched_mtu unless given).
    public var quantum: Int?
    public var fqCodelStats: FQCoDelStats?
    public var stats: QdiscStats
}

// net/sched/sch_api.c: qdisc_graft and friends, as far as the model's trees go (a root and, under
// a classful root, one child).
extension Stack {
    /// Builds each device's qdisc tree from what tc set, in order; a device not named keeps its
    /// default. A qdisc whose configuration did not change keeps its state and counters; one
    /// replaced drops what it held (`qdisc_reset`).
    public func setQdiscs(_ list: [QdiscConfig]) throws(ConfigError) {
        var roots: [Int: QdiscConfig] = [:], children: [Int: QdiscConfig] = [:]
        for (i, c) in list.enumerated() {
            guard let dev = devices.firstIndex(where: { $0.name == c.dev }) else {
                throw ConfigError(path: "/qdiscs/\(i)/dev", message: "no device named \(c.dev)")
            }
            if c.spec == .noqueue && !(c.parent == nil && devices[dev].config.veth) {
                throw ConfigError(path: "/qdiscs/\(i)", message: "noqueue is only the default root of a virtual device")
            }
            guard let p = c.parent else {
                guard roots[dev] == nil else { throw ConfigError(path: "/qdiscs/\(i)", message: "\(c.dev) has a root qdisc already") }
                roots[dev] = c
                continue
            }
            guard let r = roots[dev], r.handle == p.major else {
                throw ConfigError(path: "/qdiscs/\(i)/parent", message: "no qdisc \(Stack.handleText(p.major)) on \(c.dev) to be the parent")
            }
            guard r.spec.classful else { throw ConfigError(path: "/qdiscs/\(i)/parent", message: "\(r.spec.kind) is classless: it has no class to take a child") }
            guard children[dev] == nil else { throw ConfigError(path: "/qdiscs/\(i)", message: "class \(String(p.major, radix: 16)):\(String(p.minor, radix: 16)) has a child already") }
            guard c.handle != r.handle else { throw ConfigError(path: "/qdiscs/\(i)/handle", message: "handle \(Stack.handleText(c.handle)) is taken on \(c.dev)") }
            children[dev] = c
        }
        for (i, d) in devices.enumerated() {
            let tx = d.tx
            let root = roots[i], child = children[i]
            if root != tx.rootConfig {
                drain(tx.qdisc)
                tx.qdisc = root.map { makeQdisc($0.spec, handle: $0.handle, dev: d) } ?? NetDevice.defaultQdisc(d.config)
                tx.rootConfig = root
                tx.childConfig = nil
            }
            if child != tx.childConfig {
                if let old = tx.qdisc.child { drain(old) }
                tx.qdisc.child = child.map { makeQdisc($0.spec, handle: $0.handle, dev: d) }
                tx.childConfig = child
            }
        }
    }

    private func makeQdisc(_ spec: QdiscSpec, handle: UInt32, dev d: NetDevice) -> Qdisc {
        switch spec {
        case .noqueue: NoQueue()
        case .pfifoFast: PFifoFast(handle: handle, txqueuelen: d.config.txQueueLen)
        case .pfifo, .bfifo: FIFOQdisc(handle: handle, spec: spec, txqueuelen: d.config.txQueueLen, psched_mtu: d.pschedMTU)
        case .tbf(let t): TBF(handle: handle, spec: t, now: clockNs)
        case .fqCodel(let f): FQCoDel(handle: handle, spec: f, psched_mtu: d.pschedMTU)
        }
    }

    /// `qdisc_reset` of a qdisc being replaced: what it held is freed.
    private func drain(_ q: Qdisc) {
        for skb in q.reset() where !skb.generated { finish(skb, drop(.NOT_SPECIFIED, "qdisc replaced")) }
    }

    /// `tc -s qdisc show [dev DEV]`: each device's root, then its child.
    public func qdiscInfo(dev name: String? = nil) -> [QdiscInfo] {
        var out: [QdiscInfo] = []
        for d in devices where name == nil || d.name == name {
            let tx = d.tx
            // The kernel counts a reference per TX queue (a veth has one per CPU) plus the device's.
            let refcnt = 1 + (d.config.veth ? config.cpus : 1)
            out.append(info(tx.qdisc, dev: d.name, parent: nil, refcnt: tx.rootConfig == nil ? 2 : refcnt))
            if let c = tx.childConfig, let q = tx.qdisc.child {
                out.append(info(q, dev: d.name, parent: c.parent, refcnt: nil))
            }
        }
        return out
    }

    private func info(_ q: Qdisc, dev: String, parent: (major: UInt32, minor: UInt32)?, refcnt: Int?) -> QdiscInfo {
        var i = QdiscInfo(dev: dev, kind: q.spec.kind, handle: q.handle, parent: parent, refcnt: refcnt, stats: q.stats)
        if let f = q as? FIFOQdisc { i.limit = f.limit }
        if case .tbf(let t) = q.spec { i.tbf = t }
        if let f = q as? FQCoDel {
            i.fqCodel = f.opts; i.quantum = f.quantum
            i.fqCodelStats = f.currentStats
        }
        return i
    }
}
