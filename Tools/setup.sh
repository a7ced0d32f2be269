#!/usr/bin/env bash
# Installs what lavit's build, tests and tools need on Debian 12. Idempotent and quick when
# everything is already there, so CI can run it on every clean clone. With arguments it installs
# those packages instead, the same way (Tools/vm/setup.sh does).
set -euo pipefail

packages=(
    pkg-config
    libv4l-dev            # V4L2 capture through libv4l2
    libturbojpeg0-dev     # JPEG decode through the TurboJPEG API (no longjmp across Swift)
    libpng-dev            # PNG calibration and test images
    python3-torch         # the PyTorch reference model, training and golden vectors (Tools/)
    libopenblas0-pthread  # without it Debian's torch falls back to the reference BLAS (20x slower)
    python3-numpy
    python3-pil           # Tools/make_image_fixtures.py: writes the JPEG fixtures, decodes references
    dataset-fashion-mnist # the real labelled data the default model is trained on
    socat                 # tests read lavitd's socket as a user would
    gcc-aarch64-linux-gnu # with libc6-dev-arm64-cross: clang cross-compiles the AArch64 kernels
    libc6-dev-arm64-cross #   (Tests/AArch64Harness) against Debian's arm64 libc
    qemu-user             # qemu-aarch64 runs them, with and without the dot-product extension
)

[ $# -eq 0 ] || packages=("$@")

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

command -v swift >/dev/null || { echo "setup: swift 6.x is not on PATH (https://www.swift.org/install/linux/)" >&2; exit 1; }
echo "setup: ok"
