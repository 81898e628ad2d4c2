// The checksum helpers' corner cases, chosen by the first payload byte after a 20-byte IPv4
// header: csum_replace2 on the IP sum, a UDP sum of 0 kept by BPF_F_MARK_MANGLED_0, a sum forced
// by BPF_F_MARK_ENFORCE, a diff from bpf_csum_diff, bad flags and offsets.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int csum_cases(struct __sk_buff *skb)
{
    __u8 sel;
    if (bpf_skb_load_bytes(skb, 14 + 20 + 8, &sel, 1) < 0)
        return 100;
    long r = 0;
    switch (sel) {
    case 1: r = bpf_l3_csum_replace(skb, 14 + 10, 0x0040, 0x0140, 2); break;           // TTL 64 -> 65 style word change
    case 2: r = bpf_l4_csum_replace(skb, 14 + 20 + 6, 0x0a000001, 0x0a000002, 4 | BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0); break;
    case 3: r = bpf_l4_csum_replace(skb, 14 + 20 + 6, 0x1111, 0x2222, 2 | BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE); break;
    case 4: {
        __u32 from[2] = {0x01020304, 0x05060708}, to[2] = {0x0a0b0c0d, 0x0e0f1011};
        __s64 d = bpf_csum_diff(from, 8, to, 8, 0);
        r = bpf_l3_csum_replace(skb, 14 + 10, 0, d, 0);
        break;
    }
    case 5: r = bpf_l3_csum_replace(skb, 14 + 10, 1, 2, 3); break;                  // bad size
    case 6: r = bpf_l4_csum_replace(skb, 14 + 21, 1, 2, 2); break;                  // odd offset
    case 7: r = bpf_l3_csum_replace(skb, 4000, 1, 2, 2); break;                     // past the end
    case 8: { __u32 v = 0xdeadbeef; r = bpf_skb_store_bytes(skb, skb->len - 2, &v, 4, 0); break; }
    case 9: { __u32 v = 0xdeadbeef; r = bpf_skb_store_bytes(skb, 0, &v, 4, 8); break; }
    case 10: { __u8 buf[8]; r = bpf_skb_load_bytes(skb, skb->len - 4, buf, 8); r = r * 1000 + buf[0]; break; }
    case 11: r = bpf_skb_pull_data(skb, skb->len) * 10 + bpf_skb_pull_data(skb, skb->len + 1); break;
    case 12: { __u32 v = 0xcafef00d; r = bpf_skb_store_bytes(skb, 14 + 20 + 12, &v, 4, BPF_F_INVALIDATE_HASH); r = r * 10 + skb->hash; break; }
    }
    return r < 0 ? 200 - r : r;
}

char _license[] SEC("license") = "GPL";
