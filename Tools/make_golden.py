#!/usr/bin/python3
"""Regenerate Tests/Fixtures/golden/ and Tests/Fixtures/bad/ (deterministic; see Tools/README.md).

Golden outputs are computed with the model in float64 and stored as float32; the float32 forward
pass is also run and its distance to the float64 one printed, so a reader knows the tolerance a
float32 engine can expect.
"""

from __future__ import annotations

import collections
import io
import math
import os
import pickle
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Dict

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lavit_ref import safetensors_io as st  # noqa: E402
from lavit_ref.checkpoint_io import load_checked, pickle_globals, unwrap  # noqa: E402
from lavit_ref.config import LavitConfig  # noqa: E402
from lavit_ref.model import LavitModel, LavitOutput  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "Tests" / "Fixtures" / "golden"
BAD = ROOT / "Tests" / "Fixtures" / "bad"
F16_MIN_NORMAL = 2.0**-14


def configs() -> Dict[str, tuple]:
    """name -> (config, omit_defaults_in_json, seed)."""
    multi = LavitConfig(
        name="multi", image_size=[32, 32], num_classes=10, patch_size=4,
        embed_dims=[8, 16, 24], depths=[2, 3, 2], num_heads=[1, 2, 3], num_va=[1, 1, 1],
        sr_ratios=[4, 2, 1], mlp_ratios=[4, 3, 2],
    )
    # 40x56 -> grids 10x14, 5x7, 2x3; sr 4/2/1 floors every one to a 2x3 key grid. Heads change
    # 2 -> 4 -> 3 across stages; stage 0 ends on a VA layer (the AR then reads VA scores), stages
    # 1 and 2 on LA layers. Optional keys equal to their defaults are left out of its JSON.
    rect = LavitConfig(
        name="rect", image_size=[40, 56], num_classes=10, patch_size=4,
        embed_dims=[8, 16, 24], depths=[2, 2, 3], num_heads=[2, 4, 3], num_va=[2, 1, 1],
        sr_ratios=[4, 2, 1], mlp_ratios=[3, 2, 2], ln_eps=1e-5,
    )
    # 21x20 with patch 2 floors to 10x10, then 5x5 and 2x2 (floors again); stage 1 is VA only.
    # One input channel with its own mean/std, and ln_eps 1e-3 so an engine ignoring it fails.
    plain = LavitConfig(
        name="plain", image_size=[21, 20], in_chans=1, num_classes=10, patch_size=2,
        embed_dims=[8, 16, 24], depths=[2, 2, 2], num_heads=[1, 2, 2], num_va=[1, 2, 1],
        sr_ratios=[1, 1, 1], mlp_ratios=[4, 3, 2], attention_residual=False, ln_eps=1e-3,
        input_mean=[0.5], input_std=[0.25],
    )
    return {"multi": (multi, False, 1), "rect": (rect, True, 2), "plain": (plain, False, 3)}


def randomize(model: LavitModel, gen: torch.Generator) -> None:
    """Random parameters that hide nothing: no identity Theta/Psi, no LN 1/0, no zero bias.

    Scales keep activations O(1) and scores of std about 1, so softmax rows are neither uniform
    nor one-hot.
    """
    def normal(shape, std):
        return torch.randn(shape, generator=gen, dtype=torch.float64) * std

    def uniform(shape, lo, hi):
        return lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float64)

    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            shape = p.shape
            if leaf == "gamma":
                value = uniform(shape, 0.3, 0.7)
            elif leaf == "pos_embed":
                value = normal(shape, 0.5)
            elif ".theta." in name or ".psi." in name:
                if leaf == "weight":
                    value = torch.eye(shape[0], dtype=torch.float64) + normal(shape, 0.4 / math.sqrt(shape[0]))
                else:
                    value = normal(shape, 0.2)
            elif _is_layernorm(name):
                value = uniform(shape, 0.8, 1.2) if leaf == "weight" else normal(shape, 0.1)
            elif leaf == "weight":
                fan_in = math.prod(shape[1:])
                gain = 1.5 if name.endswith(("attn.q.weight", "attn.kv.weight")) else 1.0
                value = normal(shape, gain / math.sqrt(fan_in))
            else:
                value = normal(shape, 0.1)
            p.copy_(value.to(p.dtype))


def _is_layernorm(name: str) -> bool:
    parent = name.rsplit(".", 1)[0]
    return parent == "norm" or parent.endswith((".norm", ".norm1", ".norm2"))


