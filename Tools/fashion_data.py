"""Fashion-MNIST as Debian's dataset-fashion-mnist installs it: idx.gz loading and PNG export.

The export writes an ImageFolder tree, `DIR/<index>_<class name>/<sample index>.png`, of 8-bit
grayscale PNGs, so the Swift quantizer can calibrate on it and evaluate from it while reading the
labels from the folder names. PNG is written by hand (zlib + struct) since no imaging package is
installed; `--check` decodes every file again and compares the pixels.

    /usr/bin/python3 Tools/fashion_data.py export --split test --out /tmp/fashion-test
    /usr/bin/python3 Tools/fashion_data.py export --split train --out /tmp/calib --limit 50 --per-class
"""

from __future__ import annotations

import argparse
import gzip
import os
import struct
import sys
import zlib
from typing import List, Tuple

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"

CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

_PREFIX = {"train": "train", "test": "t10k"}
_IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
_LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension
_SIZE = {"train": 60000, "test": 10000}


class DataError(Exception):
    """A dataset file that is missing or does not have the idx layout it should."""


def _read_idx(path: str, magic: int, dims: int) -> Tuple[np.ndarray, List[int]]:
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: not found (install Debian's dataset-fashion-mnist)") from None
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot decompress ({e})") from None
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataError(f"{path}: {len(raw)} bytes, shorter than the {header}-byte idx header")
    (found,) = struct.unpack(">I", raw[:4])
    if found != magic:
        raise DataError(f"{path}: magic 0x{found:08x}, expected 0x{magic:08x}")
    shape = list(struct.unpack(f">{dims}I", raw[4:header]))
    count = int(np.prod(shape))
    if len(raw) - header != count:
        raise DataError(f"{path}: {len(raw) - header} data bytes, shape {shape} needs {count}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape), shape


def load(split: str, data_dir: str = DATA_DIR) -> Tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 28, 28), labels int64 (N,)) of split "train" or "test"."""
    if split not in _PREFIX:
        raise DataError(f"unknown split '{split}', expected train or test")
    base = os.path.join(data_dir, _PREFIX[split])
    images, ishape = _read_idx(f"{base}-images-idx3-ubyte.gz", _IMAGES_MAGIC, 3)
    labels, lshape = _read_idx(f"{base}-labels-idx1-ubyte.gz", _LABELS_MAGIC, 1)
    if ishape != [_SIZE[split], 28, 28]:
        raise DataError(f"{base}-images-idx3-ubyte.gz: shape {ishape}, expected [{_SIZE[split]}, 28, 28]")
    if lshape != [_SIZE[split]]:
        raise DataError(f"{base}-labels-idx1-ubyte.gz: {lshape[0]} labels, expected {_SIZE[split]}")
    if labels.max() >= len(CLASSES):
        raise DataError(f"{base}-labels-idx1-ubyte.gz: label {labels.max()} out of range 0..{len(CLASSES) - 1}")
    return images, labels.astype(np.int64)


def folder_name(label: int) -> str:
    """ImageFolder directory of a class: `<index>_<name>` with '/' and spaces replaced by '_'."""
    return f"{label}_" + CLASSES[label].replace("/", "_").replace(" ", "_")


# PNG (8-bit grayscale, no interlace, filter 0 on every row)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(image: np.ndarray) -> bytes:
    if image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError(f"encode_png needs a 2-D uint8 array, got {image.dtype} {image.shape}")
    h, w = image.shape
    rows = b"".join(b"\x00" + image[y].tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # depth 8, colour type 0 (gray)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")


def decode_png(data: bytes) -> np.ndarray:
    """Decoder for exactly what encode_png writes (filter 0 only); it checks every CRC."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG signature")
    pos, idat, size = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"bad CRC in chunk {kind!r}")
        if kind == b"IHDR":
            w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if (depth, colour, interlace) != (8, 0, 0):
                raise ValueError(f"unsupported PNG depth {depth} colour {colour} interlace {interlace}")
            size = (h, w)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    if size is None:
        raise ValueError("PNG has no IHDR")
    h, w = size
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, w + 1)
    if rows[:, 0].any():
        raise ValueError("PNG uses a row filter other than 0")
    return rows[:, 1:].copy()


def select(labels: np.ndarray, limit: int | None, per_class: bool) -> np.ndarray:
    """Indices to export: all, the first `limit`, or the first `limit` of every class."""
    if limit is None:
        return np.arange(len(labels))
    if not per_class:
        return np.arange(min(limit, len(labels)))
    picked = [np.flatnonzero(labels == c)[:limit] for c in range(len(CLASSES))]
    return np.sort(np.concatenate(picked))


def export(split: str, out: str, limit: int | None, per_class: bool, check: bool) -> int:
    images, labels = load(split)
    indices = select(labels, limit, per_class)
    for c in range(len(CLASSES)):
        os.makedirs(os.path.join(out, folder_name(c)), exist_ok=True)
    for i in indices:
        path = os.path.join(out, folder_name(int(labels[i])), f"{i}.png")
        data = encode_png(images[i])
        with open(path, "wb") as f:
            f.write(data)
        if check:
            with open(path, "rb") as f:
                if not np.array_equal(decode_png(f.read()), images[i]):
                    raise DataError(f"{path}: decoded pixels differ from the dataset")
    return len(indices)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write an ImageFolder tree of 8-bit grayscale PNGs")
    ex.add_argument("--split", choices=sorted(_PREFIX), required=True)
    ex.add_argument("--out", required=True, help="output directory (created)")
    ex.add_argument("--limit", type=int, help="export only the first N images (of every class with --per-class)")
    ex.add_argument("--per-class", action="store_true", help="apply --limit per class (balanced calibration set)")
    ex.add_argument("--check", action="store_true", help="decode every PNG written and compare it with the dataset")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be >= 1")
    if args.per_class and args.limit is None:
        parser.error("--per-class needs --limit")
    try:
        n = export(args.split, args.out, args.limit, args.per_class, args.check)
    except (DataError, OSError) as e:
        print(f"fashion_data: {e}", file=sys.stderr)
        return 1
    print(f"wrote {n} PNGs of the {args.split} split to {args.out}" + (" (all decoded and checked)" if args.check else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
