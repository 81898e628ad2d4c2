import BPF
import Wire

// XDP at the driver (drivers/net/veth.c: veth_xdp_rcv, native) and in the core
// (net/core/dev.c: do_xdp_generic, generic), and what its actions do (net/core/filter.c:
// xdp_do_redirect; generic_xdp_tx).

public enum XDPMode: String, Sendable { case native, generic }

/// The other end of a veth, as far as XDP cares (`none`, `gro`, `xdp-pass`).
public enum VethPeer: String, Sendable { case plain = "none", gro, xdp = "xdp-pass" }

/// A program attached to a device in a mode.
public final class XDPAttachment: @unchecked Sendable {
    public let program: BPFProgram
    public let mode: XDPMode
    /// The object's other programs of the same type, loaded with it (tail call targets).
    public let siblings: [BPFProgram]
    public init(program: BPFProgram, mode: XDPMode, siblings: [BPFProgram] = []) { self.program = program; self.mode = mode; self.siblings = siblings }
}

/// veth's XDP counters as `ethtool -S` names them (summed over its queues).
public struct XDPStats: Sendable, Equatable, Codable {
    public var rx_xdp_packets = 0, rx_xdp_bytes = 0, rx_xdp_drops = 0, rx_xdp_tx = 0, rx_xdp_tx_errors = 0
    public var rx_xdp_redirect = 0, rx_drops = 0, tx_xdp_xmit = 0, tx_xdp_xmit_errors = 0
}

/// A tracepoint the XDP path fired (`xdp:xdp_exception`, `xdp_redirect`, `xdp_redirect_err`,
/// `xdp_bulk_tx`, `xdp_devmap_xmit`), with the fields perf shows for it.
public struct XDPEvent: Sendable, Equatable {
    public enum Value: Sendable, Equatable { case text(String), number(Int) }
    public var event: String
    public var fields: [(String, Value)]
    public static func == (a: XDPEvent, b: XDPEvent) -> Bool {
        a.event == b.event && a.fields.map(\.0) == b.fields.map(\.0) && a.fields.map(\.1) == b.fields.map(\.1)
    }
}

/// What XDP did to one frame: the program's action, what became of the frame, events, output.
public final class XDPRecord: @unchecked Sendable {
    public var dev: String
    public var mode: XDPMode
    public var program: String
    /// `XDP_PASS`, `XDP_DROP`, ... or `invalid:N` for a return code that is none of them.
    public var action = ""
    /// stack, dropped, tx, tx-failed, tx-undelivered, redirected, redirect-failed, redirect-undelivered
    public var result = ""
    public var to: String?
    public var events: [XDPEvent] = []
    public var printk: [String] = []
    /// The run-time check that stopped the program (it then returns XDP_ABORTED).
    public var fault: String?
    public var instructions = 0
    /// The instruction trace, when asked for: instruction index, its text, the value it produced.
    public var steps: [(pc: Int, insn: String, value: UInt64)]?

    init(dev: String, mode: XDPMode, program: String) { self.dev = dev; self.mode = mode; self.program = program }
}

/// A program as a stack keeps it (for XDP and tc alike): the object file clang wrote, or raw
/// instructions, which of its programs, and what was written into its maps, so a restart loads
/// the same program with the same entries.
public struct BPFSource: Sendable, Equatable {
    /// The ELF object; its name (without `.o`) names the global data maps as libbpf does.
    public var object: [UInt8]
    public var objectName: String
    /// `sec` (the hook's default when neither it nor `program` is given), or a program by function name.
    public var section: String?
    public var program: String?
    /// Map entries written after the maps are created (`bpftool map update`): name → (key, value).
    public var prefill: [String: [([UInt8], [UInt8])]]
    /// Raw instructions instead of an object (`object` is then empty).
    public var raw: RawBPF?
    /// Program array entries (`bpftool map update ... value id N`): map name → (index, program name).
    public var progArrays: [String: [ProgArrayEntry]]

