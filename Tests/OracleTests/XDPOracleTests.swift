import BPF
import Foundation
import Kernel
import TestSupport
import Wire
import XCTest

/// Replays ../shared/oracle/corpus/public_xdp: each case's C programs compiled with clang as the
/// oracle compiles them, loaded and attached in the recorded mode, the frames injected; fates,
/// XDP actions and events, frames out, counters and the final map contents compared with the kernel's.
final class XDPOracleTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/oracle/corpus/public_xdp").standardized
    static let clang = ProcessInfo.processInfo.environment["ORACLE_CLANG"] ?? "/usr/bin/clang"
    /// This project's XDP cases (scripts/make_xdp_cases.py), recorded with kernel_oracle.py.
    static let ownCorpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("CorpusXDP").standardized

    /// Compiles C as the oracle does (`clang -O2 -g -target bpf`) into an object named `xdp_<dev>.o`.
    static func compile(_ source: String, dev: String, cflags: [String] = []) throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("psxdp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try source.write(to: dir.appendingPathComponent("xdp_\(dev).c"), atomically: true, encoding: .utf8)
        let r = try shell([clang, "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu"] + cflags + ["-c", "xdp_\(dev).c", "-o", "xdp_\(dev).o"], cwd: dir)
        guard r.status == 0 else { throw BPFLoadError("clang failed (\(r.status))") }
        return Array(try Data(contentsOf: dir.appendingPathComponent("xdp_\(dev).o")))
    }

    /// The oracle's `fate` for a frame XDP consumed, else the stack's.
    static func fate(_ r: PacketResult) -> String {
        guard let x = r.xdp, x.result != "stack" else { return OracleTests.fate(r) }
        if x.action.hasPrefix("invalid") { return "xdp-invalid" }
        switch x.action {
        case "XDP_DROP": return "xdp-drop"
        case "XDP_ABORTED": return "xdp-aborted"
        case "XDP_TX": return "xdp-" + x.result
        default: return "xdp-" + x.result.replacingOccurrences(of: "redirected", with: "redirect")
        }
    }

    static func eventDict(_ e: XDPEvent) -> [String: AnyHashable] {
        var d: [String: AnyHashable] = ["event": e.event]
        for (k, v) in e.fields { switch v { case .text(let s): d[k] = s; case .number(let n): d[k] = n } }
        return d
    }

    /// Non-zero counter deltas per device, in the oracle's shape (`link` from ip -s link, `veth` from ethtool -S).
    static func counters(_ s: Stack, before: [(DeviceStats, XDPStats)]) -> [String: [String: [String: Int]]] {
        var out: [String: [String: [String: Int]]] = [:]
        for (i, d) in s.devices.enumerated() {
            let (a, b) = (d.stats, d.xdpStats), (a0, b0) = before[i]
            var link: [String: Int] = [:], veth: [String: Int] = [:]
            for (k, v) in [("rx_bytes", a.rx_bytes - a0.rx_bytes), ("rx_packets", a.rx_packets - a0.rx_packets), ("tx_bytes", a.tx_bytes - a0.tx_bytes),
                           ("tx_packets", a.tx_packets - a0.tx_packets), ("rx_dropped", a.rx_dropped - a0.rx_dropped), ("tx_dropped", a.tx_dropped - a0.tx_dropped)] where v != 0 { link[k] = v }
            for c in Mirror(reflecting: b).children {
                let v = (c.value as! Int) - (Mirror(reflecting: b0).children.first { $0.label == c.label }!.value as! Int)
                if v != 0 { veth[c.label!] = v }
            }
            var dd: [String: [String: Int]] = [:]
            if !link.isEmpty { dd["link"] = link }
            if !veth.isEmpty { dd["veth"] = veth }
            if !dd.isEmpty { out[d.name] = dd }
        }
        return out
    }

    func testXDPCorpusAgreement() throws {
        try skipUnless(FileManager.default.fileExists(atPath: Self.corpus.path), "../shared/oracle is not beside this checkout")
        try agreement(Self.corpus, cases: 17)
    }

    func testOwnXDPCorpusAgreement() throws {
        try agreement(Self.ownCorpus, cases: 5)
    }

    func agreement(_ corpus: URL, cases: Int) throws {
        try skipUnless(have(Self.clang, ["--version"]) && FileManager.default.fileExists(atPath: "/usr/include/bpf/bpf_helpers.h"),
                       "clang and libbpf-dev (apt-get install clang llvm libbpf-dev) compile the XDP cases")
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { $0.hasSuffix(".json") }.sorted()
        var report: [String] = [], agree = 0
        var scores = ["fate": 0, "xdp": 0, "frames": 0, "counters": 0, "maps": 0, "nft": 0]
        for f in files {
            let c = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appendingPathComponent(f))) as! [String: Any]
            let e = try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appendingPathComponent("expected/" + f))) as! [String: Any]
            var ok = ["fate": true, "xdp": true, "frames": true, "counters": true, "maps": true, "nft": true]
            var firstDiff: String? = nil
            func differ(_ score: String, _ what: String) { ok[score] = false; firstDiff = firstDiff ?? what }
            // The recording machine's two CPUs (a cpumap names them).
            let s = try OracleTests.dut(c, cpus: 2)
            var loaded: [(dev: String, mode: String, section: String, program: BPFProgram)] = []
            for x in c["xdp"] as! [[String: Any]] {
                let dev = x["dev"] as! String, mode = x["mode"] as? String ?? "generic", section = x["section"] as? String ?? "xdp"
                let obj = try BPFObject(elf: try Self.compile(x["c"] as! String, dev: dev, cflags: x["cflags"] as? [String] ?? []), objectName: "xdp_\(dev)")
                let maps = try BPFProgram.createMaps(obj, cpus: s.config.cpus)
                for (name, entries) in x["maps"] as? [String: [[String]]] ?? [:] {
                    let found = maps.first { $0.name == name }
                    let m = try XCTUnwrap(found, "map \(name)")
                    for kv in entries { XCTAssertEqual(m.update(try Hex.decode(kv[0]), value: try Hex.decode(kv[1])), 0, "pre-fill \(name)") }
                }
                let prog = try BPFProgram.load(try XCTUnwrap(obj.program(section: section)), maps: maps)
                s.attachXDP(device: s.devices.firstIndex { $0.name == dev }!, XDPAttachment(program: prog, mode: mode == "native" ? .native : .generic))
                loaded.append((dev, mode, section, prog))
            }
            let start = s.devices.map { ($0.stats, $0.xdpStats) }
            for (k, (p, want)) in zip(c["packets"] as! [[String: Any]], e["packets"] as! [[String: Any]]).enumerated() {
                let before = s.devices.map { ($0.stats, $0.xdpStats) }
                let injected = try Hex.decode(p["hex"] as! String)
                let r = s.inject([Injection(device: (p["ingress"] as! String) == "eth0" ? 0 : 1, frame: injected, atNs: UInt64(k) * 300_000_000)])[0]
                if Self.fate(r) != want["fate"] as! String { differ("fate", "packet \(k) fate: ours \(Self.fate(r)) (\(r.xdp?.fault ?? r.note ?? "")) kernel \(want["fate"]!)") }
                let wx = want["xdp"] as? [String: Any] ?? [:]
                let ourAction = r.xdp?.action, theirAction = wx["action"] as? String
                if ourAction != theirAction || r.xdp?.result != wx["result"] as? String || r.xdp?.to != wx["to"] as? String {
                    differ("xdp", "packet \(k) xdp: ours \(ourAction ?? "-") \(r.xdp?.result ?? "-") \(r.xdp?.to ?? "-") kernel \(theirAction ?? "-") \(wx["result"] ?? "-") \(wx["to"] ?? "-")")
                }
                let ourEvents = (r.xdp?.events ?? []).map(Self.eventDict)
                let theirEvents = (wx["events"] as? [[String: Any]] ?? []).map { $0.mapValues { $0 as! AnyHashable } }
                if ourEvents != theirEvents { differ("xdp", "packet \(k) xdp events: ours \(ourEvents) kernel \(theirEvents)") }
                let ours = r.nfEvents.filter { !$0.generated && $0.kind != .log }
                let oursKey = ours.map { "\($0.table)|\($0.chain)|\($0.handle.map(String.init) ?? "-")|\($0.verdict)" }
                let theirsKey = (want["events"] as! [[Any]]).map { "\($0[0])|\($0[1])|\(($0[3] as? Int).map(String.init) ?? "-")|\($0[4])" }
                if oursKey != theirsKey { differ("nft", "packet \(k) nft events: ours \(oursKey) kernel \(theirsKey)") }
                let frames = r.emitted.filter { $0.frame.count > 13 && !($0.frame[12] == 0x08 && $0.frame[13] == 0x06) && !OracleTests.isNeighbourDiscovery($0.frame) }
                    .map { "\($0.device) \(Hex.encode(OracleTests.masked6(maskedIPID($0.frame, injected: injected), injected: injected)))" }
                let wantFrames = (want["emitted"] as! [[String: Any]]).map { "\($0["iface"] as! String) \($0["hex"] as! String)" }
                if frames != wantFrames { differ("frames", "packet \(k) emitted: ours \(frames) kernel \(wantFrames)") }
                let ourCounters = Self.counters(s, before: before)
                let theirCounters = (wx["counters"] as? [String: [String: [String: Int]]]) ?? (want["counters"] as? [String: [String: [String: Int]]]) ?? [:]
                if !wx.isEmpty || want["counters"] != nil, ourCounters != theirCounters { differ("counters", "packet \(k) counters: ours \(ourCounters) kernel \(theirCounters)") }
            }
            // After the case: every map's definition and contents (per-CPU values summed as the oracle does).
            for (prog, want) in zip(loaded, e["xdp"] as! [[String: Any]]) {
                let wantMaps = want["maps"] as! [[String: Any]]
                let ourMaps: [[String: AnyHashable]] = prog.program.maps.map { m in
                    ["name": m.name, "type": m.type.name, "key_size": m.spec.keySize, "value_size": m.spec.valueSize, "max_entries": m.spec.maxEntries,
                     "flags": Int(m.spec.flags), "entries": m.entries().map { [Hex.encode($0.key), Hex.encode(Self.sumPerCPU($0.values, size: m.spec.valueSize))] }.sorted { $0[0] < $1[0] }]
                }
                let theirMaps: [[String: AnyHashable]] = wantMaps.map { m in m.filter { $0.key != "percpu" }.mapValues { v in (v as? [[String]]).map { $0 as AnyHashable } ?? v as! AnyHashable } }
                // The kernel lists a program's maps in the order its verifier met them; compare by name.
                func byName(_ m: [[String: AnyHashable]]) -> [[String: AnyHashable]] { m.sorted { "\($0["name"]!)" < "\($1["name"]!)" } }
                if byName(ourMaps) != byName(theirMaps) { differ("maps", "maps: ours \(ourMaps) kernel \(theirMaps)") }
                if prog.program.name != want["prog_name"] as? String { differ("maps", "program name: ours \(prog.program.name) kernel \(want["prog_name"] ?? "")") }
            }
            let total = Self.counters(s, before: start), wantTotal = e["xdp_counters"] as? [String: [String: [String: Int]]] ?? [:]
            if total != wantTotal { differ("counters", "case counters: ours \(total) kernel \(wantTotal)") }
            for (k, v) in ok where v { scores[k]! += 1 }
            if ok.values.allSatisfy({ $0 }) { agree += 1; report.append("agree     \(f)") } else { report.append("DISAGREE  \(f): \(firstDiff ?? "")") }
        }
        print(report.joined(separator: "\n"))
        print("XDP oracle agreement: \(agree)/\(files.count) in full; " + scores.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        XCTAssertEqual(files.count, cases)
        for (k, v) in scores { XCTAssertEqual(v, files.count, k) }
        XCTAssertEqual(agree, files.count, "in full")
    }

    /// The oracle's `sum_percpu`: element-wise over CPUs, in u64 words when the size allows, else u32, else bytes.
    static func sumPerCPU(_ values: [[UInt8]], size: Int) -> [UInt8] {
        guard values.count > 1 else { return values.first ?? [] }
        let w = size % 8 == 0 ? 8 : size % 4 == 0 ? 4 : 1
        var out: [UInt8] = []
        for i in 0..<(size / w) {
            var acc: UInt64 = 0
            for v in values { for b in 0..<w { acc &+= UInt64(v[i * w + b]) << (8 * UInt64(b)) } }
            for b in 0..<w { out.append(UInt8(truncatingIfNeeded: acc >> (8 * UInt64(b)))) }
        }
        return out
    }
}

