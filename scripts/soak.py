#!/usr/bin/env python3
"""Soak: a mixed load against the real server for N minutes: injections over HTTP/1.1 and HTTP/2
(some sync=true), ruleset replacements and rule additions, trace, conntrack, stack and metrics
queries, stacks created, used and deleted. RSS is sampled every 10 s. Fails on any 5xx, any
failed request, the server dying, or RSS growing 5 % or more from the first minute after the
warm-up (a fifth of the run, at least 60 s) to the last minute (means of the 10 s samples: one
sample swings by 2 MiB with the allocator). Prints latency percentiles per kind of request.
Usage: soak.py BINARY [minutes (10)]"""
from psserver import Server
import http.client, json, os, random, socket, sys, tempfile, threading, time

import h2.config, h2.connection, h2.events

binary = os.path.abspath(sys.argv[1])
minutes = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
work = tempfile.mkdtemp(prefix="ps-soak-")
server = Server(binary, os.path.join(work, "soak.db"))
PORT = server.port

lock = threading.Lock()
lat = {}          # kind -> [ms]
errors = []
stop = threading.Event()

def record(kind, ms, status):
    with lock:
        lat.setdefault(kind, []).append(ms)
        if status >= 500 or status == 0:
            errors.append(f"{kind} {status}")

def call(conn_box, kind, method, path, body=None, ctype="application/json", ok=(200, 201, 204)):
    """One request on a kept-alive HTTP/1.1 connection (reopened when the server closed it)."""
    data = None if body is None else (body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else json.dumps(body).encode()))
    t0 = time.monotonic()
    status = 0
    for _ in range(2):
        try:
            if conn_box.get("c") is None:
                conn_box["c"] = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            conn_box["c"].request(method, path, body=data, headers={"content-type": ctype} if data is not None else {})
            r = conn_box["c"].getresponse()
            out = r.read()
            status = r.status
            break
        except (http.client.HTTPException, OSError):
            conn_box["c"] = None
            out = b""
    record(kind, (time.monotonic() - t0) * 1000, status)
    if status and status not in ok:
        with lock:
            errors.append(f"{kind} {method} {path} -> {status} {out[:200]!r}")
    return status, out

def stack_doc(name):
    return {"name": name, "cpus": 2, "devices": [{"name": "eth0", "mac": "02:00:00:00:00:02", "addresses": ["198.18.0.2/24"]},
                                                  {"name": "eth1", "mac": "02:00:00:00:01:01", "addresses": ["198.18.1.1/24"]}],
            "sockets": [{"port": 53}], "sysctls": {"net.ipv4.ip_forward": 1}}

RULESETS = [
    "table inet filter {\n chain input { type filter hook input priority 0; policy accept; ct state established accept; udp dport 53 counter accept; }\n}\n",
    "table inet filter {\n set bad { type ipv4_addr; elements = { 198.18.0.66, 198.18.0.67 } }\n"
    " chain input { type filter hook input priority 0; policy accept; ip saddr @bad drop; udp dport { 53, 5353 } counter accept; }\n"
    " chain forward { type filter hook forward priority 0; policy drop; ct state established,related accept; iifname \"eth0\" accept; }\n}\n"
    "table ip nat {\n chain post { type nat hook postrouting priority 100; oifname \"eth1\" masquerade; }\n}\n",
]

def packets(n, rng):
    """From 4,000 flows, so the conntrack table reaches its steady size in the warm-up (the
    virtual clock barely moves, so entries do not time out)."""
    return {"packets": [{"device": "eth0", "ipv4": {"src": f"198.18.0.{rng.randint(3, 22)}", "dst": rng.choice(["198.18.0.2", "198.18.1.9"])},
                         "udp": {"sport": rng.randint(1024, 1123), "dport": 53}} for _ in range(n)]}

def h1_injector(stack, seed):
    rng, box = random.Random(seed), {}
    i = 0
    while not stop.is_set():
        sync = i % 4 == 0
        call(box, "inject h1 sync" if sync else "inject h1", "POST", f"/v1/stacks/{stack}/packets" + ("?sync=true" if sync else ""), packets(100, rng))
        i += 1

def h2_injector(stack, seed):
    rng = random.Random(seed)
    while not stop.is_set():
        s = socket.create_connection(("127.0.0.1", PORT), timeout=30)
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection(); s.sendall(conn.data_to_send())
        for _ in range(500):     # a new connection now and then, as clients come and go
            if stop.is_set():
                break
            sid = conn.get_next_available_stream_id()
            body = json.dumps(packets(100, rng)).encode()
            t0 = time.monotonic()
            conn.send_headers(sid, [(":method", "POST"), (":path", f"/v1/stacks/{stack}/packets"), (":scheme", "http"),
                                    (":authority", "x"), ("content-type", "application/json"), ("content-length", str(len(body)))])
            conn.send_data(sid, body, end_stream=True)
            s.sendall(conn.data_to_send())
            status, done = 0, False
            while not done:
                data = s.recv(65536)
                if not data:
                    break
                for ev in conn.receive_data(data):
                    if isinstance(ev, h2.events.ResponseReceived):
                        status = int(dict(ev.headers)[":status"])
                    elif isinstance(ev, h2.events.DataReceived):
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                        done = True
                s.sendall(conn.data_to_send())
            record("inject h2", (time.monotonic() - t0) * 1000, status)
            if status != 200:
                with lock:
                    errors.append(f"inject h2 -> {status}")
        s.close()

