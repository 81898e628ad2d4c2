#!/usr/bin/env python3
"""Crash safety: kills packetstackd with SIGKILL at random moments during heavy injection with
sync=true, ruleset changes and stack deletions, restarts it, and checks after every kill:
  - PRAGMA integrity_check is ok;
  - every trace answered "durable": true is stored, unless a delete of its stack was in flight
    when its injection was sent, or sent after it (that delete may rightly have taken it);
  - every acknowledged ruleset version is stored (with the same exception), and the live ruleset
    is the last one stored;
  - the restarted server answers.
Usage: crash_test.py BINARY [rounds (20)] [seed (1)]. Prints one line per round and a summary."""
from psserver import Server
import http.client, json, os, random, signal, sqlite3, sys, tempfile, threading, time

binary = os.path.abspath(sys.argv[1])  # the server runs in its own work folder
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
workdir = tempfile.mkdtemp(prefix="ps-crash-")
db = os.path.join(workdir, "crash.db")
STACKS = ["a", "b", "c"]

def stack_doc(name):
    return {"name": name, "devices": [{"name": "eth0", "mac": "02:00:00:00:00:01", "addresses": ["198.18.0.1/24"]}]}

PACKETS = {"packets": [{"device": "eth0", "ipv4": {"src": "198.18.0.9"}, "udp": {"sport": 1000 + i, "dport": 53}} for i in range(40)]}

def start():
    s = Server(binary, db)
    return s, s.port

