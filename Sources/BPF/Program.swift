// kernel/bpf/syscall.c (BPF_PROG_LOAD, BPF_MAP_CREATE): a loaded program owns its maps.

/// What a program runs with: the simulated machine's clock, random numbers, CPU, FIB and devices.
public protocol BPFHost: AnyObject {
    /// `bpf_ktime_get_ns`: the stack's virtual clock.
    func ktimeNs() -> UInt64
    /// `bpf_get_prandom_u32`: from the stack's seeded generator.
    func prandom() -> UInt32
    /// `bpf_get_smp_processor_id`: the simulated CPU running the program.
    var cpu: Int { get }
    /// `bpf_fib_lookup` over the 64-byte `struct bpf_fib_lookup` at `params`: a `BPF_FIB_LKUP_RET_*`
    /// code or -errno; nil for a lookup the model cannot make yet (the run then ends, saying so).
    func fibLookup(_ params: UnsafeMutableRawPointer, flags: UInt32) -> Int64?
    /// Whether a device with this ifindex exists (for redirects).
    func deviceExists(ifindex: Int) -> Bool
}

/// The program types the model attaches: XDP, and tc's classifier (`sched_cls`).
public enum BPFProgType: String, Sendable {
    case xdp, schedCls = "sched_cls"

    /// The helpers the kernel lets this type call (`*_func_proto`), and those the model runs.
    var allowedHelpers: Set<Int32> { self == .xdp ? HelperNames.xdpAllowed : HelperNames.tcAllowed }
    var implementedHelpers: Set<Int32> { self == .xdp ? BPFVM.xdpHelpers : BPFVM.skbHelpers }

    /// The type libbpf gives a section (`xdp`, `xdp/...`, `tc`, `classifier`, ...); nil for others.
    public init?(section: String) {
        let head = section.split(separator: "/").first.map(String.init) ?? section
        switch head {
        case "xdp", "xdp.frags": self = .xdp
        case "tc", "classifier": self = .schedCls
        default: return nil
        }
    }
}

/// A verified, loaded program: pre-decoded instructions and the maps its `LD_IMM64`s name.
public final class BPFProgram: @unchecked Sendable {
    public let name: String
    public let section: String
    public let type: BPFProgType
    public let insns: [Insn]
    /// Instructions of the program's own function (the entry is 0); subprograms follow.
    public let mainLength: Int
    public let maps: [BPFMap]
    public let license: String
    /// The license allows GPL-only helpers.
    public let gplCompatible: Bool
    /// The id `bpftool prog` shows (given by whoever loads it).
    public var id = 0

    /// The instructions where the interpreter reads them (no array bounds or uniqueness checks).
    let code: UnsafeMutablePointer<Insn>
    /// `insns.count`, read by every run without touching the array.
    let codeCount: Int
    /// The same pre-decoded for the interpreter's fast loop (`Op.decode`).
    let ops: UnsafeMutablePointer<Op>
    /// The ops' memory: page-aligned, the ops from `Op.pageOffset` (see `BPFVM.regs`).
    private let opsBlock: UnsafeMutableRawPointer
    /// As many ops that all send the loop to the general path, for runs that trace each step.
    let generalOps: UnsafeMutablePointer<Op>
    /// Bytes below the frame pointer any function of the program reaches (the verifier's
    /// `stack_depth`, rounded to 8): what a run zeroes; the whole frame until verified.
    var stackDepth = BPFVM.stackPerFrame

    init(name: String, section: String, type: BPFProgType, insns: [Insn], mainLength: Int, maps: [BPFMap], license: String) {
        code = .allocate(capacity: max(insns.count, 1))
        code.initialize(from: insns, count: insns.count)
        codeCount = insns.count
        let decoded = Op.decode(insns)
        opsBlock = .allocate(byteCount: Op.pageOffset + decoded.count * MemoryLayout<Op>.stride, alignment: 4096)
        ops = (opsBlock + Op.pageOffset).bindMemory(to: Op.self, capacity: decoded.count)
        ops.initialize(from: decoded, count: decoded.count)
        generalOps = .allocate(capacity: decoded.count)
        generalOps.initialize(repeating: Op(code: Op.general, dst: 0, src: 0, off: 0, imm: 0), count: decoded.count)
        self.name = name; self.section = section; self.type = type; self.insns = insns; self.mainLength = mainLength; self.maps = maps; self.license = license
        // include/linux/license.h: license_is_gpl_compatible.
        gplCompatible = ["GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"].contains(license)
    }

    /// `BPF_PROG_LOAD` of one program of an object: maps created (`cpus` copies of per-CPU values),
    /// then the verifier; throws the verifier's message.
    public static func load(_ spec: BPFProgramSpec, maps: [BPFMap], type: BPFProgType = .xdp) throws -> BPFProgram {
        let p = BPFProgram(name: spec.name, section: spec.section, type: type, insns: spec.insns, mainLength: spec.mainLength, maps: maps, license: spec.license)
        try Verifier(p).verify()
        return p
    }

    deinit { code.deallocate(); opsBlock.deallocate(); generalOps.deallocate() }

    /// A program without the verifier, for tests of the interpreter's own run-time checks.
    static func loadUnverified(_ spec: BPFProgramSpec, maps: [BPFMap]) -> BPFProgram {
        BPFProgram(name: spec.name, section: spec.section, type: .xdp, insns: spec.insns, mainLength: spec.mainLength, maps: maps, license: spec.license)
    }

    /// Creates an object's maps (what libbpf does before loading its programs).
    public static func createMaps(_ object: BPFObject, cpus: Int) throws -> [BPFMap] { try createMaps(object.maps, cpus: cpus) }

    /// Creates maps from their definitions (`BPF_MAP_CREATE`).
    public static func createMaps(_ specs: [BPFMapSpec], cpus: Int) throws -> [BPFMap] {
        try specs.map { m in
            var s = m
            // dev_map_alloc: programs never write a devmap (a cpumap is kept from them by the verifier).
            if s.type == BPFMapType.devmap.rawValue || s.type == BPFMapType.devmapHash.rawValue { s.flags |= 0x80 }
            return try BPFMap(spec: s, cpus: cpus)
        }
    }
}
