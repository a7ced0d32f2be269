#!/usr/bin/env python3
"""Writes Tests/Fixtures/modelfile/python_written.lvt with the Python writer (lavit_ref/modelfile.py).

The Swift tests load it and check every value against the formulas below, which they restate, and
check that the Swift writer reproduces it byte for byte. Run from the repository root:
    /usr/bin/python3 Tools/make_modelfile_fixture.py
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lavit_ref"))
import modelfile  # noqa: E402  (a plain path import, so torch is not loaded)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "modelfile", "python_written.lvt")

METADATA = '{"format":"lavit-int8","labels":["T-shirt/top","Trouser","Ankle boot"],"note":"Größe 😀",' \
           '"quantization":{"input_scale":0.0078125,"zero_point":-128},"source_sha256":"00ff"}'


def tensors():
    """Element k of each tensor follows a formula the Swift test restates exactly."""
    k = lambda n: np.arange(n, dtype=np.int64)  # noqa: E731
    return [
        ("stages.0.embed.proj.weight", ((k(2 * 3 * 4) * 37) % 256 - 128).astype(np.int8).reshape(2, 3, 4)),
        ("lut.gelu", ((k(256) * 7 + 3) % 256).astype(np.uint8)),
        ("stages.0.embed.proj.bias", (k(5) * 9001 - 20000).astype(np.int16)),
        ("head.bias", (k(3) * -123456789 + 987654321).astype(np.int32)),
        ("head.scale", (k(4).astype(np.float32) * 0.25 - 0.5).reshape(1, 4)),
        ("empty", np.zeros((0, 3), np.int8)),
        ("requant.shift", k(2) * -(2**40) + 2**62),
        ("scalar", np.int32(-7)),
    ]


if __name__ == "__main__":
    modelfile.write(OUT, METADATA.encode("utf-8"), tensors())
    loaded = modelfile.load(OUT)
    for name, array in tensors():
        assert np.array_equal(loaded.tensors[name], array) and loaded.tensors[name].dtype == array.dtype, name
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes, {len(loaded.tensors)} tensors)")
