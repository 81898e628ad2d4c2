@testable import Kernel
import NFTables
import Wire
import XCTest

/// `conntrack -E` (nf_conntrack_ecache): the lines below are the ones conntrack-tools 1.4.7
/// printed on Linux 6.18 for the same exchanges (veth namespaces, /tmp experiments noted in the
/// issue): NEW at confirmation, UPDATE per change, DESTROY when an entry goes; `ct event set`
/// masks what an entry reports.
final class ConntrackEventTests: XCTestCase {
    func load(_ s: Stack, _ text: String) throws { s.loadRuleset(try NFParser.parse(text)) }
    func rules(_ body: String) -> String { "table ip t {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\t\(body)\n\t}\n}\n" }

    /// A SYN to a closed port: NEW, then the RST before any reply kills the entry (CLOSE, the
    /// SYN_SENT timeout left as it was, still unreplied). A UDP packet: NEW, unreplied.
    func testNewAndTheDestroyOfAResetEntry() throws {
        let s = try makeStack()
        try load(s, rules("ct state new counter"))
        _ = s.inject(frame: frame(.udp(UDPRepr(srcPort: 4000, dstPort: 5000, payload: [1]))), device: s.devices[0])
        _ = s.inject(frame: frame(.tcp(TCPRepr(srcPort: 58080, dstPort: 8001, seq: 1, flags: .syn))), device: s.devices[0])
        XCTAssertEqual(s.conntrackEvents().map(\.line), [
            "    [NEW] udp      17 30 src=198.18.0.9 dst=198.18.0.1 sport=4000 dport=5000 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=5000 dport=4000",
            "    [NEW] tcp      6 120 SYN_SENT src=198.18.0.9 dst=198.18.0.1 sport=58080 dport=8001 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=8001 dport=58080",
            "[DESTROY] tcp      6 120 CLOSE src=198.18.0.9 dst=198.18.0.1 sport=58080 dport=8001 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=8001 dport=58080",
        ])
        // Read again after the UDP entry's 30 s: its DESTROY (the gc's), nothing before `after`.
        s.advance(toNs: 31_000_000_000)
        XCTAssertEqual(s.conntrackEvents(after: 3).map(\.line), [
            "[DESTROY] udp      17 0 src=198.18.0.9 dst=198.18.0.1 sport=4000 dport=5000 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=5000 dport=4000",
        ])
        XCTAssertEqual(s.conntrackEvents(after: 3).map(\.seq), [4])
    }

    /// `ct event set`: the mask names what the entry reports; a message shows the mark when it
    /// is set; `0x0` silences the entry.
    func testTheMaskSelectsTheEvents() throws {
        for (body, want) in [
            ("ct mark set 5 ct event set new,destroy", ["    [NEW] tcp      6 120 SYN_SENT src=198.18.0.9 dst=198.18.0.1 sport=58080 dport=8001 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=8001 dport=58080 mark=5",
                                                      "[DESTROY] tcp      6 120 CLOSE src=198.18.0.9 dst=198.18.0.1 sport=58080 dport=8001 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=8001 dport=58080 mark=5"]),
            ("ct event set destroy", ["[DESTROY] tcp      6 120 CLOSE src=198.18.0.9 dst=198.18.0.1 sport=58080 dport=8001 [UNREPLIED] src=198.18.0.1 dst=198.18.0.9 sport=8001 dport=58080"]),
            ("ct event set 0x0", []),
        ] {
            let s = try makeStack()
            try load(s, rules(body))
            _ = s.inject(frame: frame(.tcp(TCPRepr(srcPort: 58080, dstPort: 8001, seq: 1, flags: .syn))), device: s.devices[0])
            XCTAssertEqual(s.conntrackEvents().map(\.line), want, body)
        }
    }

