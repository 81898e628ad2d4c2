import Foundation
import JSON
@testable import Kernel
import TC
import Wire
import XCTest

/// UDP sends from a socket of DUT (port 4000), recorded on the real kernel by
/// scripts/record_tx_cases.py: each call's result and SIOCOUTQ, the frames the receiver captured
/// (the IP ID, random-keyed in the kernel, is compared apart), and the qdisc's counters.
final class UDPSendAgreementTests: XCTestCase {
    struct Outcome { var results: [PacketResult]; var emitted: [EmittedFrame]; var expected: JSONValue; var stack: Stack }

    func run(_ name: String) throws -> Outcome {
        let c = try JSONParser.parse(try String(contentsOf: TCAgreementTests.cases.appendingPathComponent("\(name).case.json"), encoding: .utf8))
        let expected = try JSONParser.parse(try String(contentsOf: TCAgreementTests.cases.appendingPathComponent("\(name).expected.json"), encoding: .utf8))
        var cmds: [String] = []
        if case .array(let l)? = c["dut_cmds"] { for case .string(let x) in l { cmds.append(x) } }
        let known = ["ethtool -K eth1 tx off", "ethtool -K eth1 tx-udp-segmentation off"]
        XCTAssertTrue(cmds.allSatisfy(known.contains), "a DUT command the test does not model: \(cmds)")
        let v6 = c["ipv6"] == .bool(true)
        let s = try TCAgreementTests.dut(eth1TXChecksum: !cmds.contains(known[0]), eth1UDPSegmentation: cmds.contains(known[1]) ? false : nil, ipv6: v6)
        var list: [QdiscConfig] = []
        if case .array(let cmds)? = c["tc"] { for case .string(let cmd) in cmds { list = try TC.apply(try TC.parse(cmd), to: list, devices: ["eth0", "eth1"]) } }
        try s.setQdiscs(list)
        XCTAssertNil(s.bind(v6 ? SocketConfig(id: 1, proto: .udp, address6: .any, port: 4000) : SocketConfig(id: 1, proto: .udp, port: 4000)))
        guard case .array(let specs)? = c["sends"] else { throw XCTSkip("no sends") }
        var results: [PacketResult] = []
        var batch: [Send] = []
        for spec in specs {
            // Options are set between calls, as the recorder's process does; the sends of one
            // spec go out back to back, at the same virtual time.
            if !batch.isEmpty { results += s.send(batch); batch = [] }
            func int(_ k: String) -> Int? { if case .int(let v)? = spec[k] { v } else { nil } }
            // The recorder's process slept: the stack's timers run meanwhile.
            if let ms = int("sleep_ms") { s.advance(toNs: s.clockNs + UInt64(ms) * 1_000_000) }
            var mode: SocketConfig.PMTUDisc?
            if case .string(let m)? = spec["pmtudisc"] { mode = SocketConfig.PMTUDisc(rawValue: m) }
            _ = s.setsockopt(socket: 1, sndbuf: int("sndbuf"), tos: int("tos").map { UInt8($0) }, priority: int("priority").map { UInt32($0) }, pmtudisc: mode,
                             udpSegment: int("gso"), recverr: int("recverr").map { $0 != 0 })
            guard case .string(let to)? = spec["to"], let len = int("len"), let port = int("port") else { throw XCTSkip("bad spec") }
            for k in 0..<(int("count") ?? 1) {
                let payload = [UInt8](repeating: UInt8(k & 0xff), count: len)
                batch.append(to.contains(":") ? Send(socket: 1, dst6: try IPv6Address(parsing: to), port: UInt16(port), payload: payload, atNs: s.clockNs)
                                              : Send(socket: 1, dst: try IPv4Address(parsing: to), port: UInt16(port), payload: payload, atNs: s.clockNs))
            }
        }
        results += s.send(batch)
        return Outcome(results: results, emitted: results.flatMap(\.emitted).sorted { $0.timeNs < $1.timeNs }, expected: expected, stack: s)
    }

    /// Each call's errno (or ok) and SIOCOUTQ as the kernel answered them.
    func assertResults(_ o: Outcome, file: StaticString = #filePath, line: UInt = #line) {
        guard case .array(let specs)? = o.expected["send_results"] else { return XCTFail("no results", file: file, line: line) }
        var want: [String] = []
        for spec in specs { if case .array(let rs)? = spec["results"] { for case .array(let r) in rs { want.append("\(r[0]) \(r[1])") } } }
        XCTAssertEqual(o.results.map { "\(JSONValue.string($0.errno ?? "ok")) \(JSONValue.int($0.outq ?? -1))" }, want, file: file, line: line)
    }

    /// The captured frames with what the kernel draws at random zeroed: IPv4's ID and header
    /// checksum; IPv6's flow label and fragment identification.
    func assertFrames(_ o: Outcome, file: StaticString = #filePath, line: UInt = #line) {
        guard case .array(let got)? = o.expected["captured"] else { return XCTFail("no capture", file: file, line: line) }
        func masked(_ f: [UInt8]) -> [UInt8] {
            var f = f
            if f.be16(12) == EtherType.ipv6 {
                f[15] &= 0xf0; f[16] = 0; f[17] = 0
                if f[20] == IPProtocol.fragment, f.count >= 62 { for k in 58..<62 { f[k] = 0 } }
            } else {
                f[18] = 0; f[19] = 0; f[24] = 0; f[25] = 0
            }
            return f
        }
        XCTAssertEqual(o.emitted.map { Hex.encode(masked($0.frame)) },
                       got.map { if case .string(let h)? = $0["hex"], let b = try? Hex.decode(h) { Hex.encode(masked(b)) } else { "" } }, file: file, line: line)
        XCTAssertEqual(Set(o.emitted.map(\.device)), ["eth1"], file: file, line: line)
    }

