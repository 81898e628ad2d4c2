import JSON
import Kernel
@testable import TC
import Wire
import XCTest

/// tc's parsing and printing, checked against what iproute2 6.1's tc printed for the same commands.
final class TCCommandTests: XCTestCase {
    func shown(_ cmds: [String], dev: String = "vA") throws -> (String, JSONValue) {
        var list: [QdiscConfig] = []
        for c in cmds { list = try TC.apply(try TC.parse(c), to: list, devices: ["vA"]) }
        var d = DeviceConfig(name: "vA", mac: MACAddress(2, 0, 0, 0, 0, 1)); d.veth = true
        let s = try Stack(config: StackConfig(name: "t", cpus: 2, devices: [d]))
        try s.setQdiscs(list)
        let infos = s.qdiscInfo(dev: dev)
        return (TC.showText(infos, oneDev: true, stats: false), TC.showJSON(infos, oneDev: true, stats: false))
    }

    func testWhatTcPrints() throws {
        XCTAssertEqual(try shown([]).0, "qdisc noqueue 0: root refcnt 2 \n")
        XCTAssertEqual(try shown(["qdisc add dev vA root pfifo_fast"]).0, "qdisc pfifo_fast 8001: root refcnt 3 bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1\n")
        XCTAssertEqual(try shown(["qdisc add dev vA root pfifo"]).0, "qdisc pfifo 8001: root refcnt 3 limit 1000p\n")
        XCTAssertEqual(try shown(["qdisc add dev vA root bfifo"]).0, "qdisc bfifo 8001: root refcnt 3 limit 1514000b\n")
        XCTAssertEqual(try shown(["qdisc add dev vA root bfifo limit 3000"]).0, "qdisc bfifo 8001: root refcnt 3 limit 3000b\n")
        let cases: [(String, String, String)] = [
            ("tbf rate 10mbit burst 32kb latency 400ms", "rate 10Mbit burst 32Kb lat 400ms ", #"{"rate":1250000,"burst":32767,"lat":400000}"#),
            ("tbf rate 1mbit burst 1600 limit 3000", "rate 1Mbit burst 1600b lat 11.2ms ", #"{"rate":125000,"burst":1600,"lat":11200}"#),
            ("tbf rate 8000 burst 1600 latency 1500ms", "rate 8Kbit burst 1600b lat 1.5s ", #"{"rate":1000,"burst":1600,"lat":1500000}"#),
            ("tbf rate 1.5mbit burst 2000 latency 123", "rate 1500Kbit burst 1999b lat 123us ", #"{"rate":187500,"burst":1999,"lat":123}"#),
            ("tbf rate 12500kbit burst 1mb latency 10s", "rate 12500Kbit burst 1024Kb lat 10s ", #"{"rate":1562500,"burst":1048575,"lat":10000000}"#),
            ("tbf rate 100gbit burst 1mb latency 1ms", "rate 100Gbit burst 1037500b lat 1ms ", #"{"rate":12500000000,"burst":1037500,"lat":1000}"#),
            ("tbf rate 10mbit burst 1000 limit 100", "rate 10Mbit burst 1000b limit 100b ", #"{"rate":1250000,"burst":1000,"limit":100}"#),
            ("tbf rate 10mbit burst 10kb latency 0.5ms", "rate 10Mbit burst 10Kb lat 500us ", #"{"rate":1250000,"burst":10240,"lat":500}"#),
        ]
        for (args, text, json) in cases {
            let (t, j) = try shown(["qdisc add dev vA root handle 1: " + args])
            XCTAssertEqual(t, "qdisc tbf 1: root refcnt 3 " + text + "\n", args)
            guard case .array(let items) = j else { return XCTFail("not an array") }
            XCTAssertEqual(items.first?["options"], try JSONParser.parse(json), args)
        }
    }

    /// The kernel's answers to commands that do not apply, in its words.
    func testRefusalsAreTheKernels() throws {
        func refusal(_ cmds: [String]) -> String? {
            var list: [QdiscConfig] = []
            do { for c in cmds { list = try TC.apply(try TC.parse(c), to: list, devices: ["vA"]) } } catch { return error.message }
            return nil
        }
        XCTAssertEqual(refusal(["qdisc del dev vA root"]), "Error: Cannot delete qdisc with handle of zero.")
        XCTAssertEqual(refusal(["qdisc add dev vA root pfifo", "qdisc add dev vA root pfifo"]), "Error: Exclusivity flag on, cannot modify.")
        XCTAssertEqual(refusal(["qdisc add dev vA root pfifo", "qdisc add dev vA root handle 5: bfifo"]), "Error: NLM_F_REPLACE needed to override.")
        XCTAssertEqual(refusal(["qdisc change dev vA root pfifo limit 10"]), "Error: Qdisc not found. To create specify NLM_F_CREATE flag.")
        XCTAssertEqual(refusal(["qdisc add dev vA root handle 1: tbf rate 1mbit burst 10k latency 10ms", "qdisc add dev vA parent 1:1 pfifo",
                                "qdisc add dev vA parent 1:2 pfifo"]), "Error: Exclusivity flag on, cannot modify.")
        XCTAssertEqual(refusal(["qdisc add dev vA root foo"]), "Error: Specified qdisc kind is unknown.")
        XCTAssertEqual(refusal(["qdisc add dev vA root pfifo limit x"]), "pfifo: Illegal value for \"limit\": \"x\"")
        XCTAssertEqual(refusal(["qdisc add dev vA root tbf rate 1mbit"]), "tbf: the \"burst\" parameter is mandatory.")
        XCTAssertEqual(refusal(["qdisc add dev vA root tbf rate 1mbit burst 10k"]), "tbf: either \"limit\" or \"latency\" is required.")
        XCTAssertEqual(refusal(["qdisc add dev vA root pfifo bogus 1"]), "pfifo: unknown parameter \"bogus\"")
        XCTAssertEqual(refusal(["qdisc add dev eth9 root pfifo"]), "Cannot find device \"eth9\"")
        XCTAssertEqual(refusal(["qdisc add dev vA root sfq"]), "qdisc sfq is not supported yet")
        XCTAssertEqual(refusal(["qdisc add dev vA root tbf rate 1mbit burst 10k latency 1ms peakrate 2mbit"]), "tbf: \"peakrate\" is not supported yet")
        // A change of kind on the root grafts a new qdisc (as the kernel does for `tc qdisc change`).
        XCTAssertEqual(try shown(["qdisc add dev vA root pfifo", "qdisc change dev vA root bfifo limit 10"]).0, "qdisc bfifo 8002: root refcnt 3 limit 10b\n")
        // Deleting the root takes the child with it; the default comes back.
        XCTAssertEqual(try shown(["qdisc add dev vA root handle 1: tbf rate 1mbit burst 10k latency 10ms", "qdisc add dev vA parent 1:1 pfifo",
                                  "qdisc del dev vA root"]).0, "qdisc noqueue 0: root refcnt 2 \n")
    }

    /// fq_codel as iproute2 prints it (the kernel here has no module to compare with).
    func testFQCoDelOptions() throws {
        XCTAssertEqual(try shown(["qdisc add dev vA root fq_codel"]).0,
                       "qdisc fq_codel 8001: root refcnt 3 limit 10240p flows 1024 quantum 1514 target 5ms interval 100ms memory_limit 32Mb ecn drop_batch 64 \n")
        XCTAssertEqual(try shown(["qdisc add dev vA root fq_codel limit 100 flows 16 quantum 300 target 2ms interval 30ms noecn"]).0,
                       "qdisc fq_codel 8001: root refcnt 3 limit 100p flows 16 quantum 300 target 2ms interval 30ms memory_limit 32Mb drop_batch 64 \n")
        let spec = try TC.parse("qdisc add dev vA root fq_codel limit 100 flows 16 target 2ms noecn").spec
        XCTAssertEqual(try TC.parse(TC.command(for: QdiscConfig(dev: "vA", handle: 1, spec: spec!))).spec, spec)
    }

    /// cake's options and idle statistics in q_cake.c's shape (no cake module here: the format
    /// follows iproute2's source), presets, refusals of what is not modelled, the stored form.
    func testCakeOptions() throws {
        XCTAssertEqual(try shown(["qdisc add dev vA root cake"]).0,
                       "qdisc cake 8001: root refcnt 3 bandwidth unlimited diffserv3 triple-isolate nonat nowash no-ack-filter split-gso rtt 100ms raw overhead 0 \n")
        XCTAssertEqual(try shown(["qdisc add dev vA root cake bandwidth 20mbit besteffort flows metro memlimit 1mb wash"]).0,
                       "qdisc cake 8001: root refcnt 3 bandwidth 20Mbit besteffort flows nonat wash no-ack-filter split-gso rtt 10ms raw overhead 0 memlimit 1Mb\n")
        var d = DeviceConfig(name: "vA", mac: MACAddress(2, 0, 0, 0, 0, 1)); d.veth = true
        let s = try Stack(config: StackConfig(name: "t", cpus: 1, devices: [d]))
        try s.setQdiscs([try TC.apply(try TC.parse("qdisc add dev vA root handle 1: cake bandwidth 10mbit"), to: [], devices: ["vA"])].flatMap { $0 })
        XCTAssertEqual(TC.showText(s.qdiscInfo(dev: "vA"), oneDev: true, stats: true), """
            qdisc cake 1: root refcnt 2 bandwidth 10Mbit diffserv3 triple-isolate nonat nowash no-ack-filter split-gso rtt 100ms raw overhead 0 
             Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) 
             backlog 0b 0p requeues 0
             memory used: 0b of 4Mb
             capacity estimate: 10Mbit
             min/max network layer size:        65535 /       0
             min/max overhead-adjusted size:    65535 /       0
             average network hdr offset:            0

                               Bulk  Best Effort        Voice
              thresh        625Kbit       10Mbit     2500Kbit
              target         29.1ms          5ms       7.27ms
              interval        124ms        100ms        102ms
              pk_delay          0us          0us          0us
              av_delay          0us          0us          0us
              sp_delay          0us          0us          0us
              backlog            0b           0b           0b
              pkts                0            0            0
              bytes               0            0            0
              way_inds            0            0            0
              way_miss            0            0            0
              way_cols            0            0            0
              drops               0            0            0
              marks               0            0            0
              ack_drop            0            0            0
              sp_flows            0            0            0
              bk_flows            0            0            0
              un_flows            0            0            0
              max_len             0            0            0
              quantum           300          305          300

            """)
        XCTAssertThrowsError(try TC.parse("qdisc add dev vA root cake diffserv4")) { XCTAssertEqual(($0 as? TCError)?.message, "cake: \"diffserv4\" is not supported yet") }
        XCTAssertThrowsError(try TC.parse("qdisc add dev vA root cake bandwidth fast")) { XCTAssertEqual(($0 as? TCError)?.message, "Illegal \"bandwidth\"") }
        for args in ["cake", "cake bandwidth 20mbit besteffort flows metro memlimit 1mb wash", "cake rtt 42ms flowblind"] {
            let spec = try TC.parse("qdisc add dev vA root " + args).spec
            XCTAssertEqual(try TC.parse(TC.command(for: QdiscConfig(dev: "vA", handle: 1, spec: spec!))).spec, spec, args)
        }
    }

    func testUnits() {
        XCTAssertEqual(TCUnits.rate("1mbit"), 125_000)
        XCTAssertEqual(TCUnits.rate("8kbps"), 8000, "tc's kbps is kilobytes per second")
        XCTAssertEqual(TCUnits.rate("1Kibit"), 128)
        XCTAssertEqual(TCUnits.size("32kb"), 32768)
        XCTAssertEqual(TCUnits.size("1kbit"), 128)
        XCTAssertEqual(TCUnits.time("1.5s"), 1_500_000)
        XCTAssertNil(TCUnits.rate("fast"))
        XCTAssertNil(TCUnits.size("-1"))
        XCTAssertEqual(TCUnits.sizeText(3028), "3028b")
        XCTAssertEqual(TCUnits.sizeText(2048), "2Kb")
        XCTAssertEqual(TCUnits.rateText(12_500_000 / 8 * 8), "100Mbit")
    }
}

extension TCCommandTests {
    /// The agreement DUT with a 1mbit tbf on eth1 over a pfifo of `limit` packets.
    func tbfOverPfifo(limit: Int) throws -> (Stack, [QdiscConfig]) {
        let s = try TCAgreementTests.dut()
        var list: [QdiscConfig] = []
        for c in ["qdisc add dev eth1 root handle 1: tbf rate 1mbit burst 1600 limit 10000", "qdisc add dev eth1 parent 1:1 handle 10: pfifo limit \(limit)"] {
            list = try TC.apply(try TC.parse(c), to: list, devices: ["eth0", "eth1"])
        }
        try s.setQdiscs(list)
        return (s, list)
    }

    /// A UDP datagram from 198.18.0.1 on eth0 that the DUT forwards to 198.18.1.2 on eth1.
    static func forwarded(payload: Int) -> [UInt8] {
        FrameRepr(ethernet: EthernetRepr(dst: MACAddress(2, 0, 0, 0, 0, 2), src: MACAddress(2, 0, 0, 0, 0, 1), ethertype: EtherType.ipv4),
                  network: .ipv4(IPv4Repr(src: IPv4Address(198, 18, 0, 1), dst: IPv4Address(198, 18, 1, 2), proto: IPProtocol.udp, payloadLength: 0),
                                 .udp(UDPRepr(srcPort: 1, dstPort: 2, payload: [UInt8](repeating: 0, count: payload))))).emit()
    }

    /// `tc qdisc change` of a tbf keeps its counters and its child, whose limit becomes tbf's
    /// (fifo_set_limit: a pfifo reads the byte figure as packets), as this kernel did for the same
    /// commands (its tbf kept "Sent 90 bytes 1 pkt"; its pfifo 10: showed "limit 10000p").
    func testChangeKeepsCountersAndSetsTheFifoLimit() throws {
        var (s, list) = try tbfOverPfifo(limit: 50)
        let frame = Self.forwarded(payload: 48)
        XCTAssertEqual(s.inject(frame: frame, device: s.devices[0]).outcome, .forwarded)
        list = try TC.apply(try TC.parse("qdisc change dev eth1 root handle 1: tbf rate 2mbit burst 1600 limit 10000"), to: list, devices: ["eth0", "eth1"])
        try s.setQdiscs(list)
        XCTAssertEqual(TC.showText(s.qdiscInfo(dev: "eth1"), oneDev: true, stats: true), """
            qdisc tbf 1: root refcnt 3 rate 2Mbit burst 1600b lat 33.6ms 
             Sent 90 bytes 1 pkt (dropped 0, overlimits 0 requeues 0) 
             backlog 0b 0p requeues 0
            qdisc pfifo 10: parent 1:1 limit 10000p
             Sent 90 bytes 1 pkt (dropped 0, overlimits 0 requeues 0) 
             backlog 0b 0p requeues 0

            """)
    }
}

extension TCCommandTests {
    /// A child kept through a change brings its drops along once: the tbf's count does not double.
    func testChangeDoesNotCountTheChildsDropsTwice() throws {
        var (s, list) = try tbfOverPfifo(limit: 2)
        let frame = Self.forwarded(payload: 1000)
        // A burst of six at once: the bucket passes one, the pfifo holds two, three are dropped.
        _ = s.inject((0..<6).map { _ in Injection(device: 0, frame: frame, atNs: 0) })
        XCTAssertEqual(s.qdiscInfo(dev: "eth1").map(\.stats.drops), [3, 3])
        list = try TC.apply(try TC.parse("qdisc change dev eth1 root handle 1: tbf rate 2mbit burst 1600 limit 10000"), to: list, devices: ["eth0", "eth1"])
        try s.setQdiscs(list)
        // The next packet through the tbf (it looks at its child's drops again) changes no drop count.
        _ = s.inject([Injection(device: 0, frame: frame, atNs: 1_000_000_000)])
        XCTAssertEqual(s.qdiscInfo(dev: "eth1").map(\.stats.drops), [3, 3])
        XCTAssertEqual(s.qdiscInfo(dev: "eth1").map(\.stats.packets), [4, 4], "every packet passed through the child")
    }
}
