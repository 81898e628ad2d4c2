// Legacy packet loads (LD_ABS / LD_IND, iproute2's load_byte/half/word): big-endian values from
// the frame; a load past its end ends the program, returning 0.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEC("tc")
int ld_abs(struct __sk_buff *skb)
{
    __u64 proto = load_half(skb, 12);
    __u64 ihl = load_byte(skb, 14) & 0xf;
    __u64 dst = load_word(skb, 30);
    __u64 dport = load_half(skb, 14 + ihl * 4 + 2);
    skb->mark = (__u32)dst;
    skb->priority = (__u32)(proto << 16 | dport);
    if (skb->cb[0] == 1 && load_byte(skb, 4000))
        return 5;
    return 7;
}

char _license[] SEC("license") = "GPL";
