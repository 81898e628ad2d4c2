import Foundation
@testable import IPTables
import JSON
import NFTables
import XCTest

/// iptables-save text as iptables-nft-restore loads it. Files/NAME.save are rulesets as Docker,
/// kube-proxy (iptables mode), ufw and fail2ban write them; NAME.saved and NAME.kernel.nft are what
/// the real iptables-nft 1.8.9 and nft 1.0.6 made of them (scripts/record_iptables.sh).
final class RestoreTests: XCTestCase {
    static let files = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Files")
    static let names = ["docker", "docker_oracle", "kube", "wide", "xt"]
    func read(_ n: String) throws -> String { try String(contentsOf: Self.files.appendingPathComponent(n), encoding: .utf8) }

    /// Each file prints back exactly as the real iptables-nft-save printed it after loading it
    /// (canonical options, `-m tcp` added, builtin chains, user chains by name, tables in its order).
    func testFilesSaveBackAsIptablesNftSavePrintsThem() throws {
        for n in Self.names {
            let rs = try IPTablesRestore.translate(try read("\(n).save"))
            let saved = IPTablesSave.text(rs, policies: [:], header: "test").split(separator: "\n").filter { !$0.hasPrefix("#") }
            XCTAssertEqual(saved, try read("\(n).saved").split(separator: "\n"), n)
            // NAME.nft: what the rules do, as nft statements (the form a checkpoint keeps).
            XCTAssertEqual(NFPrinter.ruleset(rs, origins: true), try read("\(n).nft"), n)
        }
    }

    /// The translation is the kernel's ruleset, as nft lists it after the real iptables-nft-restore
    /// (NAME.kernel.nft, NAME.kernel.json): the same tables, chains, types, hooks, priorities,
    /// policies, handles and expressions, iptables-nft's xtables ones by their translators' text
    /// (`xt match NAME` where there is none) and as `{"xt": ...}` in JSON.
    func testTranslationsListAsTheKernelListsThem() throws {
        for n in Self.names {
            let rs = try IPTablesRestore.translate(try read("\(n).save"))
            XCTAssertEqual(NFPrinter.ruleset(rs).split(separator: "\n", omittingEmptySubsequences: false),
                           try read("\(n).kernel.nft").split(separator: "\n", omittingEmptySubsequences: false), n)
            let kernel = try JSONParser.parse(try read("\(n).kernel.json"))
            guard case .object(let top) = kernel, case .array(let items)? = top.first(where: { $0.0 == "nftables" })?.1,
                  case .object(let ours) = NFJSON.encode(rs), case .array(let mine)? = ours.first(where: { $0.0 == "nftables" })?.1 else {
                return XCTFail("\(n): no nftables array")
            }
            XCTAssertEqual(mine.count, items.count, n)
            for (a, b) in zip(mine, items) { XCTAssertEqual(a.rendered(), b.rendered(), n) }
        }
    }

    /// Read back from the model's own listing (a checkpoint, a stored version), a translated
    /// ruleset lists as it did: its iptables lines give the kernel's expressions again. Except what
    /// an iptables line cannot say: a negated port range from 0 (`! --dport :1023`) the kernel holds
    /// as `> 1023`, and iptables-nft-save prints as `--dport 1024:65535`, which reads back as that range.
    func testStoredFormListsAsTheTranslationDid() throws {
        for n in Self.names {
            let rs = try IPTablesRestore.translate(try read("\(n).save"))
            var back = try NFParser.parse(NFPrinter.ruleset(rs, handles: true, origins: true), checkpoint: true)
            XCTAssertNotEqual(NFPrinter.ruleset(back), NFPrinter.ruleset(rs), n)
            IPTablesRestore.relist(&back)
            XCTAssertEqual(NFPrinter.ruleset(back), NFPrinter.ruleset(rs).replacingOccurrences(of: "tcp dport > 1023", with: "tcp dport 1024-65535"), n)
            XCTAssertEqual(NFJSON.encode(back).rendered(), NFJSON.encode(rs).rendered().replacingOccurrences(
                of: #"{"op":">","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":1023}"#,
                with: #"{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":{"range":[1024,65535]}}"#), n)
        }
    }

    /// The oracle case docker_1 runs this translation on the real kernel (Tests/OracleTests/Corpus).
    func testDockerOracleCaseIsThisTranslation() throws {
        let caseURL = Self.files.appendingPathComponent("../../OracleTests/Corpus/docker_1.json").standardized
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: caseURL)) as! [String: Any]
        let rs = try IPTablesRestore.translate(try read("docker_oracle.save"))
        XCTAssertEqual(NFPrinter.ruleset(rs, origins: true).replacingOccurrences(of: "counter packets 0 bytes 0", with: "counter"), doc["ruleset"] as? String)
    }

