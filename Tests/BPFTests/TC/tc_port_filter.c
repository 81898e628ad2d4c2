// Drops UDP to a port listed in a hash map and counts what it drops; redirects UDP port 7 out
// of ifindex 3 (ingress with port 17); everything else passes on to the next filter.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u16);
    __type(value, __u64);
} blocked SEC(".maps");

SEC("classifier")
int port_filter(struct __sk_buff *skb)
{
    struct iphdr ip;
    struct udphdr udp;
    if (skb->protocol != bpf_htons(ETH_P_IP))
        return TC_ACT_UNSPEC;
    if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0 || ip.protocol != IPPROTO_UDP)
        return TC_ACT_UNSPEC;
    if (bpf_skb_load_bytes(skb, ETH_HLEN + ip.ihl * 4, &udp, sizeof(udp)) < 0)
        return TC_ACT_SHOT;
    __u16 port = bpf_ntohs(udp.dest);
    if (port == 7)
        return bpf_redirect(3, 0);
    if (port == 17)
        return bpf_redirect(3, BPF_F_INGRESS);
    if (port == 19)
        return bpf_redirect(3, 4);
    __u64 *n = bpf_map_lookup_elem(&blocked, &port);
    if (n) {
        __sync_fetch_and_add(n, 1);
        bpf_printk("drop udp port %d", port);
        return TC_ACT_SHOT;
    }
    return TC_ACT_PIPE;
}

char _license[] SEC("license") = "GPL";
