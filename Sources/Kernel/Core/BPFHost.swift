import BPF
import Wire

// What a BPF program reaches outside itself: the stack's virtual clock, random numbers, the
// CPU it runs on, devices and the FIBs (net/core/filter.c: bpf_ipv4_fib_lookup, bpf_ipv6_fib_lookup).
extension Stack: BPFHost {
    public func ktimeNs() -> UInt64 { clocks[bpfCPU] }

    /// xorshift64*, deterministic per stack.
    public func prandom() -> UInt32 {
        bpfRandom ^= bpfRandom >> 12; bpfRandom ^= bpfRandom << 25; bpfRandom ^= bpfRandom >> 27
        return UInt32(truncatingIfNeeded: (bpfRandom &* 0x2545_f491_4f6c_dd1d) >> 32)
    }

    public var cpu: Int { bpfCPU }

    public func deviceExists(ifindex: Int) -> Bool { devices.contains { $0.ifindex == ifindex } }

    /// `bpf_fib_lookup` over `struct bpf_fib_lookup` (64 bytes), with check_mtu: IPv4
    /// (`bpf_ipv4_fib_lookup`) or IPv6 (`bpf_ipv6_fib_lookup`). The input device must forward,
    /// the route must be unicast, the next hop's neighbour valid (unless SKIP_NEIGH); on success
    /// the egress ifindex, MACs, gateway and MTU are written back. DIRECT and OUTPUT look up the
    /// same table here (no policy routing); TBID and SRC are not modelled yet (nil).
    public func fibLookup(_ p: UnsafeMutableRawPointer, flags: UInt32) -> Int64? {
        let family = p.load(as: UInt8.self)
        let ifindex = Int(p.load(fromByteOffset: 8, as: UInt32.self))
        // BPF_FIB_LOOKUP_DIRECT 1, OUTPUT 2, SKIP_NEIGH 4, TBID 8, SRC 16; others are the kernel's -EINVAL.
        guard flags & ~UInt32(0x1f) == 0 else { return -Int64(Errno.EINVAL) }
        guard family == 2 || family == 10 else { return -Int64(Errno.EAFNOSUPPORT) }
        guard flags & 0x18 == 0 else { return nil }
        return family == 2 ? fibLookup4(p, ifindex: ifindex, flags: flags) : fibLookup6(p, ifindex: ifindex, flags: flags)
    }

    static let FIB_SUCCESS: Int64 = 0, FIB_UNREACHABLE: Int64 = 2, FIB_NOT_FWDED: Int64 = 4, FIB_FWD_DISABLED: Int64 = 5
    static let FIB_NO_NEIGH: Int64 = 7, FIB_FRAG_NEEDED: Int64 = 8

    private func fibLookup4(_ p: UnsafeMutableRawPointer, ifindex: Int, flags: UInt32) -> Int64 {
        guard devices.contains(where: { $0.ifindex == ifindex }) else { return -Int64(Errno.ENODEV) }
        guard ipForward else { return Self.FIB_FWD_DISABLED }
        let dst = IPv4Address(raw: UInt32(bigEndian: p.load(fromByteOffset: 32, as: UInt32.self)))
        guard let route = fib.lookup(dst) else { return Self.FIB_NOT_FWDED }
        guard route.type == .unicast else { return route.type == .unreachable ? Self.FIB_UNREACHABLE : Self.FIB_NOT_FWDED }
        let out = devices[route.dev]
        guard let mtu = fibCheckMTU(p, out) else { return Self.FIB_FRAG_NEEDED }
        p.storeBytes(of: UInt32(route.metric), toByteOffset: 12, as: UInt32.self)
        p.storeBytes(of: UInt32(out.ifindex), toByteOffset: 8, as: UInt32.self)
        let nexthop = route.gateway ?? dst
        if route.gateway != nil { p.storeBytes(of: nexthop.raw.bigEndian, toByteOffset: 32, as: UInt32.self) }
        if flags & 0x4 == 0 {
            guard let n = neighbours.lookup(nexthop, dev: route.dev), let mac = n.mac, n.state.isValid else { return Self.FIB_NO_NEIGH }
            fibSetMACs(p, dmac: mac, smac: out.mac)
        }
        return fibSetFwdParams(p, mtu: mtu)
    }

