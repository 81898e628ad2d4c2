#!/usr/bin/env python3
"""Injection over HTTP end to end (release build): UDP packets into a socket, one request per
batch, as a JSON packet list, as NDJSON (one {"device","hex"} line a packet) and as a pcap body;
over HTTP/1.1 and h2 (curl, prior knowledge); in the trace modes none, summary and full, and
summary with ?results=none (traces stored, the answer only counts and their ids), also with
?sync=true (answered once the traces are committed).
Packets/s per request (median of 3, curl's time_total) with the answer's size. Batches are
100,000 packets in the modes none and summary and 10,000 in full (every trace is stored).
Usage: bench/inject.py [BINARY]"""
import json, os, statistics, struct, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from psserver import Server

binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "packetstackd")
BIG, SMALL = 100_000, 10_000
work = tempfile.mkdtemp(prefix="ps-inject-")
srv = Server(binary, os.path.join(work, "b.db"), "--max-traces", "100000000", "--max-packets", str(BIG), "--max-body", str(64 << 20))
base = f"http://127.0.0.1:{srv.port}"


def curl(args):
    out = subprocess.run(["curl", "-sS", "--fail-with-body", *args], capture_output=True, check=True).stdout
    return out


def post(path, file, ctype, h2):
    out = curl(["--http2-prior-knowledge" if h2 else "--http1.1", "-o", os.path.join(work, "answer"), "-w", "%{time_total} %{size_download}",
                "-H", f"content-type: {ctype}", "--data-binary", "@" + file, base + path])
    t, size = out.split()
    return float(t), int(size)


with open(os.path.join(work, "stack.json"), "w") as f:
    json.dump({"name": "h", "devices": [{"name": "eth0", "mac": "02:00:00:00:00:02", "addresses": ["198.18.0.2/24"]}],
               "neighbours": [{"address": "198.18.0.1", "mac": "02:00:00:00:00:01", "dev": "eth0"}],
               "sockets": [{"protocol": "udp", "port": 9, "rcvbuf": 1 << 30}],
               # SO_RCVBUF is capped by rmem_max: raised so a batch's datagrams all fit.
               "sysctls": {"net.core.rmem_max": 1 << 30}}, f)
curl(["-o", "/dev/null", "-H", "content-type: application/json", "--data-binary", "@" + os.path.join(work, "stack.json"), base + "/v1/stacks"])


def frame(k):
    udp = struct.pack("!HHHH", 1000, 9, 9, 0) + b"x"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), k & 0xffff, 0, 64, 17, 0, bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]))
    s = sum(struct.unpack("!10H", ip)); s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    ip = ip[:10] + struct.pack("!H", ~s & 0xffff) + ip[12:]
    return bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0]) + ip + udp


def bodies(n):
    """Files of n packets: (kind, path, content type, query)."""
    spec = {"device": "eth0", "eth": {"src": "02:00:00:00:00:01"}, "ipv4": {"src": "198.18.0.1"}, "udp": {"sport": 1000, "dport": 9}}
    frames = [frame(k) for k in range(n)]
    out = []
    p = os.path.join(work, f"json{n}")
    with open(p, "wb") as f:
        f.write(json.dumps({"packets": [spec] * n, "rate_pps": 1_000_000}).encode())
    out.append(("json", p, "application/json", ""))
    p = os.path.join(work, f"ndjson{n}")
    with open(p, "wb") as f:
        f.write(b"".join(b'{"device":"eth0","hex":"' + fr.hex().encode() + b'"}\n' for fr in frames))
    # 1 µs apart (rate_pps 1,000,000, the capture's times): n at one instant would overflow the RX ring.
    out.append(("ndjson", p, "application/x-ndjson", "&rate_pps=1000000"))
    p = os.path.join(work, f"pcap{n}")
    with open(p, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for k, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000 + k // 1_000_000, k % 1_000_000, len(fr), len(fr)) + fr)
    out.append(("pcap", p, "application/vnd.tcpdump.pcap", "&device=eth0"))
    return out


def drain():
    """Reads what the socket queued, outside the timings: every batch is then delivered (a socket
    nobody reads fills its 1 GiB buffer after a few million datagrams, and later batches would
    measure the drop path), and checkpoints stay small."""
    while True:
        got = json.loads(curl(["-H", "content-type: application/json", "--data-binary", '{"max":100000}', base + "/v1/stacks/h/sockets/1/recv"]))
        if len(got.get("datagrams", [])) < 100_000:
            return


sets = {BIG: bodies(BIG), SMALL: bodies(SMALL)}
print("POST /v1/stacks/h/packets: UDP packets into a socket, one request a batch, median of 3 (curl time_total)")
# summary/none: summary traces stored, the answer without them (?results=none: counts and trace_ids);
# summary/none/sync: the same, answered once the traces are committed (durable ingest).
for mode, n in [("none", BIG), ("summary", BIG), ("summary/none", BIG), ("summary/none/sync", BIG), ("full", SMALL)]:
    trace, results, sync = (mode.split("/") + ["", ""])[:3]
    for h2 in (False, True):
        for kind, path, ctype, q in sets[n]:
            runs = []
            for _ in range(3):
                query = f"/v1/stacks/h/packets?trace={trace}{q}" + (f"&results={results}" if results else "") + ("&sync=true" if sync else "")
                runs.append(post(query, path, ctype, h2))
                drain()
            t = statistics.median(r[0] for r in runs)
            print(f"  {mode:17} {'h2 ' if h2 else 'h1 '} {kind:6} {n:7,} packets: {n / t:12,.0f} packets/s  ({t * 1000:7.1f} ms, answer {runs[0][1]:,} bytes)")
with open(os.path.join(work, "answer")) as f:
    last = json.load(f)
print(f"last answer: {last['packets']} packets, outcomes {last['outcomes']}")
srv.terminate(); srv.wait()
