#!/usr/bin/python3
"""Photo-like 1280x720 camera frames for tests and benchmarks: real photographs from the
scikit-image wheel (PyPI; only its data files are used, nothing is imported), cropped to 16:9,
resized, given the mild sensor noise a webcam adds (Gaussian, sigma 4 codes, seeded, so the
files are reproducible), and written as baseline JPEG at quality 85 with 4:2:2 chroma, as UVC webcams send MJPEG.

    /usr/bin/python3 Tools/make_photo_frames.py [OUT_DIR]   (default Tests/Fixtures/photos)

The outputs are committed, so tests and CI never need the network; rerun this only to change them.
"""
import io
import pathlib
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
from PIL import Image

PHOTOS = ["astronaut.png", "coffee.png", "chelsea.png", "motorcycle_left.png"]
SIZE = (1280, 720)


def wheel_files():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "scikit-image==0.26.0", "-d", tmp],
            check=True)
        wheel = next(pathlib.Path(tmp).glob("scikit_image-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            return {name: z.read(f"skimage/data/{name}") for name in PHOTOS}


def frame(png_bytes, seed):
    image = Image.open(io.BytesIO(png_bytes)).convert("RGB")
    w, h = image.size
    target = SIZE[0] / SIZE[1]
    if w / h > target:
        cw, ch = round(h * target), h
    else:
        cw, ch = w, round(w / target)
    left, top = (w - cw) // 2, (h - ch) // 2
    resized = np.asarray(image.crop((left, top, left + cw, top + ch)).resize(SIZE, Image.LANCZOS), dtype=np.float64)
    noise = np.random.default_rng(seed).normal(0.0, 4.0, resized.shape)
    return Image.fromarray(np.clip(np.rint(resized + noise), 0, 255).astype(np.uint8))


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "Tests/Fixtures/photos")
    out.mkdir(parents=True, exist_ok=True)
    for seed, (name, data) in enumerate(wheel_files().items()):
        path = out / (pathlib.Path(name).stem + "_1280x720_q85.jpg")
        frame(data, seed).save(path, "JPEG", quality=85, subsampling=1, optimize=False)
        print(f"{path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
