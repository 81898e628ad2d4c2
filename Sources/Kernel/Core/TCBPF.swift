import BPF
import Wire

// tc BPF on clsact in direct-action mode: net/sched/cls_bpf.c (cls_bpf_classify,
// cls_bpf_exec_opcode), net/core/dev.c (sch_handle_ingress, sch_handle_egress) and
// net/core/filter.c (skb_do_redirect).

/// Which clsact hook a filter sits on.
public enum TCDirection: String, Sendable { case ingress, egress }

/// `tc filter add dev DEV ingress|egress [pref N] bpf da obj FILE sec SEC`, as stored with the stack.
public struct TCFilterConfig: Sendable, Equatable {
    public var dev: String
    public var direction: TCDirection
    /// Filters run in ascending pref; tc gives the first 49152 and each later one one less.
    public var pref: Int
    /// tc's default section is `classifier`.
    public var source: BPFSource
    public init(dev: String, direction: TCDirection, pref: Int, source: BPFSource) {
        self.dev = dev; self.direction = direction; self.pref = pref; self.source = source
    }

    /// The attachment's name in checkpoints: device, hook and pref.
    var key: String { "\(dev) \(direction.rawValue) \(pref)" }
}

/// A loaded cls_bpf filter.
public final class TCBPFFilter: @unchecked Sendable {
    public let program: BPFProgram
    public let pref: Int
    /// What `tc filter show` calls it: `prog.o:[sec]`.
    public let name: String
    /// The object's other tc programs, loaded with it (tail call targets).
    public let siblings: [BPFProgram]
    public init(program: BPFProgram, pref: Int, name: String, siblings: [BPFProgram] = []) {
        self.program = program; self.pref = pref; self.name = name; self.siblings = siblings
    }
}

/// The clsact qdisc of a device: its two filter chains (each in pref order) and its counters
/// (`tc -s qdisc show`: bytes as `qdisc_skb_cb->pkt_len`, drops from TC_ACT_SHOT).
public final class Clsact {
    public var ingress: [TCBPFFilter] = []
    public var egress: [TCBPFFilter] = []
    public var bytes = 0, packets = 0, drops = 0
    public var isEmpty: Bool { ingress.isEmpty && egress.isEmpty }
}

/// What one hook's filters did to a packet: each program's return, the verdict, what followed.
public final class TCRecord: @unchecked Sendable {
    public var dev: String
    public var direction: TCDirection
    /// Per filter run: its name, pref, the return as `TC_ACT_*` names it, instructions, printk, a fault.
    public var runs: [(name: String, pref: Int, returned: String, instructions: Int, printk: [String], fault: String?)] = []
    /// With the instruction trace on: each run's instructions (index, text, value produced).
    public var steps: [[(pc: Int, insn: String, value: UInt64)]] = []
    /// The verdict `tcf_classify` reached (TC_ACT_UNSPEC when every filter passed it on).
    public var verdict = "TC_ACT_UNSPEC"
    /// continue, dropped, stolen, redirected, redirect-failed
    public var result = "continue"
    public var to: String?
    public var ingressRedirect = false
    /// The skb fields the programs changed, as `name: old -> new`.
    public var changed: [String] = []
    init(dev: String, direction: TCDirection) { self.dev = dev; self.direction = direction }
}

extension Stack {
    static let TC_ACT_UNSPEC: Int32 = -1, TC_ACT_OK: Int32 = 0, TC_ACT_SHOT: Int32 = 2, TC_ACT_STOLEN: Int32 = 4
    static let TC_ACT_REDIRECT: Int32 = 7, TC_ACT_TRAP: Int32 = 8
    static let tcRedirectLoopLimit = 64

    /// `TC_ACT_*` as include/uapi/linux/pkt_cls.h names them.
    static func tcActionName(_ v: Int32) -> String {
        let names = ["TC_ACT_OK", "TC_ACT_RECLASSIFY", "TC_ACT_SHOT", "TC_ACT_PIPE", "TC_ACT_STOLEN", "TC_ACT_QUEUED", "TC_ACT_REPEAT", "TC_ACT_REDIRECT", "TC_ACT_TRAP"]
        if v == -1 { return "TC_ACT_UNSPEC" }
        return v >= 0 && Int(v) < names.count ? names[Int(v)] : String(v)
    }

