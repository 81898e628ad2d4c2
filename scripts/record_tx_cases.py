#!/usr/bin/python3
"""Records transmit-side cases on the real kernel (root): SND -> DUT (forwarding) -> RCV in
namespaces of our own, a qdisc set with tc on DUT's eth1, frames injected from SND with an
AF_PACKET socket, and what RCV captured plus DUT's `tc -s qdisc show` afterwards.

    scripts/record_tx_cases.py CASE.json [-o OUT.json]

Topology and addresses are the kernel oracle's (../shared/oracle/README.md): DUT eth0
198.18.0.2/24 (02:00:00:00:00:02), eth1 198.18.1.1/24 (02:00:00:00:01:01), permanent neighbours
198.18.0.1 -> 02:00:00:00:00:01 and 198.18.1.2 -> 02:00:00:00:01:02, ip_forward=1.
CASE: {"name", "tc": ["qdisc add dev eth1 root ..."], "frames": [{"hex", "repeat"}], "quiet_ms",
"ipv6": DUT gets 2001:db8:1::1/64 on eth1 (neighbour 2001:db8:1::2 permanent) and an AF_INET6 socket
(or "wait_ms": capture for that long), "capture_eth0": also capture what DUT sends out of eth0,
"dut_cmds": commands run in DUT first (ethtool...)}, or
instead of "frames", "sends": [{"to", "port", "len", "count", "sndbuf", "tos", "priority", "pmtudisc", "gso", "fill", "recverr", "sleep_ms"}]
sent with MSG_DONTWAIT from a UDP socket bound to DUT port 4000 (datagram k of a spec is len
bytes of fill + k) (each send's result recorded:
"ok" or the errno name, and the socket's SIOCOUTQ after it).
Capture timestamps are the kernel's (SO_TIMESTAMPNS), in microseconds from the first frame sent.
"""
import ctypes, json, os, select, socket, struct, subprocess, sys, time

SO_TIMESTAMPNS = 35


def sh(ns, *cmd, check=True):
    full = ["ip", "netns", "exec", ns, *cmd] if ns else list(cmd)
    r = subprocess.run(full, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(full)}: {r.stderr.strip()}")
    return r.stdout


def setup(tag, ipv6=False):
    snd, dut, rcv = f"{tag}_snd", f"{tag}_dut", f"{tag}_rcv"
    for n in (snd, dut, rcv):
        sh(None, "ip", "netns", "add", n)
        sh(n, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        sh(n, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
    sh(dut, "ip", "link", "add", "eth0", "address", "02:00:00:00:00:02", "type", "veth", "peer", "name", "peer0",
       "address", "02:00:00:00:00:01", "netns", snd)
    sh(dut, "ip", "link", "add", "eth1", "address", "02:00:00:00:01:01", "type", "veth", "peer", "name", "peer1",
       "address", "02:00:00:00:01:02", "netns", rcv)
    for n, d in ((snd, "peer0"), (rcv, "peer1"), (dut, "eth0"), (dut, "eth1"), (dut, "lo")):
        sh(n, "ip", "link", "set", d, "up")
    sh(dut, "ip", "addr", "add", "198.18.0.2/24", "dev", "eth0")
    sh(dut, "ip", "addr", "add", "198.18.1.1/24", "dev", "eth1")
    sh(dut, "ip", "neigh", "add", "198.18.0.1", "lladdr", "02:00:00:00:00:01", "dev", "eth0", "nud", "permanent")
    sh(dut, "ip", "neigh", "add", "198.18.1.2", "lladdr", "02:00:00:00:01:02", "dev", "eth1", "nud", "permanent")
    sh(dut, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    if ipv6:
        # DUT only (the peers stay silent): 2001:db8:1::1/64 on eth1, its neighbour permanent.
        for k in ("all", "default", "eth1", "lo"):
            sh(dut, "sysctl", "-qw", f"net.ipv6.conf.{k}.disable_ipv6=0")
        sh(dut, "ip", "-6", "addr", "add", "2001:db8:1::1/64", "dev", "eth1", "nodad")
        sh(dut, "ip", "-6", "neigh", "add", "2001:db8:1::2", "lladdr", "02:00:00:00:01:02", "dev", "eth1", "nud", "permanent")
    return snd, dut, rcv


LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def enter(path):
    """setns(2) into a network namespace (os.setns needs Python 3.12)."""
    fd = os.open(path, os.O_RDONLY)
    if LIBC.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"setns {path}")
    os.close(fd)


PMTUDISC = {"dont": 0, "want": 1, "do": 2, "probe": 3}
SIOCOUTQ = 0x5411


def send_all(sock, spec):
    """One send spec from DUT's socket: options first, then `count` non-blocking sends."""
    import fcntl
    if "sleep_ms" in spec:
        time.sleep(spec["sleep_ms"] / 1000)
    if "recverr" in spec:
        sock.setsockopt(socket.IPPROTO_IP, 11, int(spec["recverr"]))  # IP_RECVERR
    if "sndbuf" in spec:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, spec["sndbuf"])
    if "tos" in spec:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, spec["tos"])
    if "priority" in spec:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY, spec["priority"])
    if "gso" in spec:
        sock.setsockopt(17, 103, spec["gso"])  # SOL_UDP, UDP_SEGMENT
    if "pmtudisc" in spec:
        sock.setsockopt(socket.IPPROTO_IP, 10, PMTUDISC[spec["pmtudisc"]])  # IP_MTU_DISCOVER
    out = {"sndbuf": sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF), "results": []}
    for i in range(spec.get("count", 1)):
        data = bytes([(spec.get("fill", 0) + i) & 0xff]) * spec["len"]
        try:
            sock.sendto(data, socket.MSG_DONTWAIT, (spec["to"], spec["port"]))
            r = "ok"
        except OSError as e:
            r = __import__("errno").errorcode[e.errno]
        outq = struct.unpack("i", fcntl.ioctl(sock.fileno(), SIOCOUTQ, b"\0" * 4))[0]
        out["results"].append([r, outq])
    return out


