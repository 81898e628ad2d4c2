#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
SEC("xdp")
int nocheck(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    struct ethhdr *eth = data;
    if (eth->h_proto == 0x0008)
        return XDP_DROP;
    return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
