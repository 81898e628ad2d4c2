import Foundation
@testable import Kernel
import Wire
import XCTest

/// tcp_v4_err on the model: fragmentation needed lowers a connection's send MSS and resends what
/// no longer fits (recorded on the kernel: scripts/record_tcp_pmtu.sh), hard errors end a connect,
/// soft errors are what a timeout reports.
final class TCPPathMTUTests: XCTestCase {
    /// An ICMP error from 198.18.0.2 quoting the first 548 bytes of `quoted` (an Ethernet frame), as
    /// a router's icmp_send quotes it (576 bytes in all).
    static func icmp(_ type: UInt8, _ code: UInt8, rest: UInt32 = 0, quoting quoted: [UInt8]) -> [UInt8] {
        let data = Array(quoted[14..<min(quoted.count, 14 + 548)])
        return FrameRepr(ethernet: EthernetRepr(dst: MACAddress(2, 0, 0, 0, 0, 1), src: MACAddress(2, 0, 0, 0, 0, 2), ethertype: EtherType.ipv4),
                         network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 2), dst: IPv4Address(198, 18, 0, 1), proto: IPProtocol.icmp, ttl: 64,
                                                 ident: 9, payloadLength: 0), .icmp(ICMPv4Repr(type: type, code: code, restOfHeader: rest, data: data)))).emit()
    }

    /// What a frame carries: IP total length, TCP payload length, sequence relative to `base`, flags.
    static func segment(_ f: [UInt8], base: UInt32) -> [Int] {
        guard case .ipv4(_, .tcp(let t))? = try? FrameRepr.parse(f, verifyChecksums: false).network else { return [0, 0, 0, 0] }
        return [f.count - 14, t.payload.count, Int(t.seq &- base), Int(t.flags.rawValue)]
    }

    /// 4,000 bytes in three segments (1,448, 1,448, 1,104 with timestamps); the first two meet a
    /// 1,300-byte link and come back as fragmentation needed. As the kernel did: the first error
    /// makes the send MSS 1,248 (1,300 less 40 less the 12 of the timestamp option) and sends the
    /// 2,896 bytes of the two long segments again as 1,248, 1,248 and 400 (PSH on the last), three
    /// RetransSegs and no OutSegs; the third segment, short enough, is not resent; the second error
    /// changes nothing. What is sent later is cut at 1,248.
    func testFragmentationNeededLowersTheMSSAndResendsWhatNoLongerFits() throws {
        let p = try TCPAgreementTests.Pair.connected()
        let c = try XCTUnwrap(p.cli.socket(1)?.tcp)
        XCTAssertEqual(c.mssCache, 1448)
        let una = c.sndUna
        let sent = p.cli.tcpCalls([.send(socket: 1, bytes: [UInt8](repeating: 0x78, count: 4000))])[0].emitted.map(\.frame)
        XCTAssertEqual(sent.map { Self.segment($0, base: una) }, [[1500, 1448, 0, 0x10], [1500, 1448, 1448, 0x10], [1156, 1104, 2896, 0x18]])
        let out = p.cli.snmp.tcp.OutSegs
        let first = p.cli.inject(frame: Self.icmp(3, 4, rest: 1300, quoting: sent[0]), device: p.cli.devices[0])
        XCTAssertEqual(first.outcome, .consumed)
        XCTAssertEqual(first.emitted.map { Self.segment($0.frame, base: una) }, [[1300, 1248, 0, 0x10], [1300, 1248, 1248, 0x10], [452, 400, 2496, 0x18]])
        let names = first.stages.map(\.stage.name)
        let at = try XCTUnwrap(names.firstIndex(of: "icmp_rcv"))
        XCTAssertEqual(Array(names[at..<(at + 5)]), ["icmp_rcv", "tcp_v4_err", "tcp_v4_mtu_reduced", "tcp_simple_retransmit", "tcp_transmit_skb"])
        XCTAssertEqual([p.cli.snmp.tcp.RetransSegs, p.cli.snmp.tcp.OutSegs - out], [3, 0])
        XCTAssertEqual(c.mssCache, 1248)
        XCTAssertEqual(c.sentLengths, [1248, 1248, 400, 1104])
        XCTAssertEqual(p.cli.routeExceptions[IPv4Address(198, 18, 0, 2).raw]?.mtu, 1300)
        let second = p.cli.inject(frame: Self.icmp(3, 4, rest: 1300, quoting: sent[1]), device: p.cli.devices[0])
        XCTAssertEqual(second.emitted.count, 0)
        XCTAssertEqual(p.cli.snmp.tcp.RetransSegs, 3)
        // The router passes the third segment and the resent ones; the server has all 4,000 bytes once
        // they are in order (the model keeps no out-of-order queue: the third comes again after them).
        p.ferry([first], from: p.cli)
        XCTAssertEqual(c.sndUna &- una, 2896)
        XCTAssertEqual(c.sentLengths, [1104])
        let later = p.cli.tcpCalls([.send(socket: 1, bytes: [UInt8](repeating: 0x79, count: 3000))])[0].emitted.map(\.frame)
        XCTAssertEqual(later.map { Self.segment($0, base: una)[1] }, [1248, 1248, 504])
        // A checkpoint keeps the MSS, the pmtu cookie and the segments in flight.
        let saved = p.cli.runtimeState()
        let restored = try TCPAgreementTests.host("cli", 1, 2)
        var cfg = SocketConfig(id: 1, proto: .tcp, port: 40000); cfg.listen = false
        XCTAssertNil(restored.bind(cfg))
        _ = restored.advance(toNs: p.cli.clockNs)
        restored.restoreRuntime(saved)
        XCTAssertEqual(restored.runtimeState(), saved)
        let rc = try XCTUnwrap(restored.socket(1)?.tcp)
        XCTAssertEqual([rc.mssCache, rc.pmtuCookie, rc.mssClamp], [1248, 1300, 1460])
        XCTAssertEqual(rc.sentLengths, [1104, 1248, 1248, 504])
    }

    /// With IP_PMTUDISC_DONT the route learns the path MTU but the connection's MSS stays.
    func testPMTUDiscDontKeepsTheMSS() throws {
        let p = try TCPAgreementTests.Pair()
        var l = SocketConfig(id: 1, proto: .tcp, port: 5000); l.backlog = 8
        XCTAssertNil(p.srv.bind(l))
        var cfg = SocketConfig(id: 1, proto: .tcp, port: 40000); cfg.listen = false; cfg.pmtudisc = .dont
        XCTAssertNil(p.cli.bind(cfg))
        p.ferry(p.cli.tcpCalls([.connect(socket: 1, to: IPv4Address(198, 18, 0, 2), port: 5000)]), from: p.cli)
        let sent = p.cli.tcpCalls([.send(socket: 1, bytes: [UInt8](repeating: 0x78, count: 2000))])[0].emitted.map(\.frame)
        let r = p.cli.inject(frame: Self.icmp(3, 4, rest: 1300, quoting: sent[0]), device: p.cli.devices[0])
        XCTAssertEqual(r.emitted.count, 0)
        XCTAssertEqual(p.cli.socket(1)?.tcp?.mssCache, 1448)
        XCTAssertEqual(p.cli.routeExceptions[IPv4Address(198, 18, 0, 2).raw]?.mtu, 1300)
    }

    /// A hard error for the SYN ends the connect with its errno (tcp_v4_err in SYN-SENT); one
    /// quoting a sequence outside snd_una..snd_nxt is ignored.
    func testHostUnreachableEndsAConnect() throws {
        let s = try TCPAgreementTests.host("cli", 1, 2)
        var c = SocketConfig(id: 1, proto: .tcp, port: 40000); c.listen = false
        XCTAssertNil(s.bind(c))
        let syn = try XCTUnwrap(s.tcpCalls([.connect(socket: 1, to: IPv4Address(198, 18, 0, 2), port: 5000)])[0].emitted.first).frame
        var stale = syn
        stale[14 + 20 + 4] &+= 0x10   // another sequence number
        XCTAssertEqual(s.inject(frame: Self.icmp(3, 1, quoting: stale), device: s.devices[0]).outcome, .consumed)
        XCTAssertEqual(s.socket(1)?.tcp?.state, .synSent)
        let r = s.inject(frame: Self.icmp(3, 1, quoting: syn), device: s.devices[0])
        XCTAssertEqual(r.outcome, .consumed)
        XCTAssertEqual(s.socket(1)?.tcp?.error, "EHOSTUNREACH")
        XCTAssertEqual(s.ssTCP, [])
        XCTAssertEqual(s.snmp.icmp.InErrors, 0)
    }

    /// An error for an established connection is soft: the connection goes on, and if it then
    /// times out, the error it reports is that one (tcp_write_err), not ETIMEDOUT.
    func testASoftErrorIsWhatATimeoutReports() throws {
        let p = try TCPAgreementTests.Pair.connected()
        let sent = p.cli.tcpCalls([.send(socket: 1, bytes: Array("hello".utf8))])[0].emitted.map(\.frame)
        _ = p.cli.inject(frame: Self.icmp(11, 0, quoting: sent[0]), device: p.cli.devices[0])
        XCTAssertNil(p.cli.socket(1)?.tcp?.error)
        XCTAssertEqual(p.cli.socket(1)?.tcp?.state, .established)
        _ = p.cli.advance(toNs: p.cli.clockNs + 2_000_000_000_000)
        XCTAssertEqual(p.cli.socket(1)?.tcp?.error, "EHOSTUNREACH")
    }

    /// With IP_RECVERR the error is the next call's at once, once (sk_err, which sock_error clears),
    /// and the connection goes on: on the kernel (a host unreachable quoting unacknowledged data,
    /// scripts/record_tcp_recverr.sh) the next send failed with EHOSTUNREACH and the one after
    /// went; without IP_RECVERR both went (the error soft).
    func testIPRecvErrReportsAnErrorAtTheNextCall() throws {
        let p = try TCPAgreementTests.Pair.connected()
        _ = p.cli.setsockopt(socket: 1, recverr: true)
        let sent = p.cli.tcpCalls([.send(socket: 1, bytes: Array("hello".utf8))])[0].emitted.map(\.frame)
        _ = p.cli.inject(frame: Self.icmp(3, 1, quoting: sent[0]), device: p.cli.devices[0])
        XCTAssertEqual(p.cli.socket(1)?.tcp?.pendingError, "EHOSTUNREACH")
        let next = p.cli.tcpCalls([.send(socket: 1, bytes: Array("again".utf8)), .send(socket: 1, bytes: Array("more".utf8))])
        XCTAssertEqual(next.map { $0.errno ?? "ok" }, ["EHOSTUNREACH", "ok"])
        XCTAssertEqual(p.cli.socket(1)?.tcp?.state, .established)
        XCTAssertNil(p.cli.socket(1)?.tcp?.pendingError)
    }

    /// RFC 6069 (tcp_ld_RTO_revert), as scripts/record_rto_revert.sh recorded it
    /// (Cases/rto_revert.txt, both families alike): a host unreachable quoting snd_una while it is
    /// retransmitted after a backoff undoes one doubling, so the next retransmission comes the
    /// shorter timeout after the last one. The
    /// kernel's data (after its tail-loss probe at 206 ms, which the model does not send): RTO at
    /// 414 ms, the error at 531, then 623 (414 + the undoubled 206), 1,051, 1,883. The model's
    /// RTO is 200 ms here: 200, 600; the error at 700; then 1,000 (600 + 400, not 1,400), 1,800.
    func testAHostUnreachableRevertsOneBackoff() throws {
        let p = try TCPAgreementTests.Pair.connected()
        let t0 = p.cli.clockNs
        let sent = p.cli.tcpCalls([.send(socket: 1, bytes: Array("hello".utf8))])[0].emitted.map(\.frame)
        func resent(until ms: UInt64) -> [UInt64] { p.cli.advance(toNs: t0 + ms * 1_000_000).map { ($0.timeNs - t0) / 1_000_000 } }
        XCTAssertEqual(resent(until: 700), [200, 600])
        // A port unreachable is no reason to revert (only net and host unreachable are).
        _ = p.cli.inject(frame: Self.icmp(3, 3, quoting: sent[0]), device: p.cli.devices[0], atNs: t0 + 650_000_000)
        _ = p.cli.inject(frame: Self.icmp(3, 1, quoting: sent[0]), device: p.cli.devices[0], atNs: t0 + 700_000_000)
        XCTAssertEqual(resent(until: 2_000), [1_000, 1_800])
        XCTAssertEqual(p.cli.socket(1)?.tcp?.state, .established)
    }
}
