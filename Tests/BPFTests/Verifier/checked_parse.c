#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 256); } proto SEC(".maps");
SEC("xdp")
int checked(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end)
        return XDP_PASS;
    __u32 k = ip->protocol;
    __u64 *n = bpf_map_lookup_elem(&proto, &k);
    if (n)
        *n += 1;
    struct udphdr *udp = (void *)ip + ip->ihl * 4;
    if (ip->protocol != IPPROTO_UDP || (void *)(udp + 1) > end)
        return XDP_PASS;
    return udp->dest == bpf_htons(9) ? XDP_DROP : XDP_PASS;
}
char _license[] SEC("license") = "GPL";
