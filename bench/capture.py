#!/usr/bin/env python3
"""A large pcap through POST packets?progress=N (release build): the upload goes to a temporary
file as it arrives and runs N packets at a time, so the server's memory should stay flat
whatever the capture's size. Writes a capture of SIZE bytes (default 1 GiB) of UDP frames to a
socket (payloads 18 to 1,418 bytes, 10 µs apart), posts it with curl -T (streamed from disk) in
the trace modes none and summary (with the default writer queue and a small one), and samples
the server's VmRSS every 50 ms.
Usage: bench/capture.py [BINARY] [SIZE_BYTES] [PROGRESS_N]"""
import json, os, struct, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from psserver import Server

here = os.path.dirname(os.path.abspath(__file__))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", ".build", "release", "packetstackd")
SIZE = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 30
EVERY = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000


def frame(k, payload):
    udp = struct.pack("!HHHH", 1024 + k % 60000, 9, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), k & 0xffff, 0, 64, 17, 0, bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]))
    s = sum(struct.unpack("!10H", ip)); s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    ip = ip[:10] + struct.pack("!H", ~s & 0xffff) + ip[12:]
    return bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0]) + ip + udp


def write_capture(path):
    payloads = [bytes(n) for n in range(18, 1419, 100)]
    frames = [frame(k, payloads[k % len(payloads)]) for k in range(len(payloads) * 64)]
    n = 0
    with open(path, "wb", buffering=1 << 22) as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        size = 24
        while size < SIZE:
            fr = frames[n % len(frames)]
            us = n * 10
            f.write(struct.pack("<IIII", 1_700_000_000 + us // 1_000_000, us % 1_000_000, len(fr), len(fr)))
            f.write(fr)
            size += 16 + len(fr)
            n += 1
    return n, size


def run(path, mode, packets, *flags):
    db = os.path.join(tempfile.mkdtemp(prefix="ps-cap-"), "c.db")
    srv = Server(binary, db, "--max-traces", str(packets + 1), *flags)
    base = f"http://127.0.0.1:{srv.port}"
    doc = {"name": "cap", "devices": [{"name": "eth0", "mac": "02:00:00:00:00:02", "addresses": ["198.18.0.2/24"]}],
           "neighbours": [{"address": "198.18.0.1", "mac": "02:00:00:00:00:01", "dev": "eth0"}],
           "sockets": [{"protocol": "udp", "port": 9}]}
    out = subprocess.run(["curl", "-s", "-XPOST", "-H", "content-type: application/json", "--data-binary", json.dumps(doc), f"{base}/v1/stacks"],
                         capture_output=True, text=True)
    assert '"name":"cap"' in out.stdout, out.stdout
    time.sleep(0.3)
    before = srv.rss_mib()
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], srv.rss_mib())
            time.sleep(0.05)
    threading.Thread(target=sample, daemon=True).start()
    t0 = time.perf_counter()
    # -T streams the file from disk with a Content-Length; each progress line is timed as it arrives.
    p = subprocess.Popen(["curl", "-s", "-N", "-XPOST", "-T", path, "-H", "content-type: application/vnd.tcpdump.pcap",
                          f"{base}/v1/stacks/cap/packets?device=eth0&trace={mode}&progress={EVERY}"], stdout=subprocess.PIPE, text=True)
    first_line = None
    last = None
    lines = 0
    for line in p.stdout:
        lines += 1
        if first_line is None:
            first_line = time.perf_counter() - t0
        last = json.loads(line)
    p.wait()
    took = time.perf_counter() - t0
    done.set()
    time.sleep(0.1)
    after = srv.rss_mib()
    srv.terminate(); srv.wait()
    assert last and last.get("done"), last
    run_time = took - first_line
    print(f"trace={mode}{' ' + ' '.join(flags) if flags else ''}: {last['packets']:,} packets, {lines} progress lines; first line after {first_line:.1f} s (upload + first piece), "
          f"all in {took:.1f} s; {last['packets'] / took / 1e3:.0f} k packets/s end to end, {last['packets'] / max(run_time, 1e-9) / 1e3:.0f} k/s after the upload; "
          f"traces {last['traces']:,}; RSS {before:.1f} MiB before, peak {peak[0]:.1f} MiB (+{peak[0] - before:.1f}), {after:.1f} MiB after")


path = os.path.join(tempfile.mkdtemp(prefix="ps-cap-"), "big.pcap")
t0 = time.perf_counter()
packets, size = write_capture(path)
print(f"capture: {size:,} bytes, {packets:,} packets (written in {time.perf_counter() - t0:.1f} s); progress every {EVERY:,} packets")
try:
    run(path, "none", packets)
    # Summary rows wait for SQLite in the writer's queue (--trace-queue rows, 262,144 by default):
    # that queue, not the capture, bounds the memory they take.
    run(path, "summary", packets)
    run(path, "summary", packets, "--trace-queue", "16384")
finally:
    os.remove(path)
