"""Reader and writer of the lavit int8 model file, version 1 (the format is Tools/MODELFILE.md).

The reader accepts exactly the files the Swift reader (Sources/LavitModelFile) accepts (its
messages are terser), so the Python integer reference trusts nothing it did not check. The writer lays files out as
ModelFileWriter does: the same metadata bytes and tensors give the same file, byte for byte.
Standard library and numpy only, and no package-relative imports: it also runs as a plain script
path (`sys.path.insert(0, "Tools/lavit_ref"); import modelfile`) without importing torch.
"""

from __future__ import annotations

import json
import math
import os
import struct
import zlib
from typing import Dict, List, NamedTuple, Sequence, Tuple

import numpy as np

MAGIC, VERSION, ALIGN, MAX_NAME, MAX_RANK, MAX_DEPTH = b"LAVITQ8\0", 1, 64, 255, 8, 64
# magic, version, flags, file_size, metadata_offset, metadata_size, table_offset, tensor_count,
# checksum, data_offset: exactly 64 bytes.
HEADER = struct.Struct("<8sIIQQQQIIQ")
DTYPES = {0: "<i1", 1: "<u1", 2: "<i2", 3: "<i4", 4: "<f4", 5: "<i8"}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}
MIN_RECORD = 2 + 1 + 1 + 1 + 8 + 8


class ModelFile(NamedTuple):
    metadata: dict
    metadata_json: bytes
    tensors: Dict[str, np.ndarray]  # read-only views into the file, in table order


def checksum(raw) -> int:
    """CRC-32 of the whole file with the checksum field (bytes 52..56) read as zeros."""
    view = memoryview(raw)
    return zlib.crc32(view[56:], zlib.crc32(b"\0\0\0\0", zlib.crc32(view[:52])))


def check_metadata(text: bytes) -> dict:
    """UTF-8 text of one JSON object, nested at most MAX_DEPTH deep, no NaN or Infinity."""
    def reject(word):
        raise ValueError(f"{word} is not JSON")
    def integer(digits):  # int() refuses over 4300 digits, which JSON and the Swift reader allow
        return int(digits) if len(digits) <= 4300 else float(digits)
    try:
        obj = json.loads(text.decode("utf-8"), parse_constant=reject, parse_int=integer)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ValueError(f"metadata is not a JSON object: {e}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"metadata is not a JSON object: top level is {type(obj).__name__}")
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"metadata is not a JSON object: nested deeper than {MAX_DEPTH}")
        children = value.values() if isinstance(value, dict) else value
        stack += [(c, depth + 1) for c in children if isinstance(c, (dict, list))]
    return obj


