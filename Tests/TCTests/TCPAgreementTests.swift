import Foundation
import JSON
@testable import Kernel
import Wire
import XCTest

/// TCP conversations between two real kernels (CLI 198.18.0.1 and SRV 198.18.0.2 on a veth
/// pair), recorded by scripts/record_tcp_cases.py, replayed between two model stacks: the frames
/// on SRV's eth0 in order, compared with the ISNs, TS values and IP ID starts (random in the
/// kernel) taken relative; `ss -tan` of both sides where the case asks; each call's result.
final class TCPAgreementTests: XCTestCase {
    /// An IPv6 case's hosts also have 2001:db8::1 and ::2 (nodad) and each other as a permanent neighbour.
    static func host(_ name: String, _ mine: UInt8, _ peer: UInt8, ipv6: Bool = false, sysctls: [String: Int] = [:]) throws -> Stack {
        var e0 = DeviceConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, mine), addresses: [IPv4CIDR(address: IPv4Address(198, 18, 0, mine), prefixLength: 24)])
        e0.veth = true
        // This machine's tcp_rmem (a new namespace copies the host's): window scale 10.
        var c = StackConfig(name: name, cpus: 1, devices: [e0],
                            neighbours: [NeighbourConfig(address: IPv4Address(198, 18, 0, peer), mac: MACAddress(2, 0, 0, 0, 0, peer), dev: "eth0")],
                            sysctls: ["net.ipv4.tcp_rmem[0]": 4096, "net.ipv4.tcp_rmem[1]": 131_072, "net.ipv4.tcp_rmem[2]": 33_554_432].merging(sysctls) { $1 })
        if ipv6 {
            c.devices[0].addresses6 = [IPv6CIDR(address: six(mine), prefixLength: 64)]
            c.neighbours6 = [Neighbour6Config(address: six(peer), mac: MACAddress(2, 0, 0, 0, 0, peer), dev: "eth0")]
        }
        return try Stack(config: c)
    }
    static func six(_ n: UInt8) -> IPv6Address { IPv6Address(raw: 0x2001_0db8 << 96 | UInt128(n)) }

    /// Two stacks joined back to back, a log of what crossed (as SRV's eth0 sees it).
    final class Pair {
        let cli: Stack, srv: Stack
        var log: [(dir: String, frame: [UInt8], timeNs: UInt64)] = []
        init(ipv6: Bool = false, sysctls: [String: [String: Int]] = [:]) throws {
            cli = try TCPAgreementTests.host("cli", 1, 2, ipv6: ipv6, sysctls: sysctls["cli"] ?? [:])
            srv = try TCPAgreementTests.host("srv", 2, 1, ipv6: ipv6, sysctls: sysctls["srv"] ?? [:])
        }

        /// Carries frames each way until neither side sends more.
        func ferry(_ results: [PacketResult], from start: Stack) {
            var pending: [(Stack, [EmittedFrame])] = [(start, results.flatMap(\.emitted))]
            while !pending.isEmpty {
                let (s, frames) = pending.removeFirst()
                guard !frames.isEmpty else { continue }
                for f in frames { log.append((s === srv ? "out" : "in", f.frame, f.timeNs)) }
                let other = s === srv ? cli : srv
                let rs = other.inject(frames.map { Injection(device: 0, frame: $0.frame, atNs: $0.timeNs, csumPartial: $0.csumPartial) })
                pending.append((other, rs.flatMap(\.emitted)))
            }
        }
    }

    struct Replay { var pair: Pair; var results: [String]; var ss: [JSONValue]; var expected: JSONValue }

    func replay(_ name: String) throws -> Replay {
        let dir = TCAgreementTests.cases
        let c = try JSONParser.parse(try String(contentsOf: dir.appendingPathComponent("\(name).case.json"), encoding: .utf8))
        let expected = try JSONParser.parse(try String(contentsOf: dir.appendingPathComponent("\(name).expected.json"), encoding: .utf8))
        guard case .array(let steps)? = c["steps"] else { throw XCTSkip("no steps") }
        let ipv6 = c["ipv6"] == .bool(true)
        var sysctls: [String: [String: Int]] = [:]
        for side in ["cli", "srv"] {
            guard case .object(let kv)? = c["sysctls"]?[side] else { continue }
            sysctls[side] = Dictionary(uniqueKeysWithValues: kv.compactMap { k, v in if case .int(let n) = v { (k, n) } else { nil } })
        }
        let p = try Pair(ipv6: ipv6, sysctls: sysctls)
        var results: [String] = [], ss: [JSONValue] = []
        var ids: [String: Int] = ["listener": 1, "cli": 1]
        var t: UInt64 = 0
        for (i, st) in steps.enumerated() {
            // Steps 100 ms apart, as the recorder spaces them (and a wait's more).
            if i > 0 { t += 100_000_000 }
            p.cli.advance(toNs: t); p.srv.advance(toNs: t)
            func int(_ k: String) -> Int { if case .int(let v)? = st[k] { v } else { 0 } }
            let side: String = { if case .string(let s)? = st["side"] { s } else { "" } }()
            let stack = side == "cli" ? p.cli : p.srv
            var res: JSONValue = .string("ok")
            switch st["do"] {
            case .string("listen"):
                var cfg = ipv6 ? SocketConfig(id: 1, proto: .tcp, address6: .any, port: UInt16(int("port"))) : SocketConfig(id: 1, proto: .tcp, port: UInt16(int("port")))
                cfg.backlog = 128
                XCTAssertNil(p.srv.bind(cfg))
            case .string("connect"):
                var cfg = ipv6 ? SocketConfig(id: 1, proto: .tcp, address6: .any, port: UInt16(int("sport"))) : SocketConfig(id: 1, proto: .tcp, port: UInt16(int("sport")))
                cfg.listen = false
                XCTAssertNil(p.cli.bind(cfg))
                let port = UInt16(int("port"))
                let r = p.cli.tcpCalls([ipv6 ? .connect6(socket: 1, to: Self.six(2), port: port) : .connect(socket: 1, to: IPv4Address(198, 18, 0, 2), port: port)])
                p.ferry(r, from: p.cli)
                if let e = p.cli.socket(1)?.tcp?.error { res = .string(e) }
            case .string("accept"):
                ids["srv"] = p.srv.tcpAccept(listener: 1)
                XCTAssertNotNil(ids["srv"])
            case .string("send"):
                let r = stack.tcpCalls([.send(socket: ids[side]!, bytes: [UInt8](repeating: 0x61, count: int("len")))])
                res = r[0].errno.map { .string($0) } ?? .int(r[0].written ?? -1)
                p.ferry(r, from: stack)
            case .string("recv"):
                let got = stack.tcpRecv(socket: ids[side]!, max: 1 << 20)!
                res = got.data.isEmpty && !got.eof ? .string("EAGAIN") : .int(got.data.count)
            case .string("close"):
                let r = stack.tcpCalls([.close(socket: ids[side]!)])
                p.ferry(r, from: stack)
            case .string("ss"):
                func rows(_ s: Stack) -> JSONValue {
                    .array(s.ssTCP.map { .object([("state", .string($0.state)), ("recv_q", .int($0.recvQ)), ("send_q", .int($0.sendQ)),
                                                  ("local", .string($0.local)), ("peer", .string($0.peer))]) })
                }
                ss.append(.object([("after_step", .int(i)), ("cli", rows(p.cli)), ("srv", rows(p.srv))]))
            case .string("wait"): t += UInt64(int("ms")) * 1_000_000
            default: XCTFail("unknown step \(st)")
            }
            results.append(res.rendered())
        }
        return Replay(pair: p, results: results, ss: ss, expected: expected)
    }

    /// A frame in words, with what the kernel draws at random taken relative to each side's
    /// first value: ISNs, TS values (shown as T), the IP ID counter (0 stays 0). IPv6: the hop
    /// limit and traffic class (the flow label, a random hash in the kernel, left out).
    static func describe(_ frames: [(dir: String, frame: [UInt8])]) -> [String] {
        var isn: [String: UInt32] = [:], firstID: [String: UInt16] = [:]
        return frames.map { dir, f in
            let other = dir == "in" ? "out" : "in"
            let v6 = f.be16(12) == EtherType.ipv6
            let ip = 14, th = v6 ? ip + 40 : ip + Int(f[ip] & 0x0f) * 4
            let flags = TCPFlags(rawValue: f[th + 13])
            if flags.contains(.syn) { isn[dir] = f.be32(th + 4) }
            let id = v6 ? 0 : f.be16(ip + 4)
            if id != 0 && firstID[dir] == nil { firstID[dir] = id }
            let idText = v6 ? "tclass \(UInt8(truncatingIfNeeded: f.be16(ip) >> 4))" : id == 0 ? "0" : "+\(id &- firstID[dir]!)"
            let seq = f.be32(th + 4) &- (isn[dir] ?? 0)
            let ack = flags.contains(.ack) ? "\(f.be32(th + 8) &- (isn[other] ?? 0))" : "-"
            var opts = Array(f[(th + 20)..<(th + Int(f[th + 12] >> 4) * 4)])
            var k = 0
            while k < opts.count {
                if opts[k] <= 1 { k += 1; continue }
                if opts[k] == 8 { for j in 2..<10 { opts[k + j] = 0xee } }
                k += Int(opts[k + 1])
            }
            let data = f.count - th - Int(f[th + 12] >> 4) * 4
            let ipText = v6 ? "\(idText) hlim \(f[ip + 7])" : "id \(idText) df \(f[ip + 6] & 0x40 != 0) ttl \(f[ip + 8])"
            return "\(dir) len \(f.count) \(ipText) \(f.be16(th))>\(f.be16(th + 2)) "
                + "seq \(seq) ack \(ack) [\(flags.names.joined(separator: ","))] win \(f.be16(th + 14)) opts \(Hex.encode(opts)) data \(data)"
        }
    }

    func assertAgrees(_ r: Replay, file: StaticString = #filePath, line: UInt = #line) {
        guard case .array(let cap)? = r.expected["captured"] else { return XCTFail("no capture", file: file, line: line) }
        let kernel: [(dir: String, frame: [UInt8])] = cap.map {
            guard case .string(let d)? = $0["dir"], case .string(let h)? = $0["hex"], let b = try? Hex.decode(h) else { return ("", []) }
            return (d, b)
        }
        XCTAssertEqual(Self.describe(r.pair.log.map { ($0.dir, $0.frame) }), Self.describe(kernel), file: file, line: line)
        guard case .array(let want)? = r.expected["results"] else { return XCTFail("no results", file: file, line: line) }
        XCTAssertEqual(r.results, want.map { $0.rendered() }, file: file, line: line)
        guard case .array(let ss)? = r.expected["ss"] else { return XCTFail("no ss", file: file, line: line) }
        XCTAssertEqual(r.ss.map { $0.rendered() }, ss.map { $0.rendered() }, file: file, line: line)
    }

    /// Handshake (SYN window 64240, SYN-ACK 65160 with IP ID 0, options MSS, SACK-permitted, TS,
    /// NOP, WS 10), data each way ACKed at once (quick-ACK mode), the client's FIN ACKed after
    /// the 40 ms delayed-ACK timeout (CLOSE-WAIT is ping-pong), the server's FIN ACKed from
    /// TIME-WAIT with IP ID 0; ss: LISTEN with its accept queue and backlog, ESTAB with unread
    /// bytes, FIN-WAIT-2 / CLOSE-WAIT (the FIN counts one in Recv-Q), TIME-WAIT.
    func testHandshakeDataClose() throws {
        let r = try replay("tcp_handshake_data_close")
        assertAgrees(r)
        guard case .array(let cap)? = r.expected["captured"] else { return XCTFail("no capture") }
        XCTAssertEqual(Self.echoes(cap.map { f in
            guard case .string(let d)? = f["dir"], case .string(let h)? = f["hex"] else { return ("", []) }
            return (d, (try? Hex.decode(h)) ?? [])
        }), 10)
        // The ACK of the client's FIN waited TCP_ATO_MIN (the kernel: 40.4 ms at HZ=250) from
        // when the FIN was handled: 40 ms plus the virtual costs of its RX path and the ACK's TX path.
        let fin = r.pair.log.firstIndex { $0.dir == "in" && $0.frame[47] & 0x01 != 0 }!
        XCTAssertEqual(r.pair.log[fin + 1].timeNs - r.pair.log[fin].timeNs, 40_000_000 + 2_180)
        // TSecr echoes the peer's last TSval, in the model as in the kernel's capture.
        XCTAssertEqual(Self.echoes(r.pair.log.map { ($0.dir, $0.frame) }), 10)
    }

    /// How many ACK-bearing frames carry the TSval last seen from the other side as TSecr
    /// (fails on any that does not).
    static func echoes(_ frames: [(dir: String, frame: [UInt8])]) -> Int {
        var last: [String: UInt32] = [:]
        var n = 0
        for (dir, f) in frames {
            let th = 14 + Int(f[14] & 0x0f) * 4, end = th + Int(f[th + 12] >> 4) * 4
            var k = th + 20
            var ts: (UInt32, UInt32)?
            while k < end { if f[k] <= 1 { k += 1; continue }; if f[k] == 8 { ts = (f.be32(k + 2), f.be32(k + 6)) }; k += Int(f[k + 1]) }
            guard let (val, ecr) = ts else { continue }
            if f[th + 13] & 0x10 != 0 {
                XCTAssertEqual(ecr, last[dir == "in" ? "out" : "in"])
                n += 1
            }
            last[dir] = val
        }
        return n
    }

    /// Closing with 10 unread bytes sends RST|ACK (with timestamps) instead of a FIN; the peer's
    /// connection is gone.
    func testCloseWithUnreadDataResets() throws {
        assertAgrees(try replay("tcp_close_unread"))
    }

    /// A SYN to a port nobody listens on gets RST|ACK; connect fails with ECONNREFUSED.
    func testRefused() throws {
        assertAgrees(try replay("tcp_refused"))
    }

    /// The conversation with options turned off: the client without timestamps (SYN and SYN-ACK
    /// carry MSS, NOP NOP SACK-permitted, NOP WS; data segments no options, MSS 1460), the server
    /// without SACK (its SYN-ACK MSS, NOP NOP timestamps, NOP WS).
    func testWithoutOptions() throws {
        for name in ["tcp_no_timestamps", "tcp_no_sack"] { assertAgrees(try replay(name)) }
    }

    /// net.ipv4.tcp_timestamps 2: timestamps without the random per-connection offset, so a SYN
    /// sent 5 s into the stack's clock carries TSval 5000 (tcp_clock_ms).
    func testTimestampsWithoutOffset() throws {
        let p = try Pair(sysctls: ["cli": ["net.ipv4.tcp_timestamps": 2]])
        p.cli.advance(toNs: 5_000_000_000)
        var cfg = SocketConfig(id: 1, proto: .tcp, port: 40000)
        cfg.listen = false
        XCTAssertNil(p.cli.bind(cfg))
        let syn = try XCTUnwrap(p.cli.tcpCalls([.connect(socket: 1, to: IPv4Address(198, 18, 0, 2), port: 5000)])[0].emitted.first).frame
        // MSS, SACK-permitted + TS (kind 8 at 14 + 20 + 20 + 6): TSval, then TSecr 0.
        XCTAssertEqual([UInt32(syn[60]), syn.be32(62), syn.be32(66)], [8, 5000, 0])
    }

    /// The same three conversations over IPv6 (AF_INET6 sockets on `::`): MSS 1440, so SYN
    /// window 64800 and SYN-ACK 64260; `ss` ends in brackets.
    /// net.ipv4.tcp_fin_timeout 3 on the server, which closes first: its orphan waits in FIN-WAIT-2
    /// (still there at 2 s, gone at 3.5 s), and the client's late FIN then meets a RST.
    func testFinTimeout() throws {
        assertAgrees(try replay("tcp_fin_timeout"))
    }

    /// IP_TOS on a listener (scripts/record_tclass.sh, L): the SYN-ACK and the accepted child carry
    /// its TOS, but not the priority it gave the listener (the child's SO_PRIORITY reads 0).
    func testListenerTOSPassesOnWithoutItsPriority() throws {
        let p = try Pair()
        var l = SocketConfig(id: 1, proto: .tcp, port: 5000)
        l.backlog = 128; l.tos = 0x28
        XCTAssertNil(p.srv.bind(l))
        var c = SocketConfig(id: 1, proto: .tcp, port: 40000)
        c.listen = false
        XCTAssertNil(p.cli.bind(c))
        p.ferry(p.cli.tcpCalls([.connect(socket: 1, to: IPv4Address(198, 18, 0, 2), port: 5000)]), from: p.cli)
        let synAck = try XCTUnwrap(p.log.first { $0.dir == "out" }).frame
        XCTAssertEqual(synAck[15], 0x28)
        let child = try XCTUnwrap(p.srv.tcpAccept(listener: 1))
        XCTAssertEqual([p.srv.socket(child)?.tcp?.tos, p.srv.socket(child)?.tcp.map { UInt8($0.priority) }], [0x28, 0])
    }

    func testOverIPv6() throws {
        for name in ["tcp6_handshake_data_close", "tcp6_close_unread", "tcp6_refused"] { assertAgrees(try replay(name)) }
    }
}

