import Foundation
import JSON
import NFTables
import TestSupport
import XCTest

/// nftables 1.0.6's own rule tests (../shared/nft-suite/cases.json, each checked against the real
/// nft): printing parses back, and counts of what loads and lists as nft does.
final class SuiteTests: XCTestCase {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/nft-suite/cases.json").standardized

    struct Case { var id: String, ruleset: String, scaffold: String, ok: Bool, expect: [String] }

    static func cases() throws -> [Case] {
        guard FileManager.default.fileExists(atPath: file.path) else { return [] }
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as! [String: Any]
        return (doc["rules"] as! [[String: Any]]).filter { $0["in_bar"] as? Bool == true }.map { c in
            Case(id: c["id"] as! String, ruleset: c["ruleset"] as! String, scaffold: c["scaffold"] as! String, ok: c["expect"] as? String == "ok",
                 expect: [c["expect_text"] as? String, c["expect_text_alt"] as? String].compactMap { $0 })
        }
    }

    func cases() throws -> [Case] {
        let all = try Self.cases()
        try skipUnless(!all.isEmpty, "../shared/nft-suite is not beside this checkout")
        return all
    }

    /// Every ruleset of the suite the engine accepts prints as text that loads again and prints the
    /// same, in nft text and in libnftables JSON.
    func testWhatLoadsPrintsBackUnchanged() throws {
        var loaded = 0, failures: [String] = []
        for c in try cases() {
            guard let rs = try? NFParser.parse(c.ruleset) else { continue }
            loaded += 1
            let text = NFPrinter.ruleset(rs)
            do {
                let again = NFPrinter.ruleset(try NFParser.parse(text))
                if again != text { failures.append("\(c.id): text reprints as\n\(again)\nnot\n\(text)") }
                let viaJSON = NFPrinter.ruleset(try NFJSON.decode(try JSONParser.parse(NFJSON.encode(rs).rendered())))
                if viaJSON != text { failures.append("\(c.id): JSON reloads as\n\(viaJSON)\nnot\n\(text)") }
            } catch {
                failures.append("\(c.id): printed text does not load: \(error)\n\(text)")
            }
        }
        print("nft suite: \(loaded) rulesets load; \(failures.count) do not print back unchanged")
        XCTAssertEqual(failures, [])
        XCTAssertEqual(loaded, 1782)
    }

    /// The rule text with the elements inside each innermost `{ ... }` sorted.
    static func setsSorted(_ text: String) -> String {
        var out = "", group: String? = nil
        for ch in text {
            if ch == "{" { out += group.map { "{" + $0 } ?? ""; group = ""; continue }
            if ch == "}", let g = group {
                out += "{" + g.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.sorted().joined(separator: ", ") + "}"
                group = nil
                continue
            }
            if group != nil { group! += String(ch) } else { out += String(ch) }
        }
        return out + (group.map { "{" + $0 } ?? "")
    }

    /// How much of the suite agrees with nft today: valid rules loaded and listed as nft lists them,
    /// invalid ones refused while their scaffold loads. Printed for the notes; the floors catch regressions.
    func testAgreementWithNft() throws {
        var valid = 0, accepted = 0, listed = 0, invalid = 0, refused = 0
        for c in try cases() {
            if c.ok {
                valid += 1
                let rs: NFRuleset
                do { rs = try NFParser.parse(c.ruleset) } catch {
                    if ProcessInfo.processInfo.environment["SUITE_VERBOSE"] != nil { print("not accepted: \(c.id): \(error)") }
                    continue
                }
                accepted += 1
                let rule = rs.tables.first?.chains.first { !$0.rules.isEmpty }?.rules.last
                let text = rule.map { r in r.text + (r.comment.map { " comment \"\($0)\"" } ?? "") }
                    .map { $0.replacingOccurrences(of: #"counter packets \d+ bytes \d+"#, with: "counter", options: .regularExpression) }
                // Anonymous-set elements may be listed in any order (the suite's README, as nftables' own runner allows).
                if let text, c.expect.contains(text) || c.expect.map(Self.setsSorted).contains(Self.setsSorted(text)) { listed += 1 }
                else if ProcessInfo.processInfo.environment["SUITE_VERBOSE"] != nil {
                    print("listed differently: \(c.id): \(text ?? "-") (nft: \(c.expect.first ?? ""))")
                }
            } else {
                invalid += 1
                if (try? NFParser.parse(c.scaffold)) != nil && (try? NFParser.parse(c.ruleset)) == nil { refused += 1 } else if ProcessInfo.processInfo.environment["SUITE_VERBOSE"] != nil {
                    print("not refused: \(c.id)")
                }
            }
        }
        print("nft suite agreement: valid \(valid), accepted \(accepted), listed as nft \(listed); invalid \(invalid), refused \(refused)")
        // Exact: the engine is deterministic, so any change here is a change in behaviour to account for.
        XCTAssertEqual([valid, accepted, listed, invalid, refused], [1782, 1782, 1782, 235, 235])
    }
}

/// Rulesets machines run (Debian's default /etc/nftables.conf, Arch's, the tables Docker writes
/// through iptables-nft): each loads and lists exactly as nft 1.0.6 listed it on this kernel
/// (the .listed files were taken from the real `nft list ruleset`).
final class RealRulesetTests: XCTestCase {
    func testDistributionAndDockerRulesetsListAsNft() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Rulesets")
        for name in ["debian", "arch", "docker", "firewalld", "fw4", "kube-proxy"] {
            let text = try String(contentsOf: dir.appendingPathComponent(name + ".nft"), encoding: .utf8)
            let listed = try String(contentsOf: dir.appendingPathComponent(name + ".listed"), encoding: .utf8)
            XCTAssertEqual(NFPrinter.ruleset(try NFParser.parse(text)), listed, name)
        }
    }
}
