#!/usr/bin/env bash
# lavit against ONNX Runtime in the same run (issue 10): latency median and p90 of lavit int8 (1
# and 2 threads), lavit float, and ORT fp32 and int8 (U8S8, S8S8, dynamic) on the same models,
# interleaved round by round after waiting for a quiet machine; allocations per inference; peak
# RSS of each from separate processes; a Markdown table on stdout (and in FILE with --out).
#
#   bash Tools/bench_engine.sh [--rounds N] [--skip-lavit-t] [--out FILE.md] [--no-build]
#
# Models: LaViT-T at 224 (seeded init, quantized here by lavit-quantize on the 70 images of
# make_lavit_t_inputs.sh; 30 rounds by default) and the shipped Fashion-MNIST model (its committed
# .lvt, calibrated on 100 training images per class as quantize_default_model.sh does; 100 rounds).
# ORT calibrates on the same images. Everything generated is cached under .build-bench/, keyed
# by what it is made from; the first run takes a few minutes more. --no-build uses the binaries
# already in .build/release.
set -euo pipefail
start_dir="$PWD"
cd "$(dirname "$0")/.."

command="bash Tools/bench_engine.sh${*:+ $*}"
rounds=""
lavit_t=1
build=1
out=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds="${2:?--rounds needs a number}"; shift 2 ;;
        --skip-lavit-t) lavit_t=0; shift ;;
        --out) case "${2:?--out needs a file}" in /*) out=(--out "$2") ;; *) out=(--out "$start_dir/$2") ;; esac; shift 2 ;;
        --no-build) build=0; shift ;;
        *) echo "usage: bash Tools/bench_engine.sh [--rounds N] [--skip-lavit-t] [--out FILE.md] [--no-build]" >&2; exit 2 ;;
    esac
done

cache=.build-bench
mkdir -p "$cache"

# ONNX Runtime in a virtual environment over Debian's python3, whose torch exports the models.
venv="$cache/venv"
if ! "$venv/bin/python" -c "import onnxruntime, onnx" 2>/dev/null; then
    echo "installing onnxruntime into $venv" >&2
    rm -rf "$venv"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
    # Debian's torch is built against Debian's numpy; pip would otherwise bring numpy 2.
    /usr/bin/python3 -c 'import numpy; print(f"numpy=={numpy.__version__}")' >"$cache/constraints.txt"
    "$venv/bin/pip" install --quiet --constraint "$cache/constraints.txt" onnxruntime onnx
fi

if [ "$build" = 1 ]; then
    swift build -c release --product lavit-bench >/dev/null
    [ "$lavit_t" = 0 ] || swift build -c release --product lavit-quantize >/dev/null
fi

# Short hash of the files named, for cache keys.
key() { cat "$@" | sha256sum | cut -c1-12; }

# The shipped model's calibration set, as Tools/quantize_default_model.sh makes it.
fashion_calibration="$cache/fashion-calibration-$(key Tools/fashion_data.py)"
if [ ! -d "$fashion_calibration" ]; then
    rm -rf "$fashion_calibration.partial"
    /usr/bin/python3 Tools/fashion_data.py export --split train --per-class --limit 100 \
        --out "$fashion_calibration.partial" >/dev/null
    mv "$fashion_calibration.partial" "$fashion_calibration"
fi

models=()
if [ "$lavit_t" = 1 ]; then
    inputs="$cache/lavit-t-$(key Tools/make_lavit_t_inputs.sh Tools/fashion_data.py Tools/lavit_ref/*.py)"
    if [ ! -d "$inputs" ]; then
        rm -rf "$inputs.partial"
        mkdir -p "$inputs.partial"
        bash Tools/make_lavit_t_inputs.sh "$inputs.partial"
        mv "$inputs.partial" "$inputs"
    fi
    # Keyed by the quantizer binary too: a rebuilt engine may write a different model.
    lvt="$inputs/lavit-t-$(key .build/release/lavit-quantize).lvt"
    if [ ! -f "$lvt" ]; then
        echo "quantizing LaViT-T with lavit-quantize (about a minute)" >&2
        rm -f "$inputs"/*.lvt
        images=$(find "$inputs/calibration" -name '*.png' | wc -l)
        .build/release/lavit-quantize "$inputs/lavit-t.pth" --calibration "$inputs/calibration" \
            --calibration-images "$images" -o "$inputs/partial.lvt" >"$inputs/quantize.log" 2>&1 \
            || { cat "$inputs/quantize.log" >&2; exit 1; }
        mv "$inputs/partial.lvt" "$lvt"
    fi
    models+=(--model "LaViT-T" "$inputs/lavit-t.pth" "$lvt" "$inputs/calibration" "${rounds:-30}" 3)
fi
models+=(--model "shipped Fashion-MNIST model" Tools/models/lavit-fashion.pth Tools/models/lavit-fashion.lvt
    "$fashion_calibration" "${rounds:-100}" 20)

exec "$venv/bin/python" Tools/bench_engine.py --lavit-bench .build/release/lavit-bench --cache "$cache" \
    --command "$command" "${out[@]}" "${models[@]}"