/// connect to an on-link address nobody answers: the SYN waits for ARP; when the entry fails
/// (3 s), the host unreachable sent back to ourselves ends the attempt (tcp_v4_err in SYN-SENT):
/// EHOSTUNREACH, as the kernel's connect fails after about 3 s.
final class TCPConnectFailureTests: XCTestCase {
    func testUnresolvableNeighbour() throws {
        var e0 = DeviceConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 1), addresses: [IPv4CIDR(address: IPv4Address(198, 18, 0, 1), prefixLength: 24)])
        e0.veth = true
        var sk = SocketConfig(id: 1, proto: .tcp, port: 40000)
        sk.listen = false
        let s = try Stack(config: StackConfig(name: "c", cpus: 1, devices: [e0], sockets: [sk]))
        let r = s.tcpCalls([.connect(socket: 1, to: IPv4Address(198, 18, 0, 9), port: 80)])
        XCTAssertEqual(r[0].outcome, .queued)
        XCTAssertEqual(s.ssTCP.map(\.state), ["SYN-SENT"])
        s.advance(toNs: 2_500_000_000)
        XCTAssertNil(s.socket(1)?.tcp?.error)
        s.advance(toNs: 3_500_000_000)
        XCTAssertEqual(s.socket(1)?.tcp?.error, "EHOSTUNREACH")
        XCTAssertEqual(s.ssTCP, [])
        XCTAssertEqual(s.snmp.tcp.AttemptFails, 1)
    }
}

