#!/usr/bin/env python3
"""Writes the project's own XDP oracle cases (Tests/OracleTests/CorpusXDP), in the style of public
XDP projects: a Katran-like IP-in-IP encapsulating load balancer and an xdp-filter-like
port/prefix filter with per-CPU counters. Record each with
  /usr/bin/python3 ../shared/oracle/kernel_oracle.py CASE.json -o Tests/OracleTests/CorpusXDP/expected/CASE.json
"""
import json, os, struct, sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "OracleTests", "CorpusXDP")

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def ip4(a): return bytes(int(x) for x in a.split("."))

def ipv4(src, dst, proto, payload, ttl=64, ident=1, frag=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, ttl, proto, 0, ip4(src), ip4(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload

def udp(src, dst, sport, dport, data):
    l = 8 + len(data)
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 17, l)
    u = struct.pack("!HHHH", sport, dport, l, 0) + data
    c = csum(pseudo + u) or 0xffff
    return u[:6] + struct.pack("!H", c) + u[8:]

def tcp_syn(src, dst, sport, dport):
    t = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 0x50, 0x02, 8192, 0, 0)
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(t))
    return t[:16] + struct.pack("!H", csum(pseudo + t)) + t[18:]

def eth(payload, dst="02:00:00:00:00:02", src="02:00:00:00:00:01", etype=0x0800):
    m = lambda s: bytes(int(x, 16) for x in s.split(":"))
    return m(dst) + m(src) + struct.pack("!H", etype) + payload

def ip6(a):
    import ipaddress
    return ipaddress.IPv6Address(a).packed

def v6udp(src, dst, sport, dport, data=b"xdp-oracle", hlim=64):
    l = 8 + len(data)
    pseudo = ip6(src) + ip6(dst) + struct.pack("!IxxxB", l, 17)
    u = struct.pack("!HHHH", sport, dport, l, 0) + data
    c = csum(pseudo + u) or 0xffff
    u = u[:6] + struct.pack("!H", c) + u[8:]
    h = struct.pack("!IHBB16s16s", 6 << 28, l, 17, hlim, ip6(src), ip6(dst))
    return eth(h + u, etype=0x86dd).hex()

def v4udp(src, dst, sport, dport, data=b"xdp-oracle", **kw):
    return eth(ipv4(src, dst, 17, udp(src, dst, sport, dport, data), **kw)).hex()

KATRAN = r'''/* Katran-like L4 load balancer: UDP/TCP to a VIP (HASH of vip:port:proto -> real) is
 * encapsulated in IP-in-IP (bpf_xdp_adjust_head(-20)) towards the real server and sent out of
 * eth1 with bpf_redirect; everything else passes. Per-VIP packet/byte counters. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct vip_key { __be32 addr; __be16 port; __u8 proto; __u8 pad; };
struct real { __be32 addr; __u32 ifindex; unsigned char mac[6]; __u16 pad; };
struct vip_stats { __u64 packets; __u64 bytes; };

struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct vip_key); __type(value, struct real); __uint(max_entries, 64); } vip_map SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct vip_key); __type(value, struct vip_stats); __uint(max_entries, 64); } stats SEC(".maps");

static __always_inline __u16 csum_fold(__u32 csum)
{
    csum = (csum & 0xffff) + (csum >> 16);
    csum = (csum & 0xffff) + (csum >> 16);
    return (__u16)~csum;
}

SEC("xdp")
int katran_lb(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)))
        return XDP_PASS;
    struct vip_key key = { .addr = ip->daddr, .proto = ip->protocol };
    if (ip->protocol == IPPROTO_UDP) {
        struct udphdr *u = (void *)(ip + 1);
        if ((void *)(u + 1) > end) return XDP_PASS;
        key.port = u->dest;
    } else if (ip->protocol == IPPROTO_TCP) {
        struct tcphdr *t = (void *)(ip + 1);
        if ((void *)(t + 1) > end) return XDP_PASS;
        key.port = t->dest;
    } else {
        return XDP_PASS;
    }
    struct real *dst = bpf_map_lookup_elem(&vip_map, &key);
    if (!dst)
        return XDP_PASS;
    __u16 inner_len = bpf_ntohs(ip->tot_len);
    struct vip_stats *st = bpf_map_lookup_elem(&stats, &key);
    if (st) { st->packets++; st->bytes += inner_len; }
    __be32 real_addr = dst->addr;
    __u32 ifindex = dst->ifindex;
    unsigned char mac[6];
    __builtin_memcpy(mac, dst->mac, 6);

    if (bpf_xdp_adjust_head(ctx, 0 - (int)sizeof(struct iphdr)))
        return XDP_DROP;
    data = (void *)(long)ctx->data; end = (void *)(long)ctx->data_end;
    struct ethhdr *neth = data;
    struct iphdr *outer = (void *)(neth + 1);
    if ((void *)(outer + 1) > end)
        return XDP_DROP;
    __builtin_memcpy(neth->h_dest, mac, 6);
    neth->h_source[0] = 0x02; neth->h_source[1] = 0; neth->h_source[2] = 0;
    neth->h_source[3] = 0; neth->h_source[4] = 0x01; neth->h_source[5] = 0x01;
    neth->h_proto = bpf_htons(ETH_P_IP);
    outer->version = 4; outer->ihl = 5; outer->tos = 0;
    outer->tot_len = bpf_htons(inner_len + sizeof(struct iphdr));
    outer->id = 0; outer->frag_off = bpf_htons(0x4000); outer->ttl = 64;
    outer->protocol = IPPROTO_IPIP;
    outer->saddr = bpf_htonl(0xc6120101); /* 198.18.1.1, eth1 */
    outer->daddr = real_addr;
    outer->check = 0;
    __u32 sum = bpf_csum_diff(0, 0, (__be32 *)outer, sizeof(*outer), 0);
    outer->check = csum_fold(sum);
    return bpf_redirect(ifindex, 0);
}
char _license[] SEC("license") = "GPL";
'''

