"""Params and MACs per layer, counted from the config as MODEL.md "Counting params and MACs" says.

The count is analytic (no model is built), so it also works for configs too big to instantiate;
`check()` builds the torch model and compares: params with `sum(p.numel())`, and the conv/linear
MACs with forward hooks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List

import torch
from torch import nn

from .config import LavitConfig


@dataclass
class Row:
    name: str  # a state_dict prefix, or "<prefix>.qk" / ".av" for the attention matmuls
    params: int
    macs: int


def count(cfg: LavitConfig) -> List[Row]:
    cfg.validate()
    rows: List[Row] = []

    def add(name: str, params: int, macs: int = 0) -> None:
        rows.append(Row(name, params, macs))

    for m in range(cfg.num_stages):
        c, h, r = cfg.embed_dims[m], cfg.num_heads[m], cfg.sr_ratios[m]
        n, nk = cfg.tokens(m), cfg.key_tokens(m)
        cin = cfg.in_chans if m == 0 else cfg.embed_dims[m - 1]
        k = cfg.patch_size if m == 0 else 2
        s = f"stages.{m}"
        add(f"{s}.embed.proj", cin * c * k * k + c, n * c * cin * k * k)
        add(f"{s}.embed.norm", 2 * c)
        add(f"{s}.pos_embed", n * c)
        if m > 0 and cfg.attention_residual:
            hp = cfg.num_heads[m - 1]
            add(f"{s}.attn_residual.dw", hp * 4 + hp, hp * n * nk * 4)
            add(f"{s}.attn_residual.pw", h * hp + h, n * nk * h * hp)
            add(f"{s}.attn_residual.gamma", h)
        hidden = c * cfg.mlp_ratios[m]
        for i in range(cfg.depths[m]):
            b = f"{s}.blocks.{i}"
            add(f"{b}.norm1", 2 * c)
            if cfg.is_va(m, i):
                add(f"{b}.attn.q", c * c + c, n * c * c)
                add(f"{b}.attn.kv", 2 * c * c + 2 * c, nk * 2 * c * c)
                add(f"{b}.attn.qk", 0, n * nk * c)
            else:
                add(f"{b}.attn.v", c * c + c, nk * c * c)
                add(f"{b}.attn.theta", nk * nk + nk, h * n * nk * nk)
                add(f"{b}.attn.psi", n * n, h * nk * n * n)
            if r > 1:
                add(f"{b}.attn.sr", c * c * r * r + c, nk * c * c * r * r)
                add(f"{b}.attn.norm", 2 * c)
            add(f"{b}.attn.av", 0, n * nk * c)
            add(f"{b}.attn.proj", c * c + c, n * c * c)
            add(f"{b}.norm2", 2 * c)
            add(f"{b}.mlp.fc1", c * hidden + hidden, n * c * hidden)
            add(f"{b}.mlp.fc2", hidden * c + c, n * hidden * c)
    c = cfg.embed_dims[-1]
    add("norm", 2 * c)
    add("head", c * cfg.num_classes + cfg.num_classes, c * cfg.num_classes)
    return rows


def totals(cfg: LavitConfig) -> Dict[str, int]:
    rows = count(cfg)
    return {"params": sum(r.params for r in rows), "macs": sum(r.macs for r in rows)}


def _hooked_macs(model: nn.Module, x: torch.Tensor) -> Dict[str, int]:
    """MACs of every nn.Conv2d / nn.Linear call, measured from the actual tensors (batch 1)."""
    found: Dict[str, int] = {}
    handles = []
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv2d):
            per_out = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, nn.Linear):
            per_out = mod.in_features
        else:
            continue

        def hook(_m, _inp, out, name=name, per_out=per_out):
            found[name] = found.get(name, 0) + out.numel() * per_out

        handles.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return found


def check(cfg: LavitConfig) -> None:
    """Assert the analytic count against the torch model; raises AssertionError naming the layer."""
    from .model import LavitModel

    model = LavitModel(cfg)
    rows = count(cfg)
    total = sum(r.params for r in rows)
    actual = sum(p.numel() for p in model.parameters())
    assert total == actual, f"{cfg.name}: analytic params {total} != torch model {actual}"
    by_prefix: Dict[str, int] = {}
    for key, p in model.state_dict().items():
        prefix = key if key.endswith(("pos_embed", "gamma")) else key.rsplit(".", 1)[0]
        by_prefix[prefix] = by_prefix.get(prefix, 0) + p.numel()
    expected = {r.name: r.params for r in rows if r.params}
    assert by_prefix == expected, f"{cfg.name}: per-layer params differ: {sorted(set(by_prefix.items()) ^ set(expected.items()))}"
    measured = _hooked_macs(model, torch.zeros(1, cfg.in_chans, *cfg.image_size))
    analytic = {r.name: r.macs for r in rows if r.name in measured}
    assert measured == analytic, f"{cfg.name}: conv/linear MACs differ: {sorted(set(measured.items()) ^ set(analytic.items()))}"
