#!/usr/bin/python3
"""Train a small LaViT on any labelled image folder, on the CPU: a model for your own camera.

    /usr/bin/python3 Tools/train_folder.py FRAMES --out MODELDIR --name my-model
    /usr/bin/python3 Tools/train_folder.py FRAMES --evaluate MODELDIR/my-model.pth

FRAMES is in ImageFolder layout, `FRAMES/<label>/*.jpg|png`, as `lavit-capture --label` writes
it; the labels are the folder names in sorted order. Train on frames from the camera the model
will see, at the capture size lavitd will ask for (`width`/`height` in lavitd.conf), because the
image is preprocessed here exactly as lavitd does it (Sources/LavitImage/Preprocessor.swift:
centre crop to the model's aspect, area-average resize, integer luma for one channel), written
with numpy matrices instead of the per-pixel reference loop of Tools/make_image_fixtures.py and
checked against it at start.

Held out: the last `--heldout` share of each label's files in sorted order (capture order for
lavit-capture's numbered names), never trained on. Consecutive camera frames are near copies, so
a random split would test on twins of training frames; the tail is the honest split. Its accuracy
is reported per epoch and at the end; `--split-dir DIR` also writes both parts as ImageFolder
trees of symbolic links, DIR/train and DIR/heldout, for `lavit-quantize --calibration DIR/train
--eval DIR/heldout` (so not even the calibration ranges see the held-out frames).

Model: Tools/train_fashion.py's design (two stages, patch 2, `sr_ratios` [2, 1], one VA then one
LA layer per stage, attention residual) at `--size` square input (default 28), 1 or 3
`--channels` (default 3), and `--width-preset`: `small` (embed [16, 64], heads [1, 2]; 9.1 MMAC
at 28x28 RGB, 155 k params: several frames a second in the test VM) or `fashion` (embed [24, 96],
heads [1, 3]; 16.5 MMAC, the default model's). The input is normalised with the training
frames' own per-channel mean and std. Training is train_fashion.py's: AdamW, warmup then
cosine, label smoothing 0.1, the diagonality loss, fixed seeds; `--flip` adds horizontal flips
(off by default: a flip can change what an image means).

Writes to --out: NAME.pth, NAME.safetensors, NAME.json, NAME.labels.txt and NAME.TRAINING.md.
Then: `lavit-quantize NAME.pth --calibration SPLIT/train -o NAME.lvt --labels NAME.labels.txt --eval SPLIT/heldout`.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import time
from pathlib import Path
from typing import List, Tuple

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see train_fashion.py
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lavit_ref import cost  # noqa: E402
from lavit_ref import safetensors_io as st  # noqa: E402
from lavit_ref.config import LavitConfig  # noqa: E402
from lavit_ref.losses import DIAG_LOSS_WEIGHT, diagonality_loss  # noqa: E402
from lavit_ref.model import LavitModel  # noqa: E402
from train_fashion import load_model, lr_at, param_groups, use_patch_convs  # noqa: E402

EXTENSIONS = (".jpg", ".jpeg", ".png")
PRESETS = {
    "small": dict(embed_dims=[16, 64], num_heads=[1, 2]),
    "fashion": dict(embed_dims=[24, 96], num_heads=[1, 3]),
}


def make_config(name: str, size: int, channels: int, classes: int, preset: str, mean, std) -> LavitConfig:
    cfg = LavitConfig(
        name=name,
        image_size=[size, size],
        in_chans=channels,
        num_classes=classes,
        patch_size=2,
        depths=[2, 2],
        num_va=[1, 1],
        sr_ratios=[2, 1],
        mlp_ratios=[2, 4],
        attention_residual=True,
        input_mean=[float(m) for m in mean],
        input_std=[float(s) for s in std],
        **PRESETS[preset],
    )
    cfg.validate()
    return cfg


# The preprocessing of lavitd, vectorised


def axis_matrix(s: int, d: int) -> Tuple[np.ndarray, int]:
    """(weights (d, s) int64, total T): output i = sum_j W[i, j] * src[j] / T (Preprocessor.swift step 2)."""
    from make_image_fixtures import taps

    m = np.zeros((d, s), dtype=np.int64)
    total = 0
    for i in range(d):
        total, pairs = taps(s, d, i)
        for j, w in pairs:
            m[i, j] += w
    return m, total


_MATRICES: dict = {}


def preprocess(rgb: np.ndarray, size: int, channels: int) -> np.ndarray:
    """uint8 (H, W, 3) -> uint8 (size, size, channels), bit for bit what lavitd feeds the model."""
    from make_image_fixtures import crop_rect

    src_h, src_w, _ = rgb.shape
    x0, y0, cw, ch = crop_rect(src_w, src_h, size, size)
    key = (cw, ch, size)
    if key not in _MATRICES:
        _MATRICES[key] = (axis_matrix(ch, size), axis_matrix(cw, size))
    (my, ty), (mx, tx) = _MATRICES[key]
    crop = rgb[y0 : y0 + ch, x0 : x0 + cw].astype(np.int64)
    total = ty * tx
    out = np.einsum("ij,jkc,lk->ilc", my, crop, mx, optimize=True)
    out = (out + total // 2) // total
    if channels == 1:
        out = (77 * out[..., 0] + 150 * out[..., 1] + 29 * out[..., 2] + 128) >> 8
        out = out[..., None]
    return out.astype(np.uint8)


def self_check() -> None:
    """The vectorised preprocessing against the per-pixel reference, on a few odd sizes."""
    from make_image_fixtures import preprocess as reference

    rng = np.random.default_rng(0)
    for (w, h, size, channels) in [(64, 48, 28, 3), (33, 70, 28, 1), (20, 12, 28, 3), (97, 61, 32, 1)]:
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        ref = np.frombuffer(reference(rgb.tobytes(), w, h, size, size, channels), dtype=np.uint8)
        if not np.array_equal(preprocess(rgb, size, channels).reshape(-1), ref):
            raise AssertionError(f"vectorised preprocessing differs from the reference at {w}x{h} -> {size}")


# Data


def list_folder(root: Path) -> Tuple[List[str], List[Tuple[Path, int]]]:
    labels = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(labels) < 2:
        raise SystemExit(f"train_folder: {root}: needs at least two label folders, found {labels}")
    items = []
    for index, label in enumerate(labels):
        files = sorted(p for p in (root / label).iterdir() if p.suffix.lower() in EXTENSIONS)
        if not files:
            raise SystemExit(f"train_folder: {root / label}: no .jpg or .png files")
        items += [(p, index) for p in files]
    return labels, items


def split(items: List[Tuple[Path, int]], classes: int, share: float) -> Tuple[list, list]:
    train, held = [], []
    for c in range(classes):
        files = [it for it in items if it[1] == c]
        n_held = int(round(len(files) * share))
        if share > 0 and n_held == 0 and len(files) > 1:
            n_held = 1
        cut = len(files) - n_held
        train += files[:cut]
        held += files[cut:]
    return train, held


def load_images(items, size: int, channels: int) -> Tuple[torch.Tensor, torch.Tensor]:
    xs = np.empty((len(items), channels, size, size), dtype=np.uint8)
    for k, (path, _) in enumerate(items):
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
        xs[k] = preprocess(rgb, size, channels).transpose(2, 0, 1)
    ys = np.array([label for _, label in items], dtype=np.int64)
    return torch.from_numpy(xs), torch.from_numpy(ys)


def normalize(cfg: LavitConfig, u8: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(cfg.input_mean).view(1, -1, 1, 1)
    std = torch.tensor(cfg.input_std).view(1, -1, 1, 1)
    return (u8.float() / 255.0 - mean) / std


@torch.no_grad()
def predict(model, cfg: LavitConfig, images: torch.Tensor) -> torch.Tensor:
    model.eval()
    out = torch.cat([model(normalize(cfg, images[i : i + 256])).argmax(dim=1) for i in range(0, len(images), 256)])
    model.train()
    return out


def confusion(labels: List[str], truth: torch.Tensor, pred: torch.Tensor) -> str:
    width = max(len(s) for s in labels)
    lines = [" " * width + "  " + " ".join(f"{i:>4}" for i in range(len(labels))) + "   (columns: predicted)"]
    for c, name in enumerate(labels):
        row = [int(((truth == c) & (pred == p)).sum()) for p in range(len(labels))]
        lines.append(f"{name:>{width}}  " + " ".join(f"{v:>4}" for v in row) + f"   {c}")
    return "\n".join(lines)


# Commands


def train(args: argparse.Namespace) -> int:
    self_check()
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    root = Path(args.folder)
    labels, items = list_folder(root)
    train_items, held_items = split(items, len(labels), args.heldout)
    t0 = time.time()
    train_x, train_y = load_images(train_items, args.size, args.channels)
    held_x, held_y = load_images(held_items, args.size, args.channels) if held_items else (None, None)
    load_s = time.time() - t0
    scaled = train_x.float() / 255.0
    mean = scaled.mean(dim=(0, 2, 3)).tolist()
    std = [max(s, 1e-3) for s in scaled.std(dim=(0, 2, 3)).tolist()]
    cfg = make_config(args.name, args.size, args.channels, len(labels), args.width_preset, mean, std)
    totals = cost.totals(cfg)
    print(f"{len(labels)} labels {labels}; {len(train_items)} training and {len(held_items)} held-out frames "
          f"(loaded and preprocessed in {load_s:.1f} s); params {totals['params']:,}, MACs {totals['macs']:,}", flush=True)

    model = LavitModel(cfg)
    use_patch_convs(model)
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr, foreach=True)
    steps_per_epoch = math.ceil(len(train_x) / args.batch_size)
    total = args.epochs * steps_per_epoch
    warmup = min(args.warmup_steps, max(1, total // 10))
    log: List[str] = []
    start, step = time.time(), 0
    held_acc = float("nan")
    for epoch in range(args.epochs):
        order = torch.randperm(len(train_x), generator=gen)
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            x = train_x[idx]
            if args.flip:
                flip = torch.rand(len(idx), generator=gen) < 0.5
                x = x.clone()
                x[flip] = x[flip].flip(-1)
            out = model.forward_all(normalize(cfg, x))
            ce = F.cross_entropy(out.logits, train_y[idx], label_smoothing=0.1)
            loss = ce + DIAG_LOSS_WEIGHT * diagonality_loss(cfg, out)
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, warmup, args.lr)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += ce.item()
            step += 1
        train_acc = (predict(model, cfg, train_x) == train_y).float().mean().item()
        line = f"epoch {epoch + 1}/{args.epochs}  train ce {loss_sum / steps_per_epoch:.4f}  train acc {100 * train_acc:.2f}%"
        if held_x is not None:
            held_acc = (predict(model, cfg, held_x) == held_y).float().mean().item()
            line += f"  held-out acc {100 * held_acc:.2f}%"
        line += f"  elapsed {time.time() - start:.0f}s"
        print(line, flush=True)
        log.append(line)
    wall = time.time() - start

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / args.name
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    torch.save({"model": sd, "lavit_config": cfg.to_dict()}, f"{stem}.pth")
    st.save_file(sd, f"{stem}.safetensors", {"lavit_config": cfg.to_json(), "format": "pt"})
    Path(f"{stem}.json").write_text(cfg.to_json(indent=2) + "\n")
    Path(f"{stem}.labels.txt").write_text("".join(name + "\n" for name in labels))
    matrix = confusion(labels, held_y, predict(model, cfg, held_x)) if held_x is not None else "(nothing held out)"
    if args.split_dir:
        write_links(Path(args.split_dir) / "train", labels, train_items)
        write_links(Path(args.split_dir) / "heldout", labels, held_items)
    write_report(Path(f"{stem}.TRAINING.md"), cfg, args, labels, train_items, held_items, log, wall, held_acc, matrix)
    print(f"saved {stem}.{{pth,safetensors,json,labels.txt,TRAINING.md}}; {wall / 60:.1f} min", flush=True)
    return 0


def write_links(root: Path, labels: List[str], items) -> None:
    for label in labels:
        (root / label).mkdir(parents=True, exist_ok=True)
    for path, c in items:
        link = root / labels[c] / path.name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(path.resolve())


def write_report(path: Path, cfg, args, labels, train_items, held_items, log, wall, held_acc, matrix) -> None:
    totals = cost.totals(cfg)
    command = "/usr/bin/python3 " + " ".join(shlex.quote(a) for a in sys.argv)
    per_label = ", ".join(
        f"{name} {sum(1 for _, c in train_items if c == i)}+{sum(1 for _, c in held_items if c == i)}"
        for i, name in enumerate(labels)
    )
    path.write_text(f"""# Training record of {cfg.name}

