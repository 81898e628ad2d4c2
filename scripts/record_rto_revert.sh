#!/usr/bin/env bash
# Records RFC 6069's RTO revert on Linux 6.18 for TCTests/TCPAgreementTests-style replay: pa
# (198.18.0.1, 2001:db8::1) connects to pb's listener on port 80 (198.18.0.9, 2001:db8::9), then
# pb's ruleset drops pa's data; pa writes 100 bytes. pb's packet socket watches pa's data segments
# and, 100 ms after the third, answers it with a host unreachable (ICMP 3/1; over IPv6, ICMPv6
# 1/0 no route) quoting it. Printed per family: each data segment's time (ms after the first) and
# its sequence number, and the time of the ICMP error.
source "$(dirname "$0")/netns_pa_pb.sh"
ip -n pa addr add 198.18.0.1/24 dev va; ip -n pa addr add 2001:db8::1/64 dev va nodad
ip -n pb addr add 198.18.0.9/24 dev vb; ip -n pb addr add 2001:db8::9/64 dev vb nodad
ip -n pa neigh add 198.18.0.9 lladdr 02:00:00:00:ff:01 dev va nud permanent; ip -n pb neigh add 198.18.0.1 lladdr 02:00:00:00:00:01 dev vb nud permanent
ip -n pa -6 neigh add 2001:db8::9 lladdr 02:00:00:00:ff:01 dev va nud permanent; ip -n pb -6 neigh add 2001:db8::1 lladdr 02:00:00:00:00:01 dev vb nud permanent
for fam in 4 6; do
  if [ $fam = 4 ]; then PEER=198.18.0.9; else PEER=2001:db8::9; fi
  ip netns exec pb nft flush ruleset
  ip netns exec pb python3 -c "
import socket, time
s = socket.socket(socket.AF_INET6 if '$fam' == '6' else socket.AF_INET); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('::' if '$fam' == '6' else '0.0.0.0', 80)); s.listen(1); c, a = s.accept(); time.sleep(9)" &
  LS=$!; sleep 0.3
  ip netns exec pb python3 - "$fam" <<'PY' &
import socket, struct, sys, time
from scapy.all import Ether, IP, ICMP, IPv6, ICMPv6DestUnreach, Raw, sendp
fam = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); s.bind(("vb", 0)); s.settimeout(10)
t0 = None; n = 0; sent = False
try:
    while True:
        f, a = s.recvfrom(70000)
        if a[2] == 4: continue
        if fam == "4" and f[12:14] == b"\x08\x00" and f[23] == 6:
            ihl = (f[14] & 15) * 4; th = 14 + ihl; doff = (f[th + 12] >> 4) * 4; plen = int.from_bytes(f[16:18], "big") - ihl - doff
            seq = int.from_bytes(f[th + 4:th + 8], "big"); quote = f[14:14 + int.from_bytes(f[16:18], "big")]
        elif fam == "6" and f[12:14] == b"\x86\xdd" and f[20] == 6:
            th = 54; doff = (f[th + 12] >> 4) * 4; plen = int.from_bytes(f[18:20], "big") - doff
            seq = int.from_bytes(f[th + 4:th + 8], "big"); quote = f[14:54 + int.from_bytes(f[18:20], "big")]
        else: continue
        if plen <= 0: continue
        now = time.monotonic(); t0 = t0 or now; n += 1
        print("data %d seq %d" % ((now - t0) * 1000, seq), flush=True)
        if n == 3 and not sent:
            time.sleep(0.1)
            if fam == "4": p = Ether(src="02:00:00:00:ff:01", dst="02:00:00:00:00:01")/IP(src="198.18.0.9", dst="198.18.0.1")/ICMP(type=3, code=1)/Raw(quote)
            else: p = Ether(src="02:00:00:00:ff:01", dst="02:00:00:00:00:01")/IPv6(src="2001:db8::9", dst="2001:db8::1")/ICMPv6DestUnreach(code=0)/Raw(quote)
            sendp(p, iface="vb", verbose=False); sent = True
            print("icmp %d" % ((time.monotonic() - t0) * 1000), flush=True)
        if n >= 6: break
except socket.timeout: pass
PY
  SN=$!; sleep 0.5
  ip netns exec pa python3 -c "
import socket, time
c = socket.socket(socket.AF_INET6 if '$fam' == '6' else socket.AF_INET); c.connect(('$PEER', 80)); time.sleep(0.3)
import subprocess; subprocess.run(['ip', 'netns', 'exec', 'pb', 'nft', 'add table inet d; add chain inet d i { type filter hook input priority 0; }; add rule inet d i tcp dport 80 tcp flags & syn == 0 drop'], check=True)
c.send(b'x' * 100); time.sleep(6)" || true
  echo "== IPv$fam"; wait $SN || true; kill $LS 2>/dev/null || true; wait $LS 2>/dev/null || true
done
ip netns del pa; ip netns del pb
