#!/usr/bin/python3
"""Records what the kernel's tc (sched_cls) programs do to the frames of Tests/BPFTests/TC/cases.json
(root; clang, bpftool, libbpf-dev): each program compiled as the XDP oracle compiles, loaded with
`bpftool prog load`, its maps pre-filled, then every frame run through BPF_PROG_TEST_RUN
(`bpftool prog run ... data_in ctx_in`, one repeat): the return value, the frame and the
`struct __sk_buff` it left, and afterwards every map's contents go to TC/expected.json.

BPF_PROG_TEST_RUN builds the skb as bpf_prog_test_run_skb does: eth_type_trans against the
namespace's loopback device (ifindex 1, MAC 00:00:00:00:00:00), the MAC header pushed back for the
program, wire_len the frame's length unless ctx_in gives one."""
import json, os, struct, subprocess, sys, tempfile

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "BPFTests", "TC")
PIN = "/sys/fs/bpf/pstc"


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def ctx_bytes(c):
    b = bytearray(192)
    struct.pack_into("<I", b, 8, c.get("mark", 0))
    struct.pack_into("<I", b, 32, c.get("priority", 0))
    for k, v in enumerate(c.get("cb", [0] * 5)):
        struct.pack_into("<I", b, 48 + 4 * k, v)
    struct.pack_into("<I", b, 160, c.get("wire_len", 0))
    return bytes(b)


def ctx_fields(b):
    u32 = lambda o: struct.unpack_from("<I", b, o)[0]
    return {"mark": u32(8), "priority": u32(32), "ingress_ifindex": u32(36), "ifindex": u32(40),
            "cb": [u32(48 + 4 * k) for k in range(5)], "tstamp": struct.unpack_from("<Q", b, 152)[0],
            "wire_len": u32(160), "gso_segs": u32(164), "gso_size": u32(176)}


def main():
    spec = json.load(open(os.path.join(HERE, "cases.json")))
    if subprocess.run(["mountpoint", "-q", "/sys/fs/bpf"]).returncode != 0:
        run("mount", "-t", "bpf", "bpf", "/sys/fs/bpf")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, runs in spec["cases"].items():
            obj = os.path.join(tmp, name + ".o")
            run("/usr/bin/clang", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c",
                os.path.join(HERE, name + ".c"), "-o", obj)
            if os.path.exists(PIN):
                os.unlink(PIN)
            run("bpftool", "prog", "load", obj, PIN)
            try:
                prog = json.loads(run("bpftool", "-j", "prog", "show", "pinned", PIN))
                maps = {}
                for mid in prog.get("map_ids", []):
                    m = json.loads(run("bpftool", "-j", "map", "show", "id", str(mid)))
                    maps[m["name"]] = mid
                for mname, entries in spec.get("maps", {}).get(name, {}).items():
                    for k, v in entries:
                        run("bpftool", "map", "update", "id", str(maps[mname]), "key", "hex",
                            *[k[i:i + 2] for i in range(0, len(k), 2)], "value", "hex", *[v[i:i + 2] for i in range(0, len(v), 2)])
                results = []
                for r in runs:
                    paths = {k: os.path.join(tmp, k) for k in ("in", "out", "ctx", "ctxo")}
                    open(paths["in"], "wb").write(bytes.fromhex(r["frame"]))
                    open(paths["ctx"], "wb").write(ctx_bytes(r.get("ctx", {})))
                    text = run("bpftool", "prog", "run", "pinned", PIN, "data_in", paths["in"], "data_out", paths["out"],
                               "data_size_out", "131072", "ctx_in", paths["ctx"], "ctx_out", paths["ctxo"], "ctx_size_out", "192", "repeat", "1")
                    ret = int(text.split("Return value:")[1].split(",")[0])
                    results.append({"retval": ret, "frame": open(paths["out"], "rb").read().hex(),
                                    "ctx": ctx_fields(open(paths["ctxo"], "rb").read())})
                dumps = {}
                for mname, mid in sorted(maps.items()):
                    if mname.endswith(".rodata") or mname.endswith(".bss") or mname.endswith(".data"):
                        continue
                    entries = json.loads(run("bpftool", "-j", "map", "dump", "id", str(mid)))
                    rows = [["".join(x[2:] for x in e["key"]), "".join(x[2:] for x in e["value"])] for e in entries]
                    dumps[mname] = sorted(rows)
                out[name] = {"runs": results, "maps": dumps}
            finally:
                os.unlink(PIN)
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(out, indent=1)[:3000])


if __name__ == "__main__":
    sys.exit(main())
