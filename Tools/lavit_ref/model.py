"""The LaViT reference model, exactly as Tools/MODEL.md defines it (module names = state_dict keys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .config import LavitConfig


@dataclass
class LavitOutput:
    """Everything a forward pass exposes: the tests need the activations, the loss the scores."""

    logits: torch.Tensor  # (B, num_classes)
    stages: List[torch.Tensor]  # per stage: x after its last block, (B, N_m, C_m)
    scores: List[List[torch.Tensor]]  # [m][i]: stored pre-softmax scores S, (B, h_m, N_m, Nk_m)


class StageEmbed(nn.Module):
    """Strided conv (patch stem or k2 s2 downsampling) then LayerNorm on the tokens."""

    def __init__(self, in_ch: int, out_ch: int, k: int, eps: float):
        super().__init__()
        self.proj = nn.Conv2d(in_ch, out_ch, k, stride=k)
        self.norm = nn.LayerNorm(out_ch, eps=eps)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(img).flatten(2).transpose(1, 2))


class AttentionResidual(nn.Module):
    """Maps stage m-1's last scores (B, h_{m-1}, N_{m-1}, Nk) to stage m's (B, h_m, N_m, Nk)."""

    def __init__(self, prev_heads: int, heads: int, prev_grid: Tuple[int, int]):
        super().__init__()
        self.prev_grid = prev_grid
        self.dw = nn.Conv2d(prev_heads, prev_heads, 2, stride=2, groups=prev_heads)
        self.pw = nn.Conv2d(prev_heads, heads, 1)
        self.gamma = nn.Parameter(torch.empty(heads))

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        b, h, _, nk = s.shape
        hq, wq = self.prev_grid
        # A batch of Nk images, heads as channels, over the previous stage's query grid.
        img = s.permute(0, 3, 1, 2).reshape(b * nk, h, hq, wq)
        y = self.pw(self.dw(img)) * self.gamma.view(1, -1, 1, 1)
        return y.reshape(b, nk, y.shape[1], -1).permute(0, 2, 3, 1)


class Attention(nn.Module):
    """A VA layer (q, kv) or an LA layer (v, theta, psi); both with PVT spatial reduction of keys."""

    def __init__(self, cfg: LavitConfig, m: int, va: bool):
        super().__init__()
        c, self.heads, r = cfg.embed_dims[m], cfg.num_heads[m], cfg.sr_ratios[m]
        n, nk = cfg.tokens(m), cfg.key_tokens(m)
        self.va, self.r, self.grid = va, r, cfg.stage_grids()[m]
        self.scale = float((c // self.heads) ** -0.5)
        if va:
            self.q = nn.Linear(c, c)
            self.kv = nn.Linear(c, 2 * c)
        else:
            self.v = nn.Linear(c, c)
            self.theta = nn.Linear(nk, nk)
            self.psi = nn.Linear(n, n, bias=False)
        if r > 1:
            self.sr = nn.Conv2d(c, c, r, stride=r)
            self.norm = nn.LayerNorm(c, eps=cfg.ln_eps)
        self.proj = nn.Linear(c, c)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        b, n, c = t.shape
        return t.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(
        self, u: torch.Tensor, prev_scores: Optional[torch.Tensor], residual: Optional[torch.Tensor]
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        b, n, c = u.shape
        if self.r > 1:
            h, w = self.grid
            img = u.transpose(1, 2).reshape(b, c, h, w)
            ur = self.norm(self.sr(img).flatten(2).transpose(1, 2))
        else:
            ur = u
        if self.va:
            q = self._split(self.q(u))
            kv = self.kv(ur)
            k, v = self._split(kv[..., :c]), self._split(kv[..., c:])
            a = (q @ k.transpose(-1, -2)) * self.scale
            if residual is not None:
                a = a + residual
        else:
            v = self._split(self.v(ur))
            a = torch.matmul(self.psi.weight, self.theta(prev_scores))
        z = (torch.softmax(a, dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(z), a


class Mlp(nn.Module):
    def __init__(self, c: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(c, hidden)
        self.fc2 = nn.Linear(hidden, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, cfg: LavitConfig, m: int, i: int):
        super().__init__()
        c = cfg.embed_dims[m]
        self.norm1 = nn.LayerNorm(c, eps=cfg.ln_eps)
        self.attn = Attention(cfg, m, cfg.is_va(m, i))
        self.norm2 = nn.LayerNorm(c, eps=cfg.ln_eps)
        self.mlp = Mlp(c, c * cfg.mlp_ratios[m])

    def forward(self, x, prev_scores, residual):
        y, scores = self.attn(self.norm1(x), prev_scores, residual)
        x = x + y
        return x + self.mlp(self.norm2(x)), scores


class Stage(nn.Module):
    def __init__(self, cfg: LavitConfig, m: int):
        super().__init__()
        c = cfg.embed_dims[m]
        in_ch = cfg.in_chans if m == 0 else cfg.embed_dims[m - 1]
        k = cfg.patch_size if m == 0 else 2
        self.grid = cfg.stage_grids()[m]
        self.embed = StageEmbed(in_ch, c, k, cfg.ln_eps)
        self.pos_embed = nn.Parameter(torch.empty(1, cfg.tokens(m), c))
        if m > 0 and cfg.attention_residual:
            self.attn_residual = AttentionResidual(cfg.num_heads[m - 1], cfg.num_heads[m], cfg.stage_grids()[m - 1])
        else:
            self.attn_residual = None
        self.blocks = nn.ModuleList(Block(cfg, m, i) for i in range(cfg.depths[m]))

    def forward(self, img: torch.Tensor, prev_stage_scores: Optional[torch.Tensor]):
        x = self.embed(img) + self.pos_embed
        residual = None
        if self.attn_residual is not None:
            residual = self.attn_residual(prev_stage_scores)
        scores: List[torch.Tensor] = []
        for i, block in enumerate(self.blocks):
            x, s = block(x, scores[-1] if scores else None, residual if i == 0 else None)
            scores.append(s)
        return x, scores

    def to_image(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens (B, N, C) back to (B, C, H, W) for the next stage's embedding conv."""
        h, w = self.grid
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], h, w)


