#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp")
int store(struct xdp_md *ctx)
{
    char b = 0;
    bpf_skb_store_bytes(ctx, 0, &b, 1, 0);
    return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
