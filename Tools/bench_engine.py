"""lavit against ONNX Runtime on the same models, in one run: the timing half of
Tools/bench_engine.sh, which sets up the virtual environment and the inputs and passes them here.

Per model: the float checkpoint is exported from the PyTorch reference (Tools/lavit_ref) to ONNX
(opset 17, batch 1) and quantized by ONNX Runtime (`quant_pre_process`, then `quantize_static`
QDQ with per-channel int8 weights and uint8 (U8S8) or int8 (S8S8) activations, and
`quantize_dynamic`), calibrated on the images lavit calibrated on, preprocessed as lavit does.
Then, after waiting for a quiet machine, every configuration runs a few inferences per round,
round by round, in one process: lavit through long-lived `lavit-bench` processes, ORT through
sessions in this one. Peak RSS comes from separate processes. Prints a Markdown table.

lavit-bench's protocol (line-based, one process per lavit configuration):
  lavit-bench --model FILE.lvt --threads N | --float CHECKPOINT
    -> `ready kernels=NAME threads=N arena=BYTES` once loaded and warmed up
  `run K` -> `ok NS1 ... NSK allocs=A` (per-inference nanoseconds, heap allocations over all K)
  `quit`  -> `maxrss_kib=KIB`, exit 0
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import onnxruntime as ort
import torch

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

from fashion_data import decode_png  # noqa: E402
from lavit_ref.checkpoint_io import load_checked, unwrap  # noqa: E402
from lavit_ref.config import LavitConfig  # noqa: E402
from lavit_ref.cost import totals  # noqa: E402
from lavit_ref.model import LavitModel  # noqa: E402

WARMUP_ROUNDS = 2
# lavit's pool and ORT's threads may still be winding down after a call; they must not run into
# the next configuration's timing on a 2-core machine.
GAP_S = 0.05
QUIET_TIMEOUT_S = 300
ORT_INT8 = ("ORT int8 U8S8", "ORT int8 S8S8", "ORT int8 dynamic")


# ---- lavit's preprocessing (Sources/LavitImage/Preprocessor.swift, FloatInput.swift) ----------


def resize_weights(s: int, d: int) -> Tuple[np.ndarray, int]:
    """(weights (d, s), their row sum T) of one axis of Preprocessor's resize (ResizeAxis.swift)."""
    unit, total = (d, s) if s >= d else (2 * d, 2 * d)
    w = np.zeros((d, s), dtype=np.int64)
    for i in range(d):
        lo = i * s if s >= d else min(max((2 * i + 1) * s - d, 0), (s - 1) * unit)
        for j in range(lo // unit, (lo + total - 1) // unit + 1):
            w[i, j] = min(lo + total, (j + 1) * unit) - max(lo, j * unit)
    return w, total


def preprocess(rgb: np.ndarray, cfg: LavitConfig) -> np.ndarray:
    """An (H, W, 3) uint8 image to the float (C, h, w) input lavit's int8 engine sees in float:
    centre crop, integer area/bilinear resize rounded once, luma for one channel, then
    `(u / 255 - mean) / std` computed in double and rounded to float32."""
    src_h, src_w, _ = rgb.shape
    h, w = cfg.image_size
    if src_w * h > src_h * w:
        ch, cw = src_h, max(1, src_h * w // h)
    else:
        cw, ch = src_w, max(1, src_w * h // w)
    y0, x0 = (src_h - ch) // 2, (src_w - cw) // 2
    crop = rgb[y0 : y0 + ch, x0 : x0 + cw].astype(np.int64)
    wy, ty = resize_weights(ch, h)
    wx, tx = resize_weights(cw, w)
    total = ty * tx
    u8 = np.stack([(wy @ crop[:, :, c] @ wx.T + total // 2) // total for c in range(3)], axis=-1)
    if cfg.in_chans == 1:
        u8 = (77 * u8[..., 0] + 150 * u8[..., 1] + 29 * u8[..., 2] + 128) >> 8
        u8 = u8[..., None]
    out = np.empty((cfg.in_chans, h, w), dtype=np.float32)
    for c in range(cfg.in_chans):
        out[c] = ((u8[..., c] / 255 - cfg.input_mean[c]) / cfg.input_std[c]).astype(np.float32)
    return out


def calibration_files(folder: Path) -> List[Path]:
    files = sorted(folder.rglob("*.png"))
    if not files:
        raise SystemExit(f"{folder}: no PNG images")
    return files


def model_input(png: Path, cfg: LavitConfig) -> np.ndarray:
    """A Fashion-MNIST PNG (grey: lavit's PNG decoder makes it R = G = B) as the model's input."""
    return preprocess(np.repeat(decode_png(png.read_bytes())[..., None], 3, axis=2), cfg)


# ---- ONNX export and ORT quantization, cached -------------------------------------------------


class Reader:
    """quantize_static's calibration feed: each image once, batch 1."""

    def __init__(self, name: str, inputs: List[np.ndarray]):
        self.feeds = iter([{name: x[None]} for x in inputs])

    def get_next(self) -> Optional[dict]:
        return next(self.feeds, None)


def onnx_models(checkpoint: Path, calibration: Path, cache: Path) -> Tuple[LavitConfig, dict]:
    """The config and {configuration: .onnx path}, built once per checkpoint, calibration set,
    exporter, ORT version and this script."""
    from onnxruntime.quantization import (QuantFormat, QuantType, quant_pre_process, quantize_dynamic,
                                          quantize_static)

    obj = load_checked(checkpoint)
    cfg = LavitConfig.from_dict(obj["lavit_config"])
    key = hashlib.sha256()
    sources = [checkpoint, Path(__file__), *sorted((TOOLS / "lavit_ref").glob("*.py")), *calibration_files(calibration)]
    for path in sources:
        key.update(path.read_bytes())
    key.update(f"{torch.__version__} {ort.__version__}".encode())
    out = cache / "onnx" / f"{checkpoint.stem}-{key.hexdigest()[:12]}"
    paths = {
        "ORT fp32": out / "fp32.onnx",
        "ORT int8 U8S8": out / "int8-u8s8.onnx",
        "ORT int8 S8S8": out / "int8-s8s8.onnx",
        "ORT int8 dynamic": out / "int8-dynamic.onnx",
    }
    if out.is_dir():
        return cfg, paths

    log(f"exporting {checkpoint} to ONNX and quantizing it with ONNX Runtime (cached in {out})")
    for stale in out.parent.glob(f"{checkpoint.stem}-{'[0-9a-f]' * 12}*"):
        shutil.rmtree(stale)
    work = out.with_name(out.name + ".partial")
    work.mkdir(parents=True)
    model = LavitModel(cfg)
    model.load_state_dict(unwrap(obj))
    model.eval()
    inputs = [model_input(png, cfg) for png in calibration_files(calibration)]
    fp32 = work / paths["ORT fp32"].name
    torch.onnx.export(model, torch.from_numpy(inputs[0][None]), str(fp32), opset_version=17,
                      input_names=["input"], output_names=["logits"])
    # ORT warns, for every LayerNorm weight, that a per-channel axis does not apply to it.
    logging.getLogger().setLevel(logging.ERROR)
    prepared = work / "prepared.onnx"
    quant_pre_process(str(fp32), str(prepared))
    for name, activations in (("ORT int8 U8S8", QuantType.QUInt8), ("ORT int8 S8S8", QuantType.QInt8)):
        quantize_static(str(prepared), str(work / paths[name].name), Reader("input", inputs),
                        quant_format=QuantFormat.QDQ, per_channel=True, activation_type=activations,
                        weight_type=QuantType.QInt8,
                        # Ranges are reduced every 16 images: holding every intermediate output of
                        # LaViT-T for the whole set takes gigabytes.
                        extra_options={"CalibMaxIntermediateOutputs": 16})
    quantize_dynamic(str(prepared), str(work / paths["ORT int8 dynamic"].name), per_channel=True,
                     weight_type=QuantType.QInt8)
    prepared.unlink()
    work.rename(out)
    return cfg, paths


# ---- the configurations ----------------------------------------------------------------------


class LavitBench:
    """One lavit-bench process, alive for all rounds; idle, it sits blocked on stdin."""

    def __init__(self, name: str, argv: List[str]):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        info = dict(f.split("=", 1) for f in self._reply("ready ").split()[1:])
        int8 = f" ({info['kernels']} kernels, arena {int(info['arena']) / 2**20:.1f} MiB)"
        self.label = name if info["kernels"] == "float" else name + int8

    def _reply(self, prefix: str) -> str:
        line = self.proc.stdout.readline()
        if not line.startswith(prefix):
            self.proc.kill()
            raise SystemExit(f"{self.name}: lavit-bench answered {line.strip()!r}, expected '{prefix}...' "
                             f"(exit status {self.proc.wait()})")
        return line

    def _send(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def run(self, k: int) -> Tuple[List[float], Optional[int]]:
        self._send(f"run {k}")
        fields = self._reply("ok ").split()[1:]
        return [int(ns) / 1e6 for ns in fields[:-1]], int(fields[-1].removeprefix("allocs="))

    def cpu_ticks(self) -> int:
        return process_ticks(self.proc.pid)

    def quit(self) -> int:
        """Peak RSS in KiB, read here as VmHWM: the `maxrss_kib` that lavit-bench answers comes from
        getrusage, which keeps this (large) process's peak across the fork and exec that started it."""
        rss = peak_rss_kib(self.proc.pid)
        self._send("quit")
        self._reply("maxrss_kib=")
        if self.proc.wait() != 0:
            raise SystemExit(f"{self.name}: lavit-bench exited with status {self.proc.returncode}")
        return rss


class OrtSession:
    """An ONNX Runtime session as the issue specifies: sequential, all graph optimizations, no
    spinning workers."""

    def __init__(self, name: str, path: Path, threads: int, x: np.ndarray):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.name = self.label = name
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.feed = {self.session.get_inputs()[0].name: x[None]}

    def run(self, k: int) -> Tuple[List[float], Optional[int]]:
        times = []
        for _ in range(k):
            start = time.perf_counter_ns()
            self.session.run(None, self.feed)
            times.append((time.perf_counter_ns() - start) / 1e6)
        return times, None


@dataclass
class Row:
    label: str
    times: List[float] = field(default_factory=list)
    allocs: Optional[int] = None
    rss_kib: Optional[int] = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p90(self) -> float:
        ordered = sorted(self.times)
        return ordered[-(-9 * len(ordered) // 10) - 1]


# ---- the machine ------------------------------------------------------------------------------


def cpu_busy() -> Tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


def process_ticks(pid: object) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line.split()[1] for line in f if line.startswith("VmHWM:")))


def wait_for_quiet() -> str:
    """Waits until the CPUs are at least 90% idle for 3 s in a row; says how it went."""
    start = time.monotonic()
    quiet = 0
    while quiet < 3:
        if time.monotonic() - start > QUIET_TIMEOUT_S:
            return f"**not quiet**: still busy after {QUIET_TIMEOUT_S} s, timed anyway"
        before = cpu_busy()
        time.sleep(1)
        after = cpu_busy()
        quiet = quiet + 1 if after[0] - before[0] < 0.1 * (after[1] - before[1]) else 0
    return f"quiet after {time.monotonic() - start:.0f} s"


def cpu_line() -> str:
    with open("/proc/cpuinfo") as f:
        info = dict(line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines() if ":" in line)
    info = {k.strip(): v.strip() for k, v in info.items()}
    flags = set(info.get("flags", "").split())
    present = ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in ("avx2", "avx512_vnni", "avx_vnni"))
    return (f"{info.get('model name', 'unknown CPU')} (family {info.get('cpu family', '?')}, model "
            f"{info.get('model', '?')}), {os.cpu_count()} cores; {present}")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- one model ----------------------------------------------------------------------------------


@dataclass
class ModelResult:
    name: str
    title: str
    notes: str
    rows: dict


def bench_model(name: str, checkpoint: Path, lvt: Path, calibration: Path, rounds: int, per_round: int,
                lavit_bench: Path, cache: Path) -> ModelResult:
    cfg, onnx = onnx_models(checkpoint, calibration, cache)
    macs = totals(cfg)["macs"]
    size = f"{macs / 1e9:.2f} GMAC" if macs >= 1e9 else f"{macs / 1e6:.1f} MMAC"
    title = f"{name}, {cfg.image_size[0]}x{cfg.image_size[1]}x{cfg.in_chans}, {size}"
    x = model_input(calibration_files(calibration)[0], cfg)

    log(f"{title}: starting lavit-bench and ORT sessions")
    lavit = [
        LavitBench("lavit int8, 1 thread", [str(lavit_bench), "--model", str(lvt), "--threads", "1"]),
        LavitBench("lavit int8, 2 threads", [str(lavit_bench), "--model", str(lvt), "--threads", "2"]),
        LavitBench("lavit float", [str(lavit_bench), "--float", str(checkpoint)]),
    ]
    # At 2 threads, the two peers issue 10 names: fp32 and int8 U8S8.
    peers = [OrtSession(f"{name}, 1 thread", onnx[name], 1, x) for name in ("ORT fp32", *ORT_INT8)]
    peers += [OrtSession(f"{name}, 2 threads", onnx[name], 2, x) for name in ("ORT fp32", "ORT int8 U8S8")]
    configs = lavit + peers
    rows = {c.name: Row(c.label) for c in configs}

    quiet = wait_for_quiet()
    log(f"{title}: {quiet}; {WARMUP_ROUNDS} warm-up rounds, then {rounds} rounds of {per_round} inferences each")
    busy0, own0 = cpu_busy(), process_ticks("self") + sum(c.cpu_ticks() for c in lavit)
    for r in range(-WARMUP_ROUNDS, rounds):
        # A different configuration goes first each round, so none always follows the same one.
        for c in configs[r % len(configs):] + configs[: r % len(configs)]:
            times, allocs = c.run(per_round)
            if r >= 0:
                rows[c.name].times += times
                if allocs is not None:
                    rows[c.name].allocs = (rows[c.name].allocs or 0) + allocs
            time.sleep(GAP_S)
    busy1, own1 = cpu_busy(), process_ticks("self") + sum(c.cpu_ticks() for c in lavit)
    # CPU time of other processes while timing, in cores (1.0 = one core fully busy).
    others = max(0, (busy1[0] - busy0[0]) - (own1 - own0)) / ((busy1[1] - busy0[1]) / os.cpu_count())

    for c in lavit:
        rows[c.name].rss_kib = c.quit()
    child = [sys.executable, str(TOOLS / "bench_ort_child.py")]
    for c in peers:
        rows[c.name].rss_kib = child_peak_rss(child + [str(c.path)])
    rows["ORT floor"] = Row("ORT floor: Python, numpy, onnxruntime imported, no session", rss_kib=child_peak_rss(child))
    notes = (f"{rounds} rounds of {per_round} inferences per configuration, interleaved; {quiet}; "
             f"other processes used {others:.2f} cores while timing.")
    return ModelResult(name, title, notes, rows)


def child_peak_rss(argv: List[str]) -> int:
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return int(out.split("maxrss_kib=")[1])


# ---- the report ---------------------------------------------------------------------------------


def ms(v: float) -> str:
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def report(results: List[ModelResult], command: str) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"CPU: {cpu_line()}  ", f"ONNX Runtime {ort.__version__}, {now}  ", f"`{command}`"]
    for m in results:
        out += ["", f"**{m.title}**: {m.notes}", "",
                "| configuration | median ms | p90 ms | allocs / inference | peak RSS MiB |", "|---|---|---|---|---|"]
        for row in m.rows.values():
            timed = f"{ms(row.median)} | {ms(row.p90)}" if row.times else " | "
            per = None if row.allocs is None else row.allocs / len(row.times)
            allocs = "" if per is None else f"{per:.0f}" if per >= 10 else f"{per:.3g}"
            out.append(f"| {row.label} | {timed} | {allocs} | {row.rss_kib / 1024:.0f} |")
    out += ["", "| model | lavit int8 / ORT int8 | lavit int8 / ORT fp32 | lavit int8 / fastest ORT "
            "| lavit int8 2-thread speed-up |", "|---|---|---|---|---|"]
    for m in results:
        med = {name: row.median for name, row in m.rows.items() if row.times}
        lavit = med["lavit int8, 1 thread"]
        int8 = min((f"{v}, 1 thread" for v in ORT_INT8), key=med.get)
        fastest = min(("ORT fp32, 1 thread", int8), key=med.get)
        out.append(f"| {m.name} | {lavit / med[int8]:.2f} ({int8.removesuffix(', 1 thread')}) | "
                   f"{lavit / med['ORT fp32, 1 thread']:.2f} | {lavit / med[fastest]:.2f} "
                   f"({fastest.removesuffix(', 1 thread')}) | {lavit / med['lavit int8, 2 threads']:.2f}x |")
    out += ["", "Ratios of 1-thread medians; ORT int8 is its fastest variant. Issue 10's bar: lavit int8 / "
            "fastest ORT <= 0.5 on LaViT-T and <= 0.6 on the shipped model, 2-thread speed-up >= 1.6 on "
            "LaViT-T, 0 allocations per inference."]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs=6, action="append", required=True,
                        metavar=("NAME", "CHECKPOINT", "LVT", "CALIBRATION", "ROUNDS", "PER_ROUND"))
    parser.add_argument("--lavit-bench", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--command", required=True, help="the command line, for the report")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if any(int(rounds) < 1 or int(per_round) < 1 for *_, rounds, per_round in args.model):
        parser.error("rounds and inferences per round must be at least 1")
    if not args.lavit_bench.is_file():
        raise SystemExit(f"{args.lavit_bench}: not found (swift build -c release --product lavit-bench)")
    # torch only exports; without its thread pool nothing of it can run during the timing.
    torch.set_num_threads(1)
    results = [
        bench_model(name, Path(pth), Path(lvt), Path(calib), int(rounds), int(per_round), args.lavit_bench, args.cache)
        for name, pth, lvt, calib, rounds, per_round in args.model
    ]
    text = report(results, args.command)
    print(text, end="")
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