    public init(object: [UInt8], objectName: String, section: String? = nil, program: String? = nil,
                prefill: [String: [([UInt8], [UInt8])]] = [:], raw: RawBPF? = nil, progArrays: [String: [ProgArrayEntry]] = [:]) {
        self.object = object; self.objectName = objectName; self.section = section; self.program = program
        self.prefill = prefill; self.raw = raw; self.progArrays = progArrays
    }
    public static func == (a: BPFSource, b: BPFSource) -> Bool {
        a.object == b.object && a.objectName == b.objectName && a.section == b.section && a.program == b.program && a.raw == b.raw
            && a.progArrays == b.progArrays && a.prefill.keys.sorted() == b.prefill.keys.sorted()
            && a.prefill.allSatisfy { k, v in b.prefill[k].map { $0.map(\.0) == v.map(\.0) && $0.map(\.1) == v.map(\.1) } ?? false }
    }
}

/// An attachment as stored with the stack: `ip link set dev DEV xdpdrv|xdpgeneric obj FILE sec SEC`.
public struct XDPConfig: Sendable, Equatable {
    public var dev: String
    public var mode: XDPMode
    public var source: BPFSource
    public init(dev: String, mode: XDPMode, source: BPFSource) { self.dev = dev; self.mode = mode; self.source = source }
}

/// A program given as raw instructions (as `BPF_PROG_LOAD` takes them) with its maps defined in
/// JSON: `LD_IMM64` with src 1 (BPF_PSEUDO_MAP_FD) names a map by its index in `maps`, src 2
/// (BPF_PSEUDO_MAP_VALUE) a map and an offset into its value.
public struct RawBPF: Sendable, Equatable {
    public var name: String
    public var insns: [UInt8]
    public var maps: [BPFMapSpec]
    public var license: String
    public init(name: String, insns: [UInt8], maps: [BPFMapSpec], license: String) {
        self.name = name; self.insns = insns; self.maps = maps; self.license = license
    }
}

/// A program array slot filled with one of the object's programs, by name.
public struct ProgArrayEntry: Sendable, Equatable {
    public var index: UInt32
    public var program: String
    public init(index: UInt32, program: String) { self.index = index; self.program = program }
}

public struct XDPLoadError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

extension Stack {
    /// Attaches (or with nil detaches) an XDP program, as `ip link set DEV xdpdrv|xdpgeneric`.
    /// Program and map ids count up per stack, as the kernel's do per boot.
    public func attachXDP(device: Int, _ a: XDPAttachment?) {
        if let a { assignBPFIDs(a.program); a.siblings.forEach(assignBPFIDs) }
        devices[device].xdp = a
    }

    /// Program and map ids count up per stack, as the kernel's do per boot.
    func assignBPFIDs(_ p: BPFProgram) {
        guard p.id == 0 else { return }
        nextBPFID += 1; p.id = nextBPFID
        for m in p.maps where m.id == 0 { nextBPFID += 1; m.id = nextBPFID }
    }

    /// Every attached program with the name a checkpoint keeps its maps under: the device for
    /// XDP, `dev ingress|egress pref` for tc.
    public var bpfAttachments: [(key: String, program: BPFProgram)] {
        devices.flatMap { d -> [(key: String, program: BPFProgram)] in
            var list: [(key: String, program: BPFProgram)] = d.xdp.map { [(d.name, $0.program)] } ?? []
            if let c = d.clsact {
                list += c.ingress.map { ("\(d.name) ingress \($0.pref)", $0.program) }
                list += c.egress.map { ("\(d.name) egress \($0.pref)", $0.program) }
            }
            return list
        }
    }

    /// Map contents by attachment (see `bpfAttachments`) and map name, as a checkpoint keeps them.
    public typealias BPFMapContents = [(dev: String, map: String, entries: [(key: [UInt8], values: [[UInt8]])])]

    /// The contents of every attached program's maps.
    public func bpfMapContents() -> BPFMapContents {
        bpfAttachments.flatMap { a in a.program.maps.map { (a.key, $0.name, $0.entries()) } }
    }

    /// Puts map contents back after the programs were loaded again (names that no longer match are skipped).
    public func restoreBPFMaps(_ list: BPFMapContents) {
        let attached = bpfAttachments
        for item in list {
            guard let p = attached.first(where: { $0.key == item.dev })?.program, let m = p.maps.first(where: { $0.name == item.map }) else { continue }
            m.restore(item.entries)
        }
    }

