import Foundation
import Kernel
import Wire

// RX-path benchmark: 64-byte UDP frames (60 bytes + 4 FCS on the wire) through the whole
// simulated receive path of one stack, traces off, on one real core.
//   psbench [packets]   (default 5,000,000)

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 5_000_000 : 5_000_000
let mac = MACAddress(0x02, 0, 0, 0, 0, 0x01)
let stack = try Stack(config: StackConfig(name: "bench", devices: [
    DeviceConfig(name: "eth0", mac: mac, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")]),
]))
stack.tracing = false
let frame = FrameRepr(ethernet: EthernetRepr(dst: mac, src: MACAddress(0x02, 0, 0, 0, 0xff, 0x01), ethertype: EtherType.ipv4),
                      network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 9), dst: IPv4Address(198, 18, 0, 1), proto: IPProtocol.udp, payloadLength: 0),
                                     .udp(UDPRepr(srcPort: 5353, dstPort: 53, payload: [UInt8](repeating: 0x61, count: 18))))).emit()
precondition(frame.count == 60)
let dev = stack.devices[0]

// Warm-up, then timed batches of 1,000 for latency percentiles.
for _ in 0..<10_000 { _ = stack.inject(frame: frame, device: dev) }
var batchNs: [Double] = []
batchNs.reserveCapacity(count / 1000 + 1)
let start = DispatchTime.now().uptimeNanoseconds
var done = 0
var outcome = ""
while done < count {
    let t0 = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<1000 { outcome = stack.inject(frame: frame, device: dev).dropReason?.rawValue ?? "" }
    batchNs.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000)
    done += 1000
}
let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
let sorted = batchNs.sorted()
let pct = { (p: Double) -> Double in sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
print("rx path: \(done) frames of 60 bytes, outcome \(outcome), traces off")
print(String(format: "%.2f M packets/s, %.1f ns/packet (p50 %.1f, p99 %.1f ns/packet over batches of 1000)",
             Double(done) / elapsed / 1e6, elapsed * 1e9 / Double(done), pct(0.5), pct(0.99)))
