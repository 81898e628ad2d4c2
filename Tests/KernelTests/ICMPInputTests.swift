@testable import Kernel
import Wire
import XCTest

/// What icmp_rcv does with each ICMP type, as the kernel did it (scripts/record_icmp_input.py, whose
/// docstring has the recording): the Icmp and IcmpMsg counters moved, the answer, how the packet ends.
final class ICMPInputTests: XCTestCase {
    /// The UDP datagram 198.18.0.1:7000 > 198.18.0.9:53 the errors quote (no socket sent it).
    static let quote = Array(frame(src: ourIP, dst: peerIP, .udp(UDPRepr(srcPort: 7000, dstPort: 53)))[14...])

    func icmp(_ type: UInt8, _ code: UInt8 = 0, rest: UInt32 = 0, data: [UInt8] = [], to dst: IPv4Address = ourIP) -> [UInt8] {
        frame(dstMAC: dst == ourIP ? ourMAC : .broadcast, dst: dst, .icmp(ICMPv4Repr(type: type, code: code, restOfHeader: rest, data: data)))
    }

    /// The ICMP counters (Icmp and IcmpMsg names) that moved, and by how much.
    func moved(_ before: SNMPStats.ICMP, _ after: SNMPStats.ICMP) -> [String: Int] {
        func all(_ c: SNMPStats.ICMP) -> [String: Int] {
            var d: [String: Int] = [:]
            for m in Mirror(reflecting: c).children { if let l = m.label, let n = m.value as? Int { d[l] = n } }
            for (k, v) in c.icmpMsg { d[k] = v }
            return d
        }
        let (a, b) = (all(before), all(after))
        return Dictionary(uniqueKeysWithValues: b.filter { $0.value != a[$0.key, default: 0] }.map { ($0.key, $0.value - a[$0.key, default: 0]) })
    }

    func testEachTypeAsTheKernelCountsAndAnswersIt() throws {
        let q = Self.quote
        let cases: [(String, [UInt8], [String], DropReason?, UInt8?)] = [
            ("echo", icmp(8, rest: 0x0001_0001), ["InEchos", "InType8", "OutMsgs", "OutEchoReps", "OutType0"], nil, 0),
            ("echo-reply", icmp(0, rest: 0x0001_0001), ["InEchoReps", "InType0"], .NO_SOCKET, nil),
            ("timestamp", icmp(13, rest: 0x0002_0001, data: [0, 0, 0x03, 0xe8] + [UInt8](repeating: 0, count: 8)),
             ["InTimestamps", "InType13", "OutMsgs", "OutEchoReps", "OutType0"], nil, 14),
            ("dest-unreach port", icmp(3, 3, data: q), ["InDestUnreachs", "InType3", "InErrors"], nil, nil),
            ("dest-unreach frag", icmp(3, 4, rest: 1200, data: q), ["InDestUnreachs", "InType3", "InErrors"], nil, nil),
            ("source-quench", icmp(4, data: q), ["InSrcQuenchs", "InType4", "InErrors"], nil, nil),
            ("redirect", icmp(5, 1, rest: IPv4Address(198, 18, 0, 7).raw, data: q), ["InRedirects", "InType5", "InErrors"], nil, nil),
            ("time-exceeded", icmp(11, data: q), ["InTimeExcds", "InType11", "InErrors"], nil, nil),
            ("param-problem", icmp(12, data: q), ["InParmProbs", "InType12", "InErrors"], nil, nil),
            ("addr-mask", icmp(17), ["InAddrMasks", "InType17"], nil, nil),
            ("type 18", icmp(18), ["InAddrMaskReps", "InType18"], nil, nil),
            ("type 14", icmp(14), ["InTimestampReps", "InType14"], nil, nil),
            ("type 40", icmp(40), ["InType40", "InErrors"], .UNHANDLED_PROTO, nil),
            ("broadcast echo", icmp(8, to: IPv4Address(198, 18, 0, 255)), ["InEchos", "InType8", "InErrors"], .INVALID_PROTO, nil),
            ("broadcast timestamp", icmp(13, data: [UInt8](repeating: 0, count: 12), to: IPv4Address(198, 18, 0, 255)),
             ["InTimestamps", "InType13", "InErrors"], .INVALID_PROTO, nil),
            ("broadcast dest-unreach", icmp(3, 3, data: q, to: IPv4Address(198, 18, 0, 255)), ["InDestUnreachs", "InType3", "InErrors"], .INVALID_PROTO, nil),
            ("broadcast addr-mask", icmp(17, to: IPv4Address(198, 18, 0, 255)), ["InAddrMasks", "InType17"], nil, nil),
            ("short quote", icmp(3, 3, data: [0x45, 0, 0]), ["InDestUnreachs", "InType3", "InErrors"], .NOT_SPECIFIED, nil),
            ("quote with ihl 4", icmp(3, 3, data: [0x44] + [UInt8](repeating: 0, count: 19)), ["InDestUnreachs", "InType3", "InErrors"], .IP_INHDR, nil),
            ("quote without L4 bytes", icmp(3, 3, data: Array(q[..<20])), ["InDestUnreachs", "InType3", "InErrors"], nil, nil),
            ("unreach code 16", icmp(3, 16, data: q), ["InDestUnreachs", "InType3"], nil, nil),
            ("time-exceeded in reassembly", icmp(11, 1, data: q), ["InTimeExcds", "InType11"], nil, nil),
            ("quoting an ICMP echo", icmp(3, 1, data: Array(q[..<9]) + [IPProtocol.icmp] + Array(q[10..<20]) + [8, 0, 0, 0, 0, 0, 0, 0]),
             ["InDestUnreachs", "InType3"], nil, nil),
            ("quoting TCP", icmp(3, 1, data: Array(q[..<9]) + [IPProtocol.tcp] + Array(q[10..<20]) + [UInt8](repeating: 0, count: 20)),
             ["InDestUnreachs", "InType3", "InErrors"], nil, nil),
            ("quoting GRE", icmp(3, 1, data: Array(q[..<9]) + [47] + Array(q[10..<20]) + [UInt8](repeating: 0, count: 8)),
             ["InDestUnreachs", "InType3"], nil, nil),
        ]
        for (name, f, counters, drop, answer) in cases {
            let s = try makeStack()
            let before = s.snmp.icmp
            let r = s.inject(frame: f, device: s.devices[0])
            XCTAssertEqual(moved(before, s.snmp.icmp), Dictionary(uniqueKeysWithValues: (["InMsgs"] + counters).map { ($0, 1) }), name)
            XCTAssertEqual(r.dropReason, drop, name)
            XCTAssertEqual(r.outcome, drop == nil ? .consumed : .dropped, name)
            XCTAssertEqual(try r.emitted.map { f throws -> UInt8 in
                guard case .ipv4(_, .icmp(let m)) = try FrameRepr.parse(f.frame).network else { return 255 }
                return m.type
            }, answer.map { [$0] } ?? [], name)
        }
    }