    func testRulesFromAddressListsInsertsAndCounters() throws {
        let rs = try IPTablesRestore.translate("""
        *filter
        :INPUT ACCEPT [0:0]
        -A INPUT -s 10.0.0.1,10.0.0.2/255.255.255.0 -j DROP
        -I INPUT 2 -p tcp --dport ssh -j ACCEPT
        [5:300] -A INPUT -i eth+ ! -p udp -j RETURN
        -I INPUT -j LOG --log-level info --log-tcp-sequence --log-tcp-options
        COMMIT

        """)
        XCTAssertEqual(rs.tables[0].chains[0].rules.map(\.text), [
            "counter packets 0 bytes 0 log level info flags tcp sequence,options", "ip saddr 10.0.0.1 counter packets 0 bytes 0 drop",
            "tcp dport 22 counter packets 0 bytes 0 accept", "ip saddr 10.0.0.0/24 counter packets 0 bytes 0 drop",
            "iifname \"eth*\" meta l4proto != udp counter packets 5 bytes 300 return",
        ])
        XCTAssertEqual(rs.tables[0].chains[0].rules.map(\.iptables), [
            "-A INPUT -j LOG --log-level 6 --log-tcp-sequence --log-tcp-options", "-A INPUT -s 10.0.0.1/32 -j DROP",
            "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT", "-A INPUT -s 10.0.0.0/24 -j DROP", "-A INPUT -i eth+ ! -p udp -j RETURN",
        ])
    }

    /// Refusals name the line and column, in iptables-nft-restore's words; what the translation does
    /// not cover is "not supported yet", never dropped.
    func testRefusals() throws {
        func refused(_ text: String, _ line: Int, _ column: Int, _ message: String, _ kind: IPTablesError.Kind = .refused,
                     file: StaticString = #filePath, at: UInt = #line) {
            XCTAssertThrowsError(try IPTablesRestore.translate(text), file: file, line: at) {
                XCTAssertEqual($0 as? IPTablesError, IPTablesError(line: line, column: column, message: message, kind: kind), file: file, line: at)
            }
        }
        refused("*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT\n", 2, 1, "COMMIT expected at the end of table `filter'")
        refused("*filter\n-A INPUT -m statistic --mode nth --every 2 -j DROP\nCOMMIT\n", 2, 34, "statistic: option \"--every\" also requires \"--packet\".")
        refused("*filter\n-A INPUT -m iprange --src-range 10.0.0.300-10.0.0.1 -j DROP\nCOMMIT\n", 2, 33, "iprange: bad range `10.0.0.300-10.0.0.1'")
        refused("*filter\n-A INPUT --dport 22 -j ACCEPT\nCOMMIT\n", 2, 10, "unknown option \"--dport\"")
        refused("*filter\n-A INPUT -j NOPE\nCOMMIT\n", 2, 13, "Couldn't load target `NOPE':No such file or directory")
        refused("*filter\n-A INPUT -p tcp -o eth0 -j ACCEPT\nCOMMIT\n", 2, 17, "Can't use -o with INPUT")
        refused("*filter\n-A OUTPUT -i lo -j ACCEPT\nCOMMIT\n", 2, 11, "Can't use -i with OUTPUT")
        refused("*nat\n-A PREROUTING -o eth0 -j ACCEPT\nCOMMIT\n", 2, 15, "Can't use -o with PREROUTING")
        refused("*nat\n-A POSTROUTING -o eth0 -j SNAT --to-source 1.2.3.4:1024-2048\nCOMMIT\n", 2, 44, "SNAT: Need TCP, UDP, SCTP or DCCP with port specification")
        refused("*filter\n-A FORWARD -j DNAT --to-destination 1.2.3.4\nCOMMIT\n", 2, 15, "DNAT is only valid in the nat table")
        refused("*nat\n-A PREROUTING -j MASQUERADE\nCOMMIT\n", 2, 18, "MASQUERADE is not valid in chain PREROUTING of table nat")
        refused("*filter\n-A INPUT -p udp -j REJECT --reject-with tcp-reset\nCOMMIT\n", 2, 20, "TCP_RESET invalid for non-tcp")
        refused("*filter\n-A INPUT -s example.org -j DROP\nCOMMIT\n", 2, 13, "host/network `example.org' not found (host names are not resolved here)")
        refused("*filter\n:INPUT REJECT [0:0]\nCOMMIT\n", 2, 8, "Can't set policy `REJECT' on `INPUT': Bad policy name")
        refused("*bogus\nCOMMIT\n", 1, 2, "can't initialize iptables table `bogus': Table does not exist (do you need to insmod?)")
        refused("*filter\n-A INPUT -m hashlimit --hashlimit-upto 5/sec --hashlimit-name x -j DROP\nCOMMIT\n", 2, 13,
                "not supported yet: match `-m hashlimit' (translated: addrtype, comment, connlimit, connmark, conntrack, dscp, icmp, iprange, length, limit, mac, mark, multiport, owner, pkttype, recent, set, state, statistic, tcp, tos, ttl, udp)", .unsupported)
        // -m recent as iptables-nft-restore and the kernel refuse it (recorded).
        refused("*filter\n-A INPUT -m recent --name x -j DROP\nCOMMIT\n", 2, 13, "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'")
        refused("*filter\n-A INPUT -m recent --set --rcheck -j DROP\nCOMMIT\n", 2, 26, "recent: option \"--set\" cannot be used together with \"--rcheck\".")
        refused("*filter\n-A INPUT -m recent --rcheck --reap -j DROP\nCOMMIT\n", 2, 13, "recent: option \"--reap\" also requires \"--seconds\".")
        refused("*filter\n-A INPUT -m recent --set --seconds 5 -j DROP\nCOMMIT\n", 2, 13, "RULE_APPEND failed (Invalid argument): rule in chain INPUT")
        // A target extension the translation lacks is named as such (it read as a chain with
        // unknown options: `unknown option "--clamp-mss-to-pmtu"`).
        refused("*mangle\n-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\nCOMMIT\n", 2, 53,
                "not supported yet: target `-j TCPMSS' (translated: ACCEPT, CONNMARK, CT, DNAT, DROP, DSCP, LOG, MARK, MASQUERADE, NOTRACK, REDIRECT, REJECT, RETURN, SET, SNAT)", .unsupported)
        refused("*filter\n-A INPUT -m state --state DNAT -j DROP\nCOMMIT\n", 2, 27, "Bad state \"DNAT\"")   // -m conntrack's only
        refused("*raw\n-N PREROUTING\nCOMMIT\n", 2, 4, "Chain already exists")   // a fuzzing finding: it saved as two PREROUTING chains
        refused("*filter\n-N x -p tcp\nCOMMIT\n", 2, 6, "Illegal option `-p' with this command")
        refused("*filter\n-D INPUT 1\nCOMMIT\n", 2, 1, "not supported yet: `-D' in iptables-restore input (-A, -I, -N and -P are)", .unsupported)
        // Fuzzing findings: a word that splits into nothing (`/`, `-`) used to trap on its first part.
        refused("*filter\n-A INPUT -m limit --limit / -j ACCEPT\nCOMMIT\n", 2, 27, "bad rate \"/\"")
        refused("*filter\n-A INPUT -p icmp --icmp-type / -j ACCEPT\nCOMMIT\n", 2, 30, "Invalid ICMP type `/'")
        refused("*nat\n-A PREROUTING -p tcp -j DNAT --to-destination -\nCOMMIT\n", 2, 47, "Bad IP address \"-\"")
        refused("*filter\n-A INPUT -s / -j ACCEPT\nCOMMIT\n", 2, 13, "host/network `/' not found")
    }

