import API
import Foundation
import JSON
import TestSupport
import XCTest

/// tc BPF on clsact over the API: filters added as `tc filter add ... bpf da obj` would, run at
/// the kernel's places (ingress before netfilter, egress before the qdisc), their verdicts
/// carried out (TC_ACT_SHOT, redirects out of or into another device, PIPE to the next filter),
/// listed as `tc -j filter show` lists them, kept across a restart.
final class TCFilterAPITests: AppTestCase {
    static let stack = #"{"name":"r","devices":[{"name":"eth0","mac":"02:00:00:00:00:02","addresses":["198.18.0.2/24"]},{"name":"eth1","mac":"02:00:00:00:01:01","addresses":["198.18.1.1/24"]}],"neighbours":[{"address":"198.18.1.2","mac":"02:00:00:00:01:02","dev":"eth1"}],"sysctls":{"net.ipv4.ip_forward":1}}"#
    /// Ingress: UDP 9 dropped, 7 redirected out of eth1, 17 into eth1's receive path; the rest
    /// passed on (TC_ACT_PIPE) with the mark set.
    static let ingress = """
        #include <linux/bpf.h>
        #include <linux/pkt_cls.h>
        #include <linux/if_ether.h>
        #include <linux/ip.h>
        #include <linux/in.h>
        #include <linux/udp.h>
        #include <bpf/bpf_helpers.h>
        #include <bpf/bpf_endian.h>

        SEC("tc")
        int steer(struct __sk_buff *skb)
        {
            struct iphdr ip;
            struct udphdr udp;
            if (skb->protocol != bpf_htons(ETH_P_IP) || bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0 || ip.protocol != IPPROTO_UDP)
                return TC_ACT_OK;
            if (bpf_skb_load_bytes(skb, ETH_HLEN + ip.ihl * 4, &udp, sizeof(udp)) < 0)
                return TC_ACT_SHOT;
            __u16 port = bpf_ntohs(udp.dest);
            bpf_printk("port %d", port);
            if (port == 9) return TC_ACT_SHOT;
            if (port == 7) return bpf_redirect(3, 0);
            if (port == 17) return bpf_redirect(3, BPF_F_INGRESS);
            skb->mark = 0x42;
            return TC_ACT_PIPE;
        }

        char _license[] SEC("license") = "GPL";
        """
    /// Egress: forwarded UDP to port 10 dropped; the rest leaves with its TTL byte rewritten to 1
    /// (the sum fixed), so the frame shows the program ran.
    static let egress = """
        #include <linux/bpf.h>
        #include <linux/pkt_cls.h>
        #include <bpf/bpf_helpers.h>

        SEC("tc")
        int ttl_one(struct __sk_buff *skb)
        {
            void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
            unsigned char *p = data;
            if (p + 38 > (unsigned char *)end || p[23] != 17)
                return TC_ACT_OK;
            if (p[36] == 0 && p[37] == 10)
                return TC_ACT_SHOT;
            __u16 old = *(__u16 *)(p + 22), new = (old & 0xff00) | 1;
            bpf_l3_csum_replace(skb, 24, old, new, 2);
            bpf_skb_store_bytes(skb, 22, &new, 2, 0);
            return TC_ACT_OK;
        }

        char _license[] SEC("license") = "GPL";
        """

    func object(_ source: String) throws -> String { try XDPAPITests.compile(source) }

    func udp(_ dport: Int, dev: String = "eth0") -> String {
        #"{"packets":[{"device":"\#(dev)","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.7","dst":"198.18.1.2","ttl":64},"udp":{"sport":9,"dport":\#(dport)}}]}"#
    }
    func run(_ dport: Int) -> JSONValue? {
        guard case .array(let r) = call("POST", "/v1/stacks/r/packets?sync=true", udp(dport)).json?["results"] else { return nil }
        return r.first
    }
    func stages(_ r: JSONValue?) -> [String] { r?["stages"]?.arrayValue?.compactMap { $0["function"]?.text } ?? [] }