    /// Every loaded program: those attached and their objects' other programs, by id.
    public var bpfPrograms: [BPFProgram] {
        var out: [BPFProgram] = []
        for d in devices {
            if let x = d.xdp { out += [x.program] + x.siblings }
            if let c = d.clsact { for f in c.ingress + c.egress { out += [f.program] + f.siblings } }
        }
        return out.sorted { $0.id < $1.id }
    }

    /// Every map of the attached programs, by id.
    public var bpfMaps: [BPFMap] {
        var seen = Set<Int>()
        return bpfAttachments.flatMap(\.program.maps).filter { seen.insert($0.id).inserted }.sorted { $0.id < $1.id }
    }

    /// What `ip link set ... obj` does through libbpf: parse the object, create its maps (one
    /// value per simulated CPU for per-CPU maps), pre-fill them, verify and load the program.
    public func loadXDP(_ x: XDPConfig) throws -> XDPAttachment {
        let (p, siblings) = try loadBPF(x.source, defaultSection: "xdp", type: .xdp)
        return XDPAttachment(program: p, mode: x.mode, siblings: siblings)
    }

    /// What the kernel refuses of a user's update to a devmap (`dev_map_update_elem`: the device
    /// must exist) or cpumap (`cpu_map_update_elem`: a possible CPU, qsize at most 16384, no
    /// program of its own here); nil when it takes it.
    public func refusedMapUpdate(_ m: BPFMap, key: [UInt8], value v: [UInt8]) -> String? {
        func le32(_ b: [UInt8], _ o: Int) -> Int { b.count >= o + 4 ? Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24 : 0 }
        switch m.type {
        case .devmap, .devmapHash:
            return deviceExists(ifindex: le32(v, 0)) ? nil : "no device with ifindex \(le32(v, 0)) (ENODEV)"
        case .cpumap:
            if le32(key, 0) >= config.cpus { return "no CPU \(le32(key, 0)) (the stack has \(config.cpus); ENODEV)" }
            if le32(v, 0) > 16384 { return "qsize \(le32(v, 0)) is over 16384 (EOVERFLOW)" }
            if v.count == 8 && le32(v, 4) != 0 { return "a program on the cpumap entry not supported yet" }
            return nil
        default:
            return nil
        }
    }

    /// One program of an object as libbpf loads it: its maps created and pre-filled, then verified.
    /// libbpf loads every program of the object: the others of the same type come back as
    /// siblings, sharing the maps (what a program array can hold for tail calls).
    func loadBPF(_ src: BPFSource, defaultSection: String, type: BPFProgType) throws -> (BPFProgram, siblings: [BPFProgram]) {
        let (object, objectName, program, prefill, raw, progArrays) = (src.object, src.objectName, src.program, src.prefill, src.raw, src.progArrays)
        let section = program == nil ? (src.section ?? defaultSection) : src.section
        let spec: BPFProgramSpec, maps: [BPFMap]
        var others: [BPFProgramSpec] = []
        if let raw {
            spec = BPFProgramSpec(name: raw.name, section: type.rawValue, insns: Insn.decode(raw.insns), license: raw.license)
            maps = try BPFProgram.createMaps(raw.maps, cpus: config.cpus)
        } else {
            let obj = try BPFObject(elf: object, objectName: objectName)
            guard let s = obj.program(section: section, name: program) else {
                throw XDPLoadError(description: program.map { "no program \($0) in the object" } ?? "no program in section \(section ?? "") (sections: \(Set(obj.programs.map(\.section)).sorted().joined(separator: ", ")))")
            }
            spec = s
            others = obj.programs.filter { $0.name != s.name && BPFProgType(section: $0.section) == type }
            maps = try BPFProgram.createMaps(obj.maps, cpus: config.cpus)
        }
        for (name, entries) in prefill.sorted(by: { $0.key < $1.key }) {
            guard let m = maps.first(where: { $0.name == name }) else { throw XDPLoadError(description: "no map named \(name) in the object") }
            for (k, v) in entries {
                guard k.count == m.spec.keySize, v.count == m.spec.valueSize else {
                    throw XDPLoadError(description: "map \(name): key and value must be \(m.spec.keySize) and \(m.spec.valueSize) bytes")
                }
                if m.type == .progArray { throw XDPLoadError(description: "map \(name): a program array is filled by program (prog_arrays)") }
                if let why = refusedMapUpdate(m, key: k, value: v) { throw XDPLoadError(description: "map \(name): \(why)") }
                let r = m.update(k, value: v)
                guard r == 0 else { throw XDPLoadError(description: "map \(name): update failed (\(r))") }
            }
        }
        let main = try BPFProgram.load(spec, maps: maps, type: type)
        let siblings = try others.map { o -> BPFProgram in
            do { return try BPFProgram.load(o, maps: maps, type: type) } catch { throw XDPLoadError(description: "program \(o.name): \(error)") }
        }
        for (name, entries) in progArrays.sorted(by: { $0.key < $1.key }) {
            guard let m = maps.first(where: { $0.name == name && $0.type == .progArray }) else { throw XDPLoadError(description: "no program array named \(name) in the object") }
            for e in entries {
                guard let p = ([main] + siblings).first(where: { $0.name == e.program }) else { throw XDPLoadError(description: "map \(name): no program \(e.program) in the object") }
                guard Int(e.index) < m.spec.maxEntries else { throw XDPLoadError(description: "map \(name): index \(e.index) out of range (E2BIG)") }
                m.programs[Int(e.index)] = p
            }
        }
        return (main, siblings)
    }

