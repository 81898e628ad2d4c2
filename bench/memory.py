#!/usr/bin/env python3
"""Memory of the running service (release build), read from /proc/PID/status (VmRSS):
  1. 1,000 stacks of two devices each, created over the API (target: within 200 MB);
  2. one stack's conntrack table filled with 1,000,000 UDP flows injected as pcap bodies with
     trace=none (target: under 300 MB for the table).
Usage: bench/memory.py [BINARY] [stacks] [flows]"""
import json, os, shutil, struct, subprocess, sys, tempfile, time, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from psserver import Server

here = os.path.dirname(os.path.abspath(__file__))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", ".build", "release", "packetstackd")
STACKS = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
FLOWS = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
CHUNK = 100_000


def call(base, method, path, body=None, ctype="application/json"):
    req = urllib.request.Request(base + path, data=body, method=method, headers={"content-type": ctype})
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.status, r.read()


def stacks_case():
    db = os.path.join(tempfile.mkdtemp(prefix="ps-mem-"), "m.db")
    srv = Server(binary, db, "--max-stacks", str(STACKS))
    base = f"http://127.0.0.1:{srv.port}"
    before = srv.rss_mib()
    t0 = time.perf_counter()
    for i in range(STACKS):
        doc = {"name": f"s{i}", "devices": [
            {"name": "eth0", "mac": "02:00:00:00:%02x:%02x" % (i >> 8 & 255, i & 255), "addresses": ["198.18.0.2/24"]},
            {"name": "eth1", "mac": "02:00:00:01:%02x:%02x" % (i >> 8 & 255, i & 255), "addresses": ["198.19.0.2/24"]}]}
        status, _ = call(base, "POST", "/v1/stacks", json.dumps(doc).encode())
        assert status == 201, status
    took = time.perf_counter() - t0
    time.sleep(0.5)
    after = srv.rss_mib()
    srv.terminate(); srv.wait()
    print(f"{STACKS} stacks of two devices: RSS {before:.1f} MiB before, {after:.1f} MiB after "
          f"({after - before:.1f} MiB for the stacks, {(after - before) * 1024 / STACKS:.1f} KiB each; "
          f"created in {took:.1f} s); within 200 MB in all: {'yes' if after * 1.048576 <= 200 else 'no'}")


def frame(k):
    # Distinct flows: source 10.x.y.z and source port vary with k.
    src = bytes([10, (k >> 16) & 255, (k >> 8) & 255, k & 255])
    sport = 1024 + (k * 7919) % 60000
    udp = struct.pack("!HHHH", sport, 9, 9, 0) + b"x"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), k & 0xffff, 0, 64, 17, 0, src, bytes([198, 18, 0, 2]))
    s = sum(struct.unpack("!10H", ip)); s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    ip = ip[:10] + struct.pack("!H", ~s & 0xffff) + ip[12:]
    return bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0]) + ip + udp


def conntrack_case():
    db = os.path.join(tempfile.mkdtemp(prefix="ps-mem-"), "c.db")
    srv = Server(binary, db, "--max-packets", str(CHUNK))
    base = f"http://127.0.0.1:{srv.port}"
    doc = {"name": "ct", "devices": [{"name": "eth0", "mac": "02:00:00:00:00:02", "addresses": ["198.18.0.2/24"]}],
           "sockets": [{"protocol": "udp", "port": 9}],
           "sysctls": {"net.netfilter.nf_conntrack_max": FLOWS + 1000}}
    status, _ = call(base, "POST", "/v1/stacks", json.dumps(doc).encode())
    assert status == 201, status
    rules = b"table ip t {\n\tchain pre {\n\t\ttype filter hook prerouting priority 0; policy accept;\n\t\tct state new counter\n\t}\n}\n"
    status, _ = call(base, "PUT", "/v1/stacks/ct/ruleset", rules, "text/plain")
    assert status in (200, 201), status
    before = srv.rss_mib()
    t0 = time.perf_counter()
    for start in range(0, FLOWS, CHUNK):
        pcap = bytearray(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for k in range(start, min(FLOWS, start + CHUNK)):
            f = frame(k)
            # 1 µs apart (a million packets a second): all at one instant would overflow the RX ring.
            pcap += struct.pack("<IIII", 1_700_000_000 + k // 1_000_000, k % 1_000_000, len(f), len(f)) + f
        status, _ = call(base, "POST", "/v1/stacks/ct/packets?trace=none&device=eth0", bytes(pcap), "application/vnd.tcpdump.pcap")
        assert status == 200, status
    took = time.perf_counter() - t0
    # The checkpoint that follows the last batch (every second while the stack is used) runs
    # for a while on a big table: measure once RSS has settled, the allocator's free memory
    # returned (glibc's malloc_trim(0), called in the server through gdb when there is one),
    # so what is left is what the table holds.
    trim = shutil.which("gdb") and os.geteuid() == 0
    after, last = None, None
    for i in range(120):
        time.sleep(0.5)
        if trim:
            subprocess.run(["gdb", "-p", str(srv.pid), "-batch", "-ex", "call (int)malloc_trim(0)"], capture_output=True)
        after = srv.rss_mib()
        if i >= 4 and abs(after - last) < 1:
            break
        last = after
    peak = srv.rss_mib("VmHWM")
    _, metrics = call(base, "GET", "/metrics")
    entries = next(int(float(l.split()[-1])) for l in metrics.decode().splitlines()
                   if l.startswith("packetstack_conntrack_entries{") and 'stack="ct"' in l)
    srv.terminate(); srv.wait()
    per = (after - before) * 1024 * 1024 / max(entries, 1)
    print(f"conntrack: {entries:,} entries from {FLOWS:,} UDP flows (injected in {took:.1f} s): RSS {before:.1f} MiB before, "
          f"{after:.1f} MiB at rest{' after malloc_trim' if trim else ''} ({after - before:.1f} MiB, {per:.0f} bytes per entry; "
          f"under 300 MB: {'yes' if (after - before) * 1.048576 < 300 else 'no'}); peak RSS {peak:.1f} MiB (injection and checkpoints)")

stacks_case()
conntrack_case()
