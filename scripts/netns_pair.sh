# Sourced by the record_*.sh scripts: namespaces ka (198.18.0.9) and kb (198.18.0.1) joined by a
# veth pair (va, vb), both removed when the script exits. Run as root.
set -e
trap 'ip netns del ka 2>/dev/null; ip netns del kb 2>/dev/null' EXIT
ip netns add ka; ip netns add kb
ip link add va netns ka type veth peer name vb netns kb
ip -n ka addr add 198.18.0.9/24 dev va; ip -n kb addr add 198.18.0.1/24 dev vb
for n in ka kb; do ip -n $n link set lo up; done; ip -n ka link set va up; ip -n kb link set vb up
