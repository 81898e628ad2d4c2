import API
import Foundation
import HTTPServer
import JSON
import Kernel
import NFTables
import Store
import TC
import Wire

/// The `rx` target: one long-lived stack (as a server keeps one), so conntrack entries,
/// fragment queues and socket queues carry over between inputs as they do between packets.
final class RXHarness: @unchecked Sendable {
    nonisolated(unsafe) static let shared = RXHarness()
    let stack: Stack
    var runs = 0

    /// Filtering, conntrack, NAT both ways, a set, a limit and logging: the engine's main paths.
    static let ruleset = """
        table inet filter {
            set blocked { type ipv4_addr; flags interval; elements = { 198.18.0.200/29 } }
            chain input {
                type filter hook input priority 0; policy accept;
                ct state invalid counter drop
                ip saddr @blocked drop
                tcp dport 22 limit rate 10/second accept
                udp dport 53 counter accept
                icmp type echo-request log prefix "ping " accept
            }
            chain forward {
                type filter hook forward priority 0; policy drop;
                ct state established,related accept
                iifname "eth0" oifname "eth1" accept
            }
        }
        table ip nat {
            chain prerouting { type nat hook prerouting priority -100; tcp dport 8080 dnat to 198.18.1.5:80; }
            chain postrouting { type nat hook postrouting priority 100; oifname "eth1" masquerade; }
        }
        table ip6 nat {
            chain prerouting { type nat hook prerouting priority -100; tcp dport 8080 dnat to [2001:db8:1::5]:80; }
            chain postrouting { type nat hook postrouting priority 100; oifname "eth1" masquerade; }
        }
        """

