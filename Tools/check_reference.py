#!/usr/bin/python3
"""Check the golden fixtures against a second, independent implementation of MODEL.md.

The reference here is plain numpy with explicit loops, written from MODEL.md's text without
reusing lavit_ref.model, so a misreading in model.py shows up as a mismatch. It also checks the
batch path of model.py, the loss, the safetensors byte layout and the strides kept in
model.views.pth. Run after make_golden.py; exits non-zero on the first failure.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lavit_ref import losses  # noqa: E402
from lavit_ref import safetensors_io as st  # noqa: E402
from lavit_ref.config import LavitConfig  # noqa: E402
from lavit_ref.model import LavitModel  # noqa: E402

GOLDEN = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "golden"


def conv(img, w, b, stride, groups=1):
    """img (Cin, H, W), w (Cout, Cin/groups, k, k); no padding, floor output size."""
    cin, h, wd = img.shape
    cout, cpg, k, _ = w.shape
    ho, wo = (h - k) // stride + 1, (wd - k) // stride + 1
    out = np.zeros((cout, ho, wo))
    opg = cout // groups
    for o in range(cout):
        g = o // opg
        for y in range(ho):
            for x in range(wo):
                patch = img[g * cpg : (g + 1) * cpg, y * stride : y * stride + k, x * stride : x * stride + k]
                out[o, y, x] = (patch * w[o]).sum() + b[o]
    return out


def layernorm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def softmax(a):
    e = np.exp(a - a.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def reference(cfg: LavitConfig, p, img):
    """Batch-1 forward pass of MODEL.md; returns logits, stage activations, stored scores."""
    eps = cfg.ln_eps
    stages, scores_all = [], []
    prev_scores = None
    x_img = img
    for m in range(cfg.num_stages):
        c, h, r = cfg.embed_dims[m], cfg.num_heads[m], cfg.sr_ratios[m]
        d = c // h
        hm, wm = cfg.stage_grids()[m]
        k = cfg.patch_size if m == 0 else 2
        s = f"stages.{m}"
        t = conv(x_img, p[f"{s}.embed.proj.weight"], p[f"{s}.embed.proj.bias"], k)
        assert t.shape[1:] == (hm, wm)
        x = t.reshape(c, -1).T
        x = layernorm(x, p[f"{s}.embed.norm.weight"], p[f"{s}.embed.norm.bias"], eps) + p[f"{s}.pos_embed"][0]
        residual = None
        if m > 0 and cfg.attention_residual:
            hp = cfg.num_heads[m - 1]
            hq, wq = cfg.stage_grids()[m - 1]
            nk = prev_scores.shape[2]
            residual = np.zeros((h, hm * wm, nk))
            for key in range(nk):
                im = prev_scores[:, :, key].reshape(hp, hq, wq)
                y = conv(im, p[f"{s}.attn_residual.dw.weight"], p[f"{s}.attn_residual.dw.bias"], 2, groups=hp)
                y = conv(y, p[f"{s}.attn_residual.pw.weight"], p[f"{s}.attn_residual.pw.bias"], 1)
                y = y * p[f"{s}.attn_residual.gamma"][:, None, None]
                residual[:, :, key] = y.reshape(h, -1)
        stored = []
        for i in range(cfg.depths[m]):
            b = f"{s}.blocks.{i}"
            u = layernorm(x, p[f"{b}.norm1.weight"], p[f"{b}.norm1.bias"], eps)
            if r > 1:
                ur = conv(u.T.reshape(c, hm, wm), p[f"{b}.attn.sr.weight"], p[f"{b}.attn.sr.bias"], r)
                ur = layernorm(ur.reshape(c, -1).T, p[f"{b}.attn.norm.weight"], p[f"{b}.attn.norm.bias"], eps)
            else:
                ur = u
            nq, nk = u.shape[0], ur.shape[0]
            a = np.zeros((h, nq, nk))
            if i < cfg.num_va[m]:
                q = u @ p[f"{b}.attn.q.weight"].T + p[f"{b}.attn.q.bias"]
                kv = ur @ p[f"{b}.attn.kv.weight"].T + p[f"{b}.attn.kv.bias"]
                kk, v = kv[:, :c], kv[:, c:]
                for head in range(h):
                    sl = slice(head * d, (head + 1) * d)
                    a[head] = q[:, sl] @ kk[:, sl].T / math.sqrt(d)
                if i == 0 and residual is not None:
                    a = a + residual
            else:
                v = ur @ p[f"{b}.attn.v.weight"].T + p[f"{b}.attn.v.bias"]
                for head in range(h):
                    t_ = stored[-1][head] @ p[f"{b}.attn.theta.weight"].T + p[f"{b}.attn.theta.bias"]
                    a[head] = (t_.T @ p[f"{b}.attn.psi.weight"].T).T
            stored.append(a)
            z = np.zeros((nq, c))
            for head in range(h):
                sl = slice(head * d, (head + 1) * d)
                z[:, sl] = softmax(a[head]) @ v[:, sl]
            x = x + z @ p[f"{b}.attn.proj.weight"].T + p[f"{b}.attn.proj.bias"]
            y = layernorm(x, p[f"{b}.norm2.weight"], p[f"{b}.norm2.bias"], eps)
            y = gelu(y @ p[f"{b}.mlp.fc1.weight"].T + p[f"{b}.mlp.fc1.bias"])
            x = x + y @ p[f"{b}.mlp.fc2.weight"].T + p[f"{b}.mlp.fc2.bias"]
        stages.append(x)
        scores_all.append(stored)
        prev_scores = stored[-1]
        x_img = x.T.reshape(c, hm, wm)
    pooled = layernorm(stages[-1], p["norm.weight"], p["norm.bias"], eps).mean(0)
    logits = pooled @ p["head.weight"].T + p["head.bias"]
    return logits, stages, scores_all


def close(name, got, want, tol=2e-6):
    err = np.abs(got - want).max() / max(1.0, np.abs(want).max())
    if err > tol:
        raise SystemExit(f"FAIL {name}: relative error {err:.3g} > {tol}")
    return err


def check_config(d: Path) -> None:
    cfg = LavitConfig.from_json((d / "config.json").read_text())
    sd, _ = st.load_file(str(d / "model.safetensors"))
    golden, _ = st.load_file(str(d / "golden.safetensors"))
    p = {k: v.double().numpy() for k, v in sd.items()}
    logits, stages, scores = reference(cfg, p, golden["input"].double().numpy())
    worst = close(f"{d.name} logits", logits, golden["logits"].double().numpy())
    for m, s in enumerate(stages):
        worst = max(worst, close(f"{d.name} stage{m}", s, golden[f"stage{m}"].double().numpy()))
        for i, a in enumerate(scores[m]):
            worst = max(worst, close(f"{d.name} scores.{m}.{i}", a, golden[f"scores.{m}.{i}"].double().numpy()))
    names = {"input", "logits"} | {f"stage{m}" for m in range(cfg.num_stages)}
    names |= {f"scores.{m}.{i}" for m in range(cfg.num_stages) for i in range(cfg.depths[m])}
    assert set(golden) == names, sorted(set(golden) ^ names)
    print(f"ok {d.name}: numpy reference matches golden (max relative error {worst:.2g})")

    # Batch path: two different inputs at once give what each gives alone.
    model = LavitModel(cfg).double()
    model.load_state_dict({k: v.double() for k, v in sd.items()})
    x = golden["input"].double()
    batch = torch.stack([x, -0.5 * x])
    with torch.no_grad():
        both = model.forward_all(batch)
        one = model.forward_all(x)
        other = model.forward_all(-0.5 * x)
    assert torch.allclose(both.logits[0], one.logits[0], atol=1e-12), d.name
    assert torch.allclose(both.logits[1], other.logits[0], atol=1e-12), d.name
    for m in range(cfg.num_stages):
        assert torch.allclose(both.scores[m][-1][1], other.scores[m][-1][0], atol=1e-12), d.name
    loss = losses.diagonality_loss(cfg, one)
    assert torch.isfinite(loss) and (loss > 0 or not any(
        not cfg.is_va(m, i) for m in range(cfg.num_stages) for i in range(cfg.depths[m]))), d.name
    print(f"ok {d.name}: batch of 2 matches single inputs; diagonality loss {loss.item():.4f}")


def check_safetensors_layout(path: Path) -> None:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0, "header not padded to 8 bytes"
    header = json.loads(raw[8 : 8 + n])
    spans = sorted(tuple(v["data_offsets"]) for k, v in header.items() if k != "__metadata__")
    assert spans[0][0] == 0 and spans[-1][1] == len(raw) - 8 - n, "data section not fully covered"
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), "gaps or overlaps between tensors"
    print(f"ok {path.name}: header {n} bytes, {len(spans)} tensors tile the data section")


def check_views(path: Path) -> None:
    sd = torch.load(str(path))["model"]
    strides = {k: (v.stride(), v.storage_offset()) for k, v in sd.items() if not v.is_contiguous() or v.storage_offset()}
    assert len(strides) >= 5, strides
    print(f"ok {path.name}: {len(strides)} tensors with non-standard strides or offsets: {strides}")


def check_loss_known_values() -> None:
    """The loss on hand-made maps: zero for a symmetric diagonal map, positive for an anti-diagonal one."""
    cfg = LavitConfig(name="loss", image_size=[4, 4], num_classes=2, patch_size=2, embed_dims=[4], depths=[1],
                      num_heads=[1], num_va=[1], sr_ratios=[1], mlp_ratios=[1])
    eye = torch.eye(4).view(1, 1, 4, 4) * 20
    assert losses.layer_loss(cfg, 0, eye).item() < 1e-6
    anti = torch.eye(4).flip(1).view(1, 1, 4, 4) * 20
    assert abs(losses.layer_loss(cfg, 0, anti).item() - (1 / 3)) < 1e-6
    sr = LavitConfig(name="loss", image_size=[10, 10], num_classes=2, patch_size=2, embed_dims=[4], depths=[1],
                     num_heads=[1], num_va=[1], sr_ratios=[2], mlp_ratios=[1])
    assert losses.diagonal_keys(sr, 0).tolist()[:5] == [0, 0, 1, 1, 1], "5x5 grid, r 2: x 4 -> key column 1"
    print("ok diagonality loss on hand-made maps")


def main() -> None:
    for d in sorted(GOLDEN.iterdir()):
        check_config(d)
        for f in sorted(d.glob("*.safetensors")):
            check_safetensors_layout(f)
    check_views(GOLDEN / "multi" / "model.views.pth")
    check_loss_known_values()


if __name__ == "__main__":
    main()
