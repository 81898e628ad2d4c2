#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("tc")
int tc_xdp_helper(struct __sk_buff *skb)
{
    return bpf_xdp_adjust_head(skb, 4);
}
char _license[] SEC("license") = "GPL";