FILTER = r'''/* xdp-filter-like: drop by destination port (HASH, any of TCP/UDP) and by source prefix (LPM
 * trie), IPv4 and IPv6, counting every verdict per CPU (PERCPU_ARRAY: pass, drop by port,
 * drop by prefix) as xdp-filter's stats do. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct lpm4 { __u32 prefixlen; __be32 addr; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u16); __type(value, __u8); __uint(max_entries, 32); } filter_ports SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __type(key, struct lpm4); __type(value, __u8); __uint(max_entries, 32); __uint(map_flags, BPF_F_NO_PREALLOC); } filter_src4 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 3); } verdicts SEC(".maps");

static __always_inline int count(__u32 what, int action)
{
    __u64 *n = bpf_map_lookup_elem(&verdicts, &what);
    if (n) *n += 1;
    return action;
}

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    __u8 proto;
    void *l4;
    if ((void *)(eth + 1) > end)
        return count(0, XDP_PASS);
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > end)
            return count(0, XDP_PASS);
        struct lpm4 k = { .prefixlen = 32, .addr = ip->saddr };
        if (bpf_map_lookup_elem(&filter_src4, &k))
            return count(2, XDP_DROP);
        proto = ip->protocol;
        l4 = (void *)ip + ip->ihl * 4;
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > end)
            return count(0, XDP_PASS);
        proto = ip6->nexthdr;
        l4 = ip6 + 1;
    } else {
        return count(0, XDP_PASS);
    }
    __u16 port;
    if (proto == IPPROTO_UDP) {
        struct udphdr *u = l4;
        if ((void *)(u + 1) > end) return count(0, XDP_PASS);
        port = bpf_ntohs(u->dest);
    } else if (proto == IPPROTO_TCP) {
        struct tcphdr *t = l4;
        if ((void *)(t + 1) > end) return count(0, XDP_PASS);
        port = bpf_ntohs(t->dest);
    } else {
        return count(0, XDP_PASS);
    }
    if (bpf_map_lookup_elem(&filter_ports, &port))
        return count(1, XDP_DROP);
    return count(0, XDP_PASS);
}
char _license[] SEC("license") = "GPL";
'''

def write(name, case):
    case["name"] = name
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")

