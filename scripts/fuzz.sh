#!/usr/bin/env bash
# Builds the fuzzing harnesses (Tests/Fuzz) with libFuzzer and AddressSanitizer, and runs each
# for a set time; prints every target's executions and fails on any crash, hang or broken property.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      default: 60 s each, every target
# Targets: wire rx nft nftjson http1 json packetspec pcap iptables ipset tc bpf (see Tests/Fuzz/FuzzTargets/FuzzTarget.swift).
# Work corpora grow in .build-fuzz/corpus/TARGET, seeded from Tests/Fuzz/Corpus/TARGET; a finding's
# input lands in .build-fuzz/crashes/ (replay it with `swift run psfuzz TARGET FILE`; once fixed,
# keep it as Tests/Fuzz/Corpus/TARGET/crash-* so FuzzCorpusTests replays it).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
secs=${1:-60}; [ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(wire rx nft nftjson http1 json packetspec pcap iptables ipset tc bpf)
swift build -c release --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
    --scratch-path .build-fuzz --product psfuzz 2>&1 | grep -v "Cannot export local symbol" | tail -n 2
bin=.build-fuzz/release/psfuzz
[ -x "$bin" ] || { echo "fuzz: build failed"; exit 1; }
# Swift's own crash reporter reads memory ASan then reports as a second error: libFuzzer reports instead.
export SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0
mkdir -p .build-fuzz/crashes
status=0; total=0
for t in "${targets[@]}"; do
    mkdir -p ".build-fuzz/corpus/$t"
    log=".build-fuzz/$t.log"
    # -timeout: an input running 10 s is a hang; -rss_limit_mb: memory growing without bound is a finding.
    PSFUZZ_TARGET=$t "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=3072 \
        -artifact_prefix=".build-fuzz/crashes/$t-" ".build-fuzz/corpus/$t" "Tests/Fuzz/Corpus/$t" >"$log" 2>&1
    rc=$?
    execs=$(awk '/^stat::number_of_executed_units/ {print $2}' "$log")
    cov=$(grep -oE "cov: [0-9]+" "$log" | tail -n 1)
    total=$((total + ${execs:-0}))
    if [ $rc -eq 0 ]; then
        printf "fuzz %-10s %10s executions in %s s, %s, corpus %s\n" "$t" "${execs:-?}" "$secs" "${cov:-cov: ?}" "$(ls ".build-fuzz/corpus/$t" | wc -l)"
    else
        status=1
        echo "fuzz $t: FINDING (exit $rc), see $log"
        # What failed, where in our sources, and the input itself, so a finding on a CI machine replays here.
        grep -E "ERROR|Fatal error|fuzz property|Swift runtime failure|Test unit written" "$log" | head -n 5
        grep -E "^ +#[0-9]+ .* /[^ ]*/Sources/" "$log" | head -n 4 | sed -E 's/^ +(#[0-9]+) [^ ]+ in [^ ]+ /  \1 /'
        grep -E "^Base64: " "$log" | head -n 1 | cut -c 1-4000
    fi
done
echo "fuzz: $total executions, $([ $status -eq 0 ] && echo "no findings" || echo "findings above")"
exit $status
