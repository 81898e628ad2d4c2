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
    /// htb's options, its direct queue's limit and the packets that went through it.
    public var htb: HTBSpec?
    public var htbDirectQlen = 0, htbDirectPackets = 0
    public var cake: CakeSpec?
    public var cakeStats: CakeStats?
    public var stats: QdiscStats
}

// net/sched/sch_api.c: qdisc_graft and friends, as far as the model's trees go: a root; under tbf
// one child at MAJ:1; under htb its classes and a qdisc per leaf class.
extension Stack {
    /// Builds each device's qdisc tree from what tc set, in order; a device not named keeps its
    /// default. A qdisc whose configuration did not change keeps its state and counters; one
    /// replaced drops what it held (`qdisc_reset`). An htb tree whose classes or leaf qdiscs
    /// changed is built again (its counters start over).
    public func setQdiscs(_ list: [QdiscConfig], classes: [TCClassConfig] = []) throws(ConfigError) {
        var roots: [Int: QdiscConfig] = [:], children: [Int: [QdiscConfig]] = [:], devClasses: [Int: [TCClassConfig]] = [:]
        for (i, c) in list.enumerated() {
            guard let dev = devices.firstIndex(where: { $0.name == c.dev }), !devices[dev].isLoopback else {
                throw ConfigError(path: "/qdiscs/\(i)/dev", message: c.dev == "lo" ? "not supported yet: a qdisc on lo" : "no device named \(c.dev)")
            }
            if c.spec == .noqueue && !(c.parent == nil && devices[dev].config.veth) {
                throw ConfigError(path: "/qdiscs/\(i)", message: "noqueue is only the default root of a virtual device")
            }
            guard c.parent == nil else { continue }
            guard roots[dev] == nil else { throw ConfigError(path: "/qdiscs/\(i)", message: "\(c.dev) has a root qdisc already") }
            roots[dev] = c
        }
        for (i, k) in classes.enumerated() {
            guard let dev = devices.firstIndex(where: { $0.name == k.dev }), let r = roots[dev], case .htb = r.spec, r.handle == k.classid >> 16 else {
                throw ConfigError(path: "/qdiscs", message: "class \(Stack.classText(k.classid)) of \(k.dev) has no htb qdisc \(Stack.handleText(k.classid >> 16))")
            }
            if let p = k.parent, !(devClasses[dev] ?? []).contains(where: { $0.classid == p }) {
                throw ConfigError(path: "/qdiscs", message: "class \(Stack.classText(k.classid)) has no parent class \(Stack.classText(p))")
            }
            guard !(devClasses[dev] ?? []).contains(where: { $0.classid == k.classid }) else {
                throw ConfigError(path: "/qdiscs", message: "class \(Stack.classText(k.classid)) exists")
            }
            _ = i
            devClasses[dev, default: []].append(k)
        }
        for (i, c) in list.enumerated() {
            guard let p = c.parent else { continue }
            let dev = devices.firstIndex { $0.name == c.dev }!
            guard let r = roots[dev], r.handle == p.major else {
                throw ConfigError(path: "/qdiscs/\(i)/parent", message: "no qdisc \(Stack.handleText(p.major)) on \(c.dev) to be the parent")
            }
            guard r.spec.classful else { throw ConfigError(path: "/qdiscs/\(i)/parent", message: "\(r.spec.kind) is classless: it has no class to take a child") }
            let id = p.major << 16 | p.minor
            if case .htb = r.spec {
                let ks = devClasses[dev] ?? []
                guard ks.contains(where: { $0.classid == id }) else { throw ConfigError(path: "/qdiscs/\(i)/parent", message: "no class \(Stack.classText(id)) on \(c.dev)") }
                guard !ks.contains(where: { $0.parent == id }) else { throw ConfigError(path: "/qdiscs/\(i)/parent", message: "class \(Stack.classText(id)) is not a leaf") }
            }
            guard !(children[dev] ?? []).contains(where: { $0.parent?.major == p.major && $0.parent?.minor == p.minor }) else {
                throw ConfigError(path: "/qdiscs/\(i)", message: "class \(Stack.classText(id)) has a child already")
            }
            guard c.handle != r.handle && !(children[dev] ?? []).contains(where: { $0.handle == c.handle }) else {
                throw ConfigError(path: "/qdiscs/\(i)/handle", message: "handle \(Stack.handleText(c.handle)) is taken on \(c.dev)")
            }
            children[dev, default: []].append(c)
        }
        for (i, d) in devices.enumerated() {
            let tx = d.tx
            let root = roots[i], kids = children[i] ?? [], ks = devClasses[i] ?? []
            var isHTB = false
            if case .htb? = root?.spec { isHTB = true }
            if root != tx.rootConfig || (isHTB && (ks != tx.classConfigs || kids != tx.childConfigs)) {
                // `tc qdisc change` (same kind and handle): qdisc_change keeps the counters, and an
                // unchanged child with what it holds.
                let old = tx.qdisc
                let changed = root != nil && tx.rootConfig != nil && root!.spec.kind == tx.rootConfig!.spec.kind && root!.handle == tx.rootConfig!.handle
                var keptChild: Qdisc?
                if changed && !isHTB, let k = kids.first, let was = tx.childConfigs.first, k.handle == was.handle, k.spec.kind == was.spec.kind,
                   k == was || old.child is FIFOQdisc {
                    keptChild = old.child
                    old.child = nil
                    // fifo_set_limit: a fifo child takes its new limit and keeps what it holds.
                    if let f = keptChild as? FIFOQdisc {
                        switch k.spec { case .pfifo(let l), .bfifo(let l): f.limit = l ?? f.limit; default: break }
                    }
                }
                drain(old)
                let q = root.map { makeQdisc($0.spec, handle: $0.handle, dev: d) } ?? NetDevice.defaultQdisc(d.config)
                if changed {
                    q.stats.bytes = old.stats.bytes; q.stats.packets = old.stats.packets; q.stats.drops = old.stats.drops
                    q.stats.overlimits = old.stats.overlimits; q.stats.requeues = old.stats.requeues
                }
                if let c = keptChild {
                    q.child = c
                    q.stats.qlen = c.stats.qlen; q.stats.backlog = c.stats.backlog
                }
                tx.qdisc = q
                tx.rootConfig = root
                tx.childConfigs = []
                tx.classConfigs = ks
                if let h = q as? HTB {
                    for k in ks { for skb in h.addClass(k, txqueuelen: d.config.txQueueLen, now: clockNs) { free(skb) } }
                    for c in kids {
                        for skb in h.graft(makeQdisc(c.spec, handle: c.handle, dev: d), on: c.parent!.major << 16 | c.parent!.minor) { free(skb) }
                    }
                    tx.childConfigs = kids
                }
                if keptChild != nil { tx.childConfigs = kids }
            }
            if !isHTB && kids != tx.childConfigs {
                if let old = tx.qdisc.child { drain(old) }
                tx.qdisc.child = kids.first.map { makeQdisc($0.spec, handle: $0.handle, dev: d) }
                tx.childConfigs = kids
            }
        }
    }