Written by `Tools/train_folder.py` at the end of the run below.

| | |
|---|---|
| command | `{command}` (from the repository root) |
| machine | {torch.get_num_threads()} torch threads, torch {torch.__version__} CPU |
| data | `{args.folder}`: {len(labels)} labels, frames per label (train+held-out): {per_label} |
| held out | the last {args.heldout:.0%} of each label's files in sorted (capture) order |
| input | {cfg.image_size[0]}x{cfg.image_size[1]}, {cfg.in_chans} channel(s), lavitd's preprocessing; mean {[round(m, 4) for m in cfg.input_mean]}, std {[round(s, 4) for s in cfg.input_std]} |
| seed | {args.seed} |
| epochs | {args.epochs} (batch {args.batch_size}) |
| optimizer | AdamW lr {args.lr}, weight decay {args.weight_decay}, warmup then cosine to 0 |
| loss | cross-entropy (label smoothing 0.1) + {DIAG_LOSS_WEIGHT} x diagonality loss |
| augmentation | {"horizontal flip (p 0.5)" if args.flip else "none"} |
| wall time | {wall / 60:.1f} min |
| float held-out accuracy | **{100 * held_acc:.2f}%** on {len(held_items)} frames |
| params | {totals['params']:,} |
| MACs per image | {totals['macs']:,} ({totals['macs'] / 1e6:.2f} M) |

