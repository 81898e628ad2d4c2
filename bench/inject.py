#!/usr/bin/env python3
"""Injection over HTTP/1.1 end to end (release build): 10,000 UDP packets per request as a JSON
packet list and as a pcap body, in the trace modes full, summary and none; packets/s per request
(median of 5) with the answer's size. Usage: bench/inject.py [BINARY]"""
import json, os, statistics, struct, sys, tempfile, time, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from psserver import Server

binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "packetstackd")
N = 10_000
db = os.path.join(tempfile.mkdtemp(prefix="ps-inject-"), "b.db")
srv = Server(binary, db, "--max-traces", "100000000")
base = f"http://127.0.0.1:{srv.port}"

def post(path, body, ctype="application/json"):
    req = urllib.request.Request(base + path, data=body, method="POST", headers={"content-type": ctype})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        data = r.read()
    return time.perf_counter() - t0, len(data)

post("/v1/stacks", json.dumps({"name": "h", "devices": [{"name": "eth0", "mac": "02:00:00:00:00:02", "addresses": ["198.18.0.2/24"]}],
                               "neighbours": [{"address": "198.18.0.1", "mac": "02:00:00:00:00:01", "dev": "eth0"}],
                               "sockets": [{"protocol": "udp", "port": 9, "rcvbuf": 1 << 30}]}).encode())
spec = {"device": "eth0", "eth": {"src": "02:00:00:00:00:01"}, "ipv4": {"src": "198.18.0.1"}, "udp": {"sport": 1000, "dport": 9}}
body_json = json.dumps({"packets": [spec] * N}).encode()

def frame(k):
    udp = struct.pack("!HHHH", 1000, 9, 9, 0) + b"x"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), k & 0xffff, 0, 64, 17, 0, bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]))
    s = sum(struct.unpack("!10H", ip)); s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    ip = ip[:10] + struct.pack("!H", ~s & 0xffff) + ip[12:]
    return bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0]) + ip + udp
pcap = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
for k in range(N):
    f = frame(k)
    pcap += struct.pack("<IIII", 1_700_000_000, k, len(f), len(f)) + f

print(f"POST /v1/stacks/h/packets, {N} UDP packets per request into a socket, HTTP/1.1, median of 5")
for mode in ["full", "summary", "none"]:
    for kind, body, ctype, q in [("json", body_json, "application/json", ""), ("pcap", pcap, "application/vnd.tcpdump.pcap", "&device=eth0")]:
        runs = [post(f"/v1/stacks/h/packets?trace={mode}{q}", body, ctype) for _ in range(5)]
        t = statistics.median(r[0] for r in runs)
        print(f"  {mode:8} {kind}: {N / t:10,.0f} packets/s  ({t * 1000:6.1f} ms, answer {runs[0][1]:,} bytes)")
srv.terminate(); srv.wait()