def main():
    # VIP 198.18.0.100 udp 53 -> real 198.18.1.5 out of eth1 (ifindex 3), next hop MAC 02:00:00:00:01:02.
    vip_udp = ip4("198.18.0.100").hex() + "0035" + "11" + "00"
    vip_tcp = ip4("198.18.0.100").hex() + "0050" + "06" + "00"
    real = ip4("198.18.1.5").hex() + "03000000" + "020000000102" + "0000"
    real2 = ip4("198.18.1.6").hex() + "03000000" + "020000000102" + "0000"
    write("xdp_katran_encap_1", {
        "description": "Katran-like IP-in-IP load balancer: VIP traffic encapsulated (adjust_head -20, outer checksum by bpf_csum_diff) and redirected out of eth1; other traffic passes [generic]",
        "xdp": [{"dev": "eth0", "mode": "generic", "section": "xdp", "c": KATRAN,
                 "maps": {"vip_map": [[vip_udp, real], [vip_tcp, real2]],
                          "stats": [[vip_udp, "00" * 16], [vip_tcp, "00" * 16]]}}],
        "packets": [
            {"ingress": "eth0", "hex": v4udp("198.18.0.1", "198.18.0.100", 1111, 53), "desc": "UDP to the VIP: encapsulated to 198.18.1.5 out of eth1"},
            {"ingress": "eth0", "hex": v4udp("198.18.0.1", "198.18.0.100", 1112, 53, b"a longer payload for the byte counter"), "desc": "another flow, more bytes"},
            {"ingress": "eth0", "hex": eth(ipv4("198.18.0.1", "198.18.0.100", 6, tcp_syn("198.18.0.1", "198.18.0.100", 2222, 80))).hex(), "desc": "TCP SYN to the VIP's port 80: to the second real"},
            {"ingress": "eth0", "hex": v4udp("198.18.0.1", "198.18.0.100", 1111, 54), "desc": "VIP address, other port: passes (no local address: dropped by the stack)"},
            {"ingress": "eth0", "hex": v4udp("198.18.0.1", "198.18.0.2", 1111, 53), "desc": "to the DUT: passes, port unreachable"},
            {"ingress": "eth0", "hex": v4udp("198.18.0.1", "198.18.0.100", 1111, 53, frag=0x2000), "desc": "a first fragment: passes"},
        ],
        "ruleset": "", "sysctls": {}})
    port53 = "3500"
    write("xdp_filter_1", {
        "description": "xdp-filter-like: drop by destination port (HASH) and source prefix (LPM trie), IPv4 and IPv6, PERCPU_ARRAY verdict counters [native]",
        "ipv6": True,
        "xdp": [{"dev": "eth0", "mode": "native", "section": "xdp", "c": FILTER,
                 "maps": {"filter_ports": [[port53, "01"], ["1600", "01"]],
                          "filter_src4": [["18000000" + ip4("198.18.0.0").hex(), "01"]],
                          "verdicts": [["00000000", "0000000000000000"], ["01000000", "0000000000000000"], ["02000000", "0000000000000000"]]}}],
        "packets": [
            {"ingress": "eth0", "hex": v4udp("198.18.0.1", "198.18.0.2", 1000, 53), "desc": "source in the blocked /24: dropped by prefix"},
            {"ingress": "eth0", "hex": v4udp("198.18.2.9", "198.18.0.2", 1000, 53), "desc": "port 53 blocked: dropped by port"},
            {"ingress": "eth0", "hex": v4udp("198.18.2.9", "198.18.0.2", 1000, 54), "desc": "other port: passes, port unreachable"},
            {"ingress": "eth0", "hex": eth(ipv4("198.18.2.9", "198.18.0.2", 6, tcp_syn("198.18.2.9", "198.18.0.2", 3000, 22))).hex(), "desc": "TCP to 22: dropped by port"},
            {"ingress": "eth0", "hex": eth(ipv4("198.18.2.9", "198.18.0.2", 6, tcp_syn("198.18.2.9", "198.18.0.2", 3000, 23))).hex(), "desc": "TCP to 23: passes, RST"},
        ],
        "ruleset": "", "sysctls": {}})
    cpumap_case()
    cpumap_case("xdp_cpumap_generic_1", "generic")
    fib6_case()

CPUMAP = r'''/* Steering to another CPU (xdp-redirect-cpu style): UDP to port 5000 goes to CPU 1 through a
 * CPUMAP (the stack then takes it on that CPU's kthread), port 5001 to CPU 3's empty slot
 * (XDP_ABORTED: flags 0), everything else passes. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct { __uint(type, BPF_MAP_TYPE_CPUMAP); __type(key, __u32); __type(value, __u32); __uint(max_entries, 4); } cpu_map SEC(".maps");

SEC("xdp")
int xdp_cpumap(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
        return XDP_PASS;
    struct udphdr *udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > end)
        return XDP_PASS;
    if (udp->dest == bpf_htons(5000))
        return bpf_redirect_map(&cpu_map, 1, 0);
    if (udp->dest == bpf_htons(5001))
        return bpf_redirect_map(&cpu_map, 3, 0);
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
'''


