@testable import BPF
import TestSupport
import XCTest

/// Instruction builders in the kernel's macro names (include/linux/filter.h).
enum I {
    static func mov64(_ d: UInt8, _ imm: Int32) -> Insn { Insn(code: BPF.ALU64 | BPF.MOV | BPF.K, dst: d, imm: imm) }
    static func mov64r(_ d: UInt8, _ s: UInt8) -> Insn { Insn(code: BPF.ALU64 | BPF.MOV | BPF.X, dst: d, src: s) }
    static func alu64(_ op: UInt8, _ d: UInt8, _ imm: Int32) -> Insn { Insn(code: BPF.ALU64 | op | BPF.K, dst: d, imm: imm) }
    static func alu32(_ op: UInt8, _ d: UInt8, _ imm: Int32) -> Insn { Insn(code: BPF.ALU | op | BPF.K, dst: d, imm: imm) }
    static func ldx(_ size: UInt8, _ d: UInt8, _ s: UInt8, _ off: Int16) -> Insn { Insn(code: BPF.LDX | size | BPF.MEM, dst: d, src: s, off: off) }
    static func stx(_ size: UInt8, _ d: UInt8, _ s: UInt8, _ off: Int16) -> Insn { Insn(code: BPF.STX | size | BPF.MEM, dst: d, src: s, off: off) }
    static func st(_ size: UInt8, _ d: UInt8, _ off: Int16, _ imm: Int32) -> Insn { Insn(code: BPF.ST | size | BPF.MEM, dst: d, off: off, imm: imm) }
    static func jmp(_ op: UInt8, _ d: UInt8, _ imm: Int32, _ off: Int16) -> Insn { Insn(code: BPF.JMP | op | BPF.K, dst: d, off: off, imm: imm) }
    static func jmpr(_ op: UInt8, _ d: UInt8, _ s: UInt8, _ off: Int16) -> Insn { Insn(code: BPF.JMP | op | BPF.X, dst: d, src: s, off: off) }
    static func call(_ id: Int32) -> Insn { Insn(code: BPF.JMP | BPF.CALL, imm: id) }
    static func ldMap(_ d: UInt8, _ map: Int32) -> [Insn] { [Insn(code: BPF.LD | BPF.DW | BPF.IMM, dst: d, src: BPF.PSEUDO_MAP_FD, imm: map), Insn(code: 0)] }
    static func ld64(_ d: UInt8, _ v: UInt64) -> [Insn] {
        [Insn(code: BPF.LD | BPF.DW | BPF.IMM, dst: d, imm: Int32(bitPattern: UInt32(truncatingIfNeeded: v))), Insn(code: 0, imm: Int32(bitPattern: UInt32(truncatingIfNeeded: v >> 32)))]
    }
    static let exit = Insn(code: BPF.JMP | BPF.EXIT)
}

final class InterpreterTests: XCTestCase {
    let host = FixedBPFHost()
    let frame: [UInt8] = Array(0..<60)

    /// Runs a program; `verified: false` skips the verifier, to reach the interpreter's own checks
    /// with programs the verifier refuses.
    func run(_ insns: [Insn], maps: [BPFMap] = [], frame f: [UInt8]? = nil, license: String = "GPL", verified: Bool = true) throws -> (Result<UInt64, BPFFault>, BPFVM) {
        let spec = BPFProgramSpec(name: "t", insns: insns, license: license)
        let p = verified ? try BPFProgram.load(spec, maps: maps) : BPFProgram.loadUnverified(spec, maps: maps)
        let vm = BPFVM()
        return (vm.runXDP(p, frame: f ?? frame, ifindex: 2, rxQueue: 0, host: host), vm)
    }
    func r0(_ insns: [Insn], maps: [BPFMap] = []) throws -> UInt64 { try run(insns, maps: maps).0.get() }

