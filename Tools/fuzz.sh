#!/usr/bin/env bash
# libFuzzer harnesses for every reader of untrusted bytes (sources and package in Tests/Fuzz).
#   Tools/fuzz.sh TARGET SECONDS   fuzz one target for SECONDS, keeping its corpus between runs
#   Tools/fuzz.sh --smoke          every target briefly, fixed seed and run count; non-zero on a crash
#   Tools/fuzz.sh --list           the targets
# Targets: modelfile (model-file reader + engine load + one inference), torch (.pth reader),
# safetensors, image (JPEG/PNG decode + preprocess), client-command (lavitd's command parser).
# Corpora start from Tests/Fixtures and grow under .build-fuzz/corpus/TARGET; a crash leaves its
# input in .build-fuzz/crashes/TARGET/ and the run's log in .build-fuzz/TARGET.log.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
package="$root/Tests/Fuzz"
work="$root/.build-fuzz"

# target -> product and seed files.
product() {
    case "$1" in
    modelfile) echo FuzzModelFile ;;
    torch) echo FuzzTorch ;;
    safetensors) echo FuzzSafetensors ;;
    image) echo FuzzImage ;;
    client-command) echo FuzzClientCommand ;;
    *) echo "unknown target '$1' (try --list)" >&2; exit 2 ;;
    esac
}
seeds() {
    local f="$root/Tests/Fixtures"
    case "$1" in
    modelfile) ls "$f"/int8/*/*.lvt "$f"/modelfile/*.lvt ;;
    torch) ls "$f"/golden/*/*.pth "$f"/bad/*.pth ;;
    safetensors) ls "$f"/golden/*/*.safetensors ;;
    image) ls "$f"/images/*.jpg "$f"/images/*.png ;;
    client-command) ls "$package"/seeds/ClientCommand/* ;;
    esac
}
targets="modelfile torch safetensors image client-command"
# Smoke run counts: about 12 s each on one core of the development machine (see Tools/FUZZING.md).
smoke_runs() {
    case "$1" in
    modelfile) echo 15000 ;;
    torch) echo 6000 ;;
    safetensors) echo 4500 ;;
    image) echo 250000 ;;
    client-command) echo 500000 ;;
    esac
}

build() {
    # lld: gold fails on the sanitizer objects. -sanitize=fuzzer instruments the root's libraries too.
    (cd "$package" && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld >&2)
    (cd "$package" && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld --show-bin-path)
}

# run TARGET BIN ARGS...: libFuzzer on the target's corpus; returns its status.
run() {
    local target="$1" bin="$2"
    shift 2
    local corpus="$work/corpus/$target" crashes="$work/crashes/$target"
    mkdir -p "$corpus" "$crashes"
    if [[ -z "$(ls -A "$corpus")" ]]; then
        # Fixtures in different folders share names (model.pth): keep the folder in the name.
        for seed in $(seeds "$target"); do
            cp "$seed" "$corpus/$(basename "$(dirname "$seed")")_$(basename "$seed")"
        done
    fi
    "$bin/$(product "$target")" "$corpus" -artifact_prefix="$crashes/" -print_final_stats=1 "$@" \
        >"$work/$target.log" 2>&1
}

case "${1:-}" in
--list)
    echo $targets
    ;;
--smoke)
    bin="$(build)"
    failed=0
    for target in $targets; do
        start=$(date +%s)
        # A fresh corpus from the fixtures, so every smoke run does the same work.
        rm -rf "$work/corpus/$target"
        if run "$target" "$bin" -seed=1 -runs="$(smoke_runs "$target")"; then
            echo "ok   $target ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$target.log" | grep -o '[0-9]*$') runs, $(($(date +%s) - start)) s)"
        else
            echo "FAIL $target: see $work/$target.log and $work/crashes/$target/"
            grep -m3 -E 'ERROR|Fatal error|deadly signal' "$work/$target.log" || true
            failed=1
        fi
    done
    exit $failed
    ;;
"" | -h | --help)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    ;;
*)
    target="$1"
    seconds="${2:?give the number of seconds}"
    product "$target" >/dev/null
    bin="$(build)"
    if run "$target" "$bin" -max_total_time="$seconds"; then status=0; else status=$?; fi
    grep -E '^stat::|^#[0-9]+.*DONE|^Done' "$work/$target.log" || true
    grep -m3 -E 'ERROR|Fatal error|deadly signal' "$work/$target.log" || true
    exit $status
    ;;
esac
