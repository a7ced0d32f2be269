"""Reading lavit's torch .pth checkpoints safely under Debian's torch 1.13, for the tools that
load them (make_golden.py, train_fashion.py)."""

from __future__ import annotations

import pickle
import pickletools
import zipfile
from pathlib import Path
from typing import Dict, List

import torch


def pickle_globals(path: Path) -> List[str]:
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        data = z.read(name)
    found = []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("GLOBAL", "INST"):
            found.append(str(arg).replace("\n", " "))
    return found


ALLOWED_GLOBALS = {
    "collections OrderedDict", "torch._utils _rebuild_tensor_v2",
    "torch FloatStorage", "torch HalfStorage", "torch BFloat16Storage",
}


def load_checked(path: Path):
    """torch.load after checking the pickle names only allowed globals.

    Stands in for weights_only=True, which torch 1.13 cannot use here: its restricted unpickler
    lacks the BINFLOAT opcode that the floats of "lavit_config" need (torch >= 2.0 has it).
    """
    bad = set(pickle_globals(path)) - ALLOWED_GLOBALS
    if bad:
        raise pickle.UnpicklingError(f"{path.name}: forbidden global(s) {sorted(bad)}")
    return torch.load(str(path), map_location="cpu")


def unwrap(obj) -> Dict[str, torch.Tensor]:
    sd = obj["model"] if "model" in obj else obj["state_dict"]
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in sd.items()}
