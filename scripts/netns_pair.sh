# Sourced by the record_*.sh scripts: namespaces ka (198.18.0.9) and kb (198.18.0.1) joined by a
# veth pair (va, vb), both removed when the script exits. Run as root.
set -e
trap 'ip netns del ka 2>/dev/null; ip netns del kb 2>/dev/null' EXIT
ip netns add ka; ip netns add kb
ip link add va netns ka type veth peer name vb netns kb
ip -n ka addr add 198.18.0.9/24 dev va; ip -n kb addr add 198.18.0.1/24 dev vb
for n in ka kb; do ip -n $n link set lo up; done; ip -n ka link set va up; ip -n kb link set vb up

# trace_in NS FILE [RULESET]: loads RULESET (default: an inet table counting in each hook, nftrace
# set in output) into NS and runs `nft monitor trace` into FILE (MON: its pid; killing it is the
# caller's), settled before the caller goes on.
COUNTING_TABLE='table inet t {
  chain pre { type filter hook prerouting priority 0; policy accept; counter; }
  chain in { type filter hook input priority 0; policy accept; counter; }
  chain out { type filter hook output priority 0; policy accept; meta nftrace set 1; counter; }
  chain post { type filter hook postrouting priority 0; policy accept; counter; }
}'
trace_in() {
    ip netns exec "$1" nft -f - <<< "${3:-$COUNTING_TABLE}"
    ip netns exec "$1" nft monitor trace > "$2" 2>&1 &
    MON=$!
    sleep 0.5
}