def run(case):
    tag = f"pstx_{os.getpid()}"
    snd, dut, rcv = setup(tag, case.get("ipv6", False))
    try:
        for cmd in case.get("dut_cmds", []):   # e.g. "ethtool -K eth1 tx off"
            sh(dut, *cmd.split())
        for cmd in case["tc"]:
            sh(dut, "tc", *cmd.split())
        own = f"/proc/{os.getpid()}/ns/net"
        own_fd = os.open(own, os.O_RDONLY)
        enter(f"/var/run/netns/{rcv}")
        cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        cap.bind(("peer1", 0))
        cap.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        enter(f"/var/run/netns/{snd}")
        tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        tx.bind(("peer0", 0))
        caps = {cap: "eth1"}
        if case.get("capture_eth0"):
            cap0 = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
            cap0.bind(("peer0", 0))
            cap0.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            caps[cap0] = "eth0"
        enter(f"/var/run/netns/{dut}")
        v6 = case.get("ipv6", False)
        udp = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("::" if v6 else "0.0.0.0", 4000))
        LIBC.setns(own_fd, CLONE_NEWNET)
        os.close(own_fd)
        frames = [bytes.fromhex(f["hex"]) for f in case.get("frames", []) for _ in range(f.get("repeat", 1))]
        results = []
        t0 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        for f in frames:
            tx.send(f)
        for snd_spec in case.get("sends", []):
            results.append(send_all(udp, snd_spec))
        got = []
        quiet = case.get("quiet_ms", 300) / 1000
        deadline = time.monotonic() + case["wait_ms"] / 1000 if "wait_ms" in case else None
        while True:
            wait = quiet if deadline is None else max(0.0, deadline - time.monotonic())
            r, _, _ = select.select(list(caps), [], [], wait)
            if not r:
                break
            for c in r:
                data, anc, _, addr = c.recvmsg(65535, 64)
                if addr[2] == socket.PACKET_OUTGOING:
                    continue
                ts = next((struct.unpack("qq", d[:16]) for lvl, t, d in anc if t == SO_TIMESTAMPNS), None)
                t = ts[0] * 1_000_000_000 + ts[1] if ts else time.clock_gettime_ns(time.CLOCK_REALTIME)
                # With IPv6 on, DUT's own MLD reports and router solicitations are left out.
                if case.get("ipv6") and data[12:14] == b"\x86\xdd" and data[20] not in (17, 44):
                    continue
                got.append({"hex": data.hex(), "t_us": (t - t0) // 1000, "iface": caps[c]})
        got.sort(key=lambda g: g["t_us"])
        return {
            "case": case["name"], "kernel": os.uname().release, "tc": case["tc"],
            "sent": len(frames),
            "send_results": results,
            "captured": got,
            "qdisc_json": json.loads(sh(dut, "tc", "-s", "-j", "qdisc", "show", "dev", "eth1")),
            "qdisc_text": sh(dut, "tc", "-s", "qdisc", "show", "dev", "eth1"),
            "class_text": sh(dut, "tc", "-s", "class", "show", "dev", "eth1"),
            "link_tx": json.loads(sh(dut, "ip", "-s", "-j", "link", "show", "eth1"))[0]["stats64"]["tx"],
        }
    finally:
        for n in (snd, dut, rcv):
            sh(None, "ip", "netns", "del", n, check=False)


if __name__ == "__main__":
    case = json.load(open(sys.argv[1]))
    out = run(case)
    text = json.dumps(out, indent=1) + "\n"
    if "-o" in sys.argv:
        open(sys.argv[sys.argv.index("-o") + 1], "w").write(text)
    else:
        sys.stdout.write(text)
