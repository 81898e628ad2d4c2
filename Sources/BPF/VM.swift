// kernel/bpf/core.c (___bpf_prog_run): the interpreter. Pointers are 64-bit values naming a region
// in their top 16 bits (1 ctx, 2 stack, 3 packet, 4+ the program's maps), a map value's slot in
// the next 24 and an offset in the low 24, so programs do arithmetic and comparisons on them as on
// addresses, while every load and store is checked against its region's (or value's) bounds: a
// program cannot crash or hang the simulator, nor reach past a map value into its neighbour.

/// Why a run ended early: the instruction and what it did, as the trace shows it.
public struct BPFFault: Error, Sendable, CustomStringConvertible {
    public var pc: Int
    public var message: String
    public var description: String { "insn \(pc): \(message)" }
}

/// A redirect a program asked for (`bpf_redirect`, `bpf_redirect_map`), resolved as the helper does.
public struct BPFRedirect: Sendable, Equatable {
    public var ifindex: Int
    /// Through a map: its name, type and the key; nil for `bpf_redirect`.
    public var map: String?
    public var mapType: BPFMapType?
    public var key: UInt32?
    /// tc's `BPF_F_INGRESS`: into the device's receive path rather than out of it.
    public var ingress = false
    /// Through a cpumap: the CPU whose kthread takes the frame to the stack, and its entry's qsize.
    public var cpu: Int?
    public var queueSize = 0
}

/// One executed instruction, for the instruction trace: where, and the destination register after.
public struct BPFStep: Sendable {
    public var pc: Int
    public var value: UInt64
}

public final class BPFVM {
    static let ctxRegion: UInt64 = 1, stackRegion: UInt64 = 2, packetRegion: UInt64 = 3, firstMapRegion: UInt64 = 4
    static let mapHandleTag: UInt64 = 0x8000
    public static let stackPerFrame = 512, maxFrames = 8, maxTailCalls = 33
    /// Instructions one run may execute before it is stopped (the verifier's complexity limit).
    public var budget = 1_000_000
    /// `XDP_PACKET_HEADROOM`.
    public static let headroom = 256
    /// `sizeof(struct xdp_frame)`: headroom adjust_head and adjust_meta must leave.
    static let xdpFrameSize = 40

    /// r0-r10, and five more so a register number from an unverified program cannot reach past them.
    /// At a fixed place in a page of its own (`regsPage`): every instruction stores to a register,
    /// and a load whose address matches a pending store's in the low 12 bits waits for it (4K
    /// aliasing), so the registers sit where neither the ops (`Op.pageOffset`), the packet's data
    /// (past the headroom) nor frame 0 of the stack is.
    let regs: UnsafeMutablePointer<UInt64>
    private let regsPage = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
    static let regsPageOffset = 3584
    let stack = UnsafeMutableRawPointer.allocate(byteCount: stackPerFrame * maxFrames, alignment: 4096)
    /// BPF-to-BPF calls in progress: where each returns, the callee-saved r6-r9 and r10 of its caller.
    let callFrames = UnsafeMutablePointer<(ret: Int, saved: (UInt64, UInt64, UInt64, UInt64), fp: UInt64)>.allocate(capacity: maxFrames)
    /// A tc program's `struct __sk_buff`.
    let skbContext = UnsafeMutableRawPointer.allocate(byteCount: BPFContext.skbSize, alignment: 8)
    var packet: UnsafeMutableRawPointer
    var packetCapacity: Int
    /// Where this run's frame may grow to (the buffer may be larger from an earlier run).
    var frameLimit = 0
    /// The lowest headroom byte zeroed in this run (headroom is zeroed as it is exposed).
    var zeroedFrom = 0
    /// Bytes below frame 0's pointer zeroed in this run (a tail call's program may reach deeper).
    var zeroedStack = 0
    /// Bytes `bpf_skb_change_head` pushed before the frame in this run.
    public internal(set) var headPushed = 0
    /// Packet bounds as offsets into the buffer.
    public internal(set) var dataMeta = 0, data = 0, dataEnd = 0
    /// `struct xdp_md` inputs.
    var ingressIfindex: UInt32 = 0, rxQueue: UInt32 = 0
    var program: BPFProgram!
    public internal(set) var redirect: BPFRedirect?
    public internal(set) var printk: [String] = []
    public var traceSteps = false
    public internal(set) var steps: [BPFStep] = []
    public internal(set) var executed = 0
    var tailCalls = 0
    /// The host of the run in progress, set only for the run by a caller that holds it: unowned,
    /// so a run costs no reference counting for it (a weak reference, or a strong one, cost every run).
    unowned(unsafe) var host: BPFHost?

    public init() {
        packetCapacity = 2048
        packet = .allocate(byteCount: packetCapacity, alignment: 4096)
        regs = (regsPage + Self.regsPageOffset).bindMemory(to: UInt64.self, capacity: 16)
    }
    deinit { stack.deallocate(); packet.deallocate(); regsPage.deallocate(); skbContext.deallocate(); callFrames.deallocate() }