/// The interpreter's fast path (common instructions decoded inline, traces off) and its general
/// path (every instruction, as the instruction trace runs) agree on every corpus program and frame.
final class XDPInterpreterPathsTests: XCTestCase {
    func testFastAndTracedRunsAgree() throws {
        try skipUnless(FileManager.default.fileExists(atPath: XDPOracleTests.corpus.path), "../shared/oracle is not beside this checkout")
        try skipUnless(have(XDPOracleTests.clang, ["--version"]) && FileManager.default.fileExists(atPath: "/usr/include/bpf/bpf_helpers.h"), "clang and libbpf-dev")
        let files = try FileManager.default.contentsOfDirectory(atPath: XDPOracleTests.corpus.path).filter { $0.hasSuffix(".json") }.sorted()
        // Every frame of the corpus through every program: fast and traced, each on its own maps.
        var frames: [[UInt8]] = []
        var programs: [(String, [BPFProgram])] = []
        for f in files {
            let c = try JSONSerialization.jsonObject(with: Data(contentsOf: XDPOracleTests.corpus.appendingPathComponent(f))) as! [String: Any]
            frames += try (c["packets"] as! [[String: Any]]).map { try Hex.decode($0["hex"] as! String) }
            let x = (c["xdp"] as! [[String: Any]])[0]
            let obj = try BPFObject(elf: try XDPOracleTests.compile(x["c"] as! String, dev: "eth0"), objectName: "xdp_eth0")
            programs.append((f, try (0..<2).map { _ in
                let maps = try BPFProgram.createMaps(obj, cpus: 1)
                for m in maps where m.type == .devmap { _ = m.update([0, 0, 0, 0], value: [3, 0, 0, 0] + Array(repeating: 0, count: m.spec.valueSize - 4)) }
                return try BPFProgram.load(obj.program(section: "xdp")!, maps: maps)
            }))
        }
        let host = FixedBPFHost()
        var runs = 0
        for (name, pair) in programs {
            for frame in frames {
                let fast = BPFVM(), traced = BPFVM()
                traced.traceSteps = true
                let a = fast.runXDP(pair[0], frame: frame, ifindex: 2, rxQueue: 0, host: host)
                let b = traced.runXDP(pair[1], frame: frame, ifindex: 2, rxQueue: 0, host: host)
                XCTAssertEqual(try? a.get(), try? b.get(), name)
                XCTAssertEqual(fast.frame, traced.frame, name)
                XCTAssertEqual(fast.executed, traced.executed, name)
                XCTAssertEqual(fast.redirect?.ifindex, traced.redirect?.ifindex, name)
                XCTAssertEqual(traced.steps.count, traced.executed, name)
                runs += 1
            }
            for (m0, m1) in zip(pair[0].maps, pair[1].maps) { XCTAssertEqual(m0.entries().map(\.values), m1.entries().map(\.values), "\(name) \(m0.name)") }
        }
        XCTAssertEqual(runs, 17 * frames.count)
    }
}
