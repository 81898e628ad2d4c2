#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp")
int spin(struct xdp_md *ctx)
{
    volatile int x = 0;
    while (x == 0)
        ;
    return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
