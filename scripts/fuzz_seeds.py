#!/usr/bin/env python3
"""Writes the seed corpora of the fuzzing harnesses into Tests/Fuzz/Corpus/TARGET/seed-*.

Frames come from the kernel oracle's recorded cases, rulesets from nftables' own tests, the
oracle cases and the real rulesets under Tests/NFTablesTests/Rulesets; nft JSON is what the real
`nft -j` prints for them (run as root, with nft installed; skipped with a warning otherwise).
Run again when the sources change; crash inputs kept as regressions are named crash-* and stay.
"""
import glob, hashlib, json, os, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
shared = os.path.join(root, "..", "shared")
out = os.path.join(root, "Tests", "Fuzz", "Corpus")

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

for t in ["wire", "rx", "nft", "nftjson", "http1", "json", "packetspec", "pcap"]:
    for f in glob.glob(os.path.join(out, t, "seed-*")):
        os.remove(f)

cases = []
for f in sorted(glob.glob(os.path.join(shared, "oracle", "corpus", "*", "*.json"))) + \
         sorted(glob.glob(os.path.join(root, "Tests", "OracleTests", "Corpus", "*.json"))):
    cases.append(json.load(open(f)))

# Frames: every recorded packet (IPv4, IPv6, ARP, fragments, bad checksums, options).
frames = []
for c in cases:
    for p in c.get("packets", []):
        if "hex" in p:
            frames.append((p.get("ingress", "eth0"), bytes.fromhex(p["hex"])))
for dev, fr in frames:
    put("wire", fr)
    put("rx", bytes([0 if dev == "eth0" else 1]) + fr)

# Rulesets.
rulesets = [c["ruleset"] for c in cases if c.get("ruleset")]
rulesets += [open(f).read() for f in sorted(glob.glob(os.path.join(root, "Tests", "NFTablesTests", "Rulesets", "*.nft")))]
suite = json.load(open(os.path.join(shared, "nft-suite", "cases.json")))["rules"]
valid = [r for r in suite if r.get("expect") == "ok" and r.get("ruleset")]
rulesets += [r["ruleset"] for r in valid[::25]]
invalid = [r for r in suite if r.get("expect") != "ok" and r.get("ruleset")]
rulesets += [r["ruleset"] for r in invalid[::20]]
for r in rulesets:
    put("nft", r)

# nft -j of the same rulesets, printed by the real nft.
def nft(*args, stdin=None):
    return subprocess.run(["nft", *args], input=stdin, capture_output=True, text=True)
try:
    ok = nft("--version").returncode == 0 and os.geteuid() == 0
except FileNotFoundError:
    ok = False
jsons = []
if ok:
    for r in rulesets:
        nft("flush", "ruleset")
        if nft("-f", "-", stdin=r).returncode == 0:
            j = nft("-j", "list", "ruleset").stdout.strip()
            if j:
                jsons.append(j)
    nft("flush", "ruleset")
else:
    print("fuzz_seeds: no nft (or not root): nftjson seeds left as they are", file=sys.stderr)
for j in jsons:
    put("nftjson", j)
    put("json", j)

# HTTP/1.1: the first byte is where the harness splits the input into two reads.
reqs = [
    "GET /v1/stacks HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /healthz HTTP/1.0\r\n\r\n",
    "\r\n\r\nHEAD /v1/stacks?limit=5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "POST /v1/stacks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"name\":\"a\"}\n",
    "POST /v1/stacks/a/packets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: v\r\n\r\n",
    "PUT /v1/stacks/a/ruleset HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nabcd",
    "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
    "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nDELETE /v1/stacks/a HTTP/1.1\r\nHost: x\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
    "GET / HTTP/1.1\r\n Folded: x\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
]
for i, r in enumerate(reqs):
    put("http1", bytes([(i * 7) % 256]) + r.encode())

# Packet injection bodies: every kind of packet spec the API documents.
bodies = [
    {"packets": [{"device": "eth0", "ipv4": {"src": "198.18.0.9"}, "udp": {"dport": 53}}]},
    {"packets": [{"device": "eth0", "ipv4": {"src": "198.18.0.9", "ttl": 1, "tos": 4, "id": 7, "df": True}, "tcp": {"sport": 4000, "dport": 80, "flags": ["syn"], "seq": 1, "window": 512, "options_hex": "020405b4"}}]},
    {"packets": [{"device": "eth0", "ipv4": {"src": "198.18.0.9", "mf": True, "frag_offset": 0}, "udp": {"dport": 53, "payload_hex": "00112233"}}], "rate_pps": 1000},
    {"packets": [{"device": "eth0", "ipv4": {"src": "198.18.0.9"}, "icmp": {"type": 8, "code": 0, "id": 1, "seq": 2, "payload_hex": "aa"}}], "start_ns": 1000},
    {"packets": [{"device": "eth0", "arp": {"op": "request", "sender_ip": "198.18.0.9", "target_ip": "198.18.0.2"}}]},
    {"packets": [{"device": "eth0", "eth": {"src": "02:00:00:00:00:09", "dst": "ff:ff:ff:ff:ff:ff"}, "vlan": {"vid": 5, "pcp": 3}, "ipv4": {"src": "198.18.0.9"}, "udp": {"dport": 53}}]},
    {"packets": [{"device": "eth0", "hex": frames[0][1].hex() if frames else "00", "at_ns": 5}]},
    {"packets": [{"device": "eth0", "ipv4": {"src": "198.18.0.9", "checksum": 1, "total_length": 20, "protocol": 17}, "udp": {"dport": 53, "length": 9, "checksum": 0}}]},
    {"packets": [{"device": "eth0", "ipv4": {"src": "198.18.0.9"}, "tcp": {"dport": 80, "flags": ["ack"], "ack": 5, "truncated": 4}}]},
]
for b in bodies:
    put("packetspec", json.dumps(b))
    put("json", json.dumps(b, indent=1))

for j in ['0', '-0.5e+3', '"\\ud83d\\ude00\\u0000\\n"', '[[[[[]]]]]', '{"a":{"b":[1,2.5,true,false,null]}}', '18446744073709551616',
          '"caf\u00e9"', '{"":""}']:
    put("json", j)

for t in sorted(os.listdir(out)):
    print(t, len(os.listdir(os.path.join(out, t))))

# pcap: the frames as classic captures (both byte orders, µs and ns) and as pcapng, a few at a time.
import struct
def pcap(fs, endian, magic):
    b = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)
    for k, f in enumerate(fs):
        b += struct.pack(endian + "IIII", 1700000000 + k, 250000 * k, len(f), len(f)) + f
    return b
def pcapng(fs):
    def block(t, body):
        body += b"\0" * ((4 - len(body) % 4) % 4)
        return struct.pack("<II", t, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
    b = block(0x0a0d0d0a, struct.pack("<IHHq", 0x1a2b3c4d, 1, 0, -1))
    b += block(1, struct.pack("<HHI", 1, 0, 65535) + struct.pack("<HHB", 9, 1, 9) + b"\0\0\0" + struct.pack("<HH", 0, 0))
    for k, f in enumerate(fs):
        t = 1700000000000000000 + k * 1000
        b += block(6, struct.pack("<IIIII", 0, t >> 32, t & 0xffffffff, len(f), len(f)) + f)
    return b
for k in range(0, min(len(frames), 40), 5):
    fs = [f for _, f in frames[k:k + 5]]
    put("pcap", pcap(fs, "<", 0xa1b2c3d4))
    put("pcap", pcap(fs, ">", 0xa1b23c4d))
    put("pcap", pcapng(fs))

