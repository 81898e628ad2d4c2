#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp")
int ret_ptr(struct xdp_md *ctx)
{
    return (long)ctx->data;
}
char _license[] SEC("license") = "GPL";
