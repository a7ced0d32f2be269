#!/usr/bin/env bash
# The README's test command, and exactly what .ci/run calls: the set-up, then every suite, each
# timed; a failing suite does not stop the others. Ends with one line, "suites: N passed, M failed".
#
#   bash Tools/test.sh
set -uo pipefail
cd "$(dirname "$0")/.."

bash Tools/setup.sh || exit 1

passed=0
failed=0
summary=()
suite() {
    local name="$1"
    shift
    local start=$SECONDS
    echo "=== $name: $*"
    if "$@"; then
        passed=$((passed + 1))
        summary+=("ok     $name ($((SECONDS - start)) s)")
    else
        failed=$((failed + 1))
        summary+=("FAILED $name ($((SECONDS - start)) s)")
    fi
}

suite "swift test" swift test
suite "hostile inputs: one line, non-zero exit, < 1 s, < 4 GB" bash Tools/check_hostile_inputs.sh
suite "fuzz smoke run (every target, fixed seeds)" bash Tools/fuzz.sh --smoke
suite "lavitd against the Python reference" bash Tools/check_daemon.sh
suite "systemd units and install" bash Tools/check_units.sh
suite "VM end to end (vivid, v4l2loopback, systemd)" bash Tools/vm/run.sh

echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
