import Foundation
import Kernel
import MallocCount
import Wire

// RX-path benchmark: UDP frames through the whole simulated receive path (NIC, IRQ, NAPI poll,
// GRO check, IPv4 or IPv6, UDP) into a bound socket, traces off, one simulated CPU, on one real
// core. Batches of 1,000 like one API request. IPv4 (60-byte frames) and IPv6 (80-byte frames,
// the same 18-byte payload) in one run, taking turns, the IPv6 cost per packet beside IPv4's.
//   psbench [packets] [burst]
// burst (default 64): frames arrive in bursts of this many at one instant, bursts far enough apart
// that nothing is missed, so NAPI polls a full weight per interrupt as under load;
// burst 1 spaces every frame 2 µs apart: one interrupt and one softirq per frame.
// Then two busy stacks on one thread and on two, and what a checkpoint of a busy stack's runtime costs.

let args = CommandLine.arguments
let count = args.count > 1 ? Int(args[1]) ?? 5_000_000 : 5_000_000
let burst = args.count > 2 ? max(1, Int(args[2]) ?? 64) : 64
/// PSBENCH_ALLOC_TRACE=1: print the call stack of every allocation in one batch (to find them).
let traceAllocations = ProcessInfo.processInfo.environment["PSBENCH_ALLOC_TRACE"] == "1"
let mac = MACAddress(0x02, 0, 0, 0, 0, 0x01), peer = MACAddress(0x02, 0, 0, 0, 0xff, 0x01)
let payload = [UInt8](repeating: 0x61, count: 18)

func makeStack(v6: Bool) throws -> Stack {
    var dev = DeviceConfig(name: "eth0", mac: mac, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
    dev.addresses6 = [try IPv6CIDR(parsing: "2001:db8::1/64")]
    let sock = v6 ? SocketConfig(id: 1, proto: .udp, address6: .any, port: 53, rcvbuf: 1 << 30) : SocketConfig(id: 1, proto: .udp, port: 53, rcvbuf: 1 << 30)
    let s = try Stack(config: StackConfig(name: "bench", devices: [dev], sockets: [sock]))
    s.tracing = false
    return s
}
let frame4 = FrameRepr(ethernet: EthernetRepr(dst: mac, src: peer, ethertype: EtherType.ipv4),
                       network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 9), dst: IPv4Address(198, 18, 0, 1), proto: IPProtocol.udp, payloadLength: 0),
                                      .udp(UDPRepr(srcPort: 5353, dstPort: 53, payload: payload)))).emit()
let frame6 = FrameRepr(ethernet: EthernetRepr(dst: mac, src: peer, ethertype: EtherType.ipv6),
                       network: .ipv6(IPv6Repr(src: try IPv6Address(parsing: "2001:db8::9"), dst: try IPv6Address(parsing: "2001:db8::1"), nextHeader: IPProtocol.udp), [],
                                      .udp(UDPRepr(srcPort: 5353, dstPort: 53, payload: payload)))).emit()
precondition(frame4.count == 60 && frame6.count == 80)

/// CPU time of this process (user + system): steady where wall time is not (a VM's stolen time).
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

