# Sourced after netns_pair.sh by record_*.sh scripts that need a third namespace: kc (vc,
# 02:00:00:00:0c:01) joined to kb by a second veth pair (vd, 02:00:00:00:0d:01); va and vb get
# fixed addresses (02:00:00:00:00:09, 02:00:00:00:00:01); IPv6 is off in all three (no router
# solicitations or DAD in the captures). All three are removed when the script exits.
trap 'ip netns del ka 2>/dev/null; ip netns del kb 2>/dev/null; ip netns del kc 2>/dev/null' EXIT
ip netns add kc
ip link add vd netns kb address 02:00:00:00:0d:01 type veth peer name vc netns kc address 02:00:00:00:0c:01
ip -n kb link set vd up; ip -n kc link set vc up; ip -n kc link set lo up
ip -n ka link set va address 02:00:00:00:00:09; ip -n kb link set vb address 02:00:00:00:00:01
for n in ka kb kc; do ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip netns exec ka sysctl -qw net.ipv6.conf.va.disable_ipv6=1; ip netns exec kb sysctl -qw net.ipv6.conf.vb.disable_ipv6=1 net.ipv6.conf.vd.disable_ipv6=1; ip netns exec kc sysctl -qw net.ipv6.conf.vc.disable_ipv6=1
sleep 1
