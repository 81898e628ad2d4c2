#!/usr/bin/python3
"""Records TCP conversations on the real kernel (root): two namespaces joined by a veth pair,
CLI (peer0, 02:00:00:00:00:01, 198.18.0.1/24) and SRV (eth0, 02:00:00:00:00:02, 198.18.0.2/24),
permanent neighbours, the real TCP stack on both sides. Every frame on SRV's eth0 is captured,
both directions, with `ss -tan` of both sides where a step asks.

    scripts/record_tcp_cases.py CASE.json [-o OUT.json]

CASE: {"name", "ipv6": false, "steps": [...]}; with "ipv6": true the ends are 2001:db8::1 (CLI) and
2001:db8::2 (SRV), nodad, with AF_INET6 sockets; "sysctls": {"cli": {NAME: VALUE}, "srv": {...}} sets
sysctls in either namespace first. Each step one of
  {"do": "listen", "port": P}                      SRV: socket, bind, listen
  {"do": "connect", "port": P, "sport": S}         CLI: bind to S, connect to 198.18.0.2:P (blocking)
  {"do": "accept"}                                 SRV: accept the connection
  {"do": "send", "side": "cli"|"srv", "len": N}    N bytes of 'a'
  {"do": "recv", "side": "cli"|"srv"}              read what is queued (non-blocking)
  {"do": "close", "side": "cli"|"srv"|"listener"}
  {"do": "ss"}                                      `ss -tan` on both sides (state, queues, ends)
  {"do": "wait", "ms": N}                          N ms more before the next step (timers run meanwhile)
with 100 ms between steps so the frames each one causes are out.
"""
import ctypes, json, os, select, socket, struct, subprocess, sys, time

SO_TIMESTAMPNS = 35
LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def sh(ns, *cmd, check=True):
    full = ["ip", "netns", "exec", ns, *cmd] if ns else list(cmd)
    r = subprocess.run(full, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(full)}: {r.stderr.strip()}")
    return r.stdout


def enter(path):
    fd = os.open(path, os.O_RDONLY)
    if LIBC.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"setns {path}")
    os.close(fd)