Held-out confusion (float model):

```
{matrix}
```

Per epoch:

```
{chr(10).join(log)}
```

Config (`{cfg.name}.json`):

```json
{cfg.to_json(indent=2)}
```
""")


def evaluate(args: argparse.Namespace) -> int:
    model, cfg = load_model(Path(args.evaluate))
    labels, items = list_folder(Path(args.folder))
    x, y = load_images(items, cfg.image_size[0], cfg.in_chans)
    pred = predict(model, cfg, x)
    acc = (pred == y).float().mean().item()
    print(f"{args.evaluate}: {cfg.name}, accuracy {100 * acc:.2f}% on all {len(items)} frames of {args.folder}")
    print(confusion(labels, y, pred))
    return 0


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="ImageFolder tree: FOLDER/<label>/*.jpg|png")
    p.add_argument("--out", default=".", help="where the model files go (default .)")
    p.add_argument("--name", default="lavit-custom", help="model name and file stem")
    p.add_argument("--evaluate", metavar="PTH", help="evaluate a saved .pth or .safetensors on every file of FOLDER and exit")
    p.add_argument("--size", type=int, default=28, help="square input side (a multiple of 4)")
    p.add_argument("--channels", type=int, choices=[1, 3], default=3)
    p.add_argument("--width-preset", choices=sorted(PRESETS), default="small")
    p.add_argument("--heldout", type=float, default=0.2, help="share of each label's files held out (last in order)")
    p.add_argument("--split-dir", help="also write DIR/train and DIR/heldout as ImageFolder trees of links")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--flip", action="store_true", help="random horizontal flips")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.evaluate:
        return evaluate(args)
    if args.size < 4 or args.size % 4:
        p.error("--size must be a multiple of 4")
    if not 0.0 <= args.heldout < 1.0:
        p.error("--heldout must be in [0, 1)")
    if args.epochs < 1 or args.batch_size < 1:
        p.error("--epochs and --batch-size must be >= 1")
    return train(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