    static func classText(_ id: UInt32) -> String { "\(String(id >> 16, radix: 16)):\(String(id & 0xffff, radix: 16))" }

    private func free(_ skb: SkBuff) {
        if !skb.generated { finish(skb, drop(.NOT_SPECIFIED, "qdisc replaced")) }
    }

    /// `tc -s class show [dev DEV]`: each htb root's classes in the kernel's hash order.
    public func classInfo(dev name: String? = nil) -> [(dev: String, classes: [HTBClassInfo])] {
        devices.filter { name == nil || $0.name == name }.compactMap { d in (d.tx.qdisc as? HTB).map { (d.name, $0.classInfo) } }
    }

    private func makeQdisc(_ spec: QdiscSpec, handle: UInt32, dev d: NetDevice) -> Qdisc {
        switch spec {
        case .noqueue: NoQueue()
        case .pfifoFast: PFifoFast(handle: handle, txqueuelen: d.config.txQueueLen)
        case .pfifo, .bfifo: FIFOQdisc(handle: handle, spec: spec, txqueuelen: d.config.txQueueLen, psched_mtu: d.pschedMTU)
        case .tbf(let t): TBF(handle: handle, spec: t, now: clockNs)
        case .fqCodel(let f): FQCoDel(handle: handle, spec: f, psched_mtu: d.pschedMTU)
        case .htb(let h): HTB(handle: handle, spec: h, txqueuelen: d.config.txQueueLen)
        case .cake(let c): Cake(handle: handle, spec: c, mtu: d.pschedMTU, txqueuelen: d.config.txQueueLen)
        }
    }

    /// `qdisc_reset` of a qdisc being replaced: what it held is freed.
    private func drain(_ q: Qdisc) {
        for skb in q.reset() { free(skb) }
    }

    /// `tc -s qdisc show [dev DEV]`: each device's root, then its child.
    public func qdiscInfo(dev name: String? = nil) -> [QdiscInfo] {
        var out: [QdiscInfo] = []
        for d in devices where name == nil || d.name == name {
            let tx = d.tx
            // The kernel counts a reference per TX queue (a veth has one per CPU) plus the device's.
            let refcnt = 1 + (d.config.veth ? config.cpus : 1)
            out.append(info(tx.qdisc, dev: d.name, parent: nil, refcnt: tx.rootConfig == nil ? 2 : refcnt))
            if let h = tx.qdisc as? HTB {
                for c in tx.childConfigs {
                    if let q = h.find(c.parent!.major << 16 | c.parent!.minor)?.leaf { out.append(info(q, dev: d.name, parent: c.parent, refcnt: nil)) }
                }
            } else if let c = tx.childConfigs.first, let q = tx.qdisc.child {
                out.append(info(q, dev: d.name, parent: c.parent, refcnt: nil))
            }
            // clsact (with the device's first tc filter): bytes as qdisc_skb_cb->pkt_len, SHOT drops.
            if let c = d.clsact {
                out.append(QdiscInfo(dev: d.name, kind: "clsact", handle: 0xffff, parent: (0xffff, 0xfff1), refcnt: nil,
                                     stats: QdiscStats(bytes: c.bytes, packets: c.packets, drops: c.drops)))
            }
        }
        return out
    }

    private func info(_ q: Qdisc, dev: String, parent: (major: UInt32, minor: UInt32)?, refcnt: Int?) -> QdiscInfo {
        var i = QdiscInfo(dev: dev, kind: q.spec.kind, handle: q.handle, parent: parent, refcnt: refcnt, stats: q.stats)
        if let f = q as? FIFOQdisc { i.limit = f.limit }
        if case .tbf(let t) = q.spec { i.tbf = t }
        if let h = q as? HTB { i.htb = h.opts; i.htbDirectQlen = h.directQlen; i.htbDirectPackets = h.directPackets }
        if let c = q as? Cake { i.cake = c.opts; i.cakeStats = c.currentStats }
        if let f = q as? FQCoDel {
            i.fqCodel = f.opts; i.quantum = f.quantum
            i.fqCodelStats = f.currentStats
        }
        return i
    }
}
