import Kernel
import NFTables
import Wire
import XCTest

/// The chain index (RuleIndex) against rule-by-rule evaluation: random rulesets and random
/// packets through both must give the same verdicts, trace events, emitted frames and counters.
final class ClassifierTests: XCTestCase {
    /// A small deterministic generator (splitmix64), so a failure names a seed that reproduces it.
    struct Rand {
        var s: UInt64
        mutating func next() -> UInt64 { s &+= 0x9e3779b97f4a7c15; var z = s; z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9; z = (z ^ (z >> 27)) &* 0x94d049bb133111eb; return z ^ (z >> 31) }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }
    }

    static let addrs = ["198.18.0.9", "198.18.0.10", "198.18.0.11", "10.1.2.3", "10.1.9.9"]

    func randomMatch(_ r: inout Rand, kind: Int? = nil) -> String {
        switch kind ?? r.int(9) {
        case 0: return "ip saddr \(r.pick(Self.addrs))"
        case 1: return "ip saddr \(r.pick(["10.0.0.0/8", "198.18.0.8/30", "198.18.0.0/24"]))"
        case 2: return "ip saddr { \(r.pick(Self.addrs)), \(r.pick(Self.addrs)) }"
        case 3: return "tcp dport \(r.pick(["80", "22", "443", "1000-2000", "{ 22, 80 }"]))"
        case 4: return "udp dport \(r.pick(["53", "123", "5000-6000"]))"
        case 5: return "meta l4proto \(r.pick(["tcp", "udp", "icmp"]))"
        case 6: return "meta mark \(r.pick(["0x1", "0x2", "0x0"]))"
        case 7: return "ip ttl \(r.pick(["64", "1", "!= 64"]))"
        default: return "th dport != \(r.pick(["80", "53"]))"
        }
    }

    /// Whether nft would take the rule (random matches may name conflicting protocols).
    func loads(_ rule: String) -> Bool {
        (try? NFParser.parse("table ip t {\n\tchain sub {\n\t}\n\tchain c {\n\t\t\(rule)\n\t}\n}\n")) != nil
    }

    func randomRuleset(_ r: inout Rand, rules: Int) -> String {
        var base: [String] = [], sub: [String] = []
        // Most rules match one field (as real chains do), so the chain gets an index on it.
        let dominant = r.int(7)
        while base.count < rules {
            var parts: [String] = []
            // Sometimes a side effect before the matches: the index must not skip such a rule.
            if r.int(10) == 0 { parts.append("counter") }
            if r.int(10) < 8 { parts.append(randomMatch(&r, kind: dominant)) }
            for _ in 0..<r.int(2) { parts.append(randomMatch(&r)) }
            if r.int(8) == 0 { parts.append("meta mark set \(r.pick(["0x1", "0x2"]))") }
            parts.append("counter")
            parts.append(r.pick(["accept", "drop", "continue", "jump sub", "return", "", "", ""]))
            let rule = parts.joined(separator: " ")
            if loads(rule) { base.append(rule) }
        }
        while sub.count < rules / 2 {
            let rule = randomMatch(&r) + " counter " + r.pick(["return", "drop", "", "accept"])
            if loads(rule) { sub.append(rule) }
        }
        return "table ip t {\n\tchain sub {\n" + sub.map { "\t\t\($0)\n" }.joined() + "\t}\n\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n"
            + base.map { "\t\t\($0)\n" }.joined() + "\t}\n}\n"
    }

    func randomFrame(_ r: inout Rand) -> [UInt8] {
        let src = try! IPv4Address(parsing: r.pick(Self.addrs))
        let l4: TransportRepr = switch r.int(3) {
        case 0: .tcp(TCPRepr(srcPort: 40000, dstPort: UInt16(r.pick([80, 22, 443, 1500, 9])), seq: 1, flags: .syn))
        case 1: .udp(UDPRepr(srcPort: 40000, dstPort: UInt16(r.pick([53, 123, 5500, 9])), payload: [1, 2]))
        default: .icmp(ICMPv4Repr(type: 8, code: 0, restOfHeader: 0x10001))
        }
        return frame(src: src, ttl: UInt8(r.pick([64, 1, 30])), l4)
    }

    func testIndexedChainsAgreeWithRuleByRule() throws {
        var indexedChains = 0
        for seed in 0..<60 {
            var r = Rand(s: UInt64(seed))
            let text = randomRuleset(&r, rules: 8 + r.int(40))
            let frames = (0..<40).map { _ in randomFrame(&r) }
            var runs: [[String]] = []
            for classifier in [false, true] {
                let s = try makeStack()
                s.classifier = classifier
                s.loadRuleset(try NFParser.parse(text))
                var out: [String] = []
                for f in frames {
                    let res = s.inject(frame: f, device: s.devices[0])
                    out.append("\(res.outcome) \(String(describing: res.dropReason)) \(res.nfEvents.map { "\($0.chain)/\($0.handle ?? -1)/\($0.verdict)" }) \(res.emitted.map { Hex.encode($0.frame) })")
                }
                out.append(s.listRuleset(handles: true))
                runs.append(out)
            }
            XCTAssertEqual(runs[0], runs[1], "seed \(seed):\n\(text)")
            let s = try makeStack()
            s.loadRuleset(try NFParser.parse(text))
            indexedChains += s.ruleIndexFields.count
        }
        // The comparison means something only where chains were indexed.
        print("classifier: \(indexedChains) indexed chains in 60 random rulesets")
        XCTAssertGreaterThanOrEqual(indexedChains, 30)
    }

    /// Named concatenated sets and verdict maps, exact tuples hashed (ConcatIndex) and the rest in
    /// order: the first matching element wins either way.
    func testConcatenatedLookupsAgreeWithTheWalk() throws {
        var compared = 0, hits = 0
        for seed in 0..<30 {
            var r = Rand(s: UInt64(1000 + seed))
            var elems: [String] = [], setElems: [String] = []
            for k in 0..<(5 + r.int(30)) {
                let a = r.int(3) == 0 ? r.pick(["198.18.0.0/24", "10.0.0.0/8", "198.18.0.8-198.18.0.10"]) : r.pick(Self.addrs)
                let p = r.int(4) == 0 ? "1000-2000" : r.pick(["80", "22", "53", "123"])
                let proto = r.pick(["tcp", "udp"])
                elems.append("\(a) . \(proto) . \(p) : \(r.pick(["accept", "drop", "jump sub", "continue"]))")
                if k % 2 == 0 { setElems.append("\(a) . \(proto) . \(p)") }
            }
            // Duplicate keys keep the first (nft refuses them in one map; here they come from intervals overlapping).
            let text = """
            table ip t {
            \tmap m {
            \t\ttype ipv4_addr . inet_proto . inet_service : verdict
            \t\tflags interval
            \t\telements = { \(elems.joined(separator: ", ")) }
            \t}

            \tset s {
            \t\ttype ipv4_addr . inet_proto . inet_service
            \t\tflags interval
            \t\telements = { \(setElems.joined(separator: ", ")) }
            \t}

            \tchain sub {
            \t\tcounter
            \t}

            \tchain input {
            \t\ttype filter hook input priority 0; policy accept;
            \t\tip saddr . meta l4proto . th dport @s counter
            \t\tip saddr . meta l4proto . th dport vmap @m
            \t\tcounter
            \t}
            }

            """
            guard let rs = try? NFParser.parse(text) else { continue }   // random intervals may overlap: nft refuses those
            compared += 1
            let frames = (0..<80).map { _ in randomFrame(&r) }
            var runs: [[String]] = []
            for classifier in [false, true] {
                let s = try makeStack()
                s.classifier = classifier
                s.loadRuleset(rs)
                var out = frames.map { f in
                    let res = s.inject(frame: f, device: s.devices[0])
                    if classifier, res.nfEvents.contains(where: { $0.rule?.contains("@") == true }) { hits += 1 }
                    return "\(res.outcome) \(res.nfEvents.map { "\($0.chain)/\($0.handle ?? -1)/\($0.verdict)" })"
                }
                out.append(s.listRuleset(handles: true))
                runs.append(out)
            }
            XCTAssertEqual(runs[0], runs[1], "seed \(seed):\n\(text)")
        }
        // Enough maps loaded, and enough packets found an element, for the comparison to mean something.
        print("concat lookups: \(compared) rulesets compared, \(hits) packets matched an element")
        XCTAssertGreaterThanOrEqual(compared, 10)
        XCTAssertGreaterThanOrEqual(hits, 50)
    }

    /// The benchmark's shape: 1,000 rules told apart by port; the index leaves one candidate.
    func testAThousandPortRulesMeetOneCandidate() throws {
        var text = "table ip t {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n"
        for i in 0..<1000 { text += "\t\tip saddr 198.18.0.9 tcp dport \(10000 + i) counter drop\n" }
        text += "\t}\n}\n"
        let s = try makeStack()
        s.loadRuleset(try NFParser.parse(text))
        XCTAssertEqual(s.ruleIndexFields, ["ip t input": "tcp dport"])
        let r = s.inject(frame: frame(.tcp(TCPRepr(srcPort: 1, dstPort: 10500, seq: 1, flags: .syn))), device: s.devices[0])
        XCTAssertEqual(r.dropReason, .NETFILTER_DROP)
        XCTAssertEqual(r.nfEvents.map(\.handle), [502])
    }
}
