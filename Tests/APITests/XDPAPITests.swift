import API
import Foundation
import JSON
import TestSupport
import XCTest

/// XDP over the API: attach an object clang compiled, see what it did per packet (action, printk,
/// instructions), read and write its maps as bpftool does, detach; attachments survive a restart.
final class XDPAPITests: AppTestCase {
    static let clang = ProcessInfo.processInfo.environment["ORACLE_CLANG"] ?? "/usr/bin/clang"
    static let stack = #"{"name":"x","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"],"veth":true}],"sockets":[{"port":53}]}"#
    static let source = """
        #include <linux/bpf.h>
        #include <linux/if_ether.h>
        #include <linux/ip.h>
        #include <linux/in.h>
        #include <linux/udp.h>
        #include <bpf/bpf_helpers.h>
        #include <bpf/bpf_endian.h>

        struct {
            __uint(type, BPF_MAP_TYPE_HASH);
            __type(key, __u16);
            __type(value, __u64);
            __uint(max_entries, 16);
        } blocked SEC(".maps");

        SEC("xdp")
        int drop_blocked(struct xdp_md *ctx)
        {
            void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
            struct ethhdr *eth = data;
            if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
                return XDP_PASS;
            struct iphdr *ip = (void *)(eth + 1);
            if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP)
                return XDP_PASS;
            struct udphdr *udp = (void *)ip + ip->ihl * 4;
            if ((void *)(udp + 1) > end)
                return XDP_PASS;
            __u16 port = bpf_ntohs(udp->dest);
            __u64 *hits = bpf_map_lookup_elem(&blocked, &port);
            if (!hits)
                return XDP_PASS;
            __sync_fetch_and_add(hits, 1);
            bpf_printk("drop %d", port);
            return XDP_DROP;
        }

        char _license[] SEC("license") = "GPL";
        """

    func object(_ source: String) throws -> String { try Self.compile(source) }

