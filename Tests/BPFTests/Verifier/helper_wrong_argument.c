#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp")
int wrong_arg(struct xdp_md *ctx)
{
    __u32 k = 0;
    void *v = bpf_map_lookup_elem((void *)ctx, &k);
    return v ? XDP_DROP : XDP_PASS;
}
char _license[] SEC("license") = "GPL";