extension TCPConnectFailureTests {
    /// 198.18.0.2 with a listener on `port` of that backlog, its peer 198.18.0.1 known.
    static func listener(port: UInt16, backlog: Int) throws -> Stack {
        var e0 = DeviceConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 2), addresses: [IPv4CIDR(address: IPv4Address(198, 18, 0, 2), prefixLength: 24)])
        e0.veth = true
        var l = SocketConfig(id: 1, proto: .tcp, port: port)
        l.backlog = backlog
        return try Stack(config: StackConfig(name: "s", cpus: 1, devices: [e0],
                                             neighbours: [NeighbourConfig(address: IPv4Address(198, 18, 0, 1), mac: MACAddress(2, 0, 0, 0, 0, 1), dev: "eth0")],
                                             sockets: [l]))
    }

    /// A segment from 198.18.0.1:`sport` to the listener's port.
    static func segment(_ sport: UInt16, to port: UInt16, _ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0) -> [UInt8] {
        FrameRepr(ethernet: EthernetRepr(dst: MACAddress(2, 0, 0, 0, 0, 2), src: MACAddress(2, 0, 0, 0, 0, 1), ethertype: EtherType.ipv4),
                  network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 1), dst: IPv4Address(198, 18, 0, 2), proto: IPProtocol.tcp, payloadLength: 0),
                                 .tcp(TCPRepr(srcPort: sport, dstPort: port, seq: seq, ack: ack, flags: flags)))).emit()
    }

    /// SYNs nobody completes: request socks up to one more than the backlog (inet_csk_reqsk_queue_is_full
    /// is `>`; then dropped: SYN cookies are not modelled), each gone when its SYN-ACK retries would run out (63 s).
    func testRequestSocksAreBoundedAndExpire() throws {
        let s = try Self.listener(port: 80, backlog: 2)
        let syns = (0..<4).map { k in Self.segment(UInt16(1000 + k), to: 80, .syn, seq: 7) }
        let rs = s.inject(syns.map { Injection(device: 0, frame: $0) })
        XCTAssertEqual(rs.map(\.outcome), [.consumed, .consumed, .consumed, .dropped])
        XCTAssertEqual(rs.map { $0.emitted.count }, [1, 1, 1, 0])
        XCTAssertEqual(s.ssTCP.map(\.state), ["LISTEN", "SYN-RECV", "SYN-RECV", "SYN-RECV"])
        s.advance(toNs: 62_000_000_000)
        XCTAssertEqual(s.ssTCP.count, 4)
        s.advance(toNs: 64_000_000_000)
        XCTAssertEqual(s.ssTCP.map(\.state), ["LISTEN"])
    }
}