    /// `veth_xdp_rcv`: native XDP in the driver's NAPI poll, before an skb is built for the stack.
    /// Counts the frame as veth does (without its Ethernet header); nil when it goes on (XDP_PASS).
    func veth_xdp_rcv(_ skb: SkBuff, _ x: XDPAttachment) -> PathEnd? {
        enter(.veth_xdp_rcv, skb)
        let dev = devices[skb.dev]
        let counted = dev.config.veth ? max(skb.len - EthernetFrame.headerLength, 0) : skb.len
        dev.stats.rx_packets += 1
        dev.stats.rx_bytes += counted
        if dev.config.veth { dev.xdpStats.rx_xdp_packets += 1; dev.xdpStats.rx_xdp_bytes += counted }
        return xdpVerdict(skb, x)
    }

    /// `do_xdp_generic`: generic XDP on the skb at the start of `__netif_receive_skb_core`; after
    /// XDP_PASS a changed Ethernet header is classified again (`eth_type_trans`).
    func do_xdp_generic(_ skb: SkBuff, _ x: XDPAttachment) -> PathEnd? {
        enter(.do_xdp_generic, skb)
        return xdpVerdict(skb, x)
    }

    /// Runs the program and carries out its action; nil for XDP_PASS with the frame as the program left it.
    private func xdpVerdict(_ skb: SkBuff, _ x: XDPAttachment) -> PathEnd? {
        enter(.bpf_prog_run_xdp, skb)
        let dev = devices[skb.dev]
        // The record is only made for a trace; with traces off the optional chains below do nothing.
        let rec: XDPRecord? = tracing ? XDPRecord(dev: dev.name, mode: x.mode, program: x.program.name) : nil
        bpfCPU = skb.cpu
        bpfVM.traceSteps = tracing && xdpInstructionTrace
        let run = bpfVM.runXDP(x.program, frame: skb.data, ifindex: dev.ifindex, rxQueue: skb.rxQueue, host: self)
        if let rec {
            rec.instructions = bpfVM.executed
            rec.printk = bpfVM.printk
            if bpfVM.traceSteps { rec.steps = bpfVM.steps.map { ($0.pc, Disassembler.text(x.program.insns, at: $0.pc), $0.value) } }
            if skb.packet >= 0 && !skb.generated { packets[skb.packet].xdp = rec }
        }
        let code: UInt64
        switch run {
        case .success(let r0): code = r0
        case .failure(let f): rec?.fault = f.description; code = 0
        }
        let native = x.mode == .native
        func exception(_ act: String) { rec?.events.append(XDPEvent(event: "xdp_exception", fields: [("dev", .text(dev.name)), ("act", .text(act))])) }
        switch XDPAction(rawValue: UInt32(truncatingIfNeeded: code)).flatMap({ code <= 4 ? $0 : nil }) {
        case .pass:
            rec?.action = "XDP_PASS"; rec?.result = "stack"
            skb.data = bpfVM.frame
            skb.len = skb.data.count
            // Generic: the skb was classified before the program ran, so classify what it left
            // (the kernel does when the header changed; the same header classifies the same).
            // Native: eth_type_trans runs next anyway. adjust_head keeps 14 bytes at least.
            if !native { eth_classify(skb) }
            return nil
        case .drop:
            rec?.action = "XDP_DROP"; rec?.result = "dropped"
            if native && dev.config.veth { dev.xdpStats.rx_xdp_drops += 1 }
            return drop(.XDP, "XDP_DROP by \(x.program.name) on \(dev.name)")
        case .aborted:
            rec?.action = "XDP_ABORTED"; rec?.result = "dropped"
            exception("XDP_ABORTED")
            if native && dev.config.veth { dev.xdpStats.rx_xdp_drops += 1 }
            return drop(.XDP, rec?.fault.map { "XDP_ABORTED: \($0)" } ?? "XDP_ABORTED by \(x.program.name) on \(dev.name)")
        case .tx:
            rec?.action = "XDP_TX"
            if !native {
                // generic_xdp_tx: straight to the driver, past qdiscs and taps.
                enter(.generic_xdp_tx, skb)
                rec?.result = "tx"
                transmit(bpfVM.frame, dev: skb.dev, cause: skb)
                return .transmitted
            }
            if dev.config.veth {
                // veth_xdp_flush_bq → veth_xdp_xmit: the peer takes XDP frames only when it has NAPI.
                switch dev.config.vethPeer {
                case .plain:
                    rec?.result = "tx-failed"
                    rec?.events.append(XDPEvent(event: "xdp_bulk_tx", fields: [("dev", .text(dev.name)), ("sent", .number(0)), ("drops", .number(1)), ("err", .number(-6)), ("errno", .text("ENXIO"))]))
                    dev.xdpStats.rx_xdp_tx_errors += 1
                    dev.stats.tx_dropped += 1
                    return drop(.XDP, "XDP_TX: the veth peer of \(dev.name) has no XDP program (ENXIO)")
                case .gro, .xdp:
                    rec?.events.append(XDPEvent(event: "xdp_bulk_tx", fields: [("dev", .text(dev.name)), ("sent", .number(1)), ("drops", .number(0)), ("err", .number(0))]))
                    dev.xdpStats.rx_xdp_tx += 1
                    if dev.config.vethPeer == .gro {
                        // veth kicks the peer's NAPI after XDP_TX only when the peer runs XDP.
                        rec?.result = "tx-undelivered"
                        return consume("XDP_TX to a GRO-only veth peer: queued, never delivered")
                    }
                }
            }
            rec?.result = "tx"
            transmit(bpfVM.frame, dev: skb.dev, cause: skb, xdpFrame: true)
            return .transmitted
        case .redirect:
            rec?.action = "XDP_REDIRECT"
            return xdp_do_redirect(skb, x, rec)
        case nil:
            // bpf_warn_invalid_xdp_action, then as XDP_ABORTED.
            rec?.action = "invalid:\(code)"; rec?.result = "dropped"
            exception(String(code))
            if native && dev.config.veth { dev.xdpStats.rx_xdp_drops += 1 }
            return drop(.XDP, "illegal XDP return value \(code) from \(x.program.name)")
        }
    }

