import API
import BPF
import Foundation
import HTTPServer
import IPTables
import JSON
import Kernel
import NFTables
import Store
import Wire

/// One input through one parser or path. A harness returns normally for every input; a trap,
/// a sanitizer report or a broken property (`check`) is the finding.
/// Run under libFuzzer by scripts/fuzz.sh, and over Tests/Fuzz/Corpus by FuzzCorpusTests.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Ethernet, VLAN, ARP, IPv4, UDP, TCP and ICMP dissection; emit of a parsed frame re-parses.
    case wire
    /// A frame through the whole receive path of a stack with conntrack, NAT and forwarding.
    case rx
    /// nft text: parse, load into a stack, list, and a packet through the loaded ruleset.
    case nft
    /// nft JSON (`nft -j`): JSON parse, decode, load.
    case nftjson
    /// HTTP/1.1 request heads and bodies (content-length and chunked), pipelined.
    case http1
    /// The JSON parser; what it accepts renders and parses back to the same value.
    case json
    /// `POST /v1/stacks/{stack}/packets` bodies through the API (packet-spec decoding and injection).
    case packetspec
    /// pcap and pcapng files; what parses writes back as pcapng and reads the same packets.
    case pcap
    /// iptables-save text: what translates prints back as iptables-save that translates to the same ruleset.
    case iptables
    /// `ipset restore` text: what restores saves and restores again to the same sets (in ipset's
    /// form and the model's own); an iptables rule per set reads it as probes go through.
    case ipset
    /// `tc qdisc` commands, one per line: applied to a stack, shown, rebuilt from their stored
    /// form to the same qdiscs, and a burst forwarded through them.
    case tc
    /// eBPF: an ELF object (or, without the ELF magic, raw instructions with two maps) loaded and
    /// verified; what the verifier accepts runs over a few frames. The interpreter checks every
    /// access itself, so no input may trap.
    case bpf

    public func run(_ data: [UInt8]) {
        switch self {
        case .wire: Self.wire(data)
        case .rx: RXHarness.shared.run(data)
        case .nft: Self.nft(data)
        case .nftjson: Self.nftjson(data)
        case .http1: Self.http1(data)
        case .json: Self.json(data)
        case .packetspec: PacketSpecHarness.shared.run(data)
        case .pcap: Self.pcap(data)
        case .iptables: Self.iptables(data)
        case .ipset: Self.ipset(data)
        case .tc: TCHarness.shared.run(data)
        case .bpf: Self.bpf(data)
        }
    }

    final class NullHost: BPFHost {
        func ktimeNs() -> UInt64 { 1 }
        func prandom() -> UInt32 { 4 }
        var cpu: Int { 1 }
        func fibLookup(_ params: UnsafeMutableRawPointer, flags: UInt32) -> Int64? { 4 }
        func deviceExists(ifindex: Int) -> Bool { ifindex == 2 }
    }

    static func bpf(_ data: [UInt8]) {
        var programs: [BPFProgram] = []
        if data.starts(with: [0x7f, 0x45, 0x4c, 0x46]) {
            guard let obj = try? BPFObject(elf: data, objectName: "fuzz") else { return }
            for spec in obj.programs.prefix(4) {
                let type: BPFProgType = spec.section == "tc" || spec.section == "classifier" ? .schedCls : .xdp
                guard let maps = try? BPFProgram.createMaps(obj, cpus: 2), let p = try? BPFProgram.load(spec, maps: maps, type: type) else { continue }
                programs.append(p)
            }
        } else {
            let maps = [try? BPFMap(spec: BPFMapSpec(name: "a", type: BPFMapType.array.rawValue, keySize: 4, valueSize: 16, maxEntries: 4), cpus: 2),
                        try? BPFMap(spec: BPFMapSpec(name: "h", type: BPFMapType.hash.rawValue, keySize: 4, valueSize: 8, maxEntries: 4), cpus: 2)].compactMap { $0 }
            // The same instructions as an XDP and as a tc program (their contexts and helpers differ).
            for type in [BPFProgType.xdp, .schedCls] {
                if let p = try? BPFProgram.load(BPFProgramSpec(name: "fuzz", insns: Insn.decode(data)), maps: maps, type: type) { programs.append(p) }
            }
        }
        let frames: [[UInt8]] = [[], Array(repeating: 0xff, count: 14), Array(0..<60), Array(repeating: 0x45, count: 1500)]
        let vm = BPFVM()
        vm.budget = 100_000
        let host = NullHost()
        for p in programs {
            for f in frames {
                if p.type == .xdp {
                    _ = vm.runXDP(p, frame: f, ifindex: 2, rxQueue: 0, host: host)
                } else {
                    var skb = BPFSkb()
                    skb.wireLen = UInt32(f.count); skb.ifindex = 2
                    _ = vm.runSKB(p, frame: f, skb: skb, host: host)
                }
                check(vm.data <= vm.dataEnd && vm.dataMeta <= vm.data, "packet bounds after a run")
            }
        }
    }

    /// A broken property: reported like a crash, with the input that broke it.
    static func check(_ ok: Bool, _ what: @autoclosure () -> String) {
        if !ok { fatalError("fuzz property broken: \(what())") }
    }

    static func wire(_ data: [UInt8]) {
        for verify in [true, false] {
            guard let f = try? FrameRepr.parse(data, verifyChecksums: verify) else { continue }
            // emit computes lengths and checksums, so its output must parse with checksums verified
            // and emit to the same bytes again.
            let e = f.emit()
            guard let g = try? FrameRepr.parse(e, verifyChecksums: true) else { check(false, "emitted frame does not parse: \(e)"); return }
            check(g.emit() == e, "emit is not stable")
        }
    }

    static func iptables(_ data: [UInt8]) {
        guard let text = String(validating: data, as: UTF8.self), let rs = try? IPTablesRestore.translate(text, ipsets: ["a", "f2b"]) else { return }
        let saved = IPTablesSave.text(rs, policies: [:], header: "fuzz")
        guard let again = try? IPTablesRestore.translate(saved, ipsets: ["a", "f2b"]) else { check(false, "saved text does not translate:\n\(saved)"); return }
        check(NFPrinter.ruleset(again) == NFPrinter.ruleset(rs) || IPTablesSave.text(again, policies: [:], header: "fuzz") == saved,
              "saved text translates differently:\n\(saved)")
        RXHarness.makeStack().loadRuleset(rs)
    }

    static func ipset(_ data: [UInt8]) {
        guard let text = String(validating: data, as: UTF8.self) else { return }
        let s = RXHarness.makeStack()
        guard let sets = try? s.preparedIPSets(text, replace: true) else { return }
        s.setIPSets(sets, generation: 1)
        let saved = s.saveIPSets(), own = s.saveIPSets(own: true)
        guard let again = try? s.preparedIPSets(saved, replace: true), let ownAgain = try? s.preparedIPSets(own, replace: true, own: true) else {
            check(false, "saved sets do not restore:\n\(saved)"); return
        }
        check(IPSetText.save(again, now: s.clockNs) == saved, "saved sets restore differently:\n\(saved)")
        check(IPSetText.save(ownAgain, now: s.clockNs, own: true) == own, "the model's own save restores differently:\n\(own)")
        var rules = "*filter\n"
        for set in sets.sets.prefix(8) {
            rules += "-A INPUT -m set --match-set \(set.name) src,dst,src -j DROP\n"
            rules += "-A INPUT -m set ! --match-set \(set.name) dst,dst,dst --return-nomatch --packets-gt 1 ! --update-counters\n"
            rules += "-A INPUT -j SET --add-set \(set.name) dst,src,src --exist --timeout 5 --del-set \(set.name) src,dst,dst\n"
        }
        guard let rs = try? IPTablesRestore.translate(rules + "COMMIT\n", ipsets: sets.names) else { return }
        s.loadRuleset(rs)
        for f in RXHarness.probes { _ = s.inject(frame: f, device: s.devices[0]) }
        _ = s.saveIPSets()
    }

    static func pcap(_ data: [UInt8]) {
        guard let ps = try? PCAP.read(data) else { return }
        let written = PCAP.writeNG(interfaces: ["a", "b"], packets: ps.map { (min($0.interface, 1), $0.timeNs, $0.frame, "c") })
        guard let back = try? PCAP.read(written) else { check(false, "written pcapng does not read"); return }
        check(back.map(\.frame) == ps.map(\.frame) && back.map(\.timeNs) == ps.map(\.timeNs), "pcapng round trip changed the packets")
    }

    static func nft(_ data: [UInt8]) {
        guard let text = String(validating: data, as: UTF8.self), let rs = try? NFParser.parse(text) else { return }
        let s = RXHarness.makeStack()
        s.loadRuleset(rs)
        _ = s.listRuleset(handles: true)
        _ = NFJSON.encode(s.liveRuleset, counters: s.countersByTable).rendered()
        for f in RXHarness.probes { _ = s.inject(frame: f, device: s.devices[0]) }
    }

    static func nftjson(_ data: [UInt8]) {
        guard let doc = try? JSONParser.parse(data), let rs = try? NFJSON.decode(doc) else { return }
        let s = RXHarness.makeStack()
        s.loadRuleset(rs)
        _ = s.listRuleset(handles: false)
        for f in RXHarness.probes { _ = s.inject(frame: f, device: s.devices[0]) }
    }

    static func http1(_ data: [UInt8]) {
        // As a connection feeds it: the bytes arrive in two reads (the split point is the first
        // byte), and each request is removed from the buffer before the next is parsed.
        let split = data.isEmpty ? 0 : min(data.count, Int(data[0]) * 4)
        var p = HTTP1Parser(maxHeaderBytes: 16 << 10, maxBodyBytes: 1 << 20, spooledMediaTypes: ["application/x-pcapng"], maxSpooledBodyBytes: 4 << 20)
        var input = Array(data[..<split])
        var fed = false
        while true {
            switch p.next(input, from: 0) {
            case .request(_, let consumed, _, _):
                check(consumed > 0 && consumed <= input.count, "consumed \(consumed) of \(input.count)")
                input.removeFirst(consumed)
            case .spool(_, let consumed, let length, _, _):
                // The connection takes the body bytes from here on, as they come.
                check(consumed > 0 && consumed <= input.count && length >= 0 && length <= 4 << 20, "spool after \(consumed) of \(input.count), \(length) bytes")
                input.removeFirst(min(input.count, consumed + length))
            case .wantsContinue, .needMore:
                if fed { return }
                input += data[split...]; fed = true
            case .error: return
            }
        }
    }

    static func json(_ data: [UInt8]) {
        guard let v = try? JSONParser.parse(data) else { return }
        let again = try? JSONParser.parse(v.bytes)
        check(again.map { same($0, v) } ?? false, "rendered JSON does not parse back to the same value")
    }

    /// Equal values, where a whole double (rendered without a fraction) equals the integer it reads back as.
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let i), .double(let d)), (.double(let d), .int(let i)): return Double(i) == d
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && same($0.1, $1.1) }
        default: return a == b
        }
    }
}
