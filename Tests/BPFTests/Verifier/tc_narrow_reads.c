// Narrow reads of 4-byte fields and a packet write are fine for tc; the uninitialised buffer
// of bpf_skb_load_bytes counts as written.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("tc")
int tc_narrow_reads(struct __sk_buff *skb)
{
    __u8 buf[4];
    if (bpf_skb_load_bytes(skb, 0, buf, 4) < 0)
        return 2;
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    unsigned char *p = data;
    if (p + 1 > (unsigned char *)end)
        return 0;
    p[0] = buf[1];
    return *(volatile __u8 *)((void *)skb + 4) + *(volatile __u16 *)((void *)skb + 10) + buf[3];
}
char _license[] SEC("license") = "GPL";
