#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("tc")
int tc_ctx_write_len(struct __sk_buff *skb)
{
    skb->mark = 1;
    skb->len = skb->mark;
    return 0;
}
char _license[] SEC("license") = "GPL";
