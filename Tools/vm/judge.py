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


ALL_PHASES = "patterns identity clients unplug memory reload watchdog mjpeg".split()


def judge(share: Path, expect_fail) -> int:
    out = share / "out"
    facts = {row[0]: row[1] if len(row) > 1 else "" for row in read_tsv(out / "facts.tsv")}
    rows = read_tsv(out / "events.tsv")
    events = sorted((float(row[0]), row[1]) for row in rows)
    # A pattern switch is logged with the times before and after v4l2-ctl: the new pattern is
    # in effect from the second at the latest; results captured in between may show either.
    applied = {float(row[0]): float(row[2]) if len(row) > 2 else float(row[0]) for row in rows}
    ran = set(facts.get("phases", " ".join(ALL_PHASES)).split())
    rep = Report()

    def event(name, prefix=False):
        return next((t for t, w in events if (w.startswith(name) if prefix else w == name)), None)

    def after(t):  # the first event after t
        return next((u for u, _ in events if u > t), float("inf"))

    def fnum(key, default="nan"):
        try:
            return float(facts.get(key, default))
        except ValueError:
            return float("nan")

    rep.add("guest boots, driver finishes", (out / "done").exists(),
            facts.get("boot_time", "no boot").replace("Startup finished in ", ""),
            f"VM run {(out / 'vm_seconds').read_text().strip() if (out / 'vm_seconds').exists() else '?'} s, "
            f"unit {facts.get('unit_kind', '?')}, phases: {' '.join(p for p in ALL_PHASES if p in ran)}")
    rep.add("systemctl start lavitd (READY)", facts.get("start_vivid_rc") == "0",
            f"{fnum('start_vivid_seconds'):.2f} s", "Type=notify, started through lavitd.socket")

    def skipped(phase, *names):
        if phase in ran:
            return False
        for name in names:
            rep.add(name, None, "-", "not run (self-test runs only the phase that must catch its breakage)")
        return True

    vivid = read_ndjson(out / "vivid.ndjson")
    results = [r for r in vivid if r.get("class") == "result" and "time" in r]

    # Labels follow test_pattern.
    if not skipped("patterns", "vivid labels follow test_pattern", "rate lavitd sustains (vivid YUYV 640x480)"):
        switches = [(t, w.split(" ", 1)[1]) for t, w in events if w.startswith("pattern ")]
        lat, wrong, missing = [], 0, []
        for i, (t, name) in enumerate(switches[1:], start=1):
            end = switches[i + 1][0] if i + 1 < len(switches) else after(t)
            window = [r for r in results if applied[t] <= epoch(r["time"]) < end]
            first = next((k for k, r in enumerate(window) if top1(r) == name), None)
            if first is None:
                missing.append(name)
                continue
            lat.append(published(window[first]) - applied[t])
            wrong += sum(1 for r in window[first:] if top1(r) != name)
        pend = after(switches[-1][0]) if switches else float("inf")
        during = [r for r in results if epoch(r["time"]) < pend]
        fps = len(during) / (epoch(during[-1]["time"]) - epoch(during[0]["time"])) if len(during) > 1 else 0.0
        ok = bool(lat) and not missing and max(lat) < 1.0 and wrong == 0
        rep.add("vivid labels follow test_pattern", ok,
                f"max {max(lat):.2f} s, median {sorted(lat)[len(lat) // 2]:.2f} s" if lat else "no switch followed",
                f"{len(switches) - 1} switches (latency from v4l2-ctl's return), {len(during)} results, {wrong} wrong after settling"
                + (f", never shown: {', '.join(missing)}" if missing else ""))
        rep.add("rate lavitd sustains (vivid YUYV 640x480)", fps > 1.0, f"{fps:.1f} results/s",
                "guest, software emulation; camera asked for 25 fps")

    # Identity: the sandbox as systemd sees it, the user, the socket's group.
    if not skipped("identity", "systemd-analyze security = offline score", "service runs without root",
                   "socket refused outside its group"):
        offline = (share / "offline-security.txt").read_text().strip() if (share / "offline-security.txt").exists() else ""
        guest = facts.get("security_score", "")
        rep.add("systemd-analyze security = offline score", bool(guest) and guest == offline,
                f"{guest or '-'} vs {offline or '-'}", "in the VM (unit + drop-ins) vs --offline=true on the installed unit file")
        status = {}
        if (out / "main-status.txt").exists():
            for line in (out / "main-status.txt").read_text().splitlines():
                key, _, value = line.partition(":")
                status[key] = value.split()
        uid, video = facts.get("lavitd_uid", ""), facts.get("video_gid", "")
        uids, groups = status.get("Uid", []), status.get("Groups", [])
        ok = bool(uids) and bool(uid) and uid != "0" and all(u == uid for u in uids) and bool(video) and video in groups
        rep.add("service runs without root", ok, f"Uid {'/'.join(uids) or '-'}",
                f"{facts.get('main_comm', '?')}: user lavitd is {uid or '?'}; Groups {' '.join(groups) or '-'} (video {video or '?'})")
        rep.add("socket refused outside its group", facts.get("outsider_rc") not in (None, "0"),
                f"rc {facts.get('outsider_rc')}", "?ping as a user not in group lavitd")

    # Stalled and garbage clients beside the healthy recorder.
    if not skipped("clients", "stalled and garbage clients: healthy rate", "garbage client gets errors"):
        t0, t1, t2 = event("rate window before"), event("bad clients connect"), event("bad clients leave")
        if t0 and t1 and t2:
            before = [r for r in results if t0 <= epoch(r["time"]) < t1]
            settle = t1 + 2
            during = [r for r in results if settle <= epoch(r["time"]) < t2]
            r0, r1 = len(before) / (t1 - t0), len(during) / (t2 - settle)
            dropped = sum(r.get("dropped", 0) for r in before + during)
            st = [read_ndjson(out / f"status-clients-{s}.json") for s in ("before", "10s", "30s")]
            n = [s[0].get("clients") if s else None for s in st]
            clients = "/".join(str(c) for c in n)
            # Before: the recorder and the asking connection; at 10 s also the garbage client,
            # and the stalled one unless lavitd has let it go (it lost messages and read nothing).
            if n[0] is not None and n[1] is not None:
                clients += f" (stalled client {'still connected' if n[1] - n[0] >= 2 else 'disconnected'} at 10 s)"
            ok = r0 > 0 and abs(r1 / r0 - 1) <= 0.2 and dropped == 0
            rep.add("stalled and garbage clients: healthy rate", ok, f"{r0:.2f} -> {r1:.2f} results/s ({(r1 / r0 - 1) * 100 if r0 else 0:+.0f}%)",
                    f"{len(before)} results in {t1 - t0:.0f} s before, {len(during)} in {t2 - settle:.0f} s with them; "
                    f"healthy client dropped {dropped}; clients before/at 10 s/after: {clients}")
        else:
            rep.add("stalled and garbage clients: healthy rate", False, "-", "no rate windows recorded")
        garbage = read_ndjson(out / "garbage.ndjson")
        errors = [m for m in garbage if m.get("class") == "error"]
        long_errors = [m for m in errors if "line longer than" in m.get("message", "")]
        sent = int(facts.get("garbage_lines", "0") or 0)
        gres = sum(1 for m in garbage if m.get("class") == "result")
        ok = sent > 0 and len(errors) == sent and len(long_errors) == 2 and gres > 0
        rep.add("garbage client gets errors", ok, f"{len(errors)} errors for {sent} lines",
                f"{len(long_errors)} of 2 overlong (100 kB) lines refused as such; it still got {gres} results"
                + (f"; e.g. {errors[0].get('message', '')[:60]!r}" if errors else ""))

    # Unplug and replug.
    if not skipped("unplug", "unplug: status offline with a reason", "unplug/replug without restart"):
        replug = event("replug")
        offline = [r for r in vivid if r.get("class") == "status" and r.get("online") is False and r.get("reason") != "stopping"]
        back = [r for r in results if replug and epoch(r["time"]) > replug]
        rep.add("unplug: status offline with a reason", bool(offline),
                repr(offline[0].get("reason")) if offline else "none", "vivid.0 unbound while streaming")
        rec = published(back[0]) - replug if back else None
        n = [facts.get(k) for k in ("nrestarts_start", "nrestarts_before_unplug", "nrestarts_after_replug")]
        rep.add("unplug/replug without restart", bool(back) and None not in n and len(set(n)) == 1,
                f"labels {rec:.2f} s after bind" if rec is not None else "no labels after bind",
                f"NRestarts {' -> '.join(str(x) for x in n)}" + (f", first label {top1(back[0])!r}" if back else ""))

    # Memory of the first lavitd, from 10 s after its first sample to the end of its window.
    if not skipped("memory", "memory flat (MemoryCurrent)"):
        mem = [(float(t), pid, int(v)) for t, pid, v in (row for row in read_tsv(out / "memory.tsv") if len(row) == 3) if v.isdigit()]
        end = event("memory window ends") or float("inf")
        if mem:
            pid0 = mem[0][1]
            steady = [(t, v) for t, pid, v in mem if pid == pid0 and mem[0][0] + 10 < t < end]
            vs = [v for _, v in steady]
            if len(vs) >= 20:
                span = steady[-1][0] - steady[0][0]
                med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
                grow = (med(vs[-10:]) - med(vs[:10])) / 2**20
                spread = (max(vs) - min(vs)) / 2**20
                rep.add("memory flat (MemoryCurrent)", span >= 150 and spread < 2.0 and grow < 1.0,
                        f"{min(vs) / 2**20:.2f}-{max(vs) / 2**20:.2f} MiB over {span:.0f} s",
                        f"{len(vs)} samples, one lavitd through patterns, clients, unplug; last-vs-first median {grow:+.2f} MiB "
                        "(limits: 150 s, spread < 2 MiB, growth < 1 MiB)")
            else:
                rep.add("memory flat (MemoryCurrent)", False, "-", f"{len(vs)} samples")
        else:
            rep.add("memory flat (MemoryCurrent)", False, "-", "no samples")

    # Reload: a new model, then a corrupt one.
    if not skipped("reload", "reload: new model, new hello", "reload: corrupt model refused, old serves"):
        msgs = read_ndjson(out / "reload.ndjson")
        hellos = [m for m in msgs if m.get("class") == "hello"]
        t_new, t_bad = event("reload new", prefix=True), event("reload corrupt", prefix=True)
        new_rc = next((w.rsplit("=", 1)[-1] for t, w in events if w.startswith("reload new rc=")), "?")
        after_new, seen = [], 0
        for m in msgs:
            seen += m.get("class") == "hello"
            if seen == 2 and m.get("class") == "result":
                after_new.append(m)
        labels2 = set(hellos[1].get("labels", [])) if len(hellos) > 1 else set()
        ok = (len(hellos) >= 2 and new_rc == "0" and hellos[1].get("model_sha256") != hellos[0].get("model_sha256")
              and len(after_new) >= 3 and all(top1(r) in labels2 for r in after_new))
        lat = published(after_new[0]) - t_new if after_new and t_new else None
        rep.add("reload: new model, new hello", ok,
                f"first new label {lat:.2f} s after reload" if lat is not None else "no new hello/labels",
                (f"hello {hellos[0].get('model')} {hellos[0].get('model_sha256', '')[:8]} -> {hellos[1].get('model')} "
                 f"{hellos[1].get('model_sha256', '')[:8]}; {len(after_new)} results, all from the new labels: "
                 f"{all(top1(r) in labels2 for r in after_new)}" if len(hellos) >= 2 else f"{len(hellos)} hello(s)") + f"; rc {new_rc}")
        later = [r for r in after_new if t_bad and epoch(r["time"]) > t_bad + 1]
        st = read_ndjson(out / "status-reload-corrupt.json")
        err = st[0].get("reload_error", "") if st else ""
        nb, na = facts.get("nrestarts_before_reload"), facts.get("nrestarts_after_reload")
        ok = (t_bad is not None and len(hellos) == 2 and len(later) >= 5 and all(top1(r) in labels2 for r in later)
              and bool(err) and nb is not None and nb == na)
        rep.add("reload: corrupt model refused, old serves", ok, f"{len(later)} results after it",
                f"all from the previous model: {bool(later) and all(top1(r) in labels2 for r in later)}; hellos {len(hellos)}; "
                f"NRestarts {nb} -> {na}; reload_error {err[:70]!r}")

    # Watchdog.
    if not skipped("watchdog", "kill -STOP: watchdog restart, labels resume"):
        stopped, restarted, resumed = event("stopped ", True), event("nrestarts ", True), event("results after watchdog")
        n_before, n_after = facts.get("nrestarts_before_watchdog"), facts.get("nrestarts_after_watchdog")
        ok = (facts.get("watchdog_usec") not in (None, "", "0") and stopped is not None and resumed is not None
              and n_before is not None and n_after is not None and int(n_after) == int(n_before) + 1)
        rep.add("kill -STOP: watchdog restart, labels resume", ok,
                f"restart {restarted - stopped:.1f} s, labels {resumed - stopped:.1f} s" if stopped and restarted and resumed else "-",
                f"WatchdogSec {facts.get('watchdog_usec')}, NRestarts {n_before} -> {n_after}")

    # MJPEG through v4l2loopback against lavit-quantize classify.
    if not skipped("mjpeg", "MJPEG 1280x720 labels = lavit-quantize classify", "bad frames: skipped, counted, stream goes on"):
        feed = [(float(t), what) for t, what in (line.split(" ", 1) for line in (out / "feeder.tsv").read_text().splitlines())] \
            if (out / "feeder.tsv").exists() else []
        offline_ref = parse_classify((out / "classify.txt").read_text()) if (out / "classify.txt").exists() else {}
        mres = [r for r in read_ndjson(out / "mjpeg.ndjson") if r.get("class") == "result" and "time" in r]
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
        after_bad = bool(per_file) and all(n > 0 for n in per_file.values())
        counted = (st0.get("corrupt", 0) + st0.get("skipped", 0)) > 0
        ok = len(bad) == 2 and all(n == 0 for n, _ in bad.values()) and after_bad and counted
        rep.add("bad frames: skipped, counted, stream goes on", ok,
                ", ".join(f"{name} {n} results" for name, (n, _) in sorted(bad.items())) or "-",
                "offline path: " + ", ".join(f"{name} {o}" for name, (_, o) in sorted(bad.items()))
                + f"; status corrupt {st0.get('corrupt')}, skipped {st0.get('skipped')}; fps {st0.get('fps')}")

    stops = [(k, fnum(f"stop_{k}_seconds"), facts.get(f"stop_{k}_result")) for k in ("vivid", "mjpeg") if f"stop_{k}_result" in facts]
    rep.add("systemctl stop quick and clean", bool(stops) and all(s < 5 and r == "success" for _, s, r in stops),
            ", ".join(f"{s:.2f} s" for _, s, _ in stops) or "-",
            ", ".join(f"{k}: Result={r}" for k, _, r in stops))

    rep.print()
    failed = [r[0] for r in rep.rows if r[1] == "FAIL"]
    if expect_fail is not None:
        print(f"vm self-test: failed checks: {'; '.join(failed) or 'none'}")
        return 0 if rep.state(expect_fail) == "FAIL" else 1
    print(f"vm e2e: {sum(r[1] == 'ok' for r in rep.rows)} ok, {len(failed)} failed, {sum(r[1] == 'skip' for r in rep.rows)} skipped")
    return 1 if failed or any(r[1] == "skip" for r in rep.rows) else 0


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