    func testALUSemantics() throws {
        // 32-bit operations zero-extend; division by zero gives 0, modulo by zero keeps the dividend.
        XCTAssertEqual(try r0([I.mov64(0, -1), I.alu32(BPF.ADD, 0, 1), I.exit]), 0)
        XCTAssertEqual(try r0([I.mov64(0, -1), I.alu32(BPF.MOV, 0, -1), I.exit]), 0xffff_ffff)
        XCTAssertEqual(try r0([I.mov64(0, 7), I.mov64(1, 0), Insn(code: BPF.ALU64 | BPF.DIV | BPF.X, dst: 0, src: 1), I.exit]), 0)
        XCTAssertEqual(try r0([I.mov64(0, 7), I.mov64(1, 0), Insn(code: BPF.ALU64 | BPF.MOD | BPF.X, dst: 0, src: 1), I.exit]), 7)
        XCTAssertEqual(try r0([I.mov64(0, -16), I.alu64(BPF.ARSH, 0, 2), I.exit]), UInt64(bitPattern: -4))
        XCTAssertEqual(try r0([I.mov64(0, -16), I.alu64(BPF.RSH, 0, 60), I.exit]), 0xf)
        XCTAssertEqual(try r0([I.mov64(0, 1), I.alu64(BPF.LSH, 0, 65), I.exit]), 2, "shift counts are masked to 63")
        XCTAssertEqual(try r0(I.ld64(0, 0x1122_3344_5566_7788) + [Insn(code: BPF.ALU | BPF.END | BPF.X, dst: 0, imm: 16), I.exit]), 0x8877)
        XCTAssertEqual(try r0(I.ld64(0, 0x1122_3344_5566_7788) + [Insn(code: BPF.ALU | BPF.END | BPF.K, dst: 0, imm: 32), I.exit]), 0x5566_7788)
        // Signed division (cpu v4, off 1): -7 / 2 = -3.
        XCTAssertEqual(try r0([I.mov64(0, -7), Insn(code: BPF.ALU64 | BPF.DIV | BPF.K, dst: 0, off: 1, imm: 2), I.exit]), UInt64(bitPattern: -3))
        // JSGT is signed, JGT unsigned.
        XCTAssertEqual(try r0([I.mov64(1, -1), I.mov64(0, 1), I.jmp(BPF.JSGT, 1, 0, 1), I.mov64(0, 2), I.exit]), 2)
        XCTAssertEqual(try r0([I.mov64(1, -1), I.mov64(0, 1), I.jmp(BPF.JGT, 1, 0, 1), I.mov64(0, 2), I.exit]), 1)
    }

    func refusal(_ insns: [Insn], maps: [BPFMap] = [], license: String = "GPL", complexityLimit: Int = PathChecker.complexityLimit) -> String {
        do {
            let p = BPFProgram.loadUnverified(BPFProgramSpec(name: "t", insns: insns, license: license), maps: maps)
            try Verifier(p, complexityLimit: complexityLimit).verify()
            return "loaded"
        } catch { return "\(error)" }
    }

