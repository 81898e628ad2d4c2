// net/core/filter.c: the helpers only a tc (sched_cls) program calls, over its linear skb
// (offsets count from skb->data, the MAC header at tc ingress and egress alike).

extension BPFVM {
    /// The helpers the model runs for tc programs, by number.
    public static let skbHelpers: Set<Int32> = [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 23, 26, 28, 38, 39, 43, 69, 177]
    /// BPF_SKB_MAX_LEN (SKB_MAX_ALLOC): the longest frame change_tail and change_head make.
    static let skbMaxLen = 16064

    static let TC_ACT_SHOT: UInt64 = 2, TC_ACT_REDIRECT: UInt64 = 7

    /// A tc helper, or nil for one both program types share (`helper` runs those).
    func skbHelper(_ id: Int32) -> Result<UInt64, BPFFault>? {
        let len = dataEnd - data
        switch id {
        case 9:         // bpf_skb_store_bytes(skb, offset, from, len, flags)
            let off = regs[2], n = Int(truncatingIfNeeded: regs[4]), flags = regs[5]
            // BPF_F_RECOMPUTE_CSUM only adjusts a CHECKSUM_COMPLETE sum (the model's skbs have none).
            guard flags & ~3 == 0, off <= UInt64(Int32.max), n >= 0, n <= Self.stackPerFrame else { return .success(Self.errno(Errno.EINVAL)) }
            guard Int(off) + n <= len else { return .success(Self.errno(Errno.EFAULT)) }
            guard let from = resolve(regs[3], n, write: false) else { return .failure(BPFFault(pc: 0, message: "skb_store_bytes: \(n) bytes not readable at \(describe(regs[3]))")) }
            (packet + data + Int(off)).copyMemory(from: from, byteCount: n)
            if flags & 2 != 0 { skbContext.storeBytes(of: UInt32(0), toByteOffset: BPFContext.hash, as: UInt32.self) }   // BPF_F_INVALIDATE_HASH
            return .success(0)
        case 26:        // bpf_skb_load_bytes(skb, offset, to, len): on failure `to` is zeroed
            let off = regs[2], n = Int(truncatingIfNeeded: regs[4])
            guard let to = resolve(regs[3], n, write: true) else { return .failure(BPFFault(pc: 0, message: "skb_load_bytes: \(n) bytes not writable at \(describe(regs[3]))")) }
            guard off <= UInt64(Int32.max), Int(off) + n <= len else {
                to.initializeMemory(as: UInt8.self, repeating: 0, count: n)
                return .success(Self.errno(Errno.EFAULT))
            }
            to.copyMemory(from: packet + data + Int(off), byteCount: n)
            return .success(0)
        case 10, 11:    // bpf_l3_csum_replace / bpf_l4_csum_replace(skb, offset, from, to, flags)
            let off = regs[2], from = regs[3], to = regs[4], flags = regs[5]
            let allowed: UInt64 = id == 10 ? 0xf : 0xf | 0x10 | 0x20 | 0x40
            guard flags & ~allowed == 0 else { return .success(Self.errno(Errno.EINVAL)) }
            guard off <= 0xffff, off & 1 == 0, Int(off) + 2 <= len else { return .success(Self.errno(Errno.EFAULT)) }
            let p = packet + data + Int(off)
            let old = p.loadUnaligned(as: UInt16.self)
            // BPF_F_MARK_MANGLED_0 without BPF_F_MARK_ENFORCE: a UDP checksum of 0 (none) stays 0.
            let mangled0 = id == 11 && flags & 0x20 != 0
            if mangled0 && flags & 0x40 == 0 && old == 0 { return .success(0) }
            var sum: UInt16
            switch flags & 0xf {
            case 0:
                guard from == 0 else { return .success(Self.errno(Errno.EINVAL)) }
                sum = Self.fold(Self.csumAdd(UInt32(truncatingIfNeeded: to), ~UInt32(old)))   // csum_replace_by_diff
            case 2 where id == 10:
                // csum_replace2, in 16 bits: ~csum16_add(csum16_sub(~sum, from), to).
                sum = ~Self.csum16Add(Self.csum16Add(~old, ~UInt16(truncatingIfNeeded: from)), UInt16(truncatingIfNeeded: to))
            case 2:
                sum = Self.fold(Self.csumAdd(Self.csumAdd(~UInt32(old), ~UInt32(UInt16(truncatingIfNeeded: from))), UInt32(UInt16(truncatingIfNeeded: to))))
            case 4:
                sum = Self.fold(Self.csumAdd(Self.csumAdd(~UInt32(old), ~UInt32(truncatingIfNeeded: from)), UInt32(truncatingIfNeeded: to)))
            default:
                return .success(Self.errno(Errno.EINVAL))
            }
            if mangled0 && sum == 0 { sum = 0xffff }   // CSUM_MANGLED_0
            p.storeBytes(of: sum, as: UInt16.self)
            return .success(0)
        case 23:        // bpf_redirect(ifindex, flags): only BPF_F_INGRESS; anything else is TC_ACT_SHOT
            guard regs[2] & ~1 == 0 else { return .success(Self.TC_ACT_SHOT) }
            redirect = BPFRedirect(ifindex: Int(UInt32(truncatingIfNeeded: regs[1])), ingress: regs[2] & 1 != 0)
            return .success(Self.TC_ACT_REDIRECT)
        case 38:        // bpf_skb_change_tail(skb, len, flags): cut, or grown with zeros; not below the network header
            let newLen = regs[2]
            guard regs[3] == 0, newLen <= UInt64(Self.skbMaxLen), newLen >= 14 else { return .success(Self.errno(Errno.EINVAL)) }
            let n = Int(newLen)
            if n > len { (packet + dataEnd).initializeMemory(as: UInt8.self, repeating: 0, count: n - len) }
            dataEnd = data + n
            return .success(0)
        case 43:        // bpf_skb_change_head(skb, head_room, flags): zeroed room pushed before the MAC header
            let room = regs[2]
            guard regs[3] == 0, room <= UInt64(Self.skbMaxLen - len) else { return .success(Self.errno(Errno.EINVAL)) }
            let h = Int(room)
            if h > data {
                // skb_cow: more headroom than the buffer has; the frame moves back.
                let shift = h - data
                (packet + data + shift).moveInitializeMemory(as: UInt8.self, from: (packet + data).assumingMemoryBound(to: UInt8.self), count: len)
                data += shift; dataMeta += shift; dataEnd += shift
            }
            data -= h; dataMeta = data
            (packet + data).initializeMemory(as: UInt8.self, repeating: 0, count: h)
            headPushed += h
            return .success(0)
        case 39:        // bpf_skb_pull_data(skb, len): a linear skb has every byte in its head
            return .success(regs[2] <= UInt64(len) ? 0 : Self.errno(Errno.ENOMEM))
        default:
            return nil
        }
    }

    /// One's complement addition with the end-around carry (`csum_add`).
    @inline(__always) static func csumAdd(_ a: UInt32, _ b: UInt32) -> UInt32 {
        let (s, o) = a.addingReportingOverflow(b)
        return s &+ (o ? 1 : 0)
    }

    @inline(__always) static func csum16Add(_ a: UInt16, _ b: UInt16) -> UInt16 {
        let (s, o) = a.addingReportingOverflow(b)
        return s &+ (o ? 1 : 0)
    }

    /// `csum_fold`: 32 bits to 16, complemented.
    @inline(__always) static func fold(_ s: UInt32) -> UInt16 {
        var v = (s & 0xffff) + (s >> 16)
        v = (v & 0xffff) + (v >> 16)
        return ~UInt16(truncatingIfNeeded: v)
    }
}
