// include/uapi/linux/bpf.h (struct __sk_buff) and net/core/filter.c (tc_cls_act_is_valid_access,
// bpf_skb_is_valid_access, tc_cls_act_convert_ctx_access): what a tc program reads and writes of
// its skb. The run keeps the 192-byte struct itself, filled from the skb before and read back
// after, with each write cut to the width the skb field has.

/// The skb fields a tc (`sched_cls`) program sees, before its run and as it left them.
public struct BPFSkb: Sendable, Equatable {
    public var pktType: UInt32 = 0
    public var mark: UInt32 = 0
    public var queueMapping: UInt32 = 0
    /// `skb->protocol` in host order (the program reads it as the kernel stores it, big-endian).
    public var proto: UInt16 = 0
    public var vlanPresent = false
    public var vlanTCI: UInt16 = 0
    public var vlanProto: UInt16 = 0
    public var priority: UInt32 = 0
    public var ingressIfindex: UInt32 = 0
    public var ifindex: UInt32 = 0
    public var tcIndex: UInt32 = 0
    /// Up to five words (missing ones read 0): empty by default, so a fresh value allocates nothing.
    public var cb: [UInt32] = []
    public var hash: UInt32 = 0
    public var tcClassid: UInt32 = 0
    public var napiID: UInt32 = 0
    public var tstamp: UInt64 = 0
    /// `qdisc_skb_cb(skb)->pkt_len`: at ingress without the MAC header, at egress with it.
    public var wireLen: UInt32 = 0
    public var gsoSegs: UInt32 = 0
    public var gsoSize: UInt32 = 0
    public var hwtstamp: UInt64 = 0
    public init() {}
}

/// What a program's context is and which fields of it the verifier lets it touch.
enum BPFContext {
    static let skbSize = 192
    // struct __sk_buff offsets.
    static let len = 0, pktType = 4, mark = 8, queueMapping = 12, proto = 16, vlanPresent = 20, vlanTCI = 24, vlanProto = 28
    static let priority = 32, ingressIfindex = 36, ifindex = 40, tcIndex = 44, cb = 48, hash = 68, tcClassid = 72
    static let data = 76, dataEnd = 80, napiID = 84, family = 88, localPort = 136, dataMeta = 140, flowKeys = 144
    static let tstamp = 152, wireLen = 160, gsoSegs = 164, sk = 168, gsoSize = 176, tstampType = 180, hwtstamp = 184

    /// What a ctx access yields: a packet pointer, the packet's end, its metadata, or a plain value.
    enum Field { case data, dataEnd, dataMeta, scalar }

    /// `xdp_is_valid_access` / `tc_cls_act_is_valid_access`: the field, or nil when refused
    /// (`refusal` says why; kept apart so a run's ctx loads build no message).
    static func check(_ type: BPFProgType, off: Int, size: Int, write: Bool) -> Field? {
        switch type {
        case .xdp:
            // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex.
            // egress_ifindex (20) only for devmap programs (BPF_XDP_DEVMAP), which the model does not load.
            guard !write, size == 4, off >= 0, off <= 16, off % 4 == 0 else { return nil }
            return off == 0 ? .data : off == 4 ? .dataEnd : off == 8 ? .dataMeta : .scalar
        case .schedCls:
            guard off >= 0, off < skbSize, size > 0, off % size == 0 else { return nil }
            if write {
                switch off {
                case mark, tcIndex, priority, tcClassid, queueMapping, cb..<hash: return size == 4 ? .scalar : nil
                case tstamp: return size == 8 ? .scalar : nil
                default: return nil
                }
            }
            switch off {
            case data..<data + 4: return size == 4 ? .data : nil
            case dataEnd..<dataEnd + 4: return size == 4 ? .dataEnd : nil
            case dataMeta..<dataMeta + 4: return size == 4 ? .dataMeta : nil
            case family..<localPort + 4, flowKeys..<tstamp, tstampType, sk..<sk + 8, 180..<184: return nil
            case tstamp..<tstamp + 8, hwtstamp..<hwtstamp + 8: return size == 8 ? .scalar : nil
            case tcClassid..<tcClassid + 4: return size == 4 ? .scalar : nil
            default:
                // bpf_ctx_narrow_access_ok: 1, 2 or 4 bytes of a 4-byte field.
                return size <= 4 ? .scalar : nil
            }
        }
    }

    /// The verifier's words for a refused access (what the model has not done yet says so).
    static func refusal(_ type: BPFProgType, off: Int, size: Int) -> String {
        if type == .schedCls && off == tstampType && size == 1 { return "reading __sk_buff.tstamp_type not supported yet" }
        if type == .schedCls && off >= sk && off < sk + 8 && off % size == 0 && size == 8 { return "reading __sk_buff.sk not supported yet" }
        return "invalid bpf_context access off=\(off) size=\(size)"
    }
}

