#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 4); } m SEC(".maps");
SEC("xdp")
int value_oob(struct xdp_md *ctx)
{
    __u32 k = 0;
    volatile __u64 *v = bpf_map_lookup_elem(&m, &k);
    if (!v)
        return XDP_PASS;
    return v[1] ? XDP_DROP : XDP_PASS;
}
char _license[] SEC("license") = "GPL";
