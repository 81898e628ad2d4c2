import Foundation
import Kernel
import NFTables
import Wire

// Netfilter benchmark: packets/s through the input hook of one stack, traces off, one real core.
// UDP datagrams from 198.18.0.9 to a socket on port 80 (as bench/kernel_nft.sh sends the real
// kernel UDP) meet linear chains of 10, 1,000 and 10,000 rules `ip saddr 198.18.0.9 tcp dport P
// drop`: the address matches, then the rule's protocol dependency fails, and the packet reaches
// the policy and the socket (read between batches, outside the timing). Then one rule against a
// 10,000-element hash set and against a 10,000-interval set, and iptables' -m set against a
// 10,000-element ipset.
//   nftbench [packets per case]   (default 200,000)

let perCase = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200_000 : 200_000
let mac = MACAddress(0x02, 0, 0, 0, 0, 0x01)
let frame = FrameRepr(ethernet: EthernetRepr(dst: mac, src: MACAddress(0x02, 0, 0, 0, 0xff, 0x01), ethertype: EtherType.ipv4),
                      network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 9), dst: IPv4Address(198, 18, 0, 1), proto: IPProtocol.udp, payloadLength: 0),
                                     .udp(UDPRepr(srcPort: 40000, dstPort: 80, payload: [0x71])))).emit()

func linear(_ n: Int) -> String {
    var s = "table inet f {\n chain input { type filter hook input priority 0; policy accept;\n"
    for i in 0..<n { s += "  ip saddr 198.18.0.9 tcp dport \(10000 + i) drop\n" }
    return s + " }\n}\n"
}

/// One rule against a named set of n addresses (a hash), or of n /30 ranges (intervals, bisected).
func setCase(_ n: Int, interval: Bool) -> String {
    var elems: [String] = []
    for i in 0..<n {
        let a = interval ? i * 4 : i
        elems.append("10.\((a >> 16) & 255).\((a >> 8) & 255).\(a & 255)" + (interval ? "/30" : ""))
    }
    return "table inet f {\n set blocked { type ipv4_addr;\(interval ? " flags interval;" : "") elements = { \(elems.joined(separator: ", ")) }\n }\n"
        + " chain input { type filter hook input priority 0; policy accept;\n ip saddr @blocked drop\n }\n}\n"
}

/// kube-proxy's nftables mode with `n` services: one concatenated verdict map of service IPs,
/// protocols and ports (`ip daddr . meta l4proto . th dport vmap @service-ips`), each element a
/// goto to the service's chain; the benchmark's packets are to no service, so they fall through.
func kubeProxy(_ n: Int) -> String {
    var s = "table ip kube-proxy {\n map service-ips {\n  type ipv4_addr . inet_proto . inet_service : verdict\n  elements = { "
    s += (0..<n).map { "10.96.\($0 >> 8).\($0 & 255) . tcp . 80 : goto service-\($0)" }.joined(separator: ", ")
    s += " }\n }\n"
    for i in 0..<n { s += " chain service-\(i) {\n  meta mark set 0x4000 counter\n }\n" }
    return s + " chain services { type filter hook input priority 0; policy accept;\n  ip daddr . meta l4proto . th dport vmap @service-ips\n }\n}\n"
}

/// iptables' `-m set --match-set blocked src -j DROP` (xt_set, as iptables-nft loads it) against a
/// hash:ip ipset of n addresses, read back as a stored version is (the rule's iptables line gives the match).
let xtSetRuleset = "table ip filter {\n chain INPUT { type filter hook input priority 0; policy accept;\n"
    + "  xt match set counter drop # handle 2 # iptables: -A INPUT -m set --match-set blocked src -j DROP\n }\n}\n"
func ipsetText(_ n: Int) -> String {
    "create blocked hash:ip family inet hashsize 1024 maxelem \(n)\n" + (0..<n).map { "add blocked 10.\(($0 >> 16) & 255).\(($0 >> 8) & 255).\($0 & 255)\n" }.joined()
}

