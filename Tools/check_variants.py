#!/usr/bin/python3
"""Params and MACs of lavit-t/s/b against the paper; exits 1 if any is more than 10% off.

The paper's "FLOPs" are MACs (the fvcore convention PVT also uses). The count is analytic
(lavit_ref.cost) and, unless --no-torch, checked against the built torch model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lavit_ref import cost  # noqa: E402
from lavit_ref.config import VARIANTS, LavitConfig, variant  # noqa: E402

# (params, MACs) from the paper's ImageNet-1K table.
PAPER = {"lavit-t": (10.9e6, 1.6e9), "lavit-s": (22.4e6, 3.3e9), "lavit-b": (39.6e6, 6.1e9)}
TOLERANCE = 0.10


def print_layers(cfg: LavitConfig) -> None:
    print(f"\n{cfg.name}: per layer")
    print(f"  {'layer':<40} {'params':>10} {'MACs':>14}")
    for r in cost.count(cfg):
        print(f"  {r.name:<40} {r.params:>10,} {r.macs:>14,}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-layer", action="store_true", help="also print every layer's params and MACs")
    ap.add_argument("--no-torch", action="store_true", help="skip building the torch models to cross-check")
    args = ap.parse_args()

    failed = False
    print(f"{'variant':<9} {'params':>9} {'paper':>7} {'diff':>7}   {'MACs':>7} {'paper':>7} {'diff':>7}")
    for name in VARIANTS:
        cfg = variant(name)
        if not args.no_torch:
            cost.check(cfg)
        t = cost.totals(cfg)
        pp, pm = PAPER[name]
        dp, dm = t["params"] / pp - 1, t["macs"] / pm - 1
        bad = abs(dp) > TOLERANCE or abs(dm) > TOLERANCE
        failed |= bad
        print(
            f"{name:<9} {t['params'] / 1e6:>8.2f}M {pp / 1e6:>6.1f}M {dp:>+7.1%}   "
            f"{t['macs'] / 1e9:>6.2f}G {pm / 1e9:>6.1f}G {dm:>+7.1%}{'   OFF BY MORE THAN 10%' if bad else ''}"
        )
    if args.per_layer:
        for name in VARIANTS:
            print_layers(variant(name))
    if not args.no_torch:
        print("\nanalytic counts match the torch models (params: sum of numel; conv/linear MACs: hooks)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
