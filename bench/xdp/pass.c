/* bench: the peer's program, so veth delivers XDP_TX frames to it (native XDP on veth) */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp")
int pass(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] SEC("license") = "GPL";
