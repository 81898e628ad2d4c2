// net/core/filter.c and kernel/bpf/helpers.c: the helpers an XDP program calls (and those a tc
// program shares with it; HelpersSKB.swift has the skb's own).

extension BPFVM {
    /// The helpers the model runs (for XDP programs), by number.
    public static let xdpHelpers: Set<Int32> = [1, 2, 3, 5, 6, 7, 8, 12, 23, 28, 44, 51, 54, 65, 69, 177]
    /// Helpers only a GPL-compatible program may call (`gpl_only` in their protos).
    static let gplOnly: Set<Int32> = [6, 177]

    static let XDP_REDIRECT: UInt64 = 4, XDP_ABORTED: UInt64 = 0
    @inline(__always) static func errno(_ e: Int32) -> UInt64 { UInt64(bitPattern: -Int64(e)) }

    func helper(_ id: Int32) -> Result<UInt64, BPFFault> {
        func bad(_ m: String) -> Result<UInt64, BPFFault> { .failure(BPFFault(pc: 0, message: "\(HelperNames.name(id)): \(m)")) }
        if program.type == .schedCls, let r = skbHelper(id) { return r }
        let cpu = host?.cpu ?? 0
        switch id {
        case 1, 2, 3:   // bpf_map_lookup_elem, _update_elem, _delete_elem
            guard let mi = mapIndex(regs[1]) else { return bad("R1 is not a map") }
            let m = program.maps[mi]
            let region = Self.firstMapRegion + UInt64(mi)
            if id == 1 && (m.type == .array || m.type == .percpuArray) {
                // An array's key is its index: read in place, without copying key bytes.
                guard let p = resolve(regs[2], 4, write: false) else { return bad("key of 4 bytes not readable at \(describe(regs[2]))") }
                let i = Int(p.loadUnaligned(as: UInt32.self))
                return .success(i < m.spec.maxEntries ? Self.valueAddress(region, slot: m.globalSlot(i, cpu: cpu), 0) : 0)
            }
            guard let key = bytes(regs[2], m.spec.keySize) else { return bad("key of \(m.spec.keySize) bytes not readable at \(describe(regs[2]))") }
            if id == 1 {
                guard let slot = m.slot(key) else { return .success(0) }
                return .success(Self.valueAddress(region, slot: m.globalSlot(slot, cpu: cpu), 0))
            }
            if id == 3 { return .success(Self.errno(-m.delete(key))) }
            guard m.spec.flags & 0x80 == 0 else { return bad("map \(m.name) is read-only to programs") }
            guard let value = resolve(regs[3], m.spec.valueSize, write: false) else { return bad("value of \(m.spec.valueSize) bytes not readable at \(describe(regs[3]))") }
            let r = m.update(key, value, flags: regs[4], cpu: cpu)
            return .success(r == 0 ? 0 : Self.errno(-r))
        case 5: return .success(host?.ktimeNs() ?? 0)
        case 7: return .success(UInt64(host?.prandom() ?? 0))
        case 8: return .success(UInt64(cpu))
        case 6, 177:    // bpf_trace_printk(fmt, size, a, b, c), bpf_trace_vprintk(fmt, size, data, len)
            let size = Int(truncatingIfNeeded: regs[2])
            guard size > 0, size <= 1024, let fmt = bytes(regs[1], size), fmt.last == 0 else { return .success(Self.errno(Errno.EINVAL)) }
            var args: [UInt64] = [regs[3], regs[4], regs[5]]
            if id == 177 {
                let n = Int(truncatingIfNeeded: regs[4])
                guard n % 8 == 0, n <= 8 * 12 else { return .success(Self.errno(Errno.EINVAL)) }
                guard let raw = n == 0 ? [] : bytes(regs[3], n) else { return bad("arguments not readable") }
                args = stride(from: 0, to: n, by: 8).map { raw.le64($0) }
            }
            let text = formatPrintk(Array(fmt.dropLast()), args)
            printk.append(text)
            return .success(UInt64(text.utf8.count))
        case 23:        // bpf_redirect(ifindex, flags)
            guard regs[2] == 0 else { return .success(Self.XDP_ABORTED) }
            redirect = BPFRedirect(ifindex: Int(UInt32(truncatingIfNeeded: regs[1])))
            return .success(Self.XDP_REDIRECT)
        case 51:        // bpf_redirect_map(map, key, flags): a missing entry returns the flags' action
            guard let m = mapArgument(regs[1]) else { return bad("R1 is not a map") }
            guard m.type == .devmap || m.type == .devmapHash || m.type == .cpumap else { return bad("map \(m.name) of type \(m.type.name) cannot redirect") }
            let flags = regs[3]
            guard flags & ~3 == 0 else { return .success(Self.XDP_ABORTED) }
            let key = UInt32(truncatingIfNeeded: regs[2])
            guard let slot = m.slot(withUnsafeBytes(of: key.littleEndian, Array.init)) else { redirect = nil; return .success(flags & 3) }
            // A cpumap's key is the CPU; a devmap's value the device.
            redirect = m.type == .cpumap ? BPFRedirect(ifindex: 0, map: m.name, mapType: m.type, key: key, cpu: Int(key), queueSize: Int(m.value(slot: slot).le32(0)))
                : BPFRedirect(ifindex: Int(m.value(slot: slot).le32(0)), map: m.name, mapType: m.type, key: key)
            return .success(Self.XDP_REDIRECT)
        case 28:        // bpf_csum_diff(from, from_size, to, to_size, seed)
            let fromSize = Int(truncatingIfNeeded: regs[2]), toSize = Int(truncatingIfNeeded: regs[4])
            guard fromSize >= 0, toSize >= 0, fromSize <= 512, toSize <= 512, (fromSize | toSize) & 3 == 0, fromSize + toSize <= 512 else { return .success(Self.errno(Errno.EINVAL)) }
            guard let from = fromSize == 0 ? [] : bytes(regs[1], fromSize), let to = toSize == 0 ? [] : bytes(regs[3], toSize) else { return bad("buffer not readable") }
            // csum_partial over ~from then to: 32-bit words as the CPU reads them, end-around carry.
            var sum = UInt64(UInt32(truncatingIfNeeded: regs[5]))
            for o in stride(from: 0, to: fromSize, by: 4) { sum += UInt64(~from.le32(o)) }
            for o in stride(from: 0, to: toSize, by: 4) { sum += UInt64(to.le32(o)) }
            while sum >> 32 != 0 { sum = (sum & 0xffff_ffff) + (sum >> 32) }
            return .success(sum)
        case 44:        // bpf_xdp_adjust_head(ctx, delta)
            let delta = Int(Int32(truncatingIfNeeded: regs[2]))
            let metalen = data - dataMeta
            let newData = data + delta
            guard newData >= Self.xdpFrameSize + metalen, newData <= dataEnd - 14 else { return .success(Self.errno(Errno.EINVAL)) }
            exposeHeadroom(from: dataMeta + delta)
            if metalen > 0 { (packet + dataMeta + delta).copyMemory(from: packet + dataMeta, byteCount: metalen) }
            dataMeta += delta; data = newData
            return .success(0)
        case 54:        // bpf_xdp_adjust_meta(ctx, delta)
            let delta = Int(Int32(truncatingIfNeeded: regs[2]))
            let meta = dataMeta + delta
            guard meta >= Self.xdpFrameSize, meta <= data, (data - meta) <= 32, (data - meta) % 4 == 0 else { return .success(Self.errno(Errno.EINVAL)) }
            exposeHeadroom(from: meta)
            dataMeta = meta
            return .success(0)
        case 65:        // bpf_xdp_adjust_tail(ctx, delta)
            let delta = Int(Int32(truncatingIfNeeded: regs[2]))
            let end = dataEnd + delta
            guard end >= data + 14, end <= frameLimit else { return .success(Self.errno(Errno.EINVAL)) }
            if delta > 0 { (packet + dataEnd).initializeMemory(as: UInt8.self, repeating: 0, count: delta) }
            dataEnd = end
            return .success(0)
        case 69:        // bpf_fib_lookup(ctx, params, plen, flags); for an skb without the MTU check (not modelled)
            guard regs[3] == 64 else { return .success(Self.errno(Errno.EINVAL)) }
            guard let p = resolve(regs[2], 64, write: true) else { return bad("params not writable at \(describe(regs[2]))") }
            guard let rc = host?.fibLookup(p, flags: UInt32(truncatingIfNeeded: regs[4])) else {
                return bad("the TBID and SRC flags not supported yet")
            }
            return .success(UInt64(bitPattern: rc))
        default:
            return bad("not supported yet")
        }
    }