    func testPacketAccessIsBoundsChecked() throws {
        // r2 = ctx->data, r3 = ctx->data_end; a read at data_end faults and the run ends. The
        // verifier refuses the program (no data_end check); run unverified, the interpreter stops it.
        let prog = [I.ldx(BPF.W, 2, 1, 0), I.ldx(BPF.W, 3, 1, 4), I.ldx(BPF.B, 0, 2, 59), I.ldx(BPF.B, 4, 2, 60), I.exit]
        XCTAssertEqual(refusal(prog), "2: invalid access to packet, off=59 size=1, R2(id=0,off=59,r=0)\nR2 offset is outside of the packet")
        let (r, _) = try run(prog, verified: false)
        guard case .failure(let f) = r else { return XCTFail("the read past data_end must fault") }
        XCTAssertEqual(f.description, "insn 3: invalid read of 1 bytes at pkt+60 (data_end at +60)")
        // data_end - data is the frame length; the last byte reads back.
        XCTAssertEqual(try r0([I.ldx(BPF.W, 2, 1, 0), I.ldx(BPF.W, 3, 1, 4), I.mov64r(0, 3), Insn(code: BPF.ALU64 | BPF.SUB | BPF.X, dst: 0, src: 2), I.exit]), 60)
        // With the check (data + 60 > data_end → return 0) the same read loads: 59.
        let checked = [I.ldx(BPF.W, 2, 1, 0), I.ldx(BPF.W, 3, 1, 4), I.mov64r(4, 2), I.alu64(BPF.ADD, 4, 60), I.mov64(0, 0),
                       I.jmpr(BPF.JGT, 4, 3, 1), I.ldx(BPF.B, 0, 2, 59), I.exit]
        XCTAssertEqual(try r0(checked), 59)
        // Writes change the frame the stack goes on with.
        let (_, vm) = try run([I.ldx(BPF.W, 2, 1, 0), I.st(BPF.H, 2, 0, 0x0a0b), I.mov64(0, 2), I.exit], verified: false)
        XCTAssertEqual(Array(vm.frame.prefix(3)), [0x0b, 0x0a, 2])
        // A scalar is no pointer: loading through 0x1000 faults.
        XCTAssertEqual(refusal([I.mov64(1, 0x1000), I.ldx(BPF.DW, 0, 1, 0), I.exit]), "1: R1 invalid mem access 'scalar'")
        let (n, _) = try run([I.mov64(1, 0x1000), I.ldx(BPF.DW, 0, 1, 0), I.exit], verified: false)
        guard case .failure(let g) = n else { return XCTFail("a scalar must not be dereferenced") }
        XCTAssertEqual(g.description, "insn 1: invalid read of 8 bytes at scalar 4096")
    }

    func testInstructionBudgetStopsAnEndlessLoop() throws {
        let loop = [I.mov64(0, 0), I.alu64(BPF.ADD, 0, 1), I.jmp(BPF.JNE, 0, 0, -2), I.exit]
        XCTAssertEqual(refusal(loop, complexityLimit: 10_000), "2: BPF program is too large. Processed 10001 insn")
        XCTAssertEqual(refusal([I.mov64(0, 0), I.jmp(BPF.JEQ, 0, 0, -1), I.exit]), "1: infinite loop detected at insn 1")
        // check_reg_sane_offset: a loop walking a pointer stops at BPF_MAX_VAR_OFF (2^29).
        XCTAssertEqual(refusal([I.mov64r(2, 10), I.alu64(BPF.ADD, 2, 655_356), I.mov64(0, 1), I.jmp(BPF.JNE, 0, 0, -3), I.exit]),
                       "1: fp pointer offset 537391920 is not allowed")
        XCTAssertEqual(refusal([I.mov64r(2, 10), I.alu64(BPF.ADD, 2, 1 << 29), I.mov64(0, 0), I.exit]), "1: math between fp pointer and 536870912 is not allowed")
        let (r, vm) = try run(loop, verified: false)
        guard case .failure(let f) = r else { return XCTFail("an endless loop must be stopped") }
        XCTAssertEqual(f.pc, 2)
        XCTAssertEqual(vm.executed, 1_000_001)
    }

    func testARunSeesNothingAnEarlierRunLeft() throws {
        // Headroom is zeroed as bpf_xdp_adjust_head exposes it, and the stack to the depth the
        // verifier saw used: a run reading them after one that wrote them reads zeros.
        func head(_ tail: [Insn]) -> [Insn] {
            [I.mov64r(6, 1), I.mov64(2, -8), I.call(44), I.mov64(0, 0), I.ldx(BPF.W, 2, 6, 0), I.ldx(BPF.W, 3, 6, 4),
             I.mov64r(4, 2), I.alu64(BPF.ADD, 4, 8), I.jmpr(BPF.JGT, 4, 3, Int16(tail.count))] + tail + [I.exit]
        }
        let write = try BPFProgram.load(BPFProgramSpec(name: "w", insns: head([I.st(BPF.DW, 2, 0, -1), I.mov64(0, 2)])), maps: [])
        let read = try BPFProgram.load(BPFProgramSpec(name: "r", insns: head([I.ldx(BPF.DW, 0, 2, 0)])), maps: [])
        let vm = BPFVM()
        XCTAssertEqual(try vm.runXDP(write, frame: frame, ifindex: 2, rxQueue: 0, host: host).get(), 2)
        XCTAssertEqual(Array(vm.frame.prefix(9)), [255, 255, 255, 255, 255, 255, 255, 255, 0])
        XCTAssertEqual(try vm.runXDP(read, frame: frame, ifindex: 2, rxQueue: 0, host: host).get(), 0)
        XCTAssertEqual(write.stackDepth, 0)
        let push = try BPFProgram.load(BPFProgramSpec(name: "s", insns: [I.st(BPF.DW, 10, -16, 0x55), I.mov64(0, 2), I.exit]), maps: [])
        let peek = try BPFProgram.load(BPFProgramSpec(name: "p", insns: [I.ldx(BPF.DW, 0, 10, -16), I.exit]), maps: [])
        XCTAssertEqual([push.stackDepth, peek.stackDepth], [16, 16])
        XCTAssertEqual(try vm.runXDP(push, frame: frame, ifindex: 2, rxQueue: 0, host: host).get(), 2)
        XCTAssertEqual(try vm.runXDP(peek, frame: frame, ifindex: 2, rxQueue: 0, host: host).get(), 0)
    }

