// kernel/bpf/{arraymap,hashtab,lpm_trie,devmap,cpumap}.c: maps, shared by programs and the API.

/// `enum bpf_map_type`, the types the model runs; others are refused at load by name.
public enum BPFMapType: UInt32, Sendable, CaseIterable {
    case hash = 1, array = 2, progArray = 3, percpuHash = 5, percpuArray = 6, lruHash = 9, lruPercpuHash = 10
    case lpmTrie = 11, devmap = 14, cpumap = 16, devmapHash = 25

    /// The name `bpftool` prints.
    public var name: String {
        switch self {
        case .hash: "hash"
        case .array: "array"
        case .progArray: "prog_array"
        case .percpuHash: "percpu_hash"
        case .percpuArray: "percpu_array"
        case .lruHash: "lru_hash"
        case .lruPercpuHash: "lru_percpu_hash"
        case .lpmTrie: "lpm_trie"
        case .devmap: "devmap"
        case .cpumap: "cpumap"
        case .devmapHash: "devmap_hash"
        }
    }
    public init?(name: String) {
        guard let t = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = t
    }
    var perCPU: Bool { self == .percpuHash || self == .percpuArray || self == .lruPercpuHash }
    var keyed: Bool { self == .hash || self == .percpuHash || self == .lruHash || self == .lruPercpuHash || self == .devmapHash || self == .lpmTrie }
}

/// A map's definition as the object file (or the API) declares it.
public struct BPFMapSpec: Sendable, Equatable {
    public var name: String
    public var type: UInt32
    public var keySize: Int
    public var valueSize: Int
    public var maxEntries: Int
    public var flags: UInt32
    /// Initial contents of a global data map (.data/.rodata), else nil.
    public var initialValue: [UInt8]?

    public init(name: String, type: UInt32, keySize: Int, valueSize: Int, maxEntries: Int, flags: UInt32 = 0, initialValue: [UInt8]? = nil) {
        self.name = name; self.type = type; self.keySize = keySize; self.valueSize = valueSize
        self.maxEntries = maxEntries; self.flags = flags; self.initialValue = initialValue
    }
}

/// errno values the map operations return (negated, as the helpers do).
public enum Errno {
    public static let ENOENT: Int32 = 2, E2BIG: Int32 = 7, ENOMEM: Int32 = 12, EFAULT: Int32 = 14, EEXIST: Int32 = 17, ENODEV: Int32 = 19, EINVAL: Int32 = 22
    public static let EOPNOTSUPP: Int32 = 95, EAFNOSUPPORT: Int32 = 97
}

public struct BPFMapError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// A map's memory: values live in one preallocated block (per CPU for per-CPU maps) that never
/// moves, so a value pointer a program holds stays a bounds-checked offset into it.
public final class BPFMap: @unchecked Sendable {
    public let spec: BPFMapSpec
    public let type: BPFMapType
    public let cpus: Int
    /// Bytes between consecutive values (`round_up(value_size, 8)`).
    public let stride: Int
    let storage: UnsafeMutableRawPointer
    let slotsPerCPU: Int
    /// Keyed maps: key bytes → slot; free slots; use stamps for LRU eviction.
    var slots: [[UInt8]: Int] = [:]
    var slotKeys: [[UInt8]?]
    var free: [Int]
    var lastUse: [UInt64]
    var useClock: UInt64 = 0
    /// Program arrays: the programs by index.
    public var programs: [BPFProgram?]
    /// The id `bpftool map` shows (given by whoever creates it).
    public var id = 0

