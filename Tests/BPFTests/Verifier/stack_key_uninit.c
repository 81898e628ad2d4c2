#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u32); __type(value, __u64); __uint(max_entries, 4); } m SEC(".maps");
SEC("xdp")
int key_uninit(struct xdp_md *ctx)
{
    __u32 k[2];
    k[1] = 3;
    __u64 *v = bpf_map_lookup_elem(&m, &k[0]);
    return v ? XDP_DROP : XDP_PASS;
}
char _license[] SEC("license") = "GPL";
