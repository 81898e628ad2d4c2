#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("tc")
int tc_read_family(struct __sk_buff *skb)
{
    return skb->family == 2 ? 2 : 0;
}
char _license[] SEC("license") = "GPL";