/// One workload: its stack and frame, and what its batches measured.
final class Workload {
    let name: String, stack: Stack, frame: [UInt8]
    var batchNs: [Double] = [], delivered = 0, done = 0, cpu = 0.0, wall = 0.0, allocations: UInt64 = 0
    init(_ name: String, _ stack: Stack, _ frame: [UInt8]) {
        self.name = name; self.stack = stack; self.frame = frame
        for _ in 0..<10 { _ = stack.inject(batch()); _ = stack.recv(socket: 1, max: 1000, cpu: 0) }
    }
    func batch() -> [Injection] {
        let t0 = stack.clockNs
        return (0..<1000).map { Injection(device: 0, frame: frame, atNs: t0 + UInt64($0 / burst * burst) * 2000) }
    }
    /// `n` frames in batches of 1,000.
    func run(_ n: Int) {
        let cpu0 = cpuSeconds(), start = DispatchTime.now().uptimeNanoseconds
        var k = 0
        while k < n {
            let b = batch()
            let a0 = malloccount_allocations(), t0 = DispatchTime.now().uptimeNanoseconds
            if traceAllocations && k == 0 { malloccount_trace(1) }
            let rs = stack.inject(b)
            let t1 = DispatchTime.now().uptimeNanoseconds, a1 = malloccount_allocations()
            malloccount_trace(0)
            allocations += a1 - a0
            batchNs.append(Double(t1 - t0) / 1000)
            delivered += rs.reduce(0) { $0 + ($1.outcome == .delivered ? 1 : 0) }
            _ = stack.recv(socket: 1, max: 1000, cpu: 0)
            k += 1000
        }
        done += k
        wall += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        cpu += cpuSeconds() - cpu0
    }
    /// Prints the figures; answers ns per packet on the path.
    func report() -> Double {
        let sorted = batchNs.sorted()
        let pct = { (p: Double) -> Double in sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        print("\(name) rx path: \(done) frames of \(frame.count) bytes into a UDP socket in bursts of \(burst), \(delivered) delivered, traces off, 1 simulated CPU")
        let pathSeconds = batchNs.reduce(0, +) * 1000 / 1e9
        print(String(format: "\(name) rx path (inject): %.2f M packets/s, %.1f ns/packet (p50 %.1f, p99 %.1f ns/packet over batches of 1000)",
                     Double(done) / pathSeconds / 1e6, pathSeconds * 1e9 / Double(done), pct(0.5), pct(0.99)))
        print(String(format: "\(name) heap allocations on the path: %llu for \(done) packets (%.3f per packet; each batch's result array is one)",
                     allocations, Double(allocations) / Double(done)))
        print(String(format: "\(name) with batch set-up and the application's reads: %.2f M packets/s wall, %.2f M packets/s of CPU time",
                     Double(done) / wall / 1e6, Double(done) / cpu / 1e6))
        // A figure for packets that did not all arrive would measure something else: fail instead.
        if delivered != done {
            FileHandle.standardError.write(Data("psbench: only \(delivered) of \(done) \(name) frames were delivered\n".utf8))
            exit(1)
        }
        return pathSeconds * 1e9 / Double(done)
    }
}

// The two workloads take turns in tenths, so a change of the machine's speed (a VM's) meets both alike.
let v4 = Workload("IPv4", try makeStack(v6: false), frame4), v6 = Workload("IPv6", try makeStack(v6: true), frame6)
for _ in 0..<10 { v4.run(max(1000, count / 10)); v6.run(max(1000, count / 10)) }
let ns4 = v4.report(), ns6 = v6.report()
print(String(format: "IPv6/IPv4 cost per packet: %.2fx", ns6 / ns4))

// Two busy stacks, first both on this thread, then each on a thread of its own (stacks share no
// state, so they run in parallel on real cores). The same packets give the same results either
// way: the delivered counts and every stack's virtual clock are compared.
final class Shared: @unchecked Sendable { let w: Workload; init(_ w: Workload) { self.w = w } }
func twoStacks(parallel: Bool) throws -> (seconds: Double, fingerprint: [UInt64]) {
    // Each its own copy of the frame: one shared buffer's reference count would bounce between the cores.
    let pair = try ["A", "B"].map { Shared(Workload($0, try makeStack(v6: false), frame4.map { $0 })) }
    let n = max(1000, count / 2)
    let t0 = DispatchTime.now().uptimeNanoseconds
    if parallel {
        DispatchQueue.concurrentPerform(iterations: 2) { pair[$0].w.run(n) }
    } else {
        for s in pair { s.w.run(n) }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    return (seconds, pair.flatMap { [UInt64($0.w.delivered), $0.w.stack.clockNs] })
}
let one = try twoStacks(parallel: false), two = try twoStacks(parallel: true)
let packets = Double(2 * max(1000, count / 2))
print(String(format: "two stacks, IPv4, batches of 1000 (wall, incl. batch set-up and reads): one thread %.2f M packets/s, a thread each %.2f M packets/s: %.2fx on %d cores",
             packets / one.seconds / 1e6, packets / two.seconds / 1e6, one.seconds / two.seconds, ProcessInfo.processInfo.activeProcessorCount))
if one.fingerprint != two.fingerprint {
    FileHandle.standardError.write(Data("psbench: two stacks in parallel gave other results than one after the other: \(one.fingerprint) vs \(two.fingerprint)\n".utf8))
    exit(1)
}
print("  results identical either way (delivered packets and each stack's virtual clock): \(one.fingerprint)")

// What the checkpoint pass (once a second per stack used since) spends on the rest of a stack's
// runtime: `runtimeState()` and its JSON, as App.checkpoint stores it, for the busy IPv4 stack.
let rounds = 1000
var c0 = DispatchTime.now().uptimeNanoseconds
var state = v4.stack.runtimeState()
for _ in 0..<rounds { state = v4.stack.runtimeState() }
let captureUs = Double(DispatchTime.now().uptimeNanoseconds - c0) / 1e3 / Double(rounds)
c0 = DispatchTime.now().uptimeNanoseconds
var runtimeBytes = 0
for _ in 0..<rounds { runtimeBytes = try JSONEncoder().encode(state).count }
let encodeUs = Double(DispatchTime.now().uptimeNanoseconds - c0) / 1e3 / Double(rounds)
print(String(format: "checkpoint of the runtime state: runtimeState() %.1f µs (under the stack's lock), its JSON %.1f µs, %d bytes", captureUs, encodeUs, runtimeBytes))
