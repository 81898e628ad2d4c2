import BPF
import Foundation
import Kernel
import Wire

// XDP benchmark: the objects bench/xdp/*.c compile to (clang -O2 -g -target bpf), run
//  1. on the interpreter alone over one 60-byte UDP frame (runs/s and instructions/s),
//  2. through the stack: 60-byte UDP frames into a veth with the program attached natively
//     (veth_xdp_rcv in the NAPI poll), traces off, one simulated CPU, batches of 1,000:
//     the drop-by-port program dropping every frame, and the XDP_TX reflector sending each back;
//  3. with TC.o, the same frames dropped by a tc program on the veth's clsact ingress.
//   xdpbench DROP.o REFLECT.o [packets] [TC.o]

let args = CommandLine.arguments
guard args.count >= 3 else { print("usage: xdpbench drop_port.o reflect.o [packets]"); exit(2) }
let count = args.count > 3 ? Int(args[3]) ?? 5_000_000 : 5_000_000
let mac = MACAddress(0x02, 0, 0, 0, 0, 0x01), peer = MACAddress(0x02, 0, 0, 0, 0xff, 0x01)
let frame = FrameRepr(ethernet: EthernetRepr(dst: mac, src: peer, ethertype: EtherType.ipv4),
                      network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 9), dst: IPv4Address(198, 18, 0, 1), proto: IPProtocol.udp, payloadLength: 0),
                                     .udp(UDPRepr(srcPort: 40000, dstPort: 80, payload: [UInt8](repeating: 0, count: 18))))).emit()
precondition(frame.count == 60)

func object(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path)!) }

final class NullHost: BPFHost {
    func ktimeNs() -> UInt64 { 0 }
    func prandom() -> UInt32 { 0 }
    var cpu: Int { 0 }
    func fibLookup(_ params: UnsafeMutableRawPointer, flags: UInt32) -> Int64? { 4 }
    func deviceExists(ifindex: Int) -> Bool { false }
}

// 1. The interpreter alone.
do {
    let obj = try BPFObject(elf: object(args[1]), objectName: "drop_port")
    let prog = try BPFProgram.load(obj.program(section: "xdp")!, maps: try BPFProgram.createMaps(obj, cpus: 1))
    let vm = BPFVM(), host = NullHost()
    var r0: UInt64 = 0
    for _ in 0..<100_000 { r0 = try vm.runXDP(prog, frame: frame, ifindex: 2, rxQueue: 0, host: host).get() }
    precondition(r0 == 1, "the frame must be dropped")
    let insns = vm.executed
    let runs = count * 2
    let t0 = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<runs { _ = vm.runXDP(prog, frame: frame, ifindex: 2, rxQueue: 0, host: host) }
    let ns = Double(DispatchTime.now().uptimeNanoseconds - t0) / Double(runs)
    print(String(format: "interpreter: drop_port over a 60-byte frame, %d instructions a run: %.1f ns/run, %.2f M runs/s, %.0f M instructions/s",
                 insns, ns, 1e3 / ns, Double(insns) * 1e3 / ns))
    // What a run costs besides its instructions: `r0 = XDP_DROP; exit`.
    let empty = try BPFProgram.load(BPFProgramSpec(name: "drop", insns: [Insn(code: 0xb7, imm: 1), Insn(code: 0x95)]), maps: [])
    let t1 = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<runs { _ = vm.runXDP(empty, frame: frame, ifindex: 2, rxQueue: 0, host: host) }
    let fixed = Double(DispatchTime.now().uptimeNanoseconds - t1) / Double(runs)
    print(String(format: "interpreter: a 2-instruction program over the same frame: %.1f ns/run (so %.2f ns an instruction of drop_port beyond it)",
                 fixed, (ns - fixed) / Double(insns - 2)))
} catch { print("interpreter: \(error)"); exit(1) }

// 2. Through the stack.
func stack(_ objPath: String, name: String, peer: VethPeer) throws -> Stack {
    var dev = DeviceConfig(name: "eth0", mac: mac, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
    dev.veth = true
    dev.vethPeer = peer
    var c = StackConfig(name: "bench", devices: [dev])
    c.xdp = [XDPConfig(dev: "eth0", mode: .native, source: BPFSource(object: object(objPath), objectName: name))]
    let s = try Stack(config: c)
    s.tracing = false
    return s
}

func measure(_ label: String, _ s: Stack, expect: Outcome) {
    func batch() -> [Injection] {
        let t0 = s.clockNs
        return (0..<1000).map { Injection(device: 0, frame: frame, atNs: t0 + UInt64($0 / 64 * 64) * 2000) }
    }
    for _ in 0..<10 { _ = s.inject(batch()) }
    var batchNs: [Double] = []
    var ok = 0, k = 0
    while k < count {
        let b = batch()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let rs = s.inject(b)
        batchNs.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000)
        ok += rs.reduce(0) { $0 + ($1.outcome == expect ? 1 : 0) }
        k += 1000
    }
    let sorted = batchNs.sorted()
    let total = batchNs.reduce(0, +) * 1000
    print(String(format: "%@: %d frames, %d %@: %.2f M packets/s, %.1f ns/packet (p50 %.1f, p99 %.1f ns/packet over batches of 1000)",
                 label, k, ok, expect.rawValue, Double(k) / total * 1e3, total / Double(k),
                 sorted[sorted.count / 2], sorted[min(sorted.count - 1, sorted.count * 99 / 100)]))
}

do {
    measure("stack, native XDP drop_port", try stack(args[1], name: "drop_port", peer: .plain), expect: .dropped)
    measure("stack, native XDP_TX reflector", try stack(args[2], name: "reflect", peer: .xdp), expect: .transmitted)
    if args.count > 4 {
        var dev = DeviceConfig(name: "eth0", mac: mac, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
        dev.veth = true
        var c = StackConfig(name: "bench", devices: [dev])
        c.tcFilters = [TCFilterConfig(dev: "eth0", direction: .ingress, pref: 49152, source: BPFSource(object: object(args[4]), objectName: "tc_drop_port", section: "tc"))]
        let s = try Stack(config: c)
        s.tracing = false
        measure("stack, tc ingress tc_drop_port", s, expect: .dropped)
    }
} catch { print("stack: \(error)"); exit(1) }
