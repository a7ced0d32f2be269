"""Integer reference of lavit's int8 engine: Tools/QUANT.md, literally, from the model file alone.

The Swift engine (Sources/LavitInt8) implements the same text and must give the same logits bit
for bit. Every value on the inference path is a Python int or a numpy int64 (int8, int16 and
int32 only at a kernel's edges): no float touches it. Products go through `mul`, which refuses
where numpy would wrap silently; with the value ranges check_model enforces (QUANT.md's, plus the
few its int64 arithmetic needs, listed in Tools/README.md) it never has to.

Standard library and numpy only, no torch, and no package-relative imports are required, so it
runs as a plain script: `/usr/bin/python3 Tools/lavit_ref/int8_ref.py model.lvt image.png [k]`.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Dict, List, NamedTuple, Sequence, Tuple, Union

import numpy as np

if __package__:
    from . import modelfile
    from .config import LavitConfig
else:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import modelfile  # noqa: E402
    from config import LavitConfig  # noqa: E402

I64 = np.int64
FORMAT, QUANT_VERSION, MAX_CHANNELS, MAX_KEYS = "lavit-int8", 2, 4096, 511
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class Result(NamedTuple):
    logits: np.ndarray  # int32 [num_classes]
    tensors: Dict[str, np.ndarray]  # every layer's output by layer name, plus the golden aliases


# ---------------------------------------------------------------------------------------------
# The rounding rule, saturation, and products that cannot wrap

# RS adds at most 2^61, so an operand under 3 * 2^61 in magnitude keeps the sum inside int64.
RS_LIMIT = 3 * 2**61


def _magnitude(a) -> int:
    return max(abs(int(a.min())), abs(int(a.max())))


def mul(a, b):
    """a * b elementwise in int64, refusing (instead of wrapping, as numpy would) any product
    that could reach RS_LIMIT. With the ranges check_model enforces it never refuses."""
    a, b = np.asarray(a, I64), np.asarray(b, I64)
    if a.size and b.size and _magnitude(a) * _magnitude(b) >= RS_LIMIT:
        raise OverflowError("product could overflow int64")
    return a * b


def rs(x, n):
    """RS(x, n) = (x + 2^(n-1)) >> n, floor shift: round half up. n in [1, 62], scalar or array."""
    x, n = np.asarray(x, I64), np.asarray(n, I64)
    if x.size and _magnitude(x) >= RS_LIMIT:
        raise OverflowError("RS operand could overflow int64")
    if n.size and not (1 <= int(n.min()) and int(n.max()) <= 62):
        raise ValueError("RS shift outside [1, 62]")
    return (x + np.left_shift(I64(1), n - 1)) >> n


def sat8(x):
    return np.clip(np.asarray(x, I64), -128, 127)


def sat32(x):
    return np.clip(np.asarray(x, I64), INT32_MIN, INT32_MAX)


# ---------------------------------------------------------------------------------------------
# Kernels, numbered as in QUANT.md. Inputs are int arrays of codes; outputs are int64 arrays
# whose values lie in the kernel's output type. Sums of int8 products stay far inside int64.

def gemm_acc(x, w, b, what: str = "gemm"):
    """acc[n, o] = sum_k w[o, k] x[n, k] + b[o]: int32 by QUANT.md, so it is checked, not wrapped
    (check_model refuses files where 128 sum_k |w[o, k]| + |b[o]| could leave int32)."""
    acc = np.asarray(x, I64) @ np.asarray(w, I64).T + np.asarray(b, I64)
    if acc.size and (int(acc.max()) > INT32_MAX or int(acc.min()) < INT32_MIN):
        raise OverflowError(f"{what}: accumulator [{int(acc.min())}, {int(acc.max())}] overflows int32")
    return acc


def gemm(x, w, b, m, s, z_out: int, what: str = "gemm"):
    """1. y[n, o] = sat8(z_out + RS(acc * m[o], s[o]))."""
    return sat8(z_out + rs(mul(gemm_acc(x, w, b, what), m), s))


def gemm32(x, w, b, m, s, what: str = "gemm32"):
    """1'. The head: no z_out, sat32; the logits are int32."""
    return sat32(rs(mul(gemm_acc(x, w, b, what), m), s))


