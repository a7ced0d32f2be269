#!/usr/bin/python3
"""The peer for lavitd's frame path: what a Python user of TFLite or ONNX Runtime writes to turn
a 1280x720 camera JPEG into a 28x28 luma input with Pillow (libjpeg-turbo underneath, DCT-scaled
decoding through `draft`, box-filter resize), timed the way Tests/LavitDaemonTests/
FrameBenchmarkTests.swift times lavit's decode + preprocess: 20 warm-up frames, then the median
and p90 of 300, one thread.

    /usr/bin/python3 Tools/bench_frame_peer.py PHOTO.jpg [...]
"""
import io
import sys
import time

from PIL import Image

SIDE = 28


def prepare(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data))
    # The smallest DCT scale whose frame still covers a centred SIDE x SIDE crop, as lavit picks.
    image.draft("RGB", (SIDE * image.width // image.height + 1, SIDE))
    image = image.convert("RGB")
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((SIDE, SIDE), Image.BOX).convert("L").tobytes()


def main() -> None:
    print("peer: Pillow (draft + box resize + luma), 28x28, 300 frames each:")
    for path in sys.argv[1:]:
        data = open(path, "rb").read()
        for _ in range(20):
            prepare(data)
        times = []
        for _ in range(300):
            start = time.perf_counter_ns()
            prepare(data)
            times.append((time.perf_counter_ns() - start) / 1e6)
        times.sort()
        print(f"  {path.rsplit('/', 1)[-1]} ({len(data) // 1000} KB): median {times[150]:.2f} ms, p90 {times[270]:.2f} ms")


if __name__ == "__main__":
    main()