    func testStackAndBPFToBPFCall() throws {
        // main: *(u64 *)(r10 - 8) = 40; r1 = 2; call sub; r0 += *(u64 *)(r10 - 8); exit
        // sub:  r0 = r1 * 3; exit (its own frame: writing r10 - 8 there leaves main's slot alone)
        let prog: [Insn] = [
            I.st(BPF.DW, 10, -8, 40), I.mov64(1, 2), Insn(code: BPF.JMP | BPF.CALL, src: BPF.PSEUDO_CALL, imm: 3),
            I.ldx(BPF.DW, 2, 10, -8), Insn(code: BPF.ALU64 | BPF.ADD | BPF.X, dst: 0, src: 2), I.exit,
            I.st(BPF.DW, 10, -8, 99), I.mov64r(0, 1), I.alu64(BPF.MUL, 0, 3), I.exit,
        ]
        XCTAssertEqual(try r0(prog), 46)
    }

    func testMapHelpersAndAtomics() throws {
        let m = try BPFMap(spec: BPFMapSpec(name: "counts", type: BPFMapType.array.rawValue, keySize: 4, valueSize: 8, maxEntries: 4), cpus: 2)
        // key 2 on the stack; value = lookup; if null return 0; lock *value += 5 (twice); return *value
        let prog: [Insn] = [I.st(BPF.W, 10, -4, 2), I.mov64r(2, 10), I.alu64(BPF.ADD, 2, -4)] + I.ldMap(1, 0) + [
            I.call(1), I.jmp(BPF.JNE, 0, 0, 2), I.mov64(0, 0), I.exit,
            I.mov64(1, 5), Insn(code: BPF.STX | BPF.DW | BPF.ATOMIC, dst: 0, src: 1, imm: 0),
            Insn(code: BPF.STX | BPF.DW | BPF.ATOMIC, dst: 0, src: 1, imm: 0), I.ldx(BPF.DW, 0, 0, 0), I.exit,
        ]
        XCTAssertEqual(try r0(prog, maps: [m]), 10)
        XCTAssertEqual(try r0(prog, maps: [m]), 20)
        XCTAssertEqual(m.entries().map(\.values), [[[0, 0, 0, 0, 0, 0, 0, 0]], [[0, 0, 0, 0, 0, 0, 0, 0]], [[20, 0, 0, 0, 0, 0, 0, 0]], [[0, 0, 0, 0, 0, 0, 0, 0]]])
        // A value pointer reaches its own 8 bytes only.
        let over: [Insn] = [I.st(BPF.W, 10, -4, 0), I.mov64r(2, 10), I.alu64(BPF.ADD, 2, -4)] + I.ldMap(1, 0) + [
            I.call(1), I.jmp(BPF.JEQ, 0, 0, 1), I.ldx(BPF.DW, 0, 0, 8), I.exit,
        ]
        XCTAssertEqual(refusal(over, maps: [m]), "7: invalid access to map value, value_size=8 off=8 size=8\nR0 min value is outside of the allowed memory range")
        let (r, _) = try run(over, maps: [m], verified: false)
        guard case .failure(let f) = r else { return XCTFail("reading past a value must fault") }
        XCTAssertEqual(f.description, "insn 7: invalid read of 8 bytes at map counts value+8")
    }