extension TCPConnectFailureTests {
    /// The accept queue holds one more than the backlog (sk_acceptq_is_full is `>`): on Linux 6.18
    /// (scripts/record_tcp_backlog.sh) a listener with backlog 1 nobody accepts from completed two
    /// handshakes (ss Recv-Q 2), and each further SYN was consumed unanswered, counted as
    /// TcpExt ListenOverflows and ListenDrops.
    func testTheAcceptQueueHoldsOneMoreThanTheBacklog() throws {
        let s = try Self.listener(port: 5000, backlog: 1)
        func segment(_ port: UInt16, _ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0) -> [UInt8] { Self.segment(port, to: 5000, flags, seq: seq, ack: ack) }
        for port in [1000, 1001] as [UInt16] {
            let synack = try XCTUnwrap(s.inject(frame: segment(port, .syn, seq: 7), device: s.devices[0]).emitted.first).frame
            let isn = try TCPPacket(checking: synack, at: 34).seq
            XCTAssertEqual(s.inject(frame: segment(port, .ack, seq: 8, ack: isn &+ 1), device: s.devices[0]).outcome, .consumed)
        }
        let more = [1002, 1003, 1002].map { s.inject(frame: segment($0, .syn, seq: 7), device: s.devices[0]) }
        XCTAssertEqual(more.map { "\($0.outcome) \($0.emitted.count)" }, ["consumed 0", "consumed 0", "consumed 0"])
        XCTAssertEqual(s.ssTCP.first.map { "\($0.state) \($0.recvQ)" }, "LISTEN 2")
        XCTAssertEqual([s.snmp.tcp.PassiveOpens, s.snmp.tcpExt.ListenOverflows, s.snmp.tcpExt.ListenDrops], [2, 3, 3])
    }
}

