"""Speed of the default path: `spa2v plan` and `spa2v render` (preview) on a 10 s stereo clip.

Prints wall time, CPU time (user + system of the child, all its threads) and peak RSS of each
command run as a fresh process (interpreter start-up included), next to a bare `python -c
pass` and `python -c "import numpy"` measured in the same run, so figures can be read as
ratios on a noisy machine. `spa2v render` is also run from an older commit (``--old-rev``,
extracted from git into a temporary folder) on the same plan, alternating with the current
code, so the change shows on the same machine at the same moment.

Children run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` unset, as an installed
package has its .pyc files), after one untimed warm-up run of each command.

    .venv/bin/python benchmarks/plan_speed.py [--repeat 5] [--audio FILE] [--old-rev REV]

Targets: plan < 1.5 s wall and < 400 MB peak RSS with the tagger, torch never imported
(foundation issue); preview render of 10 s <= 2 s (issue 17).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OLD_REV = "4ea9c80"  # main before issue 17's speed round (imports, threads, AAC coder)


def child_env(tree: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd: list[str]) -> tuple[float, float, float, float]:
    """Wall and CPU seconds of one child process (the peer commands)."""
    t0, c0 = time.perf_counter(), children_cpu()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=child_env(ROOT))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return wall, children_cpu() - c0, 0.0, 0.0


def run_measured(args: list[str], tree: Path = ROOT) -> tuple[float, float, float, float]:
    """Run the CLI of the code in ``tree`` in a fresh interpreter that reports its own peak
    RSS (ru_maxrss of RUSAGE_CHILDREN would be the maximum over all children so far) and the
    CPU time of its main thread (interpreter start-up not counted): wall, CPU, RSS, main.

    On idle cores the wall time cannot fall below the main thread's CPU time, nor below the
    whole CPU time shared over the cores; on a loaded machine it stretches above both."""
    code = ("import sys, resource, time; from spa2v_app.cli import main; rc = main(sys.argv[1:]); "
            "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "
            "time.thread_time(), file=sys.stderr); sys.exit(rc)")
    t0, c0 = time.perf_counter(), children_cpu()
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=tree, capture_output=True,
                          text=True, env=child_env(tree))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"spa2v {' '.join(args)} failed:\n{proc.stderr}")
    fields = proc.stderr.strip().splitlines()[-1].split()
    return wall, children_cpu() - c0, float(fields[1]), float(fields[2])


def checkout(rev: str, dest: Path) -> Path:
    """The tracked files of ``rev``, extracted into ``dest``."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


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
    ap.add_argument("--old-rev", default=OLD_REV, help="the commit whose `spa2v render` is "
                    "timed beside the current one")
    a = ap.parse_args()
    render_old = f"spa2v render (preview) at {a.old_rev}"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old_tree = checkout(a.old_rev, tmp / "old")
        clip = (a.audio.resolve() if a.audio else None) or make_clip(tmp / "clip10s.wav")
        plan = ["-q", "plan", str(clip), "-o", str(tmp / "plan.json")]
        render = ["-q", "render", str(clip), "--plan", str(tmp / "plan.json"),
                  "-o", str(tmp / "out.mp4")]
        run_measured(plan)  # warm-up: writes the .pyc files an installed package would have
        run_measured(render)
        run_measured(render, old_tree)
        rows = {"python -c pass": [], "python -c 'import numpy'": [], "spa2v plan": [],
                "spa2v render (preview)": [], render_old: []}
        for _ in range(a.repeat):
            rows["python -c pass"].append(run([sys.executable, "-c", "pass"]))
            rows["python -c 'import numpy'"].append(run([sys.executable, "-c", "import numpy"]))
            rows["spa2v plan"].append(run_measured(plan))
            rows["spa2v render (preview)"].append(run_measured(render))
            rows[render_old].append(run_measured(render, old_tree))
    base = statistics.median(r[0] for r in rows["python -c pass"])
    print(f"{clip.name if a.audio else 'synthetic 10 s'} stereo clip; median of {a.repeat} runs; "
          f"{os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M')}; load average at the end "
          f"{os.getloadavg()[0]:.1f}")
    print(f"| command | wall s | CPU s | main-thread CPU s | x bare python (wall) | "
          f"peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, vals in rows.items():
        wall, cpu, main_cpu = (statistics.median(v[k] for v in vals) for k in (0, 1, 3))
        rss = max(v[2] for v in vals)
        print(f"| {name} | {wall:.3f} | {cpu:.3f} | {f'{main_cpu:.3f}' if main_cpu else ''} | "
              f"{wall / base:.1f} | {f'{rss:.0f}' if rss else ''} |")


if __name__ == "__main__":
    main()
