import Foundation
import Kernel
import Wire

// RX-path benchmark: 64-byte UDP frames (60 bytes + 4 FCS on the wire) through the whole
// simulated receive path (NIC, IRQ, NAPI poll, GRO check, IPv4, UDP) into a bound socket,
// traces off, one simulated CPU, on one real core. Batches of 1,000 like one API request.
//   psbench [packets] [burst]
// burst (default 64): frames arrive in bursts of this many at one instant, bursts far enough apart
// that nothing is missed, so NAPI polls a full weight per interrupt as under load;
// burst 1 spaces every frame 2 µs apart: one interrupt and one softirq per frame.

let args = CommandLine.arguments
let count = args.count > 1 ? Int(args[1]) ?? 5_000_000 : 5_000_000
let burst = args.count > 2 ? max(1, Int(args[2]) ?? 64) : 64
let mac = MACAddress(0x02, 0, 0, 0, 0, 0x01)
let stack = try Stack(config: StackConfig(name: "bench", devices: [
    DeviceConfig(name: "eth0", mac: mac, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")]),
], sockets: [SocketConfig(id: 1, proto: .udp, port: 53, rcvbuf: 1 << 30)]))
stack.tracing = false
let frame = FrameRepr(ethernet: EthernetRepr(dst: mac, src: MACAddress(0x02, 0, 0, 0, 0xff, 0x01), ethertype: EtherType.ipv4),
                      network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 9), dst: IPv4Address(198, 18, 0, 1), proto: IPProtocol.udp, payloadLength: 0),
                                     .udp(UDPRepr(srcPort: 5353, dstPort: 53, payload: [UInt8](repeating: 0x61, count: 18))))).emit()
precondition(frame.count == 60)

/// One request's worth of frames: 1,000 in bursts, 2 µs of virtual time per frame between bursts.
func batch(_ stack: Stack, _ burst: Int) -> [Injection] {
    let t0 = stack.clockNs
    return (0..<1000).map { Injection(device: 0, frame: frame, atNs: t0 + UInt64($0 / burst * burst) * 2000) }
}

for _ in 0..<10 { _ = stack.inject(batch(stack, burst)); _ = stack.recv(socket: 1, max: 1000, cpu: 0) }
/// CPU time of this process (user + system): steady where wall time is not (a VM's stolen time).
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}
var batchNs: [Double] = []
let cpu0 = cpuSeconds()
var delivered = 0
let start = DispatchTime.now().uptimeNanoseconds
var done = 0
while done < count {
    let b = batch(stack, burst)
    let t0 = DispatchTime.now().uptimeNanoseconds
    let rs = stack.inject(b)
    batchNs.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000)
    delivered += rs.reduce(0) { $0 + ($1.outcome == .delivered ? 1 : 0) }
    _ = stack.recv(socket: 1, max: 1000, cpu: 0)
    done += 1000
}
let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
let cpu = cpuSeconds() - cpu0
let sorted = batchNs.sorted()
let pct = { (p: Double) -> Double in sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
print("rx path: \(done) frames of 60 bytes into a UDP socket in bursts of \(burst), \(delivered) delivered, traces off, 1 simulated CPU")
let pathSeconds = batchNs.reduce(0, +) * 1000 / 1e9
print(String(format: "rx path (inject): %.2f M packets/s, %.1f ns/packet (p50 %.1f, p99 %.1f ns/packet over batches of 1000)",
             Double(done) / pathSeconds / 1e6, pathSeconds * 1e9 / Double(done), pct(0.5), pct(0.99)))
print(String(format: "with batch set-up and the application's reads: %.2f M packets/s wall, %.2f M packets/s of CPU time",
             Double(done) / elapsed / 1e6, Double(done) / cpu / 1e6))
// A figure for packets that did not all arrive would measure something else: fail instead.
if delivered != done {
    FileHandle.standardError.write(Data("psbench: only \(delivered) of \(done) frames were delivered\n".utf8))
    exit(1)
}