/// The retransmission timer: a lost segment goes again after the timeout (srtt + 200 ms in
/// jiffies), a SYN nobody answers again at 1, 2, 3, 4, 5, 7, 11, 19, 35 and 67 s (tcp_syn_linear_timeouts
/// 4, then doubling) and the connect fails with ETIMEDOUT at 131 s, the first timeout past 127 s
/// (tcp_syn_retries 6), as Linux 6.18's did (scripts/record_tcp_syn_timeout.sh: SYNs at 1.02, 2.04,
/// 3.07, 4.09, 5.12, 7.13, 11.29, 19.48, 35.61 and 68.38 s, the timer wheel's slack on whole seconds,
/// which the model does not add; TcpExt TCPTimeouts 11, TCPSynRetrans 10, TCPAbortOnTimeout 1).
final class TCPRetransmitTests: XCTestCase {
    func testALostSegmentIsSentAgain() throws {
        let p = try TCPAgreementTests.Pair.connected()
        // The data segment is lost on the way.
        let sent = p.cli.tcpCalls([.send(socket: 1, bytes: Array("hello".utf8))])
        let lostAt = sent[0].emitted[0].timeNs
        XCTAssertEqual(p.cli.socket(1)?.tcp?.sendQ, 5)
        let again = p.cli.advance(toNs: p.cli.clockNs + 300_000_000)
        XCTAssertEqual(again.count, 1)
        // 200 ms after the first copy (RTT ~0 + tcp_rto_min), give or take the virtual cost of
        // the two sends' paths.
        XCTAssertEqual(again[0].timeNs - lostAt, 200_000_000 + 440)
        XCTAssertEqual(Array(again[0].frame.suffix(5)), Array("hello".utf8))
        p.ferry([.timerFrames(again, at: again[0].timeNs)], from: p.cli)
        XCTAssertEqual(p.srv.tcpRecv(socket: 2, max: 100)?.data, Array("hello".utf8))
        XCTAssertEqual(p.cli.socket(1)?.tcp?.sendQ, 0)
        XCTAssertEqual(p.cli.snmp.tcp.RetransSegs, 1)
    }