    /// A C source compiled with clang -target bpf, as base64 for the API.
    static func compile(_ source: String) throws -> String {
        try skipUnless(have(clang, ["--version"]) && FileManager.default.fileExists(atPath: "/usr/include/bpf/bpf_helpers.h"),
                       "clang and libbpf-dev (apt-get install clang llvm libbpf-dev) compile the XDP programs")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("psxdp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try source.write(to: dir.appendingPathComponent("prog.c"), atomically: true, encoding: .utf8)
        let r = try shell([clang, "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", "prog.c", "-o", "prog.o"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.err)
        return try Data(contentsOf: dir.appendingPathComponent("prog.o")).base64EncodedString()
    }

    func udp(_ dport: Int) -> String {
        #"{"packets":[{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.7"},"udp":{"sport":9,"dport":\#(dport)}}]}"#
    }
    func run(_ dport: Int, _ query: String = "") -> JSONValue? {
        guard case .array(let r) = call("POST", "/v1/stacks/x/packets?sync=true" + query, udp(dport)).json?["results"] else { return nil }
        return r.first
    }

    func testAttachRunMapsDetachAndRestart() throws {
        let obj = try object(Self.source)
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        let attach = #"{"dev":"eth0","mode":"native","object":"\#(obj)","maps":{"blocked":[["3500","0000000000000000"]]}}"#
        let a = call("POST", "/v1/stacks/x/xdp", attach)
        XCTAssertEqual(a.status, 201, a.raw)
        XCTAssertEqual(a.json?["xdp"]?["mode"], .int(1))
        XCTAssertEqual(a.json?["xdp"]?["prog"]?["name"], .string("drop_blocked"))
        XCTAssertEqual(a.json?["xdp"]?["prog"]?["map_ids"], .array([.int(2), .int(3)]))
        // A second program needs force, as ip asks for -force.
        XCTAssertEqual(call("POST", "/v1/stacks/x/xdp", attach).status, 409)

        // Port 53 is blocked: XDP_DROP before any skb, its printk and its counter.
        let d = try XCTUnwrap(run(53, "&xdp=insns"))
        XCTAssertEqual(d["outcome"], .string("dropped"))
        XCTAssertEqual(d["drop_reason"], .string("XDP"))
        XCTAssertEqual(d["xdp"]?["action"], .string("XDP_DROP"))
        XCTAssertEqual(d["xdp"]?["result"], .string("dropped"))
        XCTAssertEqual(d["xdp"]?["printk"], .array([.string("drop 53")]))
        guard case .int(let n)? = d["xdp"]?["instructions"], case .array(let steps)? = d["xdp"]?["steps"] else { return XCTFail("\(String(describing: d["xdp"]))") }
        XCTAssertEqual(steps.count, n, "one step per instruction run")
        XCTAssertEqual(steps.first?["insn"], .string("r6 = 2"))
        XCTAssertEqual(steps.first?["value"], .string("0x2"))
        XCTAssertEqual(steps.last?["insn"], .string("exit"))
        XCTAssertEqual(steps.last?["value"], .string("0x1"))
        XCTAssertEqual(d["stages"]?.arrayValue?.map { $0["function"] }, ["nic_receive", "napi_poll", "veth_xdp_rcv", "bpf_prog_run_xdp", "kfree_skb_reason"].map { .string($0) })
        // Port 54 is not: XDP_PASS, delivered to nothing listening → ICMP port unreachable.
        let p = try XCTUnwrap(run(54))
        XCTAssertEqual(p["xdp"]?["action"], .string("XDP_PASS"))
        XCTAssertEqual(p["drop_reason"], .string("NO_SOCKET"))
        XCTAssertNil(p["xdp"]?["steps"])
        // veth's ethtool -S: both 42-byte frames went through native XDP (counted without the Ethernet header), one dropped.
        let ethtool = call("GET", "/v1/stacks/x/stats").json?["devices"]?["eth0"]?["ethtool"]
        XCTAssertEqual(ethtool?["rx_queue_0_xdp_packets"], .int(2))
        XCTAssertEqual(ethtool?["rx_queue_0_xdp_bytes"], .int(2 * (42 - 14)))
        XCTAssertEqual(ethtool?["rx_queue_0_xdp_drops"], .int(1))

        // bpftool map show / dump / update / delete.
        let maps = call("GET", "/v1/stacks/x/bpf/maps").json
        XCTAssertEqual(maps?.arrayValue?.map { $0["name"] }, [.string("blocked"), .string("prog.rodata")])
        XCTAssertEqual(maps?[0]?["type"], .string("hash"))
        XCTAssertEqual(call("GET", "/v1/stacks/x/bpf/maps/blocked").raw,
                       #"[{"key":["0x35","0x00"],"value":["0x01","0x00","0x00","0x00","0x00","0x00","0x00","0x00"]}]"# + "\n")
        XCTAssertEqual(call("GET", "/v1/stacks/x/bpf/maps/prog.rodata").json?[0]?["value"]?.arrayValue?.count, 8, "\"drop %d\" and its NUL")
        XCTAssertEqual(call("POST", "/v1/stacks/x/bpf/maps/2", #"{"key":"3600","value":"0000000000000000","flags":"noexist"}"#).status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/x/bpf/maps/2", #"{"key":"3600","value":"0000000000000000","flags":"noexist"}"#).status, 409)
        XCTAssertEqual(call("POST", "/v1/stacks/x/bpf/maps/blocked", #"{"key":"36","value":"00"}"#).status, 422)
        XCTAssertEqual(run(54)?["xdp"]?["action"], .string("XDP_DROP"))
        XCTAssertEqual(call("DELETE", "/v1/stacks/x/bpf/maps/blocked?key=3500").status, 204)
        XCTAssertEqual(call("DELETE", "/v1/stacks/x/bpf/maps/blocked?key=3500").status, 404)
        XCTAssertEqual(call("DELETE", "/v1/stacks/x/bpf/maps/prog.rodata?key=00000000").status, 422)
        XCTAssertEqual(run(53)?["xdp"]?["action"], .string("XDP_PASS"))
        XCTAssertEqual(call("GET", "/v1/stacks/x/bpf/progs").json?[0]?["name"], .string("drop_blocked"))

        // A restart loads the same program; with no checkpoint since, the maps hold what the API wrote.
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/x/xdp").json?[0]?["xdp"]?["prog"]?["name"], .string("drop_blocked"))
        XCTAssertEqual(call("GET", "/v1/stacks/x/bpf/maps/blocked").raw,
                       #"[{"key":["0x36","0x00"],"value":["0x00","0x00","0x00","0x00","0x00","0x00","0x00","0x00"]}]"# + "\n")
        XCTAssertEqual(run(54)?["xdp"]?["action"], .string("XDP_DROP"))

        XCTAssertEqual(call("DELETE", "/v1/stacks/x/xdp?dev=eth0").status, 204)
        XCTAssertEqual(call("DELETE", "/v1/stacks/x/xdp?dev=eth0").status, 404)
        XCTAssertEqual(call("GET", "/v1/stacks/x/xdp").json, .array([]))
        XCTAssertNil(run(54)?["xdp"])
    }

    /// What programs wrote into their maps survives a restart through the checkpoint, and a fork.
    func testMapContentsSurviveARestartAndAFork() throws {
        let obj = try object(Self.source)
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/x/xdp", #"{"dev":"eth0","object":"\#(obj)","maps":{"blocked":[["3500","0000000000000000"]]}}"#).status, 201)
        for _ in 0..<3 { XCTAssertEqual(run(53)?["xdp"]?["action"], .string("XDP_DROP")) }
        let counted = #"[{"key":["0x35","0x00"],"value":["0x03","0x00","0x00","0x00","0x00","0x00","0x00","0x00"]}]"# + "\n"
        XCTAssertEqual(call("GET", "/v1/stacks/x/bpf/maps/blocked").raw, counted)
        XCTAssertEqual(call("POST", "/v1/stacks/x/fork", #"{"name":"y"}"#).status, 201)
        XCTAssertEqual(call("GET", "/v1/stacks/y/bpf/maps/blocked").raw, counted)
        app.checkpoint()   // the fork checkpointed both; this one saves what the reads since used
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/x/bpf/maps/blocked").raw, counted)
        XCTAssertEqual(call("GET", "/v1/stacks/y/bpf/maps/blocked").raw, counted)
        XCTAssertEqual(run(53)?["xdp"]?["action"], .string("XDP_DROP"))
        XCTAssertEqual(call("GET", "/v1/stacks/x/bpf/maps/blocked").json?[0]?["value"]?[0], .string("0x04"))
    }

    /// A cpumap over the API: entries as cpu_map_update_elem takes them, and a redirected frame
    /// taken to the stack by the other CPU's kthread.
    func testCpumapRedirect() throws {
        let src = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("OracleTests/CorpusXDP/xdp_cpumap_1.json"), encoding: .utf8)
        guard case .object(let c)? = try? JSONParser.parse(Array(src.utf8)), case .array(let xdp)? = c.first(where: { $0.0 == "xdp" })?.1,
              case .string(let code)? = xdp.first?["c"] else { return XCTFail("the cpumap case's source") }
        let obj = try object(code)
        XCTAssertEqual(call("POST", "/v1/stacks", #"{"name":"x","cpus":2,"devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"],"veth":true}],"sockets":[{"port":5000}]}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/x/xdp", #"{"dev":"eth0","mode":"native","object":"\#(obj)"}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/x/bpf/maps/cpu_map", #"{"key":"05000000","value":"c0000000"}"#).status, 422, "no CPU 5")
        XCTAssertEqual(call("POST", "/v1/stacks/x/bpf/maps/cpu_map", #"{"key":"01000000","value":"00500000"}"#).json?["detail"], .string("qsize 20480 is over 16384 (EOVERFLOW)"))
        XCTAssertEqual(call("POST", "/v1/stacks/x/bpf/maps/cpu_map", #"{"key":"01000000","value":"c0000000"}"#).status, 200)
        XCTAssertEqual(call("GET", "/v1/stacks/x/bpf/maps").json?[0]?["type"], .string("cpumap"))
        let r = try XCTUnwrap(run(5000))
        XCTAssertEqual(r["xdp"]?["action"], .string("XDP_REDIRECT"))
        XCTAssertEqual(r["xdp"]?["result"], .string("redirected"))
        XCTAssertEqual(r["outcome"], .string("delivered"))
        let stages = r["stages"]?.arrayValue?.map { st -> String in
            guard case .string(let f)? = st["function"], case .int(let c)? = st["cpu"] else { return "?" }
            return "\(f) \(c)"
        } ?? []
        XCTAssertEqual(Array(stages.prefix(7)), ["nic_receive 0", "napi_poll 0", "veth_xdp_rcv 0", "bpf_prog_run_xdp 0", "xdp_do_redirect 0", "cpu_map_enqueue 0", "cpu_map_kthread_run 1"])
        XCTAssertTrue(stages.contains("udp_queue_rcv_skb 1"), "\(stages)")
    }

    /// Raw instructions with maps defined in JSON (BPF_PROG_LOAD's form): count in an array map, drop.
    func testRawInstructions() throws {
        let insns = ["620afcff00000000", "bfa2000000000000", "07020000fcffffff", "1811000000000000", "0000000000000000", "8500000001000000",
                     "1500020000000000", "b701000001000000", "db10000000000000", "b700000001000000", "9500000000000000"].joined()
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        let a = call("POST", "/v1/stacks/x/xdp", #"{"dev":"eth0","mode":"native","insns":"\#(insns)","name":"count_drop","map_defs":[{"name":"counts","type":"array","key_size":4,"value_size":8,"max_entries":1}]}"#)
        XCTAssertEqual(a.status, 201, a.raw)
        XCTAssertEqual(a.json?["xdp"]?["prog"]?["name"], .string("count_drop"))
        for _ in 0..<2 { XCTAssertEqual(run(53)?["xdp"]?["action"], .string("XDP_DROP")) }
        XCTAssertEqual(call("GET", "/v1/stacks/x/bpf/maps/counts").json?[0]?["value"]?[0], .string("0x02"))
        try reopen()
        XCTAssertEqual(run(53)?["xdp"]?["action"], .string("XDP_DROP"), "the raw program is stored with the stack")
        XCTAssertEqual(call("GET", "/v1/stacks/x/xdp").json?[0]?["xdp"]?["prog"]?["name"], .string("count_drop"))
        // Refusals: not whole instructions, an unknown map type, the verifier's (the NULL check left out).
        XCTAssertEqual(call("POST", "/v1/stacks/x/xdp", #"{"dev":"eth0","force":true,"insns":"b7000000"}"#).status, 422)
        XCTAssertEqual(call("POST", "/v1/stacks/x/xdp", #"{"dev":"eth0","force":true,"insns":"\#(insns)","map_defs":[{"name":"c","type":"ringbuf"}]}"#).status, 422)
        let unchecked = insns.replacingOccurrences(of: "1500020000000000", with: "b701000001000000")
        let v = call("POST", "/v1/stacks/x/xdp", #"{"dev":"eth0","force":true,"insns":"\#(unchecked)","map_defs":[{"name":"counts","type":"array","key_size":4,"value_size":8,"max_entries":1}]}"#)
        XCTAssertEqual(v.status, 422)
        XCTAssertEqual(v.json?["detail"], .string("8: R0 invalid mem access 'map_value_or_null'"))
        // The same form for tc: return TC_ACT_SHOT.
        XCTAssertEqual(call("POST", "/v1/stacks/x/tc/filters", #"{"dev":"eth0","direction":"ingress","insns":"b7000000020000009500000000000000","name":"shoot"}"#).status, 201)
        XCTAssertEqual(call("GET", "/v1/stacks/x/tc/filters").json?[0]?["options"]?["bpf_name"], .string("shoot"))
        XCTAssertEqual(call("DELETE", "/v1/stacks/x/xdp?dev=eth0").status, 204)
        XCTAssertEqual(run(53)?["drop_reason"], .string("TC_INGRESS"))
    }

    /// Tail calls: every XDP program of the object is loaded with the one attached, and a program
    /// array slot takes one by id (`bpftool map update ... value id N`), kept across a restart.
    func testTailCallsThroughAProgramArrayFilledOverTheAPI() throws {
        let obj = try object("""
            #include <linux/bpf.h>
            #include <bpf/bpf_helpers.h>
            struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } jmp SEC(".maps");
            SEC("xdp") int entry(struct xdp_md *ctx) { bpf_tail_call(ctx, &jmp, 0); return XDP_PASS; }
            SEC("xdp") int dropper(struct xdp_md *ctx) { return XDP_DROP; }
            char _license[] SEC("license") = "GPL";
            """)
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/x/xdp", #"{"dev":"eth0","object":"\#(obj)","program":"entry"}"#).status, 201)
        let progs = call("GET", "/v1/stacks/x/bpf/progs").json
        XCTAssertEqual(progs?.arrayValue?.map { $0["name"] }, [.string("entry"), .string("dropper")])
        guard case .int(let dropper)? = progs?[1]?["id"] else { return XCTFail("ids") }
        XCTAssertEqual(run(53)?["xdp"]?["action"], .string("XDP_PASS"), "an empty slot: the tail call falls through")
        let id = String(format: "%02x000000", dropper)
        XCTAssertEqual(call("POST", "/v1/stacks/x/bpf/maps/jmp", #"{"key":"00000000","value":"\#(id)"}"#).status, 200)
        XCTAssertEqual(call("POST", "/v1/stacks/x/bpf/maps/jmp", #"{"key":"01000000","value":"63000000"}"#).status, 422, "no program 99")
        XCTAssertEqual(call("POST", "/v1/stacks/x/bpf/maps/jmp", #"{"key":"09000000","value":"\#(id)"}"#).status, 422, "index out of range")
        XCTAssertEqual(run(53)?["xdp"]?["action"], .string("XDP_DROP"))
        XCTAssertEqual(call("GET", "/v1/stacks/x/bpf/maps/jmp").raw, #"[{"key":["0x00","0x00","0x00","0x00"],"value":["0x\#(id.prefix(2))","0x00","0x00","0x00"]}]"# + "\n")
        try reopen()
        XCTAssertEqual(run(53)?["xdp"]?["action"], .string("XDP_DROP"), "the slot is filled again by program name after a restart")
        XCTAssertEqual(call("DELETE", "/v1/stacks/x/bpf/maps/jmp?key=00000000").status, 204)
        XCTAssertEqual(run(53)?["xdp"]?["action"], .string("XDP_PASS"))
    }

    func testRefusals() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        // A helper XDP programs may not call: the verifier's words, by name.
        let store = try object("""
            #include <linux/bpf.h>
            #include <bpf/bpf_helpers.h>
            SEC("xdp")
            int f(struct xdp_md *ctx) { char b = 0; bpf_skb_store_bytes(ctx, 0, &b, 1, 0); return XDP_PASS; }
            char _license[] SEC("license") = "GPL";
            """)
        let v = call("POST", "/v1/stacks/x/xdp", #"{"dev":"eth0","object":"\#(store)"}"#)
        XCTAssertEqual(v.status, 422)
        XCTAssertEqual(v.json?["type"], .string("urn:packetstack:problem:verifier-refused"))
        XCTAssertEqual(v.json?["detail"], .string("7: program of this type cannot use helper bpf_skb_store_bytes#9"))
        let junk = call("POST", "/v1/stacks/x/xdp", #"{"dev":"eth0","object":"aGVsbG8="}"#)
        XCTAssertEqual(junk.status, 422)
        XCTAssertEqual(junk.json?["detail"], .string("not an ELF file"))
        XCTAssertEqual(call("POST", "/v1/stacks/x/xdp", #"{"dev":"eth9","object":"aGVsbG8="}"#).status, 404)
        XCTAssertEqual(call("POST", "/v1/stacks/x/xdp", #"{"dev":"eth0","object":"aGVsbG8=","mode":"offload"}"#).status, 422)
        XCTAssertEqual(call("POST", "/v1/stacks/x/xdp", #"{"dev":"eth0","object":"%%%"}"#).status, 422)
        XCTAssertEqual(call("POST", "/v1/stacks/x/xdp", #"{"dev":"eth0"}"#).status, 400)
        XCTAssertEqual(call("GET", "/v1/stacks/x/bpf/maps/nope").status, 404)
        // Nothing was attached by the refusals.
        XCTAssertEqual(call("GET", "/v1/stacks/x/xdp").json, .array([]))
    }
}

private extension JSONValue {
    var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    subscript(i: Int) -> JSONValue? { arrayValue.flatMap { i < $0.count ? $0[i] : nil } }
}
