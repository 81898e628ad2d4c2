// tools/lib/bpf/libbpf.c, as far as loading goes: an ELF object clang `-target bpf` writes becomes
// programs (one per function symbol of an executable section, `.text` subprograms appended),
// map definitions (BTF `.maps`, legacy `maps`, global data sections) and the license.

public struct BPFLoadError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// A program as the object file holds it: instructions with map references resolved to indices
/// into the object's map list (`LD_IMM64` with `src` PSEUDO_MAP_FD or PSEUDO_MAP_VALUE, `imm` the
/// index, `imm64` the value offset), and the instruction where it starts.
public struct BPFProgramSpec: Sendable {
    public var name: String
    public var section: String
    public var insns: [Insn]
    /// Instructions of the program's own function; `.text` subprograms follow.
    public var mainLength: Int
    public var license: String

    /// Raw instructions (`LD_IMM64` in two slots, maps by index into the list given at load).
    public init(name: String, section: String = "xdp", insns: [Insn], license: String = "GPL") {
        var i = insns
        BPFObject.foldImm64(&i)
        self.name = name; self.section = section; self.insns = i; mainLength = i.count; self.license = license
    }
    init(name: String, section: String, insns: [Insn], mainLength: Int, license: String) {
        self.name = name; self.section = section; self.insns = insns; self.mainLength = mainLength; self.license = license
    }
}

public struct BPFObject: Sendable {
    public var programs: [BPFProgramSpec]
    public var maps: [BPFMapSpec]
    public var license: String

    /// The program for `ip link ... sec SECTION` (the first in that section) or by function name.
    public func program(section: String? = nil, name: String? = nil) -> BPFProgramSpec? {
        programs.first { (section == nil || $0.section == section) && (name == nil || $0.name == name) }
    }
}

struct ELFSection { var name: String; var type: UInt32; var flags: UInt64; var offset: Int; var size: Int; var link: Int; var info: Int }
struct ELFSymbol { var name: String; var info: UInt8; var shndx: Int; var value: Int; var size: Int
    var isFunc: Bool { info & 0xf == 2 }
    var isGlobal: Bool { info >> 4 == 1 }
}

extension BPFObject {
    static let SHT_PROGBITS: UInt32 = 1, SHT_SYMTAB: UInt32 = 2, SHT_NOBITS: UInt32 = 8, SHT_REL: UInt32 = 9
    static let SHF_EXECINSTR: UInt64 = 4
    static let R_BPF_64_64: UInt32 = 1, R_BPF_64_32: UInt32 = 10