    /// Loads a tc filter's program from its object (`tc filter add ... bpf da obj`).
    public func loadTCFilter(_ f: TCFilterConfig) throws -> TCBPFFilter {
        let (p, siblings) = try loadBPF(f.source, defaultSection: "classifier", type: .schedCls)
        return TCBPFFilter(program: p, pref: f.pref, name: f.source.raw == nil ? "\(f.source.objectName).o:[\(p.section)]" : p.name, siblings: siblings)
    }

    /// Adds (or with nil program removes) a filter on a device's clsact hook, kept in pref order.
    public func attachTCFilter(device: Int, _ direction: TCDirection, pref: Int, _ filter: TCBPFFilter?) {
        let d = devices[device]
        let c = d.clsact ?? Clsact()
        var list = direction == .ingress ? c.ingress : c.egress
        list.removeAll { $0.pref == pref }
        if let filter {
            assignBPFIDs(filter.program)
            filter.siblings.forEach(assignBPFIDs)
            list.append(filter)
            list.sort { $0.pref < $1.pref }
        }
        if direction == .ingress { c.ingress = list } else { c.egress = list }
        d.clsact = c
    }

    /// `tc qdisc add|del dev DEV clsact`: deleting it takes the device's filters with it.
    public func setClsact(device: Int, _ present: Bool) {
        devices[device].clsact = present ? devices[device].clsact ?? Clsact() : nil
    }

    /// `sch_handle_ingress`: after generic XDP and VLAN untagging, before netfilter's ingress hook.
    /// The program sees the frame from its MAC header (the tag, if any, lives in vlan_tci).
    func sch_handle_ingress(_ skb: SkBuff, _ c: Clsact) -> PathEnd? {
        enter(.sch_handle_ingress, skb)
        let dev = devices[skb.dev]
        let tagged = skb.networkHeader == EthernetFrame.headerLength + VLANTagRepr.length && skb.vlanID != nil
        let len = tagged ? skb.len - VLANTagRepr.length : skb.len
        var fields = BPFSkb()
        fields.pktType = skb.pktType.number
        fields.mark = skb.mark; fields.priority = skb.priority; fields.hash = skb.hashComputed ? skb.hash : 0
        fields.proto = skb.protocolType
        if tagged { fields.vlanPresent = true; fields.vlanTCI = skb.data.be16(14); fields.vlanProto = skb.data.be16(12) }
        fields.ingressIfindex = UInt32(dev.ifindex); fields.ifindex = UInt32(dev.ifindex)
        // skb_record_rx_queue: a driver's NAPI notes the queue (plus one); a veth without NAPI does not.
        fields.queueMapping = dev.config.veth && dev.xdp == nil ? 0 : UInt32(skb.rxQueue + 1)
        fields.wireLen = UInt32(len - EthernetFrame.headerLength)
        if skb.gsoSize > 0 { fields.gsoSize = UInt32(skb.gsoSize); fields.gsoSegs = UInt32(skb.segments) }
        c.packets += 1; c.bytes += Int(fields.wireLen)
        let rec: TCRecord? = tracing ? TCRecord(dev: dev.name, direction: .ingress) : nil
        // The frame as the program sees it: the skb's bytes in place, or without the tag.
        let verdict = tagged
            ? (Array(skb.data[0..<12]) + skb.data[16..<skb.len]).withUnsafeBytes { cls_bpf_classify(skb, c.ingress, $0, fields, rec) }
            : skb.data.withUnsafeBytes { cls_bpf_classify(skb, c.ingress, UnsafeRawBufferPointer(rebasing: $0[0..<skb.len]), fields, rec) }
        let pushed = bpfVM.headPushed
        let frame = bpfVM.frame
        skb.data = tagged && pushed == 0 ? Array(frame[0..<12]) + skb.data[12..<16] + frame[12...] : frame
        skb.len = skb.data.count
        applyTC(skb, rec)
        // change_head: the MAC header starts at the new front; the network header stays where it
        // was (behind the pushed bytes; a VLAN tag pushed past stays in vlan_tci only).
        if pushed > 0 { skb.networkHeader = EthernetFrame.headerLength + pushed }
        return tcVerdict(skb, verdict, c, rec, .TC_INGRESS, "tc ingress filter on \(dev.name)")
    }

