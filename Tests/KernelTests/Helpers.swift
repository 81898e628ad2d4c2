import Kernel
import Wire
import XCTest

/// The stack most tests use: one device, one address, a default route.
/// The peer's MAC is a permanent neighbour, so replies go straight out without ARP.
func makeStack(cpus: Int = 1, sysctls: [String: Int] = [:], device: (inout DeviceConfig) -> Void = { _ in }) throws -> Stack {
    var dev = DeviceConfig(name: "eth0", mac: try MACAddress(parsing: "02:00:00:00:00:01"),
                           addresses: [try IPv4CIDR(parsing: "198.18.0.1/24")])
    device(&dev)
    return try Stack(config: StackConfig(name: "t", cpus: cpus, devices: [dev],
                                         routes: [RouteConfig(dst: try IPv4CIDR(parsing: "0.0.0.0/0"), via: IPv4Address(198, 18, 0, 254), dev: "eth0")],
                                         neighbours: [NeighbourConfig(address: peerIP, mac: peerMAC, dev: "eth0")],
                                         sysctls: sysctls))
}

let ourMAC = MACAddress(0x02, 0, 0, 0, 0, 0x01)
let peerMAC = MACAddress(0x02, 0, 0, 0, 0xff, 0x01)
let ourIP = IPv4Address(198, 18, 0, 1)
let peerIP = IPv4Address(198, 18, 0, 9)

func frame(dstMAC: MACAddress = ourMAC, src: IPv4Address = peerIP, dst: IPv4Address = ourIP, ttl: UInt8 = 64,
           ident: UInt16 = 0, mf: Bool = false, _ l4: TransportRepr, proto: UInt8? = nil, vlan: VLANTagRepr? = nil) -> [UInt8] {
    let p: UInt8
    switch l4 {
    case .udp: p = IPProtocol.udp
    case .tcp: p = IPProtocol.tcp
    case .icmp: p = IPProtocol.icmp
    case .icmpv6: p = IPProtocol.icmpv6
    case .raw: p = proto ?? 253
    }
    return FrameRepr(ethernet: EthernetRepr(dst: dstMAC, src: peerMAC, ethertype: EtherType.ipv4), vlan: vlan,
                     network: .ipv4(IPv4Repr(src: src, dst: dst, proto: p, ttl: ttl, ident: ident, moreFragments: mf, payloadLength: 0), l4)).emit()
}

extension PacketResult {
    var stageNames: [String] { stages.map(\.stage.name) }
}

/// The driver side of every RX trace: the NIC, the NAPI poll, GRO, then the core.
let rxToCore = ["nic_receive", "napi_poll", "napi_alloc_skb", "eth_type_trans", "napi_gro_receive", "netif_receive_skb", "__netif_receive_skb_core"]
let rxToLocal = rxToCore + ["ip_rcv", "ip_rcv_finish", "ip_local_deliver", "ip_local_deliver_finish"]
/// An ICMP error to the (known) peer.
let icmpError = ["icmp_send", "ip_local_out", "ip_output", "ip_finish_output", "neigh_output", "dev_queue_xmit", "sch_direct_xmit", "dev_hard_start_xmit"]

/// The IP ID ip_select_ident gives the first packet the default stack (seed 0) builds for the peer.
let firstICMPIdent: UInt16 = 12695


/// A second stack from `make`, at `s`'s clock, given `s`'s runtime state: a restart from a
/// checkpoint. Its own runtime state must read back as what it was given.
func restoredCopy(of s: Stack, _ saved: StackRuntime, _ make: () throws -> Stack, file: StaticString = #filePath, line: UInt = #line) throws -> Stack {
    let t = try make()
    t.advance(toNs: s.clockNs)
    t.restoreRuntime(saved)
    XCTAssertEqual(t.runtimeState(), saved, file: file, line: line)
    return t
}
