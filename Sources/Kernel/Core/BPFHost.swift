import BPF
import Wire

// What a BPF program reaches outside itself: the stack's virtual clock, random numbers, the
// CPU it runs on, devices and the FIB (net/core/filter.c: bpf_ipv4_fib_lookup).
extension Stack: BPFHost {
    public func ktimeNs() -> UInt64 { clocks[bpfCPU] }

    /// xorshift64*, deterministic per stack.
    public func prandom() -> UInt32 {
        bpfRandom ^= bpfRandom >> 12; bpfRandom ^= bpfRandom << 25; bpfRandom ^= bpfRandom >> 27
        return UInt32(truncatingIfNeeded: (bpfRandom &* 0x2545_f491_4f6c_dd1d) >> 32)
    }

    public var cpu: Int { bpfCPU }

    public func deviceExists(ifindex: Int) -> Bool { devices.contains { $0.ifindex == ifindex } }

    /// `bpf_ipv4_fib_lookup` with check_mtu, over `struct bpf_fib_lookup` (64 bytes): the input
    /// device must forward, the route must be unicast, the next hop's neighbour valid; on success
    /// the egress ifindex, MACs, gateway and MTU are written back. DIRECT and OUTPUT look up the
    /// same table here (no policy routing); IPv6, TBID and SRC are not modelled yet (nil).
    public func fibLookup(_ p: UnsafeMutableRawPointer, flags: UInt32) -> Int64? {
        let SUCCESS: Int64 = 0, NOT_FWDED: Int64 = 4, FWD_DISABLED: Int64 = 5, NO_NEIGH: Int64 = 7, FRAG_NEEDED: Int64 = 8
        let family = p.load(as: UInt8.self)
        let ifindex = Int(p.load(fromByteOffset: 8, as: UInt32.self))
        guard devices.contains(where: { $0.ifindex == ifindex }) else { return -Int64(Errno.ENODEV) }
        // BPF_FIB_LOOKUP_DIRECT 1, OUTPUT 2, SKIP_NEIGH 4, TBID 8, SRC 16; others are the kernel's -EINVAL.
        guard flags & ~UInt32(0x1f) == 0 else { return -Int64(Errno.EINVAL) }
        guard family == 2 || family == 10 else { return -Int64(Errno.EAFNOSUPPORT) }
        guard family == 2, flags & 0x18 == 0 else { return nil }
        guard ipForward else { return FWD_DISABLED }
        let dst = IPv4Address(raw: UInt32(bigEndian: p.load(fromByteOffset: 32, as: UInt32.self)))
        guard let route = fib.lookup(dst), route.type == .unicast else { return NOT_FWDED }
        let out = devices[route.dev]
        let mtu = out.config.mtu
        let totLen = Int(p.load(fromByteOffset: 6, as: UInt16.self))
        if totLen > mtu {
            p.storeBytes(of: UInt16(mtu), toByteOffset: 6, as: UInt16.self)
            return FRAG_NEEDED
        }
        p.storeBytes(of: UInt32(route.metric), toByteOffset: 12, as: UInt32.self)
        p.storeBytes(of: UInt32(out.ifindex), toByteOffset: 8, as: UInt32.self)
        let nexthop = route.gateway ?? dst
        if route.gateway != nil { p.storeBytes(of: nexthop.raw.bigEndian, toByteOffset: 32, as: UInt32.self) }
        if flags & 0x4 == 0 {
            guard let n = neighbours.lookup(nexthop, dev: route.dev), let mac = n.mac,
                  [.permanent, .reachable, .stale, .delay, .probe].contains(n.state) else { return NO_NEIGH }
            withUnsafeBytes(of: mac.bytes) { (p + 58).copyMemory(from: $0.baseAddress!, byteCount: 6) }
        }
        withUnsafeBytes(of: out.mac.bytes) { (p + 52).copyMemory(from: $0.baseAddress!, byteCount: 6) }
        p.storeBytes(of: UInt32(0), toByteOffset: 48, as: UInt32.self)   // h_vlan_proto, h_vlan_TCI
        p.storeBytes(of: UInt16(mtu), toByteOffset: 6, as: UInt16.self)
        return SUCCESS
    }
}