    /// The frame as the program left it.
    public var frame: [UInt8] { Array(UnsafeRawBufferPointer(start: packet + data, count: dataEnd - data)) }

    /// Room a frame may grow into at its tail (`bpf_xdp_adjust_tail`): up to a 4 KiB page less
    /// `skb_shared_info`, as a driver's page-sized receive buffer allows.
    static func frameSize(_ len: Int) -> Int { max(4096 - 320, headroom + len) }

    /// Runs an XDP program over `frame`; the result is r0 or the fault that ended it.
    public func runXDP(_ p: BPFProgram, frame f: [UInt8], ifindex: Int, rxQueue q: Int, host h: BPFHost) -> Result<UInt64, BPFFault> {
        place(f, room: Self.frameSize(f.count))
        ingressIfindex = UInt32(ifindex); rxQueue = UInt32(q)
        return start(p, host: h)
    }

    /// Runs a tc (`sched_cls`) program over `frame` (from its MAC header) and the skb's fields;
    /// afterwards `frame`, `skb` and `redirect` hold what it left.
    public func runSKB(_ p: BPFProgram, frame f: [UInt8], skb s: BPFSkb, host h: BPFHost) -> Result<UInt64, BPFFault> {
        f.withUnsafeBytes { runSKB(p, bytes: $0, skb: s, host: h) }
    }

    /// The same over bytes in place (an skb's own, without copying them out first).
    public func runSKB(_ p: BPFProgram, bytes f: UnsafeRawBufferPointer, skb s: BPFSkb, host h: BPFHost) -> Result<UInt64, BPFFault> {
        // Room for bpf_skb_change_tail / change_head up to BPF_SKB_MAX_LEN.
        place(f, room: Self.headroom + max(f.count, Self.skbMaxLen))
        headPushed = 0
        fillSkbContext(s, len: f.count)
        return start(p, host: h)
    }

    /// The next filter of a chain: the frame and `struct __sk_buff` as the previous run left them
    /// (one skb goes through every filter); `headPushed` keeps counting.
    public func runSKBAgain(_ p: BPFProgram, host h: BPFHost) -> Result<UInt64, BPFFault> { start(p, host: h) }

    /// The frame into the packet buffer after the headroom, zeroed headroom before it.
    private func place(_ f: [UInt8], room need: Int) { f.withUnsafeBytes { place($0, room: need) } }
    private func place(_ f: UnsafeRawBufferPointer, room need: Int) {
        frameLimit = need
        if need > packetCapacity {
            packet.deallocate()
            packetCapacity = need
            packet = .allocate(byteCount: need, alignment: 4096)
        }
        if let b = f.baseAddress, f.count > 0 { (packet + Self.headroom).copyMemory(from: b, byteCount: f.count) }
        data = Self.headroom; dataMeta = data; dataEnd = data + f.count
        zeroedFrom = data
    }

    /// The headroom from `start` on becomes reachable (adjust_head, adjust_meta): zeroed the first
    /// time in a run, so what an earlier frame left there never shows; bytes the program wrote stay.
    func exposeHeadroom(from start: Int) {
        guard start < zeroedFrom else { return }
        (packet + start).initializeMemory(as: UInt8.self, repeating: 0, count: zeroedFrom - start)
        zeroedFrom = start
    }

    private func start(_ p: BPFProgram, host h: BPFHost) -> Result<UInt64, BPFFault> {
        host = h
        if case .some = redirect { redirect = nil }   // (`!= nil` copied the value out first)
        if !printk.isEmpty { printk.removeAll(keepingCapacity: true) }
        if !steps.isEmpty { steps.removeAll(keepingCapacity: true) }
        executed = 0; tailCalls = 0
        // Stack bytes a program reads before writing (root may) read as zero: runs stay deterministic.
        zeroedStack = 0
        zeroStack(to: p.stackDepth)
        defer { host = nil }
        return run(p)
    }

    /// Frame 0 zeroed down to `depth` bytes below its pointer.
    @inline(__always) func zeroStack(to depth: Int) {
        guard depth > zeroedStack else { return }
        (stack + Self.stackPerFrame - depth).initializeMemory(as: UInt8.self, repeating: 0, count: depth - zeroedStack)
        zeroedStack = depth
    }

    // MARK: memory

    @inline(__always) static func address(_ region: UInt64, _ offset: Int) -> UInt64 { region << 48 | UInt64(truncatingIfNeeded: offset) & 0xffff_ffff_ffff }
    /// A map value: its slot (over all CPUs' copies) and the offset inside it.
    @inline(__always) static func valueAddress(_ region: UInt64, slot: Int, _ offset: Int) -> UInt64 { region << 48 | UInt64(slot) << 24 | UInt64(offset) }