func run(_ name: String, _ ruleset: String?, ipsets: String? = nil) throws -> Double {
    let stack = try Stack(config: StackConfig(name: "bench", devices: [
        DeviceConfig(name: "eth0", mac: mac, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")]),
    ], sockets: [SocketConfig(id: 1, proto: .udp, port: 80, rcvbuf: 1 << 30)]))
    stack.tracing = false
    if let ipsets { stack.setIPSets(try stack.preparedIPSets(ipsets, replace: true), generation: 1) }
    if let ruleset { stack.loadRuleset(try NFParser.parse(ruleset, checkpoint: ipsets != nil)) }
    var pathNs = 0.0
    var done = 0
    while done < perCase {
        let t0 = stack.clockNs
        let batch = (0..<1000).map { Injection(device: 0, frame: frame, atNs: t0 + UInt64($0 / 64 * 64) * 2000) }
        let start = DispatchTime.now().uptimeNanoseconds
        let rs = stack.inject(batch)
        pathNs += Double(DispatchTime.now().uptimeNanoseconds - start)
        // Every datagram must reach the socket: anything else would measure another path.
        _ = stack.recv(socket: 1, max: 1000, cpu: 0)
        guard rs.allSatisfy({ $0.outcome == .delivered }) else {
            FileHandle.standardError.write(Data("nftbench: \(name): \(rs[0].outcome) \(String(describing: rs[0].dropReason))\n".utf8))
            exit(1)
        }
        done += 1000
    }
    let pps = Double(done) / (pathNs / 1e9)
    print(String(format: "%-40@ %8.0f packets/s  %7.1f ns/packet", name as NSString, pps, pathNs / Double(done)))
    return pps
}

/// What a PUT of a ruleset costs before storage: parse, print as the stored version, compile and load.
func loadTime(_ name: String, _ text: String) throws {
    let stack = try Stack(config: StackConfig(name: "load", devices: [DeviceConfig(name: "eth0", mac: mac, addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])]))
    let start = DispatchTime.now().uptimeNanoseconds
    let rs = try NFParser.parse(text)
    _ = NFPrinter.ruleset(rs, handles: true, origins: true)
    stack.loadRuleset(rs)
    print(String(format: "load %-36@ %8.3f s (parse, print, compile, load; under 1 s: %@)", name as NSString,
                 Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, Double(DispatchTime.now().uptimeNanoseconds - start) < 1e9 ? "yes" : "NO"))
}
try loadTime("10,000 rules", linear(10_000))
try loadTime("100,000-element set", setCase(100_000, interval: false))
try loadTime("100,000-interval set", setCase(100_000, interval: true))

print("input hook, UDP datagrams to a socket, \(perCase) per case, traces off")
let none = try run("no ruleset", nil)
let r10 = try run("10 rules (2 matches each, no hit)", linear(10))
let r1k = try run("1,000 rules (2 matches each, no hit)", linear(1000))
let r10k = try run("10,000 rules (2 matches each, no hit)", linear(10_000))
let kube5k = try run("kube-proxy, 5,000 services (concat vmap)", kubeProxy(5000))
let set10k = try run("1 rule, 10,000-element hash set", setCase(10_000, interval: false))
let iv10k = try run("1 rule, 10,000-interval set", setCase(10_000, interval: true))
let xt10k = try run("-m set, 10,000-element hash:ip ipset", xtSetRuleset, ipsets: ipsetText(10_000))
print(String(format: "-m set on a 10,000-element ipset / 10 rules: %.2fx the time", r10 / xt10k))
print(String(format: "set / 10 rules: %.2f, interval set / 10 rules: %.2f (within 1.2x of the 10-rule case: %@)", r10 / set10k, r10 / iv10k,
             max(r10 / set10k, r10 / iv10k) <= 1.2 ? "yes" : "NO"))
print(String(format: "1,000 rules / 10 rules: %.2fx the time (at most 2x: %@); 10,000 rules: %.2fx, kube-proxy 5,000 services: %.2fx (at most 3x: %@)",
             r10 / r1k, r10 / r1k <= 2 ? "yes" : "NO", r10 / r10k, r10 / kube5k, max(r10 / r10k, r10 / kube5k) <= 3 ? "yes" : "NO"))
_ = none