def round_to_f16_and_bf16(model: LavitModel) -> None:
    """Make every parameter exactly representable in float16 and bfloat16."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            q = p.to(torch.bfloat16).to(torch.float32)
            q[q.abs() < F16_MIN_NORMAL] = 0.0
            assert torch.equal(q.to(torch.float16).to(torch.float32), q), name
            assert torch.equal(q.to(torch.bfloat16).to(torch.float32), q), name
            p.copy_(q)


def run(model: LavitModel, x: torch.Tensor, dtype: torch.dtype) -> LavitOutput:
    m = LavitModel(model.cfg).to(dtype)
    m.load_state_dict({k: v.to(dtype) for k, v in model.state_dict().items()})
    m.eval()
    with torch.no_grad():
        return m.forward_all(x.to(dtype).unsqueeze(0))


def golden_tensors(model: LavitModel, x: torch.Tensor) -> Dict[str, torch.Tensor]:
    out64 = run(model, x, torch.float64)
    out32 = run(model, x, torch.float32)
    cfg = model.cfg
    t = {"input": x.to(torch.float32), "logits": out64.logits[0].float()}
    for m, s in enumerate(out64.stages):
        t[f"stage{m}"] = s[0].float()
    for m, stage_scores in enumerate(out64.scores):
        for i, s in enumerate(stage_scores):
            t[f"scores.{m}.{i}"] = s[0].float()
    diff = (out32.logits.double() - out64.logits).abs().max().item()
    scale = out64.logits.abs().max().item()
    print(f"  {cfg.name}: logits max |f32 - f64| = {diff:.3g} (max |logit| {scale:.3g})")
    for m, stage_scores in enumerate(out64.scores):
        for i, s in enumerate(stage_scores):
            p = torch.softmax(s, dim=-1)
            kind = "VA" if cfg.is_va(m, i) else "LA"
            print(
                f"    scores.{m}.{i} {kind} {tuple(s.shape[1:])}: std {s.std().item():.2f}, "
                f"row max prob mean {p.max(dim=-1).values.mean().item():.2f}"
            )
    return t


def save_pth(obj, path: Path) -> None:
    torch.save(obj, str(path))


def views_state_dict(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Same values, stored with non-standard strides, storage offsets and shared storages."""
    out = collections.OrderedDict((k, v.clone()) for k, v in sd.items())
    # Column-major 2-D weights: strides (1, rows).
    for key in ("head.weight", "stages.0.blocks.0.mlp.fc1.weight", "stages.1.blocks.1.attn.psi.weight"):
        out[key] = sd[key].t().contiguous().t()
    # A channels-last conv weight.
    key = "stages.1.embed.proj.weight"
    out[key] = sd[key].permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    # q and kv of one VA layer as views into one shared storage; kv starts at an offset.
    q, kv = "stages.2.blocks.0.attn.q.weight", "stages.2.blocks.0.attn.kv.weight"
    big = torch.cat([sd[q].flatten(), sd[kv].flatten()])
    out[q] = big[: sd[q].numel()].view(sd[q].shape)
    out[kv] = big[sd[q].numel() :].view(sd[kv].shape)
    # A bias that is every other element of its storage (stride 2).
    strided = "stages.0.blocks.1.mlp.fc2.bias"
    out[strided] = torch.stack([sd[strided], torch.full_like(sd[strided], 7.0)], dim=1)[:, 0]
    # pos_embed as the second half of a storage twice its size (offset, unused trailing data).
    key = "stages.0.pos_embed"
    pad = torch.full_like(sd[key], -3.0)
    out[key] = torch.cat([pad, sd[key]], dim=0)[1:2]
    for k in sd:
        assert torch.equal(out[k], sd[k]), k
    assert not out["head.weight"].is_contiguous() and out[kv].storage_offset() > 0
    assert out[strided].stride() == (2,) and out[key].storage_offset() > 0
    return out


