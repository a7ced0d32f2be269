"""The LaViT config of Tools/MODEL.md: JSON keys, defaults, validation, geometry, variants."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

# Keys that are per-stage lists; they must all have the same length S >= 1.
_STAGE_KEYS = ("embed_dims", "depths", "num_heads", "num_va", "sr_ratios", "mlp_ratios")
_REQUIRED_KEYS = ("image_size", "num_classes", "patch_size") + _STAGE_KEYS


@dataclass
class LavitConfig:
    """One LaViT architecture. Field names are exactly the JSON keys of MODEL.md."""

    image_size: List[int]
    num_classes: int
    patch_size: int
    embed_dims: List[int]
    depths: List[int]
    num_heads: List[int]
    num_va: List[int]
    sr_ratios: List[int]
    mlp_ratios: List[int]
    name: str = "custom"
    in_chans: int = 3
    attention_residual: bool = True
    ln_eps: float = 1e-6
    input_mean: List[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    input_std: List[float] = field(default_factory=lambda: list(IMAGENET_STD))

    # JSON

    def to_dict(self, omit_defaults: bool = False) -> Dict[str, Any]:
        """omit_defaults drops optional keys that equal MODEL.md's defaults (a reader must fill them)."""
        d = dataclasses.asdict(self)
        if omit_defaults:
            for f in dataclasses.fields(self):
                default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
                if f.name not in _REQUIRED_KEYS and d[f.name] == default:
                    del d[f.name]
        return d

    def to_json(self, indent: Optional[int] = None, omit_defaults: bool = False) -> str:
        return json.dumps(self.to_dict(omit_defaults), indent=indent)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "LavitConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"lavit config: unknown key(s) {unknown}")
        missing = [k for k in _REQUIRED_KEYS if k not in d]
        if missing:
            raise ValueError(f"lavit config: missing required key(s) {missing}")
        return cls(**{k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in d.items()})

    @classmethod
    def from_json(cls, text: str) -> "LavitConfig":
        return cls.from_dict(json.loads(text))

    # Geometry (all divisions floor, like a strided conv without padding)

    @property
    def num_stages(self) -> int:
        return len(self.embed_dims)

    def stage_grids(self) -> List[Tuple[int, int]]:
        """Query grid (H_m, W_m) of every stage."""
        h, w = self.image_size[0] // self.patch_size, self.image_size[1] // self.patch_size
        grids = []
        for m in range(self.num_stages):
            if m > 0:
                h, w = h // 2, w // 2
            grids.append((h, w))
        return grids

    def key_grids(self) -> List[Tuple[int, int]]:
        """Key grid (Hk_m, Wk_m) of every stage, after the spatial reduction by r_m."""
        return [(h // r, w // r) for (h, w), r in zip(self.stage_grids(), self.sr_ratios)]

    def tokens(self, m: int) -> int:
        h, w = self.stage_grids()[m]
        return h * w

    def key_tokens(self, m: int) -> int:
        h, w = self.key_grids()[m]
        return h * w

    def is_va(self, m: int, i: int) -> bool:
        return i < self.num_va[m]

    # Validation

    def validate(self) -> None:
        """Raise ValueError naming the first rule of MODEL.md "Geometry" this config breaks."""

        def fail(msg: str) -> None:
            raise ValueError(f"lavit config '{self.name}': {msg}")

        if not isinstance(self.name, str):
            fail("name must be a string")
        if not (isinstance(self.image_size, list) and len(self.image_size) == 2):
            fail(f"image_size must be [H, W], got {self.image_size!r}")
        for key in ("in_chans", "num_classes", "patch_size"):
            value = getattr(self, key)
            if not _is_int(value) or value < 1:
                fail(f"{key} must be an integer >= 1, got {value!r}")
        if any(not _is_int(v) or v < 1 for v in self.image_size):
            fail(f"image_size entries must be integers >= 1, got {self.image_size}")
        s = len(self.embed_dims) if isinstance(self.embed_dims, list) else 0
        if s < 1:
            fail("embed_dims must be a non-empty list")
        for key in _STAGE_KEYS:
            values = getattr(self, key)
            if not isinstance(values, list) or len(values) != s:
                fail(f"{key} must be a list of {s} entries (one per stage), got {values!r}")
            if any(not _is_int(v) or v < 1 for v in values):
                fail(f"{key} entries must be integers >= 1, got {values}")
        if not isinstance(self.attention_residual, bool):
            fail(f"attention_residual must be a bool, got {self.attention_residual!r}")
        if not isinstance(self.ln_eps, (int, float)) or isinstance(self.ln_eps, bool) or not self.ln_eps > 0:
            fail(f"ln_eps must be a number > 0, got {self.ln_eps!r}")
        for key in ("input_mean", "input_std"):
            values = getattr(self, key)
            if not isinstance(values, list) or len(values) != self.in_chans:
                fail(f"{key} must be a list of in_chans={self.in_chans} numbers, got {values!r}")
        if any(not v > 0 for v in self.input_std):
            fail(f"input_std entries must be > 0, got {self.input_std}")
        for m in range(s):
            if self.embed_dims[m] % self.num_heads[m] != 0:
                fail(f"stage {m}: embed_dims {self.embed_dims[m]} is not divisible by num_heads {self.num_heads[m]}")
            if self.num_va[m] > self.depths[m]:
                fail(f"stage {m}: num_va {self.num_va[m]} exceeds depth {self.depths[m]}")
        for m, ((h, w), (hk, wk)) in enumerate(zip(self.stage_grids(), self.key_grids())):
            if h < 1 or w < 1:
                fail(f"stage {m}: query grid {h}x{w} is empty (image_size {self.image_size} too small)")
            if hk < 1 or wk < 1:
                fail(f"stage {m}: key grid {hk}x{wk} is empty (sr_ratio {self.sr_ratios[m]} > grid {h}x{w})")
        if self.attention_residual:
            kg = self.key_grids()
            for m in range(1, s):
                if kg[m] != kg[m - 1]:
                    fail(
                        f"attention_residual needs equal key grids in consecutive stages, "
                        f"stage {m - 1} has {kg[m - 1][0]}x{kg[m - 1][1]} and stage {m} has {kg[m][0]}x{kg[m][1]}"
                    )


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _variant(name: str, embed_dims, num_heads, depths, num_va) -> LavitConfig:
    return LavitConfig(
        name=name,
        image_size=[224, 224],
        num_classes=1000,
        patch_size=4,
        embed_dims=list(embed_dims),
        depths=list(depths),
        num_heads=list(num_heads),
        num_va=list(num_va),
        sr_ratios=[8, 4, 2, 1],
        mlp_ratios=[6, 6, 4, 4],
    )


def variant(name: str) -> LavitConfig:
    """The named variants of MODEL.md's table."""
    builders = {
        "lavit-t": lambda: _variant("lavit-t", [64, 128, 256, 512], [1, 2, 4, 8], [2, 2, 2, 2], [2, 2, 1, 1]),
        "lavit-s": lambda: _variant("lavit-s", [64, 128, 320, 512], [1, 2, 5, 8], [3, 4, 6, 3], [3, 4, 3, 1]),
        "lavit-b": lambda: _variant("lavit-b", [64, 128, 320, 512], [1, 2, 5, 8], [3, 4, 18, 3], [3, 4, 9, 1]),
    }
    if name not in builders:
        raise ValueError(f"unknown variant '{name}', expected one of {sorted(builders)}")
    return builders[name]()


VARIANTS = ("lavit-t", "lavit-s", "lavit-b")