def rule_changer(stack):
    box, i = {}, 0
    while not stop.is_set():
        call(box, "ruleset put", "PUT", f"/v1/stacks/{stack}/ruleset", RULESETS[i % 2], ctype="text/plain")
        call(box, "rule add", "POST", f"/v1/stacks/{stack}/ruleset/rules",
             {"table": "filter", "family": "inet", "chain": "input", "rule": f"udp dport {1000 + i % 50000} counter accept"})
        i += 1
        time.sleep(0.2)

def querier(stacks):
    box, rng = {}, random.Random(7)
    while not stop.is_set():
        s = rng.choice(stacks)
        call(box, "query traces", "GET", f"/v1/traces?stack={s}&limit=50")
        call(box, "query conntrack", "GET", f"/v1/stacks/{s}/conntrack")
        call(box, "query stacks", "GET", "/v1/stacks")
        call(box, "query ruleset", "GET", f"/v1/stacks/{s}/ruleset")
        call(box, "query metrics", "GET", "/metrics")
        time.sleep(0.05)

def churner():
    box, k = {}, 0
    rng = random.Random(3)
    while not stop.is_set():
        name = f"tmp{k}"
        call(box, "stack create", "POST", "/v1/stacks", stack_doc(name))
        call(box, "ruleset put", "PUT", f"/v1/stacks/{name}/ruleset", RULESETS[1], ctype="text/plain")
        call(box, "inject h1", "POST", f"/v1/stacks/{name}/packets", packets(200, rng))
        call(box, "stack delete", "DELETE", f"/v1/stacks/{name}")
        k += 1
        time.sleep(0.5)

def quota_keeper(stacks):
    box = {}
    while not stop.wait(60):
        for s in stacks:
            call(box, "traces delete", "DELETE", f"/v1/stacks/{s}/traces")

rss_mib = server.rss_mib

stacks = ["a", "b"]
for s in stacks:
    call({}, "stack create", "POST", "/v1/stacks", stack_doc(s))
    call({}, "ruleset put", "PUT", f"/v1/stacks/{s}/ruleset", RULESETS[1], ctype="text/plain")
threads = [threading.Thread(target=h1_injector, args=("a", 1)), threading.Thread(target=h2_injector, args=("b", 2)),
           threading.Thread(target=rule_changer, args=("a",)), threading.Thread(target=querier, args=(stacks,)),
           threading.Thread(target=churner), threading.Thread(target=quota_keeper, args=(stacks,))]
for t in threads:
    t.daemon = True; t.start()

samples = []
t0 = time.monotonic()
end = t0 + minutes * 60
while time.monotonic() < end and server.poll() is None:
    time.sleep(min(10, max(0, end - time.monotonic())))
    samples.append((time.monotonic() - t0, rss_mib()))
    print(f"t={samples[-1][0]:5.0f} s  RSS {samples[-1][1]:6.1f} MiB  requests {sum(len(v) for v in lat.values())}", flush=True)
stop.set()
for t in threads:
    t.join(60)
alive = server.poll() is None
server.terminate(); server.wait(60)

warm = max(60.0, minutes * 60 / 5)
first = [r for t, r in samples if warm <= t < warm + 60]
last = [r for t, r in samples if t > samples[-1][0] - 60] if samples else []
mean = lambda v: sum(v) / len(v) if v else float("nan")
growth = (mean(last) - mean(first)) / mean(first) * 100 if first and last else float("nan")
print(f"soak: {minutes:g} min, {sum(len(v) for v in lat.values())} requests, {len(errors)} errors {errors[:5]}")
for kind in sorted(lat):
    v = sorted(lat[kind])
    p = lambda q: v[min(len(v) - 1, int(len(v) * q))]
    print(f"  {kind:18s} {len(v):7d}  p50 {p(0.5):7.1f} ms  p99 {p(0.99):7.1f} ms  max {v[-1]:7.1f} ms")
print(f"RSS mean over the minute after warm-up ({warm:.0f} s) {mean(first):.1f} MiB, over the last minute {mean(last):.1f} MiB: "
      f"growth {growth:+.1f} %; peak {max(r for _, r in samples):.1f} MiB; server {'alive' if alive else 'DIED'}, exit {server.returncode}")
sys.exit(0 if alive and server.returncode == 0 and not errors and growth < 5 else 1)