    /// A socket bound to the quoted datagram's source takes the error: no InErrors (udp_err found it).
    func testAnErrorForABoundSocketIsNoInError() throws {
        let s = try makeStack()
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, address: ourIP, port: 7000)))
        let before = s.snmp.icmp
        let r = s.inject(frame: icmp(3, 3, data: Self.quote), device: s.devices[0])
        XCTAssertEqual(moved(before, s.snmp.icmp), ["InMsgs": 1, "InDestUnreachs": 1, "InType3": 1])
        XCTAssertEqual(r.outcome, .consumed)
    }

    /// Path MTU discovery as the kernel did it (scripts/record_pmtu.py): a 1,400-byte datagram leaves
    /// with DF, a fragmentation-needed error (MTU 1300) comes back quoting it, and the next two sends
    /// follow the path MTU: DO fails with EMSGSIZE, WANT is fragmented to it, and IP_RECVERR makes the
    /// error the socket's next answer once.
    func testPathMTUDiscovery() throws {
        let cases: [(SocketConfig.PMTUDisc, Bool, [String])] = [
            (.do, false, ["sent", "EMSGSIZE", "EMSGSIZE"]), (.do, true, ["sent", "EMSGSIZE", "EMSGSIZE"]),
            (.want, false, ["sent", "sent", "sent"]), (.want, true, ["sent", "EMSGSIZE", "sent"]),
        ]
        for (mode, recverr, want) in cases {
            let name = "\(mode) \(recverr ? "recverr" : "-")"
            let s = try makeStack()
            var sk = SocketConfig(id: 1, proto: .udp, address: ourIP, port: 7000)
            sk.pmtudisc = mode
            sk.recverr = recverr
            XCTAssertNil(s.bind(sk))
            func send() -> PacketResult { s.send([Send(socket: 1, dst: peerIP, port: 9, payload: [UInt8](repeating: 0x78, count: 1400))])[0] }
            let first = send()
            let sent = try XCTUnwrap(first.emitted.first).frame
            XCTAssertEqual([sent.count, Int(sent[14 + 6] & 0x40)], [14 + 1428, 0x40], "\(name): whole, with DF")
            let before = s.snmp.icmp
            let error = s.inject(frame: icmp(3, 4, rest: 1300, data: Array(sent[14..<(14 + 28)])), device: s.devices[0])
            XCTAssertEqual(error.outcome, .consumed)
            XCTAssertEqual(moved(before, s.snmp.icmp), ["InMsgs": 1, "InDestUnreachs": 1, "InType3": 1], name)
            // The route exception, `cache expires 599sec mtu 1300` in the kernel's `ip route get`:
            // made when icmp_rcv is done with the error (its consume_skb), for 600 s.
            XCTAssertEqual(error.stages.last?.stage.name, "consume_skb")
            XCTAssertEqual(s.routeExceptions[peerIP.raw], RouteException(mtu: 1300, expires: try XCTUnwrap(error.stages.last).timeNs + 600_000_000_000, locked: false), name)
            let later = [send(), send()]
            XCTAssertEqual(([first] + later).map { $0.errno ?? "sent" }, want, name)
            // Fragmented to the path MTU: 1,300 and 148 bytes of IP.
            for r in later where r.errno == nil && mode == .want {
                XCTAssertEqual(r.emitted.map { $0.frame.count - 14 }, [1300, 148], name)
            }
        }
    }

    /// A learnt path MTU is kept by a checkpoint, and expires: 600 s on the route goes back to the device's MTU.
    func testPathMTUIsCheckpointedAndExpires() throws {
        let s = try makeStack()
        XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, address: ourIP, port: 7000)))
        func send(_ on: Stack, at t: UInt64? = nil) -> [Int] {
            on.send([Send(socket: 1, dst: peerIP, port: 9, payload: [UInt8](repeating: 0x78, count: 1400), atNs: t)])[0].emitted.map { $0.frame.count - 14 }
        }
        let sent = try XCTUnwrap(s.send([Send(socket: 1, dst: peerIP, port: 9, payload: [UInt8](repeating: 0x78, count: 1400))])[0].emitted.first).frame
        _ = s.inject(frame: icmp(3, 4, rest: 1300, data: Array(sent[14..<(14 + 28)])), device: s.devices[0])
        let expires = try XCTUnwrap(s.routeExceptions[peerIP.raw]).expires
        let restored = try makeStack()
        XCTAssertNil(restored.bind(SocketConfig(id: 1, proto: .udp, address: ourIP, port: 7000)))
        restored.restoreRuntime(s.runtimeState())
        XCTAssertEqual(restored.routeExceptions, s.routeExceptions)
        XCTAssertEqual(send(restored), [1300, 148])
        XCTAssertEqual(send(s, at: expires - 1_000_000), [1300, 148])
        XCTAssertEqual(send(s, at: expires), [1428])
    }

    /// icmp_timestamp's reply, byte for byte: type 14, the request's id, sequence and originate time,
    /// then the time now in ms since midnight UTC as both the receive and the transmit time.
    func testTimestampReplyCarriesTheTimeSinceMidnight() throws {
        var config = try makeStack().config
        config.epochNs = 1_796_478_306_789_000_000   // 2026-12-05 13:45:06.789 UTC: 49,506,789 ms since midnight
        let s = try Stack(config: config)
        let r = s.inject(frame: icmp(13, rest: 0x0002_0001, data: [0, 0, 0x03, 0xe8] + [UInt8](repeating: 0, count: 8)), device: s.devices[0])
        guard case .ipv4(let ip, .icmp(let m)) = try FrameRepr.parse(XCTUnwrap(r.emitted.first).frame).network else { return XCTFail() }
        XCTAssertEqual([ip.src, ip.dst], [ourIP, peerIP])
        XCTAssertEqual([m.type, m.code], [14, 0])
        XCTAssertEqual(m.restOfHeader, 0x0002_0001)
        let ms: UInt32 = 49_506_789
        let stamp = [UInt8(ms >> 24), UInt8(ms >> 16 & 0xff), UInt8(ms >> 8 & 0xff), UInt8(ms & 0xff)]
        XCTAssertEqual(m.data, [0, 0, 0x03, 0xe8] + stamp + stamp)
    }

    /// A host redirect (`scripts/record_redirect.sh`, on the kernel): the host's default route is
    /// via .254; .254 redirects 198.18.5.5 to .253, quoting a datagram our socket sent there. As the
    /// kernel did: with .253's MAC unknown, an ARP request for it and the route unchanged; with it
    /// known, the route via .253 (`cache <redirected> expires 299sec`) for 300 s; from a host that
    /// is not the gateway, with accept_redirects 0, or quoting a datagram no socket sent, nothing
    /// (the last an InErrors). Each counts InMsgs, InRedirects, InType5. (A router: on this kernel,
    /// net.ipv4.ip_forward=1 turns net.ipv4.conf.all.accept_redirects to 0.)
    func testRedirects() throws {
        let far = IPv4Address(198, 18, 5, 5), gw = IPv4Address(198, 18, 0, 254), alt = IPv4Address(198, 18, 0, 253)
        let gwMAC = MACAddress(2, 0, 0, 0, 0, 0xfe), altMAC = MACAddress(2, 0, 0, 0, 0, 0xfd)
        func octets(_ m: MACAddress) -> [UInt8] { withUnsafeBytes(of: m.bytes) { Array($0) } }
        func stack(altKnown: Bool, accept: Int? = nil, forward: Int = 0) throws -> Stack {
            var c = try makeStack(sysctls: ["net.ipv4.ip_forward": forward].merging(accept.map { ["net.ipv4.conf.all.accept_redirects": $0] } ?? [:]) { a, _ in a }).config
            c.neighbours.append(NeighbourConfig(address: gw, mac: gwMAC, dev: "eth0"))
            if altKnown { c.neighbours.append(NeighbourConfig(address: alt, mac: altMAC, dev: "eth0")) }
            let s = try Stack(config: c)
            XCTAssertNil(s.bind(SocketConfig(id: 1, proto: .udp, address: ourIP, port: 7000)))
            return s
        }
        func send(_ s: Stack, at t: UInt64? = nil) -> [UInt8] {
            Array(s.send([Send(socket: 1, dst: far, port: 9, payload: [0x78], atNs: t)])[0].emitted.first?.frame.prefix(6) ?? [])
        }
        func redirect(_ s: Stack, from src: IPv4Address, sport: UInt16 = 7000) -> PacketResult {
            let quoted = FrameRepr(ethernet: EthernetRepr(dst: gwMAC, src: ourMAC, ethertype: EtherType.ipv4),
                                   network: .ipv4(IPv4Repr(src: ourIP, dst: far, proto: IPProtocol.udp, ttl: 64, ident: 1, payloadLength: 0),
                                                  .udp(UDPRepr(srcPort: sport, dstPort: 9, payload: [0x78])))).emit()
            let f = frame(src: src, .icmp(ICMPv4Repr(type: 5, code: 1, restOfHeader: alt.raw, data: Array(quoted[14..<(14 + 28)]))))
            let before = s.snmp.icmp
            let r = s.inject(frame: f, device: s.devices[0])
            XCTAssertEqual(moved(before, s.snmp.icmp).filter { $0.key != "InErrors" }, ["InMsgs": 1, "InRedirects": 1, "InType5": 1])
            return r
        }
        // .253 unknown: resolved, the route unchanged.
        var s = try stack(altKnown: false)
        XCTAssertEqual(send(s), octets(gwMAC))
        let r = redirect(s, from: gw)
        XCTAssertEqual(r.emitted.map { Array($0.frame.prefix(6) + $0.frame[12..<14]) }, [octets(.broadcast) + [0x08, 0x06]])
        XCTAssertEqual(Array(r.emitted[0].frame.suffix(from: 14 + 24).prefix(4)), [198, 18, 0, 253], "an ARP request for .253")
        XCTAssertEqual(s.neighbourEntries.first { $0.address == alt }?.state, .incomplete)
        XCTAssertEqual(send(s), octets(gwMAC))
        // .253 known: via .253 for 300 s.
        s = try stack(altKnown: true)
        _ = send(s)
        let t = s.clockNs
        XCTAssertEqual(redirect(s, from: gw).emitted.count, 0)
        XCTAssertEqual(s.routeExceptions[far.raw]?.gateway, alt.raw)
        XCTAssertEqual(send(s), octets(altMAC))
        XCTAssertEqual(send(s, at: t + 299_000_000_000), octets(altMAC))
        XCTAssertEqual(send(s, at: t + 301_000_000_000), octets(gwMAC))
        // Not from the gateway; accept_redirects 0; no socket sent the quoted datagram.
        s = try stack(altKnown: true)
        _ = redirect(s, from: IPv4Address(198, 18, 0, 4))
        XCTAssertEqual(send(s), octets(gwMAC))
        s = try stack(altKnown: true, accept: 0)
        _ = redirect(s, from: gw)
        XCTAssertEqual(send(s), octets(gwMAC))
        // A router: enabling forwarding clears accept_redirects; set again, it takes them.
        s = try stack(altKnown: true, forward: 1)
        _ = redirect(s, from: gw)
        XCTAssertEqual(send(s), octets(gwMAC))
        s = try stack(altKnown: true, accept: 1, forward: 1)
        _ = redirect(s, from: gw)
        XCTAssertEqual(send(s), octets(altMAC))
        s = try stack(altKnown: true)
        _ = redirect(s, from: gw, sport: 7001)
        XCTAssertEqual(s.snmp.icmp.InErrors, 1)
        XCTAssertEqual(send(s), octets(gwMAC))
        XCTAssertTrue(s.routeExceptions.isEmpty)
    }
}
