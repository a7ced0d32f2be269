#!/usr/bin/env bash
# Issue 11's hostile inputs, rebuilt from their descriptions (Tools/make_hostile_inputs.py), each
# run through the built lavit-quantize under a 4 GB address-space limit: every one must end with a
# non-zero exit (not a signal, not the timeout), exactly one error line on stderr (a calibration
# folder may also warn once per image it skips), within a second.
# Usage: Tools/check_hostile_inputs.sh [debug|release]   (default debug: what `swift build` made)
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-debug}"
swift build -c "$config" --product lavit-quantize >/dev/null
bin="$(swift build -c "$config" --show-bin-path)/lavit-quantize"
work="$(mktemp -d /tmp/lavit-hostile.XXXXXX)"
trap 'rm -rf "$work"' EXIT
python3 Tools/make_hostile_inputs.py "$work"

images=Tests/Fixtures/images
good_model=Tools/models/lavit-fashion.lvt
image=$images/fashion_28x28.png
failures=0

check() {
    local name="$1"
    shift
    local start end rc lines ms
    start=$(date +%s%N)
    set +e
    (ulimit -v 4000000; exec timeout 10 "$bin" "$@") >"$work/out" 2>"$work/err"
    rc=$?
    set -e
    end=$(date +%s%N)
    ms=$(((end - start) / 1000000))
    lines=$(grep -vc '^warning: ' "$work/err" || true)
    if [[ $rc -eq 0 || $rc -ge 124 || $lines -ne 1 || $ms -ge 1000 ]]; then
        echo "FAIL $name: exit $rc, $lines stderr lines besides warnings, ${ms} ms"
        sed 's/^/    /' "$work/err" | head -5
        failures=$((failures + 1))
    else
        echo "ok   $name (exit $rc, ${ms} ms): $(grep -v '^warning: ' "$work/err")"
    fi
}

check "1 huge stride, size-1 dim"       inspect "$work/case1_stride.pth" --variant lavit-t
check "1 huge stride, inner dim"        inspect "$work/case1_stride_inner.pth" --variant lavit-t
check "2 broadcast 2^28"                inspect "$work/case2_broadcast28.pth" --variant lavit-t
check "2 broadcast 2^62"                inspect "$work/case2_broadcast62.pth" --variant lavit-t
for tag in 1e308 0 negative; do
    check "3 logit_scale $tag, classify" classify "$work/case3_logit_$tag.lvt" "$image"
    check "3 logit_scale $tag, verify"   verify "$work/case3_logit_$tag.lvt"
done
check "4 in_chans 2, quantize"          quantize "$work/case4_chans2.safetensors" --calibration "$images" -o "$work/x.lvt"
check "4 side 65536, quantize"          quantize "$work/case4_side65536.safetensors" --calibration "$images" -o "$work/x.lvt"
check "5 FIFO checkpoint"               inspect "$work/case5.fifo"
check "5 FIFO model"                    classify "$work/case5.fifo" "$image"
check "5 FIFO image"                    classify "$good_model" "$work/case5.fifo"
check "5 FIFO config"                   inspect --config "$work/case5.fifo"
check "5 FIFO symlink in calibration"   quantize Tests/Fixtures/golden/multi/model.safetensors --calibration "$work/case5_calibration" -o "$work/x.lvt"
check "6 800k-tensor header"            inspect "$work/case6_header.safetensors"

if [[ $failures -gt 0 ]]; then
    echo "$failures hostile input(s) not refused cleanly"
    exit 1
fi
echo "all hostile inputs refused cleanly"