    /// Link-local, multicast and loopback destinations or sources are never forwarded (rt6_need_strict).
    private func fibLookup6(_ p: UnsafeMutableRawPointer, ifindex: Int, flags: UInt32) -> Int64 {
        func address(_ o: Int) -> IPv6Address {
            IPv6Address(raw: UInt128(UInt64(bigEndian: p.loadUnaligned(fromByteOffset: o, as: UInt64.self))) << 64
                        | UInt128(UInt64(bigEndian: p.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self))))
        }
        let src = address(16), dst = address(32)
        func strict(_ a: IPv6Address) -> Bool { a.isMulticast || a.isLinkLocal || a.isLoopback }
        guard !strict(dst), !strict(src) else { return Self.FIB_NOT_FWDED }
        guard devices.contains(where: { $0.ifindex == ifindex }) else { return -Int64(Errno.ENODEV) }
        guard ipForward6, !ipv6Disabled else { return Self.FIB_FWD_DISABLED }
        guard let route = fib6.lookup(dst) else { return Self.FIB_NOT_FWDED }
        guard route.type == .unicast else { return route.type == .unreachable ? Self.FIB_UNREACHABLE : Self.FIB_NOT_FWDED }
        let out = devices[route.dev]
        guard let mtu = fibCheckMTU(p, out) else { return Self.FIB_FRAG_NEEDED }
        let nexthop = route.gateway ?? dst
        if let gw = route.gateway { withUnsafeBytes(of: gw.raw.bigEndian) { (p + 32).copyMemory(from: $0.baseAddress!, byteCount: 16) } }
        p.storeBytes(of: UInt32(route.metric), toByteOffset: 12, as: UInt32.self)
        p.storeBytes(of: UInt32(out.ifindex), toByteOffset: 8, as: UInt32.self)
        if flags & 0x4 == 0 {
            guard let n = neighbours6.lookup(nexthop, dev: route.dev), let mac = n.mac, n.state.isValid else { return Self.FIB_NO_NEIGH }
            fibSetMACs(p, dmac: mac, smac: out.mac)
        }
        return fibSetFwdParams(p, mtu: mtu)
    }

    /// check_mtu: a `tot_len` over the device's MTU answers FRAG_NEEDED with the MTU in its place.
    private func fibCheckMTU(_ p: UnsafeMutableRawPointer, _ out: NetDevice) -> Int? {
        let mtu = out.config.mtu
        guard Int(p.load(fromByteOffset: 6, as: UInt16.self)) <= mtu else {
            p.storeBytes(of: UInt16(mtu), toByteOffset: 6, as: UInt16.self)
            return nil
        }
        return mtu
    }

    private func fibSetMACs(_ p: UnsafeMutableRawPointer, dmac: MACAddress, smac: MACAddress) {
        withUnsafeBytes(of: dmac.bytes) { (p + 58).copyMemory(from: $0.baseAddress!, byteCount: 6) }
        withUnsafeBytes(of: smac.bytes) { (p + 52).copyMemory(from: $0.baseAddress!, byteCount: 6) }
    }

    /// `bpf_fib_set_fwd_params`: no VLAN, the MTU where tot_len was.
    private func fibSetFwdParams(_ p: UnsafeMutableRawPointer, mtu: Int) -> Int64 {
        p.storeBytes(of: UInt32(0), toByteOffset: 48, as: UInt32.self)   // h_vlan_proto, h_vlan_TCI
        p.storeBytes(of: UInt16(mtu), toByteOffset: 6, as: UInt16.self)
        return Self.FIB_SUCCESS
    }
}
