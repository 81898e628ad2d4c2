// A packet pointer checked before bpf_skb_store_bytes is stale after it (the helper may move data).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("tc")
int tc_stale_after_store(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    unsigned char *p = data;
    if (p + 14 > (unsigned char *)end)
        return 0;
    __u32 v = 0;
    bpf_skb_store_bytes(skb, 0, &v, 4, 0);
    return p[12];
}
char _license[] SEC("license") = "GPL";