    /// A 100-byte datagram leaves with DF (IP_PMTUDISC_WANT) and an ID from the hashed counters;
    /// 3000 bytes leave as fragments 1500/1500/68 sharing the next ID, DF clear, the UDP checksum
    /// summed in software; with IP_PMTUDISC_DO 1473 bytes fail with EMSGSIZE and 1472 leave, DF,
    /// ID 0; IP_TOS 0x10 sets the TOS byte. Single-skb datagrams carry the CHECKSUM_PARTIAL sum a
    /// veth leaves unfinished.
    func testSendsFragmentsAndPMTUDiscovery() throws {
        let o = try run("udp_sends")
        assertResults(o)
        assertFrames(o)
        let ids = o.emitted.map { $0.frame.be16(18) }
        XCTAssertEqual(ids[1], ids[0] &+ 1, "the datagram after takes the next ID of the bucket")
        XCTAssertEqual([ids[2], ids[3]], [ids[1], ids[1]], "fragments share their datagram's ID")
        XCTAssertEqual(ids.suffix(2), [0, 0], "IP_PMTUDISC_DO: DF and ID 0")
        XCTAssertEqual(o.results.map(\.outcome), [.transmitted, .transmitted, .failed, .transmitted, .transmitted])
        XCTAssertEqual(o.stack.snmp.udp.OutDatagrams, 4)
        XCTAssertEqual(o.stack.snmp.ip.FragCreates, 3)
    }

    /// tbf lets one 142-byte frame pass, then holds the rest: each queued skb keeps 832 bytes
    /// (its truesize) charged to the socket, so with SO_SNDBUF 1 (4608) the seventh call finds
    /// 4992 and every later one fails with EAGAIN. The queue drains at 8 kbit/s.
    func testAFullSendBufferAnswersEAGAIN() throws {
        let o = try run("udp_send_eagain_small")
        assertResults(o)
        assertFrames(o)
        assertCaptureTimes(o.emitted, o.expected)
        XCTAssertEqual(o.stack.snmp.udp.SndbufErrors, 5)
        XCTAssertEqual(o.stack.socket(1)?.wmemAlloc, 0, "every charge is given back once the frames are out")
        var infos = o.stack.qdiscInfo(dev: "eth1")
        infos[0].handle = 0x8014   // the kernel's handle counter is global
        XCTAssertEqual(TC.showJSON(infos, oneDev: true, stats: true), o.expected["qdisc_json"])
    }

    /// 1400-byte datagrams take 2304 bytes each (a 2 KiB head): SO_SNDBUF 3000 (6000) admits four calls.
    func testLargeDatagramsChargeTheirKmallocSize() throws {
        let o = try run("udp_send_eagain_large")
        assertResults(o)
        assertFrames(o)
    }
}

extension UDPSendAgreementTests {
    /// `ethtool -K eth1 tx off` on the veth, recorded: skb_checksum_help finishes the UDP checksum,
    /// so the peer sees a full one (0x4dc6; with offload on, the pseudo-header sum 0x8ea5).
    func testTXChecksumOffloadOff() throws {
        let o = try run("udp_send_tx_csum_off")
        assertResults(o)
        assertFrames(o)
        XCTAssertEqual(o.emitted[0].frame.be16(14 + 20 + 6), 0x4dc6)
        XCTAssertTrue(o.results[0].stages.contains { $0.stage == .skb_checksum_help })
    }
}

extension UDPSendAgreementTests {
    /// An AF_INET6 socket, recorded with IPv6 on in DUT: hop limit 64, one flow label for the
    /// socket's flow, 3000 bytes as fragments of 1448, 1448 and 112 payload bytes sharing an
    /// identification; IP_MTU_DISCOVER is an IPv4 option, so 1453 bytes are fragmented, not refused.
    func testIPv6Sends() throws {
        let o = try run("udp6_sends")
        assertResults(o)
        assertFrames(o)
        let labels = Set(o.emitted.map { $0.frame.be32(14) & 0xf_ffff })
        XCTAssertEqual(labels.count, 1, "one automatic flow label for the flow")
        XCTAssertEqual(o.emitted.map(\.frame.count), [162, 1510, 1510, 174, 1510, 75, 1514])
    }
}

extension UDPSendAgreementTests {
    /// UDP_SEGMENT 1000 with 3000 bytes: a veth (UDP segmentation offload on) hands its peer the
    /// whole 3042-byte datagram, DF clear; with `ethtool -K eth1 tx-udp-segmentation off` the stack
    /// cuts it in software into three datagrams with consecutive IDs.
    func testUDPSegmentation() throws {
        let whole = try run("udp_gso_veth")
        assertResults(whole)
        assertFrames(whole)
        XCTAssertEqual(whole.emitted.map(\.frame.count), [3042])
        let cut = try run("udp_gso_software")
        assertResults(cut)
        assertFrames(cut)
        XCTAssertEqual(cut.emitted.map { $0.frame.be16(18) &- cut.emitted[0].frame.be16(18) }, [0, 1, 2])
        XCTAssertTrue(cut.results[0].stages.contains { $0.stage == .skb_gso_segment })
    }

    /// IP_RECVERR: a datagram to a neighbour that never answers is dropped when the entry fails
    /// (3 s); the host unreachable that ipv4_link_failure sends back to ourselves becomes the
    /// socket's pending error, which the next sendto answers (EHOSTUNREACH, once). Without the
    /// option the error is ignored. Each call's errno and SIOCOUTQ agree with the kernel's.
    func testRecverrReportsAFailedNeighbour() throws {
        let o = try run("udp_recverr_neigh_failed")
        assertResults(o)
        XCTAssertEqual(o.stack.neighbourFailures, 3)
    }
}
