// Reads the __sk_buff fields a tc program sees, keeps them in a map and writes the writable ones.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
} fields SEC(".maps");

static __always_inline void keep(__u32 k, __u64 v) { bpf_map_update_elem(&fields, &k, &v, BPF_ANY); }

SEC("tc")
int ctx_fields(struct __sk_buff *skb)
{
    keep(0, skb->len);
    keep(1, skb->pkt_type);
    keep(2, skb->protocol);
    keep(3, skb->ifindex);
    keep(4, skb->ingress_ifindex);
    keep(5, skb->wire_len);
    keep(6, skb->queue_mapping);
    keep(7, skb->vlan_present);
    keep(8, skb->hash);
    keep(9, skb->mark);
    keep(10, skb->priority);
    keep(11, skb->cb[1]);
    keep(12, *(volatile __u16 *)((void *)skb + 16));   // narrow read of protocol
    keep(13, skb->data_end - skb->data);
    skb->mark = skb->len + 1000;
    skb->priority = skb->protocol;
    skb->cb[0] = skb->pkt_type + 7;
    skb->tc_index = 0x12345;
    return skb->mark == 1000 + skb->len ? TC_ACT_OK : TC_ACT_SHOT;
}

char _license[] SEC("license") = "GPL";