FIB6 = r'''/* IPv6 forwarding in XDP (xdp-tutorial's packet03 style): bpf_fib_lookup on the IPv6 header,
 * on success the hop limit decremented, MACs from the lookup and bpf_redirect out of its
 * device; anything else passes to the stack. Lookup results are counted by return code. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define AF_INET6 10

struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 16); } fib_rc SEC(".maps");

SEC("xdp")
int xdp_fib6(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    if ((void *)(ip6 + 1) > end || eth->h_proto != bpf_htons(ETH_P_IPV6))
        return XDP_PASS;
    if (ip6->hop_limit <= 1)
        return XDP_PASS;
    struct bpf_fib_lookup p = {};
    p.family = AF_INET6;
    p.flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0FFFFFFF);
    p.l4_protocol = ip6->nexthdr;
    p.tot_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
    __builtin_memcpy(p.ipv6_src, &ip6->saddr, 16);
    __builtin_memcpy(p.ipv6_dst, &ip6->daddr, 16);
    p.ifindex = ctx->ingress_ifindex;
    long rc = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
    __u32 k = rc < 0 ? 15 : (__u32)rc & 15;
    __u64 *n = bpf_map_lookup_elem(&fib_rc, &k);
    if (n)
        __sync_fetch_and_add(n, 1);
    if (rc != BPF_FIB_LKUP_RET_SUCCESS)
        return XDP_PASS;
    ip6->hop_limit--;
    __builtin_memcpy(eth->h_dest, p.dmac, ETH_ALEN);
    __builtin_memcpy(eth->h_source, p.smac, ETH_ALEN);
    return bpf_redirect(p.ifindex, 0);
}

char _license[] SEC("license") = "GPL";
'''


def fib6_case():
    write("xdp_fib6_fwd_1", {
        "description": "IPv6 forwarding with bpf_fib_lookup (AF_INET6): redirected on success, NO_NEIGH / local / hop limit 1 / link-local pass to the stack [native]",
        "ipv6": True,
        "sysctls": {"net.ipv6.conf.all.forwarding": 1},
        "xdp": [{"dev": "eth0", "mode": "native", "section": "xdp", "c": FIB6}],
        "packets": [
            {"ingress": "eth0", "hex": v6udp("2001:db8::1", "2001:db8:1::5", 1000, 53), "desc": "to eth1's subnet, neighbour known: redirected out of eth1"},
            {"ingress": "eth0", "hex": v6udp("2001:db8::1", "2001:db8:2::7", 1000, 53), "desc": "to 2001:db8:2::/64 via 2001:db8::1 on eth0: redirected back out of eth0"},
            {"ingress": "eth0", "hex": v6udp("2001:db8::1", "2001:db8:1::99", 1000, 53), "desc": "no neighbour: NO_NEIGH, the stack resolves it"},
            {"ingress": "eth0", "hex": v6udp("2001:db8::1", "2001:db8::2", 1000, 53), "desc": "to the DUT: NOT_FWDED, port unreachable"},
            {"ingress": "eth0", "hex": v6udp("2001:db8::1", "2001:db8:1::5", 1000, 53, hlim=1), "desc": "hop limit 1: the stack answers time exceeded"},
            {"ingress": "eth0", "hex": v6udp("2001:db8::1", "fe80::1", 1000, 53), "desc": "link-local destination: NOT_FWDED"},
        ],
        "xdp_peers": "xdp-pass", "ruleset": ""})


def cpumap_case(name="xdp_cpumap_1", mode="native"):
    write(name, {
        "description": "CPUMAP redirect to CPU 1 (qsize 192): the stack takes the frame there; an empty slot aborts [%s]" % mode,
        "xdp": [{"dev": "eth0", "mode": mode, "section": "xdp", "c": CPUMAP,
                 "maps": {"cpu_map": [["01000000", "c0000000"]]}}],
        "packets": [
            {"ingress": "eth0", "hex": v4udp("198.18.0.1", "198.18.0.2", 1000, 5000), "desc": "port 5000: to CPU 1, then the stack: port unreachable"},
            {"ingress": "eth0", "hex": v4udp("198.18.0.1", "198.18.0.2", 1000, 5001), "desc": "port 5001: CPU 3's slot is empty, XDP_ABORTED"},
            {"ingress": "eth0", "hex": v4udp("198.18.0.1", "198.18.0.2", 1000, 5002), "desc": "other port: passes, port unreachable"},
        ],
        "xdp_peers": "xdp-pass", "ruleset": "", "sysctls": {}})


if __name__ == "__main__":
    main()