extension BPFVM {
    /// Fills the run's `struct __sk_buff` from the skb's fields.
    func fillSkbContext(_ s: BPFSkb, len: Int) {
        let c = skbContext
        c.initializeMemory(as: UInt8.self, repeating: 0, count: BPFContext.skbSize)
        func put(_ off: Int, _ v: UInt32) { c.storeBytes(of: v, toByteOffset: off, as: UInt32.self) }
        put(BPFContext.len, UInt32(len)); put(BPFContext.pktType, s.pktType); put(BPFContext.mark, s.mark)
        put(BPFContext.queueMapping, s.queueMapping); put(BPFContext.proto, UInt32(s.proto.bigEndian))
        put(BPFContext.vlanPresent, s.vlanPresent ? 1 : 0); put(BPFContext.vlanTCI, UInt32(s.vlanTCI)); put(BPFContext.vlanProto, UInt32(s.vlanProto.bigEndian))
        put(BPFContext.priority, s.priority); put(BPFContext.ingressIfindex, s.ingressIfindex); put(BPFContext.ifindex, s.ifindex)
        put(BPFContext.tcIndex, s.tcIndex)
        for (k, v) in s.cb.prefix(5).enumerated() { put(BPFContext.cb + 4 * k, v) }
        put(BPFContext.hash, s.hash); put(BPFContext.tcClassid, s.tcClassid); put(BPFContext.napiID, s.napiID)
        c.storeBytes(of: s.tstamp, toByteOffset: BPFContext.tstamp, as: UInt64.self)
        put(BPFContext.wireLen, s.wireLen); put(BPFContext.gsoSegs, s.gsoSegs); put(BPFContext.gsoSize, s.gsoSize)
        c.storeBytes(of: s.hwtstamp, toByteOffset: BPFContext.hwtstamp, as: UInt64.self)
    }

    /// The fields a hook writes back to the skb, read in place (no `BPFSkb` built per packet).
    public var skbMark: UInt32 { skbContext.load(fromByteOffset: BPFContext.mark, as: UInt32.self) }
    public var skbPriority: UInt32 { skbContext.load(fromByteOffset: BPFContext.priority, as: UInt32.self) }
    public var skbHash: UInt32 { skbContext.load(fromByteOffset: BPFContext.hash, as: UInt32.self) }
    public var skbTCIndex: UInt32 { skbContext.load(fromByteOffset: BPFContext.tcIndex, as: UInt32.self) }

    /// The skb's fields as the program left them.
    public var skb: BPFSkb {
        let c = skbContext
        func get(_ off: Int) -> UInt32 { c.load(fromByteOffset: off, as: UInt32.self) }
        var s = BPFSkb()
        s.pktType = get(BPFContext.pktType); s.mark = get(BPFContext.mark); s.queueMapping = get(BPFContext.queueMapping)
        s.proto = UInt16(bigEndian: UInt16(truncatingIfNeeded: get(BPFContext.proto)))
        s.vlanPresent = get(BPFContext.vlanPresent) != 0; s.vlanTCI = UInt16(truncatingIfNeeded: get(BPFContext.vlanTCI))
        s.vlanProto = UInt16(bigEndian: UInt16(truncatingIfNeeded: get(BPFContext.vlanProto)))
        s.priority = get(BPFContext.priority); s.ingressIfindex = get(BPFContext.ingressIfindex); s.ifindex = get(BPFContext.ifindex)
        s.tcIndex = get(BPFContext.tcIndex); s.cb = (0..<5).map { get(BPFContext.cb + 4 * $0) }
        s.hash = get(BPFContext.hash); s.tcClassid = get(BPFContext.tcClassid); s.napiID = get(BPFContext.napiID)
        s.tstamp = c.load(fromByteOffset: BPFContext.tstamp, as: UInt64.self)
        s.wireLen = get(BPFContext.wireLen); s.gsoSegs = get(BPFContext.gsoSegs); s.gsoSize = get(BPFContext.gsoSize)
        s.hwtstamp = c.load(fromByteOffset: BPFContext.hwtstamp, as: UInt64.self)
        return s
    }

    /// A ctx read: packet pointers are made from the run's bounds, other fields read in place.
    func loadCtx(_ off: Int, _ size: Int) -> UInt64? {
        guard let f = BPFContext.check(program.type, off: off, size: size, write: false) else { return nil }
        switch f {
        case .data: return Self.address(Self.packetRegion, data)
        case .dataEnd: return Self.address(Self.packetRegion, dataEnd)
        case .dataMeta: return Self.address(Self.packetRegion, dataMeta)
        case .scalar: break
        }
        if program.type == .xdp {
            switch off {
            case 12: return UInt64(ingressIfindex)
            case 16: return UInt64(rxQueue)
            default: return 0
            }
        }
        if off == BPFContext.len { return UInt64(dataEnd - data) }
        let p = skbContext + off
        switch size {
        case 1: return UInt64(p.load(as: UInt8.self))
        case 2: return UInt64(p.load(as: UInt16.self))
        case 4: return UInt64(p.load(as: UInt32.self))
        default: return p.load(as: UInt64.self)
        }
    }

    /// A ctx write, as `tc_cls_act_convert_ctx_access` stores it: tc_index and tc_classid are
    /// 16 bits in the skb, and a queue_mapping of 0xffff (NO_QUEUE_MAPPING) or more is ignored.
    func storeCtx(_ off: Int, _ size: Int, _ v: UInt64) -> Bool {
        guard BPFContext.check(program.type, off: off, size: size, write: true) != nil else { return false }
        let p = skbContext + off
        switch off {
        case BPFContext.tstamp: p.storeBytes(of: v, as: UInt64.self)
        case BPFContext.tcIndex, BPFContext.tcClassid: p.storeBytes(of: UInt32(UInt16(truncatingIfNeeded: v)), as: UInt32.self)
        case BPFContext.queueMapping: if v < 0xffff { p.storeBytes(of: UInt32(UInt16(truncatingIfNeeded: v)), as: UInt32.self) }
        default: p.storeBytes(of: UInt32(truncatingIfNeeded: v), as: UInt32.self)
        }
        return true
    }
}
