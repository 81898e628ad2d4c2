#!/usr/bin/env python3
"""Hostile clients against the real server, one attack at a time, while two probes on fresh
connections (GET /healthz and GET /v1/stacks, every 20 ms) measure how the server answers
everyone else. Per attack: what the attack got back, probe p50/p99/max and failures, and the
server's peak RSS. Fails if a probe fails, a probe p99 is 100 ms or more, the server dies, an
attack is not answered as it should be, or RSS passes the budget given.
Usage: hostile_clients.py BINARY [seconds per attack (4)] [RSS budget MiB (1024)]"""
from psserver import Server
import http.client, json, os, re, socket, struct, sys, tempfile, threading, time

import hpack

binary = os.path.abspath(sys.argv[1])
SECS = float(sys.argv[2]) if len(sys.argv) > 2 else 4.0
BUDGET_MIB = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
MAX_CONN = 512
work = tempfile.mkdtemp(prefix="ps-hostile-")
server = Server(binary, os.path.join(work, "h.db"), "--max-connections", str(MAX_CONN),
                "--header-timeout-ms", "3000", "--body-timeout-ms", "3000")
PORT = server.port
rss_mib = server.rss_mib

def request(method, path, body=None, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    c.request(method, path, body=body, headers={"content-type": "application/json"} if body else {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data

def metrics():
    _, m = request("GET", "/metrics")
    out = {}
    for l in m.decode().splitlines():
        if l.startswith("packetstack_http_") and " " in l and not l.startswith("#") and "{" not in l:
            k, v = l.split(" ")
            out[k.replace("packetstack_http_", "").replace("_total", "")] = int(float(v))
    return out

status, _ = request("POST", "/v1/stacks", json.dumps({"name": "s", "devices": [{"name": "eth0", "mac": "02:00:00:00:00:02",
                    "addresses": ["198.18.0.2/24"]}], "sockets": [{"port": 53}]}))
assert status == 201, status
INJECT = json.dumps({"packets": [{"device": "eth0", "ipv4": {"src": "198.18.0.9"}, "udp": {"sport": 1000 + i % 60000, "dport": 53}}
                                 for i in range(10000)]}).encode()

class Probe:
    """Fresh connection per request, alternating the health and the API probe."""
    def __init__(self):
        self.lat, self.fail, self.stop, self.peak = [], [], threading.Event(), 0.0
        self.t = threading.Thread(target=self.run, daemon=True)
    def run(self):
        i = 0
        while not self.stop.is_set():
            path = "/healthz" if i % 2 == 0 else "/v1/stacks"
            t0 = time.monotonic()
            try:
                st, _ = request("GET", path, timeout=5)
                if st != 200:
                    self.fail.append(f"{path} {st}")
            except Exception as e:
                self.fail.append(f"{path} {type(e).__name__}")
            self.lat.append((time.monotonic() - t0) * 1000)
            try:
                self.peak = max(self.peak, rss_mib())
            except Exception:
                pass
            i += 1
            time.sleep(0.02)
    def pct(self, p):
        s = sorted(self.lat)
        return s[min(len(s) - 1, int(len(s) * p))] if s else float("nan")

def connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return s

def read_some(s, limit=1 << 20, timeout=3.0):
    s.settimeout(timeout)
    out = b""
    try:
        while len(out) < limit:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    return out

def status_of(data):
    m = re.match(rb"HTTP/1.1 (\d+)", data)
    return int(m.group(1)) if m else None

# ---- HTTP/1.1 attacks; each returns a short description of what the server answered ----

def idle(n):
    def run(stop):
        socks = []
        for _ in range(n):
            try:
                socks.append(connect())
            except OSError:
                break
        stop.wait(SECS)
        closed = 0
        for s in socks:
            s.setblocking(False)
            try:
                closed += s.recv(1) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
            s.close()
        return f"{len(socks)} opened, {closed} closed by the server (evicted or 503)"
    return run

def slowloris(n):
    def run(stop):
        socks = []
        for _ in range(n):
            try:
                s = connect(); s.send(b"GET /v1/stacks HTTP/1.1\r\nHost: x\r\n"); socks.append(s)
            except OSError:
                break
        k = 0
        while not stop.wait(0.5):
            for s in socks:
                try:
                    s.send(b"X-%d: y\r\n" % k)
                except OSError:
                    pass
            k += 1
        answers = {}
        for s in socks:
            st = status_of(read_some(s, 4096, 0.01))
            answers[st] = answers.get(st, 0) + 1
            s.close()
        return f"{len(socks)} trickling heads; answers {answers} (408 after --header-timeout-ms, None = evicted or still open)"
    return run

def big_bodies(stop):
    got = {}
    while not stop.is_set():
        s = connect()
        s.send(b"POST /v1/stacks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n" + b"x" * 65536)
        st = status_of(read_some(s, 4096, 2))
        got[st] = got.get(st, 0) + 1
        s.close()
    return f"1 GiB Content-Length: answers {got}"

def endless_chunked(stop):
    s = connect()
    s.send(b"POST /v1/stacks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"a" * 65536 + b"\r\n"
    sent = 0
    try:
        while not stop.is_set():
            s.send(chunk); sent += len(chunk)
    except OSError:
        pass
    st = status_of(read_some(s, 4096, 2))
    return f"endless chunked body: cut after {sent >> 20} MiB sent, answer {st}"

def bad_chunks(stop):
    got = {}
    bodies = [b"zz\r\n", b"fffffffffffffffffffff\r\n", b"5\r\nabc\r\n", b"5;" + b"e" * 100000, b"0\r\n" + b"T: v\r\n" * 20000]
    i = 0
    while not stop.is_set():
        s = connect()
        s.send(b"POST /v1/stacks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + bodies[i % len(bodies)])
        st = status_of(read_some(s, 4096, 2))
        got[st] = got.get(st, 0) + 1
        s.close(); i += 1
    return f"bad chunk sizes, extensions and trailers: answers {got}"

def header_flood(stop):
    got = {}
    while not stop.is_set():
        s = connect()
        try:
            s.send(b"GET /v1/stacks HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(5000)))
        except OSError:
            pass
        st = status_of(read_some(s, 4096, 2))
        got[st] = got.get(st, 0) + 1
        s.close()
    return f"header floods: answers {got}"

def never_read(stop):
    socks, sent = [], 0
    req = b"GET /openapi.yaml HTTP/1.1\r\nHost: x\r\n\r\n" * 100
    for _ in range(20):
        s = connect(); s.setblocking(False); socks.append(s)
    while not stop.wait(0.01):
        for s in socks:
            try:
                sent += s.send(req)
            except (BlockingIOError, OSError):
                pass
    for s in socks:
        s.close()
    return f"20 clients pipelining /openapi.yaml (42 KB answers) and never reading: {sent >> 20} MiB of requests taken before the server stopped reading"

def abandoned(stop):
    before = metrics().get("requests_cancelled", 0)
    n = 0
    while not stop.is_set():
        socks = []
        for _ in range(20):
            s = connect()
            s.send(b"POST /v1/stacks/s/packets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(INJECT) + INJECT)
            socks.append(s)
        time.sleep(0.05)
        for s in socks:
            s.close()
        n += len(socks)
    time.sleep(1)
    return f"{n} injections of 10,000 packets abandoned mid-flight: {metrics().get('requests_cancelled', 0) - before} skipped unrun"

# ---- HTTP/2 attacks (h2c prior knowledge) ----

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload
SETTINGS, HEADERS, RST, PING, CONT, WINDOW, DATA = 4, 1, 3, 6, 9, 8, 0
def headers_block(path, method="GET", extra=()):
    return hpack.Encoder().encode([(":method", method), (":scheme", "http"), (":authority", "x"), (":path", path)] + list(extra))

def h2_outcome(s):
    """How the server ended it: its GOAWAY error code, else RST_STREAM count, else closed or open."""
    s.settimeout(1.0)
    data, eof = b"", False
    try:
        while len(data) < 1 << 22:
            d = s.recv(65536)
            if not d:
                eof = True; break
            data += d
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    i, rst = 0, 0
    while i + 9 <= len(data):
        ln = int.from_bytes(data[i:i + 3], "big"); kind = data[i + 3]
        if kind == 7 and i + 17 <= len(data):
            return f"GOAWAY {H2_ERRORS.get(int.from_bytes(data[i + 13:i + 17], 'big'))}"
        rst += kind == RST
        i += 9 + ln
    return f"RST_STREAM x{rst}" if rst else ("closed" if eof else "open")
H2_ERRORS = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR", 6: "FRAME_SIZE_ERROR",
             7: "REFUSED_STREAM", 9: "COMPRESSION_ERROR", 11: "ENHANCE_YOUR_CALM"}

def h2_attack(name, build):
    def run(stop):
        results = {}
        while not stop.is_set():
            s = connect()
            try:
                s.sendall(PREFACE + frame(SETTINGS, 0, 0))
                build(s, stop)
            except OSError:
                pass
            g = h2_outcome(s)
            results[g] = results.get(g, 0) + 1
            s.close()
        return f"{name}: connections ended by {results}"
    return run

def rapid_reset(s, stop):
    body = b""
    for k in range(1, 20000, 2):
        body += frame(HEADERS, 0x4, k, headers_block("/v1/stacks/s/packets", "POST", [("content-type", "application/json")])) + frame(RST, 0, k, struct.pack(">I", 8))
        if len(body) > 1 << 16:
            s.sendall(body); body = b""
    s.sendall(body)

def continuation_flood(s, stop):
    s.sendall(frame(HEADERS, 0, 1, headers_block("/healthz")))
    blob = frame(CONT, 0, 1, b"\x40\x01a\x01b" * 1000)
    for _ in range(2000):
        s.sendall(blob)

def hpack_bomb(s, stop):
    enc = hpack.Encoder()
    first = enc.encode([(":method", "GET"), (":scheme", "http"), (":authority", "x"), (":path", "/healthz"), ("x-bomb", "a" * 3000)])
    s.sendall(frame(HEADERS, 0x5, 1, first))
    # Then many streams whose blocks name the 4 KB entry thousands of times (one byte each).
    idx = enc.header_table.search(b"x-bomb", b"a" * 3000)[0]
    ref = hpack.Encoder().encode([(":method", "GET"), (":scheme", "http"), (":authority", "x"), (":path", "/healthz")]) + bytes([0x80 | idx]) * 8000
    for k in range(3, 400, 2):
        s.sendall(frame(HEADERS, 0x5, k, ref))

def too_many_streams(s, stop):
    s.sendall(b"".join(frame(HEADERS, 0x4, k, headers_block("/v1/stacks/s/packets", "POST")) for k in range(1, 2001, 2)))

def settings_ping_flood(s, stop):
    blob = (frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 100)) + frame(PING, 0, 0, b"12345678")) * 2000
    for _ in range(50):
        s.sendall(blob)

def zero_window(s, stop):
    s.sendall(frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0)))   # INITIAL_WINDOW_SIZE 0: no DATA may be sent
    s.sendall(b"".join(frame(HEADERS, 0x5, k, headers_block("/openapi.yaml")) for k in range(1, 200, 2)))
    stop.wait(SECS)

ATTACKS = [
    (f"idle connections below the limit (400 of {MAX_CONN})", idle(400)),
    (f"idle connections above the limit (1000 of {MAX_CONN})", idle(1000)),
    ("slowloris, 1000 connections", slowloris(1000)),
    ("bodies over the limit", big_bodies),
    ("endless chunked body", endless_chunked),
    ("bad chunk sizes", bad_chunks),
    ("header floods", header_flood),
    ("clients that never read", never_read),
    ("requests abandoned mid-flight", abandoned),
    ("h2 rapid reset", h2_attack("rapid reset", rapid_reset)),
    ("h2 CONTINUATION flood", h2_attack("CONTINUATION flood", continuation_flood)),
    ("h2 HPACK bomb", h2_attack("HPACK bomb", hpack_bomb)),
    ("h2 more streams than advertised", h2_attack("1000 streams at once (128 advertised)", too_many_streams)),
    ("h2 SETTINGS and PING floods", h2_attack("SETTINGS+PING flood, never read", settings_ping_flood)),
    ("h2 zero window", h2_attack("zero window, 100 streams", zero_window)),
]

failed = False
print(f"server pid {server.pid}, --max-connections {MAX_CONN}, RSS at start {rss_mib():.0f} MiB, {SECS:.0f} s per attack")
only = os.environ.get("HOSTILE_ONLY")   # run the attacks whose name contains this
for name, attack in ATTACKS:
    if only and only not in name:
        continue
    probe = Probe(); probe.t.start()
    stop = threading.Event()
    box = {}
    t = threading.Thread(target=lambda: box.update(r=attack(stop)), daemon=True); t.start()
    time.sleep(SECS)
    stop.set(); t.join(30)
    time.sleep(0.2)
    probe.stop.set(); probe.t.join(10)
    alive = server.poll() is None
    ok = alive and not probe.fail and probe.pct(0.99) < 100 and probe.peak < BUDGET_MIB and "r" in box
    failed |= not ok
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {box.get('r', 'attack did not finish')}")
    print(f"     probes {len(probe.lat)}: p50 {probe.pct(0.5):.1f} ms, p99 {probe.pct(0.99):.1f} ms, max {max(probe.lat or [0]):.1f} ms, "
          f"{len(probe.fail)} failed {probe.fail[:3]}; peak RSS {probe.peak:.0f} MiB")
    if not alive:
        print(f"server died (exit {server.returncode}): {server.log_tail()}"); break
m = metrics() if server.poll() is None else {}
print(f"server counters: {m}; RSS at end {rss_mib():.0f} MiB" if m else "server gone")
server.terminate(); server.wait(30)
sys.exit(1 if failed else 0)