def parse(raw: bytes, source: str = "<memory>") -> ModelFile:
    def fail(message):
        raise ValueError(f"{source}: {message}")
    if len(raw) < HEADER.size:
        fail(f"file is {len(raw)} bytes, shorter than the 64-byte header")
    magic, version, flags, size, meta_off, meta_size, table_off, count, crc, data_off = HEADER.unpack_from(raw)
    if magic != MAGIC:
        fail(f"bad magic {magic.hex(' ')}")
    if version != VERSION:
        fail(f"version {version} is not supported (this reader reads {VERSION})")
    if flags != 0:
        fail(f"unknown flags {flags:#x}")
    if size != len(raw):
        fail(f"file_size field says {size} bytes but the file has {len(raw)}")
    if crc != checksum(raw):
        fail(f"checksum mismatch: header says {crc:#010x}, contents give {checksum(raw):#010x}")
    if data_off % ALIGN or not HEADER.size <= data_off <= size:
        fail(f"data_offset {data_off} is misaligned or outside [64, {size}]")
    if meta_off < HEADER.size or meta_off + meta_size > data_off:
        fail(f"metadata [{meta_off}, {meta_off + meta_size}) is outside [64, data_offset {data_off})")
    try:
        metadata = check_metadata(bytes(raw[meta_off:meta_off + meta_size]))
    except ValueError as e:
        fail(e)
    if not HEADER.size <= table_off <= size or count * MIN_RECORD > size - table_off:
        fail(f"table_offset {table_off} with tensor_count {count} does not fit the file ({size} bytes)")

    def take(n, what):
        nonlocal pos
        if pos + n > size:
            fail(f"tensor #{i}: {what} at byte {pos} runs past the end of the file ({size} bytes)")
        pos += n
        return raw[pos - n:pos]

    pos, entries, data_size = table_off, {}, size - data_off
    for i in range(count):
        (name_len,) = struct.unpack("<H", take(2, "name_len"))
        if not 1 <= name_len <= MAX_NAME:
            fail(f"tensor #{i}: name_len {name_len} is outside 1...{MAX_NAME}")
        try:
            name = bytes(take(name_len, "name")).decode("utf-8")
        except UnicodeDecodeError:
            fail(f"tensor #{i}: name is not valid UTF-8")
        if name in entries:
            fail(f"tensor #{i}: name '{name}' is already used")
        code, rank = take(2, "dtype")
        if code not in DTYPES or rank > MAX_RANK:
            fail(f"tensor '{name}': unknown dtype code {code} or rank {rank} above {MAX_RANK}")
        dims = struct.unpack(f"<{rank}Q", take(8 * rank, "dims"))
        offset, byte_count = struct.unpack("<QQ", take(16, "offset"))
        expected = math.prod(dims) * np.dtype(DTYPES[code]).itemsize
        if max(dims, default=0) > 2**63 - 1 or expected > 2**63 - 1 or byte_count != expected:
            fail(f"tensor '{name}': byte_count {byte_count} does not match shape {list(dims)} ({expected} bytes)")
        if offset % ALIGN or offset + byte_count > data_size:
            fail(f"tensor '{name}' offset {offset} + {byte_count} bytes is misaligned or runs past "
                 f"the data section ({data_size} bytes)")
        entries[name] = (DTYPES[code], dims, offset, byte_count)
    if pos > data_off or (table_off < meta_off + meta_size and meta_off < pos):
        fail(f"tensor table [{table_off}, {pos}) overlaps the metadata or the data section")
    spans = sorted((o, o + n, name) for name, (_, _, o, n) in entries.items() if n)
    for (_, end_a, a), (start_b, _, b) in zip(spans, spans[1:]):
        if start_b < end_a:
            fail(f"tensor '{a}' overlaps tensor '{b}'")
    used = sorted([(0, HEADER.size), (meta_off, meta_off + meta_size), (table_off, pos)]
                  + [(data_off + o, data_off + e) for o, e, _ in spans] + [(size, size)])
    end = 0
    for start, stop in used:
        if any(raw[end:max(end, start)]):
            fail(f"nonzero padding in file bytes [{end}, {start})")
        end = max(end, stop)
    tensors = {name: np.frombuffer(raw, dtype, math.prod(dims), data_off + off).reshape(dims)
               for name, (dtype, dims, off, n) in entries.items()}
    return ModelFile(metadata, bytes(raw[meta_off:meta_off + meta_size]), tensors)


def load(path: str) -> ModelFile:
    with open(path, "rb") as f:
        return parse(f.read(), path)


def serialize(metadata_json: bytes, tensors: Sequence[Tuple[str, np.ndarray]]) -> bytes:
    """Header, metadata, table, then each tensor 64-aligned in the order given."""
    check_metadata(metadata_json)
    table, data, names = b"", b"", set()
    for name, array in tensors:
        raw_name, array = name.encode("utf-8"), np.asarray(array)
        code = CODES.get(array.dtype.newbyteorder("<"))
        if not 1 <= len(raw_name) <= MAX_NAME or name in names or code is None or array.ndim > MAX_RANK:
            raise ValueError(f"tensor '{name}': bad name, duplicate, dtype {array.dtype} or rank {array.ndim}")
        names.add(name)
        data += b"\0" * (-len(data) % ALIGN)
        blob = array.astype(DTYPES[code]).tobytes()
        table += struct.pack(f"<H{len(raw_name)}sBB{array.ndim}QQQ", len(raw_name), raw_name, code, array.ndim,
                             *array.shape, len(data), len(blob))
        data += blob
    table_off = HEADER.size + len(metadata_json)
    data_off = table_off + len(table) + (-(table_off + len(table)) % ALIGN)
    size = data_off + len(data)
    header = HEADER.pack(MAGIC, VERSION, 0, size, HEADER.size, len(metadata_json), table_off, len(names), 0, data_off)
    raw = bytearray(header + metadata_json + table + b"\0" * (data_off - table_off - len(table)) + data)
    struct.pack_into("<I", raw, 52, checksum(raw))
    return bytes(raw)


def write(path: str, metadata_json: bytes, tensors: Sequence[Tuple[str, np.ndarray]]) -> None:
    """Writes through a temporary file and a rename, as the Swift writer does."""
    raw, tmp = serialize(metadata_json, tensors), f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(raw)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


__all__: List[str] = ["ModelFile", "checksum", "check_metadata", "parse", "load", "serialize", "write"]
