#!/usr/bin/env bash
# The real kernel's side of bench/nft.sh (root): 60-byte UDP frames sent with AF_PACKET into a veth
# pair between two network namespaces of our own, through an input chain of N rules
# `ip saddr 198.18.0.9 udp dport P drop` that do not hit, then `counter drop`. Prints packets/s the
# kernel dropped (its figure includes the sender: veth receives on the sending CPU).
#   bench/kernel_nft.sh [seconds]   (default 5)
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-5}"
cc -O2 -o /tmp/psblast kernel/blast.c
tx=pstx$$ rx=psrx$$
cleanup() { ip netns del "$tx" 2>/dev/null || true; ip netns del "$rx" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$tx"; ip netns add "$rx"
ip -n "$tx" link add veth0 type veth peer name veth1 netns "$rx"
ip -n "$tx" link set veth0 address 02:00:00:00:ff:01 up
ip -n "$rx" link set veth1 address 02:00:00:00:00:01 up
ip -n "$rx" addr add 198.18.0.1/24 dev veth1
ip -n "$tx" link set lo up; ip -n "$rx" link set lo up
echo "kernel $(uname -r): 60-byte UDP frames into an input chain, ${secs} s per case"
for n in 0 10 1000 10000; do
    {
        echo "table inet f { chain input { type filter hook input priority 0; policy accept;"
        for ((i = 0; i < n; i++)); do echo "ip saddr 198.18.0.9 udp dport $((10000 + i)) drop"; done
        printf "counter drop\n}\n}\n"
    } > /tmp/psk.nft
    ip netns exec "$rx" nft flush ruleset
    ip netns exec "$rx" nft -f /tmp/psk.nft
    sent=$(ip netns exec "$tx" /tmp/psblast veth0 "$secs")
    dropped=$(ip netns exec "$rx" nft list ruleset | grep -oE "counter packets [0-9]+" | awk '{print $3}')
    printf "%6d rules (no hit) + counter drop: %10.0f packets/s dropped (%d sent)\n" "$n" "$(echo "$dropped / $secs" | bc -l)" "$sent"
done
