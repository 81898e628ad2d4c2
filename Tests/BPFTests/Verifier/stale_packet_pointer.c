#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
SEC("xdp")
int stale(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_PASS;
    if (bpf_xdp_adjust_head(ctx, 4))
        return XDP_PASS;
    return eth->h_proto == 0x0008 ? XDP_DROP : XDP_PASS;
}
char _license[] SEC("license") = "GPL";
