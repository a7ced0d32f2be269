"""Builds Tests/Fixtures/images/: small JPEG and PNG files of known content for LavitImageTests.

    /usr/bin/python3 Tools/make_image_fixtures.py      # output is byte-for-byte reproducible

PNGs are written by hand (zlib + struct, every filter type, Adam7 for one) so each colour type and
bit depth is covered; their expected 8-bit RGB is computed here from the source samples, not by
decoding, so the Swift test checks libpng against an independent answer. JPEGs are written with
PIL; each has the source pixels (`.src.rgb`, for a closeness check) and PIL's decode (`.ref.rgb`).
Debian's PIL decodes with the same libjpeg-turbo (accurate integer IDCT, fancy upsampling) that
TurboJPEG wraps, so `.ref.rgb` is what djpeg would write: lavit's decode must equal it exactly.

`preprocess()` is a second implementation of LavitImage's `Preprocessor`, written from its doc
comment (centre crop, area average or bilinear with exact integer weights, round half up, luma);
`pre_*.raw` are its outputs and the Swift test requires bit-for-bit equality.

`manifest.tsv` lists every file with what the test needs to know (tab-separated):
    png   FILE  WIDTH HEIGHT EXPECTED_RGB
    jpeg  FILE  WIDTH HEIGHT SOURCE_RGB REFERENCE_RGB
    bad   FILE  CAUSE            (CAUSE: a phrase the one-line error must contain)
    pre   SOURCE_RGB WIDTH HEIGHT OUT_HEIGHT OUT_WIDTH OUT_CHANNELS OUTPUT
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import warnings
import zlib

from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "images")
FASHION = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


# ---- source content -------------------------------------------------------------------------

def pattern(w: int, h: int, seed: int) -> list[tuple[int, int, int]]:
    """Smooth gradients with a flat rectangle and a soft disc: varied, yet kind to JPEG."""
    pixels = []
    for y in range(h):
        for x in range(w):
            r = x * 200 // max(w - 1, 1) + 5 * seed
            g = (y * 255) // max(h - 1, 1)
            b = int(128 + 100 * math.sin((x + 2 * y + seed) / 6.0))
            if w // 4 <= x < w // 2 and h // 4 <= y < h // 2:
                r, g, b = 200, 40 + seed, 90
            if (x - 2 * w // 3) ** 2 + (y - h // 2) ** 2 < (min(w, h) // 5) ** 2:
                r, g, b = 30, 220, 250 - seed
            pixels.append((r, g, min(max(b, 0), 255)))
    return pixels


def rgb_bytes(pixels) -> bytes:
    return bytes(c for p in pixels for c in p)


# ---- PNG writer -----------------------------------------------------------------------------

def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows: list[bytes], bpp: int, first_filter: int) -> bytes:
    """Filters each row with type (first_filter + row index) % 5, so every type is exercised."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for i, row in enumerate(rows):
        ft = (first_filter + i) % 5
        out.append(ft)
        for x, v in enumerate(row):
            a = row[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ft]
            out.append((v - pred) & 0xFF)
        prev = row
    return bytes(out)