    /// The ACK held up past the timeout: the timeout resent the first segment only (the window back
    /// to one), and the late ACK of all three is still good (snd_nxt moves up to it).
    func testALateACKAfterTheTimeoutIsGood() throws {
        let p = try TCPAgreementTests.Pair.connected()
        let sent = p.cli.tcpCalls([.send(socket: 1, bytes: [UInt8](repeating: 7, count: 3000))])
        XCTAssertEqual(sent[0].emitted.count, 3)
        let acks = p.srv.inject(sent[0].emitted.map { Injection(device: 0, frame: $0.frame, atNs: $0.timeNs, csumPartial: $0.csumPartial) })
            .flatMap(\.emitted)
        XCTAssertEqual(acks.count, 1, "the three arrive in one poll and GRO merges them: one ACK for all")
        let again = p.cli.advance(toNs: p.cli.clockNs + 300_000_000)
        XCTAssertEqual(again.count, 1, "the window is one segment after a timeout")
        let r = p.cli.inject(acks.map { Injection(device: 0, frame: $0.frame, atNs: p.cli.clockNs, csumPartial: $0.csumPartial) })
        XCTAssertEqual(r.map(\.outcome), [.consumed])
        XCTAssertEqual(p.cli.socket(1)?.tcp?.sendQ, 0)
    }

