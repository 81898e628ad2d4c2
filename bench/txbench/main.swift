import Foundation
import Kernel
import Wire

// TX-path benchmark: UDP datagrams (18-byte payload, 60-byte frames) sent from a socket through
// udp_sendmsg, ip_local_out, ip_output, the neighbour, dev_queue_xmit, the device's pfifo_fast and
// the driver's TX ring of a 10 Gbit/s NIC (serialization and completions on the virtual clock),
// then each frame received by a second stack into its socket (the link: the first stack's
// frames injected into the second at the times they left). Traces off, one real core, batches
// of 1,000 sends 1 µs apart (1 Mpps offered: what the second stack's one CPU can take in).
// Then the same datagrams to 127.0.0.1 in one stack: udp_sendmsg, lo (loopback_xmit, the
// backlog) and back up to a socket of its own (bench/kernel/udplo.c is the kernel's figure).
//   txbench [datagrams]

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 2_000_000 : 2_000_000
let macA = MACAddress(2, 0, 0, 0, 0, 1), macB = MACAddress(2, 0, 0, 0, 0, 2)
let ipA = IPv4Address(198, 18, 0, 1), ipB = IPv4Address(198, 18, 0, 2)

func host(_ name: String, _ mac: MACAddress, _ ip: IPv4Address, peer: (IPv4Address, MACAddress), port: UInt16) throws -> Stack {
    var dev = DeviceConfig(name: "eth0", mac: mac, addresses: [IPv4CIDR(address: ip, prefixLength: 24)])
    dev.speedMbps = 10_000
    if CommandLine.arguments.contains("--no-bql") { dev.bql = false }
    var sock = SocketConfig(id: 1, proto: .udp, port: port, rcvbuf: 1 << 30)
    sock.sndbuf = 1 << 30
    let s = try Stack(config: StackConfig(name: name, devices: [dev], neighbours: [NeighbourConfig(address: peer.0, mac: peer.1, dev: "eth0")], sockets: [sock]))
    s.tracing = false
    return s
}
let a = try host("a", macA, ipA, peer: (ipB, macB), port: 4000)
let b = try host("b", macB, ipB, peer: (ipA, macA), port: 5000)
let payload = [UInt8](repeating: 0x61, count: 18)

func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

/// One batch: 1,000 sends on A; with `deliver`, A's frames into B at the times they left.
@MainActor func batch(deliver: Bool) -> (sendNs: UInt64, recvNs: UInt64, sent: Int, delivered: Int) {
    let t0 = a.clockNs
    let sends = (0..<1000).map { Send(socket: 1, dst: ipB, port: 5000, payload: payload, atNs: t0 + UInt64($0) * 1000) }
    let s0 = DispatchTime.now().uptimeNanoseconds
    let rs = a.send(sends)
    let s1 = DispatchTime.now().uptimeNanoseconds
    guard deliver else { return (s1 - s0, 0, rs.count, 0) }
    let frames = rs.flatMap(\.emitted).map { Injection(device: 0, frame: $0.frame, atNs: max($0.timeNs, b.clockNs)) }
    let got = b.inject(frames)
    _ = b.recv(socket: 1, max: 1000, cpu: 0)
    let s2 = DispatchTime.now().uptimeNanoseconds
    return (s1 - s0, s2 - s1, rs.filter { $0.outcome == .transmitted }.count, got.filter { $0.outcome == .delivered }.count)
}

for _ in 0..<20 { _ = batch(deliver: true) }
var sendNs: [Double] = [], e2eNs: [Double] = []
var sent = 0, delivered = 0
let cpu0 = cpuSeconds(), w0 = DispatchTime.now().uptimeNanoseconds
var done = 0, sendTotal: UInt64 = 0, recvTotal: UInt64 = 0
while done < count {
    let r = batch(deliver: true)
    sendNs.append(Double(r.sendNs) / 1000); e2eNs.append(Double(r.sendNs + r.recvNs) / 1000)
    sendTotal += r.sendNs; recvTotal += r.recvNs
    sent += r.sent; delivered += r.delivered; done += 1000
}
let cpu = cpuSeconds() - cpu0, wall = Double(DispatchTime.now().uptimeNanoseconds - w0) / 1e9
func pct(_ xs: [Double], _ p: Double) -> Double { let s = xs.sorted(); return s[min(s.count - 1, Int(Double(s.count) * p))] }
print("txbench: \(done) datagrams, \(sent) transmitted, \(delivered) delivered into the second stack's socket")
print(String(format: "send path (udp_sendmsg → pfifo_fast → TX ring): %.0f ns/datagram, %.2f M datagrams/s", Double(sendTotal) / Double(done), Double(done) / (Double(sendTotal) / 1e9) / 1e6))
print(String(format: "send + receive in the second stack: %.0f ns/datagram, %.2f M datagrams/s (CPU %.2f s, wall %.2f s)",
             Double(sendTotal + recvTotal) / Double(done), Double(done) / cpu / 1e6, cpu, wall))
print(String(format: "per 1,000-send batch: p50 %.0f µs, p99 %.0f µs (send only); end to end p50 %.0f µs, p99 %.0f µs",
             pct(sendNs, 0.5), pct(sendNs, 0.99), pct(e2eNs, 0.5), pct(e2eNs, 0.99)))
print("virtual: A's clock \(a.clockNs) ns; qdisc \(a.qdiscInfo()[0].stats)")

// Over lo: A sends to its own socket on 127.0.0.1:5000, read after each batch.
let lo: Stack = try {
    var sock = SocketConfig(id: 1, proto: .udp, port: 4000, rcvbuf: 1 << 30)
    sock.sndbuf = 1 << 30
    let server = SocketConfig(id: 2, proto: .udp, address: IPv4Address(127, 0, 0, 1), port: 5000, rcvbuf: 1 << 30)
    let s = try Stack(config: StackConfig(name: "lo", devices: [DeviceConfig(name: "eth0", mac: macA, addresses: [IPv4CIDR(address: ipA, prefixLength: 24)])],
                                          sockets: [sock, server]))
    s.tracing = false
    return s
}()
@MainActor func loBatch() -> (ns: UInt64, delivered: Int) {
    let t0 = lo.clockNs
    let sends = (0..<1000).map { Send(socket: 1, dst: IPv4Address(127, 0, 0, 1), port: 5000, payload: payload, atNs: t0 + UInt64($0) * 1000) }
    let s0 = DispatchTime.now().uptimeNanoseconds
    let rs = lo.send(sends)
    let got = lo.recv(socket: 2, max: 1000, cpu: 0)?.count ?? 0
    let s1 = DispatchTime.now().uptimeNanoseconds
    return (s1 - s0, rs.filter { $0.outcome == .delivered }.count == got ? got : -1)
}
for _ in 0..<20 { _ = loBatch() }
var loNs: [Double] = [], loTotal: UInt64 = 0, loDelivered = 0, loDone = 0
while loDone < count {
    let r = loBatch()
    loNs.append(Double(r.ns) / 1000); loTotal += r.ns; loDelivered += r.delivered; loDone += 1000
}
print(String(format: "over lo (udp_sendmsg → loopback_xmit → backlog → udp_rcv → recvmsg): %.0f ns/datagram, %.2f M datagrams/s, %d delivered; per batch p50 %.0f µs, p99 %.0f µs",
             Double(loTotal) / Double(loDone), Double(loDone) / (Double(loTotal) / 1e9) / 1e6, loDelivered, pct(loNs, 0.5), pct(loNs, 0.99)))
