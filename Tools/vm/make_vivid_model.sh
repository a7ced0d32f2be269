#!/usr/bin/env bash
# The vivid-pattern model of the VM end-to-end test, made the way a user makes a model for their
# own camera (Tools/vm/README.md): frames captured per class with lavit-capture (here from vivid
# inside the test VM), Tools/train_folder.py, lavit-quantize with calibration on the training
# frames and evaluation on the held-out ones. Writes Tools/models/vivid-patterns.{lvt,pth,json,
# labels.txt,TRAINING.md}; CI uses the committed files and never runs this.
#
#   bash Tools/vm/make_vivid_model.sh [PER_ROUND]     (about 4 minutes here; frames in .build/vivid-frames)
set -euo pipefail
cd "$(dirname "$0")/../.."
per_round="${1:-10}"
frames=.build/vivid-frames
work=.build/vivid-model

rm -rf "$frames" "$work"
bash Tools/vm/run.sh --capture "$frames" "$per_round"
nice /usr/bin/python3 Tools/train_folder.py "$frames" --out "$work" --name vivid-patterns --epochs 30 \
    --split-dir "$work/split"
swift build -c release --product lavit-quantize >/dev/null
"$(swift build -c release --show-bin-path)/lavit-quantize" "$work/vivid-patterns.pth" \
    --calibration "$work/split/train" --eval "$work/split/heldout" \
    --labels "$work/vivid-patterns.labels.txt" -o "$work/vivid-patterns.lvt" 2>&1 \
    | grep -v -E '^(calibrating|evaluating):' | tee "$work/quantize.txt"
{
    echo
    echo "## Quantized"
    echo
    echo "\`lavit-quantize vivid-patterns.pth --calibration SPLIT/train --eval SPLIT/heldout\` (Tools/vm/make_vivid_model.sh):"
    echo
    echo '```'
    grep -E '^(checkpoint|calibration|wrote|evaluation)|agreement|accuracy' "$work/quantize.txt"
    echo '```'
} >>"$work/vivid-patterns.TRAINING.md"
for f in lvt pth json labels.txt TRAINING.md; do cp "$work/vivid-patterns.$f" Tools/models/; done
echo "vivid model: Tools/models/vivid-patterns.{lvt,pth,json,labels.txt,TRAINING.md}"