    /// `bstr_printf` as trace_printk uses it: %d %i %u %x %X %c %s %p with l/ll, %%.
    func formatPrintk(_ fmt: [UInt8], _ args: [UInt64]) -> String {
        var out = "", i = 0, arg = 0
        func next() -> UInt64 { defer { arg += 1 }; return arg < args.count ? args[arg] : 0 }
        while i < fmt.count {
            let c = fmt[i]
            guard c == UInt8(ascii: "%"), i + 1 < fmt.count else { out.unicodeScalars.append(UnicodeScalar(c)); i += 1; continue }
            i += 1
            if fmt[i] == UInt8(ascii: "%") { out += "%"; i += 1; continue }
            var longs = 0
            while i < fmt.count, fmt[i] == UInt8(ascii: "l") { longs += 1; i += 1 }
            guard i < fmt.count else { break }
            let v = next()
            switch fmt[i] {
            case UInt8(ascii: "d"), UInt8(ascii: "i"): out += longs > 0 ? String(Int64(bitPattern: v)) : String(Int32(truncatingIfNeeded: v))
            case UInt8(ascii: "u"): out += longs > 0 ? String(v) : String(UInt32(truncatingIfNeeded: v))
            case UInt8(ascii: "x"): out += String(longs > 0 ? v : UInt64(UInt32(truncatingIfNeeded: v)), radix: 16)
            case UInt8(ascii: "X"): out += String(longs > 0 ? v : UInt64(UInt32(truncatingIfNeeded: v)), radix: 16, uppercase: true)
            case UInt8(ascii: "c"): out.unicodeScalars.append(UnicodeScalar(UInt8(truncatingIfNeeded: v)))
            case UInt8(ascii: "p"): out += "0x" + String(v, radix: 16)
            case UInt8(ascii: "s"):
                var s: [UInt8] = [], a = v
                while s.count < 64, let b = load(a, 1), b != 0 { s.append(UInt8(b)); a &+= 1 }
                out += String(decoding: s, as: UTF8.self)
            default: out += "%" + String(UnicodeScalar(fmt[i]))
            }
            i += 1
        }
        return out
    }
}
