import Foundation
import Kernel
import NFTables
import Wire
import TestSupport
import XCTest

/// Replays ../shared/oracle/corpus/public (cases recorded on the real kernel) against the
/// simulator and reports agreement per case, with the first difference of each disagreeing case.
final class OracleTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/oracle/corpus/public").standardized
    /// The IPv6 cases (`"ipv6": true`): the DUT also has the README's IPv6 addresses, neighbours and routes.
    static let corpus6 = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/oracle/corpus/public6").standardized
    /// Cases this project recorded with ../shared/oracle/kernel_oracle.py, kept with their results.
    static let ownCorpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus").standardized

    /// The oracle's DUT: two devices, static neighbours and routes, its sysctl defaults plus the case's.
    static func dut(_ c: [String: Any], cpus: Int = 1) throws -> Stack {
        var d0 = DeviceConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 2), addresses: [try IPv4CIDR(parsing: "198.18.0.2/24")])
        var d1 = DeviceConfig(name: "eth1", mac: MACAddress(2, 0, 0, 0, 1, 1), addresses: [try IPv4CIDR(parsing: "198.18.1.1/24")])
        d0.veth = true; d1.veth = true   // the oracle's DUT has veth devices
        // `xdp_peers`: what runs on SND's and RCV's ends of the veths (one value, or one per peer).
        let peers = c["xdp_peers"]
        d0.vethPeer = VethPeer(rawValue: (peers as? String) ?? ((peers as? [String: String])?["peer0"] ?? "none")) ?? .plain
        d1.vethPeer = VethPeer(rawValue: (peers as? String) ?? ((peers as? [String: String])?["peer1"] ?? "none")) ?? .plain
        var n = [NeighbourConfig(address: IPv4Address(198, 18, 0, 1), mac: MACAddress(2, 0, 0, 0, 0, 1), dev: "eth0")]
        for k in 3...30 { n.append(NeighbourConfig(address: IPv4Address(198, 18, 0, UInt8(k)), mac: MACAddress(2, 0, 0, 0, 0, 1), dev: "eth0")) }
        for k in 2...30 { n.append(NeighbourConfig(address: IPv4Address(198, 18, 1, UInt8(k)), mac: MACAddress(2, 0, 0, 0, 1, 2), dev: "eth1")) }
        var routes = [RouteConfig(dst: try IPv4CIDR(parsing: "198.18.2.0/24"), via: IPv4Address(198, 18, 0, 1), dev: "eth0"),
                      RouteConfig(dst: try IPv4CIDR(parsing: "0.0.0.0/0"), via: IPv4Address(198, 18, 1, 2), dev: "eth1")]
        for cmd in ((c["topology"] as? [String: Any])?["dut_ip_cmds"] as? [String]) ?? [] {
            let w = cmd.split(separator: " ").map(String.init)
            // `link set [dev] ethN mtu M`
            let link = w.first == "link" && w.count >= 5 && w[1] == "set" ? Array(w.dropFirst(2).drop { $0 == "dev" }) : []
            if link.count == 3, link[1] == "mtu", let mtu = Int(link[2]) {
                if link[0] == "eth0" { d0.mtu = mtu } else { d1.mtu = mtu }
                continue
            }
            if w.count >= 5, w[0] == "route", w[1] == "add", w[3] == "via" {
                let gw = try IPv4Address(parsing: w[4])
                let dev = w.count >= 7 && w[5] == "dev" ? w[6] : (gw.raw >> 8 == IPv4Address(198, 18, 1, 0).raw >> 8 ? "eth1" : "eth0")
                routes.append(RouteConfig(dst: try IPv4CIDR(parsing: w[2].contains("/") ? w[2] : w[2] + "/32"), via: gw, dev: dev))
            }
        }
        var sysctls: [String: Int] = ["net.ipv4.ip_forward": 0, "net.ipv4.icmp_ratelimit": 0, "net.ipv4.conf.all.send_redirects": 0]
        var config = StackConfig(name: "dut", cpus: cpus, devices: [d0, d1], routes: routes, neighbours: n)
        if c["ipv6"] as? Bool == true {
            // The README's IPv6 topology: addresses (nodad), 47 static neighbours per side, two routes.
            config.devices[0].addresses6 = [try IPv6CIDR(parsing: "2001:db8:0::2/64")]
            config.devices[1].addresses6 = [try IPv6CIDR(parsing: "2001:db8:1::1/64")]
            for k in [1] + Array(3...0x30) { config.neighbours6.append(Neighbour6Config(address: IPv6Address(raw: 0x2001_0db8 << 96 | UInt128(k)), mac: MACAddress(2, 0, 0, 0, 0, 1), dev: "eth0")) }
            for k in 2...0x30 { config.neighbours6.append(Neighbour6Config(address: IPv6Address(raw: 0x2001_0db8_0001 << 80 | UInt128(k)), mac: MACAddress(2, 0, 0, 0, 1, 2), dev: "eth1")) }
            config.routes6 = [Route6Config(dst: try IPv6CIDR(parsing: "2001:db8:2::/64"), via: try IPv6Address(parsing: "2001:db8::1"), dev: "eth0"),
                              Route6Config(dst: try IPv6CIDR(parsing: "::/0"), via: try IPv6Address(parsing: "2001:db8:1::2"), dev: "eth1")]
            sysctls["net.ipv6.conf.all.forwarding"] = 0
            sysctls["net.ipv6.conf.all.accept_ra"] = 0
            sysctls["net.ipv6.icmp.ratelimit"] = 0
        } else {
            sysctls["net.ipv6.conf.all.disable_ipv6"] = 1
        }
        for (k, v) in (c["sysctls"] as? [String: Int]) ?? [:] where Sysctl(name: k) != nil { sysctls[k] = v }
        config.sysctls = sysctls
        let s = try Stack(config: config)
        s.loadRuleset(try NFParser.parse(c["ruleset"] as! String))
        return s
    }

    /// The oracle's `fate` of one result.
    static func fate(_ r: PacketResult) -> String {
        let names = r.stages.map(\.stage.name)
        if r.dropReason == .NETFILTER_DROP { return "ruleset-drop" }
        if names.contains("ip_local_deliver_finish") || names.contains("ip6_input_finish") { return "local-delivered" }
        if r.outcome == .forwarded || names.contains("ip_forward_finish") || names.contains("ip6_forward_finish") { return "forwarded" }
        // (ip_rcv's first check, PACKET_OTHERHOST, comes before the hook; a netdev ingress chain ran before it.)
        if r.dropReason == .OTHERHOST, names.dropLast().last == "ip_rcv" || names.dropLast().last == "ipv6_rcv" { return "stack-drop-before-prerouting" }
        if !names.contains("ip_rcv_finish") && !names.contains("ip6_rcv_finish") && !names.contains("nf_hook_slow") && !names.contains("ip_defrag") {
            return "stack-drop-before-prerouting"
        }
        return "vanished-after-prerouting"
    }

    func testCorpusAgreement() throws {
        try skipUnless(FileManager.default.fileExists(atPath: Self.corpus.path), "../shared/oracle is not beside this checkout")
        try agreement(Self.corpus, cases: 31)
    }

    func testIPv6CorpusAgreement() throws {
        try skipUnless(FileManager.default.fileExists(atPath: Self.corpus6.path), "../shared/oracle is not beside this checkout")
        try agreement(Self.corpus6, cases: 26)
    }

    func testOwnCorpusAgreement() throws {
        try agreement(Self.ownCorpus, cases: 41)
    }

    /// Every case of `corpus` replayed; each score printed is asserted for every case.
    /// `expected`: the cases that agree while a corpus is only partly modelled (nil: every one must).
    func agreement(_ corpus: URL, cases: Int, expected: Set<String>? = nil) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { $0.hasSuffix(".json") }.sorted()
        var agree = 0, eventsAgree = 0, framesAgree = 0, ctAgree = 0, ruleTextAgree = 0, listingAgree = 0
        var report: [String] = []
        var agreeing = Set<String>()
        for f in files {
            let c = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appendingPathComponent(f))) as! [String: Any]
            let e = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appendingPathComponent("expected/" + f))) as! [String: Any]
            let s: Stack
            do { s = try Self.dut(c) } catch {
                report.append("DISAGREE  \(f): the case does not load: \(error)")
                continue
            }
            var firstDiff: String? = nil
            var evOK = true, frOK = true, ctOK = true, textOK = true, listingOK = true
            for (k, (p, want)) in zip(c["packets"] as! [[String: Any]], e["packets"] as! [[String: Any]]).enumerated() {
                let dev = (p["ingress"] as! String) == "eth0" ? 0 : 1
                let r = s.inject([Injection(device: dev, frame: try Hex.decode(p["hex"] as! String), atNs: UInt64(k) * 300_000_000)])[0]
                let ours = r.nfEvents.filter { !$0.generated && $0.kind != .log }
                let theirs = want["events"] as! [[Any]]
                let oursKey = ours.map { "\($0.table)|\($0.chain)|\($0.handle.map(String.init) ?? "-")|\($0.verdict)" }
                let theirsKey = theirs.map { "\($0[0])|\($0[1])|\(($0[3] as? Int).map(String.init) ?? "-")|\($0[4])" }
                if oursKey != theirsKey { evOK = false; firstDiff = firstDiff ?? "packet \(k) events: ours \(oursKey) kernel \(theirsKey)" }
                // The oracle's normalisation (its README): counter values in trace rule text are stale in nft and dropped.
                let oursText = ours.map { $0.kind == .policy ? "policy" : Self.normaliseCounters($0.rule ?? "") }
                let theirsText = theirs.map { $0[2] as? String ?? "" }
                if oursText != theirsText { textOK = false; firstDiff = firstDiff ?? "packet \(k) rule text: ours \(oursText) kernel \(theirsText)" }
                let fate = Self.fate(r), wantFate = want["fate"] as! String
                if fate != wantFate { evOK = false; firstDiff = firstDiff ?? "packet \(k) fate: ours \(fate) (\(r.outcome) \(String(describing: r.dropReason))) kernel \(wantFate)" }
                let wantVerdict = want["final_verdict"] as! String
                let verdict = ours.contains { $0.verdict == "drop" } ? "drop" : (fate == "stack-drop-before-prerouting" ? "not-seen" : "accept")
                if verdict != wantVerdict { evOK = false; firstDiff = firstDiff ?? "packet \(k) verdict: ours \(verdict) kernel \(wantVerdict)" }
                let injected = try Hex.decode(p["hex"] as! String)
                let frames = r.emitted.filter { $0.frame.count > 13 && !($0.frame[12] == 0x08 && $0.frame[13] == 0x06) && !Self.isNeighbourDiscovery($0.frame) }
                    .map { "\($0.device) \(Hex.encode(Self.masked6(maskedIPID($0.frame, injected: injected), injected: injected)))" }
                let wantFrames = (want["emitted"] as! [[String: Any]]).map { "\($0["iface"] as! String) \($0["hex"] as! String)" }
                if frames != wantFrames { frOK = false; firstDiff = firstDiff ?? "packet \(k) emitted: ours \(frames) kernel \(wantFrames)" }
                let ct = s.conntrackListing.map(Self.normaliseConntrack).sorted(), wantCT = want["conntrack_after"] as! [String]
                if ct != wantCT { ctOK = false; firstDiff = firstDiff ?? "packet \(k) conntrack: ours \(ct) kernel \(wantCT)" }
            }
            // After the last packet: the ruleset as nft lists it, counters, quotas and set elements
            // included (the oracle drops the `expires` of set elements; so does this comparison).
            if let after = e["ruleset_after"] as? String {
                let ours = Self.expires.stringByReplacingMatches(in: s.listRuleset(handles: true), range: NSRange(location: 0, length: s.listRuleset(handles: true).utf16.count), withTemplate: "")
                if ours.trimmingCharacters(in: .whitespacesAndNewlines) != after.trimmingCharacters(in: .whitespacesAndNewlines) { listingOK = false; firstDiff = firstDiff ?? "ruleset after: ours\n\(ours)\nkernel\n\(after)" }
            }
            if listingOK { listingAgree += 1 }
            if evOK { eventsAgree += 1 }
            if frOK { framesAgree += 1 }
            if ctOK { ctAgree += 1 }
            if textOK { ruleTextAgree += 1 }
            if evOK && frOK && ctOK && textOK && listingOK { agree += 1; agreeing.insert(f); report.append("agree     \(f)") } else { report.append("DISAGREE  \(f): \(firstDiff ?? "")") }
        }
        print(report.joined(separator: "\n"))
        print("oracle agreement: \(agree)/\(files.count) cases in full; events+verdict+fate \(eventsAgree), emitted frames \(framesAgree), conntrack \(ctAgree), rule text \(ruleTextAgree), ruleset listed after \(listingAgree)")
        XCTAssertEqual(files.count, cases)
        if let expected {
            XCTAssertEqual(agreeing.sorted(), expected.sorted(), "the cases that agree in full")
            return
        }
        // Every score printed above is asserted: each must hold for every case.
        XCTAssertEqual(eventsAgree, files.count, "events, verdicts and fates")
        XCTAssertEqual(framesAgree, files.count, "emitted frames")
        XCTAssertEqual(ctAgree, files.count, "conntrack")
        XCTAssertEqual(ruleTextAgree, files.count, "rule text")
        XCTAssertEqual(listingAgree, files.count, "the ruleset listed after the case, counters and set elements included")
        XCTAssertEqual(agree, files.count, "in full")
    }

    /// NS, NA and redirects the DUT sends: the oracle never lists them (its README).
    static func isNeighbourDiscovery(_ f: [UInt8]) -> Bool {
        guard f.count >= 14 + 40 + 1, f[12] == 0x86, f[13] == 0xdd, f[14 + 6] == IPProtocol.icmpv6 else { return false }
        return [ICMPv6Repr.neighbourSolicitation, ICMPv6Repr.neighbourAdvertisement, ICMPv6Repr.redirect].contains(f[14 + 40])
    }

    /// The oracle's IPv6 normalisation (normalise_frame6): a flow label or fragment identification
    /// the DUT chose (not the injected frame's) is zeroed; neither is under a checksum.
    static func masked6(_ frame: [UInt8], injected: [UInt8]) -> [UInt8] {
        guard frame.count >= 54, frame[12] == 0x86, frame[13] == 0xdd else { return frame }
        func flowLabel(_ b: [UInt8]) -> UInt32 { b.count >= 54 && b[12] == 0x86 && b[13] == 0xdd ? b.be32(14) & 0xf_ffff : 0 }
        func fragID(_ b: [UInt8]) -> (at: Int, id: UInt32)? {
            guard b.count >= 54, b[12] == 0x86, b[13] == 0xdd else { return nil }
            var next = b[20], off = 54
            while IPv6ExtensionHeader.isWalkable(next), b.count >= off + 8 {
                if next == IPProtocol.fragment { return (off + 4, b.be32(off + 4)) }
                next = b[off]; off += (Int(b[off + 1]) + 1) * 8
            }
            return nil
        }
        var f = frame
        if flowLabel(f) != flowLabel(injected) { f[15] &= 0xf0; f[16] = 0; f[17] = 0 }
        if let fr = fragID(f), fr.id != fragID(injected)?.id { f.setBE32(fr.at, 0) }
        return f
    }

    /// The oracle's conntrack normalisation (its README): timeouts, `id=` and `use=` removed, one
    /// space between fields, lines sorted (done by the caller).
    static func normaliseConntrack(_ line: String) -> String {
        var f = line.split(separator: " ").map(String.init)
        if f.count > 2 { f.remove(at: 2) }   // the seconds left
        return f.filter { !$0.hasPrefix("id=") && !$0.hasPrefix("use=") }.joined(separator: " ")
    }

    static let counterValues = try! NSRegularExpression(pattern: "counter packets [0-9]+ bytes [0-9]+")
    /// The oracle's own normalisation of set element expiries (kernel_oracle.py: ` expires \S+`).
    static let expires = try! NSRegularExpression(pattern: " expires \\S+")
    static func normaliseCounters(_ s: String) -> String {
        counterValues.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: "counter")
    }
}
