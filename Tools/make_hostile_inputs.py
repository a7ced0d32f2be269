#!/usr/bin/env python3
"""Builds the hostile inputs of issue 11 from their descriptions, one per numbered case, into a
folder, for Tools/check_hostile_inputs.sh. Pure Python (zipfile, struct, json) plus the model-file
writer of lavit_ref, so it needs no torch: a .pth here is a hand-laid torch zip whose pickle calls
only torch._utils._rebuild_tensor_v2, as torch.save writes it."""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The model-file module alone: the lavit_ref package imports torch, which this script does not need.
_spec = importlib.util.spec_from_file_location("modelfile", ROOT / "Tools/lavit_ref/modelfile.py")
modelfile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(modelfile)


def _pint(v: int) -> bytes:
    """BININT when it fits, else LONG1 with 8 bytes (sizes and strides near 2^63)."""
    if -(1 << 31) <= v < (1 << 31):
        return b"J" + struct.pack("<i", v)
    return b"\x8a\x08" + struct.pack("<q", v)


def _pstr(s: str) -> bytes:
    raw = s.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _ptuple(values) -> bytes:
    return b"(" + b"".join(_pint(v) for v in values) + b"t"


def torch_view(path: Path, numel: int, offset: int, size, stride, name: str = "head.weight") -> None:
    """{name: view} over a float storage 0..numel-1, as torch.save lays it out."""
    tensor = (
        b"ctorch._utils\n_rebuild_tensor_v2\n(("
        + _pstr("storage") + b"ctorch\nFloatStorage\n" + _pstr("0") + _pstr("cpu") + _pint(numel) + b"tQ"
        + _pint(offset) + _ptuple(size) + _ptuple(stride) + b"\x89ccollections\nOrderedDict\n)Rt" + b"R"
    )
    pickle = b"\x80\x02}" + _pstr(name) + tensor + b"s."
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle)
        z.writestr("archive/version", "3\n")
        z.writestr("archive/data/0", struct.pack(f"<{numel}f", *range(numel)))


def safetensors(path: Path, header: dict, data: bytes = b"") -> None:
    raw = json.dumps(header, separators=(",", ":")).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # 1: a size-1 dimension with a stride near 2^63, a non-zero offset, a non-contiguous walk.
    torch_view(out / "case1_stride.pth", 4, 1, [1, 2, 1], [(1 << 63) - 2, 1, (1 << 63) - 2])
    torch_view(out / "case1_stride_inner.pth", 4, 1, [2, 1], [2, (1 << 63) - 2])
    # 2: 2^28 ... 2^62 elements broadcast (stride 0) over a 4-element storage, in a ~600-byte file.
    torch_view(out / "case2_broadcast28.pth", 4, 0, [1 << 28], [0])
    torch_view(out / "case2_broadcast62.pth", 4, 0, [1 << 31, 1 << 31], [0, 0])
    # 3: the shipped model with extreme logit scales.
    model = modelfile.load(str(ROOT / "Tools/models/lavit-fashion.lvt"))
    for tag, scale in [("1e308", 1e308), ("0", 0.0), ("negative", -1.0)]:
        meta = dict(model.metadata, logit_scale=scale)
        raw = modelfile.serialize(json.dumps(meta).encode(), list(model.tensors.items()))
        (out / f"case3_logit_{tag}.lvt").write_bytes(raw)
    # 4: a checkpoint whose config asks for 2 channels and one with 65536-pixel sides.
    golden = (ROOT / "Tests/Fixtures/golden/multi/model.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", golden[:8])
    header = json.loads(golden[8 : 8 + n])
    for tag, edit in [("chans2", {"in_chans": 2, "input_mean": [0, 0], "input_std": [1, 1]}),
                      ("side65536", {"image_size": [65536, 65536]})]:
        h = json.loads(json.dumps(header))
        config = json.loads(h["__metadata__"]["lavit_config"])
        config.update(edit)
        h["__metadata__"]["lavit_config"] = json.dumps(config)
        safetensors(out / f"case4_{tag}.safetensors", h, golden[8 + n :])
    # 5: a FIFO, and a calibration folder whose only image is a *.png symlink to it.
    fifo = out / "case5.fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    calibration = out / "case5_calibration"
    calibration.mkdir(exist_ok=True)
    link = calibration / "a.png"
    if not link.is_symlink():
        link.symlink_to(fifo)
    # 6: a safetensors header listing 800k empty tensors.
    safetensors(out / "case6_header.safetensors",
                {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(800_000)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
