#!/usr/bin/env python3
"""The trace store under load (release build): durable ingest per trace mode (packets/s and trace
events/s, ?sync=true so every answer is committed), then a store of EVENTS trace events (default
10 million) and the latency of GET /v1/traces for each filter and of the aggregate (p50/p99 of
30 queries each), and the database's size per million events.
Then a second stack's summary rows (packed, migration 12), SUMMARY packets (default 2 million),
and the same queries over them alone.
Usage: bench/store.py [BINARY] [EVENTS] [SUMMARY]"""
import json, math, os, statistics, struct, sys, tempfile, time, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from psserver import Server

here = os.path.dirname(os.path.abspath(__file__))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", ".build", "release", "packetstackd")
target_events = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
summary_packets = int(sys.argv[3]) if len(sys.argv) > 3 else 2_000_000
N = 10_000
tmp = tempfile.mkdtemp(prefix="ps-store-")
db = os.path.join(tmp, "b.db")
srv = Server(binary, db, "--max-traces", "100000000", "--max-packets", str(N))
base = f"http://127.0.0.1:{srv.port}"

def call(method, path, body=None, ctype="application/json"):
    req = urllib.request.Request(base + path, data=body, method=method, headers={"content-type": ctype})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        data = r.read()
    return time.perf_counter() - t0, data

def make_stack(name, trace):
    """A host with a UDP socket on port 9 and three rules at input."""
    call("POST", "/v1/stacks", json.dumps({"name": name, "trace": trace,
         "devices": [{"name": "eth0", "mac": "02:00:00:00:00:02", "addresses": ["198.18.0.2/16"]}],
         "neighbours": [{"address": "198.18.0.1", "mac": "02:00:00:00:00:01", "dev": "eth0"}],
         "sockets": [{"protocol": "udp", "port": 9, "rcvbuf": 1 << 30}]}).encode())
    call("PUT", f"/v1/stacks/{name}/ruleset", b"table inet f {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n"
         b"\t\tudp dport 54 counter drop\n\t\tip saddr 198.18.200.0/24 drop\n\t\tudp dport 9 accept\n\t}\n}\n", "text/plain")

make_stack("h", "full")

def frame(k):
    """UDP from 198.18.x.y:sport to 198.18.0.2: to port 9 mostly (delivered), 54 (dropped by rule 2) every 7th, 55 (no socket) every 11th."""
    src = bytes([198, 18, 1 + (k >> 8) % 250, k & 0xff])
    dport = 54 if k % 7 == 0 else 55 if k % 11 == 0 else 9
    udp = struct.pack("!HHHH", 1024 + k % 60000, dport, 9, 0) + b"x"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), k & 0xffff, 0, 64, 17, 0, src, bytes([198, 18, 0, 2]))
    s = sum(struct.unpack("!10H", ip)); s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    ip = ip[:10] + struct.pack("!H", ~s & 0xffff) + ip[12:]
    return bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0]) + ip + udp

def pcap(start):
    out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
    for k in range(start, start + N):
        f = frame(k)
        out += struct.pack("<IIII", 1_700_000_000 + k // 100_000, (k % 100_000) * 10, len(f), len(f)) + f
    return out

def drain(stack):
    """Reads what the stack's UDP socket queued (outside the timings): a queue of millions of unread
    datagrams would be rewritten by every checkpoint (each second), which no real reader leaves."""
    _, data = call("GET", f"/v1/stacks/{stack}/sockets")
    for sk in json.loads(data)["items"]:
        while True:
            _, got = call("POST", f"/v1/stacks/{stack}/sockets/{sk['id']}/recv", json.dumps({"max": 100000}).encode())
            if len(json.loads(got).get("datagrams", [])) < 100000:
                break

def events(answer):
    doc = json.loads(answer)
    return sum(len(r.get("stages", [])) + len(r.get("netfilter", [])) if "stages" in r else 1 for r in doc["results"]), doc["durable"]

print(f"Durable ingest (POST {N} packets as pcap with ?sync=true, median of 3)")
k0 = 0
for mode in ["full", "summary", "drops", "none"]:
    runs = []
    for _ in range(3):
        t, data = call("POST", f"/v1/stacks/h/packets?sync=true&trace={mode}&device=eth0", pcap(k0), "application/vnd.tcpdump.pcap")
        k0 += N
        drain("h")
        ev, durable = events(data)
        assert durable, data[:200]
        runs.append((t, ev))
    t = statistics.median(r[0] for r in runs)
    ev = statistics.median(r[1] for r in runs)
    print(f"  {mode:8}: {N / t:9,.0f} packets/s  {ev / t:11,.0f} trace events/s  ({t * 1000:6.0f} ms per request, {ev / N:.1f} events per packet)")

print(f"\nFilling the store to {target_events:,} trace events (full mode)")
total_events, t0 = 0, time.perf_counter()
_, data = call("GET", "/v1/traces?limit=1&order=newest")
while total_events < target_events:
    _, data = call("POST", f"/v1/stacks/h/packets?sync=true&device=eth0", pcap(k0), "application/vnd.tcpdump.pcap")
    k0 += N
    drain("h")
    total_events += events(data)[0]
fill = time.perf_counter() - t0
size = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp))
print(f"  {total_events:,} events ({k0:,} packets stored in all) in {fill:.0f} s; database {size / 1e6:,.0f} MB, {size / (total_events / 1e6) / 1e6:,.0f} MB per million events")