    /// `xdp_do_redirect` / `xdp_do_generic_redirect`: out of the device the helper chose.
    private func xdp_do_redirect(_ skb: SkBuff, _ x: XDPAttachment, _ rec: XDPRecord?) -> PathEnd {
        enter(.xdp_do_redirect, skb)
        let dev = devices[skb.dev]
        let native = x.mode == .native
        let r = bpfVM.redirect
        // The tracepoints' fields, only for a trace.
        var fields: [(String, XDPEvent.Value)] = []
        if rec != nil {
            fields = [("dev", .text(dev.name))]
            if let r, let m = r.map, let t = r.mapType {
                fields += [("via", .text("map")), ("map", .text(m)), ("map_type", .text(t.name)), ("key", .number(Int(r.key ?? 0)))]
            } else {
                fields += [("via", .text("bpf_redirect"))]
            }
        }
        func failed(_ err: Int32, _ name: String, _ why: String) -> PathEnd {
            rec?.result = "redirect-failed"
            rec?.events.append(XDPEvent(event: "xdp_redirect_err", fields: fields + [("err", .number(Int(-err))), ("errno", .text(name))]))
            if native && dev.config.veth { dev.xdpStats.rx_drops += 1; dev.stats.rx_dropped += 1 }
            return drop(.XDP, why)
        }
        if let r, let cpu = r.cpu { return cpu_map_enqueue(skb, x, rec, fields, cpu: cpu, qsize: r.queueSize) }
        guard let r, let target = devices.firstIndex(where: { $0.ifindex == r.ifindex }) else {
            return failed(Errno.EINVAL, "EINVAL", "XDP_REDIRECT to no device (ifindex \(bpfVM.redirect?.ifindex ?? 0))")
        }
        let to = devices[target]
        if let rec {
            rec.to = to.name
            fields.insert(("to", .text(to.name)), at: 1)
        }
        if native && to.config.veth && to.config.vethPeer == .plain {
            return failed(Errno.EOPNOTSUPP, "EOPNOTSUPP", "XDP_REDIRECT into \(to.name), whose veth peer has neither XDP nor GRO (EOPNOTSUPP)")
        }
        rec?.events.append(XDPEvent(event: "xdp_redirect", fields: fields + [("err", .number(0))]))
        if native {
            rec?.events.append(XDPEvent(event: "xdp_devmap_xmit", fields: [("dev", .text(dev.name)), ("to", .text(to.name)), ("sent", .number(1)), ("drops", .number(0)), ("err", .number(0))]))
            if dev.config.veth { dev.xdpStats.rx_xdp_redirect += 1 }
            if to.config.veth { to.xdpStats.tx_xdp_xmit += 1 }
        } else {
            enter(.generic_xdp_tx, skb)
        }
        rec?.result = "redirected"
        transmit(bpfVM.frame, dev: target, cause: skb, xdpFrame: native)
        return .forwarded
    }

