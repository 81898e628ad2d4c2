#!/usr/bin/env bash
# Records the kernel verifier's verdict on each Tests/BPFTests/Verifier/*.c and *.s (root; clang, bpftool,
# libbpf-dev): compiled as the oracle compiles XDP programs, loaded with `bpftool prog load`; the
# instruction the verifier stopped at and its message go to Tests/BPFTests/Verifier/expected.json.
set -euo pipefail
cd "$(dirname "$0")/../Tests/BPFTests/Verifier"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"; rm -f /sys/fs/bpf/psverify' EXIT
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
: > "$tmp/entries"
# C sources, and BPF assembly (.s) for instruction sequences clang would not emit.
for c in *.c *.s; do
  name=${c%.*}
  clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "$c" -o "$tmp/$name.o"
  if bpftool prog load "$tmp/$name.o" /sys/fs/bpf/psverify >"$tmp/log" 2>&1; then
    rm -f /sys/fs/bpf/psverify
    entry='{"verdict": "accept"}'
  else
    # The log between BEGIN/END: the last instruction line before the message, then the message.
    entry=$(python3 - "$tmp/log" <<'PY'
import json, re, sys
log = open(sys.argv[1]).read()
body = log.split("-- BEGIN PROG LOAD LOG --", 1)[-1].split("-- END PROG LOAD LOG --", 1)[0].splitlines()
body = [l for l in body if l.strip() and not l.startswith(";") and not l.startswith("libbpf:")]
end = next((i for i, l in enumerate(body) if l.startswith("processed ")), len(body))
insn, msg = None, []
for l in body[:end]:
    m = re.match(r"^(\d+): \(", l)
    # The complexity limit is reported on the instruction's own line.
    if m: insn, msg = int(m.group(1)), ([l[l.index("BPF program is too large"):]] if "BPF program is too large" in l else [])
    elif re.match(r"^\d+: R\d", l) or re.match(r"^(from \d+ to \d+|\d+: safe|last_idx|regs=|parent didn't)", l): continue
    else: msg.append(l)
print(json.dumps({"verdict": "refuse", "insn": insn, "message": "\n".join(msg)}))
PY
)
  fi
  printf '%s\t%s\n' "$name" "$entry" >> "$tmp/entries"
done
python3 - "$tmp/entries" > expected.json <<'PY'
import json, sys
entries = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[1])]
print("{\n" + ",\n".join("  %s: %s" % (json.dumps(k), json.dumps(json.loads(v))) for k, v in entries) + "\n}")
PY
cat expected.json
