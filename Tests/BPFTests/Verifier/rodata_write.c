#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
const volatile __u32 limit = 5;
SEC("xdp")
int ro_write(struct xdp_md *ctx)
{
    *(volatile __u32 *)&limit = 6;
    return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
