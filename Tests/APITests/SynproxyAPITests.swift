import Foundation
import HTTPServer
import JSON
import Wire
import XCTest

/// nft synproxy in front of a listener, as scripts/record_synproxy.sh recorded it on Linux 6.18
/// (Cases/nft_trace_synproxy.txt: `nft monitor trace`; Cases/synproxy_frames.txt: every frame
/// on vb and lo, hex, in the order the kernel saw them). The client (ka, scapy) sends a SYN, the
/// ACK carrying the cookie, "hello", an ACK of the server's "world", and from another port an
/// ACK with a wrong cookie; the server accepts, reads, answers and closes a second later.
final class SynproxyAPITests: AppTestCase {
    static let kbMAC = "9e:de:79:90:5e:ea", kaMAC = "12:f7:08:cf:01:a1"

    /// A segment from ka (scapy's: IP ID 1, TTL 64, DF), checksums complete.
    static func segment(sport: UInt16 = 40000, _ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, window: UInt16, options: [UInt8], payload: [UInt8] = []) throws -> String {
        let ka = try MACAddress(parsing: kaMAC), kb = try MACAddress(parsing: kbMAC)
        let tcp = TCPRepr(srcPort: sport, dstPort: 80, seq: seq, ack: ack, flags: flags, window: window, options: options, payload: payload)
        let ip = IPv4Repr(src: IPv4Address(198, 18, 0, 9), dst: IPv4Address(198, 18, 0, 1), proto: IPProtocol.tcp, ttl: 64, ident: 1, dontFragment: true, payloadLength: 0)
        return Hex.encode(FrameRepr(ethernet: EthernetRepr(dst: kb, src: ka, ethertype: EtherType.ipv4), network: .ipv4(ip, .tcp(tcp))).emit())
    }
    /// The frames with what the kernel drew at random or from its clock made symbolic: sequence
    /// numbers as the cookie (C) or the server's ISN (S) plus an offset, timestamps other than
    /// the client's (100-110) as TS, a socket's IP ID (and the header checksum with it), and a
    /// TCP checksum that is complete (a CHECKSUM_PARTIAL one, the pseudo-header's sum, is kept).
    static func masked(_ frames: [(String, String, [UInt8])]) -> [String] {
        guard let synack = frames.first(where: { $0.2.count > 47 && $0.2[47] == 0x12 })?.2,
              let serverACK = frames.first(where: { $0.0 == "lo" && $0.2[47] == 0x10 })?.2 else { return ["no handshake"] }
        let c = synack.be32(38), s = serverACK.be32(42) &- 1
        return frames.map { dev, dir, f in
            var b = f.map { String(format: "%02x", $0) }
            func set(_ at: Int, _ n: Int, _ text: String) { b[at] = text; for k in 1..<n { b[at + k] = "" } }
            guard f.count >= 54, f[12] == 8, f[13] == 0, f[23] == 6 else { return "\(dev) \(dir) " + b.joined() }
            let th = 14 + Int(f[14] & 0x0f) * 4
            if f.be16(18) > 1 { set(18, 2, "[id]"); set(24, 2, "[ipsum]") }
            for at in [th + 4, th + 8] {
                let v = f.be32(at)
                if v &- c < 100 { set(at, 4, "[C+\(v &- c)]") } else if v &- s < 100 { set(at, 4, "[S+\(v &- s)]") }
            }
            var i = th + 20
            while i < th + Int(f[th + 12] >> 4) * 4 {
                if f[i] <= 1 { i += 1; continue }
                if f[i] == 8 { for at in [i + 2, i + 6] where !(100...110).contains(f.be32(at)) { set(at, 4, "[TS]") } }
                i += Int(f[i + 1])
            }
            let pseudo = Checksum.finish(Checksum.pseudoHeaderSum(src: IPv4Address(raw: f.be32(26)), dst: IPv4Address(raw: f.be32(30)),
                                                                  proto: 6, length: f.count - th))
            if f.be16(th + 16) != ~pseudo { set(th + 16, 2, "[tcpsum]") }
            return "\(dev) \(dir) " + b.joined()
        }
    }