def pack_row(samples: list[int], depth: int) -> bytes:
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    per_byte = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per_byte):
        group = samples[i:i + per_byte]
        byte = 0
        for j, s in enumerate(group):
            byte |= s << (8 - depth * (j + 1))
        out.append(byte)
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path: str, w: int, h: int, color_type: int, depth: int, samples: list[list[int]],
              palette: list[tuple[int, int, int]] | None = None, trns: bytes | None = None,
              interlaced: bool = False) -> None:
    """samples: one list of per-pixel sample tuples (flattened) per row."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    bpp = max(1, channels * depth // 8)
    if interlaced:
        data = bytearray()
        for n, (x0, y0, dx, dy) in enumerate(ADAM7):
            xs = list(range(x0, w, dx))
            ys = list(range(y0, h, dy))
            if not xs or not ys:
                continue
            rows = [pack_row([s for x in xs for s in samples[y][x * channels:(x + 1) * channels]], depth)
                    for y in ys]
            data += filter_rows(rows, bpp, n)
    else:
        data = filter_rows([pack_row(row, depth) for row in samples], bpp, 0)
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlaced else 0))
    if palette is not None:
        png += chunk(b"PLTE", bytes(c for p in palette for c in p))
    if trns is not None:
        png += chunk(b"tRNS", trns)
    png += chunk(b"tEXt", b"Comment\x00lavit test fixture")
    compressed = zlib.compress(bytes(data), 9)
    half = len(compressed) // 2
    png += chunk(b"IDAT", compressed[:half]) + chunk(b"IDAT", compressed[half:])
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


# ---- the preprocessing reference --------------------------------------------------------------

def crop_rect(src_w: int, src_h: int, w: int, h: int) -> tuple[int, int, int, int]:
    if src_w * h > src_h * w:
        ch, cw = src_h, max(1, src_h * w // h)
    else:
        cw, ch = src_w, max(1, src_w * h // w)
    return (src_w - cw) // 2, (src_h - ch) // 2, cw, ch


def taps(s: int, d: int, i: int) -> tuple[int, list[tuple[int, int]]]:
    """(total, [(source index, weight)]) for output index i of an axis from s to d samples."""
    if s >= d:
        lo, hi = i * s, (i + 1) * s
        return s, [(j, min(hi, (j + 1) * d) - max(lo, j * d)) for j in range(lo // d, (hi - 1) // d + 1)]
    n = (2 * i + 1) * s - d
    if n <= 0:
        return 2 * d, [(0, 2 * d)]
    j, f = divmod(n, 2 * d)
    return 2 * d, [(j, 2 * d - f), (min(j + 1, s - 1), f)]


def preprocess(rgb: bytes, src_w: int, src_h: int, h: int, w: int, channels: int) -> bytes:
    x0, y0, cw, ch = crop_rect(src_w, src_h, w, h)
    out = bytearray()
    for oy in range(h):
        ty, ys = taps(ch, h, oy)
        for ox in range(w):
            tx, xs = taps(cw, w, ox)
            total = tx * ty
            px = []
            for c in range(3):
                acc = 0
                for jy, wy in ys:
                    for jx, wx in xs:
                        acc += wy * wx * rgb[((y0 + jy) * src_w + x0 + jx) * 3 + c]
                px.append((acc + total // 2) // total)
            if channels == 1:
                out.append((77 * px[0] + 150 * px[1] + 29 * px[2] + 128) >> 8)
            else:
                out += bytes(px)
    return bytes(out)


# ---- the fixtures ----------------------------------------------------------------------------

def fashion_first_test_image() -> list[int]:
    with gzip.open(FASHION, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803 and (rows, cols) == (28, 28), "unexpected Fashion-MNIST header"
        return list(f.read(28 * 28))


def main() -> None:
    warnings.filterwarnings("ignore", "Palette images with Transparency")
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    manifest: list[str] = []

    def save(name: str, data: bytes) -> None:
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)

    def add_png(name, w, h, color_type, depth, samples, expected_rgb, **kw):
        write_png(os.path.join(OUT, name), w, h, color_type, depth, samples, **kw)
        raw = name.replace(".png", ".rgb")
        save(raw, expected_rgb)
        decoded = Image.open(os.path.join(OUT, name))
        decoded.load()
        if depth in (1, 8):  # PIL's own decode agrees (it narrows 16-bit and 4-bit differently)
            assert decoded.convert("RGB").tobytes() == expected_rgb, name
        manifest.append(f"png\t{name}\t{w}\t{h}\t{raw}")

    def grid(w, h, fn):
        return [[s for x in range(w) for s in fn(x, y)] for y in range(h)]

    # Gray at 1, 4, 8 and 16 bits: expected = value scaled to 0...255, replicated into R, G, B.
    for depth, (w, h) in [(1, (13, 7)), (4, (11, 9)), (8, (29, 17)), (16, (23, 11))]:
        top = (1 << depth) - 1
        fn = lambda x, y, top=top: ((x * 7 + y * 13 + x * y) * 2654435761 % (top + 1),)
        samples = grid(w, h, fn)
        expected = bytes(round(v * 255 / top) for row in samples for v in row for _ in range(3))
        add_png(f"png_gray{depth}_{w}x{h}.png", w, h, 0, depth, samples, expected)

    # Gray + alpha, RGB (plain and Adam7), RGBA, 16-bit RGB and RGBA: alpha is dropped.
    pat = pattern(37, 23, 1)
    samples = grid(37, 23, lambda x, y: pat[y * 37 + x])
    add_png("png_rgb8_37x23.png", 37, 23, 2, 8, samples, rgb_bytes(pat))
    pat_i = pattern(33, 21, 2)
    add_png("png_rgb8_adam7_33x21.png", 33, 21, 2, 8, grid(33, 21, lambda x, y: pat_i[y * 33 + x]),
            rgb_bytes(pat_i), interlaced=True)
    add_png("png_graya8_15x10.png", 15, 10, 4, 8, grid(15, 10, lambda x, y: (x * 17, y * 25)),
            bytes(x * 17 for y in range(10) for x in range(15) for _ in range(3)))
    pat_a = pattern(21, 14, 3)
    add_png("png_rgba8_21x14.png", 21, 14, 6, 8,
            grid(21, 14, lambda x, y: pat_a[y * 21 + x] + ((x * 12 + y) % 256,)), rgb_bytes(pat_a))
    wide16 = lambda x, y: tuple((x * 3917 + y * 7919 + c * 12345) * 40503 % 65536 for c in range(3))
    samples16 = grid(17, 12, wide16)
    add_png("png_rgb16_17x12.png", 17, 12, 2, 16, samples16,
            bytes(round(v / 257) for row in samples16 for v in row))
    samples16a = grid(9, 8, lambda x, y: wide16(x, y) + (x * 7000,))
    add_png("png_rgba16_9x8.png", 9, 8, 6, 16, samples16a,
            bytes(round(v / 257) for row in samples16a for i, v in enumerate(row) if i % 4 != 3))

    # Palettes at 8 and 4 bits, with tRNS (ignored).
    palette = [((i * 37) % 256, (i * 91) % 256, (255 - i * 13) % 256) for i in range(16)]
    for depth, (w, h) in [(8, (19, 13)), (4, (10, 6))]:
        idx = grid(w, h, lambda x, y: ((x + 3 * y) % 16,))
        expected = bytes(c for row in idx for i in row for c in palette[i])
        add_png(f"png_palette{depth}_{w}x{h}.png", w, h, 3, depth, idx, expected,
                palette=palette, trns=bytes([0, 128, 255]))

    # A real Fashion-MNIST image: a 28x28 model must see exactly these pixels.
    fashion = fashion_first_test_image()
    add_png("fashion_28x28.png", 28, 28, 0, 8, [fashion[y * 28:(y + 1) * 28] for y in range(28)],
            bytes(v for v in fashion for _ in range(3)))

    # JPEGs.
    def add_jpeg(name, w, h, seed, mode, **kw):
        pat = pattern(w, h, seed)
        src = Image.frombytes("RGB", (w, h), rgb_bytes(pat))
        if mode == "L":
            src = src.convert("L")
        elif mode == "CMYK":
            src = src.convert("CMYK")
        buf = io.BytesIO()
        src.save(buf, "JPEG", quality=92, **kw)
        data = buf.getvalue()
        return finish_jpeg(name, w, h, data, src.convert("RGB").tobytes())

    def finish_jpeg(name, w, h, data, source_rgb):
        save(name, data)
        ref = Image.open(io.BytesIO(data)).convert("RGB")
        assert ref.size == (w, h)
        base = name.replace(".jpg", "")
        save(base + ".src.rgb", source_rgb)
        save(base + ".ref.rgb", ref.tobytes())
        manifest.append(f"jpeg\t{name}\t{w}\t{h}\t{base}.src.rgb\t{base}.ref.rgb")
        return data

    baseline = add_jpeg("jpeg_420_37x29.jpg", 37, 29, 4, "RGB", subsampling=2)
    add_jpeg("jpeg_444_33x21.jpg", 33, 21, 5, "RGB", subsampling=0)
    add_jpeg("jpeg_422_30x20.jpg", 30, 20, 6, "RGB", subsampling=1)
    add_jpeg("jpeg_progressive_41x27.jpg", 41, 27, 7, "RGB", subsampling=2, progressive=True)
    add_jpeg("jpeg_gray_31x19.jpg", 31, 19, 8, "L")
    add_jpeg("jpeg_cmyk_24x16.jpg", 24, 16, 9, "CMYK")

    # MJPEG as UVC cameras send it: 4:2:2, no Huffman tables (the decoder supplies the standard
    # ones, which PIL's non-optimised encoder used).
    mj = Image.frombytes("RGB", (32, 24), rgb_bytes(pattern(32, 24, 10)))
    buf = io.BytesIO()
    mj.save(buf, "JPEG", quality=85, subsampling=1)
    with_dht = buf.getvalue()
    stripped = strip_segments(with_dht, 0xC4)
    assert stripped != with_dht
    assert Image.open(io.BytesIO(stripped)).convert("RGB").tobytes() == \
        Image.open(io.BytesIO(with_dht)).convert("RGB").tobytes()
    finish_jpeg("mjpeg_no_dht_32x24.jpg", 32, 24, stripped, mj.tobytes())

    # Bad files.
    def add_bad(name, data, cause):
        save(name, data)
        manifest.append(f"bad\t{name}\t{cause}")

    add_bad("empty.jpg", b"", "empty file")
    add_bad("truncated.jpg", baseline[: len(baseline) * 3 // 5], "truncated JPEG (no end-of-image marker)")
    add_bad("corrupt_entropy.jpg", corrupt_entropy(baseline), "Corrupt JPEG data")
    add_bad("scan_cut.jpg", cut_scan(baseline), "Corrupt JPEG data")
    add_bad("huge_dims.jpg", patch_sof(baseline, 60000, 50000), "too large (50000x60000")
    gif = io.BytesIO()
    Image.new("P", (4, 4)).save(gif, "GIF")
    add_bad("not_an_image.gif", gif.getvalue(), "not a JPEG or PNG (starts with 47 49 46 38: GIF)")
    add_bad("short.bin", b"\xff\xd8", "not a JPEG or PNG (starts with FF D8)")
    with open(os.path.join(OUT, "png_rgb8_37x23.png"), "rb") as f:
        good_png = f.read()
    add_bad("bad_crc.png", bad_idat_crc(good_png), "CRC error")
    add_bad("truncated.png", good_png[: len(good_png) * 2 // 3], "file ends inside a chunk")
    add_bad("huge_dims.png", huge_png(70000, 3), "too large (70000x3")

    # Preprocessing outputs of the reference above.
    for src, w, h in [("png_rgb8_37x23.rgb", 37, 23), ("jpeg_progressive_41x27.ref.rgb", 41, 27)]:
        with open(os.path.join(OUT, src), "rb") as f:
            rgb = f.read()
        for oh, ow, oc in [(16, 16, 3), (16, 16, 1), (7, 10, 3), (20, 9, 3), (40, 50, 3), (30, 30, 1),
                           (23, 20, 3), (9, 40, 3), (22, 36, 3)]:
            out = f"pre_{src.split('.')[0]}_{oh}x{ow}x{oc}.raw"
            save(out, preprocess(rgb, w, h, oh, ow, oc))
            manifest.append(f"pre\t{src}\t{w}\t{h}\t{oh}\t{ow}\t{oc}\t{out}")

    save("manifest.tsv", ("\n".join(manifest) + "\n").encode())
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {os.path.normpath(OUT)}")


# ---- JPEG surgery ----------------------------------------------------------------------------

def segments(data: bytes):
    """(marker, start, end) of each marker segment up to and including SOS; then the scan."""
    pos = 2
    while pos < len(data):
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        yield marker, pos, pos + 2 + length
        if marker == 0xDA:
            return
        pos += 2 + length


def strip_segments(data: bytes, marker: int) -> bytes:
    out = bytearray(data[:2])
    last = 2
    for m, start, end in segments(data):
        if m != marker:
            out += data[start:end]
        last = end
    return bytes(out + data[last:])


def scan_start(data: bytes) -> int:
    return [end for m, _, end in segments(data) if m == 0xDA][0]


def corrupt_entropy(data: bytes) -> bytes:
    """32 one-bits (four stuffed FF 00) in the middle of the scan: no Huffman code is all ones."""
    start = scan_start(data)
    mid = (start + len(data) - 2) // 2
    return data[:mid] + b"\xff\x00" * 4 + data[mid + 8:]


def cut_scan(data: bytes) -> bytes:
    """The second half of the scan removed, EOI kept: passes the EOI check, fails in the decoder."""
    start = scan_start(data)
    mid = (start + len(data) - 2) // 2
    return data[:mid] + b"\xff\xd9"


def patch_sof(data: bytes, height: int, width: int) -> bytes:
    for m, start, _ in segments(data):
        if m in (0xC0, 0xC1, 0xC2):
            return data[:start + 5] + struct.pack(">HH", height, width) + data[start + 9:]
    raise ValueError("no SOF")


def bad_idat_crc(png: bytes) -> bytes:
    pos = png.index(b"IDAT") - 4
    length = struct.unpack(">I", png[pos:pos + 4])[0]
    crc_at = pos + 8 + length
    return png[:crc_at] + bytes([png[crc_at] ^ 0x55]) + png[crc_at + 1:]


def huge_png(w: int, h: int) -> bytes:
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    main()