class Evil:
    """Pickles as a call to os.system: a checkpoint that runs code if unpickled naively."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def save_legacy(path: Path) -> None:
    """A two-tensor dict in torch's legacy (pre-1.6, non-zip) format.

    The legacy writer names storages by memory address; both tensors share one storage so that a
    single key needs renaming to make the file deterministic.
    """
    base = torch.randn(7, generator=torch.Generator().manual_seed(4))
    buf = io.BytesIO()
    torch.save({"a": base[:4].view(2, 2), "b": base[4:]}, buf, _use_new_zipfile_serialization=False)
    data = buf.getvalue()
    key = str(base.storage()._cdata).encode()
    assert data.count(key) == 3, "expected the storage key in both tensors and the key list"
    path.write_bytes(data.replace(key, b"1".rjust(len(key), b"0")))


def logits_from(cfg: LavitConfig, sd: Dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    m = LavitModel(cfg).double()
    m.load_state_dict({k: v.double() for k, v in sd.items()}, strict=True)
    with torch.no_grad():
        return m(x.double().unsqueeze(0))[0]


def self_check(written: Dict[str, LavitConfig]) -> None:
    print("self-check:")
    for name, cfg in written.items():
        d = GOLDEN / name
        golden, gmeta = st.load_file(str(d / "golden.safetensors"))
        x, want = golden["input"], golden["logits"]
        cfg_json = LavitConfig.from_json((d / "config.json").read_text())
        assert cfg_json == cfg, name
        reference = None
        for f in sorted(d.iterdir()):
            if f.suffix == ".safetensors" and f.name != "golden.safetensors":
                sd, meta = st.load_file(str(f))
                assert meta.get("format") == "pt", f
                assert LavitConfig.from_json(meta["lavit_config"]) == cfg, f
            elif f.suffix == ".pth":
                obj = load_checked(f)
                if "lavit_config" in obj:
                    assert LavitConfig.from_dict(obj["lavit_config"]) == cfg, f
                sd = unwrap(obj)
            else:
                continue
            got = logits_from(cfg, sd, x)
            if reference is None:
                reference = got
            # Every file of a config holds the same values, so the float64 logits are identical.
            assert torch.equal(got, reference), f"{f}: logits differ from the other files"
            err = (got.float() - want).abs().max().item()
            assert err <= 1e-6 * max(1.0, want.abs().max().item()), f"{f}: logits off by {err}"
            print(f"  ok {f.relative_to(ROOT)} (max |logit - golden| {err:.2g})")
    evil = BAD / "forbidden_global.pth"
    for loader in (lambda: torch.load(str(evil), weights_only=True), lambda: load_checked(evil)):
        try:
            loader()
        except pickle.UnpicklingError as e:
            print(f"  ok {evil.relative_to(ROOT)} refused: {str(e)[-70:]}")
        else:
            raise AssertionError("forbidden_global.pth was loaded")
    legacy = BAD / "legacy.pth"
    assert not zipfile.is_zipfile(legacy), legacy
    loaded = torch.load(str(legacy))
    assert set(loaded) == {"a", "b"} and loaded["b"].shape == (3,)
    print(f"  ok {legacy.relative_to(ROOT)} is the legacy (non-zip) format")


def main() -> None:
    torch.set_num_threads(1)
    for d in (GOLDEN, BAD):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    written: Dict[str, LavitConfig] = {}
    multi_sd = None
    print("golden:")
    for name, (cfg, omit_defaults, seed) in configs().items():
        cfg.validate()
        gen = torch.Generator().manual_seed(seed)
        model = LavitModel(cfg)
        randomize(model, gen)
        if name == "multi":
            round_to_f16_and_bf16(model)
        x = torch.randn(cfg.in_chans, *cfg.image_size, generator=gen, dtype=torch.float64).float()
        d = GOLDEN / name
        d.mkdir()
        cfg_dict = cfg.to_dict(omit_defaults)
        cfg_text = cfg.to_json(omit_defaults=omit_defaults)
        meta = {"lavit_config": cfg_text, "format": "pt"}
        (d / "config.json").write_text(cfg.to_json(indent=2, omit_defaults=omit_defaults) + "\n")
        sd = model.state_dict()
        st.save_file(sd, str(d / "model.safetensors"), meta)
        save_pth({"model": sd, "lavit_config": cfg_dict}, d / "model.pth")
        st.save_file(golden_tensors(model, x), str(d / "golden.safetensors"),
                     {"lavit_config": cfg_text, "computed_in": "float64, stored as F32"})
        if name == "multi":
            multi_sd = sd
            st.save_file({k: v.half() for k, v in sd.items()}, str(d / "model.f16.safetensors"), meta)
            st.save_file({k: v.bfloat16() for k, v in sd.items()}, str(d / "model.bf16.safetensors"), meta)
            save_pth({"model": collections.OrderedDict((k, v.half()) for k, v in sd.items()),
                      "lavit_config": cfg_dict}, d / "model.f16.pth")
            # A foreign training checkpoint: DataParallel keys, no lavit_config, an extra entry.
            save_pth({"state_dict": collections.OrderedDict((f"module.{k}", v) for k, v in sd.items()),
                      "epoch": 300}, d / "model.wrapped.pth")
            save_pth({"model": views_state_dict(sd), "lavit_config": cfg_dict}, d / "model.views.pth")
        written[name] = cfg

    print("bad:")
    evil = BAD / "forbidden_global.pth"
    save_pth({"model": multi_sd, "evil": Evil()}, evil)
    globals_ = pickle_globals(evil)
    print(f"  {evil.relative_to(ROOT)} pickle globals: {globals_}")
    assert "posix system" in globals_, globals_
    save_legacy(BAD / "legacy.pth")

    self_check(written)
    total = 0
    print("wrote:")
    for f in sorted(list(GOLDEN.rglob("*")) + list(BAD.rglob("*"))):
        if f.is_file():
            total += f.stat().st_size
            print(f"  {f.relative_to(ROOT)} ({f.stat().st_size} bytes)")
    print(f"total {total} bytes")
    assert total < 5_000_000


if __name__ == "__main__":
    main()
