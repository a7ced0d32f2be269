#!/usr/bin/python3
"""Checks of the integer reference (lavit_ref/int8_ref.py) and of Tests/Fixtures/int8/.

1. Each kernel against a second implementation written from QUANT.md's formulas as plain Python
   loops over Python ints (no numpy arithmetic, no shared code), on random and extreme inputs.
2. The kernels that approximate real functions (layernorm, softmax, GELU, add2, meanpool)
   against float64 math, within the error their integer precision allows.
3. The rounding rule's ties as QUANT.md lists them, isqrt, the quantizer formulas.
4. check_model's refusals: each names the tensor or key.
5. Every fixture: int8_ref.run reproduces golden.lvt, and a whole-graph loop implementation
   (this file, from QUANT.md's graph, index by index) reproduces it too.

    /usr/bin/python3 Tools/check_int8_ref.py
"""

from __future__ import annotations

import json
import math
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "lavit_ref"))
import int8_ref as ref  # noqa: E402
import modelfile  # noqa: E402
from config import LavitConfig  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "int8"
FAILURES = []


def check(cond: bool, what: str) -> None:
    if not cond:
        FAILURES.append(what)
        print("FAIL", what)


# ---------------------------------------------------------------------------------------------
# Loop implementations, from QUANT.md's text (Python ints: `>>` and `//` floor, no overflow)

def l_rs(x, n):
    return (x + (1 << (n - 1))) >> n


def l_sat(x, lo=-128, hi=127):
    return min(hi, max(lo, x))


def l_gemm(rows, w, b, m, s, z=None):
    """z None: gemm32."""
    out = []
    for x in rows:
        y = []
        for o in range(len(w)):
            acc = sum(w[o][k] * x[k] for k in range(len(x))) + b[o]
            assert -(2**31) <= acc < 2**31
            v = l_rs(acc * m[o], s[o])
            y.append(l_sat(v, -(2**31), 2**31 - 1) if z is None else l_sat(z + v))
        out.append(y)
    return out


