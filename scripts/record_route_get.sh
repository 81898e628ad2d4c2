#!/usr/bin/env bash
# Records `ip -j route get` (iproute2 6.1, Linux 6.18) for ResourceTests.testRouteGetAnswersAsIpDoes: one
# namespace, eth0-like veth v0 198.18.0.1/24, default via 198.18.0.254, `ip rule add fwmark 1 lookup 100`,
# `ip route add local 0.0.0.0/0 dev lo table 100`; lookups for what the host sends, then (forwarding on)
# for what comes in on v0 from 198.18.0.9, then without the default route. Recorded 2026-12-06 (v0 there
# is eth0 in the test).
set -e
unshare -n sh -c '
ip link set lo up; ip link add v0 type veth peer name v1; ip link set v0 up; ip link set v1 up
ip addr add 198.18.0.1/24 dev v0; ip route add default via 198.18.0.254
ip rule add fwmark 1 lookup 100; ip route add local 0.0.0.0/0 dev lo table 100
for a in "8.8.8.8" "198.18.0.1" "8.8.8.8 mark 1" "198.18.0.7" "198.18.0.255" "8.8.8.8 from 198.18.0.1" "8.8.8.8 mark 0x10" \
         "8.8.8.8 from 198.18.0.77" "8.8.8.8 from 198.18.0.9 iif v0"; do echo "== $a"; ip -j route get $a || true; done
sysctl -qw net.ipv4.ip_forward=1
for a in "8.8.8.8 from 198.18.0.9 iif v0" "8.8.8.8 from 198.18.0.9 iif v0 mark 1"; do echo "== $a"; ip -j route get $a; done
ip route del default; echo "== 8.8.8.8 (no default)"; ip -j route get 8.8.8.8 || true'