    /// `sch_handle_egress`: in `__dev_queue_xmit` once the MAC header is on, before the qdisc.
    func sch_handle_egress(_ skb: SkBuff, dev: Int, _ c: Clsact) -> PathEnd? {
        enter(.sch_handle_egress, skb)
        let d = devices[dev]
        let start = skb.networkHeader - EthernetFrame.headerLength
        var fields = BPFSkb()
        fields.mark = skb.mark; fields.priority = skb.priority; fields.hash = skb.hashComputed ? skb.hash : 0
        fields.proto = skb.protocolType
        fields.ifindex = UInt32(d.ifindex)
        // skb_iif: the device a forwarded packet came in on; 0 for the stack's own.
        fields.ingressIfindex = skb.macHeaderSet && skb.sock == nil && !skb.generated ? UInt32(devices[skb.dev].ifindex) : 0
        fields.wireLen = UInt32(skb.qdiscPktLen)
        if skb.gsoSize > 0 { fields.gsoSize = UInt32(skb.gsoSize); fields.gsoSegs = UInt32(skb.segments) }
        c.packets += 1; c.bytes += skb.qdiscPktLen
        let rec: TCRecord? = tracing ? TCRecord(dev: d.name, direction: .egress) : nil
        let verdict = skb.data.withUnsafeBytes { cls_bpf_classify(skb, c.egress, UnsafeRawBufferPointer(rebasing: $0[start..<skb.len]), fields, rec) }
        let frame = bpfVM.frame
        skb.data.replaceSubrange(start..<skb.len, with: frame)
        // The frame leaves from `start` (what change_head pushed included), its new length.
        skb.len = start + frame.count
        applyTC(skb, rec)
        return tcVerdict(skb, verdict, c, rec, .TC_EGRESS, "tc egress filter on \(d.name)")
    }

    /// What the hook does with the verdict: SHOT frees with the hook's drop reason (counted as
    /// clsact's drop), STOLEN and TRAP consume, REDIRECT goes to `skb_do_redirect`; else on.
    private func tcVerdict(_ skb: SkBuff, _ verdict: Int32, _ c: Clsact, _ rec: TCRecord?, _ reason: DropReason, _ who: @autoclosure () -> String) -> PathEnd? {
        switch verdict {
        case Self.TC_ACT_SHOT:
            c.drops += 1
            rec?.result = "dropped"
            return drop(reason, "TC_ACT_SHOT by \(who())")
        case Self.TC_ACT_STOLEN, Self.TC_ACT_TRAP:
            rec?.result = "stolen"
            return consume("\(Self.tcActionName(verdict)) by \(who())")
        case Self.TC_ACT_REDIRECT:
            return skb_do_redirect(skb, rec)
        default:
            return nil
        }
    }

    /// `tcf_classify` over cls_bpf filters in direct-action mode: each program's return goes
    /// through `cls_bpf_exec_opcode` (OK, SHOT, STOLEN, TRAP, REDIRECT and UNSPEC stand; anything
    /// else is UNSPEC); UNSPEC hands the packet to the next filter. A run the interpreter stopped
    /// (the verifier would not have let it start) counts as TC_ACT_SHOT.
    private func cls_bpf_classify(_ skb: SkBuff, _ filters: [TCBPFFilter], _ frame: UnsafeRawBufferPointer, _ fields: BPFSkb, _ rec: TCRecord?) -> Int32 {
        bpfCPU = skb.cpu
        bpfVM.traceSteps = rec != nil && xdpInstructionTrace
        for (k, f) in filters.enumerated() {
            enter(.cls_bpf_classify, skb)
            // One skb goes through the chain: the next filter sees what the last one left.
            let run = k == 0 ? bpfVM.runSKB(f.program, bytes: frame, skb: fields, host: self) : bpfVM.runSKBAgain(f.program, host: self)
            let r: Int32
            var fault: String?
            switch run {
            case .success(let r0): r = Int32(truncatingIfNeeded: r0)
            case .failure(let e): r = Self.TC_ACT_SHOT; fault = e.description
            }
            rec?.runs.append((f.name, f.pref, Self.tcActionName(r), bpfVM.executed, bpfVM.printk, fault))
            if let rec, bpfVM.traceSteps { rec.steps.append(bpfVM.steps.map { ($0.pc, Disassembler.text(f.program.insns, at: $0.pc), $0.value) }) }
            switch r {
            case Self.TC_ACT_OK, Self.TC_ACT_SHOT, Self.TC_ACT_STOLEN, Self.TC_ACT_TRAP, Self.TC_ACT_REDIRECT:
                rec?.verdict = Self.tcActionName(r)
                return r
            default:
                continue
            }
        }
        return Self.TC_ACT_UNSPEC
    }

