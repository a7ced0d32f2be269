"""The diagonality-preserving loss of MODEL.md "Training-only parts" (our sign: both terms minimised)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .config import LavitConfig
from .model import LavitOutput

# Weight of the loss against cross-entropy.
DIAG_LOSS_WEIGHT = 1e-2


def diagonal_keys(cfg: LavitConfig, m: int) -> torch.Tensor:
    """diag(n) for every query n of stage m: the key cell (y / r, x / r) that contains it.

    Queries in the rows/columns the floor-dividing sr conv drops map to the last key row/column.
    """
    (h, w), (hk, wk), r = cfg.stage_grids()[m], cfg.key_grids()[m], cfg.sr_ratios[m]
    y = torch.arange(h).repeat_interleave(w)
    x = torch.arange(w).repeat(h)
    return (y // r).clamp(max=hk - 1) * wk + (x // r).clamp(max=wk - 1)


def layer_loss(cfg: LavitConfig, m: int, scores: torch.Tensor) -> torch.Tensor:
    """Loss of one LA layer's stored scores (B, h, N, Nk)."""
    p = torch.softmax(scores, dim=-1)
    loss = p.new_zeros(())
    n, nk = p.shape[-2], p.shape[-1]
    if cfg.sr_ratios[m] == 1:
        loss = loss + (p - p.transpose(-1, -2)).abs().mean()
    if nk > 1:
        idx = diagonal_keys(cfg, m).to(p.device).view(1, 1, n, 1).expand(*p.shape[:-1], 1)
        p_diag = p.gather(-1, idx).squeeze(-1)
        off_mean = (p.sum(dim=-1) - p_diag) / (nk - 1)
        loss = loss + F.relu(off_mean - p_diag).mean()
    return loss


def diagonality_loss(cfg: LavitConfig, out: LavitOutput) -> torch.Tensor:
    """Sum over all LA layers of `layer_loss` (unweighted; multiply by DIAG_LOSS_WEIGHT)."""
    total = out.logits.new_zeros(())
    for m, stage_scores in enumerate(out.scores):
        for i, s in enumerate(stage_scores):
            if not cfg.is_va(m, i):
                total = total + layer_loss(cfg, m, s)
    return total