    func testHelpersWithFixedHost() throws {
        XCTAssertEqual(try r0([I.call(5), I.exit]), 123_456_789)
        XCTAssertEqual(try r0([I.call(8), I.exit]), 1)
        // bpf_redirect(3, 0) returns XDP_REDIRECT and records the target; flags make it XDP_ABORTED.
        let (r, vm) = try run([I.mov64(1, 3), I.mov64(2, 0), I.call(23), I.exit])
        XCTAssertEqual(try r.get(), 4)
        XCTAssertEqual(vm.redirect?.ifindex, 3)
        XCTAssertNil(vm.redirect?.map)
        XCTAssertEqual(try r0([I.mov64(1, 3), I.mov64(2, 1), I.call(23), I.exit]), 0)
        // bpf_xdp_adjust_head(ctx, 14) then data_end - data: 46; beyond data_end - ETH_HLEN: -EINVAL.
        XCTAssertEqual(try r0([I.mov64r(6, 1), I.mov64(2, 14), I.call(44), I.ldx(BPF.W, 2, 6, 0), I.ldx(BPF.W, 3, 6, 4), I.mov64r(0, 3), Insn(code: BPF.ALU64 | BPF.SUB | BPF.X, dst: 0, src: 2), I.exit]), 46)
        XCTAssertEqual(try r0([I.mov64(2, 47), I.call(44), I.exit]), UInt64(bitPattern: -22))
        // bpf_trace_printk("n=%d", 5, 42): the format on the stack, its size with the NUL.
        let (_, pv) = try run(I.ld64(1, 0x6425_3d6e) + [I.stx(BPF.DW, 10, 1, -8), I.mov64r(1, 10), I.alu64(BPF.ADD, 1, -8), I.mov64(2, 5), I.mov64(3, 42), I.call(6), I.exit])
        XCTAssertEqual(pv.printk, ["n=42"])
    }

    func testVerifierRefusesInKernelTerms() throws {
        func refusal(_ insns: [Insn], license: String = "GPL") -> String {
            do { _ = try BPFProgram.load(BPFProgramSpec(name: "t", insns: insns, license: license), maps: []); return "loaded" } catch { return "\(error)" }
        }
        XCTAssertEqual(refusal([I.call(9), I.exit]), "0: program of this type cannot use helper bpf_skb_store_bytes#9")
        XCTAssertEqual(refusal([I.call(181), I.exit]), "0: helper bpf_loop#181 not supported yet")
        XCTAssertEqual(refusal([I.call(500), I.exit]), "0: invalid func unknown#500")
        XCTAssertEqual(refusal([I.mov64r(0, 3), I.exit]), "0: R3 !read_ok")
        XCTAssertEqual(refusal([I.exit]), "0: R0 !read_ok")
        XCTAssertEqual(refusal([I.mov64(0, 1)]), "last insn is not an exit or jmp")
        XCTAssertEqual(refusal([I.mov64(0, 1), I.jmp(BPF.JEQ, 0, 0, 5), I.exit]), "jump out of range from insn 1 to 7")
        XCTAssertEqual(refusal([I.mov64(0, 1), I.exit, I.mov64(0, 2), I.exit]), "unreachable insn 2")
        XCTAssertEqual(refusal([I.mov64(10, 1), I.exit]), "0: frame pointer is read only")
        // After a call r1-r5 are unreadable.
        XCTAssertEqual(refusal([I.call(5), I.mov64r(0, 1), I.exit]), "1: R1 !read_ok")
        XCTAssertEqual(refusal([I.mov64(1, 0), I.mov64(2, 1), I.call(6), I.exit], license: "Proprietary"), "2: cannot call GPL-restricted function from non-GPL compatible program")
        XCTAssertEqual(refusal(I.ldMap(1, 0) + [I.mov64(0, 2), I.exit]), "0: fd 0 is not pointing to valid bpf_map")
    }

