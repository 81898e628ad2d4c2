#!/usr/bin/env bash
# Records a connect nobody answers on the real kernel (Linux 6.18, tcp_syn_retries 6,
# tcp_syn_linear_timeouts 4), for TCPRetransmitTests.testASynNobodyAnswersTimesOut: ka (198.18.0.9)
# drops SYNs to 5001; kb (198.18.0.1) connects; tshark on kb's veth times the SYNs, nstat counts.
# Recorded 2026-12-06 (takes about 135 s): SYNs at 0, 1.02, 2.05, 3.07, 4.09, 5.12, 7.13, 11.20, 19.39,
# 35.52, 67.77 s (whole seconds plus the timer wheel's slack), connect ETIMEDOUT after 133.3 s;
# TcpRetransSegs 10, TcpExtTCPTimeouts 11, TcpExtTCPSynRetrans 10, TcpExtTCPAbortOnTimeout 1.
# TcpAttemptFails read 1 in the runs without tshark and 11 in those with it (not looked into).
# With `sysctl -w net.ipv4.tcp_syn_retries=2` in kb before the connect (2026-12-06): SYNs at 0, 1.01,
# 2.04, 3.06, 4.08, 5.11 s, ETIMEDOUT after 7.12 s; TcpRetransSegs 5, TCPTimeouts 6, TCPSynRetrans 5.
. "$(dirname "$0")/netns_pair.sh"
ip netns exec ka nft -f - <<'NFT'
table ip t { chain i { type filter hook input priority 0; tcp dport 5001 drop; }; }
NFT
ip netns exec kb tshark -i vb -f tcp -l -T fields -e frame.time_epoch > /tmp/syn_timeout.txt 2>/dev/null &
TD=$!
ip netns exec kb nstat -n
sleep 1
ip netns exec kb python3 -c "
import socket, time, errno
s = socket.socket(); t = time.time()
try: s.connect(('198.18.0.9', 5001))
except OSError as e: print('connect', errno.errorcode.get(e.errno, e), 'after', round(time.time() - t, 2), 's', flush=True)"
sleep 0.5; kill $TD 2>/dev/null; sleep 0.5
echo "SYNs at (s):" $(awk 'NR==1{t0=$1} {printf "%.2f ", $1-t0}' /tmp/syn_timeout.txt)
ip netns exec kb nstat -z | grep -E "TcpRetransSegs|TcpAttemptFails|TCPTimeouts|TCPSynRetrans|TCPAbortOnTimeout"