    /// The fields programs may write that the skb keeps (mark, priority; a cleared hash), read in
    /// place from the run's `struct __sk_buff`.
    private func applyTC(_ skb: SkBuff, _ rec: TCRecord?) {
        let mark = bpfVM.skbMark, priority = bpfVM.skbPriority, hash = bpfVM.skbHash, tcIndex = bpfVM.skbTCIndex
        if let rec {
            if mark != skb.mark { rec.changed.append("mark: \(skb.mark) -> \(mark)") }
            if priority != skb.priority { rec.changed.append("priority: \(skb.priority) -> \(priority)") }
            if tcIndex != 0 { rec.changed.append("tc_index: 0 -> \(tcIndex)") }
            if skb.hashComputed && hash != skb.hash { rec.changed.append("hash: \(skb.hash) -> \(hash)") }
            if skb.packet >= 0 && !skb.generated { packets[skb.packet].tc.append(rec) }
        }
        skb.mark = mark; skb.priority = priority
        // BPF_F_INVALIDATE_HASH (skb_clear_hash); the model keeps its own copy for steering.
        if hash == 0 { skb.hashComputed = false }
    }

    /// `skb_do_redirect`: `bpf_redirect`'s target takes the whole frame, into its receive path
    /// (BPF_F_INGRESS: `__bpf_rx_skb`, classified for that device and queued on this CPU's backlog)
    /// or out of it (`__bpf_tx_skb`: `dev_queue_xmit`, through its own egress hook and qdisc).
    private func skb_do_redirect(_ skb: SkBuff, _ rec: TCRecord?) -> PathEnd {
        enter(.skb_do_redirect, skb)
        let r = bpfVM.redirect
        guard let r, let target = devices.firstIndex(where: { $0.ifindex == r.ifindex }) else {
            rec?.result = "redirect-failed"
            return drop(.NOT_SPECIFIED, "bpf_redirect to ifindex \(r?.ifindex ?? 0): no such device (skb_do_redirect)")
        }
        // The kernel would spin on a frame its programs redirect in a circle; the model stops it.
        skb.tcRedirects += 1
        guard skb.tcRedirects <= Self.tcRedirectLoopLimit else {
            rec?.result = "redirect-failed"
            return drop(.NOT_SPECIFIED, "redirected \(Self.tcRedirectLoopLimit) times: a loop the kernel would spin on; the simulator stops it")
        }
        // dev_xmit_recursion: XMIT_RECURSION_LIMIT nested transmits, then -ENETDOWN.
        guard r.ingress || xmitRecursion < 8 else {
            rec?.result = "redirect-failed"
            return drop(.NOT_SPECIFIED, "bpf: recursion limit reached on datapath (8 nested dev_queue_xmit)")
        }
        rec?.result = "redirected"; rec?.to = devices[target].name; rec?.ingressRedirect = r.ingress
        if r.ingress {
            // __dev_forward_skb: skb_scrub_packet, then eth_type_trans for the new device.
            skb.dev = target
            skb.networkHeader = EthernetFrame.headerLength
            skb.vlanID = nil
            eth_classify(skb)
            return enqueue_to_backlog(skb, cpu: skb.cpu, queue: devices[target].queues[0])
        }
        // The frame as it is, MAC header included: no new header goes on.
        skb.networkHeader = EthernetFrame.headerLength
        xmitRecursion += 1
        defer { xmitRecursion -= 1 }
        return __dev_queue_xmit(skb, dev: target, outcome: .forwarded)
    }
}

extension PacketType {
    /// The `PACKET_*` number a program reads in `__sk_buff.pkt_type`.
    var number: UInt32 {
        switch self { case .host: 0; case .broadcast: 1; case .multicast: 2; case .otherhost: 3; case .loopback: 5 }
    }
}
