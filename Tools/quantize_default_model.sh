#!/usr/bin/env bash
# Rebuilds the project's default int8 model from the committed float checkpoint and prints the
# quantizer's report on the full Fashion-MNIST test set (the README's accuracy numbers):
#   bash Tools/quantize_default_model.sh
# Calibration: 100 training images per class (1000), exported from Debian's dataset-fashion-mnist.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 Tools/fashion_data.py export --split train --per-class --limit 100 --out "$work/calibration" >/dev/null
/usr/bin/python3 Tools/fashion_data.py export --split test --out "$work/test" >/dev/null

swift build -c release --product lavit-quantize >/dev/null
.build/release/lavit-quantize Tools/models/lavit-fashion.pth \
    --calibration "$work/calibration" --calibration-images 1000 \
    --eval "$work/test" --labels Tools/models/labels.txt \
    -o Tools/models/lavit-fashion.lvt "$@"