    public init(spec: BPFMapSpec, cpus: Int) throws {
        guard let t = BPFMapType(rawValue: spec.type) else { throw BPFMapError("map \(spec.name): map type \(spec.type) not supported yet") }
        guard spec.maxEntries > 0, spec.valueSize > 0, spec.keySize > 0 else { throw BPFMapError("map \(spec.name): key, value size and max_entries must be positive (EINVAL)") }
        switch t {
        case .array, .percpuArray, .progArray, .devmap, .cpumap:
            guard spec.keySize == 4 else { throw BPFMapError("map \(spec.name): an \(t.name) key is 4 bytes (EINVAL)") }
        case .lpmTrie:
            guard spec.keySize > 4, spec.keySize <= 4 + 256, spec.flags & 1 == 1 else {
                throw BPFMapError("map \(spec.name): an lpm_trie needs a key of 4 + 1..256 bytes and BPF_F_NO_PREALLOC (EINVAL)")
            }
        default: break
        }
        if t == .devmap || t == .devmapHash { guard spec.valueSize == 4 || spec.valueSize == 8 else { throw BPFMapError("map \(spec.name): a devmap value is 4 or 8 bytes (EINVAL)") } }
        // struct bpf_cpumap_val: qsize, then optionally a program's fd.
        if t == .cpumap { guard spec.valueSize == 4 || spec.valueSize == 8 else { throw BPFMapError("map \(spec.name): a cpumap value is 4 or 8 bytes (EINVAL)") } }
        if t == .progArray { guard spec.valueSize == 4 else { throw BPFMapError("map \(spec.name): a prog_array value is 4 bytes (EINVAL)") } }
        guard spec.maxEntries <= 1 << 24, spec.valueSize <= 1 << 16, spec.keySize <= 1024 else { throw BPFMapError("map \(spec.name): larger than the model allocates (E2BIG)") }
        // Values are preallocated (per CPU for per-CPU maps): at most 256 MiB a map.
        guard ((spec.valueSize + 7) & ~7) * spec.maxEntries * (t.perCPU ? max(cpus, 1) : 1) <= 256 << 20 else {
            throw BPFMapError("map \(spec.name): \(spec.maxEntries) values of \(spec.valueSize) bytes exceed the 256 MiB a map may take here (ENOMEM)")
        }
        self.spec = spec; type = t
        self.cpus = t.perCPU ? max(cpus, 1) : 1
        stride = (spec.valueSize + 7) & ~7
        slotsPerCPU = spec.maxEntries
        let bytes = stride * slotsPerCPU * self.cpus
        storage = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 8), alignment: 8)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: max(bytes, 8))
        slotKeys = t.keyed ? Array(repeating: nil, count: spec.maxEntries) : []
        free = t.keyed ? Array((0..<spec.maxEntries).reversed()) : []
        lastUse = t == .lruHash || t == .lruPercpuHash ? Array(repeating: 0, count: spec.maxEntries) : []
        programs = t == .progArray ? Array(repeating: nil, count: spec.maxEntries) : []
        if let v = spec.initialValue { v.withUnsafeBytes { storage.copyMemory(from: $0.baseAddress!, byteCount: min(v.count, spec.valueSize)) } }
    }
    deinit { storage.deallocate() }

    public var name: String { spec.name }

    /// `slot`'s value for `cpu` among all CPUs' copies, and where it starts in the block.
    @inline(__always) func globalSlot(_ slot: Int, cpu: Int) -> Int { (type.perCPU ? cpu % cpus : 0) * slotsPerCPU + slot }
    @inline(__always) func valueOffset(slot: Int, cpu: Int) -> Int { globalSlot(slot, cpu: cpu) * stride }

    // MARK: lookups by key bytes

    /// The slot holding `key`, if any (arrays: the index when in range).
    public func slot(_ key: [UInt8]) -> Int? {
        switch type {
        case .array, .percpuArray, .progArray, .devmap, .cpumap:
            let i = Int(UInt32(key[0]) | UInt32(key[1]) << 8 | UInt32(key[2]) << 16 | UInt32(key[3]) << 24)
            guard i < spec.maxEntries else { return nil }
            if type == .devmap || type == .cpumap { return devmapSlotSet(i) ? i : nil }
            if type == .progArray { return programs[i] != nil ? i : nil }
            return i
        case .lpmTrie:
            return longestPrefixMatch(key)
        default:
            guard let s = slots[key] else { return nil }
            if !lastUse.isEmpty { useClock &+= 1; lastUse[s] = useClock }
            return s
        }
    }

    /// A devmap slot holds an ifindex, a cpumap slot a qsize: 0 is an empty slot.
    func devmapSlotSet(_ i: Int) -> Bool { storage.load(fromByteOffset: i * stride, as: UInt32.self) != 0 }

    /// `trie_lookup_elem`: the entry with the longest prefix that covers the key's address.
    func longestPrefixMatch(_ key: [UInt8]) -> Int? {
        let maxBits = (spec.keySize - 4) * 8
        var best: (len: Int, slot: Int)? = nil
        for (k, s) in slots {
            let len = Int(k.le32(0))
            guard len <= maxBits, len >= (best?.len ?? -1), Self.prefixMatches(k, key, bits: len) else { continue }
            best = (len, s)
        }
        return best?.slot
    }

    static func prefixMatches(_ a: [UInt8], _ b: [UInt8], bits: Int) -> Bool {
        var i = 0
        while i < bits / 8 { if a[4 + i] != b[4 + i] { return false }; i += 1 }
        let rem = bits % 8
        if rem == 0 { return true }
        let mask = UInt8(0xff) << (8 - rem)
        return a[4 + i] & mask == b[4 + i] & mask
    }

    /// The key an LPM entry is filed under: prefix length and the prefix's bits only.
    func lpmCanonical(_ key: [UInt8]) -> [UInt8] {
        var k = key
        let len = min(Int(key.le32(0)), (spec.keySize - 4) * 8)
        for bit in len..<((spec.keySize - 4) * 8) { k[4 + bit / 8] &= ~(UInt8(0x80) >> (bit % 8)) }
        return k
    }

    // MARK: updates

    /// `map_update_elem` with `BPF_ANY` (0), `BPF_NOEXIST` (1) or `BPF_EXIST` (2); 0 or -errno.
    public func update(_ key: [UInt8], _ value: UnsafeRawPointer, flags: UInt64, cpu: Int, allCPUs: Bool = false) -> Int32 {
        guard flags <= 2 else { return -Errno.EINVAL }
        let s: Int
        switch type {
        case .array, .percpuArray, .devmap, .progArray, .cpumap:
            let i = Int(key.le32(0))
            guard i < spec.maxEntries else { return -Errno.E2BIG }
            guard flags != 1 else { return -Errno.EEXIST }
            s = i
        default:
            var k = type == .lpmTrie ? lpmCanonical(key) : key
            if type == .lpmTrie {
                guard Int(key.le32(0)) <= (spec.keySize - 4) * 8 else { return -Errno.EINVAL }
                k = Array(k)
            }
            if let existing = slots[k] {
                guard flags != 1 else { return -Errno.EEXIST }
                s = existing
                if type == .lpmTrie { slotKeys[s] = key }
            } else {
                guard flags != 2 else { return -Errno.ENOENT }
                if free.isEmpty {
                    guard !lastUse.isEmpty else { return -Errno.E2BIG }
                    // htab_lru_map_update_elem: the least recently used entry makes room.
                    let victim = lastUse.indices.min { lastUse[$0] < lastUse[$1] }!
                    if let old = slotKeys[victim] { slots[type == .lpmTrie ? lpmCanonical(old) : old] = nil }
                    free.append(victim)
                }
                s = free.removeLast()
                slots[k] = s
                slotKeys[s] = key
            }
            if !lastUse.isEmpty { useClock &+= 1; lastUse[s] = useClock }
        }
        if type.perCPU && allCPUs {
            for c in 0..<cpus { (storage + valueOffset(slot: s, cpu: c)).copyMemory(from: value, byteCount: spec.valueSize) }
        } else {
            (storage + valueOffset(slot: s, cpu: cpu)).copyMemory(from: value, byteCount: spec.valueSize)
        }
        return 0
    }

    public func update(_ key: [UInt8], value: [UInt8], flags: UInt64 = 0) -> Int32 {
        value.withUnsafeBytes { update(key, $0.baseAddress!, flags: flags, cpu: 0, allCPUs: true) }
    }

    /// `map_delete_elem`: 0 or -errno (arrays cannot delete).
    public func delete(_ key: [UInt8]) -> Int32 {
        switch type {
        case .array, .percpuArray: return -Errno.EINVAL
        case .devmap, .progArray, .cpumap:
            let i = Int(key.le32(0))
            guard i < spec.maxEntries else { return -Errno.E2BIG }
            if type == .progArray { programs[i] = nil }
            (storage + i * stride).initializeMemory(as: UInt8.self, repeating: 0, count: stride)
            return 0
        default:
            let k = type == .lpmTrie ? lpmCanonical(key) : key
            guard let s = slots.removeValue(forKey: k) else { return -Errno.ENOENT }
            slotKeys[s] = nil
            free.append(s)
            for c in 0..<cpus { (storage + valueOffset(slot: s, cpu: c)).initializeMemory(as: UInt8.self, repeating: 0, count: stride) }
            return 0
        }
    }

    /// Puts back what `entries()` read (a checkpoint): every entry and each CPU's value; entries
    /// not listed are gone (keyed maps) or zero (arrays). Program arrays keep their programs.
    public func restore(_ list: [(key: [UInt8], values: [[UInt8]])]) {
        guard type != .progArray else { return }
        if type.keyed { for k in slots.keys { _ = delete(slotKeys[slots[k]!] ?? k) } }
        else { storage.initializeMemory(as: UInt8.self, repeating: 0, count: stride * slotsPerCPU * cpus) }
        for e in list where e.key.count == spec.keySize && !e.values.isEmpty && e.values.allSatisfy({ $0.count == spec.valueSize }) {
            guard update(e.key, value: e.values[0]) == 0, let s = slot(e.key) else { continue }
            for (cpu, v) in e.values.enumerated() where cpu < cpus {
                v.withUnsafeBytes { (storage + valueOffset(slot: s, cpu: cpu)).copyMemory(from: $0.baseAddress!, byteCount: spec.valueSize) }
            }
        }
    }

    // MARK: reading back

    /// One CPU's value bytes of a slot.
    public func value(slot: Int, cpu: Int = 0) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: storage + valueOffset(slot: slot, cpu: cpu), count: spec.valueSize))
    }

    /// Every entry as `bpftool map dump` lists it: key and, for per-CPU maps, one value per CPU;
    /// keyed maps in key order, arrays in index order (devmaps and prog arrays: set slots only).
    public func entries() -> [(key: [UInt8], values: [[UInt8]])] {
        func perCPU(_ s: Int) -> [[UInt8]] { (0..<cpus).map { value(slot: s, cpu: $0) } }
        if type.keyed {
            return slots.values.compactMap { s in slotKeys[s].map { ($0, perCPU(s)) } }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        }
        return (0..<spec.maxEntries).compactMap { i in
            if type == .devmap || type == .cpumap, !devmapSlotSet(i) { return nil }
            let key = withUnsafeBytes(of: UInt32(i).littleEndian, Array.init)
            if type == .progArray {
                // A lookup from user space answers the program's id (bpf_fd_array_map_lookup_elem).
                guard let p = programs[i] else { return nil }
                return (key, [withUnsafeBytes(of: UInt32(p.id).littleEndian, Array.init)])
            }
            return (key, perCPU(i))
        }
    }
}

extension Array where Element == UInt8 {
    @inline(__always) func le32(_ o: Int) -> UInt32 { UInt32(self[o]) | UInt32(self[o + 1]) << 8 | UInt32(self[o + 2]) << 16 | UInt32(self[o + 3]) << 24 }
}
