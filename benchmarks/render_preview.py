"""Speed of the preview video: a 10 s clip to MP4, the current renderer next to an older one.

Both renderers run in the same process on the same plan (a truck passing right to left in a
synthetic 10 s stereo clip, or ``--audio``), alternating, so that a noisy shared machine
slows both alike. The older renderer is read from git (``--old-rev``, default the last commit
before the pictogram renderer) and loaded as a module beside the current one, so no old code
is kept in the tree. Printed per renderer: seconds for frames only, and for frames + H.264/AAC
export (``render_job``, what ``spa2v render`` does after planning); then the fresh-process
``spa2v render --plan`` wall time of the current code (interpreter start-up included).

    .venv/bin/python benchmarks/render_preview.py [--repeat 5] [--old-rev REV]
    .venv/bin/python benchmarks/render_preview.py --audio resources/examples/lion_left.flac \
        --hint "a lion"                              # another clip and scene

Target (issue 17): a 10 s clip to MP4 in <= 2 s on the shared 2-core machine.
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
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OLD_REV = "bf9eba9"  # main before the pictogram renderer


def old_renderer(rev: str):
    """The PreviewRenderer of ``engine/rendering/preview.py`` at git revision ``rev``."""
    source = subprocess.run(["git", "show", f"{rev}:engine/rendering/preview.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType("engine.rendering._preview_at_rev")
    module.__package__ = "engine.rendering"
    exec(compile(source, f"preview.py@{rev}", "exec"), module.__dict__)
    return module.PreviewRenderer()


def make_plan(tmp: Path, audio: Path | None, hint: str = "a truck"):
    import numpy as np

    from engine.jobs import CancelToken, run_job
    from engine.pipeline import PlanSettings, plan_job
    from engine.planning.heuristic import HeuristicPlanner
    from tests.synth import panned_noise, write_wav

    if audio is None:
        x = panned_noise((70, -70), duration_s=10.0, sr=44100, seed=1)
        x *= (0.6 + 0.4 * np.sin(np.linspace(0, 20, x.shape[1])))[None, :]
        audio = write_wav(tmp / "clip10s.wav", x, 44100, subtype="PCM_16")
    layout, _ = run_job(plan_job(audio, PlanSettings(hint=hint), planner=HeuristicPlanner(),
                                 tagger=None, token=CancelToken()), lambda e: None)
    return audio, layout


def cpu_s(who=resource.RUSAGE_SELF) -> float:
    """User + system CPU seconds of this process (all threads) or of its finished children:
    on a shared machine a steadier figure than wall time, which other jobs stretch."""
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def time_frames(renderer, layout) -> tuple[float, float]:
    from engine.jobs import CancelToken
    from engine.protocols import RenderSettings

    start, cpu = time.perf_counter(), cpu_s()
    for _ in renderer.render(layout, RenderSettings(), CancelToken()):
        pass
    return time.perf_counter() - start, cpu_s() - cpu


def time_export(renderer, layout, audio: Path, out: Path) -> tuple[float, float]:
    from engine.jobs import CancelToken, run_job
    from engine.pipeline import render_job
    from engine.protocols import RenderSettings

    start, cpu = time.perf_counter(), cpu_s()
    run_job(render_job(audio, layout, out, renderer=renderer, settings=RenderSettings(),
                       token=CancelToken()), lambda e: None)
    return time.perf_counter() - start, cpu_s() - cpu


def _child_env() -> dict:
    """The CLI's environment: this tree's code, with bytecode caching on (as an installed
    package has its .pyc files; benchmarks/plan_speed.py does the same)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def time_cli(audio: Path, plan: Path, out: Path) -> tuple[float, float]:
    start, cpu = time.perf_counter(), cpu_s(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", "import sys; from spa2v_app.cli import main; "
                    "sys.exit(main(sys.argv[1:]))", "-q", "render", str(audio), "--plan",
                    str(plan), "-o", str(out)], cwd=ROOT, check=True, capture_output=True,
                   env=_child_env())
    return time.perf_counter() - start, cpu_s(resource.RUSAGE_CHILDREN) - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--old-rev", default=OLD_REV)
    ap.add_argument("--audio", type=Path, default=None)
    ap.add_argument("--hint", default="a truck", help="names the sound (the plan's object)")
    args = ap.parse_args()

    from engine.layout import save_layout
    from engine.rendering.preview import PreviewRenderer

    renderers = {f"old ({args.old_rev})": old_renderer(args.old_rev), "new": PreviewRenderer()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        audio, layout = make_plan(tmp, args.audio, args.hint)
        save_layout(layout, tmp / "plan.json")
        frames = {k: [] for k in renderers}
        export = {k: [] for k in renderers}
        cli = []
        for _ in range(args.repeat):
            for name, r in renderers.items():
                frames[name].append(time_frames(r, layout))
                export[name].append(time_export(r, layout, audio, tmp / "out.mp4"))
            cli.append(time_cli(audio, tmp / "plan.json", tmp / "cli.mp4"))
    print(f"# {layout.duration_s:.1f} s clip, {layout.width}x{layout.height} at 24 fps "
          f"({int(round(layout.duration_s * 24))} frames), objects: "
          f"{', '.join(o.label for o in layout.objects)}; median of {args.repeat}; "
          f"{os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M')}")
    def med(runs, k):
        return statistics.median(r[k] for r in runs)

    print("| renderer | frames only: wall s | CPU s | frames + MP4 export: wall s | CPU s |")
    print("|---|---:|---:|---:|---:|")
    for name in renderers:
        print(f"| {name} | {med(frames[name], 0):.3f} | {med(frames[name], 1):.3f} | "
              f"{med(export[name], 0):.3f} | {med(export[name], 1):.3f} |")
    print(f"| new, `spa2v render --plan`, fresh process | | | {med(cli, 0):.3f} | "
          f"{med(cli, 1):.3f} |")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (2 cores: above 2 means "
          "other jobs took CPU time; read the CPU columns and the old/new ratio)")

if __name__ == "__main__":
    main()
