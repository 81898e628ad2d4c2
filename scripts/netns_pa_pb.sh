# Sourced by record_*.sh scripts that record pa against pb: namespaces pa (va 02:00:00:00:00:01)
# and pb (vb 02:00:00:00:ff:01) joined by a veth pair, loopback and links up, no DAD (so
# addresses and link-local ones are usable at once); any left by an earlier run go first. The
# caller adds addresses and neighbours, and removes the namespaces. Run as root.
set -e
ip netns del pa 2>/dev/null || true; ip netns del pb 2>/dev/null || true
ip netns add pa; ip netns add pb
for n in pa pb; do ip netns exec $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; ip -n $n link set lo up; done
ip link add va netns pa address 02:00:00:00:00:01 type veth peer name vb netns pb address 02:00:00:00:ff:01
ip -n pa link set va up; ip -n pb link set vb up
