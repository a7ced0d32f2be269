#!/usr/bin/env bash
# What the LaViT-T benchmarks quantize: LaViT-T (224x224, 1000 classes, 1.5 GMAC) with the
# reference model's seeded training init as DIR/lavit-t.pth (weights do not change the work
# done), and 70 Fashion-MNIST training images (7 per class) in DIR/calibration.
#
#   bash Tools/make_lavit_t_inputs.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out="$1"
/usr/bin/python3 - "$out/lavit-t.pth" <<'PY'
import sys, torch
sys.path.insert(0, "Tools")
from lavit_ref.config import variant
from lavit_ref.model import LavitModel
torch.manual_seed(0)
cfg = variant("lavit-t")
torch.save({"model": LavitModel(cfg).state_dict(), "lavit_config": cfg.to_dict()}, sys.argv[1])
PY
/usr/bin/python3 Tools/fashion_data.py export --split train --per-class --limit 7 --out "$out/calibration" >/dev/null