def call(port, method, path, body=None, ctype="application/json"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    data = None if body is None else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
    c.request(method, path, body=data, headers={"content-type": ctype})
    r = c.getresponse()
    out = r.read()
    c.close()
    return r.status, out

class Ledger:
    """What the server acknowledged, and what was in flight when it died."""
    def __init__(self):
        self.lock = threading.Lock()
        self.durable = {}          # trace id -> (stack name, epoch when its injection was sent)
        self.delete_sent = {}      # stack -> deletes sent so far (a trace stored before a delete goes with it)
        self.delete_done = {}      # stack -> deletes answered so far
        self.versions = {}         # stack -> [(version, epoch)] acknowledged

    def epoch(self, s):
        """None while a delete of s is in flight (what is stored now may go with it), else the count of deletes."""
        sent = self.delete_sent.get(s, 0)
        return sent if sent == self.delete_done.get(s, 0) else None

    def kept(self, s, epoch):
        """Whether what was written at `epoch` must still be there: no delete of s since."""
        return epoch is not None and self.delete_sent.get(s, 0) == epoch

ledger = Ledger()

def injector(port, stop):
    while not stop.is_set():
        s = rng.choice(STACKS)
        with ledger.lock:
            epoch = ledger.epoch(s)
        try:
            st, out = call(port, "POST", f"/v1/stacks/{s}/packets?sync=true", PACKETS)
        except Exception:
            return
        if st != 200:
            continue
        r = json.loads(out)
        if r.get("durable"):
            with ledger.lock:
                for t in r["results"]:
                    ledger.durable[t["trace_id"]] = (s, epoch)

def ruleset_writer(port, stop):
    k = 0
    while not stop.is_set():
        s = rng.choice(STACKS)
        k += 1
        text = f"table inet filter {{\n\tchain input {{\n\t\ttype filter hook input priority filter; policy accept;\n\t\tudp dport {1 + k % 60000} counter comment \"w{k}\"\n\t}}\n}}\n"
        with ledger.lock:
            epoch = ledger.epoch(s)
        try:
            st, out = call(port, "PUT", f"/v1/stacks/{s}/ruleset", text, "text/plain")
        except Exception:
            return
        with ledger.lock:
            if st == 200:
                ledger.versions.setdefault(s, []).append((json.loads(out)["version"], epoch))

def deleter(port, stop):
    while not stop.is_set():
        time.sleep(rng.uniform(0.05, 0.3))
        s = rng.choice(STACKS)
        with ledger.lock:
            ledger.delete_sent[s] = ledger.delete_sent.get(s, 0) + 1
        try:
            call(port, "DELETE", f"/v1/stacks/{s}")
            with ledger.lock:
                ledger.delete_done[s] = ledger.delete_done.get(s, 0) + 1
            call(port, "POST", "/v1/stacks", stack_doc(s))
        except Exception:
            return

def check(round_no):
    con = sqlite3.connect(db)
    ok = con.execute("PRAGMA integrity_check").fetchone()[0]
    stored = {r[0]: r[1] for r in con.execute("SELECT t.id, s.name FROM traces t JOIN stacks s ON s.id = t.stack_id")}
    versions = {}
    for name, v, text in con.execute("SELECT s.name, r.version, r.ruleset FROM ruleset_versions r JOIN stacks s ON s.id = r.stack_id ORDER BY r.version"):
        versions.setdefault(name, []).append((v, text))
    con.close()
    # A trace acknowledged durable must be stored unless a delete of its stack was sent after its
    # injection was (that delete may have run after the commit and taken it, as it should).
    missing = [t for t, (s, epoch) in ledger.durable.items()
               if ledger.kept(s, epoch) and stored.get(t) != s]
    lost_versions = [(s, v) for s, vs in ledger.versions.items() for v, epoch in vs
                     if ledger.kept(s, epoch) and v not in {x for x, _ in versions.get(s, [])}]
    expected = sum(1 for s, epoch in ledger.durable.values() if ledger.kept(s, epoch))
    nversions = sum(1 for s, vs in ledger.versions.items() for _, epoch in vs if ledger.kept(s, epoch))
    return ok, expected, missing, nversions, lost_versions, versions

totals = {"kills": 0, "durable": 0, "missing": 0, "versions": 0, "lost_versions": 0, "corrupt": 0, "mismatch": 0}
current = None   # the server of the round in progress, whose log a failure prints

def run_round(n):
    global current
    p, port = start()
    current = p
    for s in STACKS:
        call(port, "POST", "/v1/stacks", stack_doc(s))
    ledger.durable.clear(); ledger.versions.clear(); ledger.delete_sent.clear(); ledger.delete_done.clear()
    stop = threading.Event()
    threads = [threading.Thread(target=injector, args=(port, stop)) for _ in range(3)]
    threads += [threading.Thread(target=ruleset_writer, args=(port, stop)), threading.Thread(target=deleter, args=(port, stop))]
    for t in threads:
        t.start()
    time.sleep(rng.uniform(0.3, 1.5))
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    stop.set()
    for t in threads:
        t.join()
    totals["kills"] += 1
    ok, durable, missing, nversions, lost, versions = check(n)
    # Restart: the live ruleset of each stack must be its last stored version.
    p, port = start()
    current = p
    mismatches = []
    for s in STACKS:
        st, out = call(port, "GET", f"/v1/stacks/{s}/ruleset?handles=true")
        if st != 200 or s not in versions:
            continue
        last = versions[s][-1][1]
        if out.decode() != last:
            mismatches.append(s)
    health, _ = call(port, "GET", "/healthz")
    p.proc.send_signal(signal.SIGTERM)
    p.wait()
    totals["durable"] += durable; totals["missing"] += len(missing); totals["versions"] += nversions
    totals["lost_versions"] += len(lost); totals["corrupt"] += ok != "ok"; totals["mismatch"] += len(mismatches)
    print(f"round {n}: integrity {ok}, {durable} durable traces acknowledged, {len(missing)} missing; {nversions} versions acknowledged, "
          f"{len(lost)} missing; live ruleset = last version: {'yes' if not mismatches else 'NO ' + str(mismatches)}; healthz {health}")
    if health != 200:
        totals["corrupt"] += 1

for n in range(1, rounds + 1):
    try:
        run_round(n)
    except BaseException as e:
        # A round that stops half way (the server gone, an answer that never came) says why, with the server's log.
        import traceback
        print(f"round {n} stopped: {e!r}\n{traceback.format_exc()}server log:\n{current.log_tail(4000) if current else '(none)'}", flush=True)
        if current and current.poll() is None:
            current.kill()
        sys.exit(1)
print(f"crash test: {totals['kills']} kills, {totals['corrupt']} corrupt or unanswering, {totals['durable']} durable traces acknowledged, "
      f"{totals['missing']} lost; {totals['versions']} versions acknowledged, {totals['lost_versions']} lost; {totals['mismatch']} live rulesets not the last version")
sys.exit(0 if totals["corrupt"] == totals["missing"] == totals["lost_versions"] == totals["mismatch"] == 0 else 1)