    func testIngressAndEgressFilters() throws {
        let ing = try object(Self.ingress), eg = try object(Self.egress)
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        let a = call("POST", "/v1/stacks/r/tc/filters", #"{"dev":"eth0","direction":"ingress","object":"\#(ing)","object_name":"steer","section":"tc"}"#)
        XCTAssertEqual(a.status, 201, a.raw)
        XCTAssertEqual(a.json?[0]?["pref"], .int(49152))
        XCTAssertEqual(a.json?[0]?["options"]?["bpf_name"], .string("steer.o:[tc]"))
        XCTAssertEqual(a.json?[0]?["options"]?["direct-action"], .bool(true))
        XCTAssertEqual(a.json?[0]?["options"]?["prog"]?["type"], .string("sched_cls"))
        XCTAssertEqual(call("POST", "/v1/stacks/r/tc/filters", #"{"dev":"eth0","direction":"ingress","pref":49152,"object":"\#(ing)","section":"tc"}"#).status, 409)
        XCTAssertEqual(call("POST", "/v1/stacks/r/tc/filters", #"{"dev":"eth1","direction":"egress","object":"\#(eg)","section":"tc"}"#).status, 201)

        // TC_ACT_SHOT at ingress: before IP, dropped as TC_INGRESS.
        let shot = try XCTUnwrap(run(9))
        XCTAssertEqual(shot["drop_reason"], .string("TC_INGRESS"))
        XCTAssertEqual(stages(shot), ["nic_receive", "napi_poll", "napi_alloc_skb", "eth_type_trans", "napi_gro_receive", "netif_receive_skb", "__netif_receive_skb_core",
                                      "sch_handle_ingress", "cls_bpf_classify", "kfree_skb_reason"])
        XCTAssertEqual(shot["tc"]?[0]?["filters"]?[0]?["returned"], .string("TC_ACT_SHOT"))
        XCTAssertEqual(shot["tc"]?[0]?["filters"]?[0]?["printk"], .array([.string("port 9")]))
        XCTAssertEqual(shot["tc"]?[0]?["result"], .string("dropped"))
        XCTAssertNil(shot["tc"]?[0]?["filters"]?[0]?["steps"])
        // ?xdp=insns: the instruction trace of every program run, tc's too.
        guard case .array(let traced)? = call("POST", "/v1/stacks/r/packets?sync=true&xdp=insns", udp(9)).json?["results"],
              case .int(let n)? = traced.first?["tc"]?[0]?["filters"]?[0]?["instructions"],
              case .array(let steps)? = traced.first?["tc"]?[0]?["filters"]?[0]?["steps"] else { return XCTFail("no instruction trace") }
        XCTAssertEqual(steps.count, n)
        XCTAssertEqual(steps.first?["insn"], .string("r6 = r1"))
        XCTAssertEqual(steps.last?["insn"], .string("exit"))
        XCTAssertEqual(steps.last?["value"], .string("0x2"), "TC_ACT_SHOT")

        // PIPE: no verdict, the packet goes on (marked) and is forwarded; eth1's egress program
        // rewrites its TTL (63 after forwarding) to 1.
        let fwd = try XCTUnwrap(run(53))
        XCTAssertEqual(fwd["outcome"], .string("forwarded"), "\(fwd)")
        XCTAssertEqual(fwd["tc"]?[0]?["verdict"], .string("TC_ACT_UNSPEC"))
        XCTAssertEqual(fwd["tc"]?[0]?["filters"]?[0]?["returned"], .string("TC_ACT_PIPE"))
        XCTAssertEqual(fwd["tc"]?[0]?["changed"], .array([.string("mark: 0 -> 66")]))
        XCTAssertEqual(fwd["tc"]?[1]?["direction"], .string("egress"))
        XCTAssertEqual(fwd["tc"]?[1]?["verdict"], .string("TC_ACT_OK"))
        let out = try XCTUnwrap(fwd["emitted"]?[0]?["hex"]?.text)
        XCTAssertEqual(out.dropFirst(44).prefix(4), "0111", "TTL 1, protocol UDP")
        XCTAssertEqual(ipChecksumOK(out), true)
        XCTAssertEqual(Array(stages(fwd).suffix(5)), ["dev_queue_xmit", "sch_handle_egress", "cls_bpf_classify", "sch_direct_xmit", "dev_hard_start_xmit"])

        // SHOT at egress: TC_EGRESS, after routing.
        let eshot = try XCTUnwrap(run(10))
        XCTAssertEqual(eshot["drop_reason"], .string("TC_EGRESS"))
        XCTAssertEqual(eshot["tc"]?[1]?["result"], .string("dropped"))

        // bpf_redirect(3, 0): out of eth1 as it came in (MAC header untouched), through eth1's egress program.
        let red = try XCTUnwrap(run(7))
        XCTAssertEqual(red["tc"]?[0]?["result"], .string("redirected"))
        XCTAssertEqual(red["tc"]?[0]?["to"], .string("eth1"))
        XCTAssertEqual(red["tc"]?[0]?["redirect"], .string("egress"))
        let redFrame = try XCTUnwrap(red["emitted"]?[0]?["hex"]?.text)
        XCTAssertEqual(redFrame.prefix(24), "020000000002020000000001", "the frame keeps the MAC addresses it arrived with")
        XCTAssertEqual(red["emitted"]?[0]?["device"], .string("eth1"))
        XCTAssertEqual(Array(stages(red).suffix(7)), ["cls_bpf_classify", "skb_do_redirect", "dev_queue_xmit", "sch_handle_egress", "cls_bpf_classify", "sch_direct_xmit", "dev_hard_start_xmit"])
        // The loop guard counts one packet's redirects, not the recycled skb's history.
        let many = call("POST", "/v1/stacks/r/packets?sync=true", #"{"packets":["# + Array(repeating: udp(7).dropFirst(12).dropLast(2), count: 80).joined(separator: ",") + "]}")
        guard case .array(let rs)? = many.json?["results"] else { return XCTFail(many.raw) }
        XCTAssertEqual(rs.count, 80)
        XCTAssertEqual(rs.filter { $0["tc"]?[0]?["result"] == .string("redirected") }.count, 80)

        // BPF_F_INGRESS: into eth1's receive path (its backlog), where it is not for eth1's MAC: otherhost, dropped.
        let rin = try XCTUnwrap(run(17))
        XCTAssertEqual(rin["tc"]?[0]?["redirect"], .string("ingress"))
        XCTAssertEqual(rin["drop_reason"], .string("OTHERHOST"))
        XCTAssertTrue(stages(rin).contains("enqueue_to_backlog") && stages(rin).contains("process_backlog"), "\(stages(rin))")

        // tc -j filter show; clsact counters; del; a restart keeps what is left.
        let shown = call("GET", "/v1/stacks/r/tc/filters").json
        XCTAssertEqual(shown?.arrayValue?.map { $0["dev"] }, [.string("eth0"), .string("eth1")])
        XCTAssertEqual(call("GET", "/v1/stacks/r/tc/filters?dev=eth1&direction=ingress").json, .array([]))
        XCTAssertEqual(call("GET", "/v1/stacks/r/tc/filters?direction=sideways").status, 400)
        XCTAssertEqual(call("GET", "/v1/stacks/r/bpf/progs").json?.arrayValue?.map { $0["name"] }, [.string("steer"), .string("ttl_one")])
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/r/tc/filters").json?.arrayValue?.count, 2)
        XCTAssertEqual(run(9)?["drop_reason"], .string("TC_INGRESS"))
        XCTAssertEqual(call("DELETE", "/v1/stacks/r/tc/filters?dev=eth0&direction=ingress").status, 204)
        XCTAssertEqual(call("DELETE", "/v1/stacks/r/tc/filters?dev=eth0&direction=ingress").status, 404)
        XCTAssertNil(run(9)?["tc"]?[0]?["filters"]?[0]?["returned"].flatMap { $0 == .string("TC_ACT_SHOT") ? $0 : nil })
        XCTAssertEqual(run(9)?["outcome"], .string("forwarded"))
    }

    /// scripts/record_tc_stack_case.sh on this kernel: TC/tc_ctx_fields.c on eth0's ingress and
    /// eth1's egress (both veth) of a forwarding namespace, one 47-byte UDP frame. Key → value:
    /// len, pkt_type, protocol, ifindex, ingress_ifindex, wire_len, queue_mapping, vlan_present,
    /// hash, mark, priority, cb[1], protocol (16-bit read), data_end - data. The ingress program's
    /// mark (len + 1000) reaches the egress one; clsact counted 33 bytes (wire_len) at ingress.
    func testContextFieldsAsTheKernelSawThem() throws {
        let src = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("BPFTests/TC/tc_ctx_fields.c"), encoding: .utf8)
        let obj = try object(src)
        let stack = Self.stack.replacingOccurrences(of: #""addresses":["198.18.0.2/24"]}"#, with: #""addresses":["198.18.0.2/24"],"veth":true}"#)
            .replacingOccurrences(of: #""addresses":["198.18.1.1/24"]}"#, with: #""addresses":["198.18.1.1/24"],"veth":true}"#)
        XCTAssertEqual(call("POST", "/v1/stacks", stack).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/r/tc/filters", #"{"dev":"eth0","direction":"ingress","object":"\#(obj)","object_name":"f","section":"tc"}"#).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/r/tc/filters", #"{"dev":"eth1","direction":"egress","object":"\#(obj)","object_name":"f","section":"tc"}"#).status, 201)
        let r = call("POST", "/v1/stacks/r/packets?sync=true", #"{"packets":[{"device":"eth0","eth":{"src":"02:00:00:00:00:01"},"ipv4":{"src":"198.18.0.7","dst":"198.18.1.2","ttl":64},"udp":{"sport":9,"dport":53},"payload_hex":"68656c6c6f"}]}"#)
        XCTAssertEqual(r.json?["results"]?[0]?["outcome"], .string("forwarded"), r.raw)
        func values(_ map: Int) -> [Int] {
            (call("GET", "/v1/stacks/r/bpf/maps/\(map)").json?.arrayValue ?? []).map { e in
                (e["value"]?.arrayValue ?? []).enumerated().reduce(0) { $0 | Int(UInt8($1.element.text!.dropFirst(2), radix: 16)!) << (8 * $1.offset) }
            }
        }
        let maps = call("GET", "/v1/stacks/r/bpf/maps").json?.arrayValue?.filter { $0["name"] == .string("fields") }.compactMap { $0["id"] }
        guard let ids = maps, ids.count == 2, case .int(let ingress) = ids[0], case .int(let egress) = ids[1] else { return XCTFail("\(String(describing: maps))") }
        XCTAssertEqual(values(ingress), [47, 0, 8, 2, 2, 33, 0, 0, 0, 0, 0, 0, 8, 47, 0, 0])
        XCTAssertEqual(values(egress), [47, 0, 8, 3, 2, 47, 0, 0, 0, 1047, 0, 0, 8, 47, 0, 0])
        XCTAssertEqual(call("GET", "/v1/stacks/r/qdiscs?dev=eth0&format=text").raw,
                       "qdisc noqueue 0: root refcnt 2 \n Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) \n backlog 0b 0p requeues 0\n"
                       + "qdisc clsact ffff: parent ffff:fff1 \n Sent 33 bytes 1 pkt (dropped 0, overlimits 0 requeues 0) \n backlog 0b 0p requeues 0\n")
    }

    /// A tc program's map contents go into the checkpoint under its hook and pref, and a fork copies them.
    func testMapContentsSurviveARestartAndAFork() throws {
        let src = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("BPFTests/TC/tc_port_filter.c"), encoding: .utf8)
        let obj = try object(src)
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        XCTAssertEqual(call("POST", "/v1/stacks/r/tc/filters", #"{"dev":"eth0","direction":"ingress","pref":10,"object":"\#(obj)","maps":{"blocked":[["3500","0000000000000000"]]}}"#).status, 201)
        for _ in 0..<3 { XCTAssertEqual(run(53)?["drop_reason"], .string("TC_INGRESS")) }
        let counted = #"[{"key":["0x35","0x00"],"value":["0x03","0x00","0x00","0x00","0x00","0x00","0x00","0x00"]}]"# + "\n"
        XCTAssertEqual(call("GET", "/v1/stacks/r/bpf/maps/blocked").raw, counted)
        XCTAssertEqual(call("POST", "/v1/stacks/r/fork", #"{"name":"y"}"#).status, 201)
        XCTAssertEqual(call("GET", "/v1/stacks/y/bpf/maps/blocked").raw, counted)
        app.checkpoint()
        try reopen()
        XCTAssertEqual(call("GET", "/v1/stacks/r/bpf/maps/blocked").raw, counted)
        XCTAssertEqual(call("GET", "/v1/stacks/y/bpf/maps/blocked").raw, counted)
        XCTAssertEqual(run(53)?["drop_reason"], .string("TC_INGRESS"))
        XCTAssertEqual(call("GET", "/v1/stacks/r/bpf/maps/blocked").json?[0]?["value"]?[0], .string("0x04"))
    }

    /// `tc qdisc add|del dev DEV clsact` as commands: clsact shows with its fixed handle, stays
    /// with the stack, refuses a second add, and takes its filters when deleted.
    func testClsactCommands() throws {
        let obj = try object(Self.egress)
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        let a = call("POST", "/v1/stacks/r/qdiscs", #"{"command":"qdisc add dev eth1 clsact"}"#)
        XCTAssertEqual(a.status, 201, a.raw)
        XCTAssertEqual(a.json?[1]?["kind"], .string("clsact"))
        XCTAssertEqual(a.json?[1]?["handle"], .string("ffff:"))
        XCTAssertEqual(a.json?[1]?["parent"], .string("ffff:fff1"))
        XCTAssertEqual(call("POST", "/v1/stacks/r/qdiscs", #"{"command":"qdisc add dev eth1 clsact"}"#).json?["detail"], .string("Error: Exclusivity flag on, cannot modify."))
        XCTAssertEqual(call("POST", "/v1/stacks/r/qdiscs", #"{"command":"qdisc add dev eth1 root clsact"}"#).status, 400)
        XCTAssertEqual(call("POST", "/v1/stacks/r/tc/filters", #"{"dev":"eth1","direction":"egress","object":"\#(obj)","section":"tc"}"#).status, 201)
        XCTAssertEqual(call("GET", "/v1/stacks/r").json?["qdiscs"], .array([.string("qdisc add dev eth1 clsact")]))
        try reopen()
        XCTAssertEqual(run(10)?["drop_reason"], .string("TC_EGRESS"))
        XCTAssertEqual(call("POST", "/v1/stacks/r/qdiscs", #"{"command":"qdisc del dev eth1 clsact"}"#).status, 200)
        XCTAssertEqual(call("GET", "/v1/stacks/r/tc/filters").json, .array([]))
        XCTAssertEqual(run(10)?["outcome"], .string("forwarded"))
        XCTAssertEqual(call("POST", "/v1/stacks/r/qdiscs", #"{"command":"qdisc del dev eth1 clsact"}"#).status, 404)
    }

    /// bpf_skb_change_tail at egress: the frame leaves 10 bytes longer, zero-filled.
    func testEgressChangeTail() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        let before = try XCTUnwrap(run(53)?["emitted"]?[0]?["hex"]?.text)
        let grow = ["6112000000000000", "070200000a000000", "b703000000000000", "8500000026000000", "b700000000000000", "9500000000000000"].joined()
        XCTAssertEqual(call("POST", "/v1/stacks/r/tc/filters", #"{"dev":"eth1","direction":"egress","insns":"\#(grow)","name":"grow"}"#).status, 201)
        let after = try XCTUnwrap(run(53)?["emitted"]?[0]?["hex"]?.text)
        XCTAssertEqual(after, before + String(repeating: "00", count: 10))
    }

    func testRefusals() throws {
        XCTAssertEqual(call("POST", "/v1/stacks", Self.stack).status, 201)
        let bad = try object("""
            #include <linux/bpf.h>
            #include <bpf/bpf_helpers.h>
            SEC("tc")
            int w(struct __sk_buff *skb) { skb->len = 1; return 0; }
            char _license[] SEC("license") = "GPL";
            """)
        let r = call("POST", "/v1/stacks/r/tc/filters", #"{"dev":"eth0","direction":"ingress","object":"\#(bad)","section":"tc"}"#)
        XCTAssertEqual(r.status, 422)
        XCTAssertEqual(r.json?["detail"], .string("1: invalid bpf_context access off=0 size=4"))
        XCTAssertEqual(call("POST", "/v1/stacks/r/tc/filters", #"{"dev":"eth0","direction":"up","object":"\#(bad)"}"#).status, 422)
        XCTAssertEqual(call("POST", "/v1/stacks/r/tc/filters", #"{"dev":"eth9","direction":"ingress","object":"\#(bad)","section":"tc"}"#).status, 404)
        let none = call("POST", "/v1/stacks/r/tc/filters", #"{"dev":"eth0","direction":"ingress","object":"\#(bad)"}"#)
        XCTAssertEqual(none.status, 422, "tc's default section is classifier")
        XCTAssertEqual(none.json?["detail"], .string("no program in section classifier (sections: tc)"))
        XCTAssertEqual(call("DELETE", "/v1/stacks/r/tc/filters?dev=eth0").status, 400)
        XCTAssertEqual(call("GET", "/v1/stacks/r/tc/filters").json, .array([]))
    }

    func ipChecksumOK(_ hex: String) -> Bool {
        let b = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(Array(hex)[$0..<$0 + 2]), radix: 16)! }
        var s: UInt32 = 0
        for i in stride(from: 14, to: 34, by: 2) { s += UInt32(b[i]) << 8 | UInt32(b[i + 1]) }
        while s >> 16 != 0 { s = (s & 0xffff) + (s >> 16) }
        return s == 0xffff
    }
}

private extension JSONValue {
    var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    var text: String? { if case .string(let s) = self { s } else { nil } }
    subscript(i: Int) -> JSONValue? { arrayValue.flatMap { i < $0.count ? $0[i] : nil } }
}
