#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test; ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1
export PATH="$PATH:/opt/swift/usr/bin"
log=$(mktemp)
swift build --build-tests 2>&1 | tail -n 20 || { echo "build failed"; exit 1; }
swift test --skip-build --disable-swift-testing 2>&1 | tee "$log" | grep --line-buffered -E "error:|failed|skipped|Executed .* tests"
status=${PIPESTATUS[0]}
# The run's own summary follows the "All tests"/"Selected tests" line; a crash leaves none.
summary=$(grep -A1 -E "^Test Suite '(All tests|Selected tests)' (passed|failed)" "$log" | grep -E "Executed [0-9]+ tests?" | tail -n 1)
total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
failed=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
skipped=$(grep -c "Test skipped" "$log" || true)
rm -f "$log"
if [ -z "$total" ]; then echo "tests: no test summary (the test runner crashed?)"; exit 1; fi
echo "tests: $((total - failed - skipped)) passed, $failed failed, $skipped skipped"
# Under CI a skip is a failure: every test must run (tests that would skip fail there themselves too).
if [ "${CI:-}" = "true" ] && [ "$skipped" -gt 0 ]; then echo "tests: $skipped skipped under CI"; exit 1; fi
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] || exit 1
# The fuzzing harnesses (Tests/Fuzz), each briefly: FUZZ_SECONDS per harness, 30 under CI, 0 (not run) otherwise.
fuzz=${FUZZ_SECONDS:-$([ "${CI:-}" = "true" ] && echo 30 || echo 0)}
if [ "$fuzz" -gt 0 ]; then scripts/fuzz.sh "$fuzz"; else echo "fuzz: not run (FUZZ_SECONDS=N runs each harness N s; CI runs 30)"; fi
