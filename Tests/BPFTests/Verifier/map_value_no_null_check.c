#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 4); } cnt SEC(".maps");
SEC("xdp")
int nonull(struct xdp_md *ctx)
{
    __u32 k = 1;
    __u64 *v = bpf_map_lookup_elem(&cnt, &k);
    *v += 1;
    return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