    /// iptables-save escapes a quote inside a quoted string (`"it\'s"`); restore reads it back (a fuzzing finding).
    func testSavedEscapesReadBack() throws {
        let rs = try IPTablesRestore.translate("*filter\n-A INPUT -m comment --comment \"it's\" -j ACCEPT\nCOMMIT\n")
        XCTAssertEqual(rs.tables[0].chains[0].rules[0].iptables, #"-A INPUT -m comment --comment "it\'s" -j ACCEPT"#)
        let again = try IPTablesRestore.translate(IPTablesSave.text(rs, policies: [:], header: "t"))
        XCTAssertEqual(again.tables[0].chains[0].rules[0].comment, "it's")
    }

    func testLooksLikeSave() {
        XCTAssertTrue(IPTablesRestore.looksLikeSave("# Generated by iptables-nft-save v1.8.9\n*filter\n"))
        XCTAssertFalse(IPTablesRestore.looksLikeSave("#!/usr/sbin/nft -f\ntable ip filter {}\n"))
    }

    /// libxt_limit's print_rate and xtables_save_string, as the real iptables-save prints them.
    func testSavedRatesAndStrings() throws {
        let ctx = IPTContext(proto: nil, protoNegated: false, table: "filter", line: 1, ipsets: [])
        for (written, printed) in [("3/min", "3/min"), ("5/sec", "5/sec"), ("60/min", "1/sec"), ("7/hour", "7/hour"), ("2/day", "2/day"), ("1000/s", "1000/sec"), ("90/min", "90/min")] {
            XCTAssertEqual(IPTMatches.printedRate(try IPTMatches.limitRate(IPTWord(text: written, column: 1), ctx).2), printed, written)
        }
        XCTAssertEqual(IPTMatches.saveString("single"), " single")
        XCTAssertEqual(IPTMatches.saveString("default/web"), " \"default/web\"")
    }
}