    /// The path-sensitive checks, each with the kernel verifier's message.
    func testVerifierFollowsPaths() throws {
        let m = try BPFMap(spec: BPFMapSpec(name: "m", type: BPFMapType.hash.rawValue, keySize: 4, valueSize: 8, maxEntries: 4), cpus: 1)
        let keyOnStack = [I.st(BPF.W, 10, -4, 7), I.mov64r(2, 10), I.alu64(BPF.ADD, 2, -4)] + I.ldMap(1, 0)
        // Stack bytes never written: root may read them (CAP_PERFMON's allow_uninit_stack), as a key too.
        XCTAssertEqual(refusal([I.ldx(BPF.DW, 0, 10, -8), I.exit]), "loaded")
        XCTAssertEqual(refusal([I.mov64r(2, 10), I.alu64(BPF.ADD, 2, -4)] + I.ldMap(1, 0) + [I.call(1), I.mov64(0, 0), I.exit], maps: [m]), "loaded")
        // The value before its NULL check, then after it.
        XCTAssertEqual(refusal(keyOnStack + [I.call(1), I.ldx(BPF.DW, 0, 0, 0), I.exit], maps: [m]), "6: R0 invalid mem access 'map_value_or_null'")
        XCTAssertEqual(refusal(keyOnStack + [I.call(1), I.jmp(BPF.JEQ, 0, 0, 1), I.ldx(BPF.DW, 0, 0, 0), I.mov64(0, 2), I.exit], maps: [m]), "loaded")
        // Past the value, on the checked path.
        XCTAssertEqual(refusal(keyOnStack + [I.call(1), I.jmp(BPF.JEQ, 0, 0, 1), I.ldx(BPF.W, 0, 0, 6), I.mov64(0, 2), I.exit], maps: [m]),
                       "7: invalid access to map value, value_size=8 off=6 size=4\nR0 min value is outside of the allowed memory range")
        // Helper arguments of the wrong type.
        XCTAssertEqual(refusal([I.mov64(1, 0), I.mov64r(2, 10), I.call(1), I.exit], maps: [m]), "2: R1 type=scalar expected=map_ptr")
        XCTAssertEqual(refusal(I.ldMap(1, 0) + [I.mov64(2, 0), I.call(1), I.mov64(0, 0), I.exit], maps: [m]), "3: R2 type=scalar expected=fp, pkt, pkt_meta, map_value")
        // A pointer returned: root may (an XDP run then ends as an invalid action).
        XCTAssertEqual(refusal([I.mov64r(0, 10), I.exit]), "loaded")
        // Pointer arithmetic the kernel refuses.
        XCTAssertEqual(refusal([I.ldx(BPF.W, 2, 1, 0), I.alu64(BPF.AND, 2, 3), I.mov64(0, 0), I.exit]), "1: R2 bitwise operator &= on pointer prohibited")
        XCTAssertEqual(refusal([I.ldx(BPF.W, 2, 1, 0), I.alu32(BPF.ADD, 2, 3), I.mov64(0, 0), I.exit]), "1: R2 32-bit pointer arithmetic prohibited")
        // Context: only the xdp_md fields, read as 32 bits.
        XCTAssertEqual(refusal([I.ldx(BPF.DW, 0, 1, 0), I.exit]), "0: invalid bpf_context access off=0 size=8")
        // do_check refuses an immediate store into the context before looking at the field.
        XCTAssertEqual(refusal([I.st(BPF.W, 1, 0, 0), I.mov64(0, 0), I.exit]), "0: BPF_ST stores into R1 ctx is not allowed")
        XCTAssertEqual(refusal([I.mov64(2, 0), I.stx(BPF.W, 1, 2, 12), I.mov64(0, 0), I.exit]), "1: invalid bpf_context access off=12 size=4")
        // After bpf_xdp_adjust_head every packet pointer is gone.
        XCTAssertEqual(refusal([I.mov64r(6, 1), I.ldx(BPF.W, 7, 1, 0), I.ldx(BPF.W, 8, 1, 4), I.mov64(2, 4), I.call(44),
                                I.mov64r(3, 7), I.alu64(BPF.ADD, 3, 1), I.mov64(0, 2), I.jmpr(BPF.JGT, 3, 8, 1), I.ldx(BPF.B, 0, 7, 0), I.exit]),
                       "9: R7 invalid mem access 'scalar'")
        // Branches the bounds decide are not walked: r0 is 2 here, so the bad read is dead code.
        XCTAssertEqual(refusal([I.mov64(0, 2), I.jmp(BPF.JLT, 0, 5, 1), I.ldx(BPF.DW, 0, 1, 0), I.exit]), "loaded")
        XCTAssertEqual(refusal([I.mov64(0, 9), I.jmp(BPF.JLT, 0, 5, 1), I.ldx(BPF.DW, 0, 1, 0), I.exit]), "2: invalid bpf_context access off=0 size=8")
        // A bounded loop is walked to its end.
        XCTAssertEqual(refusal([I.mov64(0, 0), I.alu64(BPF.ADD, 0, 1), I.jmp(BPF.JLT, 0, 100, -2), I.exit]), "loaded")
    }

