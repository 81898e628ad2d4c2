import API
import Foundation
import HTTPServer
import JSON
import Store
import XCTest

/// Rulesets over REST: replace, commands, rules by handle, versions, rollback, traces, persistence.
final class RulesetAPITests: AppTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"h","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]}],"neighbours":[{"address":"198.18.0.1","mac":"02:00:00:00:00:01","dev":"eth0"}]}"#).status, 201)
    }


    static let ruleset = """
    table inet filter {
      chain input { type filter hook input priority 0; policy drop; udp dport 53 counter accept; jump extra; }
      chain extra { tcp dport 22 accept; }
    }
    """
    static let udp53 = #"{"packets":[{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1"},"udp":{"sport":9,"dport":53}}]}"#
    static let udp54 = #"{"packets":[{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.1"},"udp":{"sport":9,"dport":54}}]}"#

    /// A command on the running ruleset leaves the other rules' counters as they are (as the kernel
    /// keeps its rule objects); a new ruleset (PUT) starts them afresh.
    func testCommandsKeepTheCountersOfRulesTheyDoNotTouch() throws {
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", Self.ruleset, type: "text/plain").status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets", Self.udp53).status, 200)
        let counted = "udp dport 53 counter packets 1 bytes 28 accept"
        XCTAssertTrue(call("GET", "/v1/stacks/h/ruleset").raw.contains(counted))
        XCTAssertEqual(call("POST", "/v1/stacks/h/ruleset/commands", "add rule inet filter extra tcp dport 23 accept", type: "text/plain").status, 200)
        XCTAssertTrue(call("GET", "/v1/stacks/h/ruleset").raw.contains(counted), call("GET", "/v1/stacks/h/ruleset").raw)
        XCTAssertEqual(call("DELETE", "/v1/stacks/h/ruleset/rules/6?family=inet&table=filter").status, 200)
        XCTAssertTrue(call("GET", "/v1/stacks/h/ruleset").raw.contains(counted))
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", Self.ruleset, type: "text/plain").status, 200)
        XCTAssertTrue(call("GET", "/v1/stacks/h/ruleset").raw.contains("udp dport 53 counter packets 0 bytes 0 accept"))
    }

    /// nft resolves an interface index by name as it reads the rule, so a device the stack does not
    /// have is refused where it is named, in every way a ruleset arrives (nft 1.0.6's words and
    /// columns, recorded in a namespace with `meta iif "nosuch"`, `oif { "lo", "nosuch2" }`,
    /// `fwd to "nosuch"`, `dup to 1.2.3.4 device "nosuch"`); lo and the stack's own devices load.
    func testInterfaceIndexesMustNameADevice() throws {
        func refusal(_ r: Reply) -> String {
            XCTAssertEqual(r.status, 400, r.raw)
            return r.json?["nft"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? r.raw
        }
        let chain = "table ip t {\n  chain c { type filter hook prerouting priority 0;\n"
        XCTAssertEqual(refusal(call("PUT", "/v1/stacks/h/ruleset", chain + "    meta iif \"nosuch\" accept\n  }\n}\n", type: "text/plain")),
                       "ruleset:3:14-21: Error: Interface does not exist\n    meta iif \"nosuch\" accept\n             ^^^^^^^^")
        XCTAssertEqual(refusal(call("PUT", "/v1/stacks/h/ruleset", chain + "    oif { \"lo\", \"nosuch2\" }\n  }\n}\n", type: "text/plain")),
                       "ruleset:3:17-25: Error: Interface does not exist\n    oif { \"lo\", \"nosuch2\" }\n                ^^^^^^^^^")
        XCTAssertEqual(refusal(call("PUT", "/v1/stacks/h/ruleset", chain + "    dup to 1.2.3.4 device \"nosuch\"\n  }\n}\n", type: "text/plain")),
                       "ruleset:3:27-34: Error: Interface does not exist\n    dup to 1.2.3.4 device \"nosuch\"\n                          ^^^^^^^^")
        let netdev = "table netdev t {\n  chain c { type filter hook ingress device eth0 priority 0;\n"
        XCTAssertEqual(refusal(call("PUT", "/v1/stacks/h/ruleset", netdev + "    fwd to \"nosuch\"\n  }\n}\n", type: "text/plain")),
                       "ruleset:3:12-19: Error: Interface does not exist\n    fwd to \"nosuch\"\n           ^^^^^^^^")
        XCTAssertEqual(refusal(call("PUT", "/v1/stacks/h/ruleset", netdev + "    dup to ip saddr map { 1.2.3.4 : \"eth0\", 1.2.3.5 : \"eth1\" }\n  }\n}\n", type: "text/plain")),
                       "ruleset:3:55-60: Error: Interface does not exist\n    dup to ip saddr map { 1.2.3.4 : \"eth0\", 1.2.3.5 : \"eth1\" }\n                                                      ^^^^^^")
        let json = #"{"nftables":[{"table":{"family":"ip","name":"t"}},{"chain":{"family":"ip","table":"t","name":"c"}},"#
            + #"{"rule":{"family":"ip","table":"t","chain":"c","expr":[{"match":{"op":"==","left":{"meta":{"key":"iif"}},"right":"eth1"}}]}}]}"#
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", json, type: "application/json").json?["detail"], .string("/nftables: Interface does not exist"))
        XCTAssertEqual(refusal(call("POST", "/v1/stacks/h/ruleset/commands", "add table ip t\nadd chain ip t c\nadd rule ip t c iif eth1", type: "text/plain")),
                       "ruleset:3:21-24: Error: Interface does not exist\nadd rule ip t c iif eth1\n                    ^^^^")
        // Nothing above changed the ruleset; the stack's devices and lo load.
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset/versions").json?["items"], .array([]))
        let ok = call("PUT", "/v1/stacks/h/ruleset", chain + "    iif { \"eth0\", \"lo\" } oif lo accept\n  }\n}\n", type: "text/plain")
        XCTAssertEqual(ok.status, 200, ok.raw)
        XCTAssertEqual(call("POST", "/v1/stacks/h/ruleset/rules", #"{"family":"ip","table":"t","chain":"c","rule":"oif eth1"}"#).json?["detail"],
                       .string("refused (as nft refuses it) at line 1, column 5: Interface does not exist"))
    }

    /// An anonymous set of interface indexes lists in ifindex order, of names in their key's order
    /// (nft 1.0.6 on Linux 6.18, devices lo, eth1, eth0, alpha, zeta made in that order).
    func testInterfaceIndexSetsListInIfindexOrder() throws {
        let doc = #"{"name":"ifx","devices":[{"name":"eth1","mac":"02:00:00:00:00:01"},{"name":"eth0","mac":"02:00:00:00:00:02"},"#
            + #"{"name":"alpha","mac":"02:00:00:00:00:03"},{"name":"zeta","mac":"02:00:00:00:00:04"}]}"#
        XCTAssertEqual(call("POST", "/v1/stacks", doc).status, 201)
        let rules = "\t\tiif { \"zeta\", \"alpha\", \"eth1\", \"eth0\" } accept\n\t\tiifname { \"zeta\", \"alpha\", \"eth0\" } accept\n\t\toif != { \"zeta\", \"eth0\" } drop\n"
        let put = call("PUT", "/v1/stacks/ifx/ruleset", "table ip t {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n" + rules + "\t}\n}\n", type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        XCTAssertEqual(call("GET", "/v1/stacks/ifx/ruleset").raw, """
            table ip t {
            \tchain c {
            \t\ttype filter hook input priority filter; policy accept;
            \t\tiif { "eth1", "eth0", "alpha", "zeta" } accept
            \t\tiifname { "eth0", "zeta", "alpha" } accept
            \t\toif != { "eth0", "zeta" } drop
            \t}
            }

            """)
        // nft -j: the same orders.
        let json = call("GET", "/v1/stacks/ifx/ruleset", accept: "application/json").raw
        XCTAssertTrue(json.contains(#"{"meta":{"key":"iif"}},"right":{"set":["eth1","eth0","alpha","zeta"]}"#), json)
        XCTAssertTrue(json.contains(#"{"meta":{"key":"oif"}},"right":{"set":["eth0","zeta"]}"#), json)
        // A restart reads the stored listing back in the same order.
        let listed = call("GET", "/v1/stacks/ifx/ruleset").raw
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/ifx/ruleset").raw, listed)
    }

    /// `check=true` is nft -c: the answer says whether it would load; nothing runs or is stored.
    func testCheckOnlyAppliesAndStoresNothing() throws {
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", Self.ruleset, type: "text/plain").status, 200)
        let before = call("GET", "/v1/stacks/h/ruleset?handles=true").raw
        let ok = call("PUT", "/v1/stacks/h/ruleset?check=true", "table ip x {\n\tchain c {\n\t\taccept\n\t}\n}\n", type: "text/plain")
        XCTAssertEqual(ok.raw, #"{"check":"ok","tables":1,"rules":1}"# + "\n")
        let cmd = call("POST", "/v1/stacks/h/ruleset/commands?check=true", "add rule inet filter extra tcp dport 23 accept", type: "text/plain")
        XCTAssertEqual(cmd.raw, #"{"check":"ok","tables":1,"rules":4}"# + "\n")
        XCTAssertEqual(call("POST", "/v1/stacks/h/ruleset/commands?check=true", "add rule inet filter nowhere accept", type: "text/plain").status, 400)
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset?handles=true").raw, before)
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset/versions").json?["items"]?.rendered().components(separatedBy: "\"version\"").count, 2)
    }

    /// IPv6 rules load and act, sets rules update with IPv6 addresses and data maps keyed by
    /// them too (DynamicSet6Tests): the answer carries nothing but the version.
    func testIPv6RulesLoadWithoutReservations() throws {
        let put = call("PUT", "/v1/stacks/h/ruleset", "table inet f {\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tip6 saddr fe80::/10 accept\n\t\ticmpv6 type echo-request accept\n\t\tudp dport 53 accept\n\t}\n}\ntable ip6 six {\n}\n", type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        let dyn = call("PUT", "/v1/stacks/h/ruleset", "table inet f {\n\tset seen {\n\t\ttype ipv6_addr\n\t\tflags dynamic\n\t}\n\n\tchain i {\n\t\ttype filter hook input priority 0;\n\t\tadd @seen { ip6 saddr }\n\t\tip6 saddr . tcp dport { ::1 . 22 } accept\n\t\tmeta mark set ip6 saddr map { ::1 : 1 }\n\t}\n}\n", type: "text/plain")
        XCTAssertEqual(dyn.status, 200, dyn.raw)
        XCTAssertEqual(dyn.json?["notes"], nil, dyn.raw)
        XCTAssertTrue(dyn.raw.hasPrefix(#"{"version":"#) && dyn.raw.hasSuffix(#"","summary":"replace ruleset (1 tables)"}"# + "\n"), dyn.raw)
    }

    /// `reset counters` and `reset quota` start named objects from zero, as nft 1.0.6 does (the
    /// counters inside rules stay); `reset rules` (nft 1.0.8's) the rules' counters and quotas.
    func testResetCommandsZeroNamedObjects() throws {
        let rules = "table ip t {\n\tcounter c1 {\n\t\tpackets 0 bytes 0\n\t}\n\n\tquota q1 {\n\t\t100 bytes used 50 bytes\n\t}\n\n\tchain input {\n"
            + "\t\ttype filter hook input priority filter; policy accept;\n\t\tudp dport 53 counter name \"c1\" counter\n\t}\n}\n"
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", rules, type: "text/plain").status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets", Self.udp53).status, 200)
        XCTAssertTrue(call("GET", "/v1/stacks/h/ruleset").raw.contains("\t\tpackets 1 bytes 28\n"))
        XCTAssertEqual(call("POST", "/v1/stacks/h/ruleset/commands", "reset counters\nreset quota ip t q1", type: "text/plain").status, 200)
        let listed = call("GET", "/v1/stacks/h/ruleset").raw
        XCTAssertTrue(listed.contains("\tcounter c1 {\n\t\tpackets 0 bytes 0\n\t}"), listed)
        XCTAssertTrue(listed.contains("\tquota q1 {\n\t\t100 bytes\n\t}"), listed)
        XCTAssertTrue(listed.contains("udp dport 53 counter name \"c1\" counter packets 1 bytes 28"), listed)
        XCTAssertEqual(call("POST", "/v1/stacks/h/ruleset/commands", "reset rules chain ip t input", type: "text/plain").status, 200)
        let zeroed = call("GET", "/v1/stacks/h/ruleset").raw
        XCTAssertTrue(zeroed.contains("udp dport 53 counter name \"c1\" counter packets 0 bytes 0"), zeroed)
        XCTAssertTrue(zeroed.contains("\tcounter c1 {\n\t\tpackets 0 bytes 0\n\t}"), zeroed)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets", Self.udp53).status, 200)
        XCTAssertTrue(call("GET", "/v1/stacks/h/ruleset").raw.contains("udp dport 53 counter name \"c1\" counter packets 1 bytes 28"))
        XCTAssertEqual(call("POST", "/v1/stacks/h/ruleset/commands", "reset rules chain ip t nope", type: "text/plain").status, 400)
        XCTAssertEqual(call("POST", "/v1/stacks/h/ruleset/commands", "reset quota ip t nope", type: "text/plain").status, 400)
    }

    func testReplaceListAndTraceWithNetfilterEvents() throws {
        let put = call("PUT", "/v1/stacks/h/ruleset", Self.ruleset, type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        XCTAssertEqual(put.json?["version"], .int(1))
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset?handles=true").raw, """
        table inet filter { # handle 1
        \tchain input { # handle 1
        \t\ttype filter hook input priority filter; policy drop;
        \t\tudp dport 53 counter packets 0 bytes 0 accept # handle 3
        \t\tjump extra # handle 4
        \t}

        \tchain extra { # handle 2
        \t\ttcp dport 22 accept # handle 5
        \t}
        }

        """)
        let ok = call("POST", "/v1/stacks/h/packets?sync=true", Self.udp53)
        XCTAssertEqual(ok.json?["results"]?.rendered().contains(#""netfilter":[{"hook":"input","table":"inet filter","chain":"input","type":"rule","handle":3,"rule":"udp dport 53 counter packets 0 bytes 0 accept","verdict":"accept","generated":false,"packet":"iif \"eth0\" ether saddr 02:00:00:00:00:01 ether daddr 02:00:00:00:00:02 ip saddr 198.18.0.1 ip daddr 198.18.0.2 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 0 ip protocol udp ip length 28 udp sport 9 udp dport 53 udp length 8 "}]"#), true, ok.raw)
        let dropped = call("POST", "/v1/stacks/h/packets?sync=true", Self.udp54)
        XCTAssertEqual(dropped.json?["results"]?.rendered().contains(#""drop_reason":"NETFILTER_DROP""#), true, dropped.raw)
        XCTAssertEqual(app.respond(to: HTTPRequest(method: "GET", target: "/v1/traces/2?format=nft")).body, Array("""
        trace id 00000002 inet filter input packet: iif "eth0" ether saddr 02:00:00:00:00:01 ether daddr 02:00:00:00:00:02 ip saddr 198.18.0.1 ip daddr 198.18.0.2 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 0 ip protocol udp ip length 28 udp sport 9 udp dport 54 udp length 8\u{20}
        trace id 00000002 inet filter input rule jump extra (verdict jump extra)
        trace id 00000002 inet filter input policy drop\u{20}

        """.utf8))
        XCTAssertTrue(call("GET", "/v1/stacks/h/ruleset").raw.contains("udp dport 53 counter packets 1 bytes 28 accept"))
        XCTAssertEqual(call("POST", "/v1/stacks/h/ruleset/counters/reset").status, 204)
        XCTAssertTrue(call("GET", "/v1/stacks/h/ruleset").raw.contains("udp dport 53 counter packets 0 bytes 0 accept"))
        let json = call("GET", "/v1/stacks/h/ruleset", accept: "application/json")
        XCTAssertEqual(json.json?["nftables"]?.rendered().contains(#"{"chain":{"family":"inet","table":"filter","name":"input","handle":1,"type":"filter","hook":"input","prio":0,"policy":"drop"}}"#), true, json.raw)
        // The same JSON loads back (nft -j -f) to the same ruleset.
        let before = call("GET", "/v1/stacks/h/ruleset?handles=true").raw
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", json.raw, type: "application/json").status, 200)
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset?handles=true").raw, before)
    }

    /// iptables-save text in: translated as iptables-nft-restore loads it; traces carry the iptables
    /// line beside the nft rule (as nft lists it: the comment is an xtables match, printed as
    /// nothing); iptables-nft-save's form comes back with the policy counters; the iptables lines
    /// survive a restart; a refused file changes nothing.
    func testIptablesSaveInTracedAndSavedBack() throws {
        let save = """
        # Generated by iptables-nft-save v1.8.9 (nf_tables)
        *filter
        :INPUT DROP [0:0]
        :FORWARD ACCEPT [0:0]
        :OUTPUT ACCEPT [0:0]
        -A INPUT -p udp --dport 53 -m comment --comment "dns in" -j ACCEPT
        COMMIT

        """
        let put = call("PUT", "/v1/stacks/h/ruleset", save, type: "text/plain")
        XCTAssertEqual(put.status, 200, put.raw)
        XCTAssertEqual(put.json?["summary"], .string("replace ruleset (1 tables, from iptables-save)"))
        let ok = call("POST", "/v1/stacks/h/packets?sync=true", Self.udp53)
        XCTAssertEqual(ok.json?["results"]?.rendered().contains(#""netfilter":[{"hook":"input","table":"ip filter","chain":"INPUT","type":"rule","handle":4,"rule":"udp dport 53  counter packets 0 bytes 0 accept","iptables":"-A INPUT -p udp -m udp --dport 53 -m comment --comment \"dns in\" -j ACCEPT","verdict":"accept","generated":false,"packet":"iif \"eth0\" ether saddr 02:00:00:00:00:01 ether daddr 02:00:00:00:00:02 ip saddr 198.18.0.1 ip daddr 198.18.0.2 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 0 ip length 28 udp sport 9 udp dport 53 udp length 8 "},"#), true, ok.raw)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?sync=true", Self.udp54).json?["results"]?.rendered().contains(#""drop_reason":"NETFILTER_DROP""#), true)
        let saved = """
        *filter
        :INPUT DROP [1:28]
        :FORWARD ACCEPT [0:0]
        :OUTPUT ACCEPT [1:56]
        -A INPUT -p udp -m udp --dport 53 -m comment --comment "dns in" -j ACCEPT
        COMMIT
        # Completed

        """
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset?format=iptables-save").raw, "# Generated by packetstack (iptables-nft-save format) for stack h\n" + saved)
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset").raw, """
        table ip filter {
        \tchain INPUT {
        \t\ttype filter hook input priority filter; policy drop;
        \t\tudp dport 53  counter packets 1 bytes 28 accept
        \t}

        \tchain FORWARD {
        \t\ttype filter hook forward priority filter; policy accept;
        \t}

        \tchain OUTPUT {
        \t\ttype filter hook output priority filter; policy accept;
        \t}
        }

        """)
        // (The OUTPUT policy passed the port-unreachable answer to the first packet: no socket on port 53.)
        // A refused file: the line and column, iptables-nft-restore's message; nothing changes.
        let bad = call("PUT", "/v1/stacks/h/ruleset?format=iptables-save", "*filter\n-A INPUT --dport 22 -j ACCEPT\nCOMMIT\n", type: "text/plain")
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(bad.json?["iptables"], .string("iptables-nft-restore v1.8.9 (nf_tables): unknown option \"--dport\"\nError occurred at line: 2"))
        XCTAssertEqual(bad.json?["column"], .int(10))
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset/versions").json?["items"]?.rendered().contains(#""version":2"#), false)
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset?format=pf").status, 400)
        // After a restart the rules still know their iptables lines.
        try reopen()
        XCTAssertTrue(call("GET", "/v1/stacks/h/ruleset?format=iptables-save").raw.contains("-A INPUT -p udp -m udp --dport 53 -m comment --comment \"dns in\" -j ACCEPT\n"))
        // ... and list as the kernel holds them (from those lines: the checkpoint keeps what they do).
        let relisted = call("GET", "/v1/stacks/h/ruleset").raw
        XCTAssertTrue(relisted.contains("\t\tudp dport 53  counter packets ") && !relisted.contains("comment"), relisted)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?sync=true", Self.udp53).json?["results"]?.rendered().contains(#""iptables":"-A INPUT -p udp -m udp --dport 53"#), true)
    }

    /// `list` inside a batch prints nft's cache, as recorded (scripts/record_list_in_batch.sh, nft
    /// 1.0.6): the ruleset before the batch as evaluating all of it left it, before it is committed.
    func testListInABatchPrintsNftsCache() throws {
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", """
        table ip pre {
        \tcounter k { }
        \tset s { type ipv4_addr; elements = { 9.9.9.9 } }
        \tset s3 { type ipv4_addr; elements = { 8.8.8.8 } }
        \tchain c { counter; tcp dport 1 accept; }
        \tchain e { }
        }

        """, type: "text/plain").status, 200)
        let batch1 = call("POST", "/v1/stacks/h/ruleset/commands", """
        add rule ip pre c udp dport 53 accept
        add element ip pre s { 2.2.2.2 }
        delete element ip pre s { 9.9.9.9 }
        flush chain ip pre c
        rename chain ip pre e e2
        add chain ip pre d { type filter hook output priority 0; policy drop; }
        table ip t { set n { type inet_service; elements = { 22, 80 }; }; chain c { type filter hook input priority 0; tcp dport 22 accept; }; }
        add table ip new
        list ruleset
        delete table ip new
        list tables

        """, type: "text/plain")
        XCTAssertEqual(batch1.json?["output"], .string("""
        table ip pre {
        \tcounter k {
        \t\tpackets 0 bytes 0
        \t}

        \tset s {
        \t\ttype ipv4_addr
        \t\telements = { 9.9.9.9 }
        \t}

        \tset s3 {
        \t\ttype ipv4_addr
        \t\telements = { 8.8.8.8 }
        \t}

        \tchain c {
        \t\tcounter packets 0 bytes 0
        \t\ttcp dport 1 accept
        \t}

        \tchain e {
        \t}

        \tchain d {
        \t\ttype filter hook output priority filter; policy drop;
        \t}
        }
        table ip t {
        \tset n {
        \t\ttype inet_service
        \t\telements = { 22, 80 }
        \t}

        \tchain c {
        \t\ttype filter hook input priority filter;
        \t}
        }
        table ip pre
        table ip t

        """), batch1.raw)
        let batch2 = call("POST", "/v1/stacks/h/ruleset/commands", """
        flush set ip pre s
        delete set ip pre s3
        delete counter ip pre k
        delete chain ip pre d
        add counter ip pre k2
        list table ip pre

        """, type: "text/plain")
        XCTAssertEqual(batch2.json?["output"], .string("""
        table ip pre {
        \tcounter k2 {
        \t\tpackets 0 bytes 0
        \t}

        \tset s {
        \t\ttype ipv4_addr
        \t}

        \tchain c {
        \t}

        \tchain e2 {
        \t}
        }

        """), batch2.raw)
        // A `flush ruleset` anywhere: the cache starts empty.
        let batch3 = call("POST", "/v1/stacks/h/ruleset/commands", """
        table ip x { chain y { type filter hook input priority 0; policy drop; }; }
        list ruleset
        flush ruleset

        """, type: "text/plain")
        XCTAssertEqual(batch3.json?["output"], .string("""
        table ip x {
        \tchain y {
        \t\ttype filter hook input priority filter; policy drop;
        \t}
        }

        """), batch3.raw)
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset").raw, "")
    }

    /// A ruleset and the files its includes name as multipart/form-data (curl -F); an error in an
    /// included file names it. `list` commands answer what nft -f prints.
    func testIncludesFromMultipartAndListOutput() throws {
        func multipart(_ parts: [(String, String?, String)]) -> String {
            parts.map { "--XyZ\r\nContent-Disposition: form-data; name=\"\($0.0)\"" + ($0.1.map { "; filename=\"\($0)\"" } ?? "") + "\r\n\r\n\($0.2)\r\n" }.joined() + "--XyZ--\r\n"
        }
        let main = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tinclude \"/etc/nftables.d/*.nft\"\n\t}\n}\n"
        let type = "multipart/form-data; boundary=XyZ"
        let ok = call("PUT", "/v1/stacks/h/ruleset", multipart([("ruleset", "nftables.conf", main), ("f", "nftables.d/dns.nft", "udp dport 53 counter accept\n")]), type: type)
        XCTAssertEqual(ok.status, 200, ok.raw)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets?sync=true", Self.udp53).json?["results"]?.rendered().contains(#""verdict":"accept""#), true)
        let bad = call("PUT", "/v1/stacks/h/ruleset", multipart([("ruleset", nil, main), ("f", "nftables.d/dns.nft", "udp dport dns53 accept\n")]), type: type)
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(bad.json?["file"], .string("nftables.d/dns.nft"))
        XCTAssertEqual(bad.json?["nft"], .string("nftables.d/dns.nft:1:11-15: Error: Could not resolve service: Servname not supported for ai_socktype\nudp dport dns53 accept\n          ^^^^^"))
        let missing = call("PUT", "/v1/stacks/h/ruleset", "include \"lan.nft\"\n", type: "text/plain")
        XCTAssertEqual(missing.json?["detail"], .string("refused (as nft refuses it) at line 1, column 1: File not found: lan.nft (the request carries no other files)"))
        // list: printed with live counters; a batch of lists alone stores no version.
        let versions = call("GET", "/v1/stacks/h/ruleset/versions").raw
        let listed = call("POST", "/v1/stacks/h/ruleset/commands", "list chain inet filter input\nlist tables\n", type: "text/plain")
        XCTAssertEqual(listed.json?["output"], .string("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tudp dport 53 counter packets 1 bytes 28 accept\n\t}\n}\ntable inet filter\n"))
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset/versions").raw, versions)
        let both = call("POST", "/v1/stacks/h/ruleset/commands", "add table ip t\nlist tables\n", type: "text/plain")
        XCTAssertEqual(both.json?["output"], .string("table inet filter\ntable ip t\n"))
        XCTAssertEqual(both.json?["version"], .int(2))
    }

    func testSyntaxErrorsChangeNothing() throws {
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", Self.ruleset, type: "text/plain").status, 200)
        let bad = call("PUT", "/v1/stacks/h/ruleset", "table inet filter {\n  chain input { tcp dport bogus accept; }\n}", type: "text/plain")
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(bad.json?["line"], .int(2))
        XCTAssertEqual(bad.json?["column"], .int(27))
        XCTAssertEqual(bad.json?["type"], .string("urn:packetstack:problem:ruleset-syntax"))
        // As nft -f prints it: where, the line, carets under the token.
        XCTAssertEqual(bad.json?["nft"], .string("ruleset:2:27-31: Error: Could not resolve service: Servname not supported for ai_socktype\n  chain input { tcp dport bogus accept; }\n                          ^^^^^"))
        let tabbed = call("PUT", "/v1/stacks/h/ruleset", "table ip t {\n\tchain c {\n\t\tjump nowhere\n\t}\n}\n", type: "text/plain")
        XCTAssertEqual(tabbed.json?["nft"], .string("ruleset:3:8-14: Error: Could not process rule: No such file or directory (no chain 'nowhere' in table ip t)\n\t\tjump nowhere\n\t\t     ^^^^^^^"), tabbed.raw)
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset/versions").json?["items"]?.rendered().components(separatedBy: "version").count, 2)
        XCTAssertTrue(call("GET", "/v1/stacks/h/ruleset").raw.contains("jump extra"))
        let badJSON = call("PUT", "/v1/stacks/h/ruleset", #"{"nftables":[{"rule":{"family":"inet","table":"filter","chain":"input","expr":[{"wat":1}]}}]}"#, type: "application/json")
        XCTAssertEqual(badJSON.status, 400)
        XCTAssertEqual(badJSON.json?["pointer"], .string("/nftables/0/rule/expr/0/wat"))
        XCTAssertTrue(call("GET", "/v1/stacks/h/ruleset").raw.contains("jump extra"))
    }

    func testRulesByHandleCommandsVersionsAndRollback() throws {
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", Self.ruleset, type: "text/plain").status, 200)
        let ins = call("POST", "/v1/stacks/h/ruleset/rules", #"{"family":"inet","table":"filter","chain":"input","rule":"udp dport 54 drop","insert":true}"#)
        XCTAssertEqual(ins.status, 201, ins.raw)
        XCTAssertEqual(ins.json?["handle"], .int(6))
        XCTAssertEqual(ins.json?["version"], .int(2))
        let bad = call("POST", "/v1/stacks/h/ruleset/rules", #"{"table":"filter","chain":"input","rule":"udp dport x drop"}"#)
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(bad.json?["column"], .int(11))
        XCTAssertTrue(call("GET", "/v1/stacks/h/ruleset?handles=true").raw.contains("policy drop;\n\t\tudp dport 54 drop # handle 6\n"))
        XCTAssertEqual(call("POST", "/v1/stacks/h/ruleset/commands", "add table ip t2\nadd chain ip t2 c { type filter hook forward priority 0; }", type: "text/plain").json?["version"], .int(3))
        XCTAssertEqual(call("DELETE", "/v1/stacks/h/ruleset/rules/6?family=inet&table=filter").json?["version"], .int(4))
        XCTAssertEqual(call("DELETE", "/v1/stacks/h/ruleset/rules/6?family=inet&table=filter").status, 404)
        let versions = call("GET", "/v1/stacks/h/ruleset/versions")
        XCTAssertEqual(versions.json?["items"]?.rendered().components(separatedBy: #""summary":"#).count, 5, versions.raw)
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset/versions/1").raw, call("GET", "/v1/stacks/h/ruleset/versions/1", accept: "application/json").json?["ruleset"].flatMap { if case .string(let s) = $0 { s } else { nil } })
        let rb = call("POST", "/v1/stacks/h/ruleset/versions/1/rollback")
        XCTAssertEqual(rb.json?["version"], .int(5))
        XCTAssertFalse(call("GET", "/v1/stacks/h/ruleset").raw.contains("t2"))
        // The ruleset in force survives a restart.
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/h/ruleset").raw, NFTablesRendering.expectedAfterRollback)
        let dropped = call("POST", "/v1/stacks/h/packets", Self.udp54)
        XCTAssertEqual(dropped.json?["results"]?.rendered().contains(#""drop_reason":"NETFILTER_DROP""#), true)
    }

    func testConntrackListing() throws {
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", "table inet f { chain i { type filter hook input priority 0; ct state new accept; }; }", type: "text/plain").status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/h/packets", Self.udp53).status, 200)
        // As conntrack -L prints it: the UDP timeout (30 s unreplied) counts down in virtual time.
        XCTAssertEqual(call("GET", "/v1/stacks/h/conntrack").raw,
                       "udp      17 30 src=198.18.0.1 dst=198.18.0.2 sport=9 dport=53 [UNREPLIED] src=198.18.0.2 dst=198.18.0.1 sport=53 dport=9 mark=0 use=1\n")
        XCTAssertEqual(call("POST", "/v1/stacks/h/clock", #"{"advance_ns":10000000000}"#).status, 200)
        XCTAssertEqual(call("GET", "/v1/stacks/h/conntrack").raw,
                       "udp      17 20 src=198.18.0.1 dst=198.18.0.2 sport=9 dport=53 [UNREPLIED] src=198.18.0.2 dst=198.18.0.1 sport=53 dport=9 mark=0 use=1\n")
        XCTAssertEqual(call("GET", "/v1/stacks/h/conntrack", accept: "application/json").raw, #"{"items":[{"protocol":"udp","protonum":17,"timeout":20,"state":null,"#
                       + #""original":{"src":"198.18.0.1","dst":"198.18.0.2","sport":9,"dport":53},"reply":{"src":"198.18.0.2","dst":"198.18.0.1","sport":53,"dport":9},"#
                       + #""unreplied":true,"assured":false,"mark":0,"use":1,"id":2181382699}]}"# + "\n")
        XCTAssertEqual(call("POST", "/v1/stacks/h/clock", #"{"advance_ns":21000000000}"#).status, 200)
        XCTAssertEqual(call("GET", "/v1/stacks/h/conntrack").raw, "")
    }

    /// Zones as conntrack -L prints them (zone= after the mark, zone-orig= and zone-reply= in
    /// their tuple) and in the JSON. (The earlier entries are a few µs of virtual time older: 29 s left.)
    func testConntrackZonesListing() throws {
        let rules = "table ip raw { chain pre { type filter hook prerouting priority raw; udp sport 9 ct zone set 7; udp sport 10 ct original zone set 8; udp sport 11 ct reply zone set 9; }; }"
        XCTAssertEqual(call("PUT", "/v1/stacks/h/ruleset", rules, type: "text/plain").status, 200)
        for port in [9, 10, 11, 12] {
            XCTAssertEqual(call("POST", "/v1/stacks/h/packets", Self.udp53.replacingOccurrences(of: #""sport":9"#, with: #""sport":\#(port)"#)).status, 200)
        }
        XCTAssertEqual(call("GET", "/v1/stacks/h/conntrack").raw, """
            udp      17 29 src=198.18.0.1 dst=198.18.0.2 sport=9 dport=53 [UNREPLIED] src=198.18.0.2 dst=198.18.0.1 sport=53 dport=9 mark=0 zone=7 use=1
            udp      17 29 src=198.18.0.1 dst=198.18.0.2 sport=10 dport=53 zone-orig=8 [UNREPLIED] src=198.18.0.2 dst=198.18.0.1 sport=53 dport=10 mark=0 use=1
            udp      17 29 src=198.18.0.1 dst=198.18.0.2 sport=11 dport=53 [UNREPLIED] src=198.18.0.2 dst=198.18.0.1 sport=53 dport=11 zone-reply=9 mark=0 use=1
            udp      17 30 src=198.18.0.1 dst=198.18.0.2 sport=12 dport=53 [UNREPLIED] src=198.18.0.2 dst=198.18.0.1 sport=53 dport=12 mark=0 use=1

            """)
        guard case .array(let items) = call("GET", "/v1/stacks/h/conntrack", accept: "application/json").json?["items"] ?? .null else { return XCTFail("no items") }
        XCTAssertEqual(items.map { e in ["zone", "zone_orig", "zone_reply"].map { e[$0] } },
                       [[.int(7), nil, nil], [nil, .int(8), nil], [nil, nil, .int(9)], [nil, nil, nil]])
    }
}

enum NFTablesRendering {
    static let expectedAfterRollback = """
    table inet filter {
    \tchain input {
    \t\ttype filter hook input priority filter; policy drop;
    \t\tudp dport 53 counter packets 0 bytes 0 accept
    \t\tjump extra
    \t}

    \tchain extra {
    \t\ttcp dport 22 accept
    \t}
    }

    """
}
