// bpf_skb_change_tail and bpf_skb_change_head, chosen by cb[0]: the new length (or headroom) in
// cb[1], flags in cb[2]; the return value is the helper's (errno offset by 200) and the new length.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int change_size(struct __sk_buff *skb)
{
    long r;
    if (skb->cb[0] == 1)
        r = bpf_skb_change_tail(skb, skb->cb[1], skb->cb[2]);
    else
        r = bpf_skb_change_head(skb, skb->cb[1], skb->cb[2]);
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    unsigned char *p = data;
    if (r == 0 && p + 1 <= (unsigned char *)end)
        p[0] = 0xee;
    skb->mark = skb->len;
    return r < 0 ? 200 - r : r;
}

char _license[] SEC("license") = "GPL";