    func testMapTypes() throws {
        // Hash: full → -E2BIG; NOEXIST on an existing key → -EEXIST; delete frees a slot.
        let h = try BPFMap(spec: BPFMapSpec(name: "h", type: BPFMapType.hash.rawValue, keySize: 2, valueSize: 4, maxEntries: 2), cpus: 1)
        XCTAssertEqual(h.update([1, 0], value: [1, 0, 0, 0]), 0)
        XCTAssertEqual(h.update([2, 0], value: [2, 0, 0, 0]), 0)
        XCTAssertEqual(h.update([3, 0], value: [3, 0, 0, 0]), -7)
        XCTAssertEqual(h.update([1, 0], value: [9, 0, 0, 0], flags: 1), -17)
        XCTAssertEqual(h.delete([1, 0]), 0)
        XCTAssertEqual(h.delete([1, 0]), -2)
        XCTAssertEqual(h.update([3, 0], value: [3, 0, 0, 0]), 0)
        XCTAssertEqual(h.entries().map(\.key), [[2, 0], [3, 0]])
        // LRU: the least recently used entry makes room.
        let l = try BPFMap(spec: BPFMapSpec(name: "l", type: BPFMapType.lruHash.rawValue, keySize: 1, valueSize: 1, maxEntries: 2), cpus: 1)
        _ = l.update([1], value: [1]); _ = l.update([2], value: [2])
        _ = l.slot([1])   // touch 1
        XCTAssertEqual(l.update([3], value: [3]), 0)
        XCTAssertEqual(l.entries().map(\.key), [[1], [3]])
        // LPM trie: the longest prefix covering the address wins.
        let t = try BPFMap(spec: BPFMapSpec(name: "t", type: BPFMapType.lpmTrie.rawValue, keySize: 8, valueSize: 1, maxEntries: 4, flags: 1), cpus: 1)
        XCTAssertEqual(t.update([8, 0, 0, 0, 10, 0, 0, 0], value: [8]), 0)
        XCTAssertEqual(t.update([24, 0, 0, 0, 10, 1, 2, 0], value: [24]), 0)
        XCTAssertEqual(t.slot([32, 0, 0, 0, 10, 1, 2, 3]).map { t.value(slot: $0) }, [24])
        XCTAssertEqual(t.slot([32, 0, 0, 0, 10, 9, 2, 3]).map { t.value(slot: $0) }, [8])
        XCTAssertNil(t.slot([32, 0, 0, 0, 11, 1, 2, 3]))
        XCTAssertThrowsError(try BPFMap(spec: BPFMapSpec(name: "t", type: BPFMapType.lpmTrie.rawValue, keySize: 8, valueSize: 1, maxEntries: 4), cpus: 1))
        XCTAssertThrowsError(try BPFMap(spec: BPFMapSpec(name: "q", type: 22, keySize: 0, valueSize: 4, maxEntries: 4), cpus: 1)) { e in
            XCTAssertEqual("\(e)", "map q: map type 22 not supported yet")
        }
    }
}
