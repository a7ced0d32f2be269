#!/usr/bin/env bash
# lavitd's release benchmark: the frame path outside the engine, and the daemon's steady memory.
#
#   bash Tools/bench_daemon.sh [--skip-lavit-t]
#
# 1. Per-frame time outside the engine (grab + decode + preprocess + publish) for photo-like
#    1280x720 MJPEG frames, through lavit's capture code on the fake V4L2 driver
#    (Tests/LavitDaemonTests/FrameBenchmarkTests.swift), and the peer for its decode +
#    preprocess part, Pillow doing the same (Tools/bench_frame_peer.py).
# 2. Steady resident memory of a release lavitd serving the same photos at 30 fps to a client
#    for 20 s, with the shipped model and (unless --skip-lavit-t) with LaViT-T at 224x224,
#    quantized here from its seeded initial weights (64 calibration images, about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), family $(lscpu | sed -n 's/^CPU family: *//p') model $(lscpu | sed -n 's/^Model: *//p'), $(nproc) cores, $(grep -q avx512_vnni /proc/cpuinfo && echo 'AVX-512 VNNI' || echo 'AVX2 only')"

LAVIT_DAEMON_BENCH=1 swift test -c release --filter FrameBenchmarkTests 2>&1 | grep -E "frame path|KB\)|error"
# The peer, in the same run: the same photos to the same input with Pillow.
/usr/bin/python3 Tools/bench_frame_peer.py Tests/Fixtures/photos/*.jpg

swift build -c release --product lavitd >/dev/null
swift build -c release --product lavit-client >/dev/null
bin="$(swift build -c release --show-bin-path)"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# Resident memory of lavitd on MODEL, sampled each second for SECONDS after a 3 s warm-up.
rss() {
    local model="$1" fps="$2" seconds="$3" socket="$work/rss.sock"
    "$bin/lavitd" --model "$model" --source "Tests/Fixtures/photos/*.jpg" --socket "$socket" --fps "$fps" 2>"$work/lavitd.log" &
    local daemon=$!
    "$bin/lavit-client" --socket "$socket" --follow --json >/dev/null 2>&1 &
    local client=$!
    sleep 3
    local samples=()
    for _ in $(seq "$seconds"); do
        samples+=("$(awk '/VmRSS/ {print $2}' /proc/$daemon/status)")
        sleep 1
    done
    local peak
    peak="$(awk '/VmHWM/ {print $2}' /proc/$daemon/status)"
    local status
    status="$("$bin/lavit-client" --socket "$socket" --status)"
    kill "$client" "$daemon"
    wait "$daemon" 2>/dev/null || true
    printf '  %s: RSS %s..%s KiB over %s s (peak %s KiB); %s\n' "$(basename "$model")" \
        "$(printf '%s\n' "${samples[@]}" | sort -n | head -1)" "$(printf '%s\n' "${samples[@]}" | sort -n | tail -1)" \
        "$seconds" "$peak" "$status"
}

echo "lavitd steady memory, serving 1280x720 JPEG photos to one client:"
rss Tools/models/lavit-fashion.lvt 30 20
if [ "${1:-}" != "--skip-lavit-t" ]; then
    bash Tools/make_lavit_t_inputs.sh "$work"
    swift build -c release --product lavit-quantize >/dev/null
    "$bin/lavit-quantize" "$work/lavit-t.pth" --calibration "$work/calibration" --calibration-images 64 \
        -o "$work/lavit-t.lvt" >/dev/null
    rss "$work/lavit-t.lvt" 5 20
fi