def setup(tag, ipv6):
    cli, srv = f"{tag}_cli", f"{tag}_srv"
    for n in (cli, srv):
        sh(None, "ip", "netns", "add", n)
        if not ipv6:
            sh(n, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            sh(n, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
    sh(srv, "ip", "link", "add", "eth0", "address", "02:00:00:00:00:02", "type", "veth", "peer", "name", "peer0",
       "address", "02:00:00:00:00:01", "netns", cli)
    for n, d in ((cli, "peer0"), (srv, "eth0"), (cli, "lo"), (srv, "lo")):
        sh(n, "ip", "link", "set", d, "up")
    sh(cli, "ip", "addr", "add", "198.18.0.1/24", "dev", "peer0")
    sh(srv, "ip", "addr", "add", "198.18.0.2/24", "dev", "eth0")
    sh(cli, "ip", "neigh", "add", "198.18.0.2", "lladdr", "02:00:00:00:00:02", "dev", "peer0", "nud", "permanent")
    sh(srv, "ip", "neigh", "add", "198.18.0.1", "lladdr", "02:00:00:00:00:01", "dev", "eth0", "nud", "permanent")
    if ipv6:
        sh(cli, "ip", "addr", "add", "2001:db8::1/64", "dev", "peer0", "nodad")
        sh(srv, "ip", "addr", "add", "2001:db8::2/64", "dev", "eth0", "nodad")
        sh(cli, "ip", "neigh", "add", "2001:db8::2", "lladdr", "02:00:00:00:00:02", "dev", "peer0", "nud", "permanent")
        sh(srv, "ip", "neigh", "add", "2001:db8::1", "lladdr", "02:00:00:00:00:01", "dev", "eth0", "nud", "permanent")
    return cli, srv


def ss(ns):
    out = []
    for line in sh(ns, "ss", "-tan").splitlines()[1:]:
        f = line.split()
        out.append({"state": f[0], "recv_q": int(f[1]), "send_q": int(f[2]), "local": f[3], "peer": f[4]})
    return out


def run(case):
    tag = f"pstcp_{os.getpid()}"
    ipv6 = case.get("ipv6", False)
    family, anyaddr, srvaddr = (socket.AF_INET6, "::", "2001:db8::2") if ipv6 else (socket.AF_INET, "0.0.0.0", "198.18.0.2")
    cli, srv = setup(tag, ipv6)
    for side, ns in (("cli", cli), ("srv", srv)):
        for k, v in case.get("sysctls", {}).get(side, {}).items():
            sh(ns, "sysctl", "-qw", f"{k}={v}")
    own_fd = os.open(f"/proc/{os.getpid()}/ns/net", os.O_RDONLY)
    socks = {}
    try:
        enter(f"/var/run/netns/{srv}")
        cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        cap.bind(("eth0", 0))
        cap.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        listener = socket.socket(family, socket.SOCK_STREAM)
        enter(f"/var/run/netns/{cli}")
        client = socket.socket(family, socket.SOCK_STREAM)
        LIBC.setns(own_fd, CLONE_NEWNET)
        socks = {"cli": client, "listener": listener}
        t0 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        got, snapshots, results = [], [], []

        def drain(wait):
            while True:
                r, _, _ = select.select([cap], [], [], wait)
                if not r:
                    return
                data, anc, _, addr = cap.recvmsg(65535, 64)
                ts = next((struct.unpack("qq", d[:16]) for lvl, t, d in anc if t == SO_TIMESTAMPNS), None)
                t = ts[0] * 1_000_000_000 + ts[1] if ts else time.clock_gettime_ns(time.CLOCK_REALTIME)
                direction = "out" if addr[2] == socket.PACKET_OUTGOING else "in"
                got.append({"hex": data.hex(), "t_us": (t - t0) // 1000, "dir": direction})

        for i, st in enumerate(case["steps"]):
            d, res = st["do"], "ok"
            try:
                if d == "listen":
                    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    listener.bind((anyaddr, st["port"]))
                    listener.listen(st.get("backlog", 128))
                elif d == "connect":
                    client.bind((anyaddr, st["sport"]))
                    client.connect((srvaddr, st["port"]))
                elif d == "accept":
                    socks["srv"], _ = listener.accept()
                elif d == "send":
                    res = socks[st["side"]].send(b"a" * st["len"], socket.MSG_DONTWAIT)
                elif d == "recv":
                    try:
                        res = len(socks[st["side"]].recv(1 << 20, socket.MSG_DONTWAIT))
                    except BlockingIOError:
                        res = "EAGAIN"
                elif d == "close":
                    socks[st["side"]].close()
                elif d == "ss":
                    snapshots.append({"after_step": i, "cli": ss(cli), "srv": ss(srv)})
                elif d == "wait":
                    # Capture meanwhile, but for N ms only (drain waits for a quiet spell, which traffic would stretch).
                    end = time.monotonic() + st["ms"] / 1000
                    while (left := end - time.monotonic()) > 0:
                        drain(min(left, 0.05))
            except OSError as e:
                res = __import__("errno").errorcode[e.errno]
            results.append(res)
            drain(0.1)
        drain(0.3)
        got.sort(key=lambda g: g["t_us"])
        # An IPv6 case: only the conversation (router solicitations and MLD reports left out).
        if ipv6:
            got = [g for g in got if g["hex"][24:28] == "86dd" and g["hex"][40:42] == "06"]
        return {"case": case["name"], "kernel": os.uname().release, "steps": case["steps"], "results": results,
                "captured": got, "ss": snapshots}
    finally:
        for s in socks.values():
            try:
                s.close()
            except OSError:
                pass
        for n in (cli, srv):
            sh(None, "ip", "netns", "del", n, check=False)


if __name__ == "__main__":
    case = json.load(open(sys.argv[1]))
    out = run(case)
    text = json.dumps(out, indent=1) + "\n"
    if "-o" in sys.argv:
        open(sys.argv[sys.argv.index("-o") + 1], "w").write(text)
    else:
        sys.stdout.write(text)