    /// The host address of `size` bytes at `addr`, or nil when outside the region's bounds.
    @inline(__always) func resolve(_ addr: UInt64, _ size: Int, write: Bool) -> UnsafeMutableRawPointer? {
        let r = addr >> 48, off = Int(addr & 0xffff_ffff_ffff)
        switch r {
        case Self.stackRegion:
            return off + size <= Self.stackPerFrame * Self.maxFrames ? stack + off : nil
        case Self.packetRegion:
            return off >= dataMeta && off + size <= dataEnd ? packet + off : nil
        case Self.ctxRegion:
            return nil
        default:
            guard r >= Self.firstMapRegion, r - Self.firstMapRegion < UInt64(program.maps.count) else { return nil }
            let m = program.maps[Int(r - Self.firstMapRegion)]
            let slot = off >> 24, inner = off & 0xff_ffff
            guard slot < m.slotsPerCPU * m.cpus, inner + size <= m.spec.valueSize, !write || m.spec.flags & 0x80 == 0 else { return nil }
            return m.storage + slot * m.stride + inner
        }
    }

    func describe(_ addr: UInt64) -> String {
        let r = addr >> 48, off = Int(addr & 0xffff_ffff_ffff)
        switch r {
        case 0: return addr == 0 ? "NULL" : "scalar \(addr)"
        case Self.ctxRegion: return "ctx+\(off)"
        case Self.stackRegion: return "fp\(off - Self.stackPerFrame >= 0 ? "+" : "")\(off - Self.stackPerFrame)"
        case Self.packetRegion: return "pkt+\(off - data) (data_end at +\(dataEnd - data))"
        default:
            if r >= Self.firstMapRegion, r - Self.firstMapRegion < UInt64(program.maps.count) { return "map \(program.maps[Int(r - Self.firstMapRegion)].name) value+\(off & 0xff_ffff)" }
            return "0x\(String(addr, radix: 16))"
        }
    }

    @inline(__always) func load(_ addr: UInt64, _ size: Int) -> UInt64? {
        if addr >> 48 == Self.ctxRegion { return loadCtx(Int(addr & 0xffff_ffff_ffff), size) }
        guard let p = resolve(addr, size, write: false) else { return nil }
        switch size {
        case 1: return UInt64(p.load(as: UInt8.self))
        case 2: return UInt64(p.loadUnaligned(as: UInt16.self))
        case 4: return UInt64(p.loadUnaligned(as: UInt32.self))
        default: return p.loadUnaligned(as: UInt64.self)
        }
    }

