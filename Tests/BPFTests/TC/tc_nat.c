// Stateless DNAT of UDP and TCP to 10.0.9.9 port 8080, as tc examples do it: the address and
// port rewritten with bpf_skb_store_bytes, the sums fixed with bpf_l3/l4_csum_replace.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define IP_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))
#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))

SEC("tc")
int dnat(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = data + sizeof(*eth);
    if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
        return TC_ACT_OK;
    __u8 proto = ip->protocol;
    if (proto != IPPROTO_UDP && proto != IPPROTO_TCP)
        return TC_ACT_OK;
    __u32 old_ip = ip->daddr, new_ip = bpf_htonl(0x0a000909);
    __u32 l4 = ETH_HLEN + sizeof(struct iphdr);
    __u32 csum_off = l4 + (proto == IPPROTO_UDP ? offsetof(struct udphdr, check) : offsetof(struct tcphdr, check));
    __u32 port_off = l4 + offsetof(struct udphdr, dest);
    __u16 old_port;
    if (bpf_skb_load_bytes(skb, port_off, &old_port, 2) < 0)
        return TC_ACT_SHOT;
    __u16 new_port = bpf_htons(8080);
    __u64 mangled = proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
    bpf_l4_csum_replace(skb, csum_off, old_ip, new_ip, BPF_F_PSEUDO_HDR | sizeof(new_ip) | mangled);
    bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_ip, new_ip, sizeof(new_ip));
    bpf_skb_store_bytes(skb, IP_DST_OFF, &new_ip, sizeof(new_ip), 0);
    bpf_l4_csum_replace(skb, csum_off, old_port, new_port, sizeof(new_port) | mangled);
    bpf_skb_store_bytes(skb, port_off, &new_port, sizeof(new_port), 0);
    return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