    /// `cpu_map_enqueue`: the frame goes onto the ring of the CPU the cpumap names; that CPU's
    /// kthread builds the skb and hands it to the stack (`cpu_map_kthread_run`). The ring holds
    /// the entry's qsize frames; a full one drops (as `xdp_cpumap_enqueue` counts drops).
    private func cpu_map_enqueue(_ skb: SkBuff, _ x: XDPAttachment, _ rec: XDPRecord?, _ fields: [(String, XDPEvent.Value)], cpu: Int, qsize: Int) -> PathEnd {
        let dev = devices[skb.dev]
        guard cpu < cpus.count else {
            rec?.result = "redirect-failed"
            return drop(.XDP, "XDP_REDIRECT to CPU \(cpu): the stack has \(cpus.count) CPUs")
        }
        enter(.cpu_map_enqueue, skb)
        rec?.events.append(XDPEvent(event: "xdp_redirect", fields: fields + [("err", .number(0))]))
        rec?.result = "redirected"
        if x.mode == .native && dev.config.veth { dev.xdpStats.rx_xdp_redirect += 1 }
        let sd = cpus[cpu]
        guard sd.cpumapQueue.count < qsize else { return drop(.XDP, "cpumap ring of CPU \(cpu) full (qsize \(qsize))") }
        skb.data = bpfVM.frame
        skb.len = skb.data.count
        // cpu_map_generic_redirect: the skb itself goes, marked redirected (generic XDP lets it by).
        if x.mode == .generic { eth_classify(skb); skb.redirected = true }
        sd.cpumapQueue.append(skb)
        if !sd.cpumapWoken {
            sd.cpumapWoken = true
            schedule(clocks[skb.cpu], .cpumapKthread(cpu: cpu))
        }
        return .stolen
    }

    /// `cpu_map_kthread_run`: on its CPU, each frame becomes an skb (`__xdp_build_skb_from_frame`:
    /// `eth_type_trans` for the device it arrived on; generic XDP's skbs are skbs already) and goes
    /// to `netif_receive_skb`.
    func cpu_map_kthread_run(cpu: Int, at t: UInt64) {
        let sd = cpus[cpu]
        sd.cpumapWoken = false
        if clocks[cpu] < t { clocks[cpu] = t }
        let frames = sd.cpumapQueue
        sd.cpumapQueue = []
        for skb in frames {
            skb.cpu = cpu
            enter(.cpu_map_kthread_run, skb)
            if !skb.redirected, let end = eth_type_trans(skb) { finish(skb, end); continue }
            enter(.netif_receive_skb, skb)
            finish(skb, __netif_receive_skb_core(skb))
        }
    }
}