    @inline(__always) func store(_ addr: UInt64, _ size: Int, _ v: UInt64) -> Bool {
        if addr >> 48 == Self.ctxRegion { return storeCtx(Int(addr & 0xffff_ffff_ffff), size, v) }
        guard let p = resolve(addr, size, write: true) else { return false }
        switch size {
        case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: v), as: UInt8.self)
        case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: v), as: UInt16.self)
        case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: v), as: UInt32.self)
        default: p.storeBytes(of: v, as: UInt64.self)
        }
        return true
    }

    /// `size` bytes a helper reads from the program's memory.
    func bytes(_ addr: UInt64, _ size: Int) -> [UInt8]? {
        guard let p = resolve(addr, size, write: false) else { return nil }
        return Array(UnsafeRawBufferPointer(start: p, count: size))
    }

    // MARK: the interpreter

    func run(_ start: BPFProgram) -> Result<UInt64, BPFFault> {
        // The same program again (the usual case) keeps its reference: no retain and release per run
        // (compared by its code, as `!==` itself retains both sides).
        if program?.code != start.code { program = start }
        let trace = traceSteps
        // A traced run takes the general path for every instruction (it records each step).
        var insns = start.code, ops = trace ? start.generalOps : start.ops, count = start.codeCount
        var pc = 0
        let r = regs
        r.initialize(repeating: 0, count: 16)
        r[1] = Self.address(Self.ctxRegion, 0)
        r[10] = Self.address(Self.stackRegion, Self.stackPerFrame)
        // The call depth (callFrames holds that many): a local array here cost a release per run.
        var depth = 0
        let budget = self.budget
        var n = 0
        defer { executed = n }

        while true {
            n &+= 1
            guard n <= budget else { return failure(pc, "instruction budget of \(budget) exhausted (a loop the verifier would not have bounded)") }
            // The common instructions first, pre-decoded (`Op`): jump targets are checked at load
            // and the slots after the last one send a run falling off the end here to the general
            // path, so this loop never checks the program counter. Anything else (or a memory
            // access outside packet, stack and ctx) goes on to the general path below.
            fastPath: do {
                let o = ops[pc]
                let d = Int(o.dst), s = Int(o.src)
                let k = o.imm, k32 = UInt32(truncatingIfNeeded: o.imm), t = Int(o.off)
                switch o.code {
                // ALU64
                case 0x07: r[d] &+= k
                case 0x0f: r[d] &+= r[s]
                case 0x17: r[d] &-= k
                case 0x1f: r[d] &-= r[s]
                case 0x27: r[d] &*= k
                case 0x2f: r[d] &*= r[s]
                case 0x47: r[d] |= k
                case 0x4f: r[d] |= r[s]
                case 0x57: r[d] &= k
                case 0x5f: r[d] &= r[s]
                case 0x67: r[d] <<= k & 63
                case 0x6f: r[d] <<= r[s] & 63
                case 0x77: r[d] >>= k & 63
                case 0x7f: r[d] >>= r[s] & 63
                case 0x87: r[d] = 0 &- r[d]
                case 0xa7: r[d] ^= k
                case 0xaf: r[d] ^= r[s]
                case 0xb7: r[d] = k
                case 0xbf: r[d] = r[s]
                case 0xc7: r[d] = UInt64(bitPattern: Int64(bitPattern: r[d]) >> Int64(k & 63))
                case 0xcf: r[d] = UInt64(bitPattern: Int64(bitPattern: r[d]) >> Int64(r[s] & 63))
                // ALU32: zero-extended
                case 0x04: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]) &+ k32)
                case 0x0c: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]) &+ UInt32(truncatingIfNeeded: r[s]))
                case 0x14: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]) &- k32)
                case 0x1c: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]) &- UInt32(truncatingIfNeeded: r[s]))
                case 0x44: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]) | k32)
                case 0x4c: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]) | UInt32(truncatingIfNeeded: r[s]))
                case 0x54: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]) & k32)
                case 0x5c: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]) & UInt32(truncatingIfNeeded: r[s]))
                case 0x64: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]) << (k32 & 31))
                case 0x74: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]) >> (k32 & 31))
                case 0xa4: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]) ^ k32)
                case 0xac: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]) ^ UInt32(truncatingIfNeeded: r[s]))
                case 0xb4: r[d] = UInt64(k32)
                case 0xbc: r[d] = r[s] & 0xffff_ffff
                // Byte order: to big endian swaps on this little-endian machine, to little endian truncates.
                case 0xdc:
                    switch k32 {
                    case 16: r[d] = UInt64(UInt16(truncatingIfNeeded: r[d]).byteSwapped)
                    case 32: r[d] = UInt64(UInt32(truncatingIfNeeded: r[d]).byteSwapped)
                    case 64: r[d] = r[d].byteSwapped
                    default: break fastPath
                    }
                case 0xd4:
                    switch k32 {
                    case 16: r[d] &= 0xffff
                    case 32: r[d] &= 0xffff_ffff
                    case 64: break
                    default: break fastPath
                    }
                // Loads and stores in packet and stack memory; 4-byte loads from an XDP ctx.
                case 0x61:
                    let a = r[s] &+ UInt64(bitPattern: Int64(t))
                    if let p = fastPointer(a, 4) { r[d] = UInt64(p.loadUnaligned(as: UInt32.self)) }
                    else if a >> 48 == Self.ctxRegion, let v = loadCtx(Int(a & 0xffff_ffff_ffff), 4) { r[d] = v }
                    else { break fastPath }
                case 0x69: guard let p = fastPointer(r[s] &+ UInt64(bitPattern: Int64(t)), 2) else { break fastPath }; r[d] = UInt64(p.loadUnaligned(as: UInt16.self))
                case 0x71: guard let p = fastPointer(r[s] &+ UInt64(bitPattern: Int64(t)), 1) else { break fastPath }; r[d] = UInt64(p.load(as: UInt8.self))
                case 0x79: guard let p = fastPointer(r[s] &+ UInt64(bitPattern: Int64(t)), 8) else { break fastPath }; r[d] = p.loadUnaligned(as: UInt64.self)
                case 0x63: guard let p = fastPointer(r[d] &+ UInt64(bitPattern: Int64(t)), 4, write: true) else { break fastPath }; p.storeBytes(of: UInt32(truncatingIfNeeded: r[s]), toByteOffset: 0, as: UInt32.self)
                case 0x6b: guard let p = fastPointer(r[d] &+ UInt64(bitPattern: Int64(t)), 2, write: true) else { break fastPath }; p.storeBytes(of: UInt16(truncatingIfNeeded: r[s]), toByteOffset: 0, as: UInt16.self)
                case 0x73: guard let p = fastPointer(r[d] &+ UInt64(bitPattern: Int64(t)), 1, write: true) else { break fastPath }; p.storeBytes(of: UInt8(truncatingIfNeeded: r[s]), as: UInt8.self)
                case 0x7b: guard let p = fastPointer(r[d] &+ UInt64(bitPattern: Int64(t)), 8, write: true) else { break fastPath }; p.storeBytes(of: r[s], toByteOffset: 0, as: UInt64.self)
                case 0x62: guard let p = fastPointer(r[d] &+ UInt64(bitPattern: Int64(t)), 4, write: true) else { break fastPath }; p.storeBytes(of: k32, toByteOffset: 0, as: UInt32.self)
                case 0x6a: guard let p = fastPointer(r[d] &+ UInt64(bitPattern: Int64(t)), 2, write: true) else { break fastPath }; p.storeBytes(of: UInt16(truncatingIfNeeded: k), toByteOffset: 0, as: UInt16.self)
                case 0x72: guard let p = fastPointer(r[d] &+ UInt64(bitPattern: Int64(t)), 1, write: true) else { break fastPath }; p.storeBytes(of: UInt8(truncatingIfNeeded: k), as: UInt8.self)
                case 0x7a: guard let p = fastPointer(r[d] &+ UInt64(bitPattern: Int64(t)), 8, write: true) else { break fastPath }; p.storeBytes(of: k, toByteOffset: 0, as: UInt64.self)
                // Atomic adds without fetch (`__sync_fetch_and_add` on a counter whose old value goes unused).
                case 0xdb where k == 0:
                    guard let p = fastPointer(r[d] &+ UInt64(bitPattern: Int64(t)), 8, write: true) else { break fastPath }
                    p.storeBytes(of: p.loadUnaligned(as: UInt64.self) &+ r[s], toByteOffset: 0, as: UInt64.self)
                case 0xc3 where k == 0:
                    guard let p = fastPointer(r[d] &+ UInt64(bitPattern: Int64(t)), 4, write: true) else { break fastPath }
                    p.storeBytes(of: p.loadUnaligned(as: UInt32.self) &+ UInt32(truncatingIfNeeded: r[s]), toByteOffset: 0, as: UInt32.self)
                case 0x18: r[d] = k; pc += 2; continue
                // Jumps, to targets checked at load.
                case 0x05: pc = t; continue
                case 0x15: pc = r[d] == k ? t : pc + 1; continue
                case 0x1d: pc = r[d] == r[s] ? t : pc + 1; continue
                case 0x55: pc = r[d] != k ? t : pc + 1; continue
                case 0x5d: pc = r[d] != r[s] ? t : pc + 1; continue
                case 0x25: pc = r[d] > k ? t : pc + 1; continue
                case 0x2d: pc = r[d] > r[s] ? t : pc + 1; continue
                case 0x35: pc = r[d] >= k ? t : pc + 1; continue
                case 0x3d: pc = r[d] >= r[s] ? t : pc + 1; continue
                case 0xa5: pc = r[d] < k ? t : pc + 1; continue
                case 0xad: pc = r[d] < r[s] ? t : pc + 1; continue
                case 0xb5: pc = r[d] <= k ? t : pc + 1; continue
                case 0xbd: pc = r[d] <= r[s] ? t : pc + 1; continue
                case 0x45: pc = r[d] & k != 0 ? t : pc + 1; continue
                case 0x4d: pc = r[d] & r[s] != 0 ? t : pc + 1; continue
                case 0x65: pc = Int64(bitPattern: r[d]) > Int64(bitPattern: k) ? t : pc + 1; continue
                case 0x6d: pc = Int64(bitPattern: r[d]) > Int64(bitPattern: r[s]) ? t : pc + 1; continue
                case 0x75: pc = Int64(bitPattern: r[d]) >= Int64(bitPattern: k) ? t : pc + 1; continue
                case 0x7d: pc = Int64(bitPattern: r[d]) >= Int64(bitPattern: r[s]) ? t : pc + 1; continue
                case 0xc5: pc = Int64(bitPattern: r[d]) < Int64(bitPattern: k) ? t : pc + 1; continue
                case 0xcd: pc = Int64(bitPattern: r[d]) < Int64(bitPattern: r[s]) ? t : pc + 1; continue
                case 0xd5: pc = Int64(bitPattern: r[d]) <= Int64(bitPattern: k) ? t : pc + 1; continue
                case 0xdd: pc = Int64(bitPattern: r[d]) <= Int64(bitPattern: r[s]) ? t : pc + 1; continue
                case 0x16: pc = UInt32(truncatingIfNeeded: r[d]) == k32 ? t : pc + 1; continue
                case 0x1e: pc = UInt32(truncatingIfNeeded: r[d]) == UInt32(truncatingIfNeeded: r[s]) ? t : pc + 1; continue
                case 0x56: pc = UInt32(truncatingIfNeeded: r[d]) != k32 ? t : pc + 1; continue
                case 0x5e: pc = UInt32(truncatingIfNeeded: r[d]) != UInt32(truncatingIfNeeded: r[s]) ? t : pc + 1; continue
                case 0x26: pc = UInt32(truncatingIfNeeded: r[d]) > k32 ? t : pc + 1; continue
                case 0x36: pc = UInt32(truncatingIfNeeded: r[d]) >= k32 ? t : pc + 1; continue
                case 0xa6: pc = UInt32(truncatingIfNeeded: r[d]) < k32 ? t : pc + 1; continue
                case 0xb6: pc = UInt32(truncatingIfNeeded: r[d]) <= k32 ? t : pc + 1; continue
                case 0x95 where depth == 0: return .success(r[0])
                default: break fastPath
                }
                pc += 1
                continue
            }
            general: do {
                // Counted above, but there is no instruction here to execute.
                guard pc >= 0, pc < count else { n &-= 1; return failure(pc, "jump out of the program") }
                let i = insns[pc]
                let d = Int(i.dst), s = Int(i.src)
                guard d <= 10, s <= 10 else { return failure(pc, "invalid register") }
                let code = i.code
                switch code & 0x07 {
                case BPF.ALU64, BPF.ALU:
                    let is64 = code & 0x07 == BPF.ALU64
                    let op = code & 0xf0
                    var src: UInt64 = code & BPF.X != 0 ? regs[s] : UInt64(bitPattern: Int64(i.imm))
                    var dst = regs[d]
                    if !is64 { src &= 0xffff_ffff; dst &= 0xffff_ffff }
                    guard d != 10 else { return failure(pc, "frame pointer is read only") }
                    var r: UInt64
                    switch op {
                    case BPF.ADD: r = dst &+ src
                    case BPF.SUB: r = dst &- src
                    case BPF.MUL: r = dst &* src
                    case BPF.DIV:
                        if i.off == 1 {   // SDIV (cpu v4)
                            if is64 { let a = Int64(bitPattern: dst), b = Int64(bitPattern: src); r = b == 0 ? 0 : UInt64(bitPattern: b == -1 ? 0 &- a : a / b) }
                            else { let a = Int32(truncatingIfNeeded: dst), b = Int32(truncatingIfNeeded: src); r = b == 0 ? 0 : UInt64(UInt32(bitPattern: b == -1 ? 0 &- a : a / b)) }
                        } else { r = src == 0 ? 0 : dst / src }
                    case BPF.MOD:
                        if i.off == 1 {
                            if is64 { let a = Int64(bitPattern: dst), b = Int64(bitPattern: src); r = b == 0 ? dst : UInt64(bitPattern: b == -1 ? 0 : a % b) }
                            else { let a = Int32(truncatingIfNeeded: dst), b = Int32(truncatingIfNeeded: src); r = b == 0 ? dst : UInt64(UInt32(bitPattern: b == -1 ? 0 : a % b)) }
                        } else { r = src == 0 ? dst : dst % src }
                    case BPF.OR: r = dst | src
                    case BPF.AND: r = dst & src
                    case BPF.XOR: r = dst ^ src
                    case BPF.LSH: r = dst << (src & (is64 ? 63 : 31))
                    case BPF.RSH: r = dst >> (src & (is64 ? 63 : 31))
                    case BPF.ARSH:
                        r = is64 ? UInt64(bitPattern: Int64(bitPattern: dst) >> Int64(src & 63))
                                 : UInt64(UInt32(bitPattern: Int32(truncatingIfNeeded: dst) >> Int32(src & 31)))
                    case BPF.NEG: r = 0 &- dst
                    case BPF.MOV:
                        switch i.off {   // MOVSX (cpu v4): sign-extend the source's low 8/16/32 bits
                        case 8: r = UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: src)))
                        case 16: r = UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: src)))
                        case 32: r = UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: src)))
                        default: r = src
                        }
                    case BPF.END:
                        let v = regs[d]
                        let swap = is64 || code & BPF.X != 0   // ALU64 END is an unconditional bswap; TO_BE on a little-endian CPU swaps
                        switch i.imm {
                        case 16: r = swap ? UInt64(UInt16(truncatingIfNeeded: v).byteSwapped) : v & 0xffff
                        case 32: r = swap ? UInt64(UInt32(truncatingIfNeeded: v).byteSwapped) : v & 0xffff_ffff
                        case 64: r = swap ? v.byteSwapped : v
                        default: return failure(pc, "invalid byte swap width \(i.imm)")
                        }
                        regs[d] = r
                        if traceSteps { steps.append(BPFStep(pc: pc, value: r)) }
                        pc += 1
                        break general
                    default: return failure(pc, "invalid ALU opcode 0x\(String(code, radix: 16))")
                    }
                    regs[d] = is64 ? r : r & 0xffff_ffff
                case BPF.LDX:
                    let size = BPF.size(code)
                    let addr = regs[s] &+ UInt64(bitPattern: Int64(i.off))
                    guard var v = load(addr, size) else { return failure(pc, "invalid read of \(size) bytes at \(describe(addr))") }
                    if code & 0xe0 == BPF.MEMSX {
                        switch size { case 1: v = UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: v))); case 2: v = UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: v))); default: v = UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: v))) }
                    }
                    guard d != 10 else { return failure(pc, "frame pointer is read only") }
                    regs[d] = v
                case BPF.ST, BPF.STX:
                    let size = BPF.size(code)
                    let addr = regs[d] &+ UInt64(bitPattern: Int64(i.off))
                    if code & 0xe0 == BPF.ATOMIC {
                        guard size == 4 || size == 8, let old = load(addr, size) else { return failure(pc, "invalid atomic access of \(size) bytes at \(describe(addr))") }
                        let mask: UInt64 = size == 8 ? ~0 : 0xffff_ffff
                        let v = regs[s] & mask
                        var new = old
                        switch i.imm {
                        case 0x00, 0x01: new = (old &+ v) & mask   // BPF_ADD, with BPF_FETCH
                        case 0x40, 0x41: new = old | v
                        case 0x50, 0x51: new = old & v
                        case 0xa0, 0xa1: new = old ^ v
                        case BPF.XCHG: new = v
                        case BPF.CMPXCHG:
                            if old == regs[0] & mask { new = v }
                            regs[0] = old
                        default: return failure(pc, "invalid atomic operation 0x\(String(i.imm, radix: 16))")
                        }
                        _ = store(addr, size, new)
                        if i.imm & BPF.FETCH != 0 && i.imm != BPF.CMPXCHG { regs[s] = old }
                    } else {
                        let v = code & 0x07 == BPF.STX ? regs[s] : UInt64(bitPattern: Int64(i.imm))
                        guard store(addr, size, v) else { return failure(pc, "invalid write of \(size) bytes at \(describe(addr))") }
                    }
                case BPF.LD:
                    guard i.isLdImm64 else {
                        guard program.type == .schedCls else { return failure(pc, "LD_ABS/LD_IND outside an skb program") }
                        // bpf_skb_load_helper_*: big-endian from the frame; one out of reach ends the run with 0.
                        guard let v = loadAbs(code, src: regs[s], imm: i.imm) else { return .success(0) }
                        regs[0] = v
                        break
                    }
                    // A value (0), a map (1) or a map value (2): resolved at load (`Op.decode`).
                    guard i.src <= BPF.PSEUDO_MAP_VALUE else { return failure(pc, "LD_IMM64 source \(i.src) not supported yet") }
                    regs[d] = program.ops[pc].imm
                    if traceSteps { steps.append(BPFStep(pc: pc, value: regs[d])) }
                    pc += 2
                    break general
                default:   // JMP, JMP32
                    let op = code & 0xf0
                    let is32 = code & 0x07 == BPF.JMP32
                    if op == BPF.CALL {
                        if i.src == BPF.PSEUDO_CALL {
                            guard depth + 1 < Self.maxFrames else { return failure(pc, "call stack deeper than \(Self.maxFrames) frames") }
                            callFrames[depth] = (pc + 1, (regs[6], regs[7], regs[8], regs[9]), regs[10])
                            depth += 1
                            regs[10] = Self.address(Self.stackRegion, Self.stackPerFrame * (depth + 1))
                            (stack + Self.stackPerFrame * depth).initializeMemory(as: UInt8.self, repeating: 0, count: Self.stackPerFrame)
                            if traceSteps { steps.append(BPFStep(pc: pc, value: 0)) }
                            pc = pc + 1 + Int(i.imm)
                            break general
                        }
                        if i.imm == 12 {   // bpf_tail_call: on success the callee replaces this program
                            if let next = tailCall() {
                                program = next; insns = next.code; ops = trace ? next.generalOps : next.ops; count = next.codeCount; pc = 0
                                depth = 0
                                zeroStack(to: next.stackDepth)
                                regs[10] = Self.address(Self.stackRegion, Self.stackPerFrame)
                                break general
                            }
                            regs[0] = UInt64(bitPattern: -Int64(Errno.ENOENT))
                        } else {
                            switch helper(i.imm) {
                            case .success(let v): regs[0] = v
                            case .failure(let m): return failure(pc, m.message)
                            }
                        }
                        // r1-r5 are clobbered by a call (the verifier marks them unreadable).
                        regs[1] = 0; regs[2] = 0; regs[3] = 0; regs[4] = 0; regs[5] = 0
                        if traceSteps { steps.append(BPFStep(pc: pc, value: regs[0])) }
                        pc += 1
                        break general
                    }
                    if op == BPF.EXIT {
                        if traceSteps { steps.append(BPFStep(pc: pc, value: regs[0])) }
                        guard depth > 0 else { return .success(regs[0]) }
                        depth -= 1
                        let f = callFrames[depth]
                        (regs[6], regs[7], regs[8], regs[9]) = f.saved
                        regs[10] = f.fp
                        pc = f.ret
                        break general
                    }
                    if op == BPF.JA {
                        if traceSteps { steps.append(BPFStep(pc: pc, value: 0)) }
                        pc += 1 + (is32 ? Int(i.imm) : Int(i.off))
                        break general
                    }
                    var a = regs[d]
                    var b: UInt64 = code & BPF.X != 0 ? regs[s] : UInt64(bitPattern: Int64(i.imm))
                    var sa = Int64(bitPattern: a), sb = Int64(bitPattern: b)
                    if is32 {
                        a &= 0xffff_ffff; b &= 0xffff_ffff
                        sa = Int64(Int32(truncatingIfNeeded: sa)); sb = Int64(Int32(truncatingIfNeeded: sb))
                    }
                    let taken: Bool
                    switch op {
                    case BPF.JEQ: taken = a == b
                    case BPF.JNE: taken = a != b
                    case BPF.JGT: taken = a > b
                    case BPF.JGE: taken = a >= b
                    case BPF.JLT: taken = a < b
                    case BPF.JLE: taken = a <= b
                    case BPF.JSET: taken = a & b != 0
                    case BPF.JSGT: taken = sa > sb
                    case BPF.JSGE: taken = sa >= sb
                    case BPF.JSLT: taken = sa < sb
                    case BPF.JSLE: taken = sa <= sb
                    default: return failure(pc, "invalid jump opcode 0x\(String(code, radix: 16))")
                    }
                    if traceSteps { steps.append(BPFStep(pc: pc, value: taken ? 1 : 0)) }
                    pc += taken ? 1 + Int(i.off) : 1
                    break general
                }
                if traceSteps { steps.append(BPFStep(pc: pc, value: d <= 10 ? regs[d] : 0)) }
                pc += 1
            }
            // The general path may jump anywhere: the fast loop reads ops only up to its two end slots.
            guard pc >= 0, pc <= count + 1 else { return failure(pc, "jump out of the program") }
        }
    }

    /// A run ends early at `pc` (kept out of line: a closure over `pc` would box it for every instruction).
    @inline(never) func failure(_ pc: Int, _ m: String) -> Result<UInt64, BPFFault> { .failure(BPFFault(pc: pc, message: m)) }

    /// Packet or stack memory, checked inline, or a map value; nil for anything else (the general
    /// path decides).
    @inline(__always) func fastPointer(_ a: UInt64, _ size: Int, write: Bool = false) -> UnsafeMutableRawPointer? {
        let r = a >> 48, off = Int(truncatingIfNeeded: a & 0xffff_ffff_ffff)
        if r == Self.packetRegion { return off >= dataMeta && off &+ size <= dataEnd ? packet + off : nil }
        if r == Self.stackRegion { return off &+ size <= Self.stackPerFrame * Self.maxFrames ? stack + off : nil }
        return r >= Self.firstMapRegion ? mapValuePointer(a, size, write: write) : nil
    }

    @inline(never) func mapValuePointer(_ a: UInt64, _ size: Int, write: Bool) -> UnsafeMutableRawPointer? { resolve(a, size, write: write) }

    /// LD_ABS / LD_IND: `imm` (plus the source register's low 32 bits) into the frame; the
    /// negative SKF_LL_OFF / SKF_NET_OFF bases count from the MAC and network headers.
    func loadAbs(_ code: UInt8, src: UInt64, imm: Int32) -> UInt64? {
        let size = BPF.size(code)
        var off = Int(imm)
        if code & 0xe0 == BPF.IND { off = Int(Int32(bitPattern: UInt32(truncatingIfNeeded: src) &+ UInt32(bitPattern: imm))) }
        if off < 0 {
            if off >= -0x200000 && off < -0x100000 { off += 0x200000 }           // SKF_LL_OFF
            else if off >= -0x100000 { off += 0x100000 + 14 }                      // SKF_NET_OFF: after the Ethernet header
            else { return nil }
        }
        guard off + size <= dataEnd - data else { return nil }
        let p = packet + data + off
        switch size {
        case 1: return UInt64(p.load(as: UInt8.self))
        case 2: return UInt64(UInt16(bigEndian: p.loadUnaligned(as: UInt16.self)))
        default: return UInt64(UInt32(bigEndian: p.loadUnaligned(as: UInt32.self)))
        }
    }

    /// `bpf_tail_call(ctx, prog_array, index)`: the program in the slot, within the tail call limit.
    func tailCall() -> BPFProgram? {
        guard let m = mapArgument(regs[2]), m.type == .progArray, regs[3] < UInt64(m.spec.maxEntries),
              tailCalls < Self.maxTailCalls, let next = m.programs[Int(regs[3])] else { return nil }
        tailCalls += 1
        return next
    }

    /// The program's map a register names (LD_IMM64 of a map), by its index in the program's list.
    func mapIndex(_ v: UInt64) -> Int? {
        let tag = v >> 48
        guard tag & Self.mapHandleTag != 0 else { return nil }
        let i = Int(tag & ~Self.mapHandleTag)
        return i < program.maps.count ? i : nil
    }
    func mapArgument(_ v: UInt64) -> BPFMap? { mapIndex(v).map { program.maps[$0] } }
}