    /// Parses an object; `objectName` names the global data maps as libbpf does (`<obj>.rodata`).
    public init(elf b: [UInt8], objectName: String) throws {
        guard b.count >= 64, b[0] == 0x7f, b[1] == 0x45, b[2] == 0x4c, b[3] == 0x46 else { throw BPFLoadError("not an ELF file") }
        guard b[4] == 2, b[5] == 1 else { throw BPFLoadError("not a 64-bit little-endian ELF object (clang -target bpf writes one)") }
        guard b.le16(18) == 247 else { throw BPFLoadError("ELF machine \(b.le16(18)) is not BPF (247)") }
        let shoff = Int(clamping: b.le64(0x28)), shentsize = Int(b.le16(0x3a)), shnum = Int(b.le16(0x3c)), shstrndx = Int(b.le16(0x3e))
        guard shentsize == 64, shoff > 0, shoff <= b.count, shnum * 64 <= b.count - shoff, shstrndx < shnum else { throw BPFLoadError("ELF section headers out of bounds") }
        var secs: [ELFSection] = []
        for i in 0..<shnum {
            let o = shoff + i * 64
            let s = ELFSection(name: "", type: b.le32(o + 4), flags: b.le64(o + 8), offset: Int(clamping: b.le64(o + 24)),
                               size: Int(clamping: b.le64(o + 32)), link: Int(b.le32(o + 40)), info: Int(b.le32(o + 44)))
            guard s.type == Self.SHT_NOBITS ? s.size <= 16 << 20 : (s.offset >= 0 && s.size >= 0 && s.offset <= b.count && s.size <= b.count - s.offset) else {
                throw BPFLoadError("ELF section \(i) out of bounds")
            }
            secs.append(s)
        }
        func cstring(_ sec: ELFSection, _ off: Int) -> String {
            guard sec.type != Self.SHT_NOBITS else { return "" }
            var i = sec.offset + off, s: [UInt8] = []
            while i < sec.offset + sec.size, i < b.count, b[i] != 0 { s.append(b[i]); i += 1 }
            return String(decoding: s, as: UTF8.self)
        }
        for i in secs.indices { secs[i].name = cstring(secs[shstrndx], Int(b.le32(shoff + i * 64))) }
        func data(_ s: ELFSection) -> [UInt8] { s.type == Self.SHT_NOBITS ? Array(repeating: 0, count: s.size) : Array(b[s.offset..<s.offset + s.size]) }

        guard let symtab = secs.first(where: { $0.type == Self.SHT_SYMTAB }), symtab.link < secs.count else { throw BPFLoadError("ELF object has no symbol table") }
        var syms: [ELFSymbol] = []
        for o in stride(from: symtab.offset, to: symtab.offset + symtab.size - 23, by: 24) {
            syms.append(ELFSymbol(name: cstring(secs[symtab.link], Int(b.le32(o))), info: b[o + 4], shndx: Int(b.le16(o + 6)),
                                  value: Int(clamping: b.le64(o + 8)), size: Int(clamping: b.le64(o + 16))))
        }

        license = secs.first { $0.name == "license" }.map { cstring($0, 0) } ?? ""

        // Maps: BTF-defined (.maps), legacy (maps), global data (.rodata*, .data*, .bss*).
        var maps: [BPFMapSpec] = []
        var mapAt: [String: Int] = [:]   // "section index:offset" → map index
        var dataMap: [Int: Int] = [:]    // section index → global data map index
        let btf = try secs.first { $0.name == ".BTF" }.map { try BTF(data($0)) }
        // libbpf's order: legacy `maps`, then BTF `.maps`, then global data sections.
        let ordered = secs.enumerated().sorted { a, b in
            func rank(_ s: ELFSection) -> Int { s.name == "maps" ? 0 : s.name == ".maps" ? 1 : 2 }
            return (rank(a.element), a.offset) < (rank(b.element), b.offset)
        }
        for (si, s) in ordered {
            if s.name == ".maps" {
                guard let btf else { throw BPFLoadError("a .maps section needs BTF (compile with -g)") }
                let defs = try btf.mapDefinitions()
                for sym in syms where sym.shndx == si && !sym.name.isEmpty {
                    guard let d = defs[sym.name]?.def else { throw BPFLoadError("map \(sym.name): no BTF definition") }
                    guard let type = d["type"] else { throw BPFLoadError("map \(sym.name): no type") }
                    for k in d.keys where !["type", "key_size", "value_size", "max_entries", "map_flags"].contains(k) {
                        throw BPFLoadError("map \(sym.name): \(k) not supported yet")
                    }
                    mapAt["\(si):\(sym.value)"] = maps.count
                    maps.append(BPFMapSpec(name: String(sym.name.prefix(15)), type: UInt32(type), keySize: d["key_size"] ?? 0, valueSize: d["value_size"] ?? 0,
                                           maxEntries: d["max_entries"] ?? 0, flags: UInt32(d["map_flags"] ?? 0)))
                }
            } else if s.name == "maps" {
                let bytes = data(s)
                for sym in syms where sym.shndx == si && !sym.name.isEmpty {
                    guard sym.value <= bytes.count - 20 else { throw BPFLoadError("map \(sym.name): legacy definition out of bounds") }
                    mapAt["\(si):\(sym.value)"] = maps.count
                    maps.append(BPFMapSpec(name: String(sym.name.prefix(15)), type: bytes.le32(sym.value), keySize: Int(bytes.le32(sym.value + 4)),
                                           valueSize: Int(bytes.le32(sym.value + 8)), maxEntries: Int(bytes.le32(sym.value + 12)), flags: bytes.le32(sym.value + 16)))
                }
            } else if (s.name.hasPrefix(".rodata") || s.name.hasPrefix(".data") || s.name.hasPrefix(".bss")) && s.size > 0 && s.flags & Self.SHF_EXECINSTR == 0 && s.type != Self.SHT_REL {
                // bpf_object__init_internal_map: one single-entry array per section, named
                // `<object prefix><section>` in 15 characters; .rodata is read-only to programs.
                let prefix = String(objectName.prefix(max(0, 15 - s.name.count)))
                dataMap[si] = maps.count
                maps.append(BPFMapSpec(name: String((prefix + s.name).prefix(15)), type: BPFMapType.array.rawValue, keySize: 4, valueSize: s.size,
                                       maxEntries: 1, flags: s.name.hasPrefix(".rodata") ? 0x80 : 0, initialValue: data(s)))
            }
        }
        self.maps = maps

        // Relocations by the section they apply to.
        var rels: [Int: [(offset: Int, sym: Int, type: UInt32)]] = [:]
        for s in secs where s.type == Self.SHT_REL && s.info < secs.count && secs[s.info].flags & Self.SHF_EXECINSTR != 0 {
            for o in stride(from: s.offset, to: s.offset + s.size - 15, by: 16) {
                let info = b.le64(o + 8)
                rels[s.info, default: []].append((Int(clamping: b.le64(o)), Int(info >> 32), UInt32(truncatingIfNeeded: info)))
            }
        }
        let textIndex = secs.firstIndex { $0.name == ".text" }
        let text = textIndex.map { Insn.decode(data(secs[$0])) } ?? []

        /// Resolves the relocations of `insns`, which hold section `si`'s instructions from `from`
        /// (up to `to`), then `.text` from `textBase` on when the program calls into it.
        func relocate(_ insns: inout [Insn], section si: Int, from: Int, to: Int, textBase: Int?) throws {
            for r in rels[si] ?? [] where r.offset / 8 >= from && r.offset / 8 < to {
                let i = r.offset / 8 - from
                guard r.offset % 8 == 0, i < insns.count, r.sym < syms.count else { throw BPFLoadError("relocation at \(r.offset) in \(secs[si].name) out of bounds") }
                let sym = syms[r.sym]
                if r.type == Self.R_BPF_64_32 && insns[i].code == BPF.JMP | BPF.CALL && insns[i].src == BPF.PSEUDO_CALL {
                    // A BPF-to-BPF call: the target instruction in its section, then relative to the call.
                    let target = (sym.value / 8) + (sym.isFunc ? 0 : Int(insns[i].imm) + 1)
                    let into: Int
                    if sym.shndx == si && target >= from && target < to { into = target - from }
                    else if sym.shndx == textIndex, let textBase { into = textBase + target }
                    else { throw BPFLoadError("call to \(sym.name) outside the program's function and .text not supported yet") }
                    guard into >= 0, into < insns.count else { throw BPFLoadError("call at insn \(i) of \(secs[si].name) lands outside the program") }
                    insns[i].imm = Int32(into - i - 1)
                    continue
                }
                guard r.type == Self.R_BPF_64_64, insns[i].isLdImm64 else { throw BPFLoadError("relocation type \(r.type) at insn \(i) in \(secs[si].name) not supported yet") }
                if let m = mapAt["\(sym.shndx):\(sym.value)"] {
                    insns[i].src = BPF.PSEUDO_MAP_FD; insns[i].imm = Int32(m); insns[i].imm64 = 0
                } else if let m = dataMap[sym.shndx] {
                    insns[i].src = BPF.PSEUDO_MAP_VALUE
                    insns[i].imm64 = UInt64(sym.value) &+ UInt64(UInt32(bitPattern: insns[i].imm))
                    insns[i].imm = Int32(m)
                } else if sym.shndx == 0 {
                    throw BPFLoadError("extern \(sym.name) not supported yet")
                } else {
                    throw BPFLoadError("reference to \(sym.name) in \(sym.shndx < secs.count ? secs[sym.shndx].name : "?") not supported yet")
                }
            }
        }

        var programs: [BPFProgramSpec] = []
        var relocatedText = text
        if let textIndex { try relocate(&relocatedText, section: textIndex, from: 0, to: text.count, textBase: 0) }
        for (si, s) in secs.enumerated() where s.flags & Self.SHF_EXECINSTR != 0 && s.type == Self.SHT_PROGBITS && s.name != ".text" && s.size > 0 {
            let all = Insn.decode(data(s))
            for sym in syms where sym.shndx == si && sym.isFunc && sym.isGlobal {
                guard sym.value < s.size, sym.size <= s.size else { throw BPFLoadError("function \(sym.name) out of its section") }
                let from = sym.value / 8, to = min(all.count, (sym.value + max(sym.size, 8)) / 8)
                guard from < to else { throw BPFLoadError("function \(sym.name) out of its section") }
                var insns = Array(all[from..<to])
                let usesText = textIndex != nil && (rels[si] ?? []).contains { $0.offset / 8 >= from && $0.offset / 8 < to && $0.sym < syms.count && syms[$0.sym].shndx == textIndex }
                let textBase = usesText ? insns.count : nil
                if usesText { insns += relocatedText }
                try relocate(&insns, section: si, from: from, to: to, textBase: textBase)
                Self.foldImm64(&insns)
                programs.append(BPFProgramSpec(name: sym.name, section: s.name, insns: insns, mainLength: to - from, license: license))
            }
        }
        guard !programs.isEmpty else { throw BPFLoadError("no program in the object (no global function in an executable section)") }
        self.programs = programs
    }

    /// The second slot of every `LD_IMM64` joins the first: constants become `imm64`.
    static func foldImm64(_ insns: inout [Insn]) {
        var i = 0
        while i < insns.count {
            if insns[i].isLdImm64 && i + 1 < insns.count {
                if insns[i].src == 0 { insns[i].imm64 = UInt64(UInt32(bitPattern: insns[i].imm)) | UInt64(UInt32(bitPattern: insns[i + 1].imm)) << 32 }
                else if insns[i].src == BPF.PSEUDO_MAP_VALUE && insns[i].imm64 == 0 { insns[i].imm64 = UInt64(UInt32(bitPattern: insns[i + 1].imm)) }
                i += 2
            } else { i += 1 }
        }
    }
}