queries = [
    ("newest page", "/v1/traces?order=newest&limit=100"),
    ("stack", "/v1/traces?stack=h&order=newest&limit=100"),
    ("outcome", "/v1/traces?outcome=dropped&order=newest&limit=100"),
    ("drop_reason", "/v1/traces?drop_reason=NO_SOCKET&order=newest&limit=100"),
    ("last_stage", "/v1/traces?last_stage=kfree_skb_reason&order=newest&limit=100"),
    ("stage reached", "/v1/traces?stage=icmp_send&order=newest&limit=100"),
    ("virtual time", f"/v1/traces?stack=h&since_ns=1000000000&until_ns=2000000000&limit=100"),
    ("wall time", "/v1/traces?since=2000-01-01T00:00:00Z&order=newest&limit=100"),
    ("address", "/v1/traces?src=198.18.7.7&order=newest&limit=100"),
    ("CIDR", "/v1/traces?addr=198.18.200.0/24&order=newest&limit=100"),
    ("dport", "/v1/traces?dport=55&order=newest&limit=100"),
    ("proto", "/v1/traces?proto=udp&order=newest&limit=100"),
    ("rule hit", "/v1/traces?table=f&chain=input&handle=2&order=newest&limit=100"),
    ("policy", "/v1/traces?handle=policy&order=newest&limit=100"),
    ("hook", "/v1/traces?hook=input&order=newest&limit=100"),
    ("device", "/v1/traces?device=eth0&order=newest&limit=100"),
    ("aggregate drop_reason", "/v1/traces/aggregate?by=drop_reason"),
    ("aggregate dport", "/v1/traces/aggregate?by=dport"),
    ("aggregate rule", "/v1/traces/aggregate?by=rule"),
    ("aggregate rule, one /24", "/v1/traces/aggregate?by=rule&addr=198.18.7.0/24"),
]
def latencies(title, qs):
    print(title)
    for name, q in qs:
        ts = []
        for _ in range(30):
            t, _ = call("GET", q)
            ts.append(t * 1000)
        ts.sort()
        print(f"  {name:24} p50 {statistics.median(ts):8.2f}   p99 {ts[math.ceil(0.99 * len(ts)) - 1]:8.2f}")

latencies(f"\nQuery latency over the store (30 runs each, ms)", queries)

# A stack whose traces are all summary rows: they are packed (migration 12).
make_stack("s", "summary")
print(f"\nFilling a summary stack with {summary_packets:,} packets")
before = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp))
t0, done, spent = time.perf_counter(), 0, 0.0
while done < summary_packets:
    t, _ = call("POST", f"/v1/stacks/s/packets?sync=true&device=eth0", pcap(k0), "application/vnd.tcpdump.pcap")
    k0 += N
    done += N
    spent += t
    drain("s")
fill = time.perf_counter() - t0
size = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp)) - before
print(f"  {done:,} packets in {fill:.0f} s ({done / spent:,.0f} packets/s in the requests); database +{size / 1e6:,.0f} MB, {size / (done / 1e6) / 1e6:,.0f} MB per million packets")
latencies(f"\nQuery latency over the summary stack alone (30 runs each, ms)",
          [(n, q.replace("/v1/traces?", "/v1/traces?stack=s&").replace("/v1/traces/aggregate?", "/v1/traces/aggregate?stack=s&").replace("stack=h&", "")) for n, q in queries])
t, data = call("DELETE", "/v1/traces?stack=s&dport=55")
print(f"\nDELETE /v1/traces?stack=s&dport=55 (about every 11th packet, from nearly every pack): {t:.2f} s, {data.decode().strip()}")
srv.terminate(); srv.wait()