def patchify(grid, k: int):
    """2. (H, W, C) grid -> rows (H/k * W/k, C*k*k) ordered (c, ky, kx); whole patches only."""
    grid = np.asarray(grid, I64)
    h, w, c = grid.shape
    hp, wp = h // k, w // k
    g = grid[: hp * k, : wp * k].reshape(hp, k, wp, k, c)  # (py, ky, px, kx, c)
    return g.transpose(0, 2, 4, 1, 3).reshape(hp * wp, c * k * k)


def _layernorm_inv(w: int) -> int:
    """floor(2^(40+k) / isqrt(W 4^k)): the root with k = min(22, max(0, (62 - bitlen W) // 2))
    fractional bits."""
    k = min(22, max(0, (62 - w.bit_length()) // 2))
    return (1 << (40 + k)) // math.isqrt(w << (2 * k))


def layernorm(x, g, bb, p):
    """3. Per row (last axis). With |q_i| <= 255 and C <= 4096: V < 2^55, W = V + E < 2^63,
    W 4^k < 2^62 by the choice of k, |D_i * inv| <= 2^41 (|D_i| <= sqrt(W) < (R + 1) / 2^k,
    inv <= 2^(40+k) / R <= 2^40), |t_i| <= 2^15 + 1, |t_i g_i + bb_i| < 2^48."""
    z_in, e, shift, z_out = (int(v) for v in p)
    x = np.asarray(x, I64)
    c = x.shape[-1]
    q = x - z_in
    d = c * q - q.sum(axis=-1, keepdims=True)
    v = (d * d).sum(axis=-1)
    inv = np.array([_layernorm_inv(int(vi) + e) for vi in v.reshape(-1)], I64).reshape(v.shape)
    t = rs(mul(d, inv[..., None]), 25)
    return sat8(z_out + rs(mul(t, g) + np.asarray(bb, I64), shift))


def add2(a, b, p):
    """4. y = sat8(z_out + RS((a - z_a) M_a + (b - z_b) M_b, n))."""
    z_a, z_b, z_out, m_a, m_b, n = (int(v) for v in p)
    acc = mul(np.asarray(a, I64) - z_a, m_a) + mul(np.asarray(b, I64) - z_b, m_b)
    return sat8(z_out + rs(acc, n))


def qk(q, k, heads: int, p):
    """5. A[h, n, j] = sat8(RS(sum_t q[n, h*d+t] k[j, h*d+t] * M, shift)), shape (heads, N, Nk)."""
    m, n = (int(v) for v in p)
    q, k = np.asarray(q, I64), np.asarray(k, I64)
    d = q.shape[1] // heads
    acc = np.stack([q[:, h * d:(h + 1) * d] @ k[:, h * d:(h + 1) * d].T for h in range(heads)])
    return sat8(rs(mul(acc, m), n))


def softmax(a, exp):
    """6. Per row of a symmetric score map (last axis): int16 probabilities p / 2^15.
    e_j <= S, so e_j * inv <= 2^46."""
    a = np.asarray(a, I64)
    e = np.asarray(exp, I64)[a.max(axis=-1, keepdims=True) - a]
    inv = (1 << 46) // e.sum(axis=-1, keepdims=True)
    return np.minimum(32767, rs(e * inv, 31))


def pv(probs, v, p):
    """7. acc[n, h*d+t] = sum_j P[h, n, j] v[j, h*d+t]; y = sat8(RS(acc * M, shift)), shape (N, C)."""
    m, n = (int(x) for x in p)
    probs, v = np.asarray(probs, I64), np.asarray(v, I64)
    heads, d = probs.shape[0], v.shape[1] // probs.shape[0]
    acc = np.concatenate([probs[h] @ v[:, h * d:(h + 1) * d] for h in range(heads)], axis=1)
    return sat8(rs(mul(acc, m), n))


def gelu(x, t):
    """8. y = t[x + 128]."""
    return np.asarray(t, I64)[np.asarray(x, I64) + 128]


def dwconv2_acc(scores, grid: Tuple[int, int], w, b):
    """acc[c, y*(W0/2)+x, j] = sum_{dy,dx} w[c, dy*2+dx] S[c, (2y+dy) W0 + (2x+dx), j] + b[c]."""
    h0, _, nk = scores.shape
    hq, wq = grid
    h1, w1 = hq // 2, wq // 2
    g = np.asarray(scores, I64).reshape(h0, hq, wq, nk)[:, : 2 * h1, : 2 * w1].reshape(h0, h1, 2, w1, 2, nk)
    w = np.asarray(w, I64)
    acc = sum(w[:, dy * 2 + dx, None, None, None] * g[:, :, dy, :, dx, :] for dy in range(2) for dx in range(2))
    return (acc + np.asarray(b, I64)[:, None, None, None]).reshape(h0, h1 * w1, nk)


def dwconv2(scores, grid: Tuple[int, int], w, b, m, s, z_out: int):
    """9. scores (h0, H0*W0, Nk) over the query grid (H0, W0) -> (h0, (H0/2)*(W0/2), Nk),
    y = sat8(z_out + RS(acc * m[c], s[c]))."""
    acc = dwconv2_acc(scores, grid, w, b)
    return sat8(z_out + rs(mul(acc, np.asarray(m, I64)[:, None, None]), np.asarray(s, I64)[:, None, None]))


def meanpool(x, p):
    """10. acc_c = sum_n (x[n, c] - z_in); y_c = sat8(z_out + RS(acc_c * M, shift))."""
    z_in, m, n, z_out = (int(v) for v in p)
    acc = (np.asarray(x, I64) - z_in).sum(axis=0)
    return sat8(z_out + rs(mul(acc, m), n))


# ---------------------------------------------------------------------------------------------
# Model-file contents: what QUANT.md requires, and the value ranges its arithmetic relies on

def _spec_gemm(name, o, k, with_z=True):
    out = [(f"{name}.w", "i1", (o, k)), (f"{name}.b", "i4", (o,)), (f"{name}.m", "i4", (o,)), (f"{name}.s", "i4", (o,))]
    return out + ([(f"{name}.p", "i8", (1,))] if with_z else [])


def required_tensors(cfg: LavitConfig) -> List[Tuple[str, str, Tuple[int, ...], str]]:
    """(name, numpy dtype, shape, kind) of every tensor QUANT.md requires for cfg, in graph order."""
    out: List[Tuple[str, str, Tuple[int, ...], str]] = []

    def add(kind, items):
        out.extend((n, dt, shape, kind) for n, dt, shape in items)

    def ln(name, c):
        add("layernorm", [(f"{name}.g", "i4", (c,)), (f"{name}.bb", "i8", (c,)), (f"{name}.p", "i8", (4,))])

    c_prev = cfg.in_chans
    for m in range(cfg.num_stages):
        c, heads, r = cfg.embed_dims[m], cfg.num_heads[m], cfg.sr_ratios[m]
        n, nk, k = cfg.tokens(m), cfg.key_tokens(m), cfg.patch_size if m == 0 else 2
        st = f"stages.{m}"
        add("gemm", _spec_gemm(f"{st}.embed.proj", c, c_prev * k * k))
        ln(f"{st}.embed.norm", c)
        add("pos", [(f"{st}.pos_embed.q", "i1", (n, c))])
        add("add2", [(f"{st}.pos_add.p", "i8", (6,))])
        if m > 0 and cfg.attention_residual:
            h0 = cfg.num_heads[m - 1]
            add("dwconv2", [(f"{st}.attn_residual.dw.w", "i1", (h0, 4))]
                + [(f"{st}.attn_residual.dw.{x}", "i4", (h0,)) for x in "bms"]
                + [(f"{st}.attn_residual.dw.p", "i8", (1,))])
            add("gemm", _spec_gemm(f"{st}.attn_residual.pw", heads, h0))
        for i in range(cfg.depths[m]):
            b = f"{st}.blocks.{i}"
            ln(f"{b}.norm1", c)
            if r > 1:
                add("gemm", _spec_gemm(f"{b}.attn.sr", c, c * r * r))
                ln(f"{b}.attn.norm", c)
            if cfg.is_va(m, i):
                add("gemm", _spec_gemm(f"{b}.attn.q", c, c) + _spec_gemm(f"{b}.attn.kv", 2 * c, c))
                add("qk", [(f"{b}.attn.qk.p", "i8", (2,))])
                if i == 0 and m > 0 and cfg.attention_residual:
                    add("add2", [(f"{b}.attn.ar_add.p", "i8", (6,))])
            else:
                add("gemm", _spec_gemm(f"{b}.attn.v", c, c) + _spec_gemm(f"{b}.attn.theta", nk, nk)
                    + _spec_gemm(f"{b}.attn.psi", n, n))
            add("softmax", [(f"{b}.attn.softmax.exp", "i4", (256,))])
            add("pv", [(f"{b}.attn.pv.p", "i8", (2,))])
            add("gemm", _spec_gemm(f"{b}.attn.proj", c, c))
            add("add2", [(f"{b}.add1.p", "i8", (6,))])
            ln(f"{b}.norm2", c)
            hidden = c * cfg.mlp_ratios[m]
            add("gemm", _spec_gemm(f"{b}.mlp.fc1", hidden, c))
            add("gelu", [(f"{b}.mlp.gelu.t", "i1", (256,))])
            add("gemm", _spec_gemm(f"{b}.mlp.fc2", c, hidden))
            add("add2", [(f"{b}.add2.p", "i8", (6,))])
        c_prev = c
    ln("norm", c_prev)
    add("meanpool", [("pool.p", "i8", (4,))])
    add("gemm32", _spec_gemm("head", cfg.num_classes, c_prev, with_z=False))
    return out


def symmetric_outputs(cfg: LavitConfig) -> List[str]:
    """Layers whose output QUANT.md makes symmetric, so their stored z must be 0."""
    out = []
    for m in range(cfg.num_stages):
        if m > 0 and cfg.attention_residual:
            out.append(f"stages.{m}.attn_residual.pw")
        for i in range(cfg.depths[m]):
            b = f"stages.{m}.blocks.{i}.attn"
            out += [f"{b}.q", f"{b}.kv"] if cfg.is_va(m, i) else [f"{b}.v", f"{b}.psi"]
    return out


class ModelError(ValueError):
    """A model file that QUANT.md does not describe; the message names the tensor or key."""


def _check_values(cfg: LavitConfig, t: Dict[str, np.ndarray]) -> None:
    """The ranges QUANT.md states or its int64 arithmetic needs."""
    def fail(name, msg):
        raise ModelError(f"tensor '{name}': {msg}")

    def in_range(name, values, lo, hi, what):
        values = [int(v) for v in np.asarray(values).reshape(-1)]
        bad = [v for v in values if not lo <= v <= hi]
        if bad:
            fail(name, f"{what} {bad[0]} is outside [{lo}, {hi}]")

    shift, mult, zero = (1, 62), (2**30, 2**31 - 1), (-128, 127)
    symmetric = set(symmetric_outputs(cfg))
    for name, _, _, kind in required_tensors(cfg):
        v, layer, suffix = t[name], name.rsplit(".", 1)[0], name.rsplit(".", 1)[1]
        if kind in ("gemm", "gemm32", "dwconv2") and suffix == "m":
            in_range(name, v, *mult, "multiplier")
        elif kind in ("gemm", "gemm32", "dwconv2") and suffix == "w":
            in_range(name, v, -127, 127, "weight")  # symmetric int8: -128 never occurs
            if kind == "dwconv2":
                continue
            # QUANT.md's int32 accumulator: |acc| <= 128 sum_k |w[o, k]| + |b[o]| for any input
            bound = 128 * np.abs(v.astype(I64)).sum(axis=1) + np.abs(t[layer + ".b"].astype(I64))
            if int(bound.max(initial=0)) > INT32_MAX:
                fail(name, f"row {int(np.argmax(bound))} can overflow the int32 accumulator "
                           f"(128 * sum |w| + |b| = {int(bound.max())})")
        elif kind in ("gemm", "gemm32", "dwconv2") and suffix == "s":
            in_range(name, v, *shift, "shift")
        elif kind in ("gemm", "dwconv2") and suffix == "p":
            in_range(name, v, *((0, 0) if layer in symmetric else zero), "z_out")
        elif kind == "layernorm" and suffix == "bb":
            in_range(name, v, -(2**46) + 1, 2**46 - 1, "bias")
        elif kind == "layernorm" and suffix == "p":
            in_range(name, v[[0, 3]], *zero, "zero point")
            in_range(name, v[1:2], 1, 2**62 - 1, "E")
            in_range(name, v[2:3], *shift, "shift")
        elif kind == "add2":
            zeros = (0, 0) if layer.endswith(".ar_add") else zero
            in_range(name, v[:3], *zeros, "zero point")
            in_range(name, v[3:5], 0, 2**31 - 1, "multiplier")
            in_range(name, v[5:], *shift, "shift")
        elif kind in ("qk", "pv"):
            in_range(name, v[:1], *mult, "multiplier")
            in_range(name, v[1:], *shift, "shift")
        elif kind == "softmax":
            in_range(name, v, 0, 2**31 - 1, "table entry")
            in_range(name, v[:1], 1, 2**31 - 1, "exp[0]")
        elif kind == "meanpool":
            in_range(name, v[[0, 3]], *zero, "zero point")
            in_range(name, v[1:2], *mult, "multiplier")
            in_range(name, v[2:3], *shift, "shift")


def check_model(model: modelfile.ModelFile) -> Tuple[LavitConfig, Dict[str, np.ndarray]]:
    """The config from metadata, and the tensors once every required one is present and valid."""
    meta = model.metadata
    if meta.get("format") != FORMAT:
        raise ModelError(f"metadata 'format' is {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("quant_version") != QUANT_VERSION:
        raise ModelError(f"metadata 'quant_version' is {meta.get('quant_version')!r}, expected {QUANT_VERSION}")
    if not isinstance(meta.get("lavit_config"), dict):
        raise ModelError("metadata 'lavit_config' is missing or not an object")
    try:
        cfg = LavitConfig.from_dict(meta["lavit_config"])
        cfg.validate()
    except (TypeError, ValueError) as e:
        raise ModelError(f"metadata 'lavit_config': {e}") from None
    if max(cfg.embed_dims) > MAX_CHANNELS:
        raise ModelError(f"metadata 'lavit_config': embed_dims {cfg.embed_dims} exceed {MAX_CHANNELS}")
    keys = [cfg.key_tokens(m) for m in range(cfg.num_stages)]
    if max(keys) > MAX_KEYS:
        raise ModelError(f"metadata 'lavit_config': {max(keys)} keys per attention row exceed pv's int32 limit {MAX_KEYS}")
    for name, dtype, shape, _ in required_tensors(cfg):
        if name not in model.tensors:
            raise ModelError(f"tensor '{name}' is missing")
        a = model.tensors[name]
        if a.dtype != np.dtype(dtype) or a.shape != shape:
            raise ModelError(f"tensor '{name}' is {a.dtype} {list(a.shape)}, expected {np.dtype(dtype)} {list(shape)}")
    _check_values(cfg, model.tensors)
    return cfg, model.tensors


# ---------------------------------------------------------------------------------------------
# The graph

class Graph:
    """QUANT.md's graph. Each layer method fetches its tensors by name and calls one kernel.

    `prepare` and `done` are hooks: here they only record outputs, but the fixture generator
    (Tools/make_int8_golden.py) overrides `prepare` to choose a layer's parameters from its
    actual input before the kernel runs, so the parameters and the goldens share one graph.
    """

    def __init__(self, cfg: LavitConfig, tensors: Dict[str, np.ndarray]):
        self.cfg, self.t, self.out = cfg, tensors, {}

    def prepare(self, kind: str, name: str, *inputs) -> None:
        pass

    def done(self, name: str, y):
        self.out[name] = y
        return y

    def _p(self, name):
        return [int(v) for v in self.t[name + ".p"]]

    # layers

    def gemm(self, name, x):
        self.prepare("gemm", name, x)
        t = self.t
        return self.done(name, gemm(x, t[name + ".w"], t[name + ".b"], t[name + ".m"], t[name + ".s"],
                                    self._p(name)[0], name))

    def gemm32(self, name, x):
        self.prepare("gemm32", name, x)
        t = self.t
        return self.done(name, gemm32(x, t[name + ".w"], t[name + ".b"], t[name + ".m"], t[name + ".s"], name))

    def layernorm(self, name, x):
        self.prepare("layernorm", name, x)
        return self.done(name, layernorm(x, self.t[name + ".g"], self.t[name + ".bb"], self._p(name)))

    def add2(self, name, a, b):
        self.prepare("add2", name, a, b)
        return self.done(name, add2(a, b, self._p(name)))

    def qk(self, name, q, k, heads):
        self.prepare("qk", name, q, k)
        return self.done(name, qk(q, k, heads, self._p(name)))

    def softmax(self, name, a):
        self.prepare("softmax", name, a)
        return self.done(name, softmax(a, self.t[name + ".exp"]))

    def pv(self, name, probs, v):
        self.prepare("pv", name, probs, v)
        return self.done(name, pv(probs, v, self._p(name)))

    def gelu(self, name, x):
        self.prepare("gelu", name, x)
        return self.done(name, gelu(x, self.t[name + ".t"]))

    def dwconv2(self, name, scores, grid):
        self.prepare("dwconv2", name, scores, grid)
        t = self.t
        return self.done(name, dwconv2(scores, grid, t[name + ".w"], t[name + ".b"], t[name + ".m"], t[name + ".s"],
                                       self._p(name)[0]))

    def meanpool(self, name, x):
        self.prepare("meanpool", name, x)
        return self.done(name, meanpool(x, self._p(name)))

    def pos_embed(self, name):
        self.prepare("pos", name)
        return np.asarray(self.t[name], I64)

    # the whole model

    def forward(self, image) -> Result:
        cfg = self.cfg
        height, width = cfg.image_size
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.shape != (height, width, cfg.in_chans):
            raise ModelError(f"image is {image.dtype} {list(image.shape)}, expected uint8 [{height}, {width}, {cfg.in_chans}]")
        named: Dict[str, np.ndarray] = {}
        grid, grid_hw, prev_scores = image.astype(I64) - 128, None, None
        for m in range(cfg.num_stages):
            st, c, heads, r = f"stages.{m}", cfg.embed_dims[m], cfg.num_heads[m], cfg.sr_ratios[m]
            hq, wq = cfg.stage_grids()[m]
            n, nk = cfg.tokens(m), cfg.key_tokens(m)
            x = self.gemm(f"{st}.embed.proj", patchify(grid, cfg.patch_size if m == 0 else 2))
            e = self.layernorm(f"{st}.embed.norm", x)
            x = self.add2(f"{st}.pos_add", e, self.pos_embed(f"{st}.pos_embed.q"))
            scores = None
            for i in range(cfg.depths[m]):
                b = f"{st}.blocks.{i}"
                u = self.layernorm(f"{b}.norm1", x)
                ur = u
                if r > 1:
                    ur = self.layernorm(f"{b}.attn.norm", self.gemm(f"{b}.attn.sr", patchify(u.reshape(hq, wq, c), r)))
                if cfg.is_va(m, i):
                    q = self.gemm(f"{b}.attn.q", u)
                    kv = self.gemm(f"{b}.attn.kv", ur)
                    k, v = kv[:, :c], kv[:, c:]
                    a = self.qk(f"{b}.attn.qk", q, k, heads)
                    if i == 0 and m > 0 and cfg.attention_residual:
                        u_ar = self.dwconv2(f"{st}.attn_residual.dw", prev_scores, grid_hw)  # (h0, N, Nk)
                        rows = u_ar.transpose(2, 1, 0).reshape(nk * n, -1)  # row j*N + n, width h0
                        res = self.gemm(f"{st}.attn_residual.pw", rows).reshape(nk, n, heads).transpose(2, 1, 0)
                        a = self.add2(f"{b}.attn.ar_add", a, res)
                else:
                    v = self.gemm(f"{b}.attn.v", ur)
                    theta = self.gemm(f"{b}.attn.theta", scores.reshape(heads * n, nk))  # (h*N, Nk)
                    t_rows = theta.reshape(heads, n, nk).transpose(0, 2, 1).reshape(heads * nk, n)
                    a = self.gemm(f"{b}.attn.psi", t_rows).reshape(heads, nk, n).transpose(0, 2, 1)
                scores = a
                probs = self.softmax(f"{b}.attn.softmax", a)
                o = self.pv(f"{b}.attn.pv", probs, v)
                x = self.add2(f"{b}.add1", x, self.gemm(f"{b}.attn.proj", o))
                hidden = self.gelu(f"{b}.mlp.gelu", self.gemm(f"{b}.mlp.fc1", self.layernorm(f"{b}.norm2", x)))
                x = self.add2(f"{b}.add2", x, self.gemm(f"{b}.mlp.fc2", hidden))
                named[f"scores.{m}.{i}"] = a.astype(np.int8)
                named[f"probs.{m}.{i}"] = probs.astype(np.int16)
            named[f"stage{m}"] = x.astype(np.int8)
            grid, grid_hw, prev_scores = x.reshape(hq, wq, c), (hq, wq), scores
        pooled = self.meanpool("pool", self.layernorm("norm", x))
        logits = self.gemm32("head", pooled[None, :])[0].astype(np.int32)
        named["logits"] = logits
        return Result(logits, {**self.out, **named})


def run(model: Union[str, modelfile.ModelFile], image) -> Result:
    """Logits and every intermediate tensor for one uint8 (H, W, in_chans) image."""
    mf = modelfile.load(model) if isinstance(model, (str, os.PathLike)) else model
    cfg, tensors = check_model(mf)
    return Graph(cfg, tensors).forward(image)


# ---------------------------------------------------------------------------------------------
# Quantizer formulas QUANT.md states (floats, offline): the fixture generator and the checks use
# them; the inference path above never does.

def quantize_multiplier(r: float) -> Tuple[int, int]:
    """r > 0 -> (M, n), M in [2^30, 2^31), r ~= M 2^-n."""
    f, e = math.frexp(r)
    m, n = round(f * 2**31), 31 - e
    if m == 2**31:
        m, n = 2**30, n - 1
    if not 1 <= n <= 62:
        raise ValueError(f"multiplier {r} needs shift {n}, outside [1, 62]")
    return m, n


def shared_shift(rs_: Sequence[float]) -> Tuple[List[int], int]:
    """Multipliers sharing one shift: the largest n in [1, 62] with round(max r 2^n) < 2^31."""
    top = max(rs_)
    for n in range(62, 0, -1):
        if round(top * 2.0**n) < 2**31:
            return [round(r * 2.0**n) for r in rs_], n
    raise ValueError(f"multiplier {top} is too large for a shift >= 1")


def layernorm_params(gamma, beta, s_in: float, z_in: int, s_out: float, z_out: int, eps: float):
    """(g, bb, p) of QUANT.md's layernorm for float gamma, beta."""
    c = len(gamma)
    e = max(1, round(eps * c**3 / s_in**2))
    for shift in range(62, 0, -1):
        g = [round(x * math.sqrt(c) / (2**15 * s_out) * 2.0**shift) for x in gamma]
        bb = [round(x / s_out * 2.0**shift) for x in beta]
        if max(abs(v) for v in g) < 2**31 and max(abs(v) for v in bb) < 2**46:
            return np.array(g, np.int32), np.array(bb, np.int64), np.array([z_in, e, shift, z_out], np.int64)
    raise ValueError("layernorm: no shift in [1, 62] fits")


def exp_table(s_a: float) -> np.ndarray:
    return np.array([round(2**15 * math.exp(-t * s_a)) for t in range(256)], np.int32)


def gelu_float(x: float) -> float:
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


def gelu_table(s_in: float, z_in: int, s_out: float, z_out: int) -> np.ndarray:
    """t[x + 128] = sat8(round_half_even(GELU(s_in (x - z_in)) / s_out) + z_out)."""
    return np.array([min(127, max(-128, round(gelu_float(s_in * (x - z_in)) / s_out) + z_out))
                     for x in range(-128, 128)], np.int8)


# ---------------------------------------------------------------------------------------------

def _load_image(path: str, cfg: LavitConfig) -> np.ndarray:
    """A golden .lvt ('input'), a .npy, a raw file of exactly H*W*C bytes, or an image PIL reads
    (already at the model's size; converted to L or RGB)."""
    h, w = cfg.image_size
    if path.endswith(".lvt"):
        return np.array(modelfile.load(path).tensors["input"])
    if path.endswith(".npy"):
        return np.load(path)
    raw = open(path, "rb").read()
    if len(raw) == h * w * cfg.in_chans:
        return np.frombuffer(raw, np.uint8).reshape(h, w, cfg.in_chans)
    from PIL import Image  # only for this convenience
    img = Image.open(path).convert("L" if cfg.in_chans == 1 else "RGB")
    return np.asarray(img, np.uint8).reshape(img.height, img.width, cfg.in_chans)


def main(argv: Sequence[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: int8_ref.py MODEL.lvt IMAGE [TOP_K]", file=sys.stderr)
        return 2
    try:
        model = modelfile.load(argv[0])
        cfg, _ = check_model(model)
        result = run(model, _load_image(argv[1], cfg))
    except (OSError, ValueError, KeyError) as e:  # ModelError is a ValueError
        print(f"int8_ref: {e}", file=sys.stderr)
        return 1
    labels = model.metadata.get("labels") or [str(i) for i in range(cfg.num_classes)]
    scale = float(model.metadata.get("logit_scale", 1.0))
    for i in np.argsort(-result.logits.astype(I64), kind="stable")[: int(argv[2]) if len(argv) == 3 else 5]:
        print(f"{labels[i]:>20}  {int(result.logits[i]):>12}  ({result.logits[i] * scale:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
