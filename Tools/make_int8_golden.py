#!/usr/bin/python3
"""Regenerate Tests/Fixtures/int8/ (deterministic; see Tools/README.md): int8 model files with
random but realistic integer parameters, and the integer reference's outputs for them.

The models stand on their own, independent of any float checkpoint: int8 weights drawn at
random, and every multiplier, shift, bias, zero point, table and layernorm constant chosen layer
by layer from the layer's actual input on the golden image (lavit_ref/int8_ref.py's graph with a
`prepare` hook), so that every activation spreads over the int8 range (about 30 codes of standard
deviation) instead of clipping. Each layer is asserted to saturate under 5% of its outputs and
to take more than 20 distinct values. Floats appear only here, in choosing parameters; the
goldens come from int8_ref.run on the model file as written.

    /usr/bin/python3 Tools/make_int8_golden.py
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "lavit_ref"))
import int8_ref as ref  # noqa: E402  (plain path imports: torch is not loaded)
import modelfile  # noqa: E402
from config import LavitConfig  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "Tests" / "Fixtures" / "golden"
OUT = ROOT / "Tests" / "Fixtures" / "int8"
SEEDS = {"multi": 101, "rect": 102, "plain": 103}
TARGET_STD, HEAD_TARGET_STD = 30.0, 4000.0
MAX_SATURATED, MIN_DISTINCT = 0.05, 20


def require(cond: bool, message: str) -> None:
    """An assert that `python -O` keeps."""
    if not cond:
        raise RuntimeError(message)


def natural_image(rng: np.random.RandomState, h: int, w: int, c: int) -> np.ndarray:
    """Smooth gradients, a few blobs and sensor noise: image-like, not uniform noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.empty((h, w, c))
    for ch in range(c):
        fy, fx, phase = rng.uniform(0.5, 2.0), rng.uniform(0.5, 2.0), rng.uniform(0, 2 * math.pi)
        v = 120 + 50 * np.sin(2 * math.pi * (fx * xx / w + fy * yy / h) + phase)
        for _ in range(3):
            cy, cx, r, amp = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(2, max(h, w) / 3), rng.uniform(-80, 80)
            v += amp * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        img[:, :, ch] = v + rng.normal(0, 10, (h, w))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def extreme_image(natural: np.ndarray) -> np.ndarray:
    """Columns: a third all 0, a third a 0/255 checkerboard, a third all 255; the bottom quarter
    of rows keeps the natural image, so saturated and ordinary tokens meet in one input."""
    h, w, _ = natural.shape
    yy, xx = np.mgrid[0:h, 0:w]
    v = np.where(xx < w // 3, 0, np.where(xx < 2 * w // 3, ((yy + xx) % 2) * 255, 255)).astype(np.uint8)
    img = np.repeat(v[:, :, None], natural.shape[2], axis=2)
    img[h - h // 4:] = natural[h - h // 4:]
    return img


class Calibrator(ref.Graph):
    """int8_ref's graph whose `prepare` invents each layer's parameters from the layer's input.

    Each activation gets a plausible real scale `s` (reports only, and for the formulas QUANT.md
    builds from scales: layernorm's E, the GELU and exp tables, add2's multipliers), tracked by
    the identity of the array that holds it.
    """

    def __init__(self, cfg: LavitConfig, rng: np.random.RandomState):
        super().__init__(cfg, {})
        self.rng, self.spec = rng, {n: (dt, shape) for n, dt, shape, _ in ref.required_tensors(cfg)}
        self.symmetric = set(ref.symmetric_outputs(cfg))
        self.scales: Dict[str, List[float]] = {"input": [1.0, -128]}
        self.quant: Dict[int, Tuple[float, int]] = {}
        self.keep: List[np.ndarray] = []  # keeps registered arrays alive, so ids stay unique
        self.pending: Tuple[float, int] = (1.0, 0)
        self.logit_scale = 1.0
        self.stats: List[Tuple[str, float, int, int]] = []

    # scale bookkeeping

    def register(self, name: str, y: np.ndarray, s: float, z: int) -> None:
        self.quant[id(y)] = (s, z)
        self.keep.append(y)
        self.scales[name] = [float(f"{s:.8g}"), int(z)]

    def qp(self, x: np.ndarray) -> Tuple[float, int]:
        a = x
        while a is not None:
            if id(a) in self.quant:
                return self.quant[id(a)]
            a = a.base
        raise KeyError("activation without a recorded scale")

    def done(self, name, y):
        y = super().done(name, y)
        if name == "head":
            return y
        if name.endswith(".softmax"):
            self.scales[name] = [2.0**-15, 0]
        else:
            self.check(name, y)
            self.register(name, y, *self.pending)
        return y

    def check(self, name: str, y: np.ndarray) -> None:
        saturated = float(np.mean((y == -128) | (y == 127)))
        distinct = len(np.unique(y))
        self.stats.append((name, saturated, distinct, y.size))
        need = min(MIN_DISTINCT, y.size // 3)
        require(saturated < MAX_SATURATED, f"{name}: {saturated:.1%} of outputs saturate")
        require(distinct > need, f"{name}: only {distinct} distinct values in {y.size}")

    # parameters

    def weights(self, o: int, k: int, identity: bool = False) -> np.ndarray:
        """Per output channel symmetric: rows scaled so that max |w| = 127, as a quantizer does."""
        w = self.rng.standard_normal((o, k))
        if identity:  # Theta and Psi: the identity plus noise, as trained ones start
            w = 0.2 * w + np.eye(o, k)
        w = w / np.abs(w).max(axis=1, keepdims=True) * 127
        return np.round(w).astype(np.int8)

    def jitter(self, n: int) -> np.ndarray:
        return np.exp(self.rng.uniform(-0.2, 0.2, n))

    def multipliers(self, r: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        ms = [ref.quantize_multiplier(float(x)) for x in r]
        return np.array([m for m, _ in ms], np.int32), np.array([n for _, n in ms], np.int32)

    def zero_point(self, name: str) -> int:
        return 0 if name in self.symmetric else int(self.rng.randint(-20, 21))

    def real_std(self, name: str) -> float:
        """Plausible real standard deviation of a gemm's output, which fixes its scale."""
        if name.endswith((".q", ".kv")):
            return self.rng.uniform(1.0, 2.0)  # scores q.k come out with a std of about 1 to 4
        if name.endswith((".theta", ".psi")):
            return self.rng.uniform(1.5, 4.0)
        if name.endswith(".pw"):
            return self.rng.uniform(0.2, 0.8)
        return self.rng.uniform(0.5, 1.5)

    def prepare(self, kind, name, *inputs):
        getattr(self, "make_" + kind)(name, *inputs)

    def make_gemm(self, name, x, head=False):
        o, k = self.spec[name + ".w"][1]
        w = self.weights(o, k, identity=name.endswith((".theta", ".psi")))
        acc0 = np.asarray(x, np.int64) @ w.T.astype(np.int64)
        rows, std = acc0.shape[0], max(float(acc0.std()), 1.0)
        if name.endswith(".psi"):  # QUANT.md: Psi's bias is only the fused -z_T * rowsum term
            b = -int(self.t[name[: -len("psi")] + "theta.p"][0]) * w.astype(np.int64).sum(axis=1)
        else:
            # the head keeps a plain random bias: centring its one row would erase the logits
            mean = np.zeros(o) if head else acc0.mean(axis=0) if rows >= 16 else np.full(o, acc0.mean())
            b = -np.round(mean) + np.round(self.rng.normal(0, 0.25 * std, o))
        b = b.astype(np.int64)
        acc = acc0 + b
        square = acc.astype(np.float64) ** 2
        rms = np.sqrt(square.mean(axis=0)) if rows >= 16 else np.full(o, math.sqrt(square.mean()))
        r = (HEAD_TARGET_STD if head else TARGET_STD) / np.maximum(rms, 1.0) * self.jitter(o)
        z = 0 if head else self.zero_point(name)
        for _ in range(20):
            m, s = self.multipliers(r)
            if head:
                y = ref.gemm32(x, w, b, m, s)
                break
            y = ref.gemm(x, w, b, m, s, z)
            if np.mean((y == -128) | (y == 127)) <= 0.02:
                break
            r = r * 0.85
        self.t.update({name + ".w": w, name + ".b": b.astype(np.int32), name + ".m": m, name + ".s": s})
        if head:
            self.logit_scale = float(f"{self.rng.uniform(2.0, 4.0) / max(float(y.std()), 1.0):.8g}")
            return
        self.t[name + ".p"] = np.array([z], np.int64)
        s_out = self.real_std(name) / max(float(y.std()), 1.0)
        if name.endswith(".kv"):  # k and v: each its own scale (per-channel m and s allow it)
            c = o // 2
            for part, cols in (("k", slice(0, c)), ("v", slice(c, o))):
                self.scales[f"{name}.{part}"] = [float(f"{self.real_std(name) / max(float(y[:, cols].std()), 1.0):.8g}"), 0]
        self.pending = (s_out, z)

    def make_gemm32(self, name, x):
        self.make_gemm(name, x, head=True)

    def make_layernorm(self, name, x):
        s_in, z_in = self.qp(x)
        c = self.spec[name + ".g"][1][0]
        gamma, beta = self.rng.uniform(0.7, 1.3, c), self.rng.uniform(-0.3, 0.3, c)
        z_out = int(self.rng.randint(-20, 21))
        s_out = math.sqrt(float(np.mean(gamma**2 + beta**2))) / TARGET_STD * self.rng.uniform(0.9, 1.1)
        for _ in range(20):
            g, bb, p = ref.layernorm_params(gamma, beta, s_in, z_in, s_out, z_out, self.cfg.ln_eps)
            y = ref.layernorm(x, g, bb, p)
            if np.mean((y == -128) | (y == 127)) <= 0.02:
                break
            s_out *= 1.15
        self.t.update({name + ".g": g, name + ".bb": bb, name + ".p": p})
        self.pending = (s_out, z_out)

    def make_add2(self, name, a, b):
        (s_a, z_a), (s_b, z_b) = self.qp(a), self.qp(b)
        real = s_a * (np.asarray(a, np.float64) - z_a) + s_b * (np.asarray(b, np.float64) - z_b)
        z_out = 0 if name.endswith(".ar_add") else int(self.rng.randint(-20, 21))
        s_out = math.sqrt(float(np.mean(real**2))) / TARGET_STD * self.rng.uniform(0.9, 1.1)
        for _ in range(20):
            (m_a, m_b), n = ref.shared_shift([s_a / s_out, s_b / s_out])
            p = np.array([z_a, z_b, z_out, m_a, m_b, n], np.int64)
            if np.mean(np.isin(ref.add2(a, b, p), (-128, 127))) <= 0.02:
                break
            s_out *= 1.15
        self.t[name + ".p"] = p
        self.pending = (s_out, z_out)

    def _requant_scalar(self, acc: np.ndarray, out) -> Tuple[int, int]:
        """(M, n) putting acc at TARGET_STD codes, backed off while over 2% saturate."""
        r = TARGET_STD / max(math.sqrt(float((acc.astype(np.float64) ** 2).mean())), 1.0) * float(self.jitter(1)[0])
        for _ in range(20):
            m, n = ref.quantize_multiplier(r)
            if np.mean(np.isin(out(m, n), (-128, 127))) <= 0.02:
                break
            r *= 0.85
        return m, n

    def make_qk(self, name, q, k):
        block, heads = name[: -len(".attn.qk")], self.cfg.num_heads[int(name.split(".")[1])]
        d = q.shape[1] // heads
        q64, k64 = q.astype(np.int64), k.astype(np.int64)
        acc = np.stack([q64[:, h * d:(h + 1) * d] @ k64[:, h * d:(h + 1) * d].T for h in range(heads)])
        m, n = self._requant_scalar(acc, lambda m, n: ref.qk(q, k, heads, [m, n]))
        self.t[name + ".p"] = np.array([m, n], np.int64)
        s_q, s_k = self.scales[block + ".attn.q"][0], self.scales[block + ".attn.kv.k"][0]
        self.pending = (s_q * s_k / math.sqrt(d) / (m * 2.0**-n), 0)

    def make_softmax(self, name, a):
        self.t[name + ".exp"] = ref.exp_table(self.qp(a)[0])

    def make_pv(self, name, probs, v):
        block = name[: -len(".attn.pv")]
        heads, d = probs.shape[0], v.shape[1] // probs.shape[0]
        acc = np.concatenate([probs[h].astype(np.int64) @ v[:, h * d:(h + 1) * d].astype(np.int64) for h in range(heads)], axis=1)
        m, n = self._requant_scalar(acc, lambda m, n: ref.pv(probs, v, [m, n]))
        self.t[name + ".p"] = np.array([m, n], np.int64)
        s_v = self.scales[block + ".attn.kv.v" if block + ".attn.kv.v" in self.scales else block + ".attn.v"][0]
        self.pending = (s_v * 2.0**-15 / (m * 2.0**-n), 0)

    def make_gelu(self, name, x):
        s_in, z_in = self.qp(x)
        # GELU's range is [-0.17, top]: the codes span it, so z_out sits just above -128
        top = max(ref.gelu_float(s_in * (int(v) - z_in)) for v in np.unique(x))
        s_out = (top + 0.17) / self.rng.uniform(220, 245)
        lift = int(self.rng.randint(2, 6))
        for _ in range(20):
            z_out = -128 + math.ceil(0.17 / s_out) + lift
            table = ref.gelu_table(s_in, z_in, s_out, z_out)
            if np.mean(np.isin(ref.gelu(x, table), (-128, 127))) <= 0.02:
                break
            s_out *= 1.1
        self.t[name + ".t"] = table
        self.pending = (s_out, z_out)

    def make_dwconv2(self, name, scores, grid):
        h0 = self.spec[name + ".w"][1][0]
        w = self.weights(h0, 4)
        acc0 = ref.dwconv2_acc(scores, grid, w, np.zeros(h0, np.int64)).astype(np.float64)
        std = np.maximum(acc0.std(axis=(1, 2)), 1.0)
        b = (-np.round(acc0.mean(axis=(1, 2))) + np.round(self.rng.normal(0, 0.25 * std))).astype(np.int64)
        acc = acc0 + b[:, None, None]
        r = TARGET_STD / np.maximum(np.sqrt((acc**2).mean(axis=(1, 2))), 1.0) * self.jitter(h0)
        z = int(self.rng.randint(-20, 21))
        for _ in range(20):
            m, s = self.multipliers(r)
            y = ref.dwconv2(scores, grid, w, b, m, s, z)
            if np.mean((y == -128) | (y == 127)) <= 0.02:
                break
            r = r * 0.85
        self.t.update({name + ".w": w, name + ".b": b.astype(np.int32), name + ".m": m, name + ".s": s,
                       name + ".p": np.array([z], np.int64)})
        self.pending = (self.rng.uniform(1.0, 3.0) / max(float(y.std()), 1.0), z)

    def make_meanpool(self, name, x):
        s_in, z_in = self.qp(x)
        acc = (np.asarray(x, np.int64) - z_in).sum(axis=0)
        z_out = int(self.rng.randint(-20, 21))
        m, n = self._requant_scalar(acc, lambda m, n: ref.meanpool(x, [z_in, m, n, z_out]))
        self.t[name + ".p"] = np.array([z_in, m, n, z_out], np.int64)
        self.pending = (s_in / x.shape[0] / (m * 2.0**-n), z_out)

    def make_pos(self, name):
        n, c = self.spec[name][1]
        z = int(self.rng.randint(-20, 21))
        self.t[name] = np.clip(np.round(self.rng.normal(z, TARGET_STD, (n, c))), -128, 127).astype(np.int8)
        self.pending = (self.rng.uniform(0.3, 1.0) / TARGET_STD, z)

    def pos_embed(self, name):
        y = super().pos_embed(name)
        self.register(name, y, *self.pending)
        return y


def metadata(cfg_json: bytes, cfg: LavitConfig, scales, logit_scale: float) -> bytes:
    h, w = cfg.image_size
    meta = {
        "format": ref.FORMAT,
        "quant_version": ref.QUANT_VERSION,
        "lavit_config": json.loads(cfg_json),
        "labels": [f"class{i}" for i in range(cfg.num_classes)],
        "preprocess": {"channels": cfg.in_chans, "height": h, "width": w, "crop": "center"},
        "source_sha256": hashlib.sha256(cfg_json).hexdigest(),
        "scales": scales,
        "logit_scale": logit_scale,
    }
    return json.dumps(meta, sort_keys=True, allow_nan=False).encode("utf-8")


def ordered(cfg: LavitConfig, tensors: Dict[str, np.ndarray]) -> List[Tuple[str, np.ndarray]]:
    spec = ref.required_tensors(cfg)
    require(set(tensors) == {n for n, *_ in spec}, f"tensors {sorted(set(tensors) ^ {n for n, *_ in spec})}")
    out = []
    for name, dtype, shape, _ in spec:
        a = np.asarray(tensors[name])
        require(a.shape == shape and np.array_equal(a.astype(dtype), a), f"{name} does not fit {dtype} {shape}")
        out.append((name, a.astype(dtype)))
    return out


def write_goldens(directory: Path, model_path: Path, cfg: LavitConfig, images, note: str) -> Tuple[ref.Result, ref.Result, float]:
    """golden.lvt: input, logits, stage{m}, scores.{m}.{i}, probs.{m}.0, input2, logits2."""
    model = modelfile.load(str(model_path))
    start = time.perf_counter()
    first = ref.run(model, images[0])
    elapsed = time.perf_counter() - start
    second = ref.run(model, images[1])
    tensors = [("input", images[0]), ("logits", first.logits)]
    tensors += [(f"stage{m}", first.tensors[f"stage{m}"]) for m in range(cfg.num_stages)]
    for m in range(cfg.num_stages):
        tensors += [(f"scores.{m}.{i}", first.tensors[f"scores.{m}.{i}"]) for i in range(cfg.depths[m])]
        tensors.append((f"probs.{m}.0", first.tensors[f"probs.{m}.0"]))
    tensors += [("input2", images[1]), ("logits2", second.logits)]
    meta = {"format": "lavit-int8-golden", "model": model_path.name,
            "model_sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(), "note": note}
    modelfile.write(str(directory / "golden.lvt"), json.dumps(meta, sort_keys=True).encode("utf-8"), tensors)
    return first, second, elapsed


def edge_edits(t: Dict[str, np.ndarray]) -> List[str]:
    """Parameters at the edges of their allowed ranges, on a copy of multi's model. Each edit
    keeps the model computing something (no layer goes constant except where said)."""
    top, notes = 2**31 - 1, []

    def edit(name, index, value, why):
        a = np.array(t[name])
        a[index] = value
        t[name] = a
        notes.append(f"{name}[{index}]: {why}")

    fc1 = "stages.0.blocks.0.mlp.fc1"
    edit(fc1 + ".m", 0, top, "M = 2^31 - 1")
    edit(fc1 + ".m", 1, top, "M = 2^31 - 1, with")
    edit(fc1 + ".s", 1, 62, "n = 62: RS adds 2^61, the channel outputs z_out")
    edit(fc1 + ".m", 2, 2**30, "M = 2^30, with")
    edit(fc1 + ".s", 2, 1, "n = 1: the channel saturates both ways")
    edit("stages.1.blocks.0.attn.qk.p", 0, top, "qk M = 2^31 - 1")
    edit("stages.0.blocks.0.attn.pv.p", 0, top, "pv M = 2^31 - 1")
    edit("stages.2.blocks.0.add2.p", 3, 1, "add2 M_a = 1")
    edit("stages.2.blocks.0.add2.p", 4, 1, "add2 M_b = 1")
    edit("stages.2.blocks.0.add2.p", 5, 1, "add2 n = 1: the rounded average, ties everywhere")
    edit("stages.1.blocks.1.norm2.p", 1, 2**62 - 1, "layernorm E = 2^62 - 1: the normalised part vanishes")
    edit("stages.0.blocks.0.norm2.p", 0, -128, "layernorm z_in = -128 (cancels in D_i; q_i up to 255)")
    edit("stages.0.blocks.1.norm1.p", 0, 127, "layernorm z_in = 127 (cancels in D_i; q_i down to -255)")
    g = "stages.0.blocks.1.norm1"
    i = int(np.argmax(np.abs(t[g + ".g"])))
    edit(g + ".g", i, int(np.sign(t[g + ".g"][i])) * top, "layernorm g = +-(2^31 - 1)")
    edit(g + ".bb", (i + 1) % len(t[g + ".bb"]), -(2**46 - 1), "layernorm bb = -(2^46 - 1)")
    t["stages.1.blocks.0.attn.softmax.exp"] = ref.exp_table(1.0)
    notes.append("stages.1.blocks.0.attn.softmax.exp: steep table (s_A = 1), zeros from t = 12")
    t["stages.2.blocks.0.attn.softmax.exp"] = ref.exp_table(0.002)
    notes.append("stages.2.blocks.0.attn.softmax.exp: flat table (s_A = 0.002)")
    edit("pool.p", 1, top, "meanpool M = 2^31 - 1")
    edit("stages.2.attn_residual.dw.m", 0, top, "dwconv2 M = 2^31 - 1, with")
    edit("stages.2.attn_residual.dw.s", 0, 62, "n = 62: head 0 outputs z_out")
    edit("stages.2.attn_residual.dw.m", 1, top, "dwconv2 M = 2^31 - 1")
    edit("head.s", 0, 1, "head n = 1: logit 0 saturates int32")
    edit("head.m", 1, top, "head M = 2^31 - 1")
    return notes


def summary(name: str, result: ref.Result, elapsed: float) -> str:
    lg = result.logits.astype(np.int64)
    return (f"{name:>6}: reference {elapsed * 1000:6.1f} ms; logits min {lg.min()} max {lg.max()} "
            f"argmax {int(np.argmax(lg))} [{', '.join(str(v) for v in lg)}]")


def build(name: str) -> Tuple[Dict[str, np.ndarray], LavitConfig, bytes, list]:
    cfg_json = (GOLDEN / name / "config.json").read_bytes()
    cfg = LavitConfig.from_json(cfg_json.decode("utf-8"))
    cfg.validate()
    rng = np.random.RandomState(SEEDS[name])
    h, w = cfg.image_size
    natural = natural_image(rng, h, w, cfg.in_chans)
    images = [natural, extreme_image(natural)]
    cal = Calibrator(cfg, rng)
    calibrated = cal.forward(images[0])
    directory = OUT / name
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / "model.lvt"
    meta = metadata(cfg_json, cfg, cal.scales, cal.logit_scale)
    modelfile.write(str(model_path), meta, ordered(cfg, cal.t))
    first, second, elapsed = write_goldens(directory, model_path, cfg, images, f"random integer model for {name}")
    for key, value in calibrated.tensors.items():  # the file holds exactly what calibration ran
        require(np.array_equal(first.tensors[key], value), f"{key}: the written model computes otherwise")
    worst = max(cal.stats, key=lambda s: s[1])
    fewest = min(cal.stats, key=lambda s: s[2])
    probs = [first.tensors[k] for k in first.tensors if k.startswith("probs.")]
    peak = np.mean([float(np.mean(p.max(axis=-1))) / 2**15 for p in probs])
    print(summary(name, first, elapsed))
    print(f"        {len(cal.stats)} layers; most saturated {worst[0]} {worst[1]:.1%}; fewest distinct "
          f"{fewest[0]} {fewest[2]}/{fewest[3]}; mean top probability {peak:.2f}")
    print(f"        input2: logits [{', '.join(str(v) for v in second.logits)}]")
    return dict(cal.t), cfg, meta, images


def build_edge(tensors: Dict[str, np.ndarray], cfg: LavitConfig, meta: bytes, images) -> None:
    tensors = dict(tensors)
    notes = edge_edits(tensors)
    directory = OUT / "edge"
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / "model.lvt"
    modelfile.write(str(model_path), meta, ordered(cfg, tensors))
    note = "multi with parameters at the edges: " + "; ".join(notes)
    first, second, elapsed = write_goldens(directory, model_path, cfg, images, note)
    require(all(int(r.logits[0]) in (-(2**31), 2**31 - 1) for r in (first, second)), "edge: logit 0 does not saturate int32")
    fc1 = first.tensors["stages.0.blocks.0.mlp.fc1"]
    require(np.all(fc1[:, 1] == int(tensors["stages.0.blocks.0.mlp.fc1.p"][0])) and np.all(np.isin(fc1[:, 2], (-128, 127))),
            "edge: fc1 channels 1 and 2 do not behave as n = 62 and n = 1 should")
    print(summary("edge", first, elapsed))
    print(f"        {len(notes)} edits; input2: logits [{', '.join(str(v) for v in second.logits)}]")


def main() -> int:
    built = {name: build(name) for name in SEEDS}
    build_edge(*built["multi"])
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {os.path.relpath(OUT, ROOT)}: {total} bytes in {sum(1 for f in OUT.rglob('*') if f.is_file())} files")
    require(total < 1 << 20, f"fixtures take {total} bytes, over 1 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
