import Foundation
import Kernel
import NFTables
import Wire

// Netfilter benchmark: packets/s through the input hook of one stack for a linear chain of
// 10, 1,000 and 10,000 rules that do not match (the packet reaches the policy), and for one
// rule matching against a 10,000-element named set. Traces off, one real core.
//   nftbench [packets per case]   (default 200,000)

let perCase = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200_000 : 200_000
let mac = MACAddress(0x02, 0, 0, 0, 0, 0x01)
let frame = FrameRepr(ethernet: EthernetRepr(dst: mac, src: MACAddress(0x02, 0, 0, 0, 0xff, 0x01), ethertype: EtherType.ipv4),
                      network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 9), dst: IPv4Address(198, 18, 0, 1), proto: IPProtocol.udp, payloadLength: 0),
                                     .udp(UDPRepr(srcPort: 5353, dstPort: 53, payload: [UInt8](repeating: 0x61, count: 18))))).emit()

func linear(_ n: Int) -> String {
    var s = "table inet f {\n chain input { type filter hook input priority 0; policy accept;\n"
    for i in 0..<n { s += "  tcp dport \(10000 + i) drop\n" }
    return s + " }\n}\n"
}

func setCase(_ n: Int) -> String {
    var elems: [String] = []
    for i in 0..<n { elems.append("10.\((i >> 16) & 255).\((i >> 8) & 255).\(i & 255)") }
    return "table inet f {\n set blocked { type ipv4_addr; elements = { \(elems.joined(separator: ", ")) } }\n"
        + " chain input { type filter hook input priority 0; policy accept; ip saddr @blocked drop; }\n}\n"
}

func run(_ name: String, _ ruleset: String?) throws -> Double {
    let stack = try Stack(config: StackConfig(name: "bench", devices: [
        DeviceConfig(name: "eth0", mac: mac, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")]),
    ], sockets: [SocketConfig(id: 1, proto: .udp, port: 53, rcvbuf: 1 << 30)]))
    stack.tracing = false
    if let ruleset { stack.loadRuleset(try NFParser.parse(ruleset)) }
    var pathNs = 0.0
    var done = 0
    while done < perCase {
        let t0 = stack.clockNs
        let batch = (0..<1000).map { Injection(device: 0, frame: frame, atNs: t0 + UInt64($0 / 64 * 64) * 2000) }
        let start = DispatchTime.now().uptimeNanoseconds
        let rs = stack.inject(batch)
        pathNs += Double(DispatchTime.now().uptimeNanoseconds - start)
        precondition(rs.allSatisfy { $0.outcome == .delivered }, "\(name): \(rs[0].outcome) \(String(describing: rs[0].dropReason))")
        _ = stack.recv(socket: 1, max: 1000, cpu: 0)
        done += 1000
    }
    let pps = Double(done) / (pathNs / 1e9)
    print(String(format: "%-34@ %8.0f packets/s  %7.1f ns/packet", name as NSString, pps, pathNs / Double(done)))
    return pps
}

print("input hook, 60-byte UDP frames into a socket, \(perCase) per case, traces off")
let none = try run("no ruleset", nil)
let r10 = try run("10 rules (linear, no match)", linear(10))
let r1k = try run("1,000 rules (linear, no match)", linear(1000))
let r10k = try run("10,000 rules (linear, no match)", linear(10_000))
let set10k = try run("1 rule, 10,000-element set", setCase(10_000))
print(String(format: "set / 10 rules: %.2f (the set case must be within 1.2x of the 10-rule case: %@)", r10 / set10k,
             r10 / set10k <= 1.2 ? "yes" : "NO"))
_ = (none, r1k, r10k)
