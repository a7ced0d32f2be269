#!/usr/bin/python3
"""Checks lavitd's published labels against the Python integer reference, which shares no code
with lavitd: every `result` line (NDJSON, as `lavit-client --json` prints it) that names its
source `file` must carry, as its top label, the argmax of `Tools/lavit_ref/int8_ref.py` on the
same file. Fashion-MNIST PNGs are 28x28 grayscale, which lavit's preprocessing maps to the model
input unchanged (luma of grey is grey), so the reference reads the pixels straight from the PNG.

    /usr/bin/python3 Tools/check_daemon_labels.py MODEL.lvt RESULTS.ndjson [--min N]

Exit 0 when at least N results (default 1) were checked and all agree.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_data import decode_png  # noqa: E402
from lavit_ref import int8_ref, modelfile  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("results")
    parser.add_argument("--min", type=int, default=1, help="fail unless at least this many results are checked")
    args = parser.parse_args()

    model = modelfile.load(args.model)
    labels = model.metadata["labels"]
    cache = {}
    checked = disagreements = 0
    with open(args.results, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            message = json.loads(line)
            if message.get("class") != "result" or "file" not in message:
                continue
            path = message["file"]
            if path not in cache:
                with open(path, "rb") as image:
                    pixels = decode_png(image.read())
                logits = int8_ref.run(model, pixels.reshape(pixels.shape[0], pixels.shape[1], 1)).logits
                cache[path] = labels[int(np.argmax(logits))]
            published = message["top"][0]["label"]
            checked += 1
            if published != cache[path]:
                disagreements += 1
                print(f"line {number}: {path}: lavitd says {published!r}, the reference {cache[path]!r}")
    print(f"check_daemon_labels: {checked} results checked against the Python integer reference "
          f"({len(cache)} distinct files), {disagreements} disagreements")
    return 0 if disagreements == 0 and checked >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