    /// A forwarded handshake and teardown (the server closes first): each TCP state change is an
    /// UPDATE with its timeout, the ESTABLISHED one assured. With `ct event set assured` only that
    /// one is reported, with everything its packet changed.
    func testATCPConnectionsUpdates() throws {
        let c = "src=198.18.0.1 dst=198.18.1.2 sport=42492 dport=8000", r = "src=198.18.1.2 dst=198.18.0.1 sport=8000 dport=42492"
        let all = [
            "    [NEW] tcp      6 120 SYN_SENT \(c) [UNREPLIED] \(r)",
            " [UPDATE] tcp      6 60 SYN_RECV \(c) \(r)",
            " [UPDATE] tcp      6 432000 ESTABLISHED \(c) \(r) [ASSURED]",
            " [UPDATE] tcp      6 120 FIN_WAIT \(c) \(r) [ASSURED]",
            " [UPDATE] tcp      6 60 CLOSE_WAIT \(c) \(r) [ASSURED]",
            " [UPDATE] tcp      6 30 LAST_ACK \(c) \(r) [ASSURED]",
            " [UPDATE] tcp      6 120 TIME_WAIT \(c) \(r) [ASSURED]",
        ]
        for (rule, want) in [("ct state new counter", all), ("ct event set assured", [all[2]])] {
            let s = try routerStack()
            try load(s, "table ip t {\n\tchain f {\n\t\ttype filter hook forward priority 0;\n\t\t\(rule)\n\t}\n}\n")
            func send(_ fromClient: Bool, _ seq: UInt32, _ ack: UInt32, _ flags: TCPFlags, _ data: [UInt8] = []) {
                let tcp = TCPRepr(srcPort: fromClient ? 42492 : 8000, dstPort: fromClient ? 8000 : 42492, seq: seq, ack: ack, flags: flags, payload: data)
                let f = fromClient ? frame(dstMAC: MACAddress(2, 0, 0, 0, 0, 2), src: IPv4Address(198, 18, 0, 1), dst: IPv4Address(198, 18, 1, 2), .tcp(tcp))
                    : frame(dstMAC: MACAddress(2, 0, 0, 0, 1, 1), src: IPv4Address(198, 18, 1, 2), dst: IPv4Address(198, 18, 0, 1), .tcp(tcp))
                XCTAssertEqual(s.inject(frame: f, device: s.devices[fromClient ? 0 : 1]).outcome, .forwarded)
            }
            send(true, 100, 0, .syn)
            send(false, 500, 101, [.syn, .ack])
            send(true, 101, 501, .ack)
            send(true, 101, 501, [.psh, .ack], [0x78])
            send(false, 501, 102, [.fin, .ack])
            send(true, 102, 502, .ack)
            send(true, 102, 502, [.fin, .ack])
            send(false, 502, 103, .ack)
            XCTAssertEqual(s.conntrackEvents().map(\.line), want, rule)
        }
    }

    /// The events kept for `conntrack -E` survive a checkpoint: the same lines and numbers after
    /// a restore, and the next event numbered on from them.
    func testEventsAreCheckpointed() throws {
        let s = try makeStack()
        try load(s, rules("ct mark set 5 ct zone set 3 ct event set new,destroy"))
        _ = s.inject(frame: frame(.tcp(TCPRepr(srcPort: 58080, dstPort: 8001, seq: 1, flags: .syn))), device: s.devices[0])
        let before = s.conntrackEvents()
        XCTAssertEqual(before.count, 2)
        let r = s.runtimeState()
        XCTAssertNotNil(r.conntrackEvents)
        let t = try makeStack()
        try load(t, rules("ct mark set 5 ct zone set 3 ct event set new,destroy"))
        t.restoreRuntime(r)
        XCTAssertEqual(t.conntrackEvents(), before)
        _ = t.inject(frame: frame(.tcp(TCPRepr(srcPort: 58081, dstPort: 8001, seq: 1, flags: .syn))), device: t.devices[0])
        XCTAssertEqual(t.conntrackEvents(after: 2).map(\.seq), [3, 4])
        // An older checkpoint without events, or one that does not read: an empty log.
        var old = r
        old.conntrackEvents = "zz"
        let u = try makeStack()
        u.restoreRuntime(old)
        XCTAssertEqual(u.conntrackEvents(), [])
    }
}

