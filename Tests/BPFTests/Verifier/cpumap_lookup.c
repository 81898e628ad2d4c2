// A cpumap is only for bpf_redirect_map; a program may not look into it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_CPUMAP); __type(key, __u32); __type(value, __u32); __uint(max_entries, 4); } cpus SEC(".maps");
SEC("xdp")
int cpumap_lookup(struct xdp_md *ctx)
{
    __u32 k = 0;
    __u32 *q = bpf_map_lookup_elem(&cpus, &k);
    return q && *q ? XDP_PASS : bpf_redirect_map(&cpus, 1, 0);
}
char _license[] SEC("license") = "GPL";