    func testASynNobodyAnswersTimesOut() throws {
        let s = try TCPAgreementTests.host("cli", 1, 2)
        var c = SocketConfig(id: 1, proto: .tcp, port: 40000); c.listen = false
        XCTAssertNil(s.bind(c))
        _ = s.tcpCalls([.connect(socket: 1, to: IPv4Address(198, 18, 0, 2), port: 5000)])
        var syns: [UInt64] = []
        for second in stride(from: 1, through: 130, by: 1) {
            syns += s.advance(toNs: UInt64(second) * 1_000_000_000).map { $0.timeNs / 1_000_000_000 }
        }
        XCTAssertEqual(syns, [1, 2, 3, 4, 5, 7, 11, 19, 35, 67])
        XCTAssertNil(s.socket(1)?.tcp?.error, "still trying at 130 s")
        _ = s.advance(toNs: 132_000_000_000)
        XCTAssertEqual(s.socket(1)?.tcp?.error, "ETIMEDOUT")
        XCTAssertEqual(s.ssTCP, [])
        XCTAssertEqual([s.snmp.tcp.RetransSegs, s.snmp.tcp.AttemptFails, s.snmp.tcpExt.TCPTimeouts, s.snmp.tcpExt.TCPSynRetrans, s.snmp.tcpExt.TCPAbortOnTimeout],
                       [10, 1, 11, 10, 1])
    }

