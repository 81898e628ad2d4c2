#!/usr/bin/env python3
"""API fuzzing: schemathesis against the real server, every operation of openapi/openapi.yaml,
every phase (examples, coverage, fuzzing, and stateful sequences along the document's links:
create stack -> load ruleset -> inject -> read the trace, conntrack and stats). Fails on any
5xx, any status not documented for the operation, and any response whose body, content type or
headers break the document; also fails if the server dies or fewer requests than asked were sent.
Usage: api_fuzz.py BINARY [min requests (5000)] [max examples per operation (100)] [seeds (1,2)]
Each seed is one schemathesis run against the same server (its state carries over)."""
from psserver import Server
import http.client, json, os, subprocess, sys, tempfile

binary = os.path.abspath(sys.argv[1])
want = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
examples = sys.argv[3] if len(sys.argv) > 3 else "100"
seeds = (sys.argv[4] if len(sys.argv) > 4 else "1,2").split(",")
work = tempfile.mkdtemp(prefix="ps-apifuzz-")

p = Server(binary, os.path.join(work, "f.db"))
port = p.port
base = f"http://127.0.0.1:{port}"

# A stack for the operations schemathesis reaches with made-up names to find something.
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("POST", "/v1/stacks", json.dumps({"name": "s", "devices": [{"name": "eth0", "mac": "02:00:00:00:00:02",
          "addresses": ["198.18.0.2/24"]}], "sockets": [{"port": 53}]}), {"content-type": "application/json"})
assert c.getresponse().status == 201

checks = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance"
entries, failed = [], []
for seed in seeds:
    har = os.path.join(work, f"run-{seed}.har")
    r = subprocess.run([sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.yaml", "--url", base,
                        "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", examples, "--seed", seed,
                        "--checks", checks, "--continue-on-failure", "--workers", "2",
                        "--report", "har", "--report-har-path", har], cwd=work, capture_output=True, text=True)
    if r.returncode != 0:
        failed.append(seed)
        print("\n".join(l for l in r.stdout.splitlines() if l.strip())[-4000:])
    if os.path.exists(har):
        entries += json.load(open(har))["log"]["entries"]
    print(f"seed {seed}: schemathesis exit {r.returncode}, {sum(1 for _ in json.load(open(har))['log']['entries']) if os.path.exists(har) else 0} requests")
alive = p.poll() is None
p.terminate()
p.wait(timeout=30)

by_status = {}
for e in entries:
    s = e["response"]["status"]
    by_status[s] = by_status.get(s, 0) + 1
fivexx = sum(n for s, n in by_status.items() if s >= 500)
print(f"api fuzz: {len(entries)} requests, statuses {dict(sorted(by_status.items()))}, {fivexx} 5xx, "
      f"failing seeds {failed or 'none'}, server {'alive' if alive else 'DEAD'} (exit {p.returncode} after SIGTERM)")
ok = not failed and alive and p.returncode == 0 and fivexx == 0 and len(entries) >= want
sys.exit(0 if ok else 1)
