#!/usr/bin/python3
"""Host side of the VM end-to-end test (Tools/vm/run.sh).

    judge.py prepare IN      the truncated and corrupt frames and the feeder's playlist
    judge.py judge SHARE [--expect-fail CHECK]
"""
from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from make_image_fixtures import scan_start  # noqa: E402

GUEST_IN = "/mnt/share/in"
PHOTOS = ["astronaut", "chelsea", "coffee", "motorcycle_left"]


def torn(data: bytes) -> bytes:
    """4 KiB of zeros over the middle of the scan, as a torn USB transfer leaves a frame. JPEG has
    no checksum: a few flipped bits (even 32 one-bits, an impossible Huffman code) can decode
    without a complaint from libjpeg-turbo's fast Huffman path at any scale, so the e2e feeds a
    corruption the decoder must notice ("premature end of data segment")."""
    mid = (scan_start(data) + len(data) - 2) // 2
    return data[:mid] + bytes(4096) + data[mid + 4096:]


def prepare(root: Path) -> None:
    photos = root / "photos"
    data = (photos / "coffee_1280x720_q85.jpg").read_bytes()
    (photos / "bad" / "truncated.jpg").write_bytes(data[: len(data) // 2])  # no end marker
    (photos / "bad" / "corrupt.jpg").write_bytes(torn(data))
    plan = [(6, "astronaut"), (1, "bad/truncated"), (4, "chelsea"), (1, "bad/corrupt"), (4, "coffee"), (4, "motorcycle_left")]
    lines = []
    for seconds, name in plan:
        path = f"photos/{name}.jpg" if name.startswith("bad/") else f"photos/{name}_1280x720_q85.jpg"
        lines.append(f"{seconds} {GUEST_IN}/{path}")
    (root / "playlist.txt").write_text("\n".join(lines) + "\n")


# Reading the evidence


def read_tsv(path: Path) -> list:
    if not path.exists():
        return []
    return [line.split("\t") for line in path.read_text().splitlines() if line.strip()]


def read_ndjson(path: Path) -> list:
    out = []
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def epoch(iso: str) -> float:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def published(r: dict) -> float:
    """When a result left lavitd: its capture time plus the time spent on it."""
    return epoch(r["time"]) + (r.get("grab_ms", 0) + r.get("decode_ms", 0) + r.get("infer_ms", 0)) / 1000


def top1(r: dict):
    return r["top"][0]["label"] if r.get("top") else None


def parse_classify(text: str) -> dict:
    """lavit-quantize classify output: a path line, then "  1. label  12.3%" lines."""
    out, path = {}, None
    for line in text.splitlines():
        if not line.startswith(" "):
            path = line.strip()
            out[path] = []
        elif path is not None:
            m = re.match(r"\s*\d+\.\s+(.*?)\s+([\d.]+)%$", line)
            if m:
                out[path].append((m.group(1), float(m.group(2)) / 100))
    return out


class Report:
    def __init__(self):
        self.rows = []

    def add(self, name: str, ok, figure: str, detail: str = "") -> None:
        state = "skip" if ok is None else ("ok" if ok else "FAIL")
        self.rows.append((name, state, figure, detail))

    def state(self, name: str):
        return next((r[1] for r in self.rows if r[0] == name), None)

    def print(self) -> None:
        w0 = max(len(r[0]) for r in self.rows)
        w2 = max(len(r[2]) for r in self.rows)
        print(f"{'check':<{w0}}  {'':4}  {'measured':<{w2}}  detail")
        for name, state, figure, detail in self.rows:
            print(f"{name:<{w0}}  {state:<4}  {figure:<{w2}}  {detail}")


def judge(share: Path, expect_fail) -> int:
    out = share / "out"
    facts = {row[0]: row[1] if len(row) > 1 else "" for row in read_tsv(out / "facts.tsv")}
    rows = read_tsv(out / "events.tsv")
    events = [(float(row[0]), row[1]) for row in rows]
    # A pattern switch is logged with the times before and after v4l2-ctl: the new pattern is
    # in effect from the second at the latest; results captured in between may show either.
    applied = {float(row[0]): float(row[2]) if len(row) > 2 else float(row[0]) for row in rows}
    rep = Report()

    rep.add("guest boots, driver finishes", (out / "done").exists(),
            facts.get("boot_time", "no boot").replace("Startup finished in ", ""),
            f"VM run {(out / 'vm_seconds').read_text().strip() if (out / 'vm_seconds').exists() else '?'} s, "
            f"lavit via {facts.get('unit_kind', '?')} unit")
    rep.add("systemctl start lavitd (READY)", facts.get("start_vivid_rc") == "0",
            f"{float(facts.get('start_vivid_seconds', 'nan')):.2f} s", "Type=notify start returned")

    # 1. vivid: labels follow test_pattern
    vivid = read_ndjson(out / "vivid.ndjson")
    results = [r for r in vivid if r.get("class") == "result" and "time" in r]
    switches = [(t, w.split(" ", 1)[1]) for t, w in events if w.startswith("pattern ")]
    unplug = next((t for t, w in events if w == "unplug"), float("inf"))
    lat, wrong, missing = [], 0, []
    for i, (t, name) in enumerate(switches[1:], start=1):
        end = switches[i + 1][0] if i + 1 < len(switches) else unplug
        window = [r for r in results if applied[t] <= epoch(r["time"]) < end]
        first = next((k for k, r in enumerate(window) if top1(r) == name), None)
        if first is None:
            missing.append(name)
            continue
        lat.append(published(window[first]) - applied[t])
        wrong += sum(1 for r in window[first:] if top1(r) != name)
    fps = len(results) / (epoch(results[-1]["time"]) - epoch(results[0]["time"])) if len(results) > 1 else 0.0
    ok = bool(lat) and not missing and max(lat) < 1.0 and wrong == 0
    rep.add("vivid labels follow test_pattern", ok,
            f"max {max(lat):.2f} s, median {sorted(lat)[len(lat) // 2]:.2f} s" if lat else "no switch followed",
            f"{len(switches) - 1} switches (latency from v4l2-ctl's return), {len(results)} results, {wrong} wrong after settling"
            + (f", never shown: {', '.join(missing)}" if missing else ""))
    rep.add("rate lavitd sustains (vivid YUYV 640x480)", fps > 1.0, f"{fps:.1f} results/s",
            "guest, software emulation; camera asked for 25 fps")

    # 3. unplug and replug
    replug = next((t for t, w in events if w == "replug"), None)
    offline = [r for r in vivid if r.get("class") == "status" and r.get("online") is False and r.get("reason") != "stopping"]
    after = [r for r in results if replug and epoch(r["time"]) > replug]
    rep.add("unplug: status offline with a reason", bool(offline),
            repr(offline[0].get("reason")) if offline else "none", "vivid.0 unbound while streaming")
    rec = published(after[0]) - replug if after else None
    same = facts.get("nrestarts_before_unplug") is not None and facts.get("nrestarts_before_unplug") == facts.get("nrestarts_after_replug")
    rep.add("unplug/replug without restart", bool(after) and same and facts.get("nrestarts_start") == facts.get("nrestarts_after_replug"),
            f"labels {rec:.2f} s after bind" if rec is not None else "no labels after bind",
            f"NRestarts {facts.get('nrestarts_start')} -> {facts.get('nrestarts_before_unplug')} -> {facts.get('nrestarts_after_replug')}"
            + (f", first label {top1(after[0])!r}" if after else ""))

    # 4. watchdog
    stopped = next((t for t, w in events if w.startswith("stopped ")), None)
    restarted = next((t for t, w in events if w.startswith("nrestarts ")), None)
    resumed = next((t for t, w in events if w == "results after watchdog"), None)
    n_before, n_after = facts.get("nrestarts_after_replug"), facts.get("nrestarts_after_watchdog")
    ok = None if facts.get("watchdog_usec") in (None, "", "0") else (
        stopped is not None and resumed is not None and n_before is not None and n_after is not None and int(n_after) == int(n_before) + 1)
    rep.add("kill -STOP: watchdog restart, labels resume", ok,
            f"restart {restarted - stopped:.1f} s, labels {resumed - stopped:.1f} s" if stopped and restarted and resumed else "-",
            f"WatchdogSec {facts.get('watchdog_usec')}, NRestarts {n_before} -> {n_after}")

    # 7. memory
    mem = [(float(t), pid, int(v)) for t, pid, v in (row for row in read_tsv(out / "memory.tsv") if len(row) == 3) if v.isdigit()]
    if mem:
        pid0 = mem[0][1]
        steady = [v for t, pid, v in mem if pid == pid0 and t > mem[0][0] + 10]
        grow = (max(steady) - min(steady)) / 2**20 if len(steady) >= 5 else None
        rep.add("memory flat (MemoryCurrent)", None if grow is None else grow < 4.0,
                f"{min(steady) / 2**20:.1f}-{max(steady) / 2**20:.1f} MiB" if steady else "-",
                f"{len(steady)} samples over {mem[-1][0] - mem[0][0]:.0f} s; the issue asks for minutes")
    else:
        rep.add("memory flat (MemoryCurrent)", False, "-", "no samples")

    # 2. MJPEG through v4l2loopback against lavit-quantize classify
    feed = [(float(t), what) for t, what in (line.split(" ", 1) for line in (out / "feeder.tsv").read_text().splitlines())] \
        if (out / "feeder.tsv").exists() else []
    offline_ref = parse_classify((out / "classify.txt").read_text()) if (out / "classify.txt").exists() else {}
    mjpeg = read_ndjson(out / "mjpeg.ndjson")
    mres = [r for r in mjpeg if r.get("class") == "result" and "time" in r]
    compared, mismatch, per_file, first_mismatch = 0, 0, {}, ""
    bad = {}  # bad file -> (results in its window, what classify says about it)
    for i, (t, path) in enumerate(feed[:-1]):
        end = feed[i + 1][0]
        window = [r for r in mres if t + 0.3 <= epoch(r["time"]) < end - 0.05]
        want = offline_ref.get(path)
        name = path.rsplit("/", 1)[-1]
        if "/bad/" in path:
            bad[name] = (len(window), "rejected" if want is None else "decoded")
        else:
            per_file[name] = len(window)
        for r in window:
            got = [(e["label"], e["score"]) for e in r["top"][:3]]
            compared += 1
            if not want or [g[0] for g in got] != [w[0] for w in want[:3]] or any(abs(g[1] - w[1]) > 0.0006 for g, w in zip(got, want)):
                mismatch += 1
                first_mismatch = first_mismatch or f"; first mismatch {name}: {got} vs {want[:3] if want else 'rejected'}"
    status = read_ndjson(out / "status-mjpeg.json")
    st0 = status[0] if status else {}
    ok = compared >= 10 and mismatch == 0 and len(per_file) == len(PHOTOS) and all(per_file.values())
    rep.add("MJPEG 1280x720 labels = lavit-quantize classify", ok, f"{compared - mismatch}/{compared} agree",
            f"top-3 labels and scores per frame; results per photo {per_file}{first_mismatch}")
    after_bad = all(n > 0 for n in per_file.values())
    for name, (n, offline) in sorted(bad.items()):
        rep.add(f"bad frame {name}: skipped, counted, stream goes on",
                n == 0 and after_bad and (st0.get("corrupt", 0) + st0.get("skipped", 0)) > 0,
                f"{n} results from it", f"offline path {offline} it; status corrupt {st0.get('corrupt')}, skipped {st0.get('skipped')}; fps {st0.get('fps')}")
    rep.add("systemctl stop quick and clean", facts.get("stop_mjpeg_result") == "success"
            and float(facts.get("stop_mjpeg_seconds", "99")) < 5,
            f"{float(facts.get('stop_mjpeg_seconds', 'nan')):.2f} s", f"Result={facts.get('stop_mjpeg_result')}")

    if facts.get("unit_kind") == "packaged":
        rep.add("systemd-analyze security lavitd", None, facts.get("security_score", "-"), "compare with the offline check")
        rep.add("socket refused outside its group", facts.get("outsider_rc") not in (None, "0"), f"rc {facts.get('outsider_rc')}", "")
    else:
        for name in ("systemd-analyze security lavitd", "socket refused outside its group", "service runs without root",
                     "reload: new model, corrupt model", "stalled and garbage clients"):
            rep.add(name, None, "-", "needs the packaged units (issue 8)")

    rep.print()
    failed = [r[0] for r in rep.rows if r[1] == "FAIL"]
    if expect_fail is not None:
        return 0 if rep.state(expect_fail) == "FAIL" else 1
    print(f"vm e2e: {sum(r[1] == 'ok' for r in rep.rows)} ok, {len(failed)} failed, {sum(r[1] == 'skip' for r in rep.rows)} skipped")
    return 1 if failed else 0


def main(argv) -> int:
    if len(argv) >= 2 and argv[0] == "prepare":
        prepare(Path(argv[1]))
        return 0
    if len(argv) >= 2 and argv[0] == "judge":
        expect = argv[argv.index("--expect-fail") + 1] if "--expect-fail" in argv else None
        return judge(Path(argv[1]), expect)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