    /// The oracle's DUT (two veth devices, neighbours and routes), forwarding on.
    static func makeStack() -> Stack {
        var d0 = DeviceConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 2), addresses: [try! IPv4CIDR(parsing: "198.18.0.2/24")])
        var d1 = DeviceConfig(name: "eth1", mac: MACAddress(2, 0, 0, 0, 1, 1), addresses: [try! IPv4CIDR(parsing: "198.18.1.1/24")])
        d0.veth = true; d1.veth = true
        var n: [NeighbourConfig] = []
        for k in 1...9 {
            n.append(NeighbourConfig(address: IPv4Address(198, 18, 0, UInt8(k)), mac: MACAddress(2, 0, 0, 0, 0, 1), dev: "eth0"))
            n.append(NeighbourConfig(address: IPv4Address(198, 18, 1, UInt8(k + 1)), mac: MACAddress(2, 0, 0, 0, 1, 2), dev: "eth1"))
        }
        let routes = [RouteConfig(dst: try! IPv4CIDR(parsing: "0.0.0.0/0"), via: IPv4Address(198, 18, 1, 2), dev: "eth1")]
        let sockets = [SocketConfig(id: 1, proto: .udp, port: 53), SocketConfig(id: 2, proto: .tcp, port: 80)]
        // IPv6 as the oracle's IPv6 cases have it, forwarding on: the IPv6 path, its conntrack and NAT66 are fuzzed too.
        d0.addresses6 = [try! IPv6CIDR(parsing: "2001:db8::2/64")]
        d1.addresses6 = [try! IPv6CIDR(parsing: "2001:db8:1::1/64")]
        var c = StackConfig(name: "fuzz", cpus: 2, devices: [d0, d1], routes: routes, neighbours: n, sockets: sockets,
                            sysctls: ["net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": 1])
        c.routes6 = [Route6Config(dst: try! IPv6CIDR(parsing: "::/0"), via: try! IPv6Address(parsing: "2001:db8:1::2"), dev: "eth1")]
        c.neighbours6 = [Neighbour6Config(address: try! IPv6Address(parsing: "2001:db8::1"), mac: MACAddress(2, 0, 0, 0, 0, 1), dev: "eth0"),
                         Neighbour6Config(address: try! IPv6Address(parsing: "2001:db8:1::2"), mac: MACAddress(2, 0, 0, 0, 1, 2), dev: "eth1")]
        return try! Stack(config: c)
    }

    /// Frames every loaded ruleset sees once: UDP, TCP SYN, ICMP echo and a first fragment.
    static let probes: [[UInt8]] = {
        let eth = EthernetRepr(dst: MACAddress(2, 0, 0, 0, 0, 2), src: MACAddress(2, 0, 0, 0, 0, 1), ethertype: EtherType.ipv4)
        let src = IPv4Address(198, 18, 0, 9), dst = IPv4Address(198, 18, 0, 2)
        let udp = FrameRepr(ethernet: eth, network: .ipv4(IPv4Repr(src: src, dst: dst, proto: IPProtocol.udp, payloadLength: 0),
                                                           .udp(UDPRepr(srcPort: 5353, dstPort: 53, payload: Array("q".utf8)))))
        let syn = TCPRepr(srcPort: 40000, dstPort: 80, seq: 1, flags: .syn)
        let tcp = FrameRepr(ethernet: eth, network: .ipv4(IPv4Repr(src: src, dst: IPv4Address(198, 18, 1, 5), proto: IPProtocol.tcp, payloadLength: 0), .tcp(syn)))
        let icmp = FrameRepr(ethernet: eth, network: .ipv4(IPv4Repr(src: src, dst: dst, proto: IPProtocol.icmp, payloadLength: 0),
                                                            .icmp(ICMPv4Repr(type: 8, code: 0, restOfHeader: 0x0001_0001, data: [1, 2, 3]))))
        var fragIP = IPv4Repr(src: src, dst: dst, proto: IPProtocol.udp, payloadLength: 0)
        fragIP.moreFragments = true
        let frag = FrameRepr(ethernet: eth, network: .ipv4(fragIP, .raw([UInt8](repeating: 7, count: 16))))
        return [udp.emit(), tcp.emit(), icmp.emit(), frag.emit()]
    }()

    init() {
        stack = Self.makeStack()
        stack.loadRuleset(try! NFParser.parse(Self.ruleset))
    }

    /// The first byte picks the device and how far the clock moves first (timers, timeouts);
    /// the rest is the frame.
    func run(_ data: [UInt8]) {
        guard let first = data.first else { return }
        let device = stack.devices[Int(first & 1)]
        stack.advance(toNs: min(Stack.clockLimitNs, stack.clockNs + UInt64(first >> 1) * 1_000_000))
        _ = stack.inject(frame: Array(data.dropFirst()), device: device)
        runs += 1
        // An application that reads: socket queues stay short over millions of inputs.
        if runs % 64 == 0 { for id in [1, 2] { _ = stack.recv(socket: id, max: 1000, cpu: 0); _ = stack.recv(socket: id, max: 1000, cpu: 1) } }
    }
}

/// The `packetspec` target: the input is the body of a packet injection through the API
/// (decoding every field of a packet spec, then injecting into a stack), as a client sends it.
final class PacketSpecHarness: @unchecked Sendable {
    nonisolated(unsafe) static let shared = PacketSpecHarness()
    let app: App
    var runs = 0

    init() {
        let store = try! Store(path: ":memory:")
        app = try! App(store: store)
        let stack = """
            {"name":"f","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}],
             "sockets":[{"id":1,"protocol":"udp","port":53}]}
            """
        let r = app.respond(to: HTTPRequest(method: "POST", target: "/v1/stacks", headers: [HTTPHeader("content-type", "application/json")], body: Array(stack.utf8)))
        precondition(r.status == 201, "fuzz stack not created: \(String(decoding: r.body, as: UTF8.self))")
    }

    func run(_ data: [UInt8]) {
        // Each input as a JSON document and as an NDJSON body (a packet object a line).
        for (type, query) in [("application/json", ""), ("application/x-ndjson", "?rate_pps=1000000")] {
            let r = app.respond(to: HTTPRequest(method: "POST", target: "/v1/stacks/f/packets" + query, headers: [HTTPHeader("content-type", type)], body: data))
            FuzzTarget.check(r.status < 500, "\(type) status \(r.status): \(String(decoding: r.body, as: UTF8.self))")
        }
        runs += 1
        // Keep the trace quota and the store from filling over millions of inputs.
        if runs % 10_000 == 0 { _ = app.respond(to: HTTPRequest(method: "DELETE", target: "/v1/stacks/f/traces")) }
    }
}

