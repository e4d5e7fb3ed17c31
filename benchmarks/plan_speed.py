"""Speed of the default path: `spa2v plan` and `spa2v render` (preview) on a 10 s stereo clip.

Prints wall time and peak RSS of each command run as a fresh process (interpreter start-up
included), next to a bare `python -c pass` and `python -c "import numpy"` measured in the same
run, so figures can be read as ratios on a noisy machine.

    .venv/bin/python benchmarks/plan_speed.py [--repeat 5] [--audio FILE]

Targets (foundation issue): plan < 1.5 s wall and < 400 MB peak RSS with the tagger, torch
never imported; preview render of 10 s < 5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds of one child process (the peer commands)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return wall, 0.0


def run_measured(args: list[str]) -> tuple[float, float]:
    """Run the CLI in a fresh interpreter that reports its own peak RSS (ru_maxrss of
    RUSAGE_CHILDREN would be the maximum over all children so far)."""
    code = ("import sys, resource; from spa2v_app.cli import main; rc = main(sys.argv[1:]); "
            "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "
            "file=sys.stderr); sys.exit(rc)")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"spa2v {' '.join(args)} failed:\n{proc.stderr}")
    rss = float(proc.stderr.strip().splitlines()[-1].split()[1])
    return wall, rss


def make_clip(path: Path, seconds: float = 10.0) -> Path:
    import numpy as np
    from tests.synth import panned_noise, write_wav
    x = panned_noise((60, -60), duration_s=seconds, sr=44100, seed=1)
    x *= (0.6 + 0.4 * np.sin(np.linspace(0, 20, x.shape[1])))[None, :]
    return write_wav(path, x, 44100, subtype="PCM_16")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--audio", type=Path, default=None, help="a 10 s stereo clip (default: synthetic)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = a.audio or make_clip(tmp / "clip10s.wav")
        rows = {"python -c pass": [], "python -c 'import numpy'": [], "spa2v plan": [],
                "spa2v render (preview)": []}
        rss = {"spa2v plan": [], "spa2v render (preview)": []}
        for _ in range(a.repeat):
            rows["python -c pass"].append(run([sys.executable, "-c", "pass"])[0])
            rows["python -c 'import numpy'"].append(run([sys.executable, "-c", "import numpy"])[0])
            w, r = run_measured(["-q", "plan", str(clip), "-o", str(tmp / "plan.json")])
            rows["spa2v plan"].append(w)
            rss["spa2v plan"].append(r)
            w, r = run_measured(["-q", "render", str(clip), "--plan", str(tmp / "plan.json"),
                                 "-o", str(tmp / "out.mp4")])
            rows["spa2v render (preview)"].append(w)
            rss["spa2v render (preview)"].append(r)
    base = statistics.median(rows["python -c pass"])
    print(f"10 s stereo clip, 44.1 kHz; median of {a.repeat} runs; {os.cpu_count()} CPUs")
    print(f"{'command':28s} {'wall s':>8s} {'x bare python':>14s} {'peak RSS MB':>12s}")
    for name, vals in rows.items():
        med = statistics.median(vals)
        r = f"{max(rss[name]):12.0f}" if name in rss else f"{'':>12s}"
        print(f"{name:28s} {med:8.3f} {med / base:14.1f} {r}")


if __name__ == "__main__":
    main()