    /// net.ipv4.tcp_syn_retries 2 (recorded with the same script): the SYN again at 1-5 s, and
    /// ETIMEDOUT at 7 s, the model timeout of two backoffs.
    func testFewerSynRetries() throws {
        let s = try TCPAgreementTests.host("cli", 1, 2, sysctls: ["net.ipv4.tcp_syn_retries": 2])
        var c = SocketConfig(id: 1, proto: .tcp, port: 40000); c.listen = false
        XCTAssertNil(s.bind(c))
        _ = s.tcpCalls([.connect(socket: 1, to: IPv4Address(198, 18, 0, 2), port: 5000)])
        var syns: [UInt64] = []
        for second in 1...6 { syns += s.advance(toNs: UInt64(second) * 1_000_000_000).map { $0.timeNs / 1_000_000_000 } }
        XCTAssertEqual(syns, [1, 2, 3, 4, 5])
        XCTAssertNil(s.socket(1)?.tcp?.error)
        _ = s.advance(toNs: 7_500_000_000)
        XCTAssertEqual(s.socket(1)?.tcp?.error, "ETIMEDOUT")
        XCTAssertEqual([s.snmp.tcp.RetransSegs, s.snmp.tcpExt.TCPTimeouts, s.snmp.tcpExt.TCPSynRetrans], [5, 6, 5])
        XCTAssertEqual(Stack.tcp_model_timeout(8), (127 + 240) * 1_000_000_000, "past 6 backoffs each adds TCP_RTO_MAX")
    }
}

extension TCPAgreementTests.Pair {
    /// CLI 40000 connected to SRV's listener on 5000 (backlog 8), the child accepted as SRV's socket 2.
    static func connected() throws -> TCPAgreementTests.Pair {
        let p = try TCPAgreementTests.Pair()
        var l = SocketConfig(id: 1, proto: .tcp, port: 5000); l.backlog = 8
        XCTAssertNil(p.srv.bind(l))
        var c = SocketConfig(id: 1, proto: .tcp, port: 40000); c.listen = false
        XCTAssertNil(p.cli.bind(c))
        p.ferry(p.cli.tcpCalls([.connect(socket: 1, to: IPv4Address(198, 18, 0, 2), port: 5000)]), from: p.cli)
        XCTAssertEqual(p.srv.tcpAccept(listener: 1), 2)
        return p
    }
}

/// The receive buffer's charge: an skb's truesize stays charged until its last byte is read.
final class TCPReceiveBufferTests: XCTestCase {
    func testAnSkbIsUnchargedWhenReadToItsEnd() throws {
        let p = try TCPAgreementTests.Pair.connected()
        p.ferry(p.cli.tcpCalls([.send(socket: 1, bytes: Array("hello".utf8))]), from: p.cli)
        p.ferry(p.cli.tcpCalls([.send(socket: 1, bytes: Array("world".utf8))]), from: p.cli)
        let c = try XCTUnwrap(p.srv.socket(2)?.tcp)
        let one = SkBuff.truesize(14 + 20 + 32 + 5)
        XCTAssertEqual(c.rmemAlloc, 2 * one)
        XCTAssertEqual(p.srv.tcpRecv(socket: 2, max: 3)?.data, Array("hel".utf8))
        XCTAssertEqual(c.rmemAlloc, 2 * one, "the first skb still has two bytes unread")
        XCTAssertEqual(p.srv.tcpRecv(socket: 2, max: 4)?.data, Array("lowo".utf8))
        XCTAssertEqual(c.rmemAlloc, one)
        XCTAssertEqual(p.srv.tcpRecv(socket: 2, max: 100)?.data, Array("rld".utf8))
        XCTAssertEqual(c.rmemAlloc, 0)
    }
}