class LavitModel(nn.Module):
    def __init__(self, cfg: LavitConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.stages = nn.ModuleList(Stage(cfg, m) for m in range(cfg.num_stages))
        self.norm = nn.LayerNorm(cfg.embed_dims[-1], eps=cfg.ln_eps)
        self.head = nn.Linear(cfg.embed_dims[-1], cfg.num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The training init of MODEL.md "Training-only parts"."""
        for name, p in self.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            with torch.no_grad():
                if leaf == "gamma":
                    p.fill_(1e-2)
                elif leaf == "pos_embed":
                    nn.init.trunc_normal_(p, std=0.02, a=-0.04, b=0.04)
                elif ".theta." in name or ".psi." in name:
                    if leaf == "weight":
                        p.copy_(torch.eye(p.shape[0], dtype=p.dtype))
                    else:
                        p.zero_()
                elif _is_layernorm_param(name):
                    p.fill_(1.0 if leaf == "weight" else 0.0)
                elif leaf == "weight":
                    nn.init.trunc_normal_(p, std=0.02, a=-0.04, b=0.04)
                else:
                    p.zero_()

    def forward_all(self, x: torch.Tensor) -> LavitOutput:
        """x: (B, in_chans, H, W) or (in_chans, H, W), already normalised."""
        if x.dim() == 3:
            x = x.unsqueeze(0)
        stages, scores = [], []
        img, last = x, None
        for stage in self.stages:
            t, s = stage(img, last)
            stages.append(t)
            scores.append(s)
            img, last = stage.to_image(t), s[-1]
        logits = self.head(self.norm(stages[-1]).mean(dim=1))
        return LavitOutput(logits=logits, stages=stages, scores=scores)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x).logits


def _is_layernorm_param(name: str) -> bool:
    parent = name.rsplit(".", 1)[0]
    return parent == "norm" or parent.endswith((".norm", ".norm1", ".norm2"))