/// `tc qdisc` lines on a forwarding stack whose eth1 has a link speed and a small TX ring.
final class TCHarness: @unchecked Sendable {
    nonisolated(unsafe) static let shared = TCHarness()
    let frames: [Injection]

    init() {
        frames = (0..<12).map { i in
            Injection(device: 0, frame: FrameRepr(ethernet: EthernetRepr(dst: MACAddress(2, 0, 0, 0, 0, 2), src: MACAddress(2, 0, 0, 0, 0, 1), ethertype: EtherType.ipv4),
                                                  network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 1), dst: IPv4Address(198, 18, 1, 2), proto: IPProtocol.udp, ttl: 64,
                                                                          tos: UInt8(i % 4) << 3, ident: UInt16(i), payloadLength: 0),
                                                                 .udp(UDPRepr(srcPort: 1, dstPort: 2, payload: [UInt8](repeating: 0, count: 100 * i)))))
                .emit(), atNs: UInt64(i) * 1000)
        }
    }

    func run(_ data: [UInt8]) {
        guard let text = String(validating: data, as: UTF8.self) else { return }
        var list: [QdiscConfig] = [], classes: [TCClassConfig] = [], clsact: [String] = []
        for line in text.split(separator: "\n") {
            switch try? TC.parseAny(String(line)) {
            case .qdisc(let cmd)?:
                guard let next = try? TC.apply(cmd, to: list, devices: ["eth0", "eth1"], classes: classes) else { continue }
                list = next
                classes = TC.pruneClasses(classes, qdiscs: list)
            case .class(let cmd)?:
                guard let next = try? TC.applyClass(cmd, qdiscs: list, classes: classes, devices: ["eth0", "eth1"]) else { continue }
                (list, classes) = next
            case .clsact(let op, let dev)?:
                guard let next = try? TC.applyClsact(op, dev: dev, to: clsact, devices: ["eth0", "eth1"]) else { continue }
                clsact = next
            case nil: continue
            }
        }
        var e1 = DeviceConfig(name: "eth1", mac: MACAddress(2, 0, 0, 0, 1, 1), addresses: [IPv4CIDR(address: IPv4Address(198, 18, 1, 1), prefixLength: 24)])
        e1.speedMbps = 10; e1.txRingSize = 4
        var c = StackConfig(name: "f", devices: [DeviceConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 2), addresses: [IPv4CIDR(address: IPv4Address(198, 18, 0, 2), prefixLength: 24)]), e1],
                            neighbours: [NeighbourConfig(address: IPv4Address(198, 18, 1, 2), mac: MACAddress(2, 0, 0, 0, 1, 2), dev: "eth1")],
                            sysctls: ["net.ipv4.ip_forward": 1])
        c.qdiscs = list
        c.classes = classes
        c.clsact = clsact
        guard let s = try? Stack(config: c) else { FuzzTarget.check(false, "tc list refused by the stack: \(list) \(classes)"); return }
        // The stored form rebuilds the same qdiscs, classes and clsact.
        let stored = TC.commands(qdiscs: list, classes: classes, clsact: clsact)
        let again = try? TC.buildAll(stored, devices: ["eth0", "eth1"])
        FuzzTarget.check(again?.qdiscs == list && again?.classes == classes && again?.clsact == clsact, "stored form does not rebuild: \(stored)")
        let rs = s.inject(frames)
        FuzzTarget.check(rs.allSatisfy { $0.outcome != .queued }, "a packet was left queued")
        for q in s.qdiscInfo() { FuzzTarget.check(q.stats.qlen == 0 && q.stats.backlog == 0, "qdisc \(q.kind) not drained: \(q.stats)") }
        _ = TC.showText(s.qdiscInfo(), oneDev: false, stats: true)
        _ = TC.showJSON(s.qdiscInfo(), oneDev: false, stats: true).rendered()
        _ = TC.showClassesText(s.classInfo(), oneDev: false, stats: true)
    }
}