    /// Element `i` of a JSON array (nil: the value itself).
    static func item(_ v: JSONValue?, _ i: Int?) -> JSONValue? {
        guard let i else { return v }
        guard case .array(let a)? = v, i < a.count else { return nil }
        return a[i]
    }

    static func ts(_ v: UInt32, _ e: UInt32) -> [UInt8] {
        var out: [UInt8] = [1, 1, 8, 10]
        for w in [v, e] { out += [UInt8(w >> 24), UInt8(w >> 16 & 0xff), UInt8(w >> 8 & 0xff), UInt8(w & 0xff)] }
        return out
    }

    func testSynproxyAnswersForTheListenerAsTheKernelDid() throws {
        let stack = #"{"name":"kb","devices":[{"name":"vb","veth":true,"mac":"\#(Self.kbMAC)","addresses":["198.18.0.1/24"]}],"# +
            #""neighbours":[{"address":"198.18.0.9","mac":"\#(Self.kaMAC)","dev":"vb"}],"# +
            #""sysctls":{"net.netfilter.nf_conntrack_tcp_loose":0,"net.ipv4.tcp_rmem":"4096 131072 33554432"}}"#
        let made = call("POST", "/v1/stacks", stack)
        XCTAssertEqual(made.status, 201, made.raw)
        let ruleset = """
        table ip sp {
          chain pre { type filter hook prerouting priority raw; policy accept; meta nftrace set 1; tcp flags syn notrack; }
          chain in {
            type filter hook input priority filter; policy accept;
            tcp dport 80 ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm
            ct state invalid drop
          }
          chain out { type filter hook output priority raw; policy accept; meta nftrace set 1; }
        }
        """
        XCTAssertEqual(call("PUT", "/v1/stacks/kb/ruleset", ruleset, type: "text/plain").status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets", #"{"protocol":"tcp","port":80}"#).status, 201)
        func inject(_ hex: String) -> JSONValue? {
            let r = call("POST", "/v1/stacks/kb/packets", #"{"packets":[{"device":"vb","hex":"\#(hex)"}]}"#)
            XCTAssertEqual(r.status, 200, r.raw)
            return r.json
        }
        func wait(_ ms: Int) { XCTAssertEqual(call("POST", "/v1/stacks/kb/clock", #"{"advance_ns":\#(ms * 1_000_000)}"#).status, 200) }
        // 1: the SYN (MSS 1460, SACK-permitted, TS 100/0, NOP, window scale 7: Linux's order).
        let syn = inject(try Self.segment(.syn, seq: 1000, window: 64240, options: [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7]))
        guard case .string(let synackHex)? = Self.item(Self.item(Self.item(syn?["results"], 0)?["emitted"], 0)?["hex"], nil), let synack = try? Hex.decode(synackHex) else { return XCTFail("no SYN-ACK") }
        let cookie = synack.be32(34 + 4), ts1 = synack.be32(34 + 28)
        // The cookie's TSval carries the client's window scale (7) and SACK-permitted (bit 4) in its low six bits.
        XCTAssertEqual(ts1 & 0x3f, 0x17)
        wait(320)
        // 2: the ACK with the cookie (window 502 << 7).
        let ack = inject(try Self.segment(.ack, seq: 1001, ack: cookie &+ 1, window: 502, options: Self.ts(101, ts1)))
        guard case .array(let acked)? = Self.item(ack?["results"], 0)?["emitted"], case .string(let updHex)? = acked.last?["hex"], let upd = try? Hex.decode(updHex) else { return XCTFail("no ACK") }
        let ts2 = upd.be32(34 + 24)
        // The server's ACK echoed a timestamp moved by the offset meant for the client's (TSEcrRejected):
        // the request sock answered it and the handshake is not over yet.
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/1/accept", "").json?["errno"], .string("EAGAIN"))
        wait(520)
        // 3: data, whose timestamp the offset does translate: it completes the handshake; the
        // server reads it and answers.
        _ = inject(try Self.segment([.psh, .ack], seq: 1001, ack: cookie &+ 1, window: 502, options: Self.ts(102, ts2), payload: Array("hello".utf8)))
        guard case .int(let child)? = call("POST", "/v1/stacks/kb/sockets/1/accept", "").json?["socket"] else { return XCTFail("nothing accepted") }
        XCTAssertEqual(child, 2)
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/2/recv", "{}").json?["data_hex"], .string("68656c6c6f"))
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/2/send", #"{"payload":"world"}"#).status, 200)
        wait(515)
        // 4: the server's "world" acknowledged; 5: an ACK whose cookie is wrong, from another port.
        _ = inject(try Self.segment(.ack, seq: 1006, ack: cookie &+ 6, window: 502, options: Self.ts(103, ts2)))
        wait(317)
        _ = inject(try Self.segment(sport: 40001, .ack, seq: 5001, ack: 12345, window: 502, options: Self.ts(104, ts1)))
        wait(168)
        XCTAssertEqual(call("POST", "/v1/stacks/kb/sockets/2/close", "").status, 200)

        // The frames, in order: what came in on vb and what left by vb and lo (a frame looped
        // through lo once, as it left).
        guard case .array(let traces) = call("GET", "/v1/traces?stack=kb&limit=100").json?["items"] ?? .null else { return XCTFail() }
        var model: [(String, String, [UInt8])] = []
        var text = ""
        for t in traces {
            guard case .int(let id) = t["trace_id"] ?? .null else { continue }
            let doc = call("GET", "/v1/traces/\(id)").json
            if case .string(let h)? = doc?["frame_hex"], h.hasPrefix(Self.kbMAC.replacingOccurrences(of: ":", with: "")), let f = try? Hex.decode(h) { model.append(("vb", "in", f)) }
            if case .array(let out)? = doc?["emitted"] {
                for e in out { if case .string(let d)? = e["device"], case .string(let h)? = e["hex"], let f = try? Hex.decode(h) { model.append((d, "out", f)) } }
            }
            text += call("GET", "/v1/traces/\(id)?format=nft&traced=true").raw
        }
        let recorded = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("synproxy_frames.txt"), encoding: .utf8)
        let kernel: [(String, String, [UInt8])] = try recorded.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            // (Not the host's own IPv6 autoconfiguration on vb, nor lo's copies coming back in.)
            guard f.count == 4, !(f[1] == "lo" && f[2] == "in"), f[3].dropFirst(24).prefix(4) != "86dd" else { return nil }
            return (String(f[1]), String(f[2]), try Hex.decode(String(f[3])))
        }
        XCTAssertEqual(Self.masked(model), Self.masked(kernel))
        let trace = try String(contentsOf: NFTraceViewTests.cases.appendingPathComponent("nft_trace_synproxy.txt"), encoding: .utf8)
        XCTAssertEqual(LoopbackTests.normalised(text, ids: false), LoopbackTests.normalised(trace, ids: false))

        // /proc/net/stat/synproxy (the kernel's counts were on CPU 1), conntrack, the MIBs.
        let stats = call("GET", "/v1/stacks/kb/stats").json
        XCTAssertEqual(["syn_received", "cookie_invalid", "cookie_valid", "cookie_retrans", "conn_reopened"].map { Self.item(stats?["synproxy"], 0)?[$0] },
                       [.int(1), .int(1), .int(1), .int(0), .int(0)])
        let recordedMIB: [(String, String, Int)] = [("Ip", "InReceives", 7), ("Ip", "InDelivers", 4), ("Ip", "OutRequests", 9),
                                                    ("Tcp", "PassiveOpens", 1), ("Tcp", "InSegs", 4), ("Tcp", "OutSegs", 5),
                                                    ("TcpExt", "TSEcrRejected", 1)]
        XCTAssertEqual(recordedMIB.map { "\($0.0)\($0.1) \(stats?["snmp"]?[$0.0]?[$0.1] ?? .null)" }, recordedMIB.map { "\($0.0)\($0.1) \(JSONValue.int($0.2))" })
        let ct = call("GET", "/v1/stacks/kb/conntrack").raw
        XCTAssertTrue(ct.contains("FIN_WAIT src=198.18.0.9 dst=198.18.0.1 sport=40000 dport=80 src=198.18.0.1 dst=198.18.0.9 sport=80 dport=40000 [ASSURED]"), ct)
    }
}