def l_patchify(grid, k):
    h, w, c = len(grid), len(grid[0]), len(grid[0][0])
    return [[grid[py * k + ky][px * k + kx][ch] for ch in range(c) for ky in range(k) for kx in range(k)]
            for py in range(h // k) for px in range(w // k)]


def l_layernorm(rows, g, bb, p):
    z_in, e, shift, z_out = p
    out = []
    for x in rows:
        c = len(x)
        q = [v - z_in for v in x]
        s = sum(q)
        d = [c * v - s for v in q]
        w = sum(v * v for v in d) + e
        k = min(22, max(0, (62 - len(bin(w)[2:])) // 2))
        inv = (1 << (40 + k)) // math.isqrt(w * 4**k)
        t = [l_rs(v * inv, 25) for v in d]
        out.append([l_sat(z_out + l_rs(t[i] * g[i] + bb[i], shift)) for i in range(c)])
    return out


def l_add2(a, b, p):
    z_a, z_b, z_out, m_a, m_b, n = p
    return l_sat(z_out + l_rs((a - z_a) * m_a + (b - z_b) * m_b, n))


def l_qk(q, k, heads, p):
    m, n = p
    d = len(q[0]) // heads
    return [[[l_sat(l_rs(sum(q[i][h * d + t] * k[j][h * d + t] for t in range(d)) * m, n)) for j in range(len(k))]
             for i in range(len(q))] for h in range(heads)]


def l_softmax_row(a, exp):
    mx = max(a)
    e = [exp[mx - v] for v in a]
    inv = (2**15 * 2**31) // sum(e)
    return [min(32767, l_rs(v * inv, 31)) for v in e]


def l_pv(probs, v, p):
    m, n = p
    heads, d = len(probs), len(v[0]) // len(probs)
    return [[l_sat(l_rs(sum(probs[h][i][j] * v[j][h * d + t] for j in range(len(v))) * m, n))
             for h in range(heads) for t in range(d)] for i in range(len(probs[0]))]


def l_dwconv2(s, h0_grid, w, b, m, sh, z):
    hq, wq = h0_grid
    nk = len(s[0][0])
    return [[[l_sat(z + l_rs((sum(w[c][dy * 2 + dx] * s[c][(2 * y + dy) * wq + (2 * x + dx)][j]
                                  for dy in range(2) for dx in range(2)) + b[c]) * m[c], sh[c]))
              for j in range(nk)] for y in range(hq // 2) for x in range(wq // 2)] for c in range(len(s))]


def l_meanpool(rows, p):
    z_in, m, n, z_out = p
    return [l_sat(z_out + l_rs(sum(r[c] - z_in for r in rows) * m, n)) for c in range(len(rows[0]))]


class LoopModel:
    """QUANT.md's graph, index by index, on nested lists."""

    def __init__(self, mf):
        self.cfg = LavitConfig.from_dict(mf.metadata["lavit_config"])
        self.t = {k: v.tolist() for k, v in mf.tensors.items()}

    def gemm(self, name, rows, head=False):
        t = self.t
        return l_gemm(rows, t[name + ".w"], t[name + ".b"], t[name + ".m"], t[name + ".s"], None if head else t[name + ".p"][0])

    def ln(self, name, rows):
        return l_layernorm(rows, self.t[name + ".g"], self.t[name + ".bb"], self.t[name + ".p"])

    def add(self, name, a, b):
        return [[l_add2(a[i][j], b[i][j], self.t[name + ".p"]) for j in range(len(a[0]))] for i in range(len(a))]

    def forward(self, image):
        cfg, t, out = self.cfg, self.t, {}
        grid = [[[v - 128 for v in px] for px in row] for row in image.tolist()]
        prev = None
        for m in range(cfg.num_stages):
            st, c, heads, r = f"stages.{m}", cfg.embed_dims[m], cfg.num_heads[m], cfg.sr_ratios[m]
            hq, wq = cfg.stage_grids()[m]
            n, nk, d = cfg.tokens(m), cfg.key_tokens(m), c // heads
            x = self.gemm(f"{st}.embed.proj", l_patchify(grid, cfg.patch_size if m == 0 else 2))
            x = self.add(f"{st}.pos_add", self.ln(f"{st}.embed.norm", x), t[f"{st}.pos_embed.q"])
            scores = None
            for i in range(cfg.depths[m]):
                b = f"{st}.blocks.{i}"
                u = self.ln(f"{b}.norm1", x)
                ur = u
                if r > 1:
                    ugrid = [[u[y * wq + xx] for xx in range(wq)] for y in range(hq)]
                    ur = self.ln(f"{b}.attn.norm", self.gemm(f"{b}.attn.sr", l_patchify(ugrid, r)))
                if cfg.is_va(m, i):
                    q = self.gemm(f"{b}.attn.q", u)
                    kv = self.gemm(f"{b}.attn.kv", ur)
                    k, v = [row[:c] for row in kv], [row[c:] for row in kv]
                    a = l_qk(q, k, heads, t[f"{b}.attn.qk.p"])
                    if i == 0 and m > 0 and cfg.attention_residual:
                        dw = f"{st}.attn_residual.dw"
                        uu = l_dwconv2(prev[0], prev[1], t[dw + ".w"], t[dw + ".b"], t[dw + ".m"], t[dw + ".s"], t[dw + ".p"][0])
                        h0 = len(uu)
                        res = [[[0] * nk for _ in range(n)] for _ in range(heads)]
                        for tok in range(n):
                            for j in range(nk):
                                y = self.gemm(f"{st}.attn_residual.pw", [[uu[ch][tok][j] for ch in range(h0)]])[0]
                                for o in range(heads):
                                    res[o][tok][j] = y[o]
                        p = t[f"{b}.attn.ar_add.p"]
                        a = [[[l_add2(a[h][tok][j], res[h][tok][j], p) for j in range(nk)] for tok in range(n)]
                             for h in range(heads)]
                else:
                    v = self.gemm(f"{b}.attn.v", ur)
                    tt = [self.gemm(f"{b}.attn.theta", scores[h]) for h in range(heads)]  # (h, N, Nk)
                    a = [[[0] * nk for _ in range(n)] for _ in range(heads)]
                    for h in range(heads):
                        for j in range(nk):
                            col = self.gemm(f"{b}.attn.psi", [[tt[h][tok][j] for tok in range(n)]])[0]
                            for tok in range(n):
                                a[h][tok][j] = col[tok]
                scores = a
                probs = [[l_softmax_row(row, t[f"{b}.attn.softmax.exp"]) for row in a[h]] for h in range(heads)]
                o = l_pv(probs, v, t[f"{b}.attn.pv.p"])
                x = self.add(f"{b}.add1", x, self.gemm(f"{b}.attn.proj", o))
                hid = self.gemm(f"{b}.mlp.fc1", self.ln(f"{b}.norm2", x))
                hid = [[t[f"{b}.mlp.gelu.t"][v_ + 128] for v_ in row] for row in hid]
                x = self.add(f"{b}.add2", x, self.gemm(f"{b}.mlp.fc2", hid))
                out[f"scores.{m}.{i}"], out[f"probs.{m}.{i}"] = a, probs
            out[f"stage{m}"] = x
            grid = [[x[y * wq + xx] for xx in range(wq)] for y in range(hq)]
            prev = (scores, (hq, wq))
        pooled = l_meanpool(self.ln("norm", x), t["pool.p"])
        out["logits"] = self.gemm("head", [pooled], head=True)[0]
        return out


# ---------------------------------------------------------------------------------------------

def check_rounding(rng):
    for x, n, want in ((5, 1, 3), (-5, 1, -2), (-6, 2, -1), (6, 2, 2)):
        check(int(ref.rs(x, n)) == want, f"RS({x}, {n}) = {int(ref.rs(x, n))}, QUANT.md says {want}")
    xs, ns = [], []
    for n in range(1, 63):
        for k in (-3, -2, -1, 0, 1, 2):  # exact ties (2k+1) 2^(n-1), and their neighbours
            for delta in (-1, 0, 1):
                x = (2 * k + 1) * (1 << (n - 1)) + delta
                if abs(x) < ref.RS_LIMIT:
                    xs.append(x)
                    ns.append(n)
        xs += [int(v) for v in rng.randint(-(2**62), 2**62, 8, dtype=np.int64)]
        ns += [n] * 8
        xs += [ref.RS_LIMIT - 1, -(ref.RS_LIMIT - 1)]
        ns += [n, n]
    got = ref.rs(np.array(xs, np.int64), np.array(ns, np.int64))
    want = [math.floor(Fraction(x, 2**n) + Fraction(1, 2)) for x, n in zip(xs, ns)]
    check([int(v) for v in got] == want, "RS on ties, neighbours and random int64 vs floor(x / 2^n + 1/2)")
    for bad in ((ref.RS_LIMIT, 1), (1, 0), (1, 63)):
        try:
            ref.rs(*bad)
            check(False, f"RS{bad} should refuse")
        except (OverflowError, ValueError):
            pass
    try:
        ref.mul(np.array([2**31]), 2**31 + 2**30)
        check(False, "mul should refuse a product that can overflow")
    except OverflowError:
        pass
    check(list(ref.sat8([-129, -128, 127, 128])) == [-128, -128, 127, 127], "sat8")
    check(list(ref.sat32([-(2**31) - 1, 2**31])) == [-(2**31), 2**31 - 1], "sat32")
    print(f"rounding: QUANT.md's ties, and {len(xs)} ties, their neighbours and random values for n = 1..62, exact")


def check_isqrt(rng):
    values = [0, 1, 2, 3, 4, 2**62, 2**63 - 1] + [v * v + dv for v in (1, 3, 2**20, 2**31 - 1, 3037000499) for dv in (-1, 0, 1)]
    values += [int(v) for v in rng.randint(0, 2**63 - 1, 2000, dtype=np.int64)]
    ok = all(math.isqrt(v) ** 2 <= v < (math.isqrt(v) + 1) ** 2 for v in values if v >= 0)
    check(ok, "isqrt is the floor square root")
    print(f"isqrt: floor square root exact on {len(values)} values up to 2^63 - 1")


def check_quantizer(rng):
    worst = 0.0
    for r in list(np.exp(rng.uniform(-22, 20.7, 2000))) + [1.0, 0.5, 1 - 2.0**-40, 2.0**-32, 2.0**30 - 1]:
        m, n = ref.quantize_multiplier(float(r))
        check(2**30 <= m < 2**31 and 1 <= n <= 62, f"quantize_multiplier({r}) = {m}, {n}")
        worst = max(worst, abs(m * 2.0**-n - r) / r)
    check(worst <= 2.0**-31, f"multiplier relative error {worst}")
    for r in (2.0**-32 * (1 - 2.0**-20), 2.0**30):
        try:
            ref.quantize_multiplier(r)
            check(False, f"quantize_multiplier({r}) needs a shift outside [1, 62]")
        except ValueError:
            pass
    ms, n = ref.shared_shift([0.75, 0.01])
    check(ms[0] < 2**31 and round(0.75 * 2.0 ** (n + 1)) >= 2**31 and ms[1] == round(0.01 * 2.0**n), "shared shift")
    print(f"quantizer formulas: M in [2^30, 2^31), relative error <= {worst:.2e} (2^-31 = {2.0**-31:.2e})")


def check_gemm_family(rng):
    for trial in range(30):
        rows, o, k = rng.randint(1, 9), rng.randint(1, 9), rng.randint(1, 40)
        x = rng.randint(-128, 128, (rows, k))
        x[0, :] = -128  # the extreme code
        w = rng.randint(-127, 128, (o, k))
        w[0, :] = -127
        b = rng.randint(-(2**20), 2**20, o)
        m = rng.randint(2**30, 2**31, o)
        m[0] = 2**31 - 1
        s = rng.randint(1, 63, o)
        s[:2] = (1, 62)[: min(2, o)]
        z = int(rng.randint(-128, 128))
        args = (x.tolist(), w.tolist(), b.tolist(), m.tolist(), s.tolist())
        check(ref.gemm(x, w, b, m, s, z).tolist() == l_gemm(*args, z), f"gemm trial {trial}")
        check(ref.gemm32(x, w, b, m, s).tolist() == l_gemm(*args), f"gemm32 trial {trial}")
    # patchify: (c, ky, kx) order, floor on both axes
    for h, w_, c, k in ((9, 7, 3, 2), (21, 20, 1, 2), (8, 8, 8, 4)):
        grid = rng.randint(-128, 128, (h, w_, c))
        check(ref.patchify(grid, k).tolist() == l_patchify(grid.tolist(), k), f"patchify {h}x{w_}x{c} k={k}")
    # qk, pv
    for heads, n, nk, d in ((1, 5, 3, 4), (3, 7, 4, 2), (2, 4, 9, 8)):
        q, kk = rng.randint(-128, 128, (n, heads * d)), rng.randint(-128, 128, (nk, heads * d))
        q[0, :], kk[0, :] = -128, -128
        p = [2**31 - 1, int(rng.randint(1, 40))]
        check(ref.qk(q, kk, heads, p).tolist() == l_qk(q.tolist(), kk.tolist(), heads, p), f"qk heads={heads}")
        probs = rng.randint(0, 32768, (heads, n, nk))
        v = rng.randint(-128, 128, (nk, heads * d))
        p = [int(rng.randint(2**30, 2**31)), int(rng.randint(10, 40))]
        check(ref.pv(probs, v, p).tolist() == l_pv(probs.tolist(), v.tolist(), p), f"pv heads={heads}")
    # dwconv2 on odd grids (the floor drops the last row/column)
    for h0, hq, wq, nk in ((1, 4, 4, 3), (2, 5, 7, 6), (3, 3, 2, 1)):
        s_ = rng.randint(-128, 128, (h0, hq * wq, nk))
        w = rng.randint(-127, 128, (h0, 4))
        b, m = rng.randint(-5000, 5000, h0), rng.randint(2**30, 2**31, h0)
        sh, z = rng.randint(1, 20, h0), int(rng.randint(-20, 20))
        got = ref.dwconv2(s_, (hq, wq), w, b, m, sh, z).tolist()
        want = l_dwconv2(s_.tolist(), (hq, wq), w.tolist(), b.tolist(), m.tolist(), sh.tolist(), z)
        check(got == want, f"dwconv2 {h0}x{hq}x{wq}")
    # meanpool vs loops and vs the float mean
    x = rng.randint(-128, 128, (49, 24))
    p = [-7, 0, 0, 3]
    p[1], p[2] = ref.quantize_multiplier(1 / 49 * 0.9)
    got = ref.meanpool(x, p)
    check(got.tolist() == l_meanpool(x.tolist(), p), "meanpool")
    err = np.abs(got - (3 + (x + 7).mean(axis=0) * 0.9)).max()
    check(err <= 0.5 + 1e-6, f"meanpool vs float mean: {err}")
    print("gemm, gemm32, patchify, qk, pv, dwconv2, meanpool: equal to the loop implementations "
          f"(extremes -128, -127, M = 2^31 - 1, n = 1 and 62 included); meanpool within {err:.3f} codes of the float mean")


def check_add2(rng):
    a, b = np.meshgrid(np.arange(-128, 128), np.arange(-128, 128))
    worst = 0.0
    for trial in range(6):
        s_a, s_b, s_out = np.exp(rng.uniform(-4, 0, 3))
        z_a, z_b, z_out = (int(v) for v in rng.randint(-128, 128, 3))
        (m_a, m_b), n = ref.shared_shift([s_a / s_out, s_b / s_out])
        p = [z_a, z_b, z_out, m_a, m_b, n]
        got = ref.add2(a, b, p)
        exact = [l_add2(int(x), int(y), p) for x, y in zip(a.reshape(-1)[::97], b.reshape(-1)[::97])]
        check(got.reshape(-1)[::97].tolist() == exact, f"add2 trial {trial} vs loops")
        real = z_out + s_a / s_out * (a - z_a) + s_b / s_out * (b - z_b)
        inside = (real > -128) & (real < 127)
        worst = max(worst, float(np.abs(got - real)[inside].max()))
        check(np.array_equal(got[~inside], np.clip(np.round(real[~inside]), -128, 127)), f"add2 trial {trial} saturation")
    check(worst <= 0.5 + 1e-6, f"add2 vs float: {worst}")
    print(f"add2: all 65536 input pairs, 6 random scale sets: within {worst:.4f} codes of the float sum")


def check_layernorm(rng):
    """Error budget per element: 0.55 (final rounding, t's 2^-15 steps, inv's floor) + |n| dE / 2W
    (n the normalised part in codes, dE the distance from the integer E to eps C^3 / s_in^2; it
    matters only when W = V + E is a few dozen, a nearly constant row of 8). The root's k fractional
    bits took away the other term, |n| / R, that a plain isqrt(W) left (up to 1/22 of n at C = 8)."""
    worst, over, rows_checked = 0.0, 0, 0

    def measure(x, gamma, beta, s_in, z_in, s_out, z_out, eps):
        nonlocal worst, over, rows_checked
        c = x.shape[1]
        g, bb, p = ref.layernorm_params(gamma, beta, s_in, z_in, s_out, z_out, eps)
        got = ref.layernorm(x, g, bb, p)
        if c <= 64:
            check(got.tolist() == l_layernorm(x.tolist(), g.tolist(), bb.tolist(), p.tolist()), f"layernorm C={c} vs loops")
        real = s_in * (x - z_in)
        norm = (real - real.mean(1, keepdims=True)) / np.sqrt(real.var(1, keepdims=True) + eps)
        want = z_out + (gamma * norm + beta) / s_out
        d = c * (x - z_in) - (x - z_in).sum(1, keepdims=True)
        w = (d * d).sum(1, keepdims=True) + int(p[1])
        e_term = np.abs(gamma * norm / s_out) * abs(int(p[1]) - eps * c**3 / s_in**2) / (2 * w)
        inside = (want > -127.5) & (want < 126.5)
        err = np.abs(got - want) - e_term
        over += int(((err > 0.55) & inside).sum())
        if inside.any():
            worst = max(worst, float(err[inside].max()))
        rows_checked += x.shape[0]

    for c in (8, 16, 24, 64, 320, 768, 4096):
        for spread in (1, 3, 10, 30, 60):
            s_in, z_in, z_out = float(np.exp(rng.uniform(-5, 0))), int(rng.randint(-60, 60)), int(rng.randint(-20, 20))
            eps = float(rng.choice([1e-6, 1e-5, 1e-3]))
            gamma, beta = rng.uniform(0.5, 1.5, c), rng.uniform(-0.5, 0.5, c)
            s_out = float(np.sqrt(np.mean(gamma**2 + beta**2)) / 30)
            x = np.clip(np.round(rng.normal(z_in + rng.uniform(-20, 20), spread, (16, c))), -128, 127).astype(np.int64)
            measure(x, gamma, beta, s_in, z_in, s_out, z_out, eps)
    # Nearly constant narrow rows, one or two codes off, with the outlier near full scale: where a
    # floor square root of W (R = 23 for C = 24) was 2% off.
    for c in (8, 12, 24):
        base = np.full((4, c), 7, np.int64)
        base[0, -1], base[1, -1], base[2, -2:], base[3, 0] = 8, 6, (8, 6), 9
        measure(base, np.ones(c), np.zeros(c), 0.05, 0, math.sqrt(c - 1) / 110, 0, 1e-6)
    check(over == 0, f"layernorm vs float: {over} elements over the error budget")
    # a constant row: V = 0, R = isqrt(E), t = 0, y = z_out + RS(bb, shift)
    g, bb, p = ref.layernorm_params(np.ones(8), np.linspace(-0.5, 0.5, 8), 0.05, 3, 1 / 30, -4, 1e-6)
    got = ref.layernorm(np.full((1, 8), 17), g, bb, p)[0]
    check(got.tolist() == [int(np.clip(-4 + ref.rs(v, int(p[2])), -128, 127)) for v in bb], "layernorm on a constant row")
    print(f"layernorm: {rows_checked} rows, C = 8..4096, spreads 1..60 codes and nearly constant narrow rows: within 0.55 + |n| dE / 2W codes "
          f"of float LayerNorm (at most {worst:.3f} beyond the E term); equal to the loops for C <= 64; "
          "a constant row gives z_out + RS(bb, shift)")


def check_softmax(rng):
    worst, rows = 0.0, 0
    for nk in (1, 2, 4, 49, 100, 3136):
        for spread in (1, 10, 40, 90):
            s_a = float(rng.uniform(0.02, 0.2))
            table = ref.exp_table(s_a)
            check(int(table[0]) == 32768 and all(np.diff(table) <= 0), "exp table")
            a = np.clip(np.round(rng.normal(0, spread, (8, nk))), -128, 127).astype(np.int64)
            got = ref.softmax(a, table)
            if nk <= 100:
                check(got.tolist() == [l_softmax_row(row, table.tolist()) for row in a.tolist()], f"softmax Nk={nk} vs loops")
            z = s_a * a
            want = np.exp(z - z.max(1, keepdims=True))
            want /= want.sum(1, keepdims=True)
            worst = max(worst, float(np.abs(got / 2**15 - want).max()))
            rows += 8
    check(worst <= 8 / 2**15, f"softmax vs float: {worst * 2**15:.1f}/2^15")
    print(f"softmax: {rows} rows, Nk = 1..3136: within {worst * 2**15:.1f}/2^15 of float softmax; equal to the loops")


def check_gelu(rng):
    worst = 0.0
    for _ in range(10):
        s_in, z_in = float(rng.uniform(0.01, 0.08)), int(rng.randint(-30, 30))
        s_out = float(rng.uniform(0.01, 0.05))
        z_out = -128 + math.ceil(0.17 / s_out)
        t = ref.gelu_table(s_in, z_in, s_out, z_out)
        x = np.arange(-128, 128)
        got = ref.gelu(x, t)
        check(got.tolist() == [int(t[v + 128]) for v in range(-128, 128)], "gelu lookup t[x + 128]")
        want = np.array([ref.gelu_float(s_in * (v - z_in)) for v in x]) / s_out + z_out
        inside = want < 126.5
        worst = max(worst, float(np.abs(got - want)[inside].max()))
        # the exact erf form, not the tanh approximation
        check(abs(ref.gelu_float(1.0) - 0.8413447460685429) < 1e-12, "GELU is the erf form")
    check(worst <= 0.5 + 1e-9, f"gelu vs float {worst}")
    print(f"gelu: tables from the erf GELU, lookup at x + 128, within {worst:.3f} codes of float")


def check_refusals():
    mf = modelfile.load(str(FIXTURES / "multi" / "model.lvt"))

    def refused(meta_edit=None, tensor_edit=None, expect=""):
        meta = json.loads(mf.metadata_json)
        tensors = dict(mf.tensors)
        if meta_edit:
            meta_edit(meta)
        if tensor_edit:
            tensor_edit(tensors)
        bad = modelfile.ModelFile(meta, b"", tensors)
        try:
            ref.check_model(bad)
        except ref.ModelError as e:
            check(expect in str(e), f"refusal message '{e}' lacks '{expect}'")
            return
        check(False, f"not refused: {expect}")

    name = "stages.1.blocks.0.attn.kv"
    refused(lambda m: m.update(format="lavit-f32"), expect="'format'")
    refused(lambda m: m.update(quant_version=1), expect="'quant_version'")
    refused(lambda m: m["lavit_config"].update(num_heads=[1, 3, 3]), expect="lavit_config")
    refused(tensor_edit=lambda t: t.pop(name + ".w"), expect=f"'{name}.w' is missing")
    refused(tensor_edit=lambda t: t.update({name + ".b": t[name + ".b"].astype(np.int64)}), expect=f"'{name}.b' is int64")
    refused(tensor_edit=lambda t: t.update({name + ".m": t[name + ".m"][:-1]}), expect=f"'{name}.m'")
    refused(tensor_edit=lambda t: t.update({name + ".s": np.where(np.arange(32) == 3, 63, t[name + ".s"]).astype(np.int32)}),
            expect=f"'{name}.s': shift 63")
    refused(tensor_edit=lambda t: t.update({name + ".m": np.full(32, 2**30 - 1, np.int32)}), expect=f"'{name}.m': multiplier")
    refused(tensor_edit=lambda t: t.update({name + ".p": np.array([1], np.int64)}), expect=f"'{name}.p': z_out 1")
    refused(tensor_edit=lambda t: t.update({name + ".b": np.full(32, 2**31 - 1, np.int32)}), expect="int32 accumulator")
    refused(tensor_edit=lambda t: t.update({name + ".w": np.full((32, 16), -128, np.int8)}), expect=f"'{name}.w': weight -128")
    refused(tensor_edit=lambda t: t.update({"norm.p": np.array([0, 0, 30, 0], np.int64)}), expect="'norm.p': E 0")
    refused(tensor_edit=lambda t: t.update({"stages.0.blocks.0.attn.softmax.exp": np.zeros(256, np.int32)}), expect="exp[0] 0")
    refused(tensor_edit=lambda t: t.update({"stages.1.blocks.0.attn.ar_add.p": np.array([0, 0, 5, 1, 1, 1], np.int64)}),
            expect="ar_add.p': zero point 5")
    try:
        ref.run(mf, np.zeros((32, 32, 1), np.uint8))
        check(False, "a wrong image shape is not refused")
    except ref.ModelError as e:
        check("[32, 32, 3]" in str(e), f"image refusal: {e}")
    print("refusals: 15 bad files/images refused with a message naming the key, tensor or value")


def check_fixtures():
    names = sorted(p.name for p in FIXTURES.iterdir() if (p / "golden.lvt").exists())
    check(names == ["edge", "multi", "plain", "rect"], f"fixtures {names}")
    for name in names:
        mf, gold = modelfile.load(str(FIXTURES / name / "model.lvt")), modelfile.load(str(FIXTURES / name / "golden.lvt")).tensors
        res = ref.run(mf, gold["input"])
        check(np.array_equal(res.logits, gold["logits"]), f"{name}: run() logits differ from golden.lvt")
        check(np.array_equal(ref.run(mf, gold["input2"]).logits, gold["logits2"]), f"{name}: logits2")
        for key, value in gold.items():
            if key not in ("input", "input2", "logits2"):
                check(np.array_equal(res.tensors[key], value) and res.tensors[key].dtype == value.dtype, f"{name}: {key}")
        start = time.perf_counter()
        loops = LoopModel(mf).forward(gold["input"])
        elapsed = time.perf_counter() - start
        same = [k for k in gold if k not in ("input", "input2", "logits2") and np.array_equal(np.array(loops[k]), gold[k])]
        differ = sorted(set(gold) - set(same) - {"input", "input2", "logits2"})
        check(not differ, f"{name}: loop graph differs on {differ}")
        loops2 = LoopModel(mf).forward(gold["input2"])
        check(loops2["logits"] == gold["logits2"].tolist(), f"{name}: loop graph logits2")
        print(f"fixture {name}: golden.lvt reproduced by int8_ref.run and by the loop graph ({len(same)} tensors "
              f"+ logits2; loops {elapsed:.1f} s)")


def main() -> int:
    rng = np.random.RandomState(7)
    for step in (check_rounding, check_isqrt, check_quantizer, check_gemm_family, check_add2, check_layernorm,
                 check_softmax, check_gelu):
        step(rng)
    check_refusals()
    check_fixtures()
    print("FAILED: " + "; ".join(FAILURES) if FAILURES else "all checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
