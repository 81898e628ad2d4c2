#!/usr/bin/env bash
# The real kernel's side of bench/xdp.sh (root; clang, libbpf-dev, ethtool): 60-byte UDP frames sent
# with AF_PACKET into a veth pair between two network namespaces of our own, the receiving veth
# running bench/xdp/drop_port.c natively (xdpdrv), then bench/xdp/reflect.c (XDP_TX, the peer
# running bench/xdp/pass.c so veth delivers), then bench/xdp/tc_drop_port.c on clsact ingress. Prints the frames/s XDP dropped or sent back, from
# veth's ethtool counters (the kernel's figure includes the sender: veth receives on its CPU).
#   bench/kernel/xdp.sh [seconds]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}"
tmp=$(mktemp -d)
tx=psxt$$ rx=psxr$$
cleanup() { ip netns del "$tx" 2>/dev/null || true; ip netns del "$rx" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
cc -O2 -o "$tmp/blast" kernel/blast.c
for p in drop_port reflect pass tc_drop_port; do clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "xdp/$p.c" -o "$tmp/$p.o"; done
ip netns add "$tx"; ip netns add "$rx"
ip -n "$tx" link add veth0 type veth peer name veth1 netns "$rx"
ip -n "$tx" link set veth0 address 02:00:00:00:ff:01 up
ip -n "$rx" link set veth1 address 02:00:00:00:00:01 up
ip -n "$rx" addr add 198.18.0.1/24 dev veth1
# veth counts per queue: rx_queue_N_xdp_drops, summed.
stat() { ip netns exec "$rx" ethtool -S veth1 | awk -v k="_$1:" 'index($1, "rx_queue_") == 1 && substr($1, length($1) - length(k) + 1) == k {s += $2} END {print s + 0}'; }
echo "kernel $(uname -r): 60-byte UDP frames to port 80 into a veth with native XDP, ${secs} s per case"
ip -n "$rx" link set dev veth1 xdpdrv obj "$tmp/drop_port.o" sec xdp
before=$(stat xdp_drops)
sent=$(ip netns exec "$tx" "$tmp/blast" veth0 "$secs")
after=$(stat xdp_drops)
printf "kernel XDP drop_port (native, veth): %10.0f packets/s dropped (%d sent)\n" "$(echo "($after - $before) / $secs" | bc -l)" "$sent"
ip -n "$rx" link set dev veth1 xdpdrv off
ip -n "$rx" link set dev veth1 xdpdrv obj "$tmp/reflect.o" sec xdp
ip -n "$tx" link set dev veth0 xdpdrv obj "$tmp/pass.o" sec xdp
before=$(stat xdp_tx)
sent=$(ip netns exec "$tx" "$tmp/blast" veth0 "$secs")
after=$(stat xdp_tx)
printf "kernel XDP_TX reflector (native, veth): %10.0f packets/s sent back (%d sent)\n" "$(echo "($after - $before) / $secs" | bc -l)" "$sent"
ip -n "$tx" link set dev veth0 xdpdrv off
ip -n "$rx" link set dev veth1 xdpdrv off
# tc ingress on clsact: the drops clsact counts (tc -s qdisc show).
ip netns exec "$rx" tc qdisc add dev veth1 clsact
ip netns exec "$rx" tc filter add dev veth1 ingress bpf da obj "$tmp/tc_drop_port.o" sec tc
tcdrops() { ip netns exec "$rx" tc -s qdisc show dev veth1 | awk '/qdisc clsact/ {c = 1} c && /dropped/ {gsub(",", ""); for (i = 1; i <= NF; i++) if ($i == "(dropped") {print $(i + 1); exit}}'; }
before=$(tcdrops)
sent=$(ip netns exec "$tx" "$tmp/blast" veth0 "$secs")
after=$(tcdrops)
printf "kernel tc ingress tc_drop_port (clsact, veth): %10.0f packets/s dropped (%d sent)\n" "$(echo "($after - $before) / $secs" | bc -l)" "$sent"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
# The frame blast sends and the simulator runs: 60-byte UDP from 198.18.0.9:40000 to 198.18.0.1:80.
python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex("020000000001" "02000000ff01" "0800" "4500002e00004000" "4011" "0000" "c6120009" "c6120001" "9c400050001a0000" + "00" * 18))' > "$tmp/frame"
for p in drop_port reflect tc_drop_port; do
    bpftool prog load "$tmp/$p.o" "/sys/fs/bpf/ps_$p"
    r=$(bpftool prog run pinned "/sys/fs/bpf/ps_$p" data_in "$tmp/frame" repeat 10000000 2>&1 | grep -o "Return value: [0-9]*, duration (average): [0-9]*ns")
    rm -f "/sys/fs/bpf/ps_$p"
    echo "kernel BPF_PROG_TEST_RUN $p (JIT), 10M runs: $r"
done
